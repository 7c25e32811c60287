//! Hand-made evaluations and seed results for the unit tests.

use std::collections::BTreeMap;

use auscult_classifier::Evaluation;

use crate::arm::Arm;
use crate::results::SeedResult;

/// Class names of the fixtures, in label order.
pub const CLASSES: [&str; 4] = ["normal", "crackle", "wheeze", "both"];

/// An evaluation with the given specificity, sensitivity and macro-F1 (score = their mean)
/// and one recall per class of [`CLASSES`] (as many classes as recalls).
pub fn evaluation(specificity: f64, sensitivity: f64, macro_f1: f64, recall: &[f64]) -> Evaluation {
    let classes = &CLASSES[..recall.len()];
    let per_class: Vec<serde_json::Value> = classes
        .iter()
        .zip(recall)
        .map(|(c, r)| {
            serde_json::json!({"class": c, "precision": 0.5, "recall": r, "f1": 0.5, "support": 10})
        })
        .collect();
    serde_json::from_value(serde_json::json!({
        "model_dir": "run",
        "n": 10 * recall.len(),
        "classes": classes,
        "normal_class": 0,
        "specificity": specificity,
        "sensitivity": sensitivity,
        "score": 0.5 * (specificity + sensitivity),
        "score_ci95": [0.25, 0.75],
        "accuracy": 0.5,
        "macro_f1": macro_f1,
        "balanced_accuracy": 0.5,
        "per_class": per_class,
        "confusion": (0..recall.len())
            .map(|i| (0..recall.len()).map(|j| u64::from(i == j) * 5).collect::<Vec<_>>())
            .collect::<Vec<_>>(),
    }))
    .expect("the fixture is a valid evaluation")
}

/// A seed's result with the given evaluations and nothing generated.
pub fn seed_result(seed: u64, arms: &[(Arm, Evaluation)]) -> SeedResult {
    SeedResult {
        seed,
        arms: arms.iter().cloned().collect(),
        corpus: None,
        generated: BTreeMap::new(),
        gate_kept: BTreeMap::new(),
        gate_mean_probability: BTreeMap::new(),
        real_mean_probability: BTreeMap::new(),
        gate_thresholds: BTreeMap::new(),
        quality: Vec::new(),
        predictions: BTreeMap::new(),
    }
}
