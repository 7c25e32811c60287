//! Evaluating a classifier on labelled examples: the metrics over all of them, per recording
//! device and per source sample rate, or per participant.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::{Path, PathBuf};

use auscult_datasets::{Example, read_wav_header};
use serde::{Deserialize, Serialize};

use super::classifier::Classifier;
use crate::binary::{Level, fuse_by_patient};
use crate::metrics::{BootstrapOptions, GroupMetrics, Metrics, group_metrics};
use crate::{Error, Result};

/// An evaluation of a trained model on labelled examples (what `auscult evaluate --json`
/// prints: the [`Metrics`] fields at the top level, plus the model directory, the level, and
/// the metrics per recording device and per source sample rate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The run directory evaluated.
    pub model_dir: PathBuf,
    /// What the metrics count: items, or participants (each the mean of its items'
    /// probabilities).
    #[serde(default)]
    pub level: Level,
    /// The metrics.
    #[serde(flatten)]
    pub metrics: Metrics,
    /// At the participant level, the same metrics over the single items (files) too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_metrics: Option<Metrics>,
    /// The metrics of each recording device, in device-code order (`unknown` last for
    /// examples whose file name names no ICBHI device); empty, and left out of the JSON, when
    /// no example's does (and at the participant level).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by_device: Vec<GroupMetrics>,
    /// The metrics of each sample rate of the source files, in Hz order (`unknown` last for
    /// sources whose header cannot be read); empty, and left out of the JSON, when no
    /// source's can (and at the participant level).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by_sample_rate: Vec<GroupMetrics>,
}

/// Options of [`evaluate_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EvalOptions {
    /// The bootstrap of the intervals.
    pub bootstrap: BootstrapOptions,
    /// The unit scored (`None`: the model's, from its training config).
    pub level: Option<Level>,
}

impl From<BootstrapOptions> for EvalOptions {
    fn from(bootstrap: BootstrapOptions) -> Self {
        Self {
            bootstrap,
            level: None,
        }
    }
}

/// A grouping key that may be unknown; known values sort first, in their own order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Key<T> {
    Known(T),
    Unknown,
}

impl<T> From<Option<T>> for Key<T> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Unknown, Self::Known)
    }
}

impl<T: Display> Display for Key<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Known(v) => v.fmt(f),
            Self::Unknown => f.write_str("unknown"),
        }
    }
}

/// The sample rate in the header of every example's source file (each file read once);
/// `None` where it cannot be read.
pub(crate) fn source_rates(examples: &[Example]) -> Vec<Option<u32>> {
    let mut rates: BTreeMap<&Path, Option<u32>> = BTreeMap::new();
    examples
        .iter()
        .map(|e| {
            *rates
                .entry(e.source.as_path())
                .or_insert_with(|| read_wav_header(&e.source).ok().map(|h| h.sample_rate))
        })
        .collect()
}

/// Evaluates the model in `model_dir` on `examples` (labels index the model's classes; cut with
/// the model's example config) with 1000-resample patient-bootstrap intervals.
pub fn evaluate(model_dir: &Path, examples: &[Example]) -> Result<Evaluation> {
    let clf = Classifier::load(model_dir)?;
    evaluate_with(&clf, examples, BootstrapOptions::default())
}

/// Evaluates a loaded classifier: the metrics over all `examples` and per device and source
/// sample rate, the intervals resampling patients ([`Example::patient`]); at the participant
/// level, the metrics of the participants' fused predictions and of the items. A binary
/// model's decision threshold (`decision.json`) makes its predictions.
pub fn evaluate_with(
    clf: &Classifier,
    examples: &[Example],
    options: impl Into<EvalOptions>,
) -> Result<Evaluation> {
    check_examples(clf, examples)?;
    let probs = clf.predict_examples(examples)?;
    evaluate_probabilities(clf, examples, &probs, options)
}

/// Errors for an empty evaluation or a label outside the model's classes.
fn check_examples(clf: &Classifier, examples: &[Example]) -> Result<()> {
    if examples.is_empty() {
        return Err(Error::data(
            "nothing to evaluate: the chosen split has no examples",
        ));
    }
    let n_classes = clf.classes().len();
    if let Some(e) = examples.iter().find(|e| e.label >= n_classes) {
        return Err(Error::Label {
            label: e.label,
            n_classes,
        });
    }
    Ok(())
}

/// As [`evaluate_with`], from the class probabilities the classifier already gave `examples`
/// (`probs[i]` is example `i`'s, from [`Classifier::predict_examples`]): for callers that
/// also keep the predictions.
pub fn evaluate_probabilities(
    clf: &Classifier,
    examples: &[Example],
    probs: &[Vec<f32>],
    options: impl Into<EvalOptions>,
) -> Result<Evaluation> {
    let EvalOptions { bootstrap, level } = options.into();
    let level = level.unwrap_or(clf.config().train.level);
    let threshold = clf.decision().map(|d| d.threshold);
    check_examples(clf, examples)?;
    let truth: Vec<usize> = examples.iter().map(|e| e.label).collect();
    let patients: Vec<String> = examples.iter().map(|e| e.patient.clone()).collect();
    let classes = clf.classes();
    let devices: Vec<Key<&str>> = examples
        .iter()
        .map(|e| Key::from(e.device().map(|d| d.code())))
        .collect();
    let rates: Vec<Key<u32>> = source_rates(examples).into_iter().map(Key::from).collect();
    let by = Grouping {
        classes,
        truth: &truth,
        probabilities: probs,
        patients: &patients,
        bootstrap,
        threshold,
    };
    let items = Metrics::compute_full(
        classes,
        &truth,
        probs,
        Some(&patients),
        bootstrap,
        threshold,
    )?;
    Ok(match level {
        Level::Item => Evaluation {
            model_dir: clf.dir().to_path_buf(),
            level,
            metrics: items,
            item_metrics: None,
            by_device: by.metrics(&devices)?,
            by_sample_rate: by.metrics(&rates)?,
        },
        Level::Participant => {
            let f = fuse_by_patient(&truth, probs, &patients)?;
            Evaluation {
                model_dir: clf.dir().to_path_buf(),
                level,
                metrics: Metrics::compute_full(
                    classes,
                    &f.truth,
                    &f.probabilities,
                    Some(&f.patients),
                    bootstrap,
                    threshold,
                )?,
                item_metrics: Some(items),
                by_device: Vec::new(),
                by_sample_rate: Vec::new(),
            }
        }
    })
}

/// What [`evaluate_with`] breaks down by device and by sample rate.
struct Grouping<'a> {
    classes: &'a [String],
    truth: &'a [usize],
    probabilities: &'a [Vec<f32>],
    patients: &'a [String],
    bootstrap: BootstrapOptions,
    threshold: Option<f64>,
}

impl Grouping<'_> {
    /// The metrics of each group of `keys`; none when every key is unknown.
    fn metrics<T: Ord + Display>(&self, keys: &[Key<T>]) -> Result<Vec<GroupMetrics>> {
        if keys.iter().all(|k| matches!(k, Key::Unknown)) {
            return Ok(Vec::new());
        }
        group_metrics(
            self.classes,
            self.truth,
            self.probabilities,
            keys,
            Some(self.patients),
            self.bootstrap,
            self.threshold,
        )
    }
}
