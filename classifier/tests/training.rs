//! End-to-end tests of the classifier on a tiny synthetic ICBHI corpus: training makes the loss
//! fall, the run directory is complete, a killed run resumes to the same result, generated
//! corpora are mixed in (and refused when made differently), and recordings are classified.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use auscult_audio::{MelConfig, MelSpectrogram};
use auscult_classifier::files;
use auscult_classifier::{
    AugmentMix, Classifier, CnnConfig, MixupMode, TrainConfig, corpus_class_probability, evaluate,
    resume, train,
};
use auscult_datasets::{
    CorpusManifest, CorpusWriter, CyclePadding, ExampleConfig, ExampleSet, GeneratedCorpus,
    GeneratorInfo, LoadOptions, SplitSpec, SynthConfig, load_examples, synth_icbhi,
};
use auscult_experiment::{NoProgress, Progress, read_metrics};

fn examples_cfg() -> ExampleConfig {
    ExampleConfig {
        sample_rate: 8000,
        length_s: 1.0,
        pad: CyclePadding::Repeat,
        fade: true,
    }
}

fn mel_cfg() -> MelConfig {
    let mut mel = auscult_classifier::default_mel();
    mel.n_fft = 256;
    mel.win_length = 256;
    mel.hop_length = 128;
    mel.n_mels = 16;
    mel
}

/// A tiny, fast configuration: 16 Mel bins x 63 frames, a 4-8 channel CNN.
fn tiny(epochs: usize) -> TrainConfig {
    TrainConfig {
        examples: examples_cfg(),
        mel: mel_cfg(),
        model: CnnConfig::new()
            .with_channels(vec![4, 8])
            .with_projection_dim(8)
            .with_dropout(0.0),
        epochs,
        batch_size: 8,
        lr: 3e-3,
        warmup_epochs: 0,
        patience: None,
        bootstrap: 50,
        ..TrainConfig::plain()
    }
}

/// A synthetic ICBHI corpus (12 patients) loaded with a patient-disjoint test split and a
/// validation carve-out.
fn dataset(root: &Path) -> ExampleSet {
    let data = root.join("icbhi");
    synth_icbhi(&data, &SynthConfig::quick(7, 12)).unwrap();
    let opts = LoadOptions {
        examples: examples_cfg(),
        split: SplitSpec::Official,
        val_fraction: 0.25,
        seed: 1,
        ..LoadOptions::default()
    };
    let set = load_examples(&data, &opts).unwrap();
    assert!(
        set.train.len() >= 8,
        "synthetic training split too small: {}",
        set.train.len()
    );
    set
}

#[test]
fn tiny_model_loss_falls_and_the_run_directory_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path());
    let out = dir.path().join("run");
    let report = train(&tiny(6), &data, &[], &out, &NoProgress).unwrap();
    let first = report.first_train_loss.unwrap();
    let last = report.last_train_loss.unwrap();
    assert!(
        last < first * 0.9,
        "training loss did not fall: {first} -> {last}"
    );
    assert_eq!(report.epochs, 6);
    for f in [
        files::CONFIG,
        files::NORMALIZATION,
        files::MODEL,
        files::BEST,
        files::METRICS,
        files::REPORT,
        files::PROVENANCE,
        files::CURVES,
        auscult_experiment::CHECKPOINT_FILE,
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // The checkpoint holds the last epoch as one set.
    for f in [files::MODEL, files::BEST, files::OPTIMIZER] {
        assert!(out.join("checkpoint-6").join(f).is_file(), "{f} missing");
    }
    assert!(!out.join(files::OPTIMIZER).exists() && !out.join("state.json").exists());
    if !data.test.is_empty() {
        assert!(out.join(files::CONFUSION).is_file());
        let test = report.test.as_ref().unwrap();
        assert_eq!(test.n as usize, data.test.len());
        // The library's evaluate on the test examples gives the report's numbers.
        let eval = evaluate(&out, &data.test).unwrap();
        assert!((eval.metrics.score - test.score).abs() < 1e-9);
        assert!((0.0..=1.0).contains(&eval.metrics.score));
        // Its intervals resample the test patients; the device and rate tables partition it.
        let patients: std::collections::BTreeSet<&str> =
            data.test.iter().map(|e| e.patient.as_str()).collect();
        assert_eq!(eval.metrics.n_patients, Some(patients.len() as u64));
        assert_eq!(
            eval.metrics.bootstrap_unit,
            Some(auscult_classifier::BootstrapUnit::Patient)
        );
        for groups in [&eval.by_device, &eval.by_sample_rate] {
            assert!(!groups.is_empty());
            assert_eq!(groups.iter().map(|g| g.n).sum::<u64>(), test.n);
        }
    }
    assert_eq!(read_metrics(out.join(files::METRICS)).unwrap().len(), 6);
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(files::CONFIG)).unwrap()).unwrap();
    assert_eq!(config["mel"]["n_mels"], 16);
    assert_eq!(config["examples"]["sample_rate"], 8000);
    // A second run into the same directory is refused.
    assert!(train(&tiny(1), &data, &[], &out, &NoProgress).is_err());

    // Tampered artifacts are refused on load, naming the file: a config whose input bins
    // disagree with its Mel bins, an invalid config value, a zero spread.
    let tampered = |file: &str, edit: &dyn Fn(&mut serde_json::Value), expect: &str| {
        let path = out.join(file);
        let original = std::fs::read(&path).unwrap();
        let mut v: serde_json::Value = serde_json::from_slice(&original).unwrap();
        edit(&mut v);
        std::fs::write(&path, v.to_string()).unwrap();
        let err = Classifier::load(&out)
            .expect_err("tampered load")
            .to_string();
        std::fs::write(&path, &original).unwrap();
        assert!(err.contains(file) && err.contains(expect), "{err}");
    };
    tampered(files::CONFIG, &|v| v["n_bins"] = 99.into(), "Mel bins");
    tampered(files::CONFIG, &|v| v["batch_size"] = 1.into(), "batch_size");
    tampered(
        files::NORMALIZATION,
        &|v| v["std"][0] = 0.0.into(),
        "spread",
    );
    assert!(Classifier::load(&out).is_ok());
}

#[test]
fn balanced_mixup_with_supcon_and_oversampling_train() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path());
    for (name, cfg) in [
        (
            "mixup",
            TrainConfig {
                mixup: MixupMode::Balanced,
                mixup_alpha: 0.4,
                supcon_weight: 0.5,
                spec_augment: Some(auscult_classifier::SpecAugment::default()),
                model: tiny(1).model.with_dropout(0.2),
                ..tiny(2)
            },
        ),
        (
            "oversample",
            TrainConfig {
                oversample: true,
                ..tiny(1)
            },
        ),
    ] {
        let report = train(&cfg, &data, &[], &dir.path().join(name), &NoProgress).unwrap();
        assert!(report.last_train_loss.unwrap().is_finite(), "{name}");
    }
}

/// Progress that panics when an epoch numbered `kill_at` starts (a "killed" run).
struct KillAt {
    kill_at: usize,
    epochs_started: AtomicUsize,
}

impl Progress for KillAt {
    fn start(&self, phase: &str, _total: u64) {
        if phase.starts_with("epoch") {
            let n = self.epochs_started.fetch_add(1, Ordering::SeqCst) + 1;
            if n == self.kill_at {
                panic!("simulated kill at the start of epoch {n}");
            }
        }
    }
    fn advance(&self, _n: u64) {}
    fn message(&self, _msg: &str) {}
    fn finish(&self) {}
}

#[test]
fn a_killed_run_resumes_to_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path());
    let cfg = TrainConfig {
        mixup: MixupMode::Balanced,
        supcon_weight: 0.3,
        // The chain adversary's weights and optimiser state resume too.
        device_adversarial: 0.5,
        spec_augment: Some(auscult_classifier::SpecAugment::default()),
        model: tiny(1).model.with_dropout(0.3),
        ..tiny(3)
    };
    let full = dir.path().join("full");
    train(&cfg, &data, &[], &full, &NoProgress).unwrap();

    let killed = dir.path().join("killed");
    let kill = KillAt {
        kill_at: 3,
        epochs_started: AtomicUsize::new(0),
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| train(&cfg, &data, &[], &killed, &kill)));
    assert!(outcome.is_err(), "the simulated kill did not happen");
    assert_eq!(read_metrics(killed.join(files::METRICS)).unwrap().len(), 2);
    // Resuming on changed data is refused (the fingerprint of the source files differs).
    let source = data.train[0].source.clone();
    let original = std::fs::read(&source).unwrap();
    let mut changed = original.clone();
    changed.push(0);
    std::fs::write(&source, &changed).unwrap();
    let refused = resume(&killed, &data, &[], false, &NoProgress).unwrap_err();
    assert!(
        refused.to_string().contains("the data differs"),
        "{refused}"
    );
    std::fs::write(&source, &original).unwrap();
    resume(&killed, &data, &[], false, &NoProgress).unwrap();

    let strip = |p: &Path| -> Vec<serde_json::Value> {
        read_metrics(p.join(files::METRICS))
            .unwrap()
            .into_iter()
            .map(|mut v| {
                v.as_object_mut().unwrap().remove("seconds");
                v
            })
            .collect()
    };
    assert_eq!(strip(&full), strip(&killed));
    let metrics = strip(&full);
    let adversary: Vec<f64> = metrics
        .iter()
        .map(|m| m["train_adversary_loss"].as_f64().unwrap())
        .collect();
    assert!(adversary.iter().all(|&l| l > 0.0), "{adversary:?}");
    let checkpoint = std::fs::read_dir(&full)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.is_dir()
                && p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("checkpoint-")
        })
        .unwrap();
    assert!(checkpoint.join(files::ADVERSARY).is_file());
    assert!(checkpoint.join(files::ADVERSARY_OPTIMIZER).is_file());
    // Same weights: the same probabilities on every training example (the files differ only in
    // parameter ids).
    let a = Classifier::load(&full)
        .unwrap()
        .predict_examples(&data.train)
        .unwrap();
    let b = Classifier::load(&killed)
        .unwrap()
        .predict_examples(&data.train)
        .unwrap();
    assert!(
        a == b,
        "resumed weights differ from the uninterrupted run's"
    );
}

fn write_corpus(
    dir: &Path,
    mel: &MelConfig,
    examples: &ExampleConfig,
    data: &ExampleSet,
) -> GeneratedCorpus {
    let header = CorpusManifest::new(
        data.classes.clone(),
        GeneratorInfo {
            model_hash: "test".into(),
            prior_hash: "test".into(),
            temperature: 1.0,
            top_k: None,
            top_p: None,
            seed: 0,
            texture: false,
            guidance: None,
            envelope_matched: false,
            created_by: "test".into(),
        },
        serde_json::to_value(mel).unwrap(),
        serde_json::to_value(examples).unwrap(),
    );
    let mut w = CorpusWriter::create(dir, header).unwrap();
    let mut front = MelSpectrogram::new(mel).unwrap();
    // "Generated" samples: spectrograms of real training cycles of the minority classes.
    for (i, e) in data
        .train
        .iter()
        .enumerate()
        .filter(|(_, e)| e.label != 0)
        .take(6)
    {
        w.add(&data.classes[e.label], &front.compute(&e.samples), i as u64)
            .unwrap();
    }
    w.finish().unwrap();
    GeneratedCorpus::open(dir).unwrap()
}

#[test]
fn generated_corpora_are_mixed_into_training_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path());
    let corpus = write_corpus(
        &dir.path().join("corpus"),
        &mel_cfg(),
        &examples_cfg(),
        &data,
    );
    let n = corpus.manifest.samples.len();
    assert!(n > 0);
    let cfg = TrainConfig {
        augment_mix: AugmentMix::All,
        ..tiny(1)
    };
    let out = dir.path().join("aug");
    let report = train(
        &cfg,
        &data,
        std::slice::from_ref(&corpus),
        &out,
        &NoProgress,
    )
    .unwrap();
    assert_eq!(report.n_generated, n);
    assert_eq!(report.n_train, data.train.len());
    let ratio = TrainConfig {
        augment_mix: AugmentMix::Ratio(0.1),
        ..tiny(1)
    };
    let r = train(
        &ratio,
        &data,
        std::slice::from_ref(&corpus),
        &dir.path().join("ratio"),
        &NoProgress,
    )
    .unwrap();
    assert_eq!(
        r.n_generated,
        ((0.1 * data.train.len() as f64).round() as usize).min(n)
    );

    // The quality gate: one probability per sample, of the conditioned class.
    let q = corpus_class_probability(&out, &corpus).unwrap();
    assert_eq!(q.len(), n);
    assert!(q.iter().all(|s| (0.0..=1.0).contains(&s.probability)));

    // A corpus made with another front end is refused, naming both settings.
    let mut other = mel_cfg();
    other.f_min = 0.0;
    let bad = write_corpus(&dir.path().join("bad"), &other, &examples_cfg(), &data);
    let err = train(
        &cfg,
        &data,
        &[bad],
        &dir.path().join("bad_run"),
        &NoProgress,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("mel") && err.contains("f_min"), "{err}");
}

#[test]
fn recordings_are_classified_per_cycle_or_per_window() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path());
    let out = dir.path().join("run");
    train(&tiny(1), &data, &[], &out, &NoProgress).unwrap();
    let mut clf = Classifier::load(&out).unwrap();
    let wav = data.train[0].source.clone();
    let ann = wav.with_extension("txt");
    let per_cycle = clf.classify_file(&wav, Some(&ann)).unwrap();
    let cycles = per_cycle.cycles.as_ref().unwrap();
    assert!(!cycles.is_empty() && per_cycle.windows.is_none());
    assert_eq!(per_cycle.summary.segments, cycles.len());
    let windowed = clf.classify_file(&wav, None).unwrap();
    let windows = windowed.windows.as_ref().unwrap();
    // 1 s windows over the recording.
    assert!(
        windows.len() + 1 >= windowed.duration_s as usize,
        "{} windows for {} s",
        windows.len(),
        windowed.duration_s
    );
    let v = serde_json::to_value(&windowed).unwrap();
    let probs = v["windows"][0]["probabilities"].as_object().unwrap();
    assert_eq!(probs.len(), data.classes.len());
    let total: f64 = probs.values().map(|p| p.as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-4);
}
