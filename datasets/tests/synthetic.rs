//! The synthetic generator: determinism, layout round trips through the real loaders, realism
//! against the real database's statistics, and separability of the classes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use auscult_audio::{LogScale, MelConfig, MelSpectrogram, decode_file, resample};
use auscult_datasets::{
    CycleLabel, Device, ExampleSet, Format, IcbhiDatabase, IcbhiSplit, LoadOptions, SplitSpec,
    SynthConfig, SynthReport, icbhi_names, inspect, load_examples, slice_cycle, synth_coswara,
    synth_icbhi,
};

fn all_files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn the_same_seed_writes_byte_identical_files() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    let cfg = SynthConfig::quick(5, 5);
    let ra = synth_icbhi(&a, &cfg).unwrap();
    let rb = synth_icbhi(&b, &cfg).unwrap();
    synth_icbhi(&c, &SynthConfig::quick(6, 5)).unwrap();
    let (fa, fb, fc) = (all_files(&a), all_files(&b), all_files(&c));
    assert_eq!(fa.len(), 2 * ra.recordings + 4);
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (name, bytes) in &fa {
        assert!(
            bytes == &fb[name],
            "{} differs between two runs with the same seed",
            name.display()
        );
    }
    assert_eq!(ra.classes, rb.classes);
    let wavs_differ = fa
        .iter()
        .filter(|(n, _)| n.extension().is_some_and(|e| e == "wav"))
        .any(|(n, bytes)| fc.get(n) != Some(bytes));
    assert!(wavs_differ, "a different seed wrote the same audio");

    // Writing into a non-empty folder is refused unless allowed.
    let err = synth_icbhi(&a, &cfg).unwrap_err().to_string();
    assert!(err.contains("not empty"), "{err}");

    let cfg = SynthConfig::quick(5, 3);
    synth_coswara(&dir.path().join("ca"), &cfg).unwrap();
    synth_coswara(&dir.path().join("cb"), &cfg).unwrap();
    let (ca, cb) = (
        all_files(&dir.path().join("ca")),
        all_files(&dir.path().join("cb")),
    );
    assert_eq!(ca.len(), 3 * 10 + 2);
    for (name, bytes) in &ca {
        assert!(bytes == &cb[name], "{} differs", name.display());
    }
}

fn assert_round_trip(report: &SynthReport, root: &Path) {
    let i = inspect(root, None).unwrap();
    assert_eq!(i.format, report.format);
    assert_eq!(i.recordings, report.recordings);
    assert_eq!(i.patients, report.patients);
    assert_eq!(i.classes, report.classes);
    assert_eq!(i.splits, report.splits);
    assert_eq!(i.sample_rates, report.sample_rates);
    assert_eq!(i.bit_depths, report.bit_depths);
    assert_eq!(i.devices, report.devices);
    assert_eq!(i.empty_files, report.header_only_files);
    assert!((i.total_hours * 3600.0 - report.total_seconds).abs() < 1e-6);
}

#[test]
fn synth_icbhi_then_inspect_round_trips_and_the_layout_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("icbhi");
    let report = synth_icbhi(&root, &SynthConfig::quick(11, 8)).unwrap();
    assert_round_trip(&report, &root);
    let i = inspect(&root, None).unwrap();
    assert!(i.problems.is_empty(), "{:#?}", i.problems);
    assert_eq!(i.layout.as_deref(), Some("official"));

    // Every device and format: 4 kHz 16-bit, 44.1 kHz 16-bit and 24-bit.
    let db = IcbhiDatabase::open(&root).unwrap();
    let formats: BTreeSet<(Device, u32, Option<u32>)> = db
        .recordings
        .iter()
        .map(|r| {
            (
                r.name.device,
                r.header.unwrap().sample_rate,
                r.header.unwrap().bits_per_sample,
            )
        })
        .collect();
    for (d, sr) in [
        (Device::AkgC417L, 44_100),
        (Device::LittC2SE, 44_100),
        (Device::Meditron, 44_100),
        (Device::Litt3200, 4_000),
    ] {
        assert!(
            formats.iter().any(|f| f.0 == d && f.1 == sr),
            "{d:?} missing: {formats:?}"
        );
    }
    assert!(formats.iter().any(|f| f.1 == 44_100 && f.2 == Some(16)));
    assert!(formats.iter().any(|f| f.1 == 44_100 && f.2 == Some(24)));
    // 4 kHz recordings end exactly at the end of their last cycle.
    for r in db
        .recordings
        .iter()
        .filter(|r| r.name.device == Device::Litt3200)
    {
        assert_eq!(
            r.cycles.last().unwrap().end_s,
            r.header.unwrap().duration_s()
        );
    }
    assert_eq!(db.diagnosis.len(), 8);
    assert_eq!(db.demographics.len(), 8);

    // The split file has CRLF line ends and is patient-disjoint.
    let text = std::fs::read(root.join(icbhi_names::SPLIT_FILE)).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert_eq!(text.matches("\r\n").count(), report.recordings);
    assert_eq!(text.matches('\n').count(), report.recordings);
    let mut sides: BTreeMap<u32, BTreeSet<IcbhiSplit>> = BTreeMap::new();
    for r in &db.recordings {
        sides
            .entry(r.name.patient)
            .or_default()
            .insert(r.split.unwrap());
    }
    assert!(
        sides.values().all(|s| s.len() == 1),
        "a patient is on both sides: {sides:?}"
    );
    assert!(
        std::fs::read(root.join(icbhi_names::DEMOGRAPHICS_FILE))
            .unwrap()
            .ends_with(b"\r\n")
    );
    assert!(
        !std::fs::read(root.join(icbhi_names::DIAGNOSIS_FILE))
            .unwrap()
            .contains(&b'\r')
    );
}

#[test]
fn synth_coswara_then_inspect_and_load() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("coswara");
    let report = synth_coswara(&root, &SynthConfig::quick(3, 6)).unwrap();
    assert_eq!(report.header_only_files, 2);
    assert_eq!(report.recordings, 54);
    assert_round_trip(&report, &root);
    assert_eq!(inspect(&root, None).unwrap().sample_rates.len(), 3);

    let opts = LoadOptions {
        split: SplitSpec::All,
        coswara: auscult_datasets::CoswaraOptions {
            labels: auscult_datasets::COVID_STATUSES
                .iter()
                .map(|s| (s.to_string(), s.to_string()))
                .collect(),
            sounds: auscult_datasets::SoundKind::ALL.to_vec(),
            ..auscult_datasets::CoswaraOptions::default()
        },
        examples: auscult_datasets::ExampleConfig {
            length_s: 1.0,
            ..Default::default()
        },
        ..LoadOptions::default()
    };
    let set = load_examples(&root, &opts).unwrap();
    assert_eq!(set.train.len(), 54 - 2);
    assert_eq!(
        set.problems
            .iter()
            .filter(|p| p.problem.contains("zero frames"))
            .count(),
        2
    );
}

#[test]
fn coswara_folds_do_not_depend_on_the_sounds_used() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("coswara");
    let mut cfg = SynthConfig::quick(5, 20);
    cfg.header_only = 6;
    synth_coswara(&root, &cfg).unwrap();
    // Which part every participant lands in, loading only the given sounds.
    let parts = |sounds: &[&str]| -> BTreeMap<String, &'static str> {
        let opts = LoadOptions {
            split: SplitSpec::Fold {
                k: 4,
                index: 1,
                seed: 9,
            },
            val_fraction: 0.25,
            coswara: auscult_datasets::CoswaraOptions {
                sounds: sounds.iter().map(|s| s.parse().unwrap()).collect(),
                ..auscult_datasets::CoswaraOptions::default()
            },
            examples: auscult_datasets::ExampleConfig {
                length_s: 0.5,
                sample_rate: 8000,
                ..auscult_datasets::ExampleConfig::default()
            },
            ..LoadOptions::default()
        };
        let set = load_examples(&root, &opts).unwrap();
        let mut out = BTreeMap::new();
        for (part, examples) in [
            ("train", &set.train),
            ("val", &set.val),
            ("test", &set.test),
        ] {
            for e in examples {
                let previous = out.insert(e.patient.clone(), part);
                assert!(
                    previous.is_none_or(|p| p == part),
                    "{} in two parts",
                    e.patient
                );
            }
        }
        out
    };
    let all = parts(&[
        "breathing-deep",
        "breathing-shallow",
        "cough-heavy",
        "cough-shallow",
    ]);
    assert!(
        ["train", "val", "test"]
            .iter()
            .all(|p| all.values().any(|v| v == p))
    );
    for sound in ["cough-heavy", "breathing-deep", "vowel-a"] {
        let one = parts(&[sound]);
        for (id, part) in &one {
            assert_eq!(all.get(id), Some(part), "{id} with {sound} alone");
        }
    }
}

#[test]
fn synthetic_icbhi_loads_with_patient_disjoint_splits() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("icbhi");
    let report = synth_icbhi(&root, &SynthConfig::quick(21, 12)).unwrap();
    let opts = LoadOptions {
        examples: auscult_datasets::ExampleConfig {
            length_s: 1.0,
            ..Default::default()
        },
        val_fraction: 0.25,
        seed: 4,
        ..LoadOptions::default()
    };
    let set = load_examples(&root, &opts).unwrap();
    let total: usize = report.classes.values().sum();
    assert_eq!(set.len(), total);
    assert_eq!(
        set.test.len(),
        report.splits["test"].values().sum::<usize>()
    );
    assert!(!set.val.is_empty());
    let patients = |v: &[auscult_datasets::Example]| {
        v.iter().map(|e| e.patient.clone()).collect::<BTreeSet<_>>()
    };
    let (tr, va, te) = (
        patients(&set.train),
        patients(&set.val),
        patients(&set.test),
    );
    assert!(tr.is_disjoint(&va) && tr.is_disjoint(&te) && va.is_disjoint(&te));
    assert_eq!(
        set.val,
        load_examples(&root, &opts).unwrap().val,
        "the carve-out is seeded"
    );
    let counts = ExampleSet::class_counts(&set.test, 4);
    assert_eq!(counts[0], report.splits["test"]["normal"]);
}

/// A corpus for the statistical tests, generated once per test run.
fn stats_corpus() -> &'static (PathBuf, SynthReport) {
    static CORPUS: OnceLock<(PathBuf, SynthReport)> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("synthetic-icbhi-stats");
        let cfg = SynthConfig {
            patients: 30,
            recordings_per_patient: [1, 1],
            cycles_per_recording: [3, 5],
            overwrite: true,
            ..SynthConfig::icbhi(2024)
        };
        if root.exists() {
            std::fs::remove_dir_all(&root).unwrap();
        }
        let report = synth_icbhi(&root, &cfg).unwrap();
        (root, report)
    })
}

/// Per cycle of the corpus: class, device rate, 16 kHz samples, raw RMS in dBFS.
struct Cycle {
    label: CycleLabel,
    rate: u32,
    samples: Vec<f32>,
}

fn corpus_cycles() -> Vec<Cycle> {
    let (root, _) = stats_corpus();
    let db = IcbhiDatabase::open(root).unwrap();
    let mut out = Vec::new();
    for r in &db.recordings {
        let d = decode_file(&r.wav).unwrap();
        let x = resample(&d.samples, d.sample_rate, 16_000).unwrap();
        for c in &r.cycles {
            out.push(Cycle {
                label: c.label(),
                rate: d.sample_rate,
                samples: slice_cycle(&x, 16_000, c.start_s, c.end_s).to_vec(),
            });
        }
    }
    out
}

/// The statistics' Mel front end: librosa melspectrogram, 64 Slaney mels to 8 kHz, n_fft 1024,
/// hop 160, power (no log).
fn mel_power() -> MelSpectrogram {
    let cfg = MelConfig {
        n_fft: 1024,
        win_length: 1024,
        hop_length: 160,
        n_mels: 64,
        f_max: Some(8000.0),
        log: LogScale::None,
        ..MelConfig::librosa(16_000)
    };
    MelSpectrogram::new(&cfg).unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
fn synthetic_statistics_match_the_real_database() {
    let stats = common::icbhi_statistics();
    let (_, report) = stats_corpus();
    let cycles = corpus_cycles();

    // Class shares: 53/27/13/7 %, met exactly up to rounding.
    let total = cycles.len() as f64;
    for (name, share) in [
        ("normal", 0.53),
        ("crackle", 0.27),
        ("wheeze", 0.13),
        ("both", 0.07),
    ] {
        let got = report.classes[name] as f64 / total;
        assert!((got - share).abs() < 0.02, "{name}: {got:.3} of the cycles");
    }
    // Cycle durations: all within 1.5-6 s, the median of all cycles within 15 % of the real
    // one (per-class medians are checked on many draws in the generator's unit tests).
    let (root, _) = stats_corpus();
    let db = IcbhiDatabase::open(root).unwrap();
    let d: Vec<f64> = db
        .recordings
        .iter()
        .flat_map(|r| &r.cycles)
        .map(|c| c.duration_s())
        .collect();
    assert!(d.iter().all(|&x| (1.5..=6.0 + 1e-9).contains(&x)));
    let got = median(d);
    assert!(
        (got / 2.55 - 1.0).abs() < 0.15,
        "median cycle {got:.2} s vs about 2.55 s in ICBHI"
    );
    // Device mix: AKG dominates as in ICBHI (646 of 920 recordings).
    assert!(report.devices["AKGC417L"] * 2 > report.recordings);

    // Mean Mel profile of normal cycles (44.1 kHz recordings, as the statistics were made):
    // within a few dB of the real one across the band.
    let real: Vec<f64> = stats["spectra"]["mean_log_mel_profile_db_rel_max"]["per_class"]["normal"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let mut mel = mel_power();
    let mut profile = vec![0.0f64; 64];
    let mut n = 0;
    let mut levels: BTreeMap<CycleLabel, Vec<f64>> = BTreeMap::new();
    for c in &cycles {
        let rms = (c.samples.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>()
            / c.samples.len() as f64)
            .sqrt();
        levels.entry(c.label).or_default().push(20.0 * rms.log10());
        if c.label != CycleLabel::Normal || c.rate != 44_100 {
            continue;
        }
        let s = mel.compute(&c.samples);
        let band: Vec<f64> = (0..64)
            .map(|b| {
                let row = &s.data[b * s.n_frames..(b + 1) * s.n_frames];
                10.0 * (row.iter().map(|&v| f64::from(v)).sum::<f64>() / s.n_frames as f64).log10()
            })
            .collect();
        let top = band.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        for b in 0..64 {
            profile[b] += band[b] - top;
        }
        n += 1;
    }
    assert!(n >= 20, "only {n} normal 44.1 kHz cycles");
    let diffs: Vec<f64> = (0..64).map(|b| profile[b] / n as f64 - real[b]).collect();
    let mean_abs = diffs.iter().map(|d| d.abs()).sum::<f64>() / 64.0;
    let worst = diffs.iter().map(|d| d.abs()).fold(0.0, f64::max);
    eprintln!(
        "normal Mel profile vs real: {mean_abs:.2} dB mean abs, {worst:.2} dB worst ({n} cycles)"
    );
    assert!(
        mean_abs < 1.5 && worst < 3.0,
        "profile off by {mean_abs:.2} dB on average, {worst:.2} dB at worst: {diffs:.1?}"
    );

    // Levels: normal cycles near the real median (-24.2 dBFS), adventitious ones louder, as in
    // the real database (about -15 dBFS).
    let normal = median(levels[&CycleLabel::Normal].clone());
    let crackle = median(levels[&CycleLabel::Crackle].clone());
    eprintln!("median cycle level: normal {normal:.1} dBFS, crackle {crackle:.1} dBFS");
    assert!(
        (-30.0..-18.0).contains(&normal),
        "normal cycles at {normal:.1} dBFS"
    );
    assert!(
        crackle > normal,
        "crackle cycles at {crackle:.1} dBFS, normal at {normal:.1}"
    );
}

/// Area under the ROC curve of `score` separating `pos` from `neg`.
fn auc(pos: &[f64], neg: &[f64]) -> f64 {
    let mut s = 0.0;
    for p in pos {
        for n in neg {
            s += if p > n {
                1.0
            } else if p == n {
                0.5
            } else {
                0.0
            };
        }
    }
    s / (pos.len() * neg.len()) as f64
}

#[test]
fn classes_are_separable_but_not_trivially() {
    let cycles = corpus_cycles();
    let mut mel = mel_power();
    // Two one-number features of the Mel power spectrogram:
    // - transient peakiness: max over frames of the 300-2000 Hz band energy over its median
    //   (crackles are short broadband transients);
    // - tonality: 90th percentile over frames of the largest ratio of a 100-1000 Hz Mel band
    //   to its neighbours two bands away (wheezes are sustained narrow-band tones).
    let mut peaky: BTreeMap<CycleLabel, Vec<f64>> = BTreeMap::new();
    let mut tonal: BTreeMap<CycleLabel, Vec<f64>> = BTreeMap::new();
    for c in &cycles {
        let s = mel.compute(&c.samples);
        let nf = s.n_frames;
        let at = |b: usize, t: usize| f64::from(s.data[b * nf + t]);
        let band: Vec<f64> = (0..nf).map(|t| (8..30).map(|b| at(b, t)).sum()).collect();
        let mut sorted = band.clone();
        sorted.sort_by(f64::total_cmp);
        let med = sorted[sorted.len() / 2].max(1e-20);
        peaky
            .entry(c.label)
            .or_default()
            .push((sorted[sorted.len() - 1] / med).log10());
        let mut per_frame: Vec<f64> = (0..nf)
            .map(|t| {
                (3..24)
                    .map(|b| at(b, t) / (0.5 * (at(b - 2, t) + at(b + 2, t))).max(1e-20))
                    .fold(0.0, f64::max)
            })
            .collect();
        per_frame.sort_by(f64::total_cmp);
        tonal
            .entry(c.label)
            .or_default()
            .push(per_frame[per_frame.len() * 9 / 10]);
    }
    let normal_peaky = &peaky[&CycleLabel::Normal];
    let normal_tonal = &tonal[&CycleLabel::Normal];
    let crackle = auc(&peaky[&CycleLabel::Crackle], normal_peaky);
    let wheeze = auc(&tonal[&CycleLabel::Wheeze], normal_tonal);
    // Above chance, well below perfect.
    assert!(
        (0.6..0.95).contains(&crackle),
        "crackle vs normal AUC {crackle:.3}"
    );
    assert!(
        (0.6..0.95).contains(&wheeze),
        "wheeze vs normal AUC {wheeze:.3}"
    );
    // The features are specific: each says little about the other class.
    let cross = auc(&tonal[&CycleLabel::Crackle], normal_tonal);
    assert!(
        cross < 0.7,
        "tonality separates crackles from normal cycles: AUC {cross:.3}"
    );
    eprintln!("AUC crackle {crackle:.3}, wheeze {wheeze:.3}, tonality on crackles {cross:.3}");
}

#[test]
fn not_a_dataset_says_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let err = inspect(dir.path(), None).unwrap_err().to_string();
    assert!(err.contains("is empty") && err.contains("ICBHI"), "{err}");
    std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
    let err = inspect(dir.path(), None).unwrap_err().to_string();
    assert!(
        err.contains("not a dataset") && err.contains("Coswara"),
        "{err}"
    );
    let err = inspect(&dir.path().join("missing"), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not exist"), "{err}");
    let err = inspect(dir.path(), Some(Format::Icbhi))
        .unwrap_err()
        .to_string();
    assert!(err.contains("104_1b1_Al_sc_Litt3200"), "{err}");
}
