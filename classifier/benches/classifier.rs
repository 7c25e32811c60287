//! Criterion benchmarks of the classifier on the CPU (`flex`):
//! - `train_step/{small,medium}_b32`: one training step of the default (`small`) and `medium`
//!   models at batch 32 on 64 x 126 inputs (forward, cross-entropy + SupCon, backward, AdamW
//!   with clipping), the step `bench/pytorch_cnn.py` times for PyTorch;
//! - `inference/{small,medium}_b32`: a forward pass of 32 items;
//! - `classify/20s_recording`: `Classifier::load` + `classify_file` of a 20 s, 44.1 kHz real
//!   ICBHI recording (model load, decode, resample, log-Mel, 5 windows, forward).
//!
//! Run with `cargo bench -p auscult-classifier`. With a build `--features gpu`,
//! `AUSCULT_BENCH_DEVICE=gpu` runs the training-step and inference benchmarks on the GPU
//! (burn's Vulkan backend).

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::path::{Path, PathBuf};

use auscult_classifier::config::{CONFIG_SCHEMA_VERSION, ModelConfig};
use auscult_classifier::data::Normalization;
use auscult_classifier::files;
use auscult_classifier::loss::soft_cross_entropy;
use auscult_classifier::supcon::supcon_loss;
use auscult_classifier::{Classifier, CnnConfig, TrainConfig};
use auscult_experiment::{save_module, seeded_rng};
use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use criterion::{Criterion, Throughput, criterion_group};

/// The allocator the `auscult` binary uses, so the step timed here is the step users get.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const B: usize = 32;
const BINS: usize = 64;
const FRAMES: usize = 126;
const CLASSES: usize = 4;

/// The device under test: `flex` on the CPU, or the GPU when `AUSCULT_BENCH_DEVICE=gpu`.
fn bench_device() -> Device {
    match std::env::var("AUSCULT_BENCH_DEVICE").as_deref() {
        Ok("gpu") => auscult_experiment::device(auscult_experiment::DeviceChoice::Gpu).unwrap(),
        _ => Device::flex(),
    }
}

/// The models benchmarked: `small` and `medium`, plus `cnn10` on the GPU.
fn presets() -> Vec<(&'static str, CnnConfig)> {
    let mut p = vec![
        ("small_b32", CnnConfig::small()),
        ("medium_b32", CnnConfig::medium()),
    ];
    if std::env::var("AUSCULT_BENCH_DEVICE").as_deref() == Ok("gpu") {
        p.push(("cnn10_b32", CnnConfig::cnn10()));
    }
    p
}

fn train_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("train_step");
    group.sample_size(10);
    group.throughput(Throughput::Elements(B as u64));
    for (name, cfg) in presets() {
        train_step_of(&mut group, name, &cfg);
    }
    group.finish();
}

fn train_step_of(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    cfg: &CnnConfig,
) {
    let device = bench_device().autodiff();
    let mut model = cfg.init(CLASSES, &device, &mut seeded_rng(0, 0)).unwrap();
    let mut optim = AdamWConfig::new()
        .with_weight_decay(1e-3)
        .with_grad_clipping(Some(GradientClippingConfig::Norm(5.0)))
        .init();
    let x = Tensor::<4>::random(
        [B, 1, BINS, FRAMES],
        Distribution::Normal(0.0, 1.0),
        &device,
    );
    let labels: Vec<usize> = (0..B).map(|i| i % CLASSES).collect();
    let mut y = vec![0f32; B * CLASSES];
    for (i, &l) in labels.iter().enumerate() {
        y[i * CLASSES + l] = 1.0;
    }
    let y = Tensor::<2>::from_data(TensorData::new(y, [B, CLASSES]), &device);
    group.bench_function(name, |bench| {
        bench.iter(|| {
            let out = model.forward(black_box(x.clone()), None, true);
            let loss = soft_cross_entropy(out.logits, y.clone())
                + supcon_loss(out.projection.unwrap(), &labels, 0.07) * 0.5;
            let value: f32 = loss.clone().into_scalar();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(1e-3, model.clone(), grads);
            black_box(value)
        })
    });
}

fn inference(c: &mut Criterion) {
    let device = bench_device();
    let x = Tensor::<4>::random(
        [B, 1, BINS, FRAMES],
        Distribution::Normal(0.0, 1.0),
        &device,
    );
    let mut group = c.benchmark_group("inference");
    group.sample_size(10);
    group.throughput(Throughput::Elements(B as u64));
    for (name, cfg) in presets() {
        let model = cfg
            .init(CLASSES, &device, &mut seeded_rng(0, 0))
            .unwrap()
            .valid();
        group.bench_function(name, |bench| {
            bench.iter(|| {
                let logits = model.forward(black_box(x.clone()), None, false).logits;
                black_box(logits.into_data())
            })
        });
    }
    group.finish();
}

/// A run directory holding an untrained default model (what `classify` loads).
fn untrained_run(dir: &Path) {
    let cfg = TrainConfig::default();
    let model_config = ModelConfig {
        schema_version: CONFIG_SCHEMA_VERSION,
        created_by: "bench".into(),
        classes: ["normal", "crackle", "wheeze", "both"]
            .map(String::from)
            .to_vec(),
        n_bins: BINS,
        n_frames: FRAMES,
        train: cfg.clone(),
    };
    std::fs::write(
        dir.join(files::CONFIG),
        serde_json::to_vec(&model_config).unwrap(),
    )
    .unwrap();
    let norm = Normalization {
        item: Default::default(),
        bins: auscult_audio::BinStats {
            mean: vec![-40.0; BINS],
            std: vec![15.0; BINS],
        },
    };
    std::fs::write(
        dir.join(files::NORMALIZATION),
        serde_json::to_vec(&norm).unwrap(),
    )
    .unwrap();
    let model = cfg
        .model
        .init(CLASSES, &Device::flex(), &mut seeded_rng(0, 0))
        .unwrap();
    save_module(&model, dir.join(files::MODEL)).unwrap();
}

fn classify(c: &mut Criterion) {
    let wav: PathBuf = std::env::var_os("AUSCULT_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/fixtures/real"))
        .join("icbhi/ICBHI_final_database/102_1b1_Ar_sc_Meditron.wav");
    if !wav.is_file() {
        eprintln!(
            "skipping classify/20s_recording: {} is missing (set AUSCULT_FIXTURES)",
            wav.display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    untrained_run(dir.path());
    let mut group = c.benchmark_group("classify");
    group.sample_size(10);
    group.bench_function("20s_recording", |bench| {
        bench.iter(|| {
            let mut clf = Classifier::load(dir.path()).unwrap();
            black_box(clf.classify_file(&wav, None).unwrap())
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // No HTML plots: criterion's plotters backend panics when no system font is installed.
    config = Criterion::default().without_plots();
    targets = train_step, inference, classify
}

/// With `AUSCULT_BENCH_TRAIN_RUN=EPOCHS`, instead of benchmarking: a whole training run of the
/// default recipe on a seeded synthetic ICBHI corpus (40 patients, patient-disjoint official
/// split, 20% of the training patients for validation) on the bench device, printing the
/// report as JSON. `AUSCULT_BENCH_MODEL` picks the preset (default `small`).
fn training_run(epochs: usize) {
    use auscult_datasets::{LoadOptions, SynthConfig, load_examples, synth_icbhi};
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("icbhi");
    synth_icbhi(&data_dir, &SynthConfig::icbhi(1)).unwrap();
    let cfg = TrainConfig {
        epochs,
        model: CnnConfig::preset(
            &std::env::var("AUSCULT_BENCH_MODEL").unwrap_or_else(|_| "small".into()),
        )
        .unwrap(),
        device: match std::env::var("AUSCULT_BENCH_DEVICE").as_deref() {
            Ok("gpu") => auscult_experiment::DeviceChoice::Gpu,
            _ => auscult_experiment::DeviceChoice::Cpu,
        },
        ..TrainConfig::default()
    };
    let opts = LoadOptions {
        examples: cfg.examples.clone(),
        val_fraction: 0.2,
        seed: cfg.seed,
        ..LoadOptions::default()
    };
    let data = load_examples(&data_dir, &opts).unwrap();
    let started = std::time::Instant::now();
    let report = auscult_classifier::train(
        &cfg,
        &data,
        &[],
        &dir.path().join("run"),
        &auscult_experiment::NoProgress,
    )
    .unwrap();
    let summary = serde_json::json!({
        "device": format!("{:?}", cfg.device),
        "model": std::env::var("AUSCULT_BENCH_MODEL").unwrap_or_else(|_| "small".into()),
        "seconds": started.elapsed().as_secs_f64(),
        "n_train": report.n_train, "n_val": report.n_val, "n_test": report.n_test,
        "epochs": report.epochs, "steps": report.steps, "steps_per_second": report.steps_per_second,
        "first_train_loss": report.first_train_loss, "last_train_loss": report.last_train_loss,
        "best_epoch": report.best_epoch, "best_val_score": report.best_val_score,
        "test_score": report.test.as_ref().map(|m| m.score),
        "test_score_ci95": report.test.as_ref().and_then(|m| m.score_ci95),
        "test_specificity": report.test.as_ref().map(|m| m.specificity),
        "test_sensitivity": report.test.as_ref().map(|m| m.sensitivity),
    });
    println!("{summary}");
}

fn main() {
    auscult_experiment::allocator::retain_freed_memory();
    if let Some(epochs) = std::env::var("AUSCULT_BENCH_TRAIN_RUN")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        training_run(epochs);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
