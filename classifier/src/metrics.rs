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
//! accuracy, AUROC for binary tasks and a bootstrap 95% interval of the score.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A confusion matrix: `counts[truth][prediction]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// Counts, rows = true class, columns = predicted class.
    pub counts: Vec<Vec<u64>>,
}

impl ConfusionMatrix {
    /// An all-zero matrix for `n_classes` classes.
    pub fn new(n_classes: usize) -> Self {
        Self {
            counts: vec![vec![0; n_classes]; n_classes],
        }
    }

    /// Counts `truth`/`prediction` pairs; labels must be below `n_classes`.
    pub fn from_labels(n_classes: usize, truth: &[usize], prediction: &[usize]) -> Result<Self> {
        if truth.len() != prediction.len() {
            return Err(Error::Length {
                what: "predictions for the true labels",
                expected: truth.len(),
                actual: prediction.len(),
            });
        }
        let mut cm = Self::new(n_classes);
        for (&t, &p) in truth.iter().zip(prediction) {
            for label in [t, p] {
                if label >= n_classes {
                    return Err(Error::Label { label, n_classes });
                }
            }
            cm.counts[t][p] += 1;
        }
        Ok(cm)
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.counts.len()
    }

    /// Total number of items counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Items of true class `c`.
    pub fn support(&self, c: usize) -> u64 {
        self.counts[c].iter().sum()
    }

    /// Items predicted as `c`.
    pub fn predicted(&self, c: usize) -> u64 {
        self.counts.iter().map(|row| row[c]).sum()
    }

    /// Correctly classified items of class `c`.
    pub fn hits(&self, c: usize) -> u64 {
        self.counts[c][c]
    }

    /// The ICBHI specificity, sensitivity and score with `normal` as the normal class (every
    /// other class is abnormal; an abnormal item counts as detected only when its exact class
    /// is predicted).
    pub fn icbhi(&self, normal: usize) -> IcbhiScore {
        let n = self.n_classes();
        let sp = ratio(self.hits(normal), self.support(normal));
        let abnormal = (0..n).filter(|&c| c != normal);
        let hits: u64 = abnormal.clone().map(|c| self.hits(c)).sum();
        let counts: u64 = abnormal.map(|c| self.support(c)).sum();
        let se = ratio(hits, counts);
        IcbhiScore {
            specificity: sp,
            sensitivity: se,
            score: (sp + se) / 2.0,
        }
    }

    /// Fraction of items on the diagonal.
    pub fn accuracy(&self) -> f64 {
        ratio(
            (0..self.n_classes()).map(|c| self.hits(c)).sum(),
            self.total(),
        )
    }

    /// Precision, recall and F1 of every class (0 where undefined, as scikit-learn's
    /// `zero_division=0`).
    pub fn per_class(&self, classes: &[String]) -> Vec<ClassMetrics> {
        (0..self.n_classes())
            .map(|c| {
                let precision = ratio(self.hits(c), self.predicted(c));
                let recall = ratio(self.hits(c), self.support(c));
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                ClassMetrics {
                    class: classes.get(c).cloned().unwrap_or_else(|| c.to_string()),
                    precision,
                    recall,
                    f1,
                    support: self.support(c),
                }
            })
            .collect()
    }
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// ICBHI challenge metrics, fractions in `[0, 1]` (Patch-Mix CL prints them x100).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IcbhiScore {
    /// Correct normal / all normal (0 when there is no normal item).
    pub specificity: f64,
    /// Exactly-correct abnormal / all abnormal (0 when there is no abnormal item).
    pub sensitivity: f64,
    /// `(specificity + sensitivity) / 2`.
    pub score: f64,
}

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// Class name.
    pub class: String,
    /// Correct predictions of the class / all predictions of it.
    pub precision: f64,
    /// Correct predictions of the class / all items of it.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Items of the class.
    pub support: u64,
}

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
    /// Fraction correct.
    pub accuracy: f64,
    /// Unweighted mean of the per-class F1.
    pub macro_f1: f64,
    /// Unweighted mean of the per-class recall.
    pub balanced_accuracy: f64,
    /// Area under the ROC curve of the non-normal class's probability (binary tasks only).
    pub auroc: Option<f64>,
    /// Per-class precision, recall, F1 and support.
    pub per_class: Vec<ClassMetrics>,
    /// Confusion matrix, `confusion[truth][prediction]`.
    pub confusion: Vec<Vec<u64>>,
}

/// The class treated as "normal" by the ICBHI metrics: the first class named `normal`,
/// `healthy` or `negative` (case-insensitive), else class 0 (Patch-Mix CL's convention).
pub fn normal_class(classes: &[String]) -> usize {
    classes
        .iter()
        .position(|c| {
            let c = c.to_ascii_lowercase();
            c == "normal" || c == "healthy" || c == "negative"
        })
        .unwrap_or(0)
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

/// Options of [`Metrics::compute`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootstrapOptions {
    /// Number of bootstrap resamples (0 disables the interval).
    pub resamples: usize,
    /// Seed of the resampling.
    pub seed: u64,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        Self {
            resamples: 1000,
            seed: 0,
        }
    }
}

impl Metrics {
    /// Computes every metric from true labels and per-item class probabilities
    /// (`probabilities[i].len() == classes.len()`; the prediction is the arg-max).
    pub fn compute(
        classes: &[String],
        truth: &[usize],
        probabilities: &[Vec<f32>],
        bootstrap: BootstrapOptions,
    ) -> Result<Self> {
        let n_classes = classes.len();
        if probabilities.len() != truth.len() {
            return Err(Error::Length {
                what: "probability rows for the true labels",
                expected: truth.len(),
                actual: probabilities.len(),
            });
        }
        if let Some(row) = probabilities.iter().find(|p| p.len() != n_classes) {
            return Err(Error::Length {
                what: "class probabilities per item",
                expected: n_classes,
                actual: row.len(),
            });
        }
        let prediction: Vec<usize> = probabilities.iter().map(|p| argmax(p)).collect();
        let cm = ConfusionMatrix::from_labels(n_classes, truth, &prediction)?;
        let normal = normal_class(classes);
        let icbhi = cm.icbhi(normal);
        let per_class = cm.per_class(classes);
        let k = n_classes.max(1) as f64;
        let macro_f1 = per_class.iter().map(|c| c.f1).sum::<f64>() / k;
        let balanced_accuracy = per_class.iter().map(|c| c.recall).sum::<f64>() / k;
        let auroc = if n_classes == 2 {
            let positive = 1 - normal.min(1);
            let scores: Vec<f64> = probabilities.iter().map(|p| p[positive] as f64).collect();
            let is_pos: Vec<bool> = truth.iter().map(|&t| t == positive).collect();
            auroc(&scores, &is_pos)
        } else {
            None
        };
        let score_ci95 = (bootstrap.resamples > 0 && !truth.is_empty())
            .then(|| bootstrap_score_ci(n_classes, normal, truth, &prediction, bootstrap));
        Ok(Self {
            n: truth.len() as u64,
            classes: classes.to_vec(),
            normal_class: normal,
            specificity: icbhi.specificity,
            sensitivity: icbhi.sensitivity,
            score: icbhi.score,
            score_ci95,
            accuracy: cm.accuracy(),
            macro_f1,
            balanced_accuracy,
            auroc,
            per_class,
            confusion: cm.counts,
        })
    }
}

/// Percentile bootstrap (items resampled with replacement) 95% interval of the ICBHI score.
fn bootstrap_score_ci(
    n_classes: usize,
    normal: usize,
    truth: &[usize],
    prediction: &[usize],
    opts: BootstrapOptions,
) -> [f64; 2] {
    let mut rng = auscult_experiment::seeded_rng(opts.seed, 0xB007);
    let n = truth.len();
    let mut scores = Vec::with_capacity(opts.resamples);
    for _ in 0..opts.resamples {
        let mut cm = ConfusionMatrix::new(n_classes);
        for _ in 0..n {
            let i = rng.random_range(0..n);
            cm.counts[truth[i]][prediction[i]] += 1;
        }
        scores.push(cm.icbhi(normal).score);
    }
    scores.sort_by(f64::total_cmp);
    [percentile(&scores, 0.025), percentile(&scores, 0.975)]
}

/// Linear-interpolated percentile (numpy's default) of sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Area under the ROC curve (Mann-Whitney U with average ranks for ties); `None` when either
/// class is absent.
pub fn auroc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 || scores.len() != positive.len() {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their average.
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if positive[k] {
                rank_sum_pos += avg_rank;
            }
        }
        i = j + 1;
    }
    let u = rank_sum_pos - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos as f64 * n_neg as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn one_hot(labels: &[usize], k: usize) -> Vec<Vec<f32>> {
        labels
            .iter()
            .map(|&l| (0..k).map(|c| if c == l { 1.0 } else { 0.0 }).collect())
            .collect()
    }

    #[test]
    fn icbhi_score_on_a_hand_made_matrix() {
        // rows = truth (N, C, W, B), columns = prediction.
        //        N  C  W  B
        // N     40  5  3  2   -> 50 normal, 40 correct
        // C      6 10  2  2   -> 20 crackle, 10 correct
        // W      4  1 12  3   -> 20 wheeze, 12 correct
        // B      2  3  1  4   -> 10 both, 4 correct
        // Sp = 40/50 = 0.8 ; Se = (10+12+4)/(20+20+10) = 26/50 = 0.52 ; Score = 0.66
        let counts = vec![
            vec![40, 5, 3, 2],
            vec![6, 10, 2, 2],
            vec![4, 1, 12, 3],
            vec![2, 3, 1, 4],
        ];
        let cm = ConfusionMatrix { counts };
        let s = cm.icbhi(0);
        assert!((s.specificity - 0.8).abs() < 1e-12);
        assert!((s.sensitivity - 0.52).abs() < 1e-12);
        assert!((s.score - 0.66).abs() < 1e-12);
        assert!((cm.accuracy() - 66.0 / 100.0).abs() < 1e-12);
        let pc = cm.per_class(&names(&["normal", "crackle", "wheeze", "both"]));
        // crackle: precision 10 / (5+10+1+3) = 10/19, recall 10/20.
        assert!((pc[1].precision - 10.0 / 19.0).abs() < 1e-12);
        assert!((pc[1].recall - 0.5).abs() < 1e-12);
        let f1 = 2.0 * (10.0 / 19.0) * 0.5 / (10.0 / 19.0 + 0.5);
        assert!((pc[1].f1 - f1).abs() < 1e-12);
        assert_eq!(pc[3].support, 10);
    }

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
        assert!(m.auroc.is_none());
        assert!(m.score_ci95.is_none());
    }

    #[test]
    fn empty_classes_give_zero_not_nan() {
        let cm = ConfusionMatrix::new(4);
        let s = cm.icbhi(0);
        assert_eq!((s.specificity, s.sensitivity, s.score), (0.0, 0.0, 0.0));
        assert!(cm.per_class(&[]).iter().all(|c| c.f1 == 0.0));
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
        let a = auroc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).unwrap();
        assert!((a - 0.75).abs() < 1e-12);
        // roc_auc_score([0,1,0,1], [0.5,0.5,0.2,0.9]) == 0.875
        let a = auroc(&[0.5, 0.5, 0.2, 0.9], &[false, true, false, true]).unwrap();
        assert!((a - 0.875).abs() < 1e-12);
        assert!(auroc(&[0.1, 0.2], &[true, true]).is_none());
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
        assert_eq!(m.auroc, Some(1.0));
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
}
