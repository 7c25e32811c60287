//! Opt-in: `auscult train` and `evaluate` on the real ICBHI 2017 development set in
//! `../shared/data/icbhi-dev` (too large for the repository). Ignored by default; `.ci/run`
//! runs them (`cargo test -p auscult --test icbhi_dev -- --ignored`). `AUSCULT_ICBHI_DEV`
//! points elsewhere.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::path::PathBuf;

mod common;
use common::auscult;

fn root() -> PathBuf {
    let root = std::env::var_os("AUSCULT_ICBHI_DEV").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/icbhi-dev"),
        PathBuf::from,
    );
    assert!(
        root.join("ICBHI_final_database").is_dir(),
        "{} is not the ICBHI development set (set AUSCULT_ICBHI_DEV)",
        root.display()
    );
    root
}

fn json(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out).unwrap()
}

#[test]
#[ignore = "needs ../shared/data/icbhi-dev; run by .ci/run"]
fn inspect_counts_the_development_set() {
    let out = auscult()
        .args(["dataset", "inspect", "--json"])
        .arg(root())
        .assert()
        .success();
    let v = json(&out.get_output().stdout);
    assert_eq!(v["recordings"], 114);
    assert_eq!(v["patients"], 36);
    for (split, counts) in [("train", [561, 123, 110, 41]), ("test", [237, 43, 91, 37])] {
        for (class, n) in ["normal", "crackle", "wheeze", "both"].iter().zip(counts) {
            assert_eq!(v["splits"][split][class], n, "{split} {class}");
        }
    }
}

#[test]
#[ignore = "needs ../shared/data/icbhi-dev; run by .ci/run"]
fn a_short_real_training_run_learns_and_evaluates_per_device() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let out = auscult()
        .args(["train", "--epochs", "4", "--json", "--data"])
        .arg(root())
        .arg("--out")
        .arg(&run)
        .assert()
        .success();
    let r = json(&out.get_output().stdout);
    // The ICBHI recipe is chosen for real ICBHI data and recorded with the run.
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("data.json")).unwrap()).unwrap();
    assert_eq!(data["recipe"], "icbhi");
    assert_eq!(data["val_fraction"], 0.0);
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["item_norm"], "spectrum");
    assert_eq!(cfg["mel"]["f_max"], 2000.0);
    assert_eq!(r["n_train"], 835);
    assert_eq!(r["n_test"], 408);
    assert_eq!(r["epochs"], 4);
    let (first, last) = (
        r["first_train_loss"].as_f64().unwrap(),
        r["last_train_loss"].as_f64().unwrap(),
    );
    assert!(
        last < first,
        "training loss did not fall: {first} -> {last}"
    );

    let out = auscult()
        .args(["evaluate", "--json", "--bootstrap", "50", "--model"])
        .arg(&run)
        .assert()
        .success();
    let e = json(&out.get_output().stdout);
    let text = e.to_string();
    for key in ["Litt3200", "Meditron", "4000", "44100", "patient"] {
        assert!(text.contains(key), "evaluate --json lacks {key}: {text}");
    }
}
