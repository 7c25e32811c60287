//! `auscult train`, `evaluate` and `classify` end to end: a tiny classifier trained on a
//! synthetic ICBHI corpus, evaluated with `--json`, resumed, and run on every WAV of the real
//! fixtures (header-only files give a per-file error, the others are classified).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::path::{Path, PathBuf};

use predicates::prelude::*;

mod common;
use common::{auscult, fixtures, synth_icbhi};

fn wavs(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            wavs(&p, out);
        } else if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("wav")) {
            out.push(p);
        }
    }
}

/// A tiny model config: 16 Mel bins at 8 kHz, 1 s examples, a 4-8 channel CNN.
const TINY: &str = r#"{
  "examples": {"sample_rate": 8000, "length_s": 1.0, "pad": "repeat", "fade": true},
  "mel": {"sample_rate": 8000, "n_fft": 256, "win_length": 256, "hop_length": 128, "n_mels": 16,
          "f_min": 50.0, "f_max": 4000.0, "window": "hann", "center": true, "pad_mode": "constant",
          "power": 2.0, "mel_scale": "slaney", "norm": "slaney",
          "log": {"db": {"reference": 1.0, "amin": 1e-10, "top_db": 80.0}}, "kaldi": null},
  "model": {"channels": [4, 8], "convs_per_block": 1, "kernel_size": 3, "pool": [2, 2],
            "dropout": 0.1, "projection_dim": 8},
  "batch_size": 8, "lr": 0.003, "warmup_epochs": 0, "bootstrap": 20
}"#;

#[test]
fn train_evaluate_resume_and_classify() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let data = t.join("icbhi");
    synth_icbhi(&data, 12, 3);
    let cfg = t.join("tiny.json");
    // The mel config's JSON layout belongs to auscult-audio: write the library's own default,
    // then shrink it, so this test does not depend on that layout.
    let mut v: serde_json::Value = serde_json::from_str(TINY).unwrap();
    let mut mel = serde_json::to_value(auscult_mel_default()).unwrap();
    for (k, val) in v["mel"].as_object().unwrap().clone() {
        if ["sample_rate", "n_fft", "win_length", "hop_length", "n_mels"].contains(&k.as_str()) {
            mel[k] = val;
        }
    }
    v["mel"] = mel;
    std::fs::write(&cfg, serde_json::to_string(&v).unwrap()).unwrap();

    let run = t.join("run");
    let out = auscult()
        .args([
            "train",
            "--epochs",
            "2",
            "--seed",
            "5",
            "--val-fraction",
            "0.25",
            "--json",
            "--data",
        ])
        .arg(&data)
        .arg("--config")
        .arg(&cfg)
        .arg("--out")
        .arg(&run)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["epochs"], 2);
    // The final test metrics' intervals resample the test patients.
    assert_eq!(report["test"]["bootstrap_unit"], "patient");
    assert!(report["test"]["n_patients"].as_u64().unwrap() >= 1);
    assert!(report["last_train_loss"].as_f64().unwrap().is_finite());
    for f in [
        "config.json",
        "data.json",
        "metrics.jsonl",
        "model.bpk",
        "curves.png",
        "report.json",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    // The resolved config records the flags.
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(saved["epochs"], 2);
    assert_eq!(saved["seed"], 5);
    assert_eq!(saved["mel"]["n_mels"], 16);

    // A second run into the same directory is refused with a hint.
    auscult()
        .args(["train", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&run)
        .assert()
        .failure()
        .stderr(predicate::str::contains("--resume"));
    // Resuming a finished run re-reports it.
    auscult()
        .arg("train")
        .arg("--resume")
        .arg(&run)
        .arg("--json")
        .assert()
        .success();

    let predictions = tmp.path().join("predictions.csv");
    let out = auscult()
        .args(["evaluate", "--json", "--predictions"])
        .arg(&predictions)
        .arg("--model")
        .arg(&run)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let eval: serde_json::Value = serde_json::from_slice(&out).unwrap();
    for key in [
        "specificity",
        "sensitivity",
        "score",
        "accuracy",
        "macro_f1",
        "per_class",
        "confusion",
        "n",
    ] {
        assert!(
            eval.get(key).is_some(),
            "evaluate --json lacks {key}: {eval}"
        );
    }
    let n = eval["n"].as_u64().unwrap();
    let total: u64 = eval["confusion"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()))
        .sum();
    assert_eq!(n, total);
    // --predictions: one row per scored cycle, whose predicted classes give the confusion
    // matrix's column sums.
    let csv = std::fs::read_to_string(&predictions).unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("id,patient,device,source,start_s,end_s,truth,predicted,p_normal,"),
        "{csv}"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len() as u64, n);
    let classes: Vec<&str> = eval["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for (j, class) in classes.iter().enumerate() {
        let column: u64 = eval["confusion"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[j].as_u64().unwrap())
            .sum();
        let predicted = rows.iter().filter(|r| r[7] == *class).count() as u64;
        assert_eq!(predicted, column, "predicted {class}");
    }
    // Patient-level intervals, and the breakdown by device and by source sample rate: the
    // synthetic corpus names its devices as ICBHI does and records at 4 and 44.1 kHz.
    assert_eq!(eval["bootstrap_unit"], "patient");
    assert_eq!(eval["bootstrap_resamples"], 1000);
    let n_patients = eval["n_patients"].as_u64().unwrap();
    assert!(
        (1..=n).contains(&n_patients),
        "{n_patients} patients for {n} cycles"
    );
    for key in ["specificity_ci95", "sensitivity_ci95", "score_ci95"] {
        let ci = eval[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key}: {eval}"));
        assert!(ci[0].as_f64().unwrap() <= ci[1].as_f64().unwrap());
    }
    for (key, known) in [
        (
            "by_device",
            &["AKGC417L", "LittC2SE", "Litt3200", "Meditron"][..],
        ),
        ("by_sample_rate", &["4000", "44100"][..]),
    ] {
        let groups = eval[key]
            .as_array()
            .unwrap_or_else(|| panic!("evaluate --json lacks {key}: {eval}"));
        let mut sum = 0;
        for g in groups {
            assert!(known.contains(&g["group"].as_str().unwrap()), "{key}: {g}");
            for field in [
                "specificity",
                "sensitivity",
                "score",
                "per_class",
                "n_patients",
            ] {
                assert!(g.get(field).is_some(), "{key} lacks {field}: {g}");
            }
            sum += g["n"].as_u64().unwrap();
        }
        assert_eq!(sum, n, "{key} does not partition the examples");
    }
    auscult()
        .args(["evaluate", "--part", "train", "--model"])
        .arg(&run)
        .assert()
        .success()
        .stdout(predicate::str::contains("ICBHI score"))
        .stdout(predicate::str::contains("resamples of the patients"))
        .stdout(predicate::str::contains("by device"))
        .stdout(predicate::str::contains("by sample rate"));

    // classify: every WAV of the real fixtures.
    let mut files = Vec::new();
    wavs(&fixtures(), &mut files);
    assert!(
        files.len() >= 10,
        "expected the fixture WAVs, found {}",
        files.len()
    );
    let out = auscult()
        .args(["classify", "--json", "--model"])
        .arg(&run)
        .args(&files)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let results: Vec<serde_json::Value> = serde_json::from_slice(&out).unwrap();
    assert_eq!(results.len(), files.len());
    for (r, f) in results.iter().zip(&files) {
        assert_eq!(r["path"].as_str().unwrap(), f.to_str().unwrap());
        let header_only = std::fs::metadata(f).unwrap().len() <= 44;
        if header_only {
            assert!(
                r.get("error").is_some(),
                "{}: expected an error, got {r}",
                f.display()
            );
        } else {
            assert!(r.get("error").is_none(), "{}: {r}", f.display());
            let annotated = f.with_extension("txt").is_file();
            let segs = if annotated {
                &r["cycles"]
            } else {
                &r["windows"]
            };
            let segs = segs
                .as_array()
                .unwrap_or_else(|| panic!("{}: {r}", f.display()));
            assert!(!segs.is_empty());
            for key in ["start_s", "end_s", "label", "probabilities"] {
                assert!(segs[0].get(key).is_some(), "{key} missing in {r}");
            }
            assert!(r["summary"]["label"].is_string());
            if annotated {
                let lines = std::fs::read_to_string(f.with_extension("txt")).unwrap();
                assert_eq!(
                    segs.len(),
                    lines.lines().filter(|l| !l.trim().is_empty()).count()
                );
            }
        }
    }
    // Text output, windows forced, and a file that does not exist.
    auscult()
        .args(["classify", "--windows", "--model"])
        .arg(&run)
        .arg(&files[files.len() - 1])
        .arg(t.join("missing.wav"))
        .assert()
        .success()
        .stdout(predicate::str::contains("missing.wav: error"));
    // Nothing classifiable: failure.
    auscult()
        .args(["classify", "--model"])
        .arg(&run)
        .arg(t.join("missing.wav"))
        .assert()
        .failure();
}

fn auscult_mel_default() -> auscult_audio::MelConfig {
    auscult_classifier::default_mel()
}

#[test]
fn a_dataset_without_an_official_split_trains_on_patient_disjoint_folds_by_default() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("coswara");
    auscult()
        .args(["synth", "coswara", "--quick", "--seed", "2", "--out"])
        .arg(&data)
        .assert()
        .success();
    let run = tmp.path().join("run");
    auscult()
        .args(["train", "--epochs", "1", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&run)
        .assert()
        .success()
        .stderr(
            predicate::str::contains("no official split")
                .and(predicate::str::contains("--split fold:5:0:0")),
        );
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("data.json")).unwrap()).unwrap();
    assert_eq!(
        spec["split"],
        serde_json::json!({"kind": "fold", "k": 5, "index": 0, "seed": 0})
    );
    // `evaluate` reuses the recorded split (the folds themselves are tested in `datasets`).
    let out = auscult()
        .args(["evaluate", "--json", "--bootstrap", "0", "--model"])
        .arg(&run)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let eval: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(eval["n"].as_u64().unwrap() > 0);
    // An explicit --split official is still refused with the reason.
    auscult()
        .args(["train", "--epochs", "1", "--split", "official", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(tmp.path().join("run-official"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("no official split"));
}
