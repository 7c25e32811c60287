//! `auscult evaluate --model RUN_DIR --data ROOT [--split test] [--json]`: the ICBHI metrics
//! (specificity, sensitivity and score, each with a patient-bootstrap 95% interval), accuracy,
//! macro-F1, per-class precision/recall/F1 and the confusion matrix of a trained classifier,
//! then the same per recording device and per source sample rate.

use std::path::PathBuf;

use anyhow::{Context, bail};
use auscult_classifier::metrics::BootstrapOptions;
use auscult_classifier::{Classifier, Evaluation, GroupMetrics, evaluate_with};
use auscult_datasets::{Format, SplitSpec};

use super::train::{DATA_FILE, DataSpec};
use crate::output::print_json;

/// Which examples to evaluate on.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Subset {
    /// The test split.
    #[default]
    Test,
    /// The validation carve-out of the training patients.
    Val,
    /// The training split.
    Train,
    /// Every example.
    All,
}

/// Arguments of `auscult evaluate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The run directory of a trained classifier.
    #[arg(long, value_name = "RUN_DIR")]
    pub model: PathBuf,
    /// Dataset root (default: the one the model was trained on, from its data.json).
    #[arg(long, value_name = "ROOT")]
    pub data: Option<PathBuf>,
    /// Dataset format when auto-detection guesses wrong.
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
    /// Which examples: test, val, train or all.
    #[arg(long, value_enum, default_value_t = Subset::Test)]
    pub split: Subset,
    /// How the dataset is partitioned: official, all, fold:K:INDEX[:SEED] or cv:K:INDEX[:SEED]
    /// (default: as the model was trained).
    #[arg(long, value_parser = parse_split)]
    pub partition: Option<SplitSpec>,
    /// Bootstrap resamples of the 95% intervals, each drawing patients with replacement
    /// (0 for none).
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// Print one JSON object (specificity, sensitivity, score and their _ci95, bootstrap_unit,
    /// n_patients, accuracy, macro_f1, per_class, confusion, n, by_device, by_sample_rate,
    /// ...).
    #[arg(long)]
    pub json: bool,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse::<Format>().map_err(|e| e.to_string())
}

fn parse_split(s: &str) -> Result<SplitSpec, String> {
    s.parse::<SplitSpec>()
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let clf = Classifier::load(&args.model)
        .with_context(|| format!("loading the model in {}", args.model.display()))?;
    let saved: Option<DataSpec> = auscult_experiment::read_json(args.model.join(DATA_FILE)).ok();
    let spec = match (&args.data, saved) {
        (Some(root), saved) => DataSpec {
            root: root.clone(),
            format: args.format.or(saved.as_ref().and_then(|s| s.format)),
            split: args
                .partition
                .or(saved.as_ref().map(|s| s.split))
                .unwrap_or_default(),
            val_fraction: saved.as_ref().map_or(0.0, |s| s.val_fraction),
            seed: saved.as_ref().map_or(0, |s| s.seed),
            augment: Vec::new(),
            recipe: saved.as_ref().and_then(|s| s.recipe),
        },
        (None, Some(mut saved)) => {
            if let Some(p) = args.partition {
                saved.split = p;
            }
            if let Some(f) = args.format {
                saved.format = Some(f);
            }
            saved
        }
        (None, None) => bail!(
            "--data is required: {} does not record the dataset it was trained on",
            args.model.display()
        ),
    };
    let data = spec.load(&clf.config().train)?;
    if data.classes != clf.classes() {
        bail!(
            "the dataset's classes ({}) are not the model's ({})",
            data.classes.join(", "),
            clf.classes().join(", ")
        );
    }
    let examples = match args.split {
        Subset::Test => data.test,
        Subset::Val => data.val,
        Subset::Train => data.train,
        Subset::All => [data.train, data.val, data.test].concat(),
    };
    if examples.is_empty() {
        bail!(
            "the {:?} split of {} has no examples",
            args.split,
            spec.root.display()
        );
    }
    let eval = evaluate_with(
        &clf,
        &examples,
        BootstrapOptions {
            resamples: args.bootstrap,
            seed: clf.config().train.seed,
        },
    )?;
    if args.json {
        print_json(&eval)
    } else {
        print_evaluation(&eval);
        Ok(())
    }
}

fn print_evaluation(e: &Evaluation) {
    let m = &e.metrics;
    let ci = |ci: Option<[f64; 2]>| {
        ci.map_or(String::new(), |[lo, hi]| {
            format!("  (95% CI {lo:.3}-{hi:.3})")
        })
    };
    println!("model        {}", e.model_dir.display());
    match m.n_patients {
        Some(p) => println!("examples     {} from {p} patients", m.n),
        None => println!("examples     {}", m.n),
    }
    println!(
        "specificity  {:.3}{}",
        m.specificity,
        ci(m.specificity_ci95)
    );
    println!(
        "sensitivity  {:.3}{}",
        m.sensitivity,
        ci(m.sensitivity_ci95)
    );
    println!("ICBHI score  {:.3}{}", m.score, ci(m.score_ci95));
    if let Some(unit) = m.bootstrap_unit {
        println!(
            "intervals    percentile bootstrap, {} resamples of the {}",
            m.bootstrap_resamples,
            unit.plural()
        );
    }
    println!("accuracy     {:.3}", m.accuracy);
    println!("macro-F1     {:.3}", m.macro_f1);
    println!("balanced acc {:.3}", m.balanced_accuracy);
    if let Some(a) = m.auroc {
        println!("AUROC        {a:.3}");
    }
    println!();
    println!(
        "{:<12} {:>9} {:>9} {:>9} {:>8}",
        "class", "precision", "recall", "F1", "support"
    );
    for c in &m.per_class {
        println!(
            "{:<12} {:>9.3} {:>9.3} {:>9.3} {:>8}",
            c.class, c.precision, c.recall, c.f1, c.support
        );
    }
    println!();
    println!("confusion (rows = truth, columns = prediction)");
    print!("{:<12}", "");
    for c in &m.classes {
        print!(" {c:>9}");
    }
    println!();
    for (c, row) in m.classes.iter().zip(&m.confusion) {
        print!("{c:<12}");
        for v in row {
            print!(" {v:>9}");
        }
        println!();
    }
    print_groups("device", &e.by_device, &m.classes, "");
    print_groups("sample rate", &e.by_sample_rate, &m.classes, " Hz");
}

/// One table of per-group metrics: size, Sp, Se, score with its interval, recall per class.
fn print_groups(key: &str, groups: &[GroupMetrics], classes: &[String], unit: &str) {
    if groups.is_empty() {
        return;
    }
    println!();
    println!("by {key} (Sp, Se, score and its 95% CI; then the recall of each class)");
    print!(
        "{:<12} {:>6} {:>8} {:>6} {:>6} {:>6} {:>13}",
        key, "cycles", "patients", "Sp", "Se", "score", "95% CI"
    );
    for c in classes {
        print!(" {c:>9}");
    }
    println!();
    for g in groups {
        let name = if g.group == "unknown" {
            g.group.clone()
        } else {
            format!("{}{unit}", g.group)
        };
        let patients = g.n_patients.map_or("-".to_string(), |p| p.to_string());
        let ci = g
            .score_ci95
            .map_or("-".to_string(), |[lo, hi]| format!("{lo:.3}-{hi:.3}"));
        print!(
            "{name:<12} {:>6} {patients:>8} {:>6.3} {:>6.3} {:>6.3} {ci:>13}",
            g.n, g.specificity, g.sensitivity, g.score
        );
        for c in &g.per_class {
            if c.support == 0 {
                print!(" {:>9}", "-");
            } else {
                print!(" {:>9.3}", c.recall);
            }
        }
        println!();
    }
}
