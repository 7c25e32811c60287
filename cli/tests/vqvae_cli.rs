//! `auscult train-vqvae`, `train-prior` and `generate` end to end on a tiny synthetic corpus,
//! read back with `auscult dataset inspect`.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use predicates::prelude::*;

mod common;
use common::{auscult, synth_icbhi};

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn train_vqvae_train_prior_generate_and_inspect() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let data = t.join("icbhi");
    synth_icbhi(&data, 10, 4);

    let vq_cfg = t.join("vq.json");
    write(
        &vq_cfg,
        r#"{"model": {"channels": [8, 16], "res_blocks": 1, "codebook_size": 32, "code_dim": 8,
            "class_embedding": 4}, "batch_size": 8, "lr": 0.003, "schedule": {"kind": "constant"}}"#,
    );
    let vq = t.join("vq");
    let out = auscult()
        .args([
            "train-vqvae",
            "--split",
            "all",
            "--epochs",
            "2",
            "--seed",
            "1",
            "--json",
            "--data",
        ])
        .arg(&data)
        .arg("--config")
        .arg(&vq_cfg)
        .arg("--out")
        .arg(&vq)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["epochs"], 2);
    assert!(report["codes_used"].as_u64().unwrap() > 1, "{report}");
    for f in [
        "config.json",
        "model.bpk",
        "vq_state.json",
        "metrics.jsonl",
        "reconstructions.png",
        "checkpoint.json",
        "checkpoint-2/optimizer.bpk",
        "checkpoint-2/vq_state.json",
    ] {
        assert!(vq.join(f).is_file(), "missing {f}");
    }
    // A second run into the same directory is refused; --resume continues it.
    auscult()
        .args(["train-vqvae", "--split", "all", "--epochs", "3", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&vq)
        .assert()
        .failure()
        .stderr(predicate::str::contains("--resume"));
    auscult()
        .args([
            "train-vqvae",
            "--split",
            "all",
            "--epochs",
            "3",
            "--resume",
            "--seed",
            "1",
            "--data",
        ])
        .arg(&data)
        .arg("--out")
        .arg(&vq)
        .assert()
        .success()
        .stdout(predicate::str::contains("3 epochs"));
    let lines = std::fs::read_to_string(vq.join("metrics.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 3);

    let prior_cfg = t.join("prior.json");
    write(
        &prior_cfg,
        r#"{"model": {"d_model": 16, "n_heads": 2, "n_layers": 1, "d_ff": 32, "dropout": 0.0},
            "batch_size": 8, "lr": 0.003}"#,
    );
    let prior = t.join("prior");
    auscult()
        .args([
            "train-prior",
            "--split",
            "all",
            "--epochs",
            "2",
            "--seed",
            "1",
            "--vqvae",
        ])
        .arg(&vq)
        .arg("--data")
        .arg(&data)
        .arg("--config")
        .arg(&prior_cfg)
        .arg("--out")
        .arg(&prior)
        .assert()
        .success()
        .stdout(predicate::str::contains("bits per code"));

    let corpus = t.join("corpus");
    auscult()
        .args([
            "generate", "--class", "wheeze", "--class", "both", "--count", "3", "--top-k", "8",
            "--seed", "2",
        ])
        .arg("--prior")
        .arg(&prior)
        .arg("--out")
        .arg(&corpus)
        .assert()
        .success()
        .stdout(predicate::str::contains("generated 6 samples"));
    assert!(corpus.join("contact_sheet.png").is_file());
    assert!(corpus.join("quality.json").is_file());
    let out = auscult()
        .args(["dataset", "inspect", "--json"])
        .arg(&corpus)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let inspection: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let text = inspection.to_string();
    assert!(text.contains("wheeze") && text.contains("both"), "{text}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(corpus.join("manifest.json")).unwrap()).unwrap();
    let samples = manifest["samples"].as_array().unwrap();
    assert_eq!(samples.iter().filter(|s| s["class"] == "wheeze").count(), 3);
    assert_eq!(samples.iter().filter(|s| s["class"] == "both").count(), 3);
    assert_eq!(
        manifest["generator"]["texture"], true,
        "texture is on by default"
    );

    // --no-texture: the same codes, decoded to the decoder's mean, recorded as such.
    let mean_corpus = t.join("corpus-mean");
    auscult()
        .args([
            "generate",
            "--class",
            "wheeze",
            "--class",
            "both",
            "--count",
            "3",
            "--top-k",
            "8",
            "--seed",
            "2",
            "--no-texture",
        ])
        .arg("--prior")
        .arg(&prior)
        .arg("--out")
        .arg(&mean_corpus)
        .assert()
        .success()
        .stdout(predicate::str::contains("decoder mean (no texture)"));
    let mean_manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(mean_corpus.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(mean_manifest["generator"]["texture"], false);
    let first = samples[0]["file"].as_str().unwrap();
    assert_ne!(
        std::fs::read(corpus.join(first)).unwrap(),
        std::fs::read(mean_corpus.join(first)).unwrap(),
        "the texture must change the samples"
    );

    // An unknown class is an error listing the valid ones.
    auscult()
        .args(["generate", "--class", "stridor", "--count", "1", "--prior"])
        .arg(&prior)
        .arg("--out")
        .arg(t.join("bad"))
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("stridor")
                .and(predicate::str::contains("normal, crackle, wheeze, both")),
        );
}
