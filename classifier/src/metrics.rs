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

use std::collections::BTreeMap;
use std::fmt::Display;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::binary::{
    SCREENING_SPECIFICITY, bootstrap_aucs, positive_class, pr_auc, roc_auc,
    sensitivity_at_specificity,
};
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

/// The unit a bootstrap draws with replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BootstrapUnit {
    /// Items (cycles), as if every item were independent.
    Item,
    /// Patients, each bringing all of its items (a cluster bootstrap).
    Patient,
}

impl BootstrapUnit {
    /// The unit's name in the plural, for reports (`patients`, `items`).
    pub fn plural(self) -> &'static str {
        match self {
            Self::Item => "items",
            Self::Patient => "patients",
        }
    }
}

/// Checks the shapes of `truth` and `probabilities` and returns the predictions: the arg-max,
/// or with a `threshold` on a two-class task the positive class wherever its probability
/// reaches the threshold.
fn predictions(
    classes: &[String],
    truth: &[usize],
    probabilities: &[Vec<f32>],
    threshold: Option<f64>,
) -> Result<Vec<usize>> {
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
    Ok(match (threshold, positive_class(classes)) {
        (Some(t), Some(pos)) => probabilities
            .iter()
            .map(|p| if f64::from(p[pos]) >= t { pos } else { 1 - pos })
            .collect(),
        _ => probabilities.iter().map(|p| argmax(p)).collect(),
    })
}

/// The cluster (patient) index of every item, patients numbered in sorted-name order so that
/// the bootstrap does not depend on the order of the items; `None` gives every item its own
/// cluster. Returns the indices and the number of clusters.
fn clusters(n_items: usize, patients: Option<&[String]>) -> Result<(Vec<usize>, usize)> {
    let Some(patients) = patients else {
        return Ok(((0..n_items).collect(), n_items));
    };
    if patients.len() != n_items {
        return Err(Error::Length {
            what: "patients for the true labels",
            expected: n_items,
            actual: patients.len(),
        });
    }
    let mut index: BTreeMap<&str, usize> = patients.iter().map(|p| (p.as_str(), 0)).collect();
    for (i, v) in index.values_mut().enumerate() {
        *v = i;
    }
    let k = index.len();
    Ok((patients.iter().map(|p| index[p.as_str()]).collect(), k))
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

/// The metrics of the items sharing one value of a grouping key: one recording device, one
/// source sample rate (what `auscult evaluate` reports as `by_device` and `by_sample_rate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupMetrics {
    /// The key's value (a device code such as `Litt3200`, a rate in Hz such as `4000`, or
    /// `unknown`).
    pub group: String,
    /// Number of items in the group.
    pub n: u64,
    /// Number of distinct patients in the group, when known.
    pub n_patients: Option<u64>,
    /// ICBHI specificity of the group.
    pub specificity: f64,
    /// ICBHI sensitivity of the group.
    pub sensitivity: f64,
    /// ICBHI score of the group.
    pub score: f64,
    /// Bootstrap 95% interval of the group's score (resampling as [`Metrics::bootstrap_unit`]
    /// says, within the group), if computed.
    pub score_ci95: Option<[f64; 2]>,
    /// Per-class precision, recall, F1 and support within the group.
    pub per_class: Vec<ClassMetrics>,
    /// Confusion matrix of the group, `confusion[truth][prediction]`.
    pub confusion: Vec<Vec<u64>>,
}

/// The metrics of each group of items, items grouped by `keys[i]` (item `i`'s key), groups in
/// key order. `patients`, when given, makes each group's interval resample patients, as
/// [`Metrics::compute_with_patients`] does; the arguments are otherwise those of
/// [`Metrics::compute`].
pub fn group_metrics<K: Ord + Display>(
    classes: &[String],
    truth: &[usize],
    probabilities: &[Vec<f32>],
    keys: &[K],
    patients: Option<&[String]>,
    bootstrap: BootstrapOptions,
    threshold: Option<f64>,
) -> Result<Vec<GroupMetrics>> {
    predictions(classes, truth, probabilities, threshold)?;
    for (what, len) in [
        ("group keys for the true labels", keys.len()),
        (
            "patients for the true labels",
            patients.map_or(truth.len(), <[String]>::len),
        ),
    ] {
        if len != truth.len() {
            return Err(Error::Length {
                what,
                expected: truth.len(),
                actual: len,
            });
        }
    }
    let mut groups: BTreeMap<&K, Vec<usize>> = BTreeMap::new();
    for (i, k) in keys.iter().enumerate() {
        groups.entry(k).or_default().push(i);
    }
    groups
        .into_iter()
        .map(|(key, items)| {
            let truth: Vec<usize> = items.iter().map(|&i| truth[i]).collect();
            let probs: Vec<Vec<f32>> = items.iter().map(|&i| probabilities[i].clone()).collect();
            let patients: Option<Vec<String>> =
                patients.map(|p| items.iter().map(|&i| p[i].clone()).collect());
            let m = Metrics::compute_full(
                classes,
                &truth,
                &probs,
                patients.as_deref(),
                bootstrap,
                threshold,
            )?;
            Ok(GroupMetrics {
                group: key.to_string(),
                n: m.n,
                n_patients: m.n_patients,
                specificity: m.specificity,
                sensitivity: m.sensitivity,
                score: m.score,
                score_ci95: m.score_ci95,
                per_class: m.per_class,
                confusion: m.confusion,
            })
        })
        .collect()
}

/// Bootstrap 95% intervals (percentile method) of the ICBHI metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
struct IcbhiIntervals {
    specificity: [f64; 2],
    sensitivity: [f64; 2],
    score: [f64; 2],
}

/// Percentile bootstrap of Sp, Se and the score: each resample draws `n_clusters` clusters
/// with replacement (item `i` belongs to `cluster[i]`) and pools all their items. With one
/// item per cluster this is the item bootstrap, draw for draw.
fn bootstrap_icbhi(
    normal: usize,
    truth: &[usize],
    prediction: &[usize],
    cluster: &[usize],
    n_clusters: usize,
    opts: BootstrapOptions,
) -> IcbhiIntervals {
    // The ICBHI metrics only need four counts per cluster: normal items and the correct ones,
    // abnormal items and the exactly correct ones.
    let mut counts = vec![[0u64; 4]; n_clusters];
    for ((&t, &p), &c) in truth.iter().zip(prediction).zip(cluster) {
        let base = if t == normal { 0 } else { 2 };
        counts[c][base] += 1;
        counts[c][base + 1] += u64::from(t == p);
    }
    let mut rng = auscult_experiment::seeded_rng(opts.seed, 0xB007);
    let mut sp = Vec::with_capacity(opts.resamples);
    let mut se = Vec::with_capacity(opts.resamples);
    let mut sc = Vec::with_capacity(opts.resamples);
    for _ in 0..opts.resamples {
        let mut sum = [0u64; 4];
        for _ in 0..n_clusters {
            let c = &counts[rng.random_range(0..n_clusters)];
            for (s, v) in sum.iter_mut().zip(c) {
                *s += v;
            }
        }
        let (specificity, sensitivity) = (ratio(sum[1], sum[0]), ratio(sum[3], sum[2]));
        sp.push(specificity);
        se.push(sensitivity);
        sc.push((specificity + sensitivity) / 2.0);
    }
    let interval = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        [percentile(&v, 0.025), percentile(&v, 0.975)]
    };
    IcbhiIntervals {
        specificity: interval(sp),
        sensitivity: interval(se),
        score: interval(sc),
    }
}

/// Linear-interpolated percentile (numpy's default) of sorted values.
pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
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
        assert!(m.roc_auc.is_none());
        assert!(m.score_ci95.is_none());
        assert_eq!((m.bootstrap_unit, m.bootstrap_resamples), (None, 0));
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

    #[test]
    fn group_metrics_on_a_hand_made_case() {
        let classes = names(&["normal", "crackle", "wheeze"]);
        // item: device, rate, truth, prediction, patient
        let items = [
            ("Litt3200", 4000u32, 0, 0, "a"),
            ("Litt3200", 4000, 0, 1, "a"),
            ("Litt3200", 4000, 1, 1, "a"),
            ("Meditron", 44100, 0, 0, "b"),
            ("Meditron", 44100, 2, 0, "b"),
            ("Meditron", 4000, 2, 2, "c"),
            ("AKGC417L", 44100, 1, 1, "d"),
        ];
        let devices: Vec<String> = items.iter().map(|i| i.0.to_string()).collect();
        let rates: Vec<u32> = items.iter().map(|i| i.1).collect();
        let truth: Vec<usize> = items.iter().map(|i| i.2).collect();
        let probs = one_hot(&items.iter().map(|i| i.3).collect::<Vec<_>>(), 3);
        let patients: Vec<String> = items.iter().map(|i| i.4.to_string()).collect();
        let opts = BootstrapOptions {
            resamples: 50,
            seed: 1,
        };
        let g = group_metrics(
            &classes,
            &truth,
            &probs,
            &devices,
            Some(&patients),
            opts,
            None,
        )
        .unwrap();
        let got: Vec<(&str, u64, Option<u64>)> = g
            .iter()
            .map(|m| (m.group.as_str(), m.n, m.n_patients))
            .collect();
        assert_eq!(
            got,
            [
                ("AKGC417L", 1, Some(1)),
                ("Litt3200", 3, Some(1)),
                ("Meditron", 3, Some(2))
            ]
        );
        // AKGC417L: no normal item -> Sp 0; Se 1/1.
        assert_eq!(
            (g[0].specificity, g[0].sensitivity, g[0].score),
            (0.0, 1.0, 0.5)
        );
        // Litt3200: Sp 1/2, Se 1/1; recall normal 1/2, crackle 1, wheeze 0 (no support).
        assert_eq!(
            (g[1].specificity, g[1].sensitivity, g[1].score),
            (0.5, 1.0, 0.75)
        );
        let recall: Vec<f64> = g[1].per_class.iter().map(|c| c.recall).collect();
        assert_eq!(recall, [0.5, 1.0, 0.0]);
        assert_eq!(
            g[1].confusion,
            vec![vec![1, 1, 0], vec![0, 1, 0], vec![0, 0, 0]]
        );
        // Meditron: Sp 1/1, Se 1/2; wheeze recall 1/2.
        assert_eq!(
            (g[2].specificity, g[2].sensitivity, g[2].score),
            (1.0, 0.5, 0.75)
        );
        assert_eq!(g[2].per_class[2].recall, 0.5);
        assert!(g.iter().all(|m| m.score_ci95.is_some()));

        // Rates sort as numbers (4000 before 44100); without patients, no patient count.
        let g = group_metrics(&classes, &truth, &probs, &rates, None, opts, None).unwrap();
        let got: Vec<(&str, u64, Option<u64>)> = g
            .iter()
            .map(|m| (m.group.as_str(), m.n, m.n_patients))
            .collect();
        assert_eq!(got, [("4000", 4, None), ("44100", 3, None)]);
        // 4000: normal 1/2 right, abnormal 2/2 -> 0.75 ; 44100: 1/1, 1/2 -> 0.75.
        assert_eq!((g[0].specificity, g[0].sensitivity), (0.5, 1.0));
        assert_eq!((g[1].specificity, g[1].sensitivity), (1.0, 0.5));

        assert!(group_metrics(&classes, &truth, &probs, &rates[1..], None, opts, None).is_err());
        assert!(
            group_metrics(
                &classes,
                &truth,
                &probs,
                &rates,
                Some(&patients[1..]),
                opts,
                None
            )
            .is_err()
        );
    }
}
