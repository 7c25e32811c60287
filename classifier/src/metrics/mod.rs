//! The field's metrics for respiratory-sound classification.
//!
//! ICBHI 2017 challenge metrics exactly as Patch-Mix CL's `get_score` computes them (as
//! fractions in `[0, 1]` rather than percent):
//!
//! ```python
//! sp = hits[0] / counts[0]                 # specificity: correct normal / all normal
//! se = sum(hits[1:]) / sum(counts[1:])     # sensitivity: exactly-correct abnormal / all abnormal
//! sc = (sp + se) / 2                       # ICBHI score
//! ```
//!
//! plus accuracy, macro-F1, per-class precision/recall/F1, the confusion matrix, balanced
//! accuracy, AUROC for binary tasks, bootstrap 95% intervals of Sp, Se and the score, and the
//! same metrics per group of items ([`group_metrics`]: per device, per source sample rate).
//!
//! The intervals resample patients when the items' patients are known
//! ([`Metrics::compute_with_patients`]): cycles of one patient share a recording, a device and
//! a disease, so they are not independent, and resampling cycles alone gives intervals that
//! are too narrow. Each resample draws as many patients as there are, with replacement, pools
//! all their cycles and recomputes the metrics (a cluster bootstrap). With one item per
//! patient, or without patients, it is the ordinary item bootstrap.
//!
//! Files: `confusion` (the confusion matrix, the ICBHI score, per-class metrics, the normal
//! class), `score` (every metric of one evaluation: [`Metrics`]), `group` (the same per group
//! of items), `bootstrap` (the intervals), `paired` (the score difference of two systems on
//! the same items, with a patient-bootstrap interval).

pub(crate) mod bootstrap;
pub(crate) mod confusion;
mod group;
mod paired;
mod score;

pub use bootstrap::{BootstrapOptions, BootstrapUnit};
pub use confusion::{ClassMetrics, ConfusionMatrix, IcbhiScore, normal_class};
pub use group::{GroupMetrics, group_metrics};
pub use paired::{PairedDifference, PredictionPair, paired_score_difference};
pub use score::{Metrics, argmax, predicted_classes};

#[cfg(test)]
mod test_support {
    /// Owned class names.
    pub(crate) fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// One-hot probability rows of `labels` over `k` classes.
    pub(crate) fn one_hot(labels: &[usize], k: usize) -> Vec<Vec<f32>> {
        labels
            .iter()
            .map(|&l| (0..k).map(|c| if c == l { 1.0 } else { 0.0 }).collect())
            .collect()
    }
}
