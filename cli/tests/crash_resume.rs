//! Crash consistency of `auscult train`: runs aborted by the test-only fault hook
//! (`AUSCULT_FAULT_AFTER_CHECKPOINT_FILE`, see `auscult_experiment::Checkpoint`) at several
//! points of saving a checkpoint resume to the uninterrupted run's result, bit for bit, with
//! each epoch logged once; a run killed before its first checkpoint starts again and says so.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use auscult_classifier::ModelConfig;
use auscult_experiment::{FAULT_AFTER_CHECKPOINT_FILE, load_module, read_json, seeded_rng};
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use predicates::prelude::*;

mod common;
use common::{auscult, synth_icbhi};

const EPOCHS: usize = 3;

/// The shared corpus, config and uninterrupted run (built once for all tests of this file).
struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    data: PathBuf,
    config: PathBuf,
    full: PathBuf,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let data = root.join("icbhi");
        synth_icbhi(&data, 12, 3);
        // A tiny CNN on 16 Mel bins at 8 kHz, 1 s examples, with dropout, SpecAugment and
        // Balanced Mixup so that every random stream matters on resume.
        let mut cfg = auscult_classifier::TrainConfig::default();
        cfg.examples.sample_rate = 8000;
        cfg.examples.length_s = 1.0;
        cfg.mel.sample_rate = 8000;
        cfg.mel.n_fft = 256;
        cfg.mel.win_length = 256;
        cfg.mel.hop_length = 128;
        cfg.mel.n_mels = 16;
        cfg.mel.f_max = Some(4000.0);
        cfg.model = auscult_classifier::CnnConfig::new()
            .with_channels(vec![4, 8])
            .with_projection_dim(8)
            .with_dropout(0.2);
        cfg.batch_size = 8;
        cfg.lr = 3e-3;
        cfg.warmup_epochs = 0;
        cfg.bootstrap = 10;
        cfg.supcon_weight = 0.3;
        cfg.mixup = auscult_classifier::MixupMode::Balanced;
        cfg.spec_augment = Some(auscult_classifier::SpecAugment::default());
        let config = root.join("tiny.json");
        std::fs::write(&config, serde_json::to_string(&cfg).unwrap()).unwrap();
        let full = root.join("full");
        train(&data, &config, &full, None).success();
        Fixture {
            _tmp: tmp,
            root,
            data,
            config,
            full,
        }
    })
}

/// `auscult train` of [`EPOCHS`] epochs into `out`, aborted after the `fault`-th checkpoint
/// write when given.
fn train(
    data: &Path,
    config: &Path,
    out: &Path,
    fault: Option<usize>,
) -> assert_cmd::assert::Assert {
    let mut cmd = auscult();
    cmd.args(["train", "--seed", "5", "--val-fraction", "0.25", "--json"])
        .arg("--epochs")
        .arg(EPOCHS.to_string())
        .arg("--data")
        .arg(data)
        .arg("--config")
        .arg(config)
        .arg("--out")
        .arg(out);
    if let Some(n) = fault {
        // Aborted: any core file lands beside the run, not in the source tree.
        cmd.env(FAULT_AFTER_CHECKPOINT_FILE, n.to_string())
            .current_dir(out.parent().unwrap());
    }
    cmd.assert()
}

fn resume(out: &Path) -> serde_json::Value {
    let stdout = auscult()
        .arg("train")
        .arg("--resume")
        .arg(out)
        .arg("--json")
        .env_remove(FAULT_AFTER_CHECKPOINT_FILE)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&stdout).unwrap()
}

/// Every float parameter of a saved CNN, as bits, in visiting order.
struct Bits(Vec<Vec<u32>>);

impl ModuleVisitor for Bits {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let values: Vec<f32> = param.val().into_data().try_to_vec::<f32>().unwrap();
        self.0.push(values.iter().map(|v| v.to_bits()).collect());
    }
}

fn weights(run: &Path, file: &str) -> Vec<Vec<u32>> {
    let config: ModelConfig = read_json(run.join("config.json")).unwrap();
    let device = Device::flex();
    let model = config
        .train
        .model
        .init(config.classes.len(), &device, &mut seeded_rng(0, 0))
        .unwrap();
    let model = load_module(model, run.join(file)).unwrap();
    let mut bits = Bits(Vec::new());
    model.visit(&mut bits);
    assert!(!bits.0.is_empty());
    bits.0
}

/// `metrics.jsonl` without its wall-clock field.
fn metrics(run: &Path) -> Vec<serde_json::Value> {
    auscult_experiment::read_metrics(run.join("metrics.jsonl"))
        .unwrap()
        .into_iter()
        .map(|mut v| {
            v.as_object_mut().unwrap().remove("seconds");
            v
        })
        .collect()
}

/// The report without what differs between invocations (timing, directory, how it began).
fn comparable(mut report: serde_json::Value) -> serde_json::Value {
    for key in ["run_dir", "steps_per_second", "start"] {
        report.as_object_mut().unwrap().remove(key);
    }
    report
}

/// Kills a run after each of `faults` checkpoint writes, resumes it, and checks it against the
/// uninterrupted run; returns how each resume began.
fn kill_and_resume(name: &str, faults: &[usize]) -> Vec<serde_json::Value> {
    let f = fixture();
    let full_report: serde_json::Value = read_json(f.full.join("report.json")).unwrap();
    let full_metrics = metrics(&f.full);
    let epochs: Vec<u64> = full_metrics
        .iter()
        .map(|v| v["epoch"].as_u64().unwrap())
        .collect();
    assert_eq!(epochs, (1..=EPOCHS as u64).collect::<Vec<_>>());
    let mut starts = Vec::new();
    for &n in faults {
        let out = f.root.join(format!("{name}-killed-{n}"));
        train(&f.data, &f.config, &out, Some(n))
            .failure()
            .stdout(predicate::str::is_empty());
        let report = resume(&out);
        starts.push(report["start"].clone());
        assert_eq!(
            comparable(report),
            comparable(full_report.clone()),
            "report after a kill at write {n}"
        );
        assert_eq!(
            metrics(&out),
            full_metrics,
            "metrics after a kill at write {n}"
        );
        for file in ["model.bpk", "best.bpk"] {
            assert!(
                weights(&out, file) == weights(&f.full, file),
                "{file} after a kill at write {n} differs from the uninterrupted run's"
            );
        }
        // One committed checkpoint is left, and no stray.
        let mut dirs: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("checkpoint"))
            .collect();
        dirs.sort();
        assert_eq!(
            dirs,
            [
                format!("checkpoint-{EPOCHS}"),
                "checkpoint.json".to_string()
            ]
        );
    }
    starts
}

// A checkpoint of the classifier is 8 writes: model.bpk, optimizer.bpk and best.bpk into the
// temporary directory, its rename, the manifest (the commit), the removal of the older
// checkpoint, then model.bpk and best.bpk published at the top level.

#[test]
fn killed_while_saving_the_first_checkpoint_it_starts_again_and_says_so() {
    // After optimizer.bpk; after renaming the directory, before the commit.
    let starts = kill_and_resume("first", &[2, 4]);
    assert_eq!(starts, ["restarted", "restarted"]);
    // The text output says so too.
    let f = fixture();
    let out = f.root.join("first-text");
    train(&f.data, &f.config, &out, Some(1)).failure();
    auscult()
        .arg("train")
        .arg("--resume")
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains("no committed checkpoint"));
}

#[test]
fn killed_while_saving_a_later_checkpoint_it_resumes_to_the_same_result() {
    // Just after the first commit (before its clean-up and publishing); in the middle of the
    // second checkpoint's files; after the second checkpoint published model.bpk but not yet
    // best.bpk.
    let starts = kill_and_resume("later", &[5, 11, 15]);
    let resumed = |e: u64| serde_json::json!({"resumed": {"epoch": e}});
    assert_eq!(starts, [resumed(1), resumed(1), resumed(2)]);
}

#[test]
fn killed_with_sigkill_at_random_moments_it_resumes_to_the_same_result() {
    // The whole process is killed (SIGKILL, no chance to clean up) after a random delay, then
    // resumed, again and again until a resume finishes: every epoch is logged once and the
    // result is the uninterrupted run's. A longer run (12 epochs) than the other tests', so
    // that many kills land, in loading, training and saving alike.
    const LONG: &str = "12";
    let f = fixture();
    let bin = assert_cmd::cargo::cargo_bin("auscult");
    let fresh = |out: &Path| {
        let mut cmd = std::process::Command::new(&bin);
        cmd.args(["train", "--seed", "5", "--val-fraction", "0.25", "--json"])
            .args(["--epochs", LONG])
            .arg("--data")
            .arg(&f.data)
            .arg("--config")
            .arg(&f.config)
            .arg("--out")
            .arg(out)
            .env_remove(FAULT_AFTER_CHECKPOINT_FILE)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        cmd
    };
    let reference = f.root.join("sigkill-reference");
    let started = std::time::Instant::now();
    assert!(fresh(&reference).status().unwrap().success());
    // Delays up to a third of one whole run on this machine (measured); at most 30 kills,
    // then a resume runs to the end.
    let whole = (started.elapsed().as_millis() as u64 / 3).max(20);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next_delay = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::time::Duration::from_millis(5 + x % whole)
    };
    let out = f.root.join("sigkill");
    let (mut kills, mut finished) = (0, false);
    for attempt in 0..30 {
        let mut cmd = if out.join("config.json").exists() {
            let mut c = std::process::Command::new(&bin);
            c.args(["train", "--json", "--resume"])
                .arg(&out)
                .env_remove(FAULT_AFTER_CHECKPOINT_FILE)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            c
        } else {
            // Killed before it wrote its configuration: start it again.
            let _ = std::fs::remove_dir_all(&out);
            fresh(&out)
        };
        let mut child = cmd.spawn().unwrap();
        std::thread::sleep(next_delay());
        match child.try_wait().unwrap() {
            Some(status) => {
                assert!(status.success(), "attempt {attempt} failed: {status}");
                finished = true;
                break;
            }
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                kills += 1;
            }
        }
    }
    if !finished {
        // 30 kills landed: the run goes to the end uninterrupted, resumed, or started again
        // when the last kill came before it wrote its configuration.
        if out.join("config.json").exists() {
            resume(&out);
        } else {
            let _ = std::fs::remove_dir_all(&out);
            assert!(fresh(&out).status().unwrap().success());
        }
    }
    assert!(kills >= 5, "only {kills} kills landed");
    assert_eq!(metrics(&out), metrics(&reference), "after {kills} kills");
    for file in ["model.bpk", "best.bpk"] {
        assert!(
            weights(&out, file) == weights(&reference, file),
            "{file} after {kills} kills differs from the uninterrupted run's"
        );
    }
    eprintln!("{kills} kills, then the uninterrupted run's result");
}
