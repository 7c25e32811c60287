//! Every metric of one evaluation ([`Metrics`]): the ICBHI score with its intervals,
//! accuracy, macro-F1, balanced accuracy, the binary tasks' AUCs, and the prediction rule
//! (arg-max, or a decision threshold).

use serde::{Deserialize, Serialize};

use super::bootstrap::{BootstrapOptions, BootstrapUnit, bootstrap_icbhi, clusters};
use super::confusion::{ClassMetrics, ConfusionMatrix, normal_class};
use crate::binary::{
    SCREENING_SPECIFICITY, bootstrap_aucs, positive_class, pr_auc, roc_auc,
    sensitivity_at_specificity,
};
use crate::{Error, Result};

/// Every metric of one evaluation (what `auscult evaluate --json` prints).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Number of items evaluated.
    pub n: u64,
    /// Class names, in label order.
    pub classes: Vec<String>,
    /// Index of the class treated as "normal" by the ICBHI metrics.
    pub normal_class: usize,
    /// ICBHI specificity.
    pub specificity: f64,
    /// ICBHI sensitivity.
    pub sensitivity: f64,
    /// ICBHI score, `(Sp + Se) / 2`.
    pub score: f64,
    /// Bootstrap 95% interval of the score (percentile method), if computed.
    pub score_ci95: Option<[f64; 2]>,
    /// Bootstrap 95% interval of the specificity, if computed.
    #[serde(default)]
    pub specificity_ci95: Option<[f64; 2]>,
    /// Bootstrap 95% interval of the sensitivity, if computed.
    #[serde(default)]
    pub sensitivity_ci95: Option<[f64; 2]>,
    /// What the bootstrap resampled (patients or items); `None` when no interval was computed.
    #[serde(default)]
    pub bootstrap_unit: Option<BootstrapUnit>,
    /// Number of bootstrap resamples behind the intervals (0 when none were computed).
    #[serde(default)]
    pub bootstrap_resamples: usize,
    /// Number of distinct patients among the items, when their patients are known.
    #[serde(default)]
    pub n_patients: Option<u64>,
    /// Fraction correct.
    pub accuracy: f64,
    /// Unweighted mean of the per-class F1.
    pub macro_f1: f64,
    /// Unweighted mean of the per-class recall.
    pub balanced_accuracy: f64,
    /// Binary tasks: area under the ROC curve of the positive (non-normal) class's
    /// probability.
    #[serde(default, alias = "auroc")]
    pub roc_auc: Option<f64>,
    /// Bootstrap 95% interval of `roc_auc` (resampling as the other intervals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roc_auc_ci95: Option<[f64; 2]>,
    /// Binary tasks: area under the precision-recall curve (average precision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_auc: Option<f64>,
    /// Bootstrap 95% interval of `pr_auc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_auc_ci95: Option<[f64; 2]>,
    /// Binary tasks: the highest sensitivity of any threshold with specificity >= 0.95.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitivity_at_95_specificity: Option<f64>,
    /// Binary tasks: the probability of the positive class at or above which an item is
    /// called positive (Sp, Se, the confusion matrix use it); `None`: the most probable class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Per-class precision, recall, F1 and support.
    pub per_class: Vec<ClassMetrics>,
    /// Confusion matrix, `confusion[truth][prediction]`.
    pub confusion: Vec<Vec<u64>>,
}

/// Index of the largest value (the first one on ties); 0 for an empty slice.
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// Checks the shapes of `truth` and `probabilities` and returns the predictions (see
/// [`predicted_classes`]).
pub(super) fn predictions(
    classes: &[String],
    truth: &[usize],
    probabilities: &[Vec<f32>],
    threshold: Option<f64>,
) -> Result<Vec<usize>> {
    if probabilities.len() != truth.len() {
        return Err(Error::Length {
            what: "probability rows for the true labels",
            expected: truth.len(),
            actual: probabilities.len(),
        });
    }
    predicted_classes(classes, probabilities, threshold)
}

/// The predicted class of every row of `probabilities` (one probability per class of
/// `classes`): the arg-max, or with a `threshold` on a two-class task the positive class
/// wherever its probability reaches the threshold. The metrics score these predictions.
pub fn predicted_classes(
    classes: &[String],
    probabilities: &[Vec<f32>],
    threshold: Option<f64>,
) -> Result<Vec<usize>> {
    let n_classes = classes.len();
    if let Some(row) = probabilities.iter().find(|p| p.len() != n_classes) {
        return Err(Error::Length {
            what: "class probabilities per item",
            expected: n_classes,
            actual: row.len(),
        });
    }
    Ok(match (threshold, positive_class(classes)) {
        (Some(t), Some(pos)) => probabilities
            .iter()
            .map(|p| if f64::from(p[pos]) >= t { pos } else { 1 - pos })
            .collect(),
        _ => probabilities.iter().map(|p| argmax(p)).collect(),
    })
}

impl Metrics {
    /// Computes every metric from true labels and per-item class probabilities
    /// (`probabilities[i].len() == classes.len()`; the prediction is the arg-max). The
    /// intervals resample items; use [`Metrics::compute_with_patients`] when the items'
    /// patients are known.
    pub fn compute(
        classes: &[String],
        truth: &[usize],
        probabilities: &[Vec<f32>],
        bootstrap: BootstrapOptions,
    ) -> Result<Self> {
        Self::compute_full(classes, truth, probabilities, None, bootstrap, None)
    }

    /// As [`Metrics::compute`], with the patient of every item (`patients[i]` is item `i`'s):
    /// the intervals resample patients, each with all of its items.
    pub fn compute_with_patients(
        classes: &[String],
        truth: &[usize],
        probabilities: &[Vec<f32>],
        patients: &[String],
        bootstrap: BootstrapOptions,
    ) -> Result<Self> {
        Self::compute_full(
            classes,
            truth,
            probabilities,
            Some(patients),
            bootstrap,
            None,
        )
    }

    /// The general form: `patients` as in [`Metrics::compute_with_patients`] (or `None`), and
    /// on a two-class task an optional decision `threshold` on the positive class's
    /// probability (see [`crate::binary::DecisionRule`]) in place of the arg-max.
    pub fn compute_full(
        classes: &[String],
        truth: &[usize],
        probabilities: &[Vec<f32>],
        patients: Option<&[String]>,
        bootstrap: BootstrapOptions,
        threshold: Option<f64>,
    ) -> Result<Self> {
        let n_classes = classes.len();
        let prediction = predictions(classes, truth, probabilities, threshold)?;
        let (cluster, n_clusters) = clusters(truth.len(), patients)?;
        let cm = ConfusionMatrix::from_labels(n_classes, truth, &prediction)?;
        let normal = normal_class(classes);
        let icbhi = cm.icbhi(normal);
        let per_class = cm.per_class(classes);
        let k = n_classes.max(1) as f64;
        let macro_f1 = per_class.iter().map(|c| c.f1).sum::<f64>() / k;
        let balanced_accuracy = per_class.iter().map(|c| c.recall).sum::<f64>() / k;
        let binary = positive_class(classes).map(|pos| {
            let scores: Vec<f64> = probabilities.iter().map(|p| f64::from(p[pos])).collect();
            let is_pos: Vec<bool> = truth.iter().map(|&t| t == pos).collect();
            let cis = bootstrap_aucs(
                &scores,
                &is_pos,
                &cluster,
                n_clusters,
                bootstrap.resamples,
                bootstrap.seed,
            );
            (
                roc_auc(&scores, &is_pos),
                pr_auc(&scores, &is_pos),
                sensitivity_at_specificity(&scores, &is_pos, SCREENING_SPECIFICITY),
                cis,
            )
        });
        let (roc, pr, sens95, auc_cis) = binary.unwrap_or_default();
        let intervals = (bootstrap.resamples > 0 && !truth.is_empty())
            .then(|| bootstrap_icbhi(normal, truth, &prediction, &cluster, n_clusters, bootstrap));
        let unit = if patients.is_some() {
            BootstrapUnit::Patient
        } else {
            BootstrapUnit::Item
        };
        Ok(Self {
            n: truth.len() as u64,
            classes: classes.to_vec(),
            normal_class: normal,
            specificity: icbhi.specificity,
            sensitivity: icbhi.sensitivity,
            score: icbhi.score,
            score_ci95: intervals.map(|ci| ci.score),
            specificity_ci95: intervals.map(|ci| ci.specificity),
            sensitivity_ci95: intervals.map(|ci| ci.sensitivity),
            bootstrap_unit: intervals.map(|_| unit),
            bootstrap_resamples: if intervals.is_some() {
                bootstrap.resamples
            } else {
                0
            },
            n_patients: patients.map(|_| n_clusters as u64),
            accuracy: cm.accuracy(),
            macro_f1,
            balanced_accuracy,
            roc_auc: roc,
            roc_auc_ci95: auc_cis.map(|c| c.0),
            pr_auc: pr,
            pr_auc_ci95: auc_cis.map(|c| c.1),
            sensitivity_at_95_specificity: sens95,
            threshold: threshold.filter(|_| n_classes == 2),
            per_class,
            confusion: cm.counts,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::metrics::test_support::{names, one_hot};
    use rand::Rng;

    use super::*;
    use crate::metrics::bootstrap::percentile;

    #[test]
    fn metrics_from_labels_match_the_matrix() {
        let classes = names(&["normal", "crackle", "wheeze"]);
        let truth = [0, 0, 0, 1, 1, 2];
        let pred = [0, 1, 0, 1, 2, 2];
        let m = Metrics::compute(
            &classes,
            &truth,
            &one_hot(&pred, 3),
            BootstrapOptions {
                resamples: 0,
                seed: 0,
            },
        )
        .unwrap();
        assert_eq!(m.n, 6);
        assert_eq!(
            m.confusion,
            vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]
        );
        assert!((m.specificity - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.sensitivity - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.accuracy - 4.0 / 6.0).abs() < 1e-12);
        // F1: normal P=1 R=2/3 -> 0.8 ; crackle P=1/2 R=1/2 -> 0.5 ; wheeze P=1/2 R=1 -> 2/3
        let macro_f1 = (0.8 + 0.5 + 2.0 / 3.0) / 3.0;
        assert!((m.macro_f1 - macro_f1).abs() < 1e-12);
        assert!((m.balanced_accuracy - (2.0 / 3.0 + 0.5 + 1.0) / 3.0).abs() < 1e-12);
        assert!(m.roc_auc.is_none());
        assert!(m.score_ci95.is_none());
        assert_eq!((m.bootstrap_unit, m.bootstrap_resamples), (None, 0));
    }

    #[test]
    fn bad_labels_are_errors() {
        assert!(ConfusionMatrix::from_labels(2, &[0, 2], &[0, 0]).is_err());
        assert!(ConfusionMatrix::from_labels(2, &[0], &[0, 1]).is_err());
        let classes = names(&["a", "b"]);
        assert!(
            Metrics::compute(&classes, &[0], &[vec![1.0]], BootstrapOptions::default()).is_err()
        );
    }

    #[test]
    fn auroc_with_ties() {
        // sklearn.metrics.roc_auc_score([0,0,1,1], [0.1,0.4,0.35,0.8]) == 0.75
        let a = roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).unwrap();
        assert!((a - 0.75).abs() < 1e-12);
        // roc_auc_score([0,1,0,1], [0.5,0.5,0.2,0.9]) == 0.875
        let a = roc_auc(&[0.5, 0.5, 0.2, 0.9], &[false, true, false, true]).unwrap();
        assert!((a - 0.875).abs() < 1e-12);
        assert!(roc_auc(&[0.1, 0.2], &[true, true]).is_none());
    }

    #[test]
    fn binary_task_reports_auroc_and_normal_class_by_name() {
        let classes = names(&["positive", "healthy"]);
        assert_eq!(normal_class(&classes), 1);
        let truth = [0, 0, 1, 1];
        let probs = vec![
            vec![0.9, 0.1],
            vec![0.4, 0.6],
            vec![0.3, 0.7],
            vec![0.2, 0.8],
        ];
        let m = Metrics::compute(&classes, &truth, &probs, BootstrapOptions::default()).unwrap();
        // positive class = 0; its scores: positives 0.9, 0.4; negatives 0.3, 0.2 -> AUROC 1.
        assert_eq!(m.roc_auc, Some(1.0));
        // Sp (healthy) = 2/2, Se = 1/2
        assert!((m.score - 0.75).abs() < 1e-12);
        let [lo, hi] = m.score_ci95.unwrap();
        assert!(
            lo <= m.score && m.score <= hi && lo >= 0.0 && hi <= 1.0,
            "{lo} {hi}"
        );
    }

    #[test]
    fn bootstrap_is_seeded() {
        let classes = names(&["normal", "crackle"]);
        let truth: Vec<usize> = (0..40).map(|i| i % 2).collect();
        let pred: Vec<usize> = (0..40).map(|i| (i / 3) % 2).collect();
        let p = one_hot(&pred, 2);
        let opts = BootstrapOptions {
            resamples: 200,
            seed: 3,
        };
        let a = Metrics::compute(&classes, &truth, &p, opts).unwrap();
        let b = Metrics::compute(&classes, &truth, &p, opts).unwrap();
        assert_eq!(a.score_ci95, b.score_ci95);
        let [lo, hi] = a.score_ci95.unwrap();
        assert!(lo < a.score && a.score < hi, "{lo} {} {hi}", a.score);
    }

    /// 10 patients of 10 cycles (5 normal, 5 crackle); every cycle of patient `p0` is wrong,
    /// every other one right.
    fn one_bad_patient() -> (Vec<String>, Vec<usize>, Vec<Vec<f32>>, Vec<String>) {
        let classes = names(&["normal", "crackle"]);
        let (mut truth, mut pred, mut patients) = (Vec::new(), Vec::new(), Vec::new());
        for p in 0..10 {
            for c in 0..10 {
                let t = c % 2;
                truth.push(t);
                pred.push(if p == 0 { 1 - t } else { t });
                patients.push(format!("p{p}"));
            }
        }
        (classes, truth, one_hot(&pred, 2), patients)
    }

    #[test]
    fn patient_bootstrap_is_wider_than_the_item_one_when_errors_cluster() {
        let (classes, truth, probs, patients) = one_bad_patient();
        let opts = BootstrapOptions {
            resamples: 1000,
            seed: 7,
        };
        let item = Metrics::compute(&classes, &truth, &probs, opts).unwrap();
        let patient =
            Metrics::compute_with_patients(&classes, &truth, &probs, &patients, opts).unwrap();
        // The point estimates do not depend on the unit: 90 of 100 right in each class.
        assert_eq!(item.score, patient.score);
        assert!((patient.score - 0.9).abs() < 1e-12);
        assert_eq!(item.bootstrap_unit, Some(BootstrapUnit::Item));
        assert_eq!(patient.bootstrap_unit, Some(BootstrapUnit::Patient));
        assert_eq!((item.n_patients, patient.n_patients), (None, Some(10)));
        assert_eq!(patient.bootstrap_resamples, 1000);
        let width = |ci: Option<[f64; 2]>| ci.map(|[lo, hi]| hi - lo).unwrap();
        // Item draws: the wrong count is about Binomial(100, 0.1), sd 3 cycles. Patient
        // draws: it is 10 x Binomial(10, 0.1), sd about 9.5 cycles, three times wider.
        let (wi, wp) = (width(item.score_ci95), width(patient.score_ci95));
        assert!(wp > 2.0 * wi, "patient {wp} vs item {wi}");
        for (i, p) in [
            (item.specificity_ci95, patient.specificity_ci95),
            (item.sensitivity_ci95, patient.sensitivity_ci95),
        ] {
            assert!(width(p) > width(i), "{p:?} vs {i:?}");
        }
        for m in [&item, &patient] {
            let [lo, hi] = m.score_ci95.unwrap();
            assert!(lo <= m.score && m.score <= hi, "{lo} {} {hi}", m.score);
        }
    }

    #[test]
    fn patient_bootstrap_is_seeded_and_ignores_item_order() {
        let (classes, truth, probs, patients) = one_bad_patient();
        let opts = BootstrapOptions {
            resamples: 300,
            seed: 11,
        };
        let run = |t: &[usize], p: &[Vec<f32>], pat: &[String], o| {
            Metrics::compute_with_patients(&classes, t, p, pat, o).unwrap()
        };
        let a = run(&truth, &probs, &patients, opts);
        assert_eq!(a, run(&truth, &probs, &patients, opts));
        // Reversing the items changes nothing: patients are numbered by name.
        let rev = |v: &[usize]| v.iter().rev().copied().collect::<Vec<_>>();
        let probs_rev: Vec<Vec<f32>> = probs.iter().rev().cloned().collect();
        let patients_rev: Vec<String> = patients.iter().rev().cloned().collect();
        let b = run(&rev(&truth), &probs_rev, &patients_rev, opts);
        assert_eq!(a.score_ci95, b.score_ci95);
        assert_eq!(a.specificity_ci95, b.specificity_ci95);
    }

    #[test]
    fn one_item_per_patient_is_the_item_bootstrap() {
        let classes = names(&["normal", "crackle", "wheeze"]);
        let truth: Vec<usize> = (0..30).map(|i| i % 3).collect();
        let pred: Vec<usize> = (0..30).map(|i| (i / 4) % 3).collect();
        let probs = one_hot(&pred, 3);
        // Names that sort in item order, so patient k is item k.
        let patients: Vec<String> = (0..30).map(|i| format!("p{i:02}")).collect();
        let opts = BootstrapOptions {
            resamples: 200,
            seed: 5,
        };
        let item = Metrics::compute(&classes, &truth, &probs, opts).unwrap();
        let patient =
            Metrics::compute_with_patients(&classes, &truth, &probs, &patients, opts).unwrap();
        assert_eq!(item.score_ci95, patient.score_ci95);
        assert_eq!(item.sensitivity_ci95, patient.sensitivity_ci95);
        assert_eq!(patient.n_patients, Some(30));
        assert!(
            Metrics::compute_with_patients(&classes, &truth, &probs, &patients[1..], opts).is_err()
        );
    }

    #[test]
    fn item_bootstrap_matches_a_naive_resampler() {
        // The oracle: the confusion-matrix resampler this module used before the cluster
        // bootstrap, written out again.
        let classes = names(&["normal", "crackle", "wheeze", "both"]);
        let truth: Vec<usize> = (0..57).map(|i| (i * 7) % 4).collect();
        let pred: Vec<usize> = (0..57).map(|i| (i * 5 / 3) % 4).collect();
        let opts = BootstrapOptions {
            resamples: 100,
            seed: 9,
        };
        let mut rng = auscult_experiment::seeded_rng(opts.seed, 0xB007);
        let mut scores = Vec::new();
        for _ in 0..opts.resamples {
            let mut cm = ConfusionMatrix::new(4);
            for _ in 0..truth.len() {
                let i = rng.random_range(0..truth.len());
                cm.counts[truth[i]][pred[i]] += 1;
            }
            scores.push(cm.icbhi(0).score);
        }
        scores.sort_by(f64::total_cmp);
        let expected = [percentile(&scores, 0.025), percentile(&scores, 0.975)];
        let m = Metrics::compute(&classes, &truth, &one_hot(&pred, 4), opts).unwrap();
        assert_eq!(m.score_ci95, Some(expected));
    }
}
