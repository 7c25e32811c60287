//! Pooling the held-out folds of a cross-validated study.
//!
//! `auscult study --split cv:K:I` trains every arm on the other folds of the training patients
//! and evaluates it on fold I. The K folds' held-out patients are disjoint, so their
//! predictions together cover every training patient once: pooled, they score each arm on all
//! of them, which is how generation settings are chosen without the official test split. A
//! *setting* is one such set of fold studies (e.g. the defaults, or `--augment-ratio 0.5`);
//! several settings pooled together are compared on the same items, with the same patient
//! draws for every interval.

use std::collections::{BTreeMap, BTreeSet};

use auscult_classifier::metrics::{
    BootstrapOptions, ConfusionMatrix, PairedDifference, PredictionPair, paired_score_difference,
};
use auscult_datasets::SplitSpec;
use serde::{Deserialize, Serialize};

use crate::arm::Arm;
use crate::error::{Error, Result};
use crate::paired::{ArmPredictions, ItemPredictions};

/// One fold study, as pooling needs it: its split, its classes and each seed's predictions.
#[derive(Debug, Clone)]
pub struct FoldStudy {
    /// Where it came from (its directory), for messages and the report.
    pub name: String,
    /// The split it trained and evaluated on (`cv:K:I:SEED` or `fold:K:I:SEED`).
    pub split: SplitSpec,
    /// Class names, in label order.
    pub classes: Vec<String>,
    /// Index of the normal class.
    pub normal: usize,
    /// Each seed's predictions per arm on the held-out fold.
    pub predictions: BTreeMap<u64, ArmPredictions>,
}

/// A named set of fold studies pooled together.
#[derive(Debug, Clone)]
pub struct PoolSetting {
    /// The setting's name in the table.
    pub name: String,
    /// One study per held-out fold.
    pub folds: Vec<FoldStudy>,
}

/// One arm of one setting, scored on the pooled held-out folds (fractions in [0, 1]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PooledArm {
    /// The setting.
    pub setting: String,
    /// The arm.
    pub arm: Arm,
    /// Seeds pooled (those every fold of the setting ran for this arm).
    pub seeds: Vec<u64>,
    /// Specificity, mean over the seeds.
    pub specificity: f64,
    /// Sensitivity, mean over the seeds.
    pub sensitivity: f64,
    /// ICBHI score, mean over the seeds.
    pub score: f64,
    /// ICBHI score of each seed, in the order of `seeds`.
    pub score_per_seed: Vec<f64>,
    /// Recall per class, mean over the seeds.
    pub recall: Vec<(String, f64)>,
    /// Score minus the baseline arm's score of the same setting and seeds, with
    /// patient-bootstrap intervals; `None` for the baseline itself.
    pub against_baseline: Option<PairedDifference>,
}

/// What `auscult pool` reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PooledReport {
    /// Number of folds of the cross-validation.
    pub k: usize,
    /// The folds pooled (every setting pools the same ones).
    pub folds: Vec<usize>,
    /// Seed of the fold assignment.
    pub split_seed: u64,
    /// Items (cycles) on the pooled folds.
    pub items: usize,
    /// Patients on the pooled folds.
    pub patients: usize,
    /// Class names, in label order.
    pub classes: Vec<String>,
    /// Index of the normal class in `classes`.
    pub normal: usize,
    /// The arm every other arm is measured against.
    pub baseline: Arm,
    /// Bootstrap resamples of the intervals.
    pub resamples: usize,
    /// Seed of the bootstrap.
    pub bootstrap_seed: u64,
    /// One row per setting and arm, settings in the order given, arms in report order.
    pub rows: Vec<PooledArm>,
}

/// `(k, index, seed)` of a cross-validation split; an error naming the study otherwise.
fn fold_of(study: &FoldStudy) -> Result<(usize, usize, u64)> {
    match study.split {
        SplitSpec::Cv { k, index, seed } | SplitSpec::Fold { k, index, seed } => {
            Ok((k, index, seed))
        }
        ref other => Err(Error::Pool(format!(
            "{}: split `{other}` is not a fold of a cross-validation (run the study with --split cv:K:INDEX)",
            study.name
        ))),
    }
}

/// One arm's predictions on a setting's pooled folds, for one seed, sorted by item id.
fn pooled_predictions(setting: &PoolSetting, arm: Arm, seed: u64) -> ItemPredictions {
    let mut all = ItemPredictions::default();
    for fold in &setting.folds {
        let p = &fold.predictions[&seed][&arm];
        all.ids.extend(p.ids.iter().cloned());
        all.patients.extend(p.patients.iter().cloned());
        all.truth.extend(&p.truth);
        all.predicted.extend(&p.predicted);
    }
    all.sorted()
}

/// Checks that the settings' folds belong to one cross-validation, each fold once per setting,
/// and every setting the same folds; returns `(k, folds, split seed)`.
fn check_folds(settings: &[PoolSetting]) -> Result<(usize, Vec<usize>, u64)> {
    let mut first: Option<(usize, u64, Vec<usize>, &str)> = None;
    for setting in settings {
        if setting.folds.is_empty() {
            return Err(Error::Pool(format!(
                "setting `{}` has no study",
                setting.name
            )));
        }
        let mut indices = Vec::new();
        let (k0, _, seed0) = fold_of(&setting.folds[0])?;
        for fold in &setting.folds {
            let (k, index, seed) = fold_of(fold)?;
            if (k, seed) != (k0, seed0) {
                return Err(Error::Pool(format!(
                    "{} is fold {index} of cv:{k} with fold seed {seed}, but {} is of cv:{k0} with fold seed {seed0}: folds of different cross-validations cannot be pooled",
                    fold.name, setting.folds[0].name
                )));
            }
            if indices.contains(&index) {
                return Err(Error::Pool(format!(
                    "setting `{}` holds fold {index} twice ({} among them)",
                    setting.name, fold.name
                )));
            }
            indices.push(index);
            let reference = &settings[0].folds[0];
            if fold.classes != reference.classes {
                return Err(Error::Pool(format!(
                    "{} has classes {:?}, {} has {:?}",
                    fold.name, fold.classes, reference.name, reference.classes
                )));
            }
        }
        indices.sort_unstable();
        match &first {
            None => first = Some((k0, seed0, indices, &setting.name)),
            Some((k, seed, folds, name)) => {
                if (*k, *seed) != (k0, seed0) || *folds != indices {
                    return Err(Error::Pool(format!(
                        "setting `{}` pools folds {indices:?} of cv:{k0} (fold seed {seed0}), setting `{name}` folds {folds:?} of cv:{k} (fold seed {seed}): settings are compared on the same folds only",
                        setting.name
                    )));
                }
            }
        }
    }
    let (k, seed, folds, _) =
        first.ok_or_else(|| Error::Pool("nothing to pool: no setting given".to_string()))?;
    Ok((k, folds, seed))
}

/// The seeds for which every fold of `setting` has predictions of `arm`.
fn common_seeds(setting: &PoolSetting, arm: Arm) -> Vec<u64> {
    let mut seeds: Option<BTreeSet<u64>> = None;
    for fold in &setting.folds {
        let here: BTreeSet<u64> = fold
            .predictions
            .iter()
            .filter(|(_, arms)| arms.contains_key(&arm))
            .map(|(&s, _)| s)
            .collect();
        seeds = Some(match seeds {
            None => here,
            Some(s) => s.intersection(&here).copied().collect(),
        });
    }
    seeds.unwrap_or_default().into_iter().collect()
}

/// Pools each setting's fold studies and scores `arms` (in report order; those some setting
/// lacks are an error) on all the held-out items, each against `baseline` of the same setting
/// and seeds. Errors when the folds are not of one cross-validation, when a fold appears twice,
/// when two folds share an item, or when two settings or seeds were scored on different items.
pub fn pool(
    settings: &[PoolSetting],
    arms: &[Arm],
    baseline: Arm,
    opts: BootstrapOptions,
) -> Result<PooledReport> {
    let (k, folds, split_seed) = check_folds(settings)?;
    let classes = settings[0].folds[0].classes.clone();
    let normal = settings[0].folds[0].normal;
    let mut arms: Vec<Arm> = arms.to_vec();
    if !arms.contains(&baseline) {
        arms.push(baseline);
    }
    arms.sort_unstable();
    arms.dedup();

    // The items every setting, arm and seed must have been scored on.
    let mut reference: Option<(ItemPredictions, String)> = None;
    let mut rows = Vec::new();
    for setting in settings {
        let mut pooled: BTreeMap<Arm, BTreeMap<u64, ItemPredictions>> = BTreeMap::new();
        for &arm in &arms {
            let seeds = common_seeds(setting, arm);
            if seeds.is_empty() {
                let missing: Vec<&str> = setting
                    .folds
                    .iter()
                    .filter(|f| !f.predictions.values().any(|a| a.contains_key(&arm)))
                    .map(|f| f.name.as_str())
                    .collect();
                return Err(Error::Pool(format!(
                    "setting `{}`: arm ({}) {} has no predictions in {} (run it there, or leave it out with --arms)",
                    setting.name,
                    arm.letter(),
                    arm.name(),
                    if missing.is_empty() {
                        "one seed of every fold".to_string()
                    } else {
                        missing.join(", ")
                    }
                )));
            }
            for seed in seeds {
                let p = pooled_predictions(setting, arm, seed);
                if let Some(w) = p.ids.windows(2).find(|w| w[0] == w[1]) {
                    return Err(Error::Pool(format!(
                        "setting `{}`: item `{}` is held out by two folds (are two studies of the same fold given?)",
                        setting.name, w[0]
                    )));
                }
                let what = format!(
                    "setting `{}`, arm ({}), seed {seed}",
                    setting.name,
                    arm.letter()
                );
                match &reference {
                    None => reference = Some((p.clone(), what)),
                    Some((r, first)) => {
                        if r.ids != p.ids || r.truth != p.truth || r.patients != p.patients {
                            return Err(Error::Pool(format!(
                                "{what} was scored on other items than {first}"
                            )));
                        }
                    }
                }
                pooled.entry(arm).or_default().insert(seed, p);
            }
        }
        let base = &pooled[&baseline];
        for (&arm, by_seed) in &pooled {
            let seeds: Vec<u64> = by_seed.keys().copied().collect();
            let mut scores = Vec::new();
            let (mut sp, mut se) = (0.0, 0.0);
            let mut recall = vec![0.0; classes.len()];
            for p in by_seed.values() {
                let m = ConfusionMatrix::from_labels(classes.len(), &p.truth, &p.predicted)
                    .map_err(|e| Error::Pool(e.to_string()))?;
                let s = m.icbhi(normal);
                sp += s.specificity;
                se += s.sensitivity;
                scores.push(s.score);
                for (r, c) in recall.iter_mut().zip(m.per_class(&classes)) {
                    *r += c.recall;
                }
            }
            let n = seeds.len() as f64;
            let against_baseline = if arm == baseline {
                None
            } else {
                let paired_seeds: Vec<u64> = seeds
                    .iter()
                    .copied()
                    .filter(|s| base.contains_key(s))
                    .collect();
                let pairs: Vec<PredictionPair<'_>> = paired_seeds
                    .iter()
                    .map(|s| PredictionPair {
                        a: &by_seed[s].predicted,
                        b: &base[s].predicted,
                    })
                    .collect();
                if pairs.is_empty() {
                    None
                } else {
                    let first = &by_seed[&paired_seeds[0]];
                    Some(
                        paired_score_difference(
                            normal,
                            &first.truth,
                            &pairs,
                            &first.patients,
                            opts,
                        )
                        .map_err(|e| Error::Pool(e.to_string()))?,
                    )
                }
            };
            rows.push(PooledArm {
                setting: setting.name.clone(),
                arm,
                seeds,
                specificity: sp / n,
                sensitivity: se / n,
                score: scores.iter().sum::<f64>() / n,
                score_per_seed: scores,
                recall: classes
                    .iter()
                    .cloned()
                    .zip(recall.into_iter().map(|r| r / n))
                    .collect(),
                against_baseline,
            });
        }
    }
    let (items, patients) = reference.as_ref().map_or((0, 0), |(r, _)| {
        let patients: BTreeSet<&String> = r.patients.iter().collect();
        (r.ids.len(), patients.len())
    });
    Ok(PooledReport {
        k,
        folds,
        split_seed,
        items,
        patients,
        classes,
        normal,
        baseline,
        resamples: opts.resamples,
        bootstrap_seed: opts.seed,
        rows,
    })
}

/// The pooled report as a Markdown table (percentages): one row per setting and arm, with the
/// paired difference against the baseline and its patient-bootstrap interval.
pub fn pooled_table(report: &PooledReport) -> String {
    let abnormal: Vec<&String> = report
        .classes
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != report.normal)
        .map(|(_, c)| c)
        .collect();
    let folds: Vec<String> = report.folds.iter().map(|f| f.to_string()).collect();
    let mut out = format!(
        "Pooled held-out folds {} of {} (fold seed {}): {} cycles from {} patients.\n\n",
        folds.join(", "),
        report.k,
        report.split_seed,
        report.items,
        report.patients
    );
    out.push_str(&format!(
        "| setting | arm | seeds | Sp % | Se % | Score % | recall {} % | vs ({}) [95% CI, patients] |\n",
        abnormal
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(" / "),
        report.baseline.letter()
    ));
    out.push_str("|---|---|---|---|---|---|---|---|\n");
    for row in &report.rows {
        let recall: Vec<String> = row
            .recall
            .iter()
            .filter(|(c, _)| abnormal.contains(&c))
            .map(|(_, r)| format!("{:.1}", 100.0 * r))
            .collect();
        let diff = row.against_baseline.as_ref().map_or(String::new(), |d| {
            let ci = d.ci95.map_or(String::new(), |[lo, hi]| {
                format!(" [{:+.1}, {:+.1}]", 100.0 * lo, 100.0 * hi)
            });
            format!("{:+.1}{ci}", 100.0 * d.difference)
        });
        out.push_str(&format!(
            "| {} | ({}) {} | {} | {:.1} | {:.1} | {:.1} | {} | {} |\n",
            row.setting,
            row.arm.letter(),
            row.arm.name(),
            row.seeds.len(),
            100.0 * row.specificity,
            100.0 * row.sensitivity,
            100.0 * row.score,
            recall.join(" / "),
            diff
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes() -> Vec<String> {
        ["normal", "crackle"].map(String::from).to_vec()
    }

    /// A fold study of fold `index` of cv:k whose arms predict as given, item ids `<p><n>`
    /// with patient `<p>`.
    fn fold(
        name: &str,
        k: usize,
        index: usize,
        items: &[(&str, usize)],
        arms: &[(Arm, &[usize])],
    ) -> FoldStudy {
        let per_arm = arms
            .iter()
            .map(|&(arm, predicted)| {
                (
                    arm,
                    ItemPredictions {
                        ids: items.iter().map(|(id, _)| id.to_string()).collect(),
                        patients: items.iter().map(|(id, _)| id[..1].to_string()).collect(),
                        truth: items.iter().map(|&(_, t)| t).collect(),
                        predicted: predicted.to_vec(),
                    },
                )
            })
            .collect();
        FoldStudy {
            name: name.to_string(),
            split: SplitSpec::Cv { k, index, seed: 0 },
            classes: classes(),
            normal: 0,
            predictions: BTreeMap::from([(0, per_arm)]),
        }
    }

    fn opts() -> BootstrapOptions {
        BootstrapOptions {
            resamples: 200,
            seed: 0,
        }
    }

    #[test]
    fn folds_are_pooled_into_one_confusion_matrix() {
        // Fold 0: (b) gets everything normal; (c) finds both crackles.
        let f0 = fold(
            "cv0",
            2,
            0,
            &[("a1", 0), ("a2", 1), ("b1", 1)],
            &[(Arm::MixupSupcon, &[0, 0, 0]), (Arm::Augmented, &[0, 1, 1])],
        );
        // Fold 1: (b) finds the crackle, (c) misses a normal.
        let f1 = fold(
            "cv1",
            2,
            1,
            &[("c1", 0), ("c2", 1), ("d1", 0)],
            &[(Arm::MixupSupcon, &[0, 1, 0]), (Arm::Augmented, &[1, 1, 0])],
        );
        let setting = PoolSetting {
            name: "defaults".into(),
            folds: vec![f1, f0],
        };
        let r = pool(&[setting], &[Arm::Augmented], Arm::MixupSupcon, opts()).unwrap();
        assert_eq!(
            (r.k, r.folds.clone(), r.items, r.patients),
            (2, vec![0, 1], 6, 4)
        );
        let b = &r.rows[0];
        let c = &r.rows[1];
        assert_eq!((b.arm, c.arm), (Arm::MixupSupcon, Arm::Augmented));
        // (b): normals 3/3, crackles 1/3 -> (1 + 1/3) / 2; (c): 2/3 and 3/3.
        assert!((b.score - 2.0 / 3.0).abs() < 1e-12, "{}", b.score);
        assert!((c.score - 5.0 / 6.0).abs() < 1e-12, "{}", c.score);
        assert!((c.recall[1].1 - 1.0).abs() < 1e-12);
        assert!(b.against_baseline.is_none());
        let d = c.against_baseline.as_ref().unwrap();
        assert!((d.difference - 1.0 / 6.0).abs() < 1e-12);
        assert_eq!(d.n_patients, 4);
        let table = pooled_table(&r);
        assert!(table.contains("folds 0, 1 of 2"), "{table}");
        assert!(
            table
                .contains("| defaults | (c) augmented | 1 | 66.7 | 100.0 | 83.3 | 100.0 | +16.7 ["),
            "{table}"
        );
    }

    #[test]
    fn a_fold_given_twice_or_overlapping_items_are_errors() {
        let a = fold("cv0", 2, 0, &[("a1", 0)], &[(Arm::MixupSupcon, &[0])]);
        let again = fold("cv0-again", 2, 0, &[("a1", 0)], &[(Arm::MixupSupcon, &[0])]);
        let setting = PoolSetting {
            name: "s".into(),
            folds: vec![a.clone(), again],
        };
        let err = pool(&[setting], &[], Arm::MixupSupcon, opts()).unwrap_err();
        assert!(err.to_string().contains("fold 0 twice"), "{err}");

        let overlapping = fold("cv1", 2, 1, &[("a1", 0)], &[(Arm::MixupSupcon, &[0])]);
        let setting = PoolSetting {
            name: "s".into(),
            folds: vec![a.clone(), overlapping],
        };
        let err = pool(&[setting], &[], Arm::MixupSupcon, opts()).unwrap_err();
        assert!(
            err.to_string().contains("`a1` is held out by two folds"),
            "{err}"
        );

        let mut official = a;
        official.split = SplitSpec::Official;
        let setting = PoolSetting {
            name: "s".into(),
            folds: vec![official],
        };
        let err = pool(&[setting], &[], Arm::MixupSupcon, opts()).unwrap_err();
        assert!(err.to_string().contains("cv0: split `official`"), "{err}");
    }

    #[test]
    fn settings_must_pool_the_same_folds_and_arms() {
        let f = |name: &str, index, id: &'static str| {
            fold(
                name,
                2,
                index,
                &[(id, 1)],
                &[(Arm::MixupSupcon, &[1]), (Arm::Augmented, &[0])],
            )
        };
        let one = PoolSetting {
            name: "one".into(),
            folds: vec![f("cv0", 0, "a1"), f("cv1", 1, "b1")],
        };
        let partial = PoolSetting {
            name: "partial".into(),
            folds: vec![f("cv0-x", 0, "a1")],
        };
        let err = pool(&[one.clone(), partial], &[], Arm::MixupSupcon, opts()).unwrap_err();
        assert!(err.to_string().contains("same folds only"), "{err}");

        let mut no_c = one.clone();
        no_c.name = "no-c".into();
        no_c.folds[1]
            .predictions
            .get_mut(&0)
            .unwrap()
            .remove(&Arm::Augmented);
        let err = pool(&[one, no_c], &[Arm::Augmented], Arm::MixupSupcon, opts()).unwrap_err();
        assert!(
            err.to_string()
                .contains("setting `no-c`: arm (c) augmented has no predictions in cv1"),
            "{err}"
        );
    }
}
