//! What a study measured: the steps it ran, each seed's evaluations, and the aggregates over
//! seeds that `report.json` holds.
//!
//! The JSON shapes are a contract: scripts and the docs read `report.json`, so field names and
//! order do not change.

use std::collections::BTreeMap;
use std::path::PathBuf;

use auscult_classifier::{ClassQuality, Evaluation};
use serde::{Deserialize, Serialize};

use crate::arm::Arm;
use crate::paired::{ArmPredictions, PairedComparison};
use crate::stats::Spread;

/// One executed step: what ran, how long it took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// What the step did.
    pub name: String,
    /// The command line that reproduces it (`auscult ...`), or a description for in-process
    /// steps.
    pub command: String,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Everything one seed produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// Test-set evaluation of each arm.
    pub arms: BTreeMap<Arm, Evaluation>,
    /// The generated corpus (if any arm needed it).
    pub corpus: Option<PathBuf>,
    /// Samples generated per class.
    pub generated: BTreeMap<String, usize>,
    /// Samples the quality gate kept per class (arm e).
    pub gate_kept: BTreeMap<String, usize>,
    /// Mean probability arm (a)'s model gives generated samples of each class for that class
    /// (arm e; how class-like the samples look to a model trained on real data).
    pub gate_mean_probability: BTreeMap<String, f64>,
    /// The same for the real test cycles of each class (the yardstick for the line above;
    /// a diagnostic only, it decides nothing).
    pub real_mean_probability: BTreeMap<String, f64>,
    /// The gate's threshold per class (the same for every class unless `--gate-relative`).
    pub gate_thresholds: BTreeMap<String, f64>,
    /// The generated corpus seen through arm (b)'s classifier (trained on real data only),
    /// per class against the real test cycles (`auscult quality`); empty when the seed
    /// generated nothing or arm (b) did not run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quality: Vec<ClassQuality>,
    /// Each arm's test predictions, item by item, for the paired comparisons (kept in each
    /// arm's `test-predictions.csv`, not in `report.json`).
    #[serde(skip)]
    pub predictions: ArmPredictions,
}

/// The aggregated metrics of one arm over the seeds (fractions in [0, 1]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmSummary {
    /// The arm.
    pub arm: Arm,
    /// What it does.
    pub description: String,
    /// Specificity.
    pub specificity: Spread,
    /// Sensitivity.
    pub sensitivity: Spread,
    /// ICBHI score.
    pub score: Spread,
    /// Macro-F1.
    pub macro_f1: Spread,
    /// Recall per class, in the model's class order.
    pub recall: Vec<(String, Spread)>,
}

/// The study's result (`report.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StudyReport {
    /// The data studied.
    pub data: PathBuf,
    /// Whether the data was the built-in synthetic corpus.
    pub synthetic: bool,
    /// The split every model trained and was evaluated on: `official`, or `cv:K:INDEX:SEED`
    /// (a fold of the training patients; reports written before the field read `official`).
    #[serde(default = "official_split")]
    pub split: String,
    /// Seeds run.
    pub seeds: Vec<u64>,
    /// Per-seed results.
    pub per_seed: Vec<SeedResult>,
    /// Aggregates per arm.
    pub summary: Vec<ArmSummary>,
    /// Arms (c), (e) and (d) against (b), paired item by item on the test patients (empty
    /// for reports written before predictions were kept).
    #[serde(default)]
    pub paired: Vec<PairedComparison>,
    /// Share of generated samples the gate kept, per class (over all seeds).
    pub gate_keep_share: BTreeMap<String, f64>,
    /// The honest answer to "does augmentation help here?" (see [`crate::verdict`]).
    pub verdict: String,
    /// Every step, its command and its time.
    pub steps: Vec<Step>,
    /// Total wall-clock seconds.
    pub seconds: f64,
}

/// The split of reports written before [`StudyReport::split`] existed.
fn official_split() -> String {
    "official".to_string()
}

/// Mean and spread of every metric of each of `arms` over the seeds that evaluated it, in the
/// order of `arms`; an arm no seed evaluated is left out. Per-class recall follows the class
/// order of the arm's first evaluation (a seed without a class counts its recall as 0).
pub fn summarise(arms: &[Arm], per_seed: &[SeedResult]) -> Vec<ArmSummary> {
    arms.iter()
        .filter_map(|&arm| {
            let evals: Vec<&Evaluation> =
                per_seed.iter().filter_map(|r| r.arms.get(&arm)).collect();
            let first = evals.first()?;
            let metric = |f: &dyn Fn(&Evaluation) -> f64| {
                Spread::of(&evals.iter().map(|e| f(e)).collect::<Vec<_>>())
            };
            let recall = first
                .metrics
                .classes
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    (
                        c.clone(),
                        metric(&|e: &Evaluation| {
                            e.metrics.per_class.get(i).map_or(0.0, |m| m.recall)
                        }),
                    )
                })
                .collect();
            Some(ArmSummary {
                arm,
                description: arm.description().to_string(),
                specificity: metric(&|e: &Evaluation| e.metrics.specificity),
                sensitivity: metric(&|e: &Evaluation| e.metrics.sensitivity),
                score: metric(&|e: &Evaluation| e.metrics.score),
                macro_f1: metric(&|e: &Evaluation| e.metrics.macro_f1),
                recall,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{evaluation, seed_result};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn summarise_takes_mean_and_sd_over_seeds() {
        let per_seed = vec![
            seed_result(
                0,
                &[
                    (Arm::Plain, evaluation(0.8, 0.2, 0.3, &[0.9, 0.1])),
                    (Arm::Augmented, evaluation(0.6, 0.4, 0.5, &[0.7, 0.3])),
                ],
            ),
            seed_result(1, &[(Arm::Plain, evaluation(0.6, 0.4, 0.5, &[0.7, 0.5]))]),
        ];
        let summary = summarise(&[Arm::Plain, Arm::MixupSupcon, Arm::Augmented], &per_seed);
        // (b) was never evaluated: left out.
        let arms: Vec<Arm> = summary.iter().map(|s| s.arm).collect();
        assert_eq!(arms, [Arm::Plain, Arm::Augmented]);

        let plain = &summary[0];
        assert_eq!(plain.description, "cross-entropy, instance sampling");
        // Sp 0.8, 0.6: mean 0.7, sd sqrt((0.01 + 0.01) / 1) = sqrt(0.02)
        assert!(close(plain.specificity.mean, 0.7));
        assert!(close(plain.specificity.sd, 0.02_f64.sqrt()));
        // Se 0.2, 0.4: mean 0.3; score (Sp + Se) / 2 = 0.5, 0.5: sd 0
        assert!(close(plain.sensitivity.mean, 0.3));
        assert!(close(plain.score.mean, 0.5));
        assert!(close(plain.score.sd, 0.0));
        // macro-F1 0.3, 0.5
        assert!(close(plain.macro_f1.mean, 0.4));
        assert_eq!(plain.recall.len(), 2);
        assert_eq!(plain.recall[0].0, "normal");
        assert!(close(plain.recall[0].1.mean, 0.8));
        assert_eq!(plain.recall[1].0, "crackle");
        assert!(close(plain.recall[1].1.mean, 0.3));
        assert!(close(plain.recall[1].1.sd, 0.08_f64.sqrt()));

        // One seed: no spread.
        let augmented = &summary[1];
        assert!(close(augmented.score.mean, 0.5));
        assert_eq!(augmented.score.sd, 0.0);
    }

    #[test]
    fn report_json_keeps_its_shape() {
        let summary = summarise(
            &[Arm::Plain],
            &[seed_result(
                0,
                &[(Arm::Plain, evaluation(0.5, 0.25, 0.5, &[1.0]))],
            )],
        );
        let value = serde_json::to_value(&summary[0]).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "arm": "plain",
                "description": "cross-entropy, instance sampling",
                "specificity": {"mean": 0.5, "sd": 0.0},
                "sensitivity": {"mean": 0.25, "sd": 0.0},
                "score": {"mean": 0.375, "sd": 0.0},
                "macro_f1": {"mean": 0.5, "sd": 0.0},
                "recall": [["normal", {"mean": 1.0, "sd": 0.0}]],
            })
        );
        let step = Step {
            name: "n".into(),
            command: "auscult x".into(),
            seconds: 1.5,
        };
        assert_eq!(
            serde_json::to_string(&step).unwrap(),
            r#"{"name":"n","command":"auscult x","seconds":1.5}"#
        );
    }

    #[test]
    fn a_report_reads_back_from_its_json() {
        let per_seed = vec![seed_result(
            3,
            &[(Arm::MixupSupcon, evaluation(0.5, 0.25, 0.5, &[1.0]))],
        )];
        let report = StudyReport {
            data: PathBuf::from("synth"),
            synthetic: true,
            split: "official".to_string(),
            seeds: vec![3],
            summary: summarise(&[Arm::MixupSupcon], &per_seed),
            paired: Vec::new(),
            per_seed,
            gate_keep_share: BTreeMap::from([("wheeze".to_string(), 0.5)]),
            verdict: "Verdict: no augmented arm was run.".into(),
            steps: Vec::new(),
            seconds: 2.0,
        };
        let json = serde_json::to_string(&report).unwrap();
        let keys: Vec<String> = serde_json::from_str::<serde_json::Value>(&json)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert!(json.starts_with(r#"{"data":"synth","synthetic":true,"split":"official","seeds":[3],"per_seed":[{"seed":3,"arms":{"mixup-supcon":{"#));
        assert_eq!(keys.len(), 11);
        let back: StudyReport = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        // A report written before the split was recorded reads as the official split.
        let mut old: serde_json::Value = serde_json::from_str(&json).unwrap();
        old.as_object_mut().unwrap().remove("split");
        let back: StudyReport = serde_json::from_value(old).unwrap();
        assert_eq!(back.split, "official");
    }
}
