//! `auscult quality --corpus CORPUS --model RUN_DIR [--part test] [--json]`: how close a
//! generated corpus is to real examples, seen through a classifier trained on real data only:
//! per class, the Fréchet distance between the classifier's embeddings of generated samples
//! and of real examples, the same between two halves of the real examples (its floor), and the
//! classifier's mean probability of the class on generated samples and on real examples.

use std::path::PathBuf;

use anyhow::Context;
use auscult_classifier::{ClassQuality, Classifier, classifier_quality};
use auscult_datasets::{Format, GeneratedCorpus};
use serde::Serialize;

use super::evaluate::{Source, SplitArg, Subset, parse_split_arg, part_examples, parts_examples};
use crate::commands::parsers::parse_format;
use crate::output::print_json;

/// Arguments of `auscult quality`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The generated corpus (written by `auscult generate`).
    #[arg(long, value_name = "CORPUS_DIR")]
    pub corpus: PathBuf,
    /// A classifier trained on real data only, with the corpus's front end (e.g. `auscult
    /// train --recipe compact`).
    #[arg(long, value_name = "RUN_DIR")]
    pub model: PathBuf,
    /// The real dataset (default: the one the classifier was trained on).
    #[arg(long, value_name = "ROOT")]
    pub data: Option<PathBuf>,
    /// Dataset format when auto-detection guesses wrong.
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
    /// The split, as `auscult train --split` takes it (default: the classifier's).
    #[arg(long, value_name = "SPEC", value_parser = parse_split_arg)]
    pub split: Option<SplitArg>,
    /// Which real examples to compare with: test (default: patients neither the generator
    /// nor the classifier should have seen), val, train or all.
    #[arg(long, value_enum, default_value_t = Subset::Test)]
    pub part: Subset,
    /// Seed of the random halves of the real examples (the floor).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print one JSON object (corpus, model, part, classes: [{class, n_generated, n_real,
    /// frechet, frechet_real_halves, frechet_ratio, frechet_matched, frechet_floor_matched,
    /// frechet_ratio_matched, train_ratio_matched, frechet_ratio_patients,
    /// train_ratio_patients, p_class_generated, p_class_real}]).
    #[arg(long)]
    pub json: bool,
}

/// What `--json` prints.
#[derive(Debug, Serialize)]
struct Report {
    corpus: PathBuf,
    model: PathBuf,
    part: String,
    classes: Vec<ClassQuality>,
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let clf = Classifier::load(&args.model)
        .with_context(|| format!("loading the model in {}", args.model.display()))?;
    let corpus = GeneratedCorpus::open(&args.corpus)
        .with_context(|| format!("opening the corpus {}", args.corpus.display()))?;
    let (partition, part) = match args.split {
        Some(SplitArg::Spec(s)) => (Some(s), args.part),
        Some(SplitArg::Part(p)) => (None, p),
        None => (None, args.part),
    };
    let source = Source {
        data: args.data.as_ref(),
        format: args.format,
    };
    // The training part too, from the same load (when the part compared with is another):
    // how far real training cycles are from the compared ones, the generator's best case.
    let (real, train) = if matches!(part, Subset::Test | Subset::Val) {
        let mut parts =
            parts_examples(source, &args.model, &clf, partition, &[part, Subset::Train])?;
        let train = parts.pop().unwrap_or_default();
        (parts.pop().unwrap_or_default(), train)
    } else {
        (
            part_examples(source, &args.model, &clf, partition, part)?,
            Vec::new(),
        )
    };
    let classes =
        classifier_quality(&clf, &corpus, &real, &train, args.seed).with_context(|| {
            format!(
                "measuring {} through {}",
                args.corpus.display(),
                args.model.display()
            )
        })?;
    let report = Report {
        corpus: args.corpus.clone(),
        model: args.model.clone(),
        part: super::evaluate::subset_name(part).to_string(),
        classes,
    };
    if args.json {
        return print_json(&report);
    }
    println!(
        "{} seen through {} (real examples: the {} part)",
        report.corpus.display(),
        report.model.display(),
        report.part
    );
    println!(
        "{:<10} {:>9} {:>6} {:>9} {:>12} {:>6} {:>14} {:>12} {:>15} {:>14} {:>8} {:>8}",
        "class",
        "generated",
        "real",
        "Frechet",
        "real halves",
        "ratio",
        "matched ratio",
        "train ratio",
        "patient ratio",
        "train, patient",
        "P gen",
        "P real"
    );
    let f = |v: Option<f64>, d: usize| v.map_or("-".to_string(), |x| format!("{x:.d$}"));
    for c in &report.classes {
        println!(
            "{:<10} {:>9} {:>6} {:>9} {:>12} {:>6} {:>14} {:>12} {:>15} {:>14} {:>8} {:>8}",
            c.class,
            c.n_generated,
            c.n_real,
            f(c.frechet, 2),
            f(c.frechet_real_halves, 2),
            f(c.frechet_ratio, 2),
            f(c.frechet_ratio_matched, 2),
            f(c.train_ratio_matched, 2),
            f(c.frechet_ratio_patients, 2),
            f(c.train_ratio_patients, 2),
            f(c.p_class_generated, 3),
            f(c.p_class_real, 3)
        );
    }
    println!(
        "(Frechet: distance between Gaussians fitted to the classifier's embeddings; the real \
         halves hold half as many examples each, which raises their distance too. Matched \
         ratio: the distance of one real half to as many generated samples as the other half \
         holds, over the distance between the halves, averaged over {} random splits; about 1 \
         when generated and real are alike. Train ratio: the same with real training examples \
         in place of generated ones, what a generator that copied its training set would score. \
         Patient ratio: the matched ratio with the real examples halved by patient, so that the \
         floor too compares different patients; train, patient: the same for real training \
         examples)",
        auscult_classifier::MATCHED_SPLITS
    );
    Ok(())
}
