//! Binary screening tasks (Coswara's COVID-19 status, a symptom): the threshold-free measures
//! their literature reports (ROC-AUC, PR-AUC, sensitivity at 95% specificity), the ROC
//! curve, a decision threshold chosen on validation data, and the fusion of a participant's
//! recordings into one prediction.
//!
//! Scores are the probability of the positive class; an item is called positive when its
//! score is at least the threshold.

use std::collections::BTreeMap;
use std::path::Path;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::metrics::bootstrap::percentile;
use crate::metrics::confusion::normal_class;
use crate::{Error, Result};

/// Specificity at which [`sensitivity_at_specificity`] is reported by the evaluations.
pub const SCREENING_SPECIFICITY: f64 = 0.95;

/// The positive class of a two-class task: the one that is not the normal class
/// ([`normal_class`]: `healthy`, `normal`, `negative`, else class 0). `None` unless there are
/// exactly two classes.
pub fn positive_class(classes: &[String]) -> Option<usize> {
    (classes.len() == 2).then(|| 1 - normal_class(classes).min(1))
}

/// Area under the ROC curve (Mann-Whitney U with average ranks for ties); `None` when either
/// class is absent or the lengths differ.
pub fn roc_auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
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

/// One operating point of the ROC curve: calling positive every score `>= threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RocPoint {
    /// The threshold (`+inf` for the first point, where nothing is called positive).
    pub threshold: f64,
    /// False-positive rate, 1 - specificity.
    pub fpr: f64,
    /// True-positive rate, the sensitivity.
    pub tpr: f64,
}

/// The ROC curve: one point per distinct score, from (0, 0) at threshold `+inf` to (1, 1),
/// as scikit-learn's `roc_curve(drop_intermediate=False)`; empty when either class is absent.
pub fn roc_curve(scores: &[f64], positive: &[bool]) -> Vec<RocPoint> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 || scores.len() != positive.len() {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut out = vec![RocPoint {
        threshold: f64::INFINITY,
        fpr: 0.0,
        tpr: 0.0,
    }];
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut i = 0;
    while i < order.len() {
        let t = scores[order[i]];
        while i < order.len() && scores[order[i]] == t {
            if positive[order[i]] {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        out.push(RocPoint {
            threshold: t,
            fpr: fp as f64 / n_neg as f64,
            tpr: tp as f64 / n_pos as f64,
        });
    }
    out
}

/// Area under the precision-recall curve as average precision (scikit-learn's
/// `average_precision_score`): `sum_n (R_n - R_{n-1}) P_n` over the distinct thresholds;
/// `None` when either class is absent.
pub fn pr_auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    if n_pos == 0 || n_pos == positive.len() || scores.len() != positive.len() {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut called, mut recall_before, mut ap) = (0usize, 0usize, 0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let t = scores[order[i]];
        while i < order.len() && scores[order[i]] == t {
            tp += usize::from(positive[order[i]]);
            called += 1;
            i += 1;
        }
        let recall = tp as f64 / n_pos as f64;
        let precision = tp as f64 / called as f64;
        ap += (recall - recall_before) * precision;
        recall_before = recall;
    }
    Some(ap)
}

/// The highest sensitivity of any threshold whose specificity is at least `specificity`;
/// `None` when either class is absent.
pub fn sensitivity_at_specificity(
    scores: &[f64],
    positive: &[bool],
    specificity: f64,
) -> Option<f64> {
    let curve = roc_curve(scores, positive);
    curve
        .iter()
        .filter(|p| 1.0 - p.fpr >= specificity - 1e-12)
        .map(|p| p.tpr)
        .reduce(f64::max)
}

/// The threshold of highest `(specificity + sensitivity) / 2` (Youden's J; the ICBHI score of a
/// binary task), halfway between the two distinct scores it falls between so that it
/// separates them with a margin; ties go to the higher threshold (fewer positives). `None`
/// when either class is absent.
pub fn youden_threshold(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let curve = roc_curve(scores, positive);
    let mut best: Option<(f64, usize)> = None;
    for (i, p) in curve.iter().enumerate().skip(1) {
        let j = (1.0 - p.fpr + p.tpr) / 2.0;
        if best.is_none_or(|(b, _)| j > b + 1e-12) {
            best = Some((j, i));
        }
    }
    let (_, i) = best?;
    let here = curve[i].threshold;
    // The next lower distinct score, if any: the threshold sits halfway to it.
    Some(match curve.get(i + 1) {
        Some(next) => (here + next.threshold) / 2.0,
        None => here,
    })
}

/// How a binary model turns the positive class's probability into a decision, chosen on
/// validation data at the end of training (`decision.json` in the run directory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRule {
    /// The class called when the probability reaches the threshold.
    pub positive_class: String,
    /// Call the positive class when its probability is at least this.
    pub threshold: f64,
    /// How the threshold was chosen: `youden` (highest (Sp + Se) / 2 on the validation
    /// examples) or `default` (0.5, when there was no validation set with both classes).
    pub criterion: String,
    /// Examples (or participants) the threshold was chosen on.
    pub n: usize,
    /// Whether it was chosen on participants (fused predictions) or on single recordings.
    pub level: Level,
}

impl DecisionRule {
    /// The rule of a binary task chosen on `scores` (the positive class's probability) and
    /// `positive` (the truth): Youden's threshold, or 0.5 when either class is absent.
    pub fn choose(positive_class: &str, scores: &[f64], positive: &[bool], level: Level) -> Self {
        let (threshold, criterion) = match youden_threshold(scores, positive) {
            Some(t) => (t, "youden"),
            None => (0.5, "default"),
        };
        Self {
            positive_class: positive_class.to_string(),
            threshold,
            criterion: criterion.into(),
            n: scores.len(),
            level,
        }
    }
}

/// The unit at which predictions are made and scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Every example (a respiratory cycle, a sound file) on its own.
    #[default]
    Item,
    /// Every participant (patient): the mean of the class probabilities of all of its
    /// examples, as the Coswara systems decide.
    Participant,
}

impl Level {
    /// `item` or `participant`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Item => "item",
            Self::Participant => "participant",
        }
    }
}

impl std::str::FromStr for Level {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "item" | "file" | "cycle" | "recording" => Ok(Self::Item),
            "participant" | "patient" => Ok(Self::Participant),
            _ => Err(format!(
                "unknown level `{s}`: expected item (each file or cycle) or participant"
            )),
        }
    }
}

/// Predictions fused per participant.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused {
    /// Participant ids, sorted.
    pub patients: Vec<String>,
    /// Each participant's label.
    pub truth: Vec<usize>,
    /// Each participant's mean class probabilities over its examples.
    pub probabilities: Vec<Vec<f32>>,
    /// How many examples each participant had.
    pub counts: Vec<usize>,
}

/// Fuses item predictions per participant: the mean of the items' class probabilities.
///
/// # Errors
/// When the lengths differ, or a participant's items carry different labels (fusion needs one
/// label per participant, as Coswara's; ICBHI's cycles are scored per cycle).
pub fn fuse_by_patient(
    truth: &[usize],
    probabilities: &[Vec<f32>],
    patients: &[String],
) -> Result<Fused> {
    for (what, len) in [
        ("probability rows for the true labels", probabilities.len()),
        ("patients for the true labels", patients.len()),
    ] {
        if len != truth.len() {
            return Err(Error::Length {
                what,
                expected: truth.len(),
                actual: len,
            });
        }
    }
    average_rows(
        patients
            .iter()
            .zip(truth)
            .zip(probabilities)
            .map(|((id, &t), p)| (id.as_str(), t, p.as_slice(), 1)),
        |id, a, b| {
            format!(
                "participant {id} has examples of two classes ({a} and {b}): participant-level \
                 fusion needs one label per participant (use --level item)"
            )
        },
    )
}

/// Averages the probability rows sharing an id (ids sorted in the result), summing their
/// counts; `conflict(id, a, b)` words the error when an id carries two labels.
pub(crate) fn average_rows<'a>(
    rows: impl Iterator<Item = (&'a str, usize, &'a [f32], usize)>,
    conflict: impl Fn(&str, usize, usize) -> String,
) -> Result<Fused> {
    // id -> (label, sum of rows, rows, count)
    let mut groups: BTreeMap<&str, (usize, Vec<f64>, usize, usize)> = BTreeMap::new();
    for (id, t, p, n) in rows {
        let entry = groups
            .entry(id)
            .or_insert_with(|| (t, vec![0.0; p.len()], 0, 0));
        if entry.0 != t {
            return Err(Error::data(conflict(id, entry.0, t)));
        }
        if entry.1.len() != p.len() {
            return Err(Error::Length {
                what: "class probabilities per item",
                expected: entry.1.len(),
                actual: p.len(),
            });
        }
        for (s, v) in entry.1.iter_mut().zip(p) {
            *s += f64::from(*v);
        }
        entry.2 += 1;
        entry.3 += n;
    }
    let mut out = Fused {
        patients: Vec::with_capacity(groups.len()),
        truth: Vec::with_capacity(groups.len()),
        probabilities: Vec::with_capacity(groups.len()),
        counts: Vec::with_capacity(groups.len()),
    };
    for (id, (t, sum, rows, n)) in groups {
        out.patients.push(id.to_string());
        out.truth.push(t);
        out.probabilities
            .push(sum.iter().map(|s| (s / rows as f64) as f32).collect());
        out.counts.push(n);
    }
    Ok(out)
}

/// Draws the ROC curve of a binary task's scores (the positive class's probability) and the
/// chance diagonal as a PNG; nothing when either class is absent.
pub fn roc_png(path: &Path, title: &str, scores: &[f64], positive: &[bool]) -> Result<()> {
    let curve = roc_curve(scores, positive);
    if curve.is_empty() {
        return Ok(());
    }
    let series = vec![
        auscult_plot::Series {
            name: "model".into(),
            points: curve.iter().map(|p| (p.fpr, p.tpr)).collect(),
        },
        auscult_plot::Series {
            name: "chance".into(),
            points: vec![(0.0, 0.0), (1.0, 1.0)],
        },
    ];
    let panel = auscult_plot::Panel {
        title: "ROC".into(),
        x_label: "false-positive rate (1 - specificity)".into(),
        y_label: "true-positive rate (sensitivity)".into(),
        series,
    };
    auscult_plot::curves_png(path, title, &[panel]).map_err(|e| Error::Plot {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Percentile-bootstrap 95% intervals of ROC-AUC and PR-AUC, resampling clusters (item `i`
/// belongs to `cluster[i]`) with replacement; resamples missing a class are skipped.
pub(crate) fn bootstrap_aucs(
    scores: &[f64],
    positive: &[bool],
    cluster: &[usize],
    n_clusters: usize,
    resamples: usize,
    seed: u64,
) -> Option<([f64; 2], [f64; 2])> {
    if resamples == 0 || n_clusters == 0 {
        return None;
    }
    let mut members = vec![Vec::new(); n_clusters];
    for (i, &c) in cluster.iter().enumerate() {
        members[c].push(i);
    }
    let mut rng = auscult_experiment::seeded_rng(seed, 0xA0C);
    let (mut roc, mut pr) = (Vec::new(), Vec::new());
    let (mut s, mut p) = (Vec::new(), Vec::new());
    for _ in 0..resamples {
        s.clear();
        p.clear();
        for _ in 0..n_clusters {
            for &i in &members[rng.random_range(0..n_clusters)] {
                s.push(scores[i]);
                p.push(positive[i]);
            }
        }
        if let (Some(a), Some(b)) = (roc_auc(&s, &p), pr_auc(&s, &p)) {
            roc.push(a);
            pr.push(b);
        }
    }
    if roc.is_empty() {
        return None;
    }
    let interval = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        [percentile(&v, 0.025), percentile(&v, 0.975)]
    };
    Some((interval(roc), interval(pr)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn aucs_of_a_hand_computed_case() {
        // Scores with their truth, highest first: 0.9 P, 0.8 N, 0.7 P, 0.6 P, 0.5 N, 0.4 N.
        let scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
        let pos = [true, false, true, true, false, false];
        // Pairs (positive, negative) ranked right: 0.9 beats 3 negatives, 0.7 and 0.6 beat 2
        // each: 7 of 9.
        assert!(close(roc_auc(&scores, &pos).unwrap(), 7.0 / 9.0));
        // Average precision: recall steps at 0.9 (P 1/1), 0.7 (P 2/3), 0.6 (P 3/4), each 1/3.
        let ap = (1.0 + 2.0 / 3.0 + 3.0 / 4.0) / 3.0;
        assert!(close(pr_auc(&scores, &pos).unwrap(), ap));
        // Specificity >= 2/3 allows calling 0.8 positive at most (fpr 1/3): the best
        // sensitivity there is at threshold 0.6, 3/3.
        assert!(close(
            sensitivity_at_specificity(&scores, &pos, 2.0 / 3.0).unwrap(),
            1.0
        ));
        // Specificity 1 only allows threshold 0.9: sensitivity 1/3.
        assert!(close(
            sensitivity_at_specificity(&scores, &pos, 1.0).unwrap(),
            1.0 / 3.0
        ));
        // Youden: threshold 0.6 gives Sp 2/3, Se 1 (J = 5/6, the best); halfway to 0.5.
        assert!(close(youden_threshold(&scores, &pos).unwrap(), 0.55));
        let curve = roc_curve(&scores, &pos);
        assert_eq!(curve.len(), 7);
        assert_eq!((curve[0].fpr, curve[0].tpr), (0.0, 0.0));
        assert_eq!((curve[6].fpr, curve[6].tpr), (1.0, 1.0));
    }

    #[test]
    fn ties_and_missing_classes() {
        // A tie between a positive and a negative counts half.
        assert!(close(
            roc_auc(&[0.5, 0.5, 0.2, 0.9], &[false, true, false, true]).unwrap(),
            0.875
        ));
        // Tied scores form one step of the PR curve: at 0.5 both items are called, P = 1/2.
        assert!(close(pr_auc(&[0.5, 0.5], &[true, false]).unwrap(), 0.5));
        assert!(roc_auc(&[0.1, 0.2], &[true, true]).is_none());
        assert!(pr_auc(&[0.1, 0.2], &[false, false]).is_none());
        assert!(youden_threshold(&[0.1], &[true]).is_none());
        let rule = DecisionRule::choose("positive", &[0.3], &[true], Level::Item);
        assert_eq!((rule.threshold, rule.criterion.as_str()), (0.5, "default"));
    }

    #[test]
    fn fusion_averages_each_participant() {
        let truth = [1, 0, 1, 0];
        let probs = vec![
            vec![0.2, 0.8],
            vec![0.9, 0.1],
            vec![0.6, 0.4],
            vec![0.7, 0.3],
        ];
        let patients: Vec<String> = ["b", "a", "b", "a"].map(String::from).to_vec();
        let f = fuse_by_patient(&truth, &probs, &patients).unwrap();
        assert_eq!(f.patients, ["a", "b"]);
        assert_eq!(f.truth, [0, 1]);
        assert_eq!(f.counts, [2, 2]);
        assert!((f.probabilities[0][1] - 0.2).abs() < 1e-6);
        assert!((f.probabilities[1][1] - 0.6).abs() < 1e-6);
        // Two labels within one participant cannot be fused.
        let e = fuse_by_patient(&[1, 0], &probs[..2], &["x".into(), "x".into()]).unwrap_err();
        assert!(e.to_string().contains("participant x"), "{e}");
    }

    #[test]
    fn positive_class_is_the_abnormal_one() {
        let c = |v: [&str; 2]| v.map(String::from).to_vec();
        assert_eq!(positive_class(&c(["healthy", "positive"])), Some(1));
        assert_eq!(positive_class(&c(["covid", "healthy"])), Some(0));
        assert_eq!(positive_class(&c(["no-asthma", "asthma"])), Some(1));
        assert_eq!(positive_class(&["a".into(), "b".into(), "c".into()]), None);
    }
}
