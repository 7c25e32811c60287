//! Scoring a model on a prepared split: the validation metrics and loss of every epoch, the
//! score that early stopping and `best.bpk` maximise, and the per-item or per-participant
//! predictions of the final report.

use burn::tensor::Device;

use crate::Result;
use crate::binary::{Level, fuse_by_patient};
use crate::data::FeatureSet;
use crate::inference::predict_probabilities;
use crate::metrics::{BootstrapOptions, Metrics};
use crate::model::Cnn;

/// Metrics and mean cross-entropy of `model` on normalised features (`patients[i]` is item
/// `i`'s patient; the intervals resample patients); `None` for an empty set.
pub(super) fn evaluate_features(
    model: &Cnn,
    set: &FeatureSet,
    patients: &[String],
    classes: &[String],
    device: &Device,
    bootstrap: usize,
    seed: u64,
) -> Result<Option<(Metrics, f64)>> {
    if set.is_empty() {
        return Ok(None);
    }
    let probs = predict_probabilities(model, &set.data, set.n_bins, set.n_frames, device);
    let ce = probs
        .iter()
        .zip(&set.labels)
        .map(|(p, &l)| -(p[l].max(1e-12) as f64).ln())
        .sum::<f64>()
        / set.len() as f64;
    let m = Metrics::compute_with_patients(
        classes,
        &set.labels,
        &probs,
        patients,
        BootstrapOptions {
            resamples: bootstrap,
            seed,
        },
    )?;
    Ok(Some((m, ce)))
}

/// What early stopping and `best.bpk` maximise: the ROC-AUC of a binary task (threshold-free:
/// the threshold is chosen after training), the ICBHI score otherwise.
pub(super) fn selection_score(m: &Metrics) -> f64 {
    m.roc_auc.unwrap_or(m.score)
}

/// Truth, probabilities and patients of a split at the run's level: per item, or fused
/// per participant.
pub(super) struct Scored {
    truth: Vec<usize>,
    probabilities: Vec<Vec<f32>>,
    patients: Vec<String>,
}

impl Scored {
    /// The model's probabilities on normalised features, fused per participant at
    /// [`Level::Participant`]; `None` for an empty set.
    pub(super) fn new(
        model: &Cnn,
        set: &FeatureSet,
        patients: &[String],
        level: Level,
        device: &Device,
    ) -> Result<Option<Self>> {
        if set.is_empty() {
            return Ok(None);
        }
        let probs = predict_probabilities(model, &set.data, set.n_bins, set.n_frames, device);
        Ok(Some(match level {
            Level::Item => Self {
                truth: set.labels.clone(),
                probabilities: probs,
                patients: patients.to_vec(),
            },
            Level::Participant => {
                let f = fuse_by_patient(&set.labels, &probs, patients)?;
                Self {
                    truth: f.truth,
                    probabilities: f.probabilities,
                    patients: f.patients,
                }
            }
        }))
    }

    /// The positive class's probability and the truth, for a binary task.
    pub(super) fn binary(&self, positive: usize) -> (Vec<f64>, Vec<bool>) {
        (
            self.probabilities
                .iter()
                .map(|p| f64::from(p[positive]))
                .collect(),
            self.truth.iter().map(|&t| t == positive).collect(),
        )
    }

    /// The metrics of the split, through `threshold` on a binary task.
    pub(super) fn metrics(
        &self,
        classes: &[String],
        bootstrap: usize,
        seed: u64,
        threshold: Option<f64>,
    ) -> Result<Metrics> {
        Metrics::compute_full(
            classes,
            &self.truth,
            &self.probabilities,
            Some(&self.patients),
            BootstrapOptions {
                resamples: bootstrap,
                seed,
            },
            threshold,
        )
    }
}
