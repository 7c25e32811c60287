//! `auscult evaluate --model RUN_DIR [--data ROOT] [--split SPEC] [--part test] [--json]`: the
//! ICBHI metrics (specificity, sensitivity and score, each with a patient-bootstrap 95%
//! interval), accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix of a
//! trained classifier, then the same per recording device and per source sample rate. Binary
//! tasks add ROC-AUC and PR-AUC with their intervals, the sensitivity at 95% specificity and
//! the decision threshold; Coswara models are scored per participant by default.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use auscult_classifier::metrics::BootstrapOptions;
use auscult_classifier::{
    Classifier, EvalOptions, Evaluation, GroupMetrics, Level, Metrics, evaluate_probabilities,
};
use auscult_datasets::{Example, Format, SplitSpec};

use super::train::{DATA_FILE, DataSpec, parse_level};
use crate::commands::parsers::parse_format;
use crate::commands::predictions;
use crate::output::print_json;

/// Which part of the split to evaluate on.
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
    /// How the dataset is split, in `auscult train --split`'s words: official, all,
    /// fold:K:INDEX[:SEED] or cv:K:INDEX[:SEED] (default: the split the model was trained
    /// with, from its data.json). For older scripts, test, val and train are still read as
    /// --part.
    #[arg(long, visible_alias = "partition", value_name = "SPEC", value_parser = parse_split_arg)]
    pub split: Option<SplitArg>,
    /// Which part of the split to evaluate: test (default), val (the validation carve-out of
    /// the training patients), train, or all (every example).
    #[arg(long, value_enum)]
    pub part: Option<Subset>,
    /// What to score: item (each cycle or file) or participant (the mean of each
    /// participant's probabilities; the items' metrics are reported beside). Default: the
    /// model's (participant for Coswara, item otherwise).
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    pub level: Option<Level>,
    /// Binary tasks: also draw the ROC curve of the evaluated part as a PNG here.
    #[arg(long, value_name = "FILE.png")]
    pub roc: Option<PathBuf>,
    /// Bootstrap resamples of the 95% intervals, each drawing patients with replacement
    /// (0 for none).
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// Also write every item's prediction to this CSV (id, patient, device, source, start_s,
    /// end_s, truth, predicted, then p_<class> per class): the rows the metrics score, for
    /// paired comparisons and error analysis.
    #[arg(long, value_name = "FILE.csv")]
    pub predictions: Option<PathBuf>,
    /// Print one JSON object (level, specificity, sensitivity, score and their _ci95,
    /// bootstrap_unit, n_patients, accuracy, macro_f1, per_class, confusion, n, by_device,
    /// by_sample_rate; binary tasks roc_auc, pr_auc and their _ci95,
    /// sensitivity_at_95_specificity, threshold; item_metrics at the participant level).
    #[arg(long)]
    pub json: bool,
}

impl Args {
    fn source(&self) -> Source<'_> {
        Source {
            data: self.data.as_ref(),
            format: self.format,
        }
    }
}

/// A `--split` value: a split specification, or (older scripts) the name of a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitArg {
    /// `official`, `all`, `fold:K:I[:SEED]`, `cv:K:I[:SEED]`.
    Spec(SplitSpec),
    /// `test`, `val` or `train`: read as `--part`.
    Part(Subset),
}

pub(crate) fn parse_split_arg(s: &str) -> Result<SplitArg, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "test" => Ok(SplitArg::Part(Subset::Test)),
        "val" | "validation" => Ok(SplitArg::Part(Subset::Val)),
        "train" => Ok(SplitArg::Part(Subset::Train)),
        _ => s.parse::<SplitSpec>().map(SplitArg::Spec),
    }
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (partition, part) = match args.split {
        Some(SplitArg::Part(p)) => {
            if args.part.is_some_and(|q| q != p) {
                bail!(
                    "--split {p:?} and --part {:?} disagree",
                    args.part.unwrap_or(p)
                );
            }
            if !args.json {
                eprintln!(
                    "note: --split {} names a part; it now takes a split as in `auscult train` \
                     (official, fold:K:I, ...): use --part {}",
                    subset_name(p),
                    subset_name(p)
                );
            }
            (None, p)
        }
        Some(SplitArg::Spec(s)) => (Some(s), args.part.unwrap_or_default()),
        None => (None, args.part.unwrap_or_default()),
    };
    if auscult_classifier::is_ensemble(&args.model) {
        if args.predictions.is_some() {
            bail!(
                "--predictions: {} is an ensemble of per-sound models, which scores participants, not items",
                args.model.display()
            );
        }
        return evaluate_ensemble(&args, partition, part);
    }
    let clf = Classifier::load(&args.model)
        .with_context(|| format!("loading the model in {}", args.model.display()))?;
    let examples = part_examples(args.source(), &args.model, &clf, partition, part)?;
    let probabilities = clf.predict_examples(&examples)?;
    let eval = evaluate_probabilities(
        &clf,
        &examples,
        &probabilities,
        EvalOptions {
            bootstrap: BootstrapOptions {
                resamples: args.bootstrap,
                seed: clf.config().train.seed,
            },
            level: args.level,
        },
    )?;
    if let Some(path) = &args.predictions {
        predictions::write(
            path,
            clf.classes(),
            &examples,
            &probabilities,
            eval.metrics.threshold,
        )
        .with_context(|| format!("writing the predictions {}", path.display()))?;
    }
    if let Some(path) = &args.roc {
        draw_roc(&clf, &examples, &probabilities, &eval, path)?;
    }
    if args.json {
        print_json(&eval)
    } else {
        print_evaluation(&eval);
        Ok(())
    }
}

/// Where the examples to score come from: `--data` and `--format` override what the model's
/// data.json records, `--split` its split, and `--part` picks the part.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source<'a> {
    pub data: Option<&'a PathBuf>,
    pub format: Option<Format>,
}

/// The examples of `part` of the data the model in `dir` was trained on (`source` and
/// `partition` override what its data.json records).
pub(crate) fn part_examples(
    source: Source<'_>,
    dir: &Path,
    clf: &Classifier,
    partition: Option<SplitSpec>,
    part: Subset,
) -> anyhow::Result<Vec<Example>> {
    let mut parts = parts_examples(source, dir, clf, partition, &[part])?;
    Ok(parts.remove(0))
}

/// The examples of each of `parts`, as [`part_examples`] gives one, from one load of the data.
/// Each part is asked for at most once, and `All` alone.
pub(crate) fn parts_examples(
    source: Source<'_>,
    dir: &Path,
    clf: &Classifier,
    partition: Option<SplitSpec>,
    parts: &[Subset],
) -> anyhow::Result<Vec<Vec<Example>>> {
    let saved: Option<DataSpec> = auscult_experiment::read_json(dir.join(DATA_FILE)).ok();
    let spec = match (source.data, saved) {
        (Some(root), saved) => DataSpec {
            root: root.clone(),
            format: source.format.or(saved.as_ref().and_then(|s| s.format)),
            split: partition
                .or(saved.as_ref().map(|s| s.split))
                .unwrap_or_default(),
            val_fraction: saved.as_ref().map_or(0.0, |s| s.val_fraction),
            seed: saved.as_ref().map_or(0, |s| s.seed),
            augment: Vec::new(),
            recipe: saved.as_ref().and_then(|s| s.recipe),
            coswara: saved.as_ref().and_then(|s| s.coswara.clone()),
        },
        (None, Some(mut saved)) => {
            if let Some(p) = partition {
                saved.split = p;
            }
            if let Some(f) = source.format {
                saved.format = Some(f);
            }
            saved
        }
        (None, None) => bail!(
            "--data is required: {} does not record the dataset it was trained on",
            dir.display()
        ),
    };
    let mut data = spec.load(&clf.config().train)?;
    if data.classes != clf.classes() {
        bail!(
            "the dataset's classes ({}) are not the model's ({})",
            data.classes.join(", "),
            clf.classes().join(", ")
        );
    }
    let mut out = Vec::with_capacity(parts.len());
    for &part in parts {
        let examples = match part {
            Subset::Test => std::mem::take(&mut data.test),
            Subset::Val => std::mem::take(&mut data.val),
            Subset::Train => std::mem::take(&mut data.train),
            Subset::All => [
                std::mem::take(&mut data.train),
                std::mem::take(&mut data.val),
                std::mem::take(&mut data.test),
            ]
            .concat(),
        };
        if examples.is_empty() {
            bail!(
                "the {} part of split {} of {} has no examples{}",
                subset_name(part),
                spec.split,
                spec.root.display(),
                if spec.split == SplitSpec::All {
                    " (split `all` puts everything in training: use --part all to score every example)"
                } else {
                    ""
                }
            );
        }
        out.push(examples);
    }
    Ok(out)
}

/// `evaluate` of an ensemble (`train --per-sound`): every member scores the participants of
/// its own sound, the participants' probabilities are the mean over the members, decided
/// with the ensemble's threshold.
fn evaluate_ensemble(
    args: &Args,
    partition: Option<SplitSpec>,
    part: Subset,
) -> anyhow::Result<()> {
    use auscult_classifier::binary::fuse_by_patient;
    use auscult_classifier::ensemble::combine;

    if args.level == Some(Level::Item) {
        bail!(
            "{} is an ensemble of per-sound models: it scores participants only",
            args.model.display()
        );
    }
    let ensemble = auscult_classifier::Ensemble::load(&args.model)
        .with_context(|| format!("loading the ensemble in {}", args.model.display()))?;
    let mut fused = Vec::new();
    for (spec, clf) in ensemble.members() {
        let dir = args.model.join(&spec.dir);
        let examples = part_examples(args.source(), &dir, clf, partition, part)?;
        let probs = clf.predict_examples(&examples)?;
        let truth: Vec<usize> = examples.iter().map(|e| e.label).collect();
        let patients: Vec<String> = examples.iter().map(|e| e.patient.clone()).collect();
        fused.push(fuse_by_patient(&truth, &probs, &patients)?);
    }
    let f = combine(&fused)?;
    let classes = ensemble.classes();
    let metrics = Metrics::compute_full(
        classes,
        &f.truth,
        &f.probabilities,
        Some(&f.patients),
        BootstrapOptions {
            resamples: args.bootstrap,
            seed: 0,
        },
        ensemble.decision().map(|d| d.threshold),
    )?;
    if let (Some(path), Some(pos)) = (
        &args.roc,
        auscult_classifier::binary::positive_class(classes),
    ) {
        let scores: Vec<f64> = f.probabilities.iter().map(|p| f64::from(p[pos])).collect();
        let positive: Vec<bool> = f.truth.iter().map(|&t| t == pos).collect();
        let title = format!(
            "ROC of {} ({} participants, a model per sound, AUC {:.3})",
            classes[pos],
            scores.len(),
            metrics.roc_auc.unwrap_or(f64::NAN)
        );
        auscult_classifier::binary::roc_png(path, &title, &scores, &positive)
            .with_context(|| format!("--roc {}", path.display()))?;
    }
    let eval = Evaluation {
        model_dir: args.model.clone(),
        level: Level::Participant,
        metrics,
        item_metrics: None,
        by_device: Vec::new(),
        by_sample_rate: Vec::new(),
    };
    if args.json {
        print_json(&eval)
    } else {
        print_evaluation(&eval);
        Ok(())
    }
}

pub(crate) fn subset_name(p: Subset) -> &'static str {
    match p {
        Subset::Test => "test",
        Subset::Val => "val",
        Subset::Train => "train",
        Subset::All => "all",
    }
}

/// Writes the ROC curve of the evaluated examples (fused per participant at that level).
fn draw_roc(
    clf: &Classifier,
    examples: &[auscult_datasets::Example],
    probs: &[Vec<f32>],
    eval: &Evaluation,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let Some(pos) = auscult_classifier::binary::positive_class(clf.classes()) else {
        bail!(
            "--roc: the model has {} classes; a ROC curve needs two",
            clf.classes().len()
        );
    };
    let truth: Vec<usize> = examples.iter().map(|e| e.label).collect();
    let (truth, probs) = match eval.level {
        Level::Item => (truth, probs.to_vec()),
        Level::Participant => {
            let patients: Vec<String> = examples.iter().map(|e| e.patient.clone()).collect();
            let f = auscult_classifier::binary::fuse_by_patient(&truth, probs, &patients)?;
            (f.truth, f.probabilities)
        }
    };
    let scores: Vec<f64> = probs.iter().map(|p| f64::from(p[pos])).collect();
    let positive: Vec<bool> = truth.iter().map(|&t| t == pos).collect();
    let title = format!(
        "ROC of {} ({} {}s, AUC {:.3})",
        clf.classes()[pos],
        scores.len(),
        eval.level.name(),
        eval.metrics.roc_auc.unwrap_or(f64::NAN)
    );
    auscult_classifier::binary::roc_png(path, &title, &scores, &positive)
        .with_context(|| format!("--roc {}", path.display()))?;
    Ok(())
}

fn print_evaluation(e: &Evaluation) {
    let m = &e.metrics;
    let ci = |ci: Option<[f64; 2]>| {
        ci.map_or(String::new(), |[lo, hi]| {
            format!("  (95% CI {lo:.3}-{hi:.3})")
        })
    };
    println!("model        {}", e.model_dir.display());
    match (e.level, m.n_patients) {
        (Level::Participant, _) => match &e.item_metrics {
            Some(items) => println!(
                "participants {} (each the mean of its probabilities over {} files)",
                m.n, items.n
            ),
            None => println!(
                "participants {} (each the mean of the per-sound models' probabilities)",
                m.n
            ),
        },
        (Level::Item, Some(p)) => println!("examples     {} from {p} patients", m.n),
        (Level::Item, None) => println!("examples     {}", m.n),
    }
    print_binary(m);
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
    if let Some(items) = &e.item_metrics {
        println!();
        println!(
            "single files ({}): Sp {:.3}  Se {:.3}  score {:.3}{}",
            items.n,
            items.specificity,
            items.sensitivity,
            items.score,
            items
                .roc_auc
                .map(|a| format!("  ROC-AUC {a:.3}"))
                .unwrap_or_default()
        );
    }
    print_groups("device", &e.by_device, &m.classes, "");
    print_groups("sample rate", &e.by_sample_rate, &m.classes, " Hz");
}

/// ROC-AUC, PR-AUC (with intervals), sensitivity at 95% specificity and the threshold of a
/// binary task.
fn print_binary(m: &Metrics) {
    let ci = |ci: Option<[f64; 2]>| {
        ci.map_or(String::new(), |[lo, hi]| {
            format!("  (95% CI {lo:.3}-{hi:.3})")
        })
    };
    if let Some(a) = m.roc_auc {
        println!("ROC-AUC      {a:.3}{}", ci(m.roc_auc_ci95));
    }
    if let Some(a) = m.pr_auc {
        println!("PR-AUC       {a:.3}{}", ci(m.pr_auc_ci95));
    }
    if let Some(s) = m.sensitivity_at_95_specificity {
        println!("Se at 95% Sp {s:.3}");
    }
    if let Some(t) = m.threshold {
        println!(
            "threshold    {t:.3} on P({}) (chosen on validation; Sp and Se below use it)",
            m.classes[auscult_classifier::binary::positive_class(&m.classes).unwrap_or(1)]
        );
    }
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
