//! `auscult synth` and `auscult dataset inspect`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use predicates::prelude::*;

mod common;
use common::{auscult, fixtures};
use serde_json::Value;

fn json_of(cmd: &mut Command) -> Value {
    let out = cmd.assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out)))
}

#[test]
fn synth_icbhi_then_inspect_round_trips_the_counts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("icbhi");
    let report = json_of(
        auscult()
            .args([
                "synth",
                "icbhi",
                "--quick",
                "--patients",
                "8",
                "--seed",
                "3",
                "--json",
                "--out",
            ])
            .arg(&out),
    );
    let inspected = json_of(auscult().args(["dataset", "inspect", "--json"]).arg(&out));
    assert_eq!(inspected["format"], "icbhi");
    for key in [
        "recordings",
        "patients",
        "classes",
        "splits",
        "sample_rates",
    ] {
        assert_eq!(inspected[key], report[key], "{key}");
    }
    assert_eq!(inspected["problems"], Value::Array(vec![]));
    let classes: Vec<&str> = inspected["classes"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(classes, ["both", "crackle", "normal", "wheeze"]);
    assert_eq!(report["patients"], 8);

    // Text output names the classes and splits.
    auscult()
        .args([
            "synth",
            "icbhi",
            "--quick",
            "--patients",
            "4",
            "--cycles",
            "2-2",
            "--out",
        ])
        .arg(dir.path().join("text"))
        .assert()
        .success()
        .stdout(predicate::str::contains("normal").and(predicate::str::contains("train")));
    auscult()
        .args(["dataset", "inspect"])
        .arg(&out)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("ICBHI 2017 (official layout)")
                .and(predicate::str::contains("no problems found")),
        );

    // A second run into the same folder is refused unless --force.
    auscult()
        .args(["synth", "icbhi", "--quick", "--out"])
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicate::str::contains("not empty"));
}

#[test]
fn synth_coswara_then_inspect_counts_header_only_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("coswara");
    let report = json_of(
        auscult()
            .args([
                "synth",
                "coswara",
                "--quick",
                "--patients",
                "4",
                "--json",
                "--out",
            ])
            .arg(&out),
    );
    let inspected = json_of(
        auscult()
            .args(["dataset", "inspect", "--json", "--format", "coswara"])
            .arg(&out),
    );
    for key in [
        "format",
        "recordings",
        "patients",
        "classes",
        "sample_rates",
    ] {
        assert_eq!(inspected[key], report[key], "{key}");
    }
    assert_eq!(inspected["empty_files"], report["header_only_files"]);
    let problems = inspected["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2);
    assert!(
        problems.iter().all(
            |p| p["path"].is_string() && p["problem"].as_str().unwrap().contains("zero frames")
        )
    );
}

#[test]
fn inspect_the_real_icbhi_fixture() {
    let v = json_of(
        auscult()
            .args(["dataset", "inspect", "--json"])
            .arg(fixtures().join("icbhi")),
    );
    assert_eq!(v["format"], "icbhi");
    assert_eq!(v["recordings"], 4);
    assert_eq!(v["patients"], 3);
    assert_eq!(v["classes"]["normal"], 26);
    assert_eq!(v["classes"]["crackle"], 1);
    assert_eq!(v["classes"]["wheeze"], 4);
    assert_eq!(v["classes"]["both"], 1);
    assert_eq!(v["splits"]["train"]["wheeze"], 4);
    assert_eq!(v["splits"]["test"]["normal"], 25);
    assert_eq!(v["sample_rates"]["4000"], 2);
    assert_eq!(v["sample_rates"]["44100"], 2);
    assert_eq!(v["problems"], Value::Array(vec![]));
}

#[test]
fn inspect_the_real_coswara_fixture_lists_problems_and_exits_0() {
    let root = fixtures().join("coswara");
    let v = json_of(auscult().args(["dataset", "inspect", "--json"]).arg(&root));
    assert_eq!(v["format"], "coswara");
    assert_eq!(v["patients"], 3);
    assert_eq!(v["classes"]["healthy"], 3);
    assert_eq!(v["sample_rates"]["48000"], 2);
    let problems = v["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 10);
    assert!(
        problems
            .iter()
            .any(|p| p["path"].as_str().unwrap().ends_with("counting-fast.wav"))
    );
    auscult()
        .args(["dataset", "inspect"])
        .arg(&root)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("problems (10)").and(predicate::str::contains("zero frames")),
        );
}

#[test]
fn not_a_dataset_exits_non_zero_saying_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    auscult()
        .args(["dataset", "inspect"])
        .arg(dir.path())
        .assert()
        .failure()
        .stderr(predicate::str::contains("Error:").and(predicate::str::contains("expected")));
    auscult()
        .args(["dataset", "inspect", "--json"])
        .arg(dir.path().join("nowhere"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("does not exist"));
    auscult()
        .args(["dataset", "inspect", "--format", "coswara"])
        .arg(fixtures().join("icbhi"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("YYYYMMDD"));
    auscult()
        .args(["dataset", "inspect", "--format", "audio"])
        .arg(dir.path())
        .assert()
        .failure()
        .stderr(predicate::str::contains("icbhi, coswara, folder, corpus"));
}
