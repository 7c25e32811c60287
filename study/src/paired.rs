//! Paired comparisons of arms: each arm's test predictions against arm (b)'s, item by item,
//! with a patient-bootstrap interval of the score difference (one draw of the test patients
//! shared by both arms and every seed).

use std::collections::BTreeMap;

use auscult_classifier::metrics::{
    BootstrapOptions, PairedDifference, PredictionPair, paired_score_difference,
};
use serde::{Deserialize, Serialize};

use crate::arm::Arm;
use crate::error::{Error, Result};
use crate::results::SeedResult;

/// Bootstrap resamples of the paired intervals.
pub const PAIRED_RESAMPLES: usize = 2000;

/// One arm's predictions on the test items (as `auscult evaluate --predictions` writes them):
/// item ids, their patients, true and predicted class indices.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ItemPredictions {
    /// Item ids (unique).
    pub ids: Vec<String>,
    /// Patient of each item.
    pub patients: Vec<String>,
    /// True class index of each item.
    pub truth: Vec<usize>,
    /// Predicted class index of each item.
    pub predicted: Vec<usize>,
}

impl ItemPredictions {
    /// The items sorted by id, so that two arms' predictions line up.
    pub(crate) fn sorted(&self) -> Self {
        let mut order: Vec<usize> = (0..self.ids.len()).collect();
        order.sort_by(|&i, &j| self.ids[i].cmp(&self.ids[j]));
        Self {
            ids: order.iter().map(|&i| self.ids[i].clone()).collect(),
            patients: order.iter().map(|&i| self.patients[i].clone()).collect(),
            truth: order.iter().map(|&i| self.truth[i]).collect(),
            predicted: order.iter().map(|&i| self.predicted[i]).collect(),
        }
    }
}

/// One arm against a baseline arm over the seeds both ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedComparison {
    /// The arm measured.
    pub arm: Arm,
    /// The arm it is measured against.
    pub baseline: Arm,
    /// The seeds compared (those with both arms' predictions).
    pub seeds: Vec<u64>,
    /// Score of `arm` minus score of `baseline`: per seed and their mean, with
    /// patient-bootstrap 95% intervals.
    pub score: PairedDifference,
    /// Recall of `arm` minus recall of `baseline` per class, mean over the seeds (fractions).
    pub recall_difference: Vec<(String, f64)>,
}

/// The comparisons a study reports: arms (c), (e) and (d) against (b), each over the seeds
/// where both arms left predictions. `classes` names the class indices and `normal` is the
/// normal class's index. Errors when two arms of a seed were scored on different items.
pub fn paired_comparisons(
    per_seed: &[SeedResult],
    classes: &[String],
    normal: usize,
    seed: u64,
) -> Result<Vec<PairedComparison>> {
    let baseline = Arm::MixupSupcon;
    let mut out = Vec::new();
    for arm in [Arm::Augmented, Arm::Gated, Arm::Oversample] {
        let mut seeds = Vec::new();
        let mut sides: Vec<(ItemPredictions, ItemPredictions)> = Vec::new();
        for r in per_seed {
            let (Some(a), Some(b)) = (r.predictions.get(&arm), r.predictions.get(&baseline)) else {
                continue;
            };
            let (a, b) = (a.sorted(), b.sorted());
            if a.ids != b.ids || a.truth != b.truth {
                return Err(Error::Mismatch(format!(
                    "seed {}: arms ({}) and ({}) were scored on different test items",
                    r.seed,
                    arm.letter(),
                    baseline.letter()
                )));
            }
            if let Some((first, _)) = sides.first()
                && (first.ids != a.ids || first.truth != a.truth)
            {
                return Err(Error::Mismatch(format!(
                    "seed {}: the test items differ from seed {}'s",
                    r.seed, seeds[0]
                )));
            }
            seeds.push(r.seed);
            sides.push((a, b));
        }
        let Some((first, _)) = sides.first() else {
            continue;
        };
        let pairs: Vec<PredictionPair<'_>> = sides
            .iter()
            .map(|(a, b)| PredictionPair {
                a: &a.predicted,
                b: &b.predicted,
            })
            .collect();
        let score = paired_score_difference(
            normal,
            &first.truth,
            &pairs,
            &first.patients,
            BootstrapOptions {
                resamples: PAIRED_RESAMPLES,
                seed,
            },
        )
        .map_err(|e| Error::Mismatch(e.to_string()))?;
        // Recall differences from the arms' own evaluations of the same seeds.
        let evaluated: Vec<&SeedResult> = per_seed
            .iter()
            .filter(|r| seeds.contains(&r.seed))
            .collect();
        let recall_difference = classes
            .iter()
            .enumerate()
            .map(|(c, name)| {
                let recall = |r: &SeedResult, arm: Arm| {
                    r.arms
                        .get(&arm)
                        .and_then(|e| e.metrics.per_class.get(c))
                        .map_or(0.0, |m| m.recall)
                };
                let total: f64 = evaluated
                    .iter()
                    .map(|r| recall(r, arm) - recall(r, baseline))
                    .sum();
                (name.clone(), total / evaluated.len() as f64)
            })
            .collect();
        out.push(PairedComparison {
            arm,
            baseline,
            seeds,
            score,
            recall_difference,
        });
    }
    Ok(out)
}

/// The comparison of `arm` in `paired`, if any.
pub fn comparison_of(paired: &[PairedComparison], arm: Arm) -> Option<&PairedComparison> {
    paired.iter().find(|p| p.arm == arm)
}

/// Predictions keyed by arm, as a seed result holds them.
pub type ArmPredictions = BTreeMap<Arm, ItemPredictions>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{evaluation, seed_result};

    fn predictions(ids: &[&str], truth: &[usize], predicted: &[usize]) -> ItemPredictions {
        ItemPredictions {
            ids: ids.iter().map(|s| s.to_string()).collect(),
            patients: ids.iter().map(|s| s[..1].to_string()).collect(),
            truth: truth.to_vec(),
            predicted: predicted.to_vec(),
        }
    }

    fn classes() -> Vec<String> {
        ["normal", "crackle"].map(String::from).to_vec()
    }

    #[test]
    fn arms_are_paired_by_item_id_over_the_seeds() {
        let ids = ["a1", "a2", "b1", "b2", "c1"];
        let truth = [0, 1, 0, 1, 1];
        let mut results = Vec::new();
        for seed in 0..2 {
            let mut r = seed_result(
                seed,
                &[
                    (Arm::MixupSupcon, evaluation(1.0, 0.0, 0.5, &[1.0, 0.0])),
                    (Arm::Augmented, evaluation(1.0, 1.0, 0.5, &[1.0, 1.0])),
                ],
            );
            // (b) calls everything normal; (c) is perfect, its rows given in another order.
            r.predictions
                .insert(Arm::MixupSupcon, predictions(&ids, &truth, &[0; 5]));
            let rev_ids: Vec<&str> = ids.iter().rev().copied().collect();
            let rev_truth: Vec<usize> = truth.iter().rev().copied().collect();
            r.predictions.insert(
                Arm::Augmented,
                predictions(&rev_ids, &rev_truth, &rev_truth),
            );
            results.push(r);
        }
        let paired = paired_comparisons(&results, &classes(), 0, 0).unwrap();
        assert_eq!(paired.len(), 1, "only (c) has predictions beside (b)");
        let c = &paired[0];
        assert_eq!((c.arm, c.baseline), (Arm::Augmented, Arm::MixupSupcon));
        assert_eq!(c.seeds, [0, 1]);
        assert!((c.score.difference - 0.5).abs() < 1e-12);
        assert_eq!(c.score.n_patients, 3);
        assert_eq!(
            c.recall_difference,
            [("normal".into(), 0.0), ("crackle".into(), 1.0)]
        );
        assert!(comparison_of(&paired, Arm::Gated).is_none());
    }

    #[test]
    fn different_test_items_are_an_error() {
        let mut r = seed_result(0, &[]);
        r.predictions.insert(
            Arm::MixupSupcon,
            predictions(&["a1", "b1"], &[0, 1], &[0, 0]),
        );
        r.predictions
            .insert(Arm::Augmented, predictions(&["a1", "c1"], &[0, 1], &[0, 1]));
        let err = paired_comparisons(&[r], &classes(), 0, 0).unwrap_err();
        assert!(err.to_string().contains("different test items"), "{err}");
    }
}
