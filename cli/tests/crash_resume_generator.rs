//! Crash consistency of `auscult train-vqvae` and `auscult train-prior`: runs aborted by the
//! test-only fault hook (`AUSCULT_FAULT_AFTER_CHECKPOINT_FILE`, see
//! `auscult_experiment::Checkpoint`) before, inside and after saving a checkpoint resume to the
//! uninterrupted run's result: the same per-epoch metrics (every epoch logged once), the same
//! codebook state and the same report.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use auscult_experiment::{FAULT_AFTER_CHECKPOINT_FILE, LrSchedule, read_json};
use auscult_vqvae::{PriorConfig, PriorTrainConfig, VqVaeConfig, VqVaeTrainConfig};

mod common;
use common::{auscult, synth_icbhi};

const EPOCHS: usize = 3;

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    data: PathBuf,
    vq_config: PathBuf,
    prior_config: PathBuf,
    vq_full: PathBuf,
    prior_full: PathBuf,
    /// The uninterrupted runs' reports (as printed).
    vq_report: serde_json::Value,
    prior_report: serde_json::Value,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let data = root.join("icbhi");
        synth_icbhi(&data, 12, 4);
        // A tiny VQ-VAE (16 x 16 codes) and prior, constant learning rate.
        let vq = VqVaeTrainConfig {
            model: VqVaeConfig {
                channels: [8, 16],
                res_blocks: 1,
                codebook_size: 32,
                code_dim: 8,
                class_embedding: 4,
                strides: vec![[2, 2], [2, 2], [1, 2]],
                ..VqVaeConfig::default()
            },
            batch_size: 8,
            lr: 3e-3,
            schedule: LrSchedule::Constant,
            reconstructions: 2,
            ..VqVaeTrainConfig::default()
        };
        let prior = PriorTrainConfig {
            model: PriorConfig {
                d_model: 32,
                n_heads: 2,
                n_layers: 1,
                d_ff: 64,
                dropout: 0.1,
                ..PriorConfig::default()
            },
            batch_size: 8,
            lr: 3e-3,
            schedule: LrSchedule::Constant,
            placements: 2,
            ..PriorTrainConfig::default()
        };
        let vq_config = root.join("vq.json");
        std::fs::write(&vq_config, serde_json::to_string(&vq).unwrap()).unwrap();
        let prior_config = root.join("prior.json");
        std::fs::write(&prior_config, serde_json::to_string(&prior).unwrap()).unwrap();
        let vq_full = root.join("vq-full");
        let vq_report = comparable(
            &train_vqvae(&data, &vq_config, &vq_full, None)
                .success()
                .get_output()
                .stdout,
        );
        let prior_full = root.join("prior-full");
        let prior_report = comparable(
            &train_prior(&data, &vq_full, &prior_config, &prior_full, None)
                .success()
                .get_output()
                .stdout,
        );
        Fixture {
            _tmp: tmp,
            root,
            data,
            vq_config,
            prior_config,
            vq_full,
            prior_full,
            vq_report,
            prior_report,
        }
    })
}

fn with_fault(cmd: &mut assert_cmd::Command, out: &Path, fault: Option<usize>) {
    match fault {
        // Aborted: any core file lands beside the run, not in the source tree.
        Some(n) => {
            cmd.env(FAULT_AFTER_CHECKPOINT_FILE, n.to_string())
                .current_dir(out.parent().unwrap());
        }
        None => {
            cmd.env_remove(FAULT_AFTER_CHECKPOINT_FILE);
        }
    }
}

/// `auscult train-vqvae`, or `auscult train-prior` over `vqvae` when given, of [`EPOCHS`]
/// epochs into `out` (`--config` unless resuming), aborted after the `fault`-th checkpoint
/// write when given.
fn train_run(
    vqvae: Option<&Path>,
    data: &Path,
    config: &Path,
    out: &Path,
    fault: Option<usize>,
) -> assert_cmd::assert::Assert {
    let mut cmd = auscult();
    let subcommand = if vqvae.is_some() {
        "train-prior"
    } else {
        "train-vqvae"
    };
    cmd.args([subcommand, "--seed", "3", "--json", "--epochs"])
        .arg(EPOCHS.to_string())
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out);
    if let Some(v) = vqvae {
        cmd.arg("--vqvae").arg(v);
    }
    if out.join("config.json").exists() {
        cmd.arg("--resume");
    } else {
        cmd.arg("--config").arg(config);
    }
    with_fault(&mut cmd, out, fault);
    cmd.assert()
}

fn train_vqvae(
    data: &Path,
    config: &Path,
    out: &Path,
    fault: Option<usize>,
) -> assert_cmd::assert::Assert {
    train_run(None, data, config, out, fault)
}

fn train_prior(
    data: &Path,
    vqvae: &Path,
    config: &Path,
    out: &Path,
    fault: Option<usize>,
) -> assert_cmd::assert::Assert {
    train_run(Some(vqvae), data, config, out, fault)
}

/// `metrics.jsonl` without its wall-clock fields.
fn metrics(run: &Path) -> Vec<serde_json::Value> {
    auscult_experiment::read_metrics(run.join("metrics.jsonl"))
        .unwrap()
        .into_iter()
        .map(|mut v| {
            let o = v.as_object_mut().unwrap();
            o.remove("seconds");
            o.remove("steps_per_s");
            v
        })
        .collect()
}

/// A report without what differs between invocations (timing, directories, how it began).
fn comparable(stdout: &[u8]) -> serde_json::Value {
    let mut report: serde_json::Value = serde_json::from_slice(stdout).unwrap();
    for key in [
        "dir",
        "seconds",
        "steps_per_s",
        "start",
        "reconstructions_png",
    ] {
        report.as_object_mut().unwrap().remove(key);
    }
    report
}

fn checkpoint_dirs(out: &Path) -> Vec<String> {
    let mut dirs: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("checkpoint"))
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn a_killed_vqvae_run_resumes_to_the_uninterrupted_result() {
    let f = fixture();
    let full_metrics = metrics(&f.vq_full);
    assert_eq!(full_metrics.len(), EPOCHS);
    let full_report = f.vq_report.clone();
    let full_state: serde_json::Value = read_json(f.vq_full.join("vq_state.json")).unwrap();
    // In the first checkpoint (before its commit), just after a commit, in the middle of
    // the last one.
    for n in [2, 7, 17] {
        let out = f.root.join(format!("vq-killed-{n}"));
        train_vqvae(&f.data, &f.vq_config, &out, Some(n)).failure();
        let resumed = train_vqvae(&f.data, &f.vq_config, &out, None).success();
        assert_eq!(
            comparable(&resumed.get_output().stdout),
            full_report,
            "report after a kill at write {n}"
        );
        assert_eq!(
            metrics(&out),
            full_metrics,
            "metrics after a kill at write {n}"
        );
        let state: serde_json::Value = read_json(out.join("vq_state.json")).unwrap();
        assert_eq!(state, full_state, "codebook after a kill at write {n}");
        // Resuming the finished run trains nothing and reports the same. (Not on `vq_full`,
        // which the prior test reads meanwhile.)
        let again = train_vqvae(&f.data, &f.vq_config, &out, None).success();
        assert_eq!(comparable(&again.get_output().stdout), full_report);
        assert_eq!(
            checkpoint_dirs(&out),
            [
                format!("checkpoint-{EPOCHS}"),
                "checkpoint.json".to_string()
            ]
        );
    }
}

#[test]
fn a_killed_prior_run_resumes_to_the_uninterrupted_result() {
    let f = fixture();
    let full_metrics = metrics(&f.prior_full);
    assert_eq!(full_metrics.len(), EPOCHS);
    let full_report = f.prior_report.clone();
    // Resuming the finished run trains nothing and reports the same.
    let again = train_prior(&f.data, &f.vq_full, &f.prior_config, &f.prior_full, None).success();
    assert_eq!(comparable(&again.get_output().stdout), full_report);
    for n in [2, 6, 13] {
        let out = f.root.join(format!("prior-killed-{n}"));
        train_prior(&f.data, &f.vq_full, &f.prior_config, &out, Some(n)).failure();
        let resumed = train_prior(&f.data, &f.vq_full, &f.prior_config, &out, None).success();
        assert_eq!(
            comparable(&resumed.get_output().stdout),
            full_report,
            "report after a kill at write {n}"
        );
        assert_eq!(
            metrics(&out),
            full_metrics,
            "metrics after a kill at write {n}"
        );
        assert_eq!(
            checkpoint_dirs(&out),
            [
                format!("checkpoint-{EPOCHS}"),
                "checkpoint.json".to_string()
            ]
        );
    }
}
