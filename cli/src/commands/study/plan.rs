//! A study end to end: the data (the user's or a synthetic corpus), every seed, then the
//! summary, the verdict, the report and its figures.

use std::time::Instant;

use anyhow::{Context, bail};
use auscult_study::{
    Augmentation, Budget, Setup, StudyReport, arms_to_run, draw_figures, gate_share, layout,
    markdown, paired_comparisons, paired_table, results_table, summarise, verdict,
};

use super::args::{Args, budget};
use super::runner::{Runner, p, s};
use super::seed::run_seed;
use crate::output::print_json;

/// What the report says about how the study was run.
fn setup(plan: &Plan, budget: Budget) -> Setup {
    let a = &plan.args;
    Setup {
        title: plan.title.clone(),
        device: a.device.clone(),
        budget,
        augmentation: Augmentation {
            temperature: a.temperature,
            top_k: a.top_k,
            top_p: a.top_p,
            // Classifier-free guidance was removed from the generator; the field stays so
            // that reports of older studies still read.
            guidance: None,
            no_texture: a.no_texture,
            match_envelope: a.match_envelope,
            target: a.target,
            augment_ratio: a.augment_ratio,
            generator_from: a.generator_from.clone(),
            gate_threshold: a.gate_threshold,
            gate_relative: a.gate_relative,
        },
    }
}

/// Options that differ between `demo` and `study`.
pub struct Plan {
    /// The study's arguments.
    pub args: Args,
    /// Title of the report.
    pub title: String,
    /// Whether to inspect the data and record it in the report.
    pub inspect: bool,
}

/// Runs the study: `auscult study`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let json = args.json;
    let report = execute(Plan {
        title: "auscult study: does generative augmentation help?".to_string(),
        inspect: true,
        args,
    })?;
    if json {
        print_json(&report)?;
    }
    Ok(())
}

/// Runs a plan end to end and writes `report.md`, `report.json` and the figures into its
/// output directory. The results table is printed on stdout unless `--json`.
pub fn execute(plan: Plan) -> anyhow::Result<StudyReport> {
    let args = &plan.args;
    if args.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    if args.arms.is_empty() {
        bail!("--arms names no arm");
    }
    if !(0.0..=1.0).contains(&args.gate_threshold) {
        bail!("--gate-threshold must be within [0, 1]");
    }
    let started = Instant::now();
    let budget = budget(args);
    let out = args.out.clone();
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut runner = Runner::new(args.json)?;
    // The gate of arm (e) is arm (a)'s model: it runs too.
    let arms = arms_to_run(&args.arms);

    // 1. Data: the user's, or a synthetic ICBHI corpus in the real layout.
    let (data, synthetic) = match &args.data {
        Some(root) => (root.clone(), false),
        None => {
            let root = out.join(layout::SYNTH_DIR);
            if root.join(auscult_datasets::SYNTH_REPORT_FILE).exists() {
                eprintln!("\n==> reusing the synthetic corpus in {}", root.display());
            } else {
                runner.run(
                    "write the synthetic ICBHI corpus",
                    &[
                        s("synth"),
                        s("icbhi"),
                        s("--out"),
                        p(&root),
                        s("--seed"),
                        s(args.seed),
                        s("--patients"),
                        s(budget.patients),
                    ],
                )?;
            }
            (root, true)
        }
    };
    let mut inspection = None;
    if plan.inspect {
        let text = runner.run(
            "inspect the dataset",
            &[s("dataset"), s("inspect"), p(&data), s("--json")],
        )?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .context("`auscult dataset inspect --json` printed invalid JSON")?;
        auscult_experiment::write_json_atomic(out.join(layout::INSPECTION_FILE), &value)?;
        inspection = Some(value);
    }

    let seeds: Vec<u64> = (args.seed..args.seed + args.seeds).collect();
    let mut per_seed = Vec::new();
    for &seed in &seeds {
        per_seed.push(run_seed(
            &mut runner,
            args,
            &budget,
            &arms,
            &data,
            &out,
            seed,
        )?);
    }

    let summary = summarise(&arms, &per_seed);
    let paired = match per_seed.iter().find_map(|r| r.arms.values().next()) {
        Some(e) => paired_comparisons(
            &per_seed,
            &e.metrics.classes,
            e.metrics.normal_class,
            args.seed,
        )?,
        None => Vec::new(),
    };
    let gate_keep_share = gate_share(&per_seed);
    let verdict = verdict(&summary, &paired);
    let report = StudyReport {
        data: data.clone(),
        synthetic,
        split: args.split.to_string(),
        seeds: seeds.clone(),
        per_seed,
        summary,
        paired,
        gate_keep_share,
        verdict,
        steps: runner.steps.clone(),
        seconds: started.elapsed().as_secs_f64(),
    };
    let figures = draw_figures(&out, &report)?;
    auscult_experiment::write_json_atomic(out.join(layout::REPORT_JSON), &report)?;
    let markdown = markdown(
        &setup(&plan, budget),
        &report,
        inspection.as_ref(),
        &figures,
    );
    auscult_experiment::write_atomic(out.join(layout::REPORT_MD), markdown.as_bytes())?;
    if !args.json {
        println!("\n{}", results_table(&report));
        let paired = paired_table(&report);
        if !paired.is_empty() {
            println!("\n{paired}");
        }
        println!("\n{}", report.verdict);
        println!(
            "\nReport: {} ({:.0} s in total)",
            out.join(layout::REPORT_MD).display(),
            report.seconds
        );
    }
    Ok(report)
}
