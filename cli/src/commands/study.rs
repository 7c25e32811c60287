//! `auscult study`: does generative augmentation help? Repeats the comparison of training arms
//! over several seeds on the same data and reports mean and spread of every metric.
//!
//! Every step runs as the `auscult` subcommand a user would type (the binary re-invokes
//! itself), so the report's commands reproduce the study exactly; only the quality gate of arm
//! (e) runs in-process, through the same library call `auscult_classifier` exposes.
//!
//! Arms (same seed, data and budget in each):
//! - (a) `plain`: cross-entropy, instance sampling;
//! - (b) `mixup-supcon`: Balanced Mixup + supervised contrastive loss (the default recipe);
//! - (c) `augmented`: (b) + the generated minority-class corpus;
//! - (d) `oversample`: naive oversampling of the minority classes, cross-entropy;
//! - (e) `gated`: (c), keeping only generated samples that arm (a)'s model assigns to their
//!   conditioned class with probability >= the gate threshold.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use auscult_classifier::{Evaluation, corpus_class_probability};
use auscult_datasets::{GeneratedCorpus, MANIFEST_FILE};
use serde::{Deserialize, Serialize};

use super::train::{DATA_FILE, DataSpec};
use crate::output::print_json;

/// A training arm of the study.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arm {
    /// (a) plain cross-entropy with instance sampling.
    Plain,
    /// (b) Balanced Mixup + SupCon.
    MixupSupcon,
    /// (c) (b) + the generated corpus.
    Augmented,
    /// (d) naive oversampling of minority classes.
    Oversample,
    /// (e) (c) with generated samples filtered by a quality gate.
    Gated,
}

impl Arm {
    /// Every arm, in report order.
    pub const ALL: [Arm; 5] = [
        Arm::Plain,
        Arm::MixupSupcon,
        Arm::Augmented,
        Arm::Oversample,
        Arm::Gated,
    ];

    /// The arm's letter in the issue's and report's numbering.
    pub fn letter(self) -> char {
        match self {
            Arm::Plain => 'a',
            Arm::MixupSupcon => 'b',
            Arm::Augmented => 'c',
            Arm::Oversample => 'd',
            Arm::Gated => 'e',
        }
    }

    /// Short name used for directories and tables.
    pub fn name(self) -> &'static str {
        match self {
            Arm::Plain => "plain",
            Arm::MixupSupcon => "mixup-supcon",
            Arm::Augmented => "augmented",
            Arm::Oversample => "oversample",
            Arm::Gated => "gated",
        }
    }

    /// What the arm does, in words.
    pub fn description(self) -> &'static str {
        match self {
            Arm::Plain => "cross-entropy, instance sampling",
            Arm::MixupSupcon => "Balanced Mixup + SupCon",
            Arm::Augmented => "Balanced Mixup + SupCon + generated corpus",
            Arm::Oversample => "naive oversampling, cross-entropy",
            Arm::Gated => "Balanced Mixup + SupCon + gated generated corpus",
        }
    }

    fn needs_corpus(self) -> bool {
        matches!(self, Arm::Augmented | Arm::Gated)
    }
}

fn parse_arm(s: &str) -> Result<Arm, String> {
    let s = s.trim().to_ascii_lowercase();
    Arm::ALL
        .into_iter()
        .find(|a| s == a.name() || s.len() == 1 && s.starts_with(a.letter()))
        .ok_or_else(|| {
            format!("unknown arm `{s}`: expected a-e or plain, mixup-supcon, augmented, oversample, gated")
        })
}

/// Arguments of `auscult study`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// ICBHI-layout dataset root (official split); default: a synthetic ICBHI corpus written
    /// into OUT/synth with `auscult synth`.
    #[arg(long, value_name = "ROOT")]
    pub data: Option<PathBuf>,
    /// Output directory for every run, corpus, figure and the report.
    #[arg(long, default_value = "study-out", value_name = "DIR")]
    pub out: PathBuf,
    /// Number of seeds (seed, seed+1, ...).
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,
    /// Arms to run, comma separated: a/plain, b/mixup-supcon, c/augmented, d/oversample,
    /// e/gated.
    #[arg(long, value_delimiter = ',', default_value = "a,b,c,d,e", value_parser = parse_arm)]
    pub arms: Vec<Arm>,
    /// Tiny sizes everywhere (smaller synthetic corpus, fewer epochs): a smoke test of every
    /// step, not a measurement.
    #[arg(long)]
    pub quick: bool,
    /// Patients of the synthetic corpus (ignored with --data).
    #[arg(long, value_name = "N")]
    pub patients: Option<usize>,
    /// Classifier epochs per arm (default 20; 3 with --quick).
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// VQ-VAE epochs (default 20; 3 with --quick).
    #[arg(long, value_name = "N")]
    pub vqvae_epochs: Option<usize>,
    /// Prior epochs (default 30; 3 with --quick).
    #[arg(long, value_name = "N")]
    pub prior_epochs: Option<usize>,
    /// Sampling temperature of the prior.
    #[arg(long, default_value_t = 1.0, value_name = "T")]
    pub temperature: f32,
    /// Top-k sampling of the prior (0: off).
    #[arg(long, default_value_t = 0, value_name = "K")]
    pub top_k: usize,
    /// Nucleus (top-p) sampling of the prior (off unless given).
    #[arg(long, value_name = "P")]
    pub top_p: Option<f32>,
    /// Classifier-free guidance scale of the prior (passed to `auscult generate --guidance`;
    /// off unless given).
    #[arg(long, value_name = "W")]
    pub guidance: Option<f32>,
    /// Generate the decoder's smooth mean spectrograms, without the fitted texture (passed
    /// to `auscult generate --no-texture`).
    #[arg(long)]
    pub no_texture: bool,
    /// Size of the generated corpus: each minority class is generated up to this many
    /// (training plus generated) examples; default: the majority class's count.
    #[arg(long, value_name = "N")]
    pub target: Option<usize>,
    /// Share of the generated corpus that enters training in arms (c) and (e), passed to
    /// `auscult train --augment-ratio` (default: all of it).
    #[arg(long, value_name = "R")]
    pub augment_ratio: Option<f32>,
    /// Reuse the VQ-VAE and prior of an earlier study instead of training them: its
    /// `seed-N/prior` for each seed N (that study must have used the same data and seeds).
    /// Lets a sweep over sampling, corpus size, ratio or gate threshold skip the two slowest
    /// steps.
    #[arg(long, value_name = "STUDY_DIR")]
    pub generator_from: Option<PathBuf>,
    /// Quality-gate threshold of arm (e): keep a generated sample when the real-data model
    /// gives its conditioned class at least this probability.
    #[arg(long, default_value_t = 0.5, value_name = "P")]
    pub gate_threshold: f32,
    /// Make the gate relative to how the same model scores real cycles: keep a sample when
    /// its probability is at least the threshold times the median probability the model gives
    /// the real validation cycles of that class (training cycles when there is no validation
    /// split; test cycles are never used). A weak model that gives even real wheezes p = 0.15
    /// then still keeps the generated wheezes that look as wheeze-like as real ones.
    #[arg(long)]
    pub gate_relative: bool,
    /// Device for training: cpu, or gpu (needs a build with --features gpu).
    #[arg(long, default_value = "cpu", value_name = "DEVICE")]
    pub device: String,
    /// Print the study summary as JSON on stdout (steps still log to stderr).
    #[arg(long)]
    pub json: bool,
}

/// Sizes of one study, resolved from `--quick` and the flags.
#[derive(Debug, Clone, Serialize)]
struct Budget {
    patients: usize,
    classifier_epochs: usize,
    vqvae_epochs: usize,
    prior_epochs: usize,
}

impl Budget {
    fn resolve(args: &Args) -> Self {
        let (patients, clf, vq, prior) = if args.quick {
            (12, 3, 3, 3)
        } else {
            (40, 20, 20, 30)
        };
        Self {
            patients: args.patients.unwrap_or(patients),
            classifier_epochs: args.epochs.unwrap_or(clf),
            vqvae_epochs: args.vqvae_epochs.unwrap_or(vq),
            prior_epochs: args.prior_epochs.unwrap_or(prior),
        }
    }
}

/// One executed step: what ran, how long it took.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// What the step did.
    pub name: String,
    /// The command line that reproduces it (`auscult ...`), or a description for in-process
    /// steps.
    pub command: String,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Runs the steps, re-invoking this binary for each subcommand.
pub struct Runner {
    exe: PathBuf,
    /// Steps run so far.
    pub steps: Vec<Step>,
    quiet: bool,
}

impl Runner {
    /// A runner; `quiet` hides the children's progress bars and logs.
    pub fn new(quiet: bool) -> anyhow::Result<Self> {
        Ok(Self {
            exe: std::env::current_exe().context("cannot locate the auscult binary")?,
            steps: Vec::new(),
            quiet,
        })
    }

    /// Runs `auscult <args>` and returns its standard output; its standard error (progress
    /// bars, messages) goes to ours.
    pub fn run(&mut self, name: &str, args: &[String]) -> anyhow::Result<String> {
        let command = format!("auscult {}", shell_words(args));
        eprintln!("\n==> {name}\n    {command}");
        let started = Instant::now();
        let output = Command::new(&self.exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if self.quiet {
                Stdio::piped()
            } else {
                Stdio::inherit()
            })
            .output()
            .with_context(|| format!("cannot run {command}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            bail!(
                "step `{name}` failed ({}): {command}\n{}",
                output.status,
                stderr.trim()
            );
        }
        self.record(name, command, started);
        Ok(stdout)
    }

    /// Records an in-process step.
    pub fn record(&mut self, name: &str, command: String, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        eprintln!("    done in {seconds:.1} s");
        self.steps.push(Step {
            name: name.to_string(),
            command,
            seconds,
        });
    }
}

fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.is_empty() || a.chars().any(|c| c.is_whitespace() || "'\"$\\".contains(c)) {
                format!("'{}'", a.replace('\'', r"'\''"))
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn s(x: impl ToString) -> String {
    x.to_string()
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

/// Everything one seed produced.
#[derive(Debug, Clone, Serialize)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// Test-set evaluation of each arm.
    pub arms: BTreeMap<Arm, Evaluation>,
    /// The generated corpus (if any arm needed it).
    pub corpus: Option<PathBuf>,
    /// Samples generated per class.
    pub generated: BTreeMap<String, usize>,
    /// Samples the quality gate kept per class (arm e).
    pub gate_kept: BTreeMap<String, usize>,
    /// Mean probability arm (a)'s model gives generated samples of each class for that class
    /// (arm e; how class-like the samples look to a model trained on real data).
    pub gate_mean_probability: BTreeMap<String, f64>,
    /// The same for the real test cycles of each class (the yardstick for the line above;
    /// a diagnostic only, it decides nothing).
    pub real_mean_probability: BTreeMap<String, f64>,
    /// The gate's threshold per class (the same for every class unless `--gate-relative`).
    pub gate_thresholds: BTreeMap<String, f64>,
}

/// Mean and sample standard deviation of one metric of one arm over the seeds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spread {
    /// Mean over seeds.
    pub mean: f64,
    /// Sample standard deviation over seeds (0 with one seed).
    pub sd: f64,
}

impl Spread {
    fn of(values: &[f64]) -> Self {
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        let sd = if values.len() > 1 {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        Self { mean, sd }
    }

    fn pct(&self) -> String {
        format!("{:.1} ± {:.1}", 100.0 * self.mean, 100.0 * self.sd)
    }
}

/// The aggregated metrics of one arm.
#[derive(Debug, Clone, Serialize)]
pub struct ArmSummary {
    /// The arm.
    pub arm: Arm,
    /// What it does.
    pub description: String,
    /// Specificity.
    pub specificity: Spread,
    /// Sensitivity.
    pub sensitivity: Spread,
    /// ICBHI score.
    pub score: Spread,
    /// Macro-F1.
    pub macro_f1: Spread,
    /// Recall per class, in the model's class order.
    pub recall: Vec<(String, Spread)>,
}

/// The study's result (`report.json`).
#[derive(Debug, Clone, Serialize)]
pub struct StudyReport {
    /// The data studied.
    pub data: PathBuf,
    /// Whether the data was the built-in synthetic corpus.
    pub synthetic: bool,
    /// Seeds run.
    pub seeds: Vec<u64>,
    /// Per-seed results.
    pub per_seed: Vec<SeedResult>,
    /// Aggregates per arm.
    pub summary: Vec<ArmSummary>,
    /// Share of generated samples the gate kept, per class (over all seeds).
    pub gate_keep_share: BTreeMap<String, f64>,
    /// The honest answer to "does augmentation help here?".
    pub verdict: String,
    /// Every step, its command and its time.
    pub steps: Vec<Step>,
    /// Total wall-clock seconds.
    pub seconds: f64,
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
    let budget = Budget::resolve(args);
    let out = args.out.clone();
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut runner = Runner::new(args.json)?;
    let mut arms = args.arms.clone();
    arms.sort();
    arms.dedup();
    if arms.contains(&Arm::Gated) && !arms.contains(&Arm::Plain) {
        // The gate is arm (a)'s model: run it too.
        arms.insert(0, Arm::Plain);
    }

    // 1. Data: the user's, or a synthetic ICBHI corpus in the real layout.
    let (data, synthetic) = match &args.data {
        Some(root) => (root.clone(), false),
        None => {
            let root = out.join("synth");
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
        auscult_experiment::write_json_atomic(out.join("inspection.json"), &value)?;
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
    let gate_keep_share = gate_share(&per_seed);
    let verdict = verdict(&summary);
    let report = StudyReport {
        data: data.clone(),
        synthetic,
        seeds: seeds.clone(),
        per_seed,
        summary,
        gate_keep_share,
        verdict,
        steps: runner.steps.clone(),
        seconds: started.elapsed().as_secs_f64(),
    };
    let figures = draw_figures(&out, &report)?;
    auscult_experiment::write_json_atomic(out.join("report.json"), &report)?;
    let markdown = markdown(&plan, &budget, &report, inspection.as_ref(), &figures);
    auscult_experiment::write_atomic(out.join("report.md"), markdown.as_bytes())?;
    if !args.json {
        println!("\n{}", results_table(&report));
        println!("{}", report.verdict);
        println!(
            "\nReport: {} ({:.0} s in total)",
            out.join("report.md").display(),
            report.seconds
        );
    }
    Ok(report)
}

fn run_seed(
    runner: &mut Runner,
    args: &Args,
    budget: &Budget,
    arms: &[Arm],
    data: &Path,
    out: &Path,
    seed: u64,
) -> anyhow::Result<SeedResult> {
    let dir = out.join(format!("seed-{seed}"));
    let common = |mut v: Vec<String>| {
        v.extend([s("--seed"), s(seed), s("--device"), args.device.clone()]);
        v
    };
    let mut corpus_dir = None;
    let mut generated = BTreeMap::new();
    if arms.iter().any(|a| a.needs_corpus()) {
        let prior = match &args.generator_from {
            Some(from) => {
                let prior = from.join(format!("seed-{seed}")).join("prior");
                if !prior.join("model.bpk").exists() {
                    bail!(
                        "--generator-from {}: no trained prior for seed {seed} at {} (run `auscult study` there with the same seeds first)",
                        from.display(),
                        prior.display()
                    );
                }
                eprintln!(
                    "\n==> seed {seed}: reusing the prior in {}",
                    prior.display()
                );
                prior
            }
            None => {
                let vq = dir.join("vqvae");
                let prior = dir.join("prior");
                runner.run(
                    &format!("seed {seed}: train the VQ-VAE on the training patients"),
                    &common(vec![
                        s("train-vqvae"),
                        s("--data"),
                        p(data),
                        s("--epochs"),
                        s(budget.vqvae_epochs),
                        s("--out"),
                        p(&vq),
                    ]),
                )?;
                runner.run(
                    &format!("seed {seed}: train the prior over the VQ-VAE codes"),
                    &common(vec![
                        s("train-prior"),
                        s("--vqvae"),
                        p(&vq),
                        s("--data"),
                        p(data),
                        s("--epochs"),
                        s(budget.prior_epochs),
                        s("--out"),
                        p(&prior),
                    ]),
                )?;
                prior
            }
        };
        let corpus = dir.join("generated");
        let mut gen_args = vec![
            s("generate"),
            s("--prior"),
            p(&prior),
            s("--balance"),
            s("--temperature"),
            s(args.temperature),
            s("--seed"),
            s(seed),
            s("--out"),
            p(&corpus),
        ];
        if args.top_k > 0 {
            gen_args.extend([s("--top-k"), s(args.top_k)]);
        }
        if let Some(top_p) = args.top_p {
            gen_args.extend([s("--top-p"), s(top_p)]);
        }
        if let Some(target) = args.target {
            gen_args.extend([s("--target"), s(target)]);
        }
        if args.no_texture {
            gen_args.push(s("--no-texture"));
        }
        if let Some(w) = args.guidance {
            gen_args.extend([s("--guidance"), s(w)]);
        }
        runner.run(
            &format!("seed {seed}: generate minority-class samples up to the majority count"),
            &gen_args,
        )?;
        let opened = GeneratedCorpus::open(&corpus)?;
        generated = opened.manifest.class_counts();
        corpus_dir = Some(corpus);
    }

    let augment_ratio: Vec<String> = args
        .augment_ratio
        .map(|r| vec![s("--augment-ratio"), s(r)])
        .unwrap_or_default();
    let mut results = BTreeMap::new();
    let mut gate_kept = BTreeMap::new();
    let mut gate_mean_probability = BTreeMap::new();
    let mut real_mean_probability = BTreeMap::new();
    let mut gate_thresholds = BTreeMap::new();
    for &arm in arms {
        let run_dir = dir.join(format!("{}-{}", arm.letter(), arm.name()));
        // Every arm starts from the compact recipe, on any data: the arms are defined against
        // it, and its front end is the generator's (the icbhi recipe's 2 kHz band would refuse
        // the generated corpus).
        let mut train_args = vec![
            s("train"),
            s("--data"),
            p(data),
            s("--recipe"),
            s("compact"),
            s("--epochs"),
            s(budget.classifier_epochs),
            s("--out"),
            p(&run_dir),
        ];
        match arm {
            Arm::Plain => {
                train_args.extend([s("--mixup"), s("none"), s("--supcon-weight"), s("0")])
            }
            Arm::MixupSupcon => {}
            Arm::Augmented => {
                if let Some(c) = &corpus_dir {
                    train_args.extend([s("--augment"), p(c)]);
                }
                train_args.extend(augment_ratio.clone());
            }
            Arm::Oversample => train_args.extend([
                s("--oversample"),
                s("--mixup"),
                s("none"),
                s("--supcon-weight"),
                s("0"),
            ]),
            Arm::Gated => {
                let corpus = corpus_dir
                    .as_ref()
                    .context("arm (e) needs the generated corpus")?;
                let gate_model = dir.join("a-plain");
                let gated = dir.join("generated-gated");
                let started = Instant::now();
                let real = RealProbabilities::of(&gate_model)?;
                gate_thresholds = real
                    .reference
                    .iter()
                    .map(|(c, probs)| {
                        let scale = if args.gate_relative {
                            median(probs)
                        } else {
                            1.0
                        };
                        (c.clone(), f64::from(args.gate_threshold) * scale)
                    })
                    .collect();
                (gate_kept, gate_mean_probability) =
                    gate_corpus(&gate_model, corpus, &gated, &gate_thresholds)?;
                real_mean_probability = real
                    .test
                    .iter()
                    .map(|(c, probs)| (c.clone(), mean(probs)))
                    .collect();
                runner.record(
                    &format!("seed {seed}: quality gate"),
                    format!(
                        "keep generated samples of {} that {} assigns to their class with p >= {} -> {}",
                        corpus.display(),
                        gate_model.display(),
                        gate_thresholds
                            .iter()
                            .map(|(c, t)| format!("{t:.3} ({c})"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        gated.display()
                    ),
                    started,
                );
                train_args.extend([s("--augment"), p(&gated)]);
                train_args.extend(augment_ratio.clone());
            }
        }
        if run_dir.join("config.json").exists() {
            std::fs::remove_dir_all(&run_dir)
                .with_context(|| format!("cannot clear the old run {}", run_dir.display()))?;
        }
        runner.run(
            &format!(
                "seed {seed}: train arm ({}) {}",
                arm.letter(),
                arm.description()
            ),
            &common(train_args),
        )?;
        let text = runner.run(
            &format!(
                "seed {seed}: evaluate arm ({}) on the test patients",
                arm.letter()
            ),
            &[
                s("evaluate"),
                s("--model"),
                p(&run_dir),
                s("--data"),
                p(data),
                s("--part"),
                s("test"),
                s("--json"),
            ],
        )?;
        let evaluation: Evaluation = serde_json::from_str(&text)
            .context("`auscult evaluate --json` printed JSON of an unexpected shape")?;
        results.insert(arm, evaluation);
    }
    Ok(SeedResult {
        seed,
        arms: results,
        corpus: corpus_dir,
        generated,
        gate_kept,
        gate_mean_probability,
        real_mean_probability,
        gate_thresholds,
    })
}

/// Writes the gated copy of `corpus` into `gated`: the samples `model` assigns to their
/// conditioned class with probability >= that class's threshold (a class without one keeps
/// nothing). Returns the kept count per class and the mean probability of the conditioned
/// class per class.
fn gate_corpus(
    model: &Path,
    corpus: &Path,
    gated: &Path,
    thresholds: &BTreeMap<String, f64>,
) -> anyhow::Result<(BTreeMap<String, usize>, BTreeMap<String, f64>)> {
    let source = GeneratedCorpus::open(corpus)?;
    let quality = corpus_class_probability(model, &source)
        .with_context(|| format!("quality gate with {}", model.display()))?;
    if gated.exists() {
        std::fs::remove_dir_all(gated)
            .with_context(|| format!("cannot clear {}", gated.display()))?;
    }
    std::fs::create_dir_all(gated).with_context(|| format!("cannot create {}", gated.display()))?;
    let mut manifest = source.manifest.clone();
    let mut kept = BTreeMap::new();
    for class in &manifest.classes {
        kept.insert(class.clone(), 0);
    }
    let keep: std::collections::HashSet<&str> = quality
        .iter()
        .filter(|q| {
            thresholds
                .get(&q.class)
                .is_some_and(|&t| f64::from(q.probability) >= t)
        })
        .map(|q| q.file.as_str())
        .collect();
    manifest.samples.retain(|s| keep.contains(s.file.as_str()));
    for sample in &manifest.samples {
        std::fs::copy(source.dir.join(&sample.file), gated.join(&sample.file))
            .with_context(|| format!("cannot copy {}", sample.file))?;
        *kept.entry(sample.class.clone()).or_insert(0) += 1;
    }
    auscult_experiment::write_json_atomic(gated.join(MANIFEST_FILE), &manifest)?;
    auscult_experiment::write_json_atomic(gated.join("gate.json"), &quality)?;
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for q in &quality {
        let e = sums.entry(q.class.clone()).or_default();
        e.0 += f64::from(q.probability);
        e.1 += 1;
    }
    let mean = sums
        .into_iter()
        .map(|(c, (sum, n))| (c, sum / n.max(1) as f64))
        .collect();
    Ok((kept, mean))
}

/// Probabilities a model gives real cycles for their own class, per class.
struct RealProbabilities {
    /// On the validation cycles (training cycles when there are none): the gate's yardstick.
    reference: BTreeMap<String, Vec<f64>>,
    /// On the test cycles: a diagnostic for the report only, it decides nothing.
    test: BTreeMap<String, Vec<f64>>,
}

impl RealProbabilities {
    /// Runs `model` on the data it was trained on.
    fn of(model: &Path) -> anyhow::Result<Self> {
        let clf = auscult_classifier::Classifier::load(model)
            .with_context(|| format!("loading the model in {}", model.display()))?;
        let spec: DataSpec = auscult_experiment::read_json(model.join(DATA_FILE))?;
        let data = spec.load(&clf.config().train)?;
        let own = |examples: &[auscult_datasets::Example]| -> anyhow::Result<_> {
            let probs = clf.predict_examples(examples)?;
            let mut by_class: BTreeMap<String, Vec<f64>> = BTreeMap::new();
            for (example, p) in examples.iter().zip(&probs) {
                if let (Some(class), Some(&q)) =
                    (clf.classes().get(example.label), p.get(example.label))
                {
                    by_class
                        .entry(class.clone())
                        .or_default()
                        .push(f64::from(q));
                }
            }
            Ok(by_class)
        };
        let reference = if data.val.is_empty() {
            own(&data.train)?
        } else {
            own(&data.val)?
        };
        Ok(Self {
            reference,
            test: own(&data.test)?,
        })
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// The median (0 for no values).
fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}

fn summarise(arms: &[Arm], per_seed: &[SeedResult]) -> Vec<ArmSummary> {
    arms.iter()
        .filter_map(|&arm| {
            let evals: Vec<&Evaluation> =
                per_seed.iter().filter_map(|r| r.arms.get(&arm)).collect();
            let first = evals.first()?;
            let metric = |f: &dyn Fn(&Evaluation) -> f64| {
                Spread::of(&evals.iter().map(|e| f(e)).collect::<Vec<_>>())
            };
            let recall = first
                .metrics
                .classes
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    (
                        c.clone(),
                        metric(&|e: &Evaluation| {
                            e.metrics.per_class.get(i).map_or(0.0, |m| m.recall)
                        }),
                    )
                })
                .collect();
            Some(ArmSummary {
                arm,
                description: arm.description().to_string(),
                specificity: metric(&|e: &Evaluation| e.metrics.specificity),
                sensitivity: metric(&|e: &Evaluation| e.metrics.sensitivity),
                score: metric(&|e: &Evaluation| e.metrics.score),
                macro_f1: metric(&|e: &Evaluation| e.metrics.macro_f1),
                recall,
            })
        })
        .collect()
}

fn gate_share(per_seed: &[SeedResult]) -> BTreeMap<String, f64> {
    let mut generated: BTreeMap<String, usize> = BTreeMap::new();
    let mut kept: BTreeMap<String, usize> = BTreeMap::new();
    for r in per_seed.iter().filter(|r| !r.gate_kept.is_empty()) {
        for (c, n) in &r.generated {
            *generated.entry(c.clone()).or_default() += n;
        }
        for (c, n) in &r.gate_kept {
            *kept.entry(c.clone()).or_default() += n;
        }
    }
    generated
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(c, n)| {
            let k = kept.get(&c).copied().unwrap_or(0);
            (c, k as f64 / n as f64)
        })
        .collect()
}

fn verdict(summary: &[ArmSummary]) -> String {
    let get = |arm| summary.iter().find(|s| s.arm == arm);
    let Some(base) = get(Arm::MixupSupcon) else {
        return "Verdict: arm (b) was not run, so the effect of augmentation cannot be judged."
            .to_string();
    };
    let mut lines = Vec::new();
    for arm in [Arm::Augmented, Arm::Gated] {
        let Some(s) = get(arm) else { continue };
        let diff = s.score.mean - base.score.mean;
        let noise = (s.score.sd.powi(2) + base.score.sd.powi(2)).sqrt();
        let judgement = if noise == 0.0 {
            if diff > 0.0 {
                "higher, on a single seed (no spread to judge it against)"
            } else {
                "not higher, on a single seed"
            }
        } else if diff > noise {
            "higher by more than the seed-to-seed spread: augmentation helped here"
        } else if diff < -noise {
            "lower by more than the seed-to-seed spread: augmentation hurt here"
        } else {
            "within the seed-to-seed spread: no measurable effect here"
        };
        lines.push(format!(
            "Arm ({}) {} vs (b): ICBHI score {:+.1} points (spread {:.1}), {}.",
            arm.letter(),
            arm.description(),
            100.0 * diff,
            100.0 * noise,
            judgement
        ));
    }
    if lines.is_empty() {
        return "Verdict: no augmented arm was run.".to_string();
    }
    format!("Verdict: {}", lines.join(" "))
}

fn results_table(report: &StudyReport) -> String {
    let mut classes: Vec<String> = Vec::new();
    if let Some(first) = report.summary.first() {
        classes = first.recall.iter().map(|(c, _)| c.clone()).collect();
    }
    let mut t = String::new();
    let _ = write!(t, "| arm | Sp % | Se % | Score % | macro-F1 % |");
    for c in &classes {
        let _ = write!(t, " recall {c} % |");
    }
    t.push('\n');
    t.push_str("|---|---|---|---|---|");
    for _ in &classes {
        t.push_str("---|");
    }
    t.push('\n');
    for s in &report.summary {
        let _ = write!(
            t,
            "| ({}) {} | {} | {} | {} | {} |",
            s.arm.letter(),
            s.description,
            s.specificity.pct(),
            s.sensitivity.pct(),
            s.score.pct(),
            s.macro_f1.pct()
        );
        for c in &classes {
            let cell = s
                .recall
                .iter()
                .find(|(k, _)| k == c)
                .map_or("-".to_string(), |(_, v)| v.pct());
            let _ = write!(t, " {cell} |");
        }
        t.push('\n');
    }
    let _ = write!(
        t,
        "\nMean ± sample standard deviation over {} seed(s) ({}), test patients only.",
        report.seeds.len(),
        report
            .seeds
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    t
}

/// Figures the report links to (relative to the output directory).
#[derive(Debug, Default)]
struct Figures {
    confusion: Vec<(String, String)>,
    curves: Vec<(String, String)>,
    contact_sheet: Option<String>,
}

fn draw_figures(out: &Path, report: &StudyReport) -> anyhow::Result<Figures> {
    let mut figures = Figures::default();
    let Some(first) = report.per_seed.first() else {
        return Ok(figures);
    };
    let fig_dir = out.join("figures");
    std::fs::create_dir_all(&fig_dir)?;
    for (arm, evaluation) in &first.arms {
        let name = format!(
            "confusion-{}-{}-seed{}.png",
            arm.letter(),
            arm.name(),
            first.seed
        );
        auscult_plot::confusion_png(
            &fig_dir.join(&name),
            &format!(
                "({}) {} - test patients, seed {}",
                arm.letter(),
                arm.description(),
                first.seed
            ),
            &evaluation.metrics.confusion,
            &evaluation.metrics.classes,
        )?;
        figures.confusion.push((
            format!("({}) {}", arm.letter(), arm.name()),
            format!("figures/{name}"),
        ));
        let run = format!("seed-{}/{}-{}", first.seed, arm.letter(), arm.name());
        for candidate in ["curves.png", "training_curves.png"] {
            if out.join(&run).join(candidate).exists() {
                figures.curves.push((
                    format!("({}) {}", arm.letter(), arm.name()),
                    format!("{run}/{candidate}"),
                ));
                break;
            }
        }
    }
    if let Some(corpus) = &first.corpus {
        for candidate in ["contact_sheet.png", "contact-sheet.png"] {
            if corpus.join(candidate).exists() {
                let rel = corpus.strip_prefix(out).unwrap_or(corpus).join(candidate);
                figures.contact_sheet = Some(rel.display().to_string());
                break;
            }
        }
    }
    Ok(figures)
}

/// `seed 0: both 0.12, crackle 0.30; seed 1: ...` for a per-class map of each seed (empty
/// when no seed has one).
fn per_seed_probabilities(
    report: &StudyReport,
    map: impl Fn(&SeedResult) -> &BTreeMap<String, f64>,
) -> String {
    report
        .per_seed
        .iter()
        .filter(|r| !map(r).is_empty())
        .map(|r| {
            let classes = map(r)
                .iter()
                .map(|(c, p)| format!("{c} {p:.2}"))
                .collect::<Vec<_>>()
                .join(", ");
            format!("seed {}: {classes}", r.seed)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn markdown(
    plan: &Plan,
    budget: &Budget,
    report: &StudyReport,
    inspection: Option<&serde_json::Value>,
    figures: &Figures,
) -> String {
    let mut m = String::new();
    let _ = writeln!(m, "# {}\n", plan.title);
    let _ = writeln!(
        m,
        "Data: `{}`{}. Seeds: {}. Device: {}. Budget: classifier {} epochs per arm, VQ-VAE {} epochs, prior {} epochs. Total time {:.0} s.\n",
        report.data.display(),
        if report.synthetic {
            format!(
                " (synthetic ICBHI layout, {} patients, written by `auscult synth`)",
                budget.patients
            )
        } else {
            String::new()
        },
        report
            .seeds
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        plan.args.device,
        budget.classifier_epochs,
        budget.vqvae_epochs,
        budget.prior_epochs,
        report.seconds
    );
    let a = &plan.args;
    let _ = writeln!(
        m,
        "Generation: temperature {}, top-k {}, top-p {}, guidance {}, {}, corpus up to {} per class, augment ratio {}{}. Gate threshold {}{}.\n",
        a.temperature,
        if a.top_k > 0 {
            a.top_k.to_string()
        } else {
            "off".to_string()
        },
        a.top_p.map_or("off".to_string(), |p| p.to_string()),
        a.guidance.map_or("off".to_string(), |w| w.to_string()),
        if a.no_texture {
            "decoder means (no texture)"
        } else {
            "decoder texture on"
        },
        a.target
            .map_or("the majority count".to_string(), |t| t.to_string()),
        a.augment_ratio.map_or("all".to_string(), |r| r.to_string()),
        a.generator_from.as_ref().map_or(String::new(), |d| format!(
            ", VQ-VAE and prior reused from `{}`",
            d.display()
        )),
        a.gate_threshold,
        if a.gate_relative {
            " times the median probability of the class's real validation cycles"
        } else {
            ""
        }
    );
    if let Some(i) = inspection {
        let _ = writeln!(m, "## Data\n");
        let _ = writeln!(
            m,
            "{} recordings, {} patients. Cycles per class: `{}`. Per split: `{}`.\n",
            i["recordings"], i["patients"], i["classes"], i["splits"]
        );
    }
    let _ = writeln!(m, "## Results on the test patients\n");
    let _ = writeln!(m, "{}\n", results_table(report));
    let _ = writeln!(m, "{}\n", report.verdict);
    if report.synthetic {
        let _ = writeln!(
            m,
            "These numbers come from the synthetic corpus: they show that every step works and how the arms compare on it, not how they compare on ICBHI 2017. Run `auscult study --data ICBHI_ROOT` for that.\n"
        );
    }
    if let Some(first) = report.per_seed.first()
        && !first.generated.is_empty()
    {
        let _ = writeln!(m, "## Generated corpus\n");
        let _ = writeln!(
            m,
            "Samples generated per class (seed {}): `{:?}`.\n",
            first.seed, first.generated
        );
        if !report.gate_keep_share.is_empty() {
            let _ = writeln!(
                m,
                "Share kept by the quality gate (p >= {}{} under arm (a)'s model), over all seeds: {}.\n",
                plan.args.gate_threshold,
                if plan.args.gate_relative {
                    " x the class's real validation median"
                } else {
                    ""
                },
                report
                    .gate_keep_share
                    .iter()
                    .map(|(c, f)| format!("{c} {:.0}%", 100.0 * f))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let generated = per_seed_probabilities(report, |r| &r.gate_mean_probability);
        if !generated.is_empty() {
            let _ = writeln!(
                m,
                "Mean probability arm (a)'s model gives generated samples for their conditioned class: {generated}.\n"
            );
        }
        let real = per_seed_probabilities(report, |r| &r.real_mean_probability);
        if !real.is_empty() {
            let _ = writeln!(
                m,
                "For comparison, the mean probability the same model gives real test cycles for their own class: {real}.\n"
            );
        }
        if let Some(sheet) = &figures.contact_sheet {
            let _ = writeln!(m, "![generated samples]({sheet})\n");
        }
    }
    if !figures.confusion.is_empty() {
        let _ = writeln!(m, "## Confusion matrices (first seed)\n");
        for (name, path) in &figures.confusion {
            let _ = writeln!(m, "{name}\n\n![{name}]({path})\n");
        }
    }
    if !figures.curves.is_empty() {
        let _ = writeln!(m, "## Training curves (first seed)\n");
        for (name, path) in &figures.curves {
            let _ = writeln!(m, "{name}\n\n![{name}]({path})\n");
        }
    }
    let _ = writeln!(m, "## Per seed\n");
    let _ = writeln!(
        m,
        "| seed | arm | Sp % | Se % | Score % | 95% CI of score | macro-F1 % |"
    );
    let _ = writeln!(m, "|---|---|---|---|---|---|---|");
    for r in &report.per_seed {
        for (arm, e) in &r.arms {
            let ci = e.metrics.score_ci95.map_or("-".to_string(), |[lo, hi]| {
                format!("{:.1}-{:.1}", 100.0 * lo, 100.0 * hi)
            });
            let _ = writeln!(
                m,
                "| {} | ({}) {} | {:.1} | {:.1} | {:.1} | {} | {:.1} |",
                r.seed,
                arm.letter(),
                arm.name(),
                100.0 * e.metrics.specificity,
                100.0 * e.metrics.sensitivity,
                100.0 * e.metrics.score,
                ci,
                100.0 * e.metrics.macro_f1
            );
        }
    }
    let _ = writeln!(m, "\n## Reproduce\n");
    let _ = writeln!(
        m,
        "Each step below is the exact command that ran (from the directory the study was started in), with its wall-clock time.\n"
    );
    let _ = writeln!(m, "```sh");
    for step in &report.steps {
        let _ = writeln!(
            m,
            "# {} ({:.1} s)\n{}",
            step.name, step.seconds, step.command
        );
    }
    let _ = writeln!(m, "```");
    m
}
