//! The loaders on the real ICBHI 2017 and Coswara files of `testdata/fixtures/real`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use auscult_datasets::{
    CycleLabel, Device, ExampleConfig, ExampleSet, Format, IcbhiDatabase, IcbhiLayout, IcbhiSplit,
    LoadOptions, SplitSpec, cycle_counts, icbhi_names, inspect, load_examples, parse_demographics,
    parse_diagnosis,
};
use common::{copy, fixtures};

/// The fixture README's table: stem, cycles N/C/W/B, split, diagnosis.
const ICBHI_TABLE: [(&str, [usize; 4], IcbhiSplit, &str); 4] = [
    (
        "102_1b1_Ar_sc_Meditron",
        [13, 0, 0, 0],
        IcbhiSplit::Test,
        "Healthy",
    ),
    (
        "104_1b1_Al_sc_Litt3200",
        [6, 0, 0, 0],
        IcbhiSplit::Test,
        "COPD",
    ),
    (
        "104_1b1_Ll_sc_Litt3200",
        [6, 1, 0, 0],
        IcbhiSplit::Test,
        "COPD",
    ),
    (
        "130_1p3_Ll_mc_AKGC417L",
        [1, 0, 4, 1],
        IcbhiSplit::Train,
        "COPD",
    ),
];

#[test]
fn icbhi_fixture_has_the_readme_cycle_counts_split_and_diagnosis() {
    let root = fixtures().join("icbhi");
    let db = IcbhiDatabase::open(&root).unwrap();
    assert_eq!(db.layout, IcbhiLayout::Official);
    assert_eq!(db.recordings.len(), 4);
    assert!(db.problems.is_empty(), "{:?}", db.problems);
    for (rec, (stem, counts, split, diagnosis)) in db.recordings.iter().zip(ICBHI_TABLE) {
        assert_eq!(rec.name.stem(), stem);
        assert_eq!(cycle_counts(&rec.cycles), counts, "{stem}");
        assert_eq!(rec.split, Some(split), "{stem}");
        assert_eq!(db.diagnosis_of(rec.name.patient), Some(diagnosis), "{stem}");
    }
    // The 4 kHz recording's last cycle ends exactly at the end of the file (63424 samples).
    let al = &db.recordings[1];
    let h = al.header.unwrap();
    assert_eq!(
        (h.sample_rate, h.bits_per_sample, h.frames),
        (4000, Some(16), 63_424)
    );
    assert_eq!(al.cycles.last().unwrap().end_s, h.duration_s());
    assert_eq!(al.name.device, Device::Litt3200);
    assert_eq!(db.recordings[3].header.unwrap().bits_per_sample, Some(24));
    assert_eq!(db.demographics[&102].age_years, Some(0.75));
    assert_eq!(db.demographics.len(), 126);

    let i = inspect(&root, None).unwrap();
    assert_eq!(i.format, Format::Icbhi);
    assert_eq!((i.recordings, i.patients), (4, 3));
    assert_eq!(i.classes["normal"], 26);
    assert_eq!(i.classes["crackle"], 1);
    assert_eq!(i.classes["wheeze"], 4);
    assert_eq!(i.classes["both"], 1);
    assert_eq!(i.splits["test"]["normal"], 25);
    assert_eq!(i.splits["train"]["wheeze"], 4);
    assert_eq!(i.sample_rates[&4000], 2);
    assert_eq!(i.sample_rates[&44100], 2);
    assert_eq!(i.diagnoses["COPD"], 2);
}

#[test]
fn kaggle_metadata_variants_agree_with_the_official_files() {
    let root = fixtures().join("icbhi");
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
    let official = parse_diagnosis(&read(icbhi_names::DIAGNOSIS_FILE), "d".as_ref()).unwrap();
    let kaggle =
        parse_diagnosis(&read("kaggle_variant/patient_diagnosis.csv"), "k".as_ref()).unwrap();
    assert_eq!(official.len(), 126);
    assert_eq!(official, kaggle);
    let official = parse_demographics(&read(icbhi_names::DEMOGRAPHICS_FILE), "d".as_ref()).unwrap();
    let kaggle =
        parse_demographics(&read("kaggle_variant/demographic_info.txt"), "k".as_ref()).unwrap();
    assert_eq!(official, kaggle);
}

#[test]
fn icbhi_fixture_examples_follow_patch_mix_conventions() {
    let root = fixtures().join("icbhi");
    let set = load_examples(&root, &LoadOptions::default()).unwrap();
    assert_eq!(set.classes, CycleLabel::class_names());
    assert_eq!(ExampleSet::class_counts(&set.train, 4), [1, 0, 4, 1]);
    assert_eq!(ExampleSet::class_counts(&set.test, 4), [25, 1, 0, 0]);
    assert!(set.val.is_empty());
    for e in set.train.iter().chain(&set.test) {
        assert_eq!(e.samples.len(), 128_000, "{}", e.id);
        assert_eq!(e.sample_rate, 16_000);
        assert_eq!(e.samples[0], 0.0, "{} starts faded in", e.id);
        // Resampling may overshoot full scale a little on the clipped 24-bit AKG recording.
        assert!(e.samples.iter().all(|v| v.is_finite() && v.abs() <= 1.5));
    }
    let first = &set.test[0];
    assert_eq!(first.id, "102_1b1_Ar_sc_Meditron_c00");
    assert_eq!(first.patient, "102");
    assert_eq!((first.start_s, first.end_s), (0.264, 1.736));
    // Repeat padding: the 1.472 s cycle (23552 samples at 16 kHz) tiles the 8 s.
    let n = 23_552;
    assert!(first.samples[1000..n - 1000].iter().any(|v| v.abs() > 1e-3));
    assert_eq!(
        &first.samples[n + 1000..n + 2000],
        &first.samples[1000..2000]
    );

    // Zero padding centres the cycle in silence.
    let opts = LoadOptions {
        examples: ExampleConfig {
            pad: auscult_datasets::CyclePadding::Zero,
            ..ExampleConfig::default()
        },
        split: SplitSpec::All,
        ..LoadOptions::default()
    };
    let set = load_examples(&root, &opts).unwrap();
    assert_eq!(set.train.len(), 32);
    let e = set
        .train
        .iter()
        .find(|e| e.id == "102_1b1_Ar_sc_Meditron_c00")
        .unwrap();
    let offset = (128_000 - n) / 2;
    assert!(e.samples[..offset].iter().all(|&v| v == 0.0));
    assert!(e.samples[offset + n..].iter().all(|&v| v == 0.0));
    assert!(
        e.samples[offset + 1000..offset + n - 1000]
            .iter()
            .any(|v| v.abs() > 1e-3)
    );
}

#[test]
fn icbhi_quirks_are_reported_not_fatal() {
    let real = fixtures().join("icbhi");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let db = root.join("ICBHI_final_database");
    for f in [
        icbhi_names::SPLIT_FILE,
        icbhi_names::DIAGNOSIS_FILE,
        icbhi_names::DEMOGRAPHICS_FILE,
    ] {
        copy(&real.join(f), &root.join(f));
    }
    let src = real.join("ICBHI_final_database");
    // The recording the split file calls 226_1b1_Pl_sc_Meditron, named as in Kaggle's copy.
    for ext in ["wav", "txt"] {
        copy(
            &src.join(format!("104_1b1_Al_sc_Litt3200.{ext}")),
            &db.join(format!("226_1b1_Pl_sc_LittC2SE.{ext}")),
        );
    }
    // A recording without annotations, one whose annotations run past the end, an unknown
    // patient, and a bad annotation line.
    copy(
        &src.join("102_1b1_Ar_sc_Meditron.wav"),
        &db.join("102_1b1_Ar_sc_Meditron.wav"),
    );
    copy(
        &src.join("104_1b1_Ll_sc_Litt3200.wav"),
        &db.join("104_1b1_Ll_sc_Litt3200.wav"),
    );
    std::fs::write(
        db.join("104_1b1_Ll_sc_Litt3200.txt"),
        "0\t10\t0\t0\n10\t18.6\t1\t0\n",
    )
    .unwrap();
    copy(
        &src.join("104_1b1_Al_sc_Litt3200.wav"),
        &db.join("300_1b1_Tc_sc_Litt3200.wav"),
    );
    std::fs::write(db.join("300_1b1_Tc_sc_Litt3200.txt"), "0\t5\t0\t0\n").unwrap();
    copy(
        &src.join("104_1b1_Al_sc_Litt3200.wav"),
        &db.join("226_1b1_Al_sc_Meditron.wav"),
    );
    std::fs::write(
        db.join("226_1b1_Al_sc_Meditron.txt"),
        "0\t5\t0\t0\n5\t7\tyes\t0\n",
    )
    .unwrap();

    let d = IcbhiDatabase::open(root).unwrap();
    let find = |needle: &str| {
        d.problems
            .iter()
            .find(|p| p.problem.contains(needle))
            .unwrap_or_else(|| panic!("no problem mentioning `{needle}` in {:#?}", d.problems))
    };
    let renamed = d
        .recordings
        .iter()
        .find(|r| r.name.stem() == "226_1b1_Pl_sc_LittC2SE")
        .unwrap();
    assert_eq!(renamed.split, Some(IcbhiSplit::Train));
    assert_eq!(renamed.name.device, Device::LittC2SE);
    let p = find("name mismatch");
    assert!(p.problem.contains("226_1b1_Pl_sc_Meditron"), "{p}");
    assert!(p.path.ends_with("226_1b1_Pl_sc_LittC2SE.wav"));
    assert!(
        find("no annotation file")
            .path
            .ends_with("102_1b1_Ar_sc_Meditron.wav")
    );
    assert!(
        find("past the end")
            .path
            .ends_with("104_1b1_Ll_sc_Litt3200.txt")
    );
    assert!(
        find("unknown patient 300")
            .path
            .ends_with(icbhi_names::DIAGNOSIS_FILE)
    );
    let bad = find("crackles flag `yes`");
    assert!(
        bad.path.ends_with("226_1b1_Al_sc_Meditron.txt") && bad.problem.contains("line 2"),
        "{bad}"
    );
    assert!(
        find("not listed in")
            .path
            .ends_with("300_1b1_Tc_sc_Litt3200.wav")
    );

    // Still usable: the examples of the good recordings load; the over-long cycle is cut
    // at the end of the audio.
    let set = load_examples(
        root,
        &LoadOptions {
            split: SplitSpec::All,
            ..LoadOptions::default()
        },
    )
    .unwrap();
    assert_eq!(set.train.len(), 6 + 2 + 1);
    let i = inspect(root, None).unwrap();
    assert_eq!(i.recordings, 5);
    assert_eq!(i.problems.len(), d.problems.len());
}

#[test]
fn kaggle_layout_is_found_and_official_split_needs_the_split_file() {
    let real = fixtures().join("icbhi");
    let dir = tempfile::tempdir().unwrap();
    let base = dir
        .path()
        .join("Respiratory_Sound_Database/Respiratory_Sound_Database");
    for f in ["demographic_info.txt", "patient_diagnosis.csv"] {
        copy(&real.join("kaggle_variant").join(f), &base.join(f));
    }
    for stem in [
        "104_1b1_Al_sc_Litt3200",
        "104_1b1_Ll_sc_Litt3200",
        "130_1p3_Ll_mc_AKGC417L",
    ] {
        for ext in ["wav", "txt"] {
            let name = format!("{stem}.{ext}");
            copy(
                &real.join("ICBHI_final_database").join(&name),
                &base.join("audio_and_txt_files").join(&name),
            );
        }
    }
    let db = IcbhiDatabase::open(dir.path()).unwrap();
    assert_eq!(db.layout, IcbhiLayout::Kaggle);
    assert!(
        db.diagnosis_file
            .as_ref()
            .unwrap()
            .ends_with("patient_diagnosis.csv")
    );
    assert_eq!(db.diagnosis_of(130), Some("COPD"));
    assert!(
        db.problems
            .iter()
            .any(|p| p.problem.contains("no official split file"))
    );
    let err = load_examples(dir.path(), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ICBHI_challenge_train_test.txt") && err.contains("fold"),
        "{err}"
    );

    let opts = LoadOptions {
        split: SplitSpec::Fold {
            k: 2,
            index: 0,
            seed: 3,
        },
        examples: ExampleConfig {
            length_s: 2.0,
            ..ExampleConfig::default()
        },
        ..LoadOptions::default()
    };
    let set = load_examples(dir.path(), &opts).unwrap();
    assert_eq!(set.train.len() + set.test.len(), 6 + 7 + 6);
    let train: std::collections::BTreeSet<&str> =
        set.train.iter().map(|e| e.patient.as_str()).collect();
    assert!(
        set.test.iter().all(|e| !train.contains(e.patient.as_str())),
        "folds share a patient"
    );
    assert!(set.train.iter().all(|e| e.samples.len() == 32_000));
}

#[test]
fn coswara_fixture_skips_and_counts_header_only_files() {
    let root = fixtures().join("coswara");
    let i = inspect(&root, None).unwrap();
    assert_eq!(i.format, Format::Coswara);
    assert_eq!(i.patients, 3);
    assert_eq!(i.recordings, 20);
    assert_eq!(i.empty_files, 10);
    assert_eq!(i.classes["healthy"], 3);
    assert_eq!(i.sample_rates[&16000], 9);
    assert_eq!(i.sample_rates[&44100], 9);
    assert_eq!(i.sample_rates[&48000], 2);
    let empty: Vec<_> = i
        .problems
        .iter()
        .filter(|p| p.problem.contains("zero frames"))
        .collect();
    assert_eq!(empty.len(), 10);
    assert!(empty.iter().any(|p| {
        p.path
            .ends_with("VcmjCfW6ddgE9lFhDXTO6hDlb452/counting-fast.wav")
    }));
    assert_eq!(i.sounds["breathing-deep"], 2);

    // Default task (healthy vs positive), default sounds (breathing and cough): 4 + 2 files.
    let opts = LoadOptions {
        split: SplitSpec::All,
        examples: ExampleConfig {
            length_s: 1.0,
            ..ExampleConfig::default()
        },
        ..LoadOptions::default()
    };
    let set = load_examples(&root, &opts).unwrap();
    assert_eq!(set.classes, ["healthy", "positive"]);
    assert_eq!(set.train.len(), 6);
    assert!(
        set.train
            .iter()
            .all(|e| e.label == 0 && e.samples.len() == 16_000)
    );
    assert!(
        set.train
            .iter()
            .any(|e| e.id == "iq8oYXczSjPuJoVS7DBpkGNMC2p1/cough-heavy")
    );
    let err = load_examples(&root, &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no official split"), "{err}");
}
