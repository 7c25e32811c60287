//! The Coswara flow end to end: a synthetic Coswara corpus trained with no split flag, scored
//! per participant with the screening metrics (ROC-AUC, PR-AUC, sensitivity at 95%
//! specificity, the validation threshold), participant folders classified (the real Coswara
//! fixtures included), and the alternative targets.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::path::{Path, PathBuf};

use predicates::prelude::*;
use serde_json::Value;

mod common;
use common::{auscult, fixtures};

fn json(out: &[u8]) -> Value {
    serde_json::from_slice(out).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&out[..out.len().min(2000)])
        )
    })
}

/// Writes a `--quick` synthetic Coswara corpus of `patients` participants into `dir/coswara`.
fn synth_coswara(dir: &Path, seed: u64, patients: usize) -> PathBuf {
    let data = dir.join("coswara");
    auscult()
        .args(["synth", "coswara", "--quick", "--seed"])
        .arg(seed.to_string())
        .arg("--patients")
        .arg(patients.to_string())
        .arg("--out")
        .arg(&data)
        .assert()
        .success();
    data
}

/// The first participant folder of a Coswara corpus (`YYYYMMDD/<id>/`).
fn first_participant(data: &Path) -> PathBuf {
    std::fs::read_dir(data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .flat_map(|d| std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
        .find(|p| p.is_dir())
        .unwrap()
}

fn evaluate(run: &Path, extra: &[&str]) -> Value {
    let out = auscult()
        .args(["evaluate", "--json", "--bootstrap", "100", "--model"])
        .arg(run)
        .args(extra)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    json(&out)
}

#[test]
fn coswara_is_scored_per_participant_with_screening_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let data = synth_coswara(tmp.path(), 3, 30);
    let run = tmp.path().join("run");
    auscult()
        .args(["train", "--epochs", "3", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&run)
        .assert()
        .success()
        .stdout(predicate::str::contains("scored per      participant"))
        .stdout(predicate::str::contains("threshold       P(positive) >="));
    for f in ["decision.json", "roc.png", "data.json"] {
        assert!(run.join(f).is_file(), "{f} missing from the run directory");
    }
    let decision = json(&std::fs::read(run.join("decision.json")).unwrap());
    assert_eq!(decision["positive_class"], "positive");
    assert_eq!(decision["level"], "participant");
    let threshold = decision["threshold"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&threshold), "{decision}");

    // Participant level is the default; the screening metrics are all there.
    let e = evaluate(&run, &[]);
    assert_eq!(e["level"], "participant");
    for key in [
        "roc_auc",
        "roc_auc_ci95",
        "pr_auc",
        "pr_auc_ci95",
        "sensitivity_at_95_specificity",
        "threshold",
        "item_metrics",
    ] {
        assert!(!e[key].is_null(), "evaluate --json lacks {key}: {e}");
    }
    assert_eq!(e["threshold"].as_f64().unwrap(), threshold);
    let auc = e["roc_auc"].as_f64().unwrap();
    let [lo, hi] = [0, 1].map(|i| e["roc_auc_ci95"][i].as_f64().unwrap());
    assert!((0.0..=1.0).contains(&auc) && lo <= hi, "{e}");
    // One participant is one item here; the files are scored beside.
    let participants = e["n"].as_u64().unwrap();
    let files = e["item_metrics"]["n"].as_u64().unwrap();
    assert_eq!(e["n_patients"].as_u64(), Some(participants));
    assert!(
        files > participants,
        "{files} files for {participants} participants"
    );
    let items = evaluate(&run, &["--level", "item"]);
    assert_eq!(items["level"], "item");
    assert_eq!(items["n"].as_u64(), Some(files));
    // `--split` speaks train's vocabulary; the old part names still work, with a note.
    let fold = evaluate(&run, &["--split", "fold:5:0:0", "--part", "test"]);
    assert_eq!(fold["n"], e["n"]);
    auscult()
        .args(["evaluate", "--split", "test", "--bootstrap", "0", "--model"])
        .arg(&run)
        .assert()
        .success()
        .stderr(predicate::str::contains("use --part test"))
        .stdout(predicate::str::contains("ROC-AUC"));
    let all = evaluate(&run, &["--part", "all"]);
    assert!(all["n"].as_u64().unwrap() > participants);
    let roc = tmp.path().join("roc-test.png");
    auscult()
        .args(["evaluate", "--bootstrap", "0", "--model"])
        .arg(&run)
        .arg("--roc")
        .arg(&roc)
        .assert()
        .success();
    assert!(std::fs::read(&roc).unwrap().starts_with(b"\x89PNG"));

    // classify: a synthetic participant and the real Coswara participants (48 kHz; one of
    // them has only header-only WAVs among the sounds used, and is reported, not fatal).
    let mut folders: Vec<_> = std::fs::read_dir(fixtures().join("coswara/20200413"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    folders.sort();
    let synthetic = first_participant(&data);
    folders.push(synthetic);
    let out = auscult()
        .args(["classify", "--json", "--model"])
        .arg(&run)
        .args(&folders)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let results = json(&out);
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), folders.len());
    let classified: Vec<&Value> = results
        .iter()
        .filter(|r| r.get("participant").is_some())
        .collect();
    assert!(classified.len() >= 3, "{results:?}");
    for r in &classified {
        let label = r["label"].as_str().unwrap();
        assert!(label == "healthy" || label == "positive", "{r}");
        let p = r["probabilities"]["positive"].as_f64().unwrap();
        assert_eq!(label == "positive", p >= threshold, "{r}");
        assert!(!r["sounds"].as_array().unwrap().is_empty());
    }
    let failed: Vec<&Value> = results
        .iter()
        .filter(|r| r.get("error").is_some())
        .collect();
    for f in &failed {
        assert!(f["error"].as_str().unwrap().contains("zero frames"), "{f}");
    }
}

#[test]
fn alternative_targets_and_sounds_are_recorded_and_refused_elsewhere() {
    let tmp = tempfile::tempdir().unwrap();
    let data = synth_coswara(tmp.path(), 4, 16);
    let run = tmp.path().join("run");
    let out = auscult()
        .args([
            "train",
            "--json",
            "--epochs",
            "1",
            "--target",
            "symptomatic",
        ])
        .args(["--sounds", "cough-heavy,counting-normal", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&run)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report = json(&out);
    assert_eq!(
        report["classes"],
        serde_json::json!(["asymptomatic", "symptomatic"])
    );
    let spec = json(&std::fs::read(run.join("data.json")).unwrap());
    assert_eq!(spec["coswara"]["target"], "symptomatic");
    assert_eq!(
        spec["coswara"]["sounds"],
        serde_json::json!(["cough-heavy", "counting-normal"])
    );
    // Evaluation reloads the same target and sounds: every participant is labelled by the
    // symptom columns, and only the two sounds are used.
    let e = evaluate(&run, &["--part", "all"]);
    assert_eq!(
        e["item_metrics"]["n"].as_u64().unwrap(),
        count_usable(&data, &["cough-heavy", "counting-normal"])
    );
    // Unknown targets are named with the choices; Coswara flags elsewhere are refused.
    auscult()
        .args(["train", "--target", "height", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(tmp.path().join("x"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("asthma"));
    let icbhi = tmp.path().join("icbhi");
    common::synth_icbhi(&icbhi, 4, 0);
    auscult()
        .args(["train", "--target", "asthma", "--data"])
        .arg(&icbhi)
        .arg("--out")
        .arg(tmp.path().join("y"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("Coswara datasets only"));
}

/// The given sounds' files of every participant that hold samples (header-only WAVs, 44
/// bytes, are skipped by the loader).
fn count_usable(data: &Path, sounds: &[&str]) -> u64 {
    let mut n = 0;
    for day in std::fs::read_dir(data).unwrap() {
        let day = day.unwrap().path();
        if !day.is_dir() {
            continue;
        }
        for p in std::fs::read_dir(&day).unwrap() {
            let p = p.unwrap().path();
            for s in sounds {
                let f = p.join(format!("{s}.wav"));
                if f.is_file() && std::fs::metadata(&f).unwrap().len() > 44 {
                    n += 1;
                }
            }
        }
    }
    n
}

#[test]
fn a_model_per_sound_is_fused_per_participant() {
    let tmp = tempfile::tempdir().unwrap();
    let data = synth_coswara(tmp.path(), 6, 24);
    let ens = tmp.path().join("ens");
    let out = auscult()
        .args(["train", "--json", "--epochs", "1", "--per-sound"])
        .args(["--sounds", "cough-heavy,breathing-deep", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&ens)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report = json(&out);
    assert_eq!(report["members"].as_array().unwrap().len(), 2);
    let spec = json(&std::fs::read(ens.join("ensemble.json")).unwrap());
    assert_eq!(spec["members"][0]["dir"], "breathing-deep");
    assert_eq!(
        spec["members"][1]["sounds"],
        serde_json::json!(["cough-heavy"])
    );
    // Each member was trained on its own sound only.
    let member = json(&std::fs::read(ens.join("cough-heavy/data.json")).unwrap());
    assert_eq!(
        member["coswara"]["sounds"],
        serde_json::json!(["cough-heavy"])
    );
    let threshold = json(&std::fs::read(ens.join("decision.json")).unwrap())["threshold"]
        .as_f64()
        .unwrap();
    assert!(ens.join("roc.png").is_file());

    let e = evaluate(&ens, &[]);
    assert_eq!(e["level"], "participant");
    assert_eq!(e["threshold"].as_f64(), Some(threshold));
    assert_eq!(e["n"], report["test"]["n"]);
    assert!(
        e["roc_auc"].is_number() || report["test"]["roc_auc"].is_null(),
        "{e}"
    );
    auscult()
        .args(["evaluate", "--level", "item", "--model"])
        .arg(&ens)
        .assert()
        .failure()
        .stderr(predicate::str::contains("scores participants only"));

    let participant = first_participant(&data);
    let out = auscult()
        .args(["classify", "--json", "--model"])
        .arg(&ens)
        .arg(&participant)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let r = &json(&out)[0];
    let sounds: Vec<&str> = r["sounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sound"].as_str().unwrap())
        .collect();
    assert!(
        !sounds.is_empty()
            && sounds
                .iter()
                .all(|s| ["breathing-deep", "cough-heavy"].contains(s))
    );
    let p = r["probabilities"]["positive"].as_f64().unwrap();
    assert_eq!(r["label"] == "positive", p >= threshold, "{r}");
}
