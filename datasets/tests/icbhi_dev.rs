//! Opt-in tests on the real ICBHI 2017 development set in `../shared/data/icbhi-dev` (114
//! recordings, 36 patients, 1,243 cycles; too large to keep in the repository).
//!
//! Ignored by default; `.ci/run` runs them with `cargo test -p auscult-datasets --test
//! icbhi_dev -- --ignored`. `AUSCULT_ICBHI_DEV` points elsewhere.

use std::collections::BTreeSet;
use std::path::PathBuf;

use auscult_datasets::{ExampleConfig, LoadOptions, SplitSpec, inspect, load_examples};

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

fn counts(map: &std::collections::BTreeMap<String, usize>) -> [usize; 4] {
    ["normal", "crackle", "wheeze", "both"].map(|c| map.get(c).copied().unwrap_or(0))
}

#[test]
#[ignore = "needs ../shared/data/icbhi-dev; run by .ci/run"]
fn inspect_gives_the_official_counts() {
    let ins = inspect(&root(), None).unwrap();
    assert_eq!(ins.recordings, 114);
    assert_eq!(ins.patients, 36);
    assert_eq!(counts(&ins.classes), [798, 166, 201, 78]);
    assert_eq!(counts(&ins.splits["train"]), [561, 123, 110, 41]);
    assert_eq!(counts(&ins.splits["test"]), [237, 43, 91, 37]);
    assert_eq!(ins.sample_rates.get(&4000), Some(&72));
    assert_eq!(ins.sample_rates.get(&44100), Some(&42));
    assert!(ins.problems.is_empty(), "{:?}", ins.problems);
}

#[test]
#[ignore = "needs ../shared/data/icbhi-dev; run by .ci/run"]
fn cv_folds_cover_the_training_patients_only() {
    let short = ExampleConfig {
        sample_rate: 4000,
        length_s: 1.0,
        ..ExampleConfig::default()
    };
    let official = load_examples(
        &root(),
        &LoadOptions {
            examples: short.clone(),
            val_fraction: 0.0,
            ..LoadOptions::default()
        },
    )
    .unwrap();
    let ids = |v: &[auscult_datasets::Example]| -> BTreeSet<String> {
        v.iter().map(|e| e.id.clone()).collect()
    };
    let train_ids = ids(&official.train);
    let mut held_out = BTreeSet::new();
    for index in 0..4 {
        let set = load_examples(
            &root(),
            &LoadOptions {
                split: SplitSpec::Cv {
                    k: 4,
                    index,
                    seed: 0,
                },
                examples: short.clone(),
                val_fraction: 0.0,
                ..LoadOptions::default()
            },
        )
        .unwrap();
        let (tr, te) = (ids(&set.train), ids(&set.test));
        assert_eq!(tr.len() + te.len(), 835, "fold {index}");
        assert!(
            tr.union(&te).all(|id| train_ids.contains(id)),
            "fold {index} uses test cycles"
        );
        let train_patients: BTreeSet<&str> = set.train.iter().map(|e| e.patient.as_str()).collect();
        assert!(
            set.test
                .iter()
                .all(|e| !train_patients.contains(e.patient.as_str()))
        );
        assert!(
            held_out.is_disjoint(&te),
            "fold {index} repeats held-out cycles"
        );
        held_out.extend(te);
    }
    assert_eq!(held_out, train_ids);
}
