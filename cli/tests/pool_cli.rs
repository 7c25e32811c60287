//! `auscult pool` on the four fold studies of icbhi-dev's training patients kept in
//! `bench/results/2026-12-04-folds` (real predictions; no training here).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::auscult;
use serde_json::Value;

fn folds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/results/2026-12-04-folds")
}

/// `NAME=DIR,DIR,...` of the four folds with `suffix` (`""` or `"-half"`).
fn setting(name: &str, suffix: &str) -> String {
    let dirs: Vec<String> = (0..4)
        .map(|i| {
            folds_dir()
                .join(format!("cv{i}{suffix}"))
                .display()
                .to_string()
        })
        .collect();
    format!("{name}={}", dirs.join(","))
}

#[test]
fn pooling_the_four_folds_scores_every_training_patient() {
    let out = auscult()
        .args(["pool", "--json", "--resamples", "300"])
        .arg(setting("defaults", ""))
        .arg(setting("half", "-half"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["folds"], serde_json::json!([0, 1, 2, 3]));
    assert_eq!(report["items"], 835);
    assert_eq!(report["patients"], 26);
    let rows = report["rows"].as_array().unwrap();
    let score = |setting: &str, arm: &str| {
        let row = rows
            .iter()
            .find(|r| r["setting"] == setting && r["arm"] == arm)
            .unwrap_or_else(|| panic!("no row {setting} {arm}"));
        (
            (1000.0 * row["score"].as_f64().unwrap()).round() / 10.0,
            row["against_baseline"]["difference"].as_f64(),
        )
    };
    // The pooled confusion matrices of docs/study.md's fold table.
    assert_eq!(score("defaults", "mixup-supcon"), (46.6, None));
    let (c, diff) = score("defaults", "augmented");
    assert_eq!(c, 44.1);
    assert!((diff.unwrap() * 100.0 + 2.5).abs() < 0.05, "{diff:?}");
    assert_eq!(score("half", "augmented").0, 46.5);
    assert_eq!(score("half", "gated").0, 44.1);
}

#[test]
fn the_table_names_the_folds_and_a_repeated_fold_is_refused() {
    let out = auscult()
        .args(["pool", "--arms", "c", "--resamples", "100"])
        .arg(setting("defaults", ""))
        .output()
        .unwrap();
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.starts_with(
            "Pooled held-out folds 0, 1, 2, 3 of 4 (fold seed 0): 835 cycles from 26 patients."
        ),
        "{table}"
    );
    assert!(
        table.contains(
            "| defaults | (c) augmented | 1 | 63.5 | 24.8 | 44.1 | 22.0 / 32.7 / 12.2 | -2.5 ["
        ),
        "{table}"
    );

    let cv0 = folds_dir().join("cv0").display().to_string();
    let cv0_half = folds_dir().join("cv0-half").display().to_string();
    let out = auscult()
        .args(["pool", &format!("{cv0},{cv0_half}")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("holds fold 0 twice"), "{err}");

    let out = auscult()
        .args(["pool", "--arms", "a", &cv0])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("arm (a) plain has no predictions in"), "{err}");
}
