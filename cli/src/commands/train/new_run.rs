//! One new run: the config resolved, the data loaded (falling back to patient-disjoint folds
//! where the dataset has no official split), `data.json` written, then training.

use std::path::Path;

use anyhow::{Context, bail};
use auscult_classifier::{Level, TrainReport, train};
use auscult_datasets::{CoswaraOptions, ExampleSet, Format, SoundKind, SplitSpec};

use super::args::Args;
use super::config::{choose_recipe, coswara_options, resolve_config};
use super::data::{DATA_FILE, DEFAULT_FOLDS, DataSpec, no_official_split};
use crate::output::BarProgress;

/// Trains one new run into `out` (with `sounds`, a single Coswara sound in place of
/// `--sounds`); returns its report and the examples it was trained and tested on.
pub(super) fn train_new(
    args: &Args,
    root: &Path,
    out: &Path,
    sounds: Option<SoundKind>,
    progress: &BarProgress,
) -> anyhow::Result<(TrainReport, ExampleSet)> {
    let recipe = choose_recipe(args, Some(root));
    let mut cfg = resolve_config(args, recipe)?;
    let format = args.format.or_else(|| Format::detect(root).ok());
    let coswara = match sounds {
        Some(k) => coswara_options(args, format)?.map(|o| CoswaraOptions {
            sounds: vec![k],
            ..o
        }),
        None => coswara_options(args, format)?,
    };
    if let Some(level) = args.level {
        cfg.level = level;
    } else if args.config.is_none() && format == Some(Format::Coswara) {
        cfg.level = Level::Participant;
    }
    if !args.json {
        eprintln!(
            "recipe {}{}",
            recipe.name(),
            if args.config.is_some() {
                " (only its validation share: --config gives the training config)"
            } else {
                ""
            }
        );
    }
    let mut spec = DataSpec {
        root: root.to_path_buf(),
        format: args.format,
        split: args.split.unwrap_or(SplitSpec::Official),
        val_fraction: args.val_fraction.unwrap_or(recipe.val_fraction()),
        seed: cfg.seed,
        augment: args.augment.clone(),
        recipe: Some(recipe),
        coswara,
    };
    let data = match spec.load(&cfg) {
        Err(e) if args.split.is_none() && no_official_split(&e) => {
            spec.split = SplitSpec::Fold {
                k: DEFAULT_FOLDS,
                index: 0,
                seed: cfg.seed,
            };
            if !args.json {
                eprintln!(
                    "the dataset has no official split: testing on fold 0 of {DEFAULT_FOLDS} \
                     patient-disjoint folds stratified by class (--split fold:{DEFAULT_FOLDS}:0:{})",
                    cfg.seed
                );
            }
            spec.load(&cfg)?
        }
        other => other?,
    };
    for p in &data.problems {
        eprintln!("warning: {}: {}", p.path.display(), p.problem);
    }
    let corpora = spec.corpora()?;
    if out.join(auscult_classifier::files::CONFIG).exists() {
        bail!(
            "{} already holds a run; pass --resume {} to continue it or choose another --out",
            out.display(),
            out.display()
        );
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    auscult_experiment::write_json_atomic(out.join(DATA_FILE), &spec)?;
    let report = train(&cfg, &data, &corpora, out, progress)
        .with_context(|| format!("training into {}", out.display()))?;
    Ok((report, data))
}
