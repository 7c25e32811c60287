//! Where a run's data came from (`data.json` in the run directory), so that `--resume`,
//! `auscult evaluate` and `auscult classify` can load it again.

use std::path::PathBuf;

use anyhow::Context;
use auscult_classifier::{Recipe, TrainConfig};
use auscult_datasets::{
    CoswaraOptions, ExampleSet, Format, GeneratedCorpus, LoadOptions, SplitSpec, load_examples,
};
use serde::{Deserialize, Serialize};

/// File in the run directory recording where the data came from (so `--resume` and
/// `auscult evaluate` can reload it).
pub const DATA_FILE: &str = "data.json";

/// Folds of the default split of a dataset without an official one.
pub(super) const DEFAULT_FOLDS: usize = 5;

/// Whether loading failed only because the dataset has no official split.
pub(super) fn no_official_split(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<auscult_datasets::Error>(),
            Some(auscult_datasets::Error::SplitUnavailable { .. })
        )
    })
}

/// Where a run's data came from (`data.json` in the run directory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSpec {
    /// Dataset root.
    pub root: PathBuf,
    /// Format, if forced.
    pub format: Option<Format>,
    /// Train/test split.
    pub split: SplitSpec,
    /// Validation share of the training patients.
    pub val_fraction: f32,
    /// Seed of the validation carve-out.
    pub seed: u64,
    /// Generated corpora mixed into training.
    pub augment: Vec<PathBuf>,
    /// The recipe the training config started from (absent in runs made before recipes).
    #[serde(default)]
    pub recipe: Option<Recipe>,
    /// Coswara: the sounds and the target (absent for other datasets and older runs: the
    /// defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coswara: Option<CoswaraOptions>,
}

impl DataSpec {
    /// Loads the examples this spec names, cut with `cfg`'s example config.
    pub fn load(&self, cfg: &TrainConfig) -> anyhow::Result<ExampleSet> {
        let opts = LoadOptions {
            format: self.format,
            examples: cfg.examples.clone(),
            split: self.split,
            val_fraction: self.val_fraction,
            seed: self.seed,
            coswara: self.coswara.clone().unwrap_or_default(),
        };
        load_examples(&self.root, &opts)
            .with_context(|| format!("loading the dataset at {}", self.root.display()))
    }

    /// Opens the generated corpora.
    pub fn corpora(&self) -> anyhow::Result<Vec<GeneratedCorpus>> {
        self.augment
            .iter()
            .map(|d| GeneratedCorpus::open(d).with_context(|| format!("--augment {}", d.display())))
            .collect()
    }
}
