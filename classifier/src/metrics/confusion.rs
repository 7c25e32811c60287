//! The confusion matrix and what it gives: the ICBHI specificity, sensitivity and score,
//! accuracy, per-class precision, recall and F1; and the class the ICBHI metrics treat as
//! normal.

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

/// `num / den`, 0 when `den` is 0.
pub(super) fn ratio(num: u64, den: u64) -> f64 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::test_support::names;

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
    fn empty_classes_give_zero_not_nan() {
        let cm = ConfusionMatrix::new(4);
        let s = cm.icbhi(0);
        assert_eq!((s.specificity, s.sensitivity, s.score), (0.0, 0.0, 0.0));
        assert!(cm.per_class(&[]).iter().all(|c| c.f1 == 0.0));
    }
}
