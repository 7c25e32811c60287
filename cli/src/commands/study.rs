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
//!
//! This file runs the steps and prints; the arms, the statistics over seeds, the verdict, the
//! tables, the report and its figures are the `auscult_study` crate's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use auscult_classifier::{Evaluation, corpus_class_probability};
use auscult_datasets::{GeneratedCorpus, MANIFEST_FILE};
pub use auscult_study::Arm;
use auscult_study::{
    Augmentation, Budget, SeedResult, Setup, Step, StudyReport, arms_to_run, draw_figures,
    gate_share, layout, markdown, mean, results_table, summarise, verdict,
};

use super::train::{DATA_FILE, DataSpec};
use crate::output::print_json;

/// Parses `--arms` items: a letter (`c`) or a name (`augmented`).
fn parse_arm(s: &str) -> Result<Arm, auscult_study::Error> {
    s.parse()
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

/// The sizes of the study: `--quick`'s or the full defaults, overridden by the flags.
fn budget(args: &Args) -> Budget {
    let defaults = if args.quick {
        Budget::QUICK
    } else {
        Budget::FULL
    };
    Budget {
        patients: args.patients.unwrap_or(defaults.patients),
        classifier_epochs: args.epochs.unwrap_or(defaults.classifier_epochs),
        vqvae_epochs: args.vqvae_epochs.unwrap_or(defaults.vqvae_epochs),
        prior_epochs: args.prior_epochs.unwrap_or(defaults.prior_epochs),
    }
}

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
            guidance: a.guidance,
            no_texture: a.no_texture,
            target: a.target,
            augment_ratio: a.augment_ratio,
            generator_from: a.generator_from.clone(),
            gate_threshold: a.gate_threshold,
            gate_relative: a.gate_relative,
        },
    }
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
        println!("{}", report.verdict);
        println!(
            "\nReport: {} ({:.0} s in total)",
            out.join(layout::REPORT_MD).display(),
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
    let dir = out.join(layout::seed_dir(seed));
    let common = |mut v: Vec<String>| {
        v.extend([s("--seed"), s(seed), s("--device"), args.device.clone()]);
        v
    };
    let mut corpus_dir = None;
    let mut generated = BTreeMap::new();
    if arms.iter().any(|a| a.needs_corpus()) {
        let prior = match &args.generator_from {
            Some(from) => {
                let prior = from.join(layout::seed_dir(seed)).join(layout::PRIOR_DIR);
                if !prior.join(auscult_vqvae::MODEL_FILE).exists() {
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
                let vq = dir.join(layout::VQVAE_DIR);
                let prior = dir.join(layout::PRIOR_DIR);
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
        let corpus = dir.join(layout::GENERATED_DIR);
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
        let run_dir = dir.join(layout::arm_dir(arm));
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
                let gate_model = dir.join(layout::arm_dir(Arm::Plain));
                let gated = dir.join(layout::GATED_DIR);
                let started = Instant::now();
                let real = RealProbabilities::of(&gate_model)?;
                gate_thresholds = auscult_study::gate_thresholds(
                    &real.reference,
                    args.gate_threshold,
                    args.gate_relative,
                );
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
        if run_dir.join(auscult_classifier::files::CONFIG).exists() {
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
    auscult_experiment::write_json_atomic(gated.join(layout::GATE_FILE), &quality)?;
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
