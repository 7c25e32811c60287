//! `auscult demo --quick` end to end: synthetic corpus, VQ-VAE, prior, generation, three
//! classifier arms, evaluation, report. Tiny sizes, so it checks that every step runs and
//! writes what it should, not what the numbers are.

#![allow(clippy::unwrap_used)]

use assert_cmd::Command;

#[test]
fn demo_quick_runs_every_step_and_writes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let assert = Command::cargo_bin("auscult")
        .unwrap()
        .args(["demo", "--quick", "--seed", "3", "--json", "--out"])
        .arg(&out)
        .assert()
        .success();
    let report: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();

    // Three arms were trained and evaluated on the test patients.
    let summary = report["summary"].as_array().unwrap();
    let arms: Vec<&str> = summary.iter().map(|s| s["arm"].as_str().unwrap()).collect();
    assert_eq!(arms, ["plain", "mixup-supcon", "augmented"]);
    for s in summary {
        for metric in ["specificity", "sensitivity", "score", "macro_f1"] {
            let v = s[metric]["mean"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "{metric} = {v}");
        }
    }
    let per_seed = &report["per_seed"][0];
    assert_eq!(per_seed["seed"], 3);
    let n_test = per_seed["arms"]["plain"]["n"].as_u64().unwrap();
    assert!(n_test > 0);

    // Minority classes were generated up to the majority count; normal (the majority) not.
    let generated = per_seed["generated"].as_object().unwrap();
    assert!(
        generated.values().any(|n| n.as_u64().unwrap() > 0),
        "{generated:?}"
    );
    assert_eq!(
        generated
            .get("normal")
            .and_then(|n| n.as_u64())
            .unwrap_or(0),
        0
    );

    // Every step's command is recorded and the artifacts exist.
    let commands = step_commands(&report);
    for sub in [
        "synth icbhi",
        "dataset inspect",
        "train-vqvae",
        "train-prior",
        "generate",
        "train ",
        "evaluate",
    ] {
        assert!(
            commands.iter().any(|c| c.contains(sub)),
            "no `{sub}` step in {commands:?}"
        );
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("| (c) Balanced Mixup + SupCon + generated corpus |"),
        "{md}"
    );
    assert!(md.contains("auscult train-vqvae"));
    for f in [
        "report.json",
        "inspection.json",
        "figures/confusion-a-plain-seed3.png",
        "seed-3/generated/manifest.json",
        "seed-3/c-augmented/config.json",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }

    // Arms (c) and (b) paired cycle by cycle on the test patients.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let paired = report["paired"].as_array().unwrap();
    assert_eq!(paired.len(), 1, "{paired:?}");
    assert_eq!(paired[0]["arm"], "augmented");
    assert_eq!(paired[0]["baseline"], "mixup-supcon");
    let ci = paired[0]["score"]["ci95"].as_array().unwrap();
    let difference = paired[0]["score"]["difference"].as_f64().unwrap();
    assert!(ci[0].as_f64().unwrap() <= difference && difference <= ci[1].as_f64().unwrap());
    assert!(
        out.join("seed-3/c-augmented/test-predictions.csv")
            .is_file()
    );
    assert!(md.contains("### Paired differences"), "{md}");
    // The corpus measured through arm (b)'s classifier, in the report.
    let quality = report["per_seed"][0]["quality"].as_array().unwrap();
    assert!(!quality.is_empty(), "{report}");
    assert!(md.contains("| class | Fréchet distance |"), "{md}");

    // The generated corpus seen through arm (b), a classifier trained on real (here synthetic)
    // examples only: every generated class measured against the test examples.
    let assert = Command::cargo_bin("auscult")
        .unwrap()
        .args(["quality", "--json", "--corpus"])
        .arg(out.join("seed-3/generated"))
        .arg("--model")
        .arg(out.join("seed-3/b-mixup-supcon"))
        .assert()
        .success();
    let quality: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    let classes = quality["classes"].as_array().unwrap();
    let generated_classes = generated.values().filter(|n| n.as_u64() > Some(0)).count();
    assert_eq!(classes.len(), generated_classes, "{quality}");
    for c in classes {
        assert!(c["n_generated"].as_u64().unwrap() > 0, "{c}");
        if let Some(f) = c["frechet"].as_f64() {
            assert!(f >= 0.0, "{c}");
        }
        let p = c["p_class_generated"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "{c}");
        // The ratios at matched sizes, of the generated samples and of the real training
        // examples (null only when a class has too few test examples for two halves).
        for key in [
            "frechet_ratio_matched",
            "train_ratio_matched",
            "frechet_ratio_patients",
            "train_ratio_patients",
        ] {
            let v = c.get(key).unwrap_or_else(|| panic!("no {key}: {c}"));
            assert!(v.is_null() || v.as_f64().unwrap() >= 0.0, "{c}");
        }
    }

    // A sweep reuses the demo's VQ-VAE and prior (`--generator-from`), with its own corpus
    // size, sampling, mixing ratio and gate: the slow generator steps are not run again.
    let sweep = dir.path().join("sweep");
    let assert = Command::cargo_bin("auscult")
        .unwrap()
        .args([
            "study", "--quick", "--seeds", "1", "--seed", "3", "--arms", "e",
        ])
        .args(["--target", "20", "--top-k", "32", "--temperature", "0.8"])
        .args([
            "--augment-ratio",
            "0.5",
            "--gate-threshold",
            "0.2",
            "--gate-relative",
            "--json",
        ])
        .arg("--data")
        .arg(out.join("synth"))
        .arg("--generator-from")
        .arg(&out)
        .arg("--out")
        .arg(&sweep)
        .assert()
        .success();
    let report: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    let commands = step_commands(&report);
    assert_trains_no_generator(&commands);
    assert!(
        commands.iter().any(|c| c.contains("--target 20")),
        "{commands:?}"
    );
    assert!(
        commands.iter().any(|c| c.contains("--augment-ratio 0.5")),
        "{commands:?}"
    );
    let arms: Vec<&str> = report["summary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["arm"].as_str().unwrap())
        .collect();
    assert_eq!(arms, ["plain", "gated"], "the gate needs arm (a)");
    let per_seed = &report["per_seed"][0];
    let generated = per_seed["generated"].as_object().unwrap();
    let kept = per_seed["gate_kept"].as_object().unwrap();
    for (class, n) in generated {
        let n = n.as_u64().unwrap();
        assert!(n <= 20, "{class}: {n} generated with --target 20");
        assert!(kept.get(class).and_then(|k| k.as_u64()).unwrap_or(0) <= n);
        if n > 0 {
            let p = per_seed["gate_mean_probability"][class].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&p), "{class}: {p}");
        }
    }
    // The relative gate's thresholds: 0.2 x a median probability, so within [0, 0.2].
    let thresholds = per_seed["gate_thresholds"].as_object().unwrap();
    assert!(!thresholds.is_empty());
    assert!(
        thresholds
            .values()
            .all(|t| (0.0..=0.2).contains(&t.as_f64().unwrap())),
        "{thresholds:?}"
    );
    let real = per_seed["real_mean_probability"].as_object().unwrap();
    assert!(!real.is_empty());
    assert!(
        real.values()
            .all(|p| (0.0..=1.0).contains(&p.as_f64().unwrap())),
        "{real:?}"
    );
    assert!(sweep.join("seed-3/generated-gated/manifest.json").is_file());

    // One prior directory shared by two seeds: each generates its own corpus from it, and the
    // paired comparison spans both seeds.
    let shared = dir.path().join("shared");
    let assert = Command::cargo_bin("auscult")
        .unwrap()
        .args([
            "study", "--quick", "--seeds", "2", "--seed", "3", "--arms", "b,c", "--json",
        ])
        .arg("--data")
        .arg(out.join("synth"))
        .arg("--generator-from")
        .arg(out.join("seed-3/prior"))
        .arg("--out")
        .arg(&shared)
        .assert()
        .success();
    let report: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    let commands = step_commands(&report);
    assert_trains_no_generator(&commands);
    assert!(shared.join("seed-4/generated/manifest.json").is_file());
    let paired = &report["paired"][0];
    assert_eq!(paired["seeds"], serde_json::json!([3, 4]));
    assert_eq!(paired["score"]["per_pair"].as_array().unwrap().len(), 2);
    assert!(paired["score"]["seed_ci95"].is_array(), "{paired}");

    // Reusing a generator that is not there is an error naming the missing prior.
    let missing = dir.path().join("nothing");
    Command::cargo_bin("auscult")
        .unwrap()
        .args(["study", "--quick", "--seeds", "1", "--arms", "c"])
        .arg("--data")
        .arg(out.join("synth"))
        .arg("--generator-from")
        .arg(&missing)
        .arg("--out")
        .arg(dir.path().join("sweep2"))
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "neither a prior directory nor a study with a trained prior for seed 0",
        ));
}

/// The command of every step of a study's report.
fn step_commands(report: &serde_json::Value) -> Vec<&str> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["command"].as_str().unwrap())
        .collect()
}

/// A study that reused its generator ran neither generator training step.
fn assert_trains_no_generator(commands: &[&str]) {
    assert!(
        !commands
            .iter()
            .any(|c| c.contains("train-vqvae") || c.contains("train-prior")),
        "{commands:?}"
    );
}
