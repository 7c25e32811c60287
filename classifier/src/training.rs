//! The training loop: features, sampling and mixing, losses, AdamW with a cosine schedule,
//! validation with early stopping on the ICBHI score, a checkpoint every epoch and resume.
//!
//! A run directory holds:
//!
//! | file | what |
//! |---|---|
//! | `config.json` | [`ModelConfig`]: resolved [`TrainConfig`], classes, feature shape (written first) |
//! | `normalization.json` | per-Mel-bin mean/std of the training split |
//! | `provenance.json` | program, data fingerprint, seed, command line |
//! | `checkpoint.json`, `checkpoint-<epoch>/` | the last complete epoch: `model.bpk`, `optimizer.bpk`, `best.bpk` and the loop's state, committed as one set (see [`auscult_experiment::Checkpoint`]); what `--resume` reads |
//! | `model.bpk` | the last complete epoch's weights (published from the checkpoint) |
//! | `best.bpk` | weights of the best validation score (the last epoch without validation; published from the checkpoint) |
//! | `metrics.jsonl` | one [`EpochRecord`] per epoch |
//! | `curves.png`, `confusion.png` | training curves; confusion matrix (test split, else validation) |
//! | `decision.json`, `roc.png` | binary tasks: the decision threshold chosen on validation ([`DecisionRule`]); the ROC curve (test split, else validation) |
//! | `report.json` | the [`TrainReport`] |

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use auscult_datasets::{Example, ExampleSet, GeneratedCorpus};
use auscult_experiment::{
    Checkpoint, MetricsLog, Progress, Provenance, RunDir, Start, TrainingState, device,
    load_module, load_optimizer, read_metrics, restore_rng, rng_position, seeded_rng,
};
use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::binary::{DecisionRule, Level, fuse_by_patient, positive_class};
use crate::config::{CONFIG_SCHEMA_VERSION, ModelConfig, TrainConfig};
use crate::data::{FeatureSet, Normalization, compute_features, load_augmentation};
use crate::files;
use crate::inference::{predict_probabilities, source_rates};
use crate::loss::inverse_frequency_weights;
use crate::metrics::{BootstrapOptions, Metrics};
use crate::mixup::{MixupMode, mix};
use crate::model::{Cnn, dropout_mask};
use crate::sampler::{
    BalancedSampler, decorrelation_weights, instance_batches, oversample, weighted_batches,
    weighted_index,
};
use crate::supcon::supcon_loss;
use crate::{Error, Result};

// Random streams of a run (seeded_rng(seed, stream)).
const STREAM_INIT: u64 = 0;
const STREAM_ORDER: u64 = 1;
const STREAM_BALANCED: u64 = 2;
const STREAM_LAMBDA: u64 = 3;
const STREAM_SPEC_AUGMENT: u64 = 4;
const STREAM_DROPOUT: u64 = 5;
const STREAM_AUGMENT_SELECT: u64 = 6;
const STREAM_OVERSAMPLE: u64 = 7;
const SAVED_STREAMS: [u64; 5] = [
    STREAM_ORDER,
    STREAM_BALANCED,
    STREAM_LAMBDA,
    STREAM_SPEC_AUGMENT,
    STREAM_DROPOUT,
];

/// One line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Optimiser steps taken so far.
    pub step: usize,
    /// Learning rate at the epoch's last step.
    pub lr: f64,
    /// Mean total training loss of the epoch.
    pub train_loss: f64,
    /// Mean classification loss.
    pub train_class_loss: f64,
    /// Mean supervised contrastive loss (0 when disabled).
    pub train_supcon_loss: f64,
    /// Validation cross-entropy (`None` without a validation split).
    pub val_loss: Option<f64>,
    /// Validation ICBHI score.
    pub val_score: Option<f64>,
    /// Validation specificity.
    pub val_specificity: Option<f64>,
    /// Validation sensitivity.
    pub val_sensitivity: Option<f64>,
    /// Validation accuracy.
    pub val_accuracy: Option<f64>,
    /// Validation macro-F1.
    pub val_macro_f1: Option<f64>,
    /// Validation ROC-AUC (binary tasks; what selects the best epoch there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_roc_auc: Option<f64>,
    /// Whether this epoch is the best so far.
    pub best: bool,
    /// Wall time of the epoch in seconds.
    pub seconds: f64,
}

/// The outcome of a training run (also saved as `report.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// The run directory.
    pub run_dir: PathBuf,
    /// Class names.
    pub classes: Vec<String>,
    /// Real training examples.
    pub n_train: usize,
    /// Generated examples mixed into training.
    pub n_generated: usize,
    /// Validation examples.
    pub n_val: usize,
    /// Test examples.
    pub n_test: usize,
    /// Epochs completed.
    pub epochs: usize,
    /// Optimiser steps taken.
    pub steps: usize,
    /// Epoch whose weights are in `best.bpk`.
    pub best_epoch: Option<usize>,
    /// Its validation score: the ROC-AUC of a binary task, the ICBHI score otherwise.
    pub best_val_score: Option<f64>,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// Mean training loss of the first and of the last epoch.
    pub first_train_loss: Option<f64>,
    /// Mean training loss of the last epoch.
    pub last_train_loss: Option<f64>,
    /// Training steps per second in this process (excluding validation).
    pub steps_per_second: Option<f64>,
    /// Metrics of the best weights on the validation split.
    pub val: Option<Metrics>,
    /// Metrics of the best weights on the test split.
    pub test: Option<Metrics>,
    /// The unit of `val` and `test` (items, or participants with fused predictions).
    #[serde(default)]
    pub level: Level,
    /// Binary tasks: the decision threshold chosen on the validation split (also in
    /// `decision.json`), used by `val`, `test`, `auscult evaluate` and `auscult classify`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<DecisionRule>,
    /// How this invocation began: a new run, resumed from a checkpoint, or started again
    /// because `--resume` found no committed checkpoint.
    #[serde(default)]
    pub start: Start,
}

/// Trains a new classifier on `data` (train split; validation for early stopping; test for the
/// final report), with generated `augment` corpora mixed into training only, into the new run
/// directory `out`.
pub fn train(
    cfg: &TrainConfig,
    data: &ExampleSet,
    augment: &[GeneratedCorpus],
    out: &Path,
    progress: &dyn Progress,
) -> Result<TrainReport> {
    cfg.validate()?;
    let run = RunDir::create(out, false)?;
    run_training(cfg.clone(), data, augment, run, false, progress)
}

/// Continues the run in `out` from its last committed checkpoint (the data must be loaded as
/// for the original run; the configuration is read from `out/config.json`). A run stopped before
/// its first checkpoint starts again from the first epoch ([`TrainReport::start`] says so).
/// A checkpoint whose files do not match their recorded hashes is an error naming the file.
///
/// The data must be what the run was trained on: its fingerprint (names, sizes and bytes of
/// every source file, recorded in `provenance.json`) is compared, and a difference is an error
/// unless `allow_data_change` is set.
pub fn resume(
    out: &Path,
    data: &ExampleSet,
    augment: &[GeneratedCorpus],
    allow_data_change: bool,
    progress: &dyn Progress,
) -> Result<TrainReport> {
    let run = RunDir::create(out, true)?;
    let saved: ModelConfig = run.load_json(files::CONFIG)?;
    if !allow_data_change && run.file(files::PROVENANCE).is_file() {
        let recorded: Provenance = run.load_json(files::PROVENANCE)?;
        let (_, sources) = data_sources(data, augment);
        recorded.verify_data(out, &sources)?;
    }
    run_training(saved.train, data, augment, run, true, progress)
}

/// The dataset roots of the generated corpora and every source file of `data` (each
/// recording once) and of `augment` (their manifests), sorted: what the provenance
/// fingerprints.
fn data_sources(data: &ExampleSet, augment: &[GeneratedCorpus]) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut sources: Vec<PathBuf> = data
        .train
        .iter()
        .chain(&data.val)
        .chain(&data.test)
        .map(|e| e.source.clone())
        .collect();
    sources.sort();
    sources.dedup();
    let mut roots: Vec<PathBuf> = augment.iter().map(|c| c.dir.clone()).collect();
    sources.extend(
        roots
            .iter()
            .map(|d| d.join(auscult_datasets::MANIFEST_FILE)),
    );
    roots.sort();
    (roots, sources)
}

/// The recording chain of each of `n_items` training items as a group id: the device in an
/// ICBHI file name and the source file's sample rate for the real examples (`real`, first),
/// one group for the generated items after them.
fn recording_chains(real: &[Example], n_items: usize) -> Vec<usize> {
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    real.iter()
        .zip(source_rates(real))
        .map(|(e, rate)| {
            let device = e.device().map_or("unknown", |d| d.code());
            format!("{device}@{}", rate.unwrap_or(0))
        })
        .chain(std::iter::repeat_with(|| "generated".to_string()))
        .take(n_items)
        .map(|key| {
            let next = ids.len();
            *ids.entry(key).or_insert(next)
        })
        .collect()
}

/// Everything prepared before the first step.
struct Prepared {
    classes: Vec<String>,
    train: FeatureSet,
    val: FeatureSet,
    test: FeatureSet,
    /// Patient of every validation item (for patient-level bootstrap intervals).
    val_patients: Vec<String>,
    /// Patient of every test item.
    test_patients: Vec<String>,
    /// Indices into `train` forming one epoch of instance sampling (oversampled when asked).
    epoch_items: Vec<usize>,
    /// Recording chain of every training item when `device_balance` is on (empty otherwise).
    groups: Vec<usize>,
    n_real: usize,
    class_weights: Vec<f32>,
}

fn prepare(
    cfg: &TrainConfig,
    data: &ExampleSet,
    augment: &[GeneratedCorpus],
    run: &RunDir,
    from_checkpoint: bool,
) -> Result<Prepared> {
    let n_classes = data.classes.len();
    if data.train.is_empty() {
        return Err(Error::data(
            "the training split is empty: check --data and --split (every patient may be in the test split)",
        ));
    }
    let mut train = compute_features(&data.train, &cfg.mel)?;
    let mut val = compute_features(&data.val, &cfg.mel)?;
    let mut test = compute_features(&data.test, &cfg.mel)?;
    let (n_bins, n_frames) = (train.n_bins, train.n_frames);
    for (set, name) in [(&mut val, "validation"), (&mut test, "test")] {
        if set.is_empty() {
            *set = FeatureSet::empty(n_bins, n_frames);
        } else if (set.n_bins, set.n_frames) != (n_bins, n_frames) {
            return Err(Error::data(format!(
                "{name} features are {} x {} but training features are {n_bins} x {n_frames}; load all splits with one example config",
                set.n_bins, set.n_frames
            )));
        }
    }
    let norm = if from_checkpoint {
        run.load_json::<Normalization>(files::NORMALIZATION)?
    } else {
        let norm = Normalization::fit(&train, cfg.item_norm)?;
        run.save_json(files::NORMALIZATION, &norm)?;
        norm
    };
    let n_real = train.len();
    let real_counts = train.class_counts(n_classes);
    if !augment.is_empty() {
        let mut rng = seeded_rng(cfg.seed, STREAM_AUGMENT_SELECT);
        let generated = load_augmentation(
            augment,
            &data.classes,
            (&cfg.mel, &cfg.examples),
            (n_bins, n_frames),
            &real_counts,
            cfg.augment_mix,
            &mut rng,
        )?;
        train.data.extend_from_slice(&generated.data);
        train.labels.extend_from_slice(&generated.labels);
    }
    for set in [&mut train, &mut val, &mut test] {
        norm.apply(&mut set.data, n_frames);
    }
    let groups = if cfg.device_balance {
        recording_chains(&data.train, train.len())
    } else {
        Vec::new()
    };
    let epoch_items = if cfg.oversample {
        oversample(
            &train.labels,
            n_classes,
            &mut seeded_rng(cfg.seed, STREAM_OVERSAMPLE),
        )?
    } else {
        (0..train.len()).collect()
    };
    if epoch_items.len() < 2 {
        return Err(Error::data("training needs at least 2 examples"));
    }
    let class_weights = inverse_frequency_weights(&train.class_counts(n_classes));
    if !from_checkpoint {
        let config = ModelConfig {
            schema_version: CONFIG_SCHEMA_VERSION,
            created_by: format!("auscult-classifier {}", env!("CARGO_PKG_VERSION")),
            classes: data.classes.clone(),
            n_bins,
            n_frames,
            train: cfg.clone(),
        };
        run.save_json(files::CONFIG, &config)?;
        let (roots, sources) = data_sources(data, augment);
        let provenance = Provenance::new(roots, &sources, cfg.seed)?;
        run.save_json(files::PROVENANCE, &provenance)?;
    }
    Ok(Prepared {
        classes: data.classes.clone(),
        train,
        val,
        test,
        val_patients: data.val.iter().map(|e| e.patient.clone()).collect(),
        test_patients: data.test.iter().map(|e| e.patient.clone()).collect(),
        epoch_items,
        groups,
        n_real,
        class_weights,
    })
}

struct Streams {
    order: ChaCha8Rng,
    balanced: ChaCha8Rng,
    lambda: ChaCha8Rng,
    spec_augment: ChaCha8Rng,
    dropout: ChaCha8Rng,
}

impl Streams {
    /// The streams at the positions `saved` in `state_file` (from the start where none is).
    fn new(seed: u64, saved: &[(u64, String)], state_file: &Path) -> Result<Self> {
        let get = |stream: u64| match saved.iter().find(|(s, _)| *s == stream) {
            Some((_, pos)) => restore_rng(seed, stream, pos, state_file),
            None => Ok(seeded_rng(seed, stream)),
        };
        Ok(Self {
            order: get(STREAM_ORDER)?,
            balanced: get(STREAM_BALANCED)?,
            lambda: get(STREAM_LAMBDA)?,
            spec_augment: get(STREAM_SPEC_AUGMENT)?,
            dropout: get(STREAM_DROPOUT)?,
        })
    }

    fn positions(&self) -> Vec<(u64, String)> {
        let all = [
            &self.order,
            &self.balanced,
            &self.lambda,
            &self.spec_augment,
            &self.dropout,
        ];
        SAVED_STREAMS
            .iter()
            .zip(all)
            .map(|(&s, r)| (s, rng_position(r)))
            .collect()
    }
}

fn run_training(
    cfg: TrainConfig,
    data: &ExampleSet,
    augment: &[GeneratedCorpus],
    run: RunDir,
    resume: bool,
    progress: &dyn Progress,
) -> Result<TrainReport> {
    let n_classes = data.classes.len();
    let (start, mut checkpoint) = run.resume_point(resume)?;
    if start == Start::Restarted {
        progress.message(&format!(
            "{} has no committed checkpoint: training from the first epoch",
            run.path().display()
        ));
    }
    let p = prepare(&cfg, data, augment, &run, checkpoint.is_some())?;
    let base = device(cfg.device)?;
    let train_device = base.clone().autodiff();

    let mut model = cfg.model.init(
        n_classes,
        &train_device,
        &mut seeded_rng(cfg.seed, STREAM_INIT),
    )?;
    let mut adamw = AdamWConfig::new().with_weight_decay(cfg.weight_decay);
    if let Some(c) = cfg.grad_clip_norm {
        adamw = adamw.with_grad_clipping(Some(GradientClippingConfig::Norm(c)));
    }
    let mut optim: ModuleOptimizer = adamw.init();
    let mut state = TrainingState::default();
    if let Some(c) = &checkpoint {
        state = c.state().clone();
        model = load_module(model, c.file(files::MODEL))?;
        optim = load_optimizer(optim, c.file(files::OPTIMIZER))?;
        // A run killed between its commit and the publishing left older copies.
        publish(c, &run)?;
    }
    let mut streams = Streams::new(
        cfg.seed,
        &state.rng_positions,
        &run.file(auscult_experiment::CHECKPOINT_FILE),
    )?;
    // Epochs after the checkpoint were not saved: their lines go, and are logged again.
    let mut log = MetricsLog::open_truncated(run.file(files::METRICS), state.epoch)?;

    let (balanced, item_weights) = if cfg.device_balance {
        (
            BalancedSampler::with_groups(&p.train.labels, &p.groups, n_classes)?,
            Some(weighted_index(&decorrelation_weights(
                &p.train.labels,
                &p.groups,
            ))?),
        )
    } else {
        (BalancedSampler::new(&p.train.labels, n_classes)?, None)
    };
    let steps_per_epoch =
        instance_batches(p.epoch_items.len(), cfg.batch_size, &mut seeded_rng(0, 0)).len();
    let total_steps = steps_per_epoch * cfg.epochs;
    let warmup = steps_per_epoch * cfg.warmup_epochs;
    let item_len = p.train.item_len();
    let (n_bins, n_frames) = (p.train.n_bins, p.train.n_frames);

    let mut train_time = 0.0;
    let mut steps_here = 0usize;
    while state.epoch < cfg.epochs && !state.stopped_early {
        let epoch = state.epoch + 1;
        let started = Instant::now();
        let batches = match &item_weights {
            // Indices into `train` drawn by weight; `epoch_items` is the identity then.
            Some(w) => weighted_batches(w, p.epoch_items.len(), cfg.batch_size, &mut streams.order),
            None => instance_batches(p.epoch_items.len(), cfg.batch_size, &mut streams.order),
        };
        progress.start(
            &format!("epoch {epoch}/{}", cfg.epochs),
            batches.len() as u64,
        );
        let (mut sum_loss, mut sum_class, mut sum_supcon) = (0.0, 0.0, 0.0);
        let mut lr = cfg.lr;
        for batch in &batches {
            let items: Vec<usize> = batch.iter().map(|&i| p.epoch_items[i]).collect();
            let b = items.len();
            let partner: Option<Vec<usize>> = match cfg.mixup {
                MixupMode::Balanced | MixupMode::BalancedSampling => {
                    Some(balanced.batch(b, &mut streams.balanced))
                }
                MixupMode::Plain => {
                    let mut perm = items.clone();
                    rand::seq::SliceRandom::shuffle(perm.as_mut_slice(), &mut streams.balanced);
                    Some(perm)
                }
                MixupMode::None => None,
            };
            let lambda = cfg
                .mixup
                .sample_lambda(cfg.mixup_alpha, &mut streams.lambda)?;
            let (first, second) = match (cfg.mixup, partner) {
                (MixupMode::BalancedSampling, Some(bal)) => (bal, None),
                (_, partner) => (items, partner),
            };
            let gather = |idx: &[usize], rng: &mut ChaCha8Rng| {
                let mut x = p.train.gather(idx);
                if let Some(aug) = cfg.spec_augment {
                    for item in x.chunks_mut(item_len) {
                        aug.apply(item, n_bins, n_frames, rng);
                    }
                }
                x
            };
            let xa = gather(&first, &mut streams.spec_augment);
            let la: Vec<usize> = first.iter().map(|&i| p.train.labels[i]).collect();
            let mixed = match &second {
                Some(idx) if lambda != 0.0 => {
                    let xb = gather(idx, &mut streams.spec_augment);
                    let lb: Vec<usize> = idx.iter().map(|&i| p.train.labels[i]).collect();
                    mix(&xa, &la, &xb, &lb, n_classes, lambda)
                }
                _ => mix(&xa, &la, &xa, &la, n_classes, 0.0),
            };
            let mut mixed = mixed;
            if let Some(fms) = &cfg.freq_mixstyle {
                fms.apply(&mut mixed.x, n_bins, n_frames, &mut streams.spec_augment);
            }
            let x = Tensor::<4>::from_data(
                TensorData::new(mixed.x, [b, 1, n_bins, n_frames]),
                &train_device,
            );
            let targets = Tensor::<2>::from_data(
                TensorData::new(mixed.targets, [b, n_classes]),
                &train_device,
            );
            let mask = (cfg.model.dropout > 0.0).then(|| {
                let d = cfg.model.embedding_dim();
                let m = dropout_mask(b, d, cfg.model.dropout, &mut streams.dropout);
                Tensor::<2>::from_data(TensorData::new(m, [b, d]), &train_device)
            });
            let with_supcon = cfg.supcon_weight > 0.0;
            let out = model.forward(x, mask, with_supcon);
            let class_loss = cfg.loss.forward(out.logits, targets, &p.class_weights);
            let class_value: f32 = class_loss.clone().into_scalar();
            let (loss, supcon_value) = match out.projection {
                Some(proj) if with_supcon => {
                    let s = supcon_loss(proj, &mixed.dominant_labels, cfg.temperature);
                    let v: f32 = s.clone().into_scalar();
                    (class_loss + s * cfg.supcon_weight, v)
                }
                _ => (class_loss, 0.0),
            };
            let total = class_value + cfg.supcon_weight * supcon_value;
            if !total.is_finite() {
                return Err(Error::data(format!(
                    "the training loss became {total} at epoch {epoch}, step {}; lower --lr or enable gradient clipping",
                    state.step + 1
                )));
            }
            lr = cfg.lr * cosine_factor(state.step, total_steps, warmup, cfg.min_lr_factor);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
            state.step += 1;
            steps_here += 1;
            sum_loss += total as f64;
            sum_class += class_value as f64;
            sum_supcon += supcon_value as f64;
            progress.advance(1);
            progress.message(&format!("loss {total:.4}"));
        }
        train_time += started.elapsed().as_secs_f64();
        progress.finish();
        let n = batches.len().max(1) as f64;

        let eval_model = model.valid();
        let val = evaluate_features(
            &eval_model,
            &p.val,
            &p.val_patients,
            &p.classes,
            &base,
            0,
            cfg.seed,
        )?;
        let mut best = false;
        match &val {
            Some((m, _)) => {
                let score = selection_score(m);
                if state.best_score.is_none_or(|b| score > b) {
                    state.best_score = Some(score);
                    state.best_epoch = Some(epoch);
                    state.epochs_without_improvement = 0;
                    best = true;
                } else {
                    state.epochs_without_improvement += 1;
                }
            }
            None => {
                state.best_epoch = Some(epoch);
                best = true;
            }
        }
        let record = EpochRecord {
            epoch,
            step: state.step,
            lr,
            train_loss: sum_loss / n,
            train_class_loss: sum_class / n,
            train_supcon_loss: sum_supcon / n,
            val_loss: val.as_ref().map(|v| v.1),
            val_score: val.as_ref().map(|v| v.0.score),
            val_specificity: val.as_ref().map(|v| v.0.specificity),
            val_sensitivity: val.as_ref().map(|v| v.0.sensitivity),
            val_accuracy: val.as_ref().map(|v| v.0.accuracy),
            val_macro_f1: val.as_ref().map(|v| v.0.macro_f1),
            val_roc_auc: val.as_ref().and_then(|v| v.0.roc_auc),
            best,
            seconds: started.elapsed().as_secs_f64(),
        };
        if let Some(v) = record.val_score {
            progress.message(&format!(
                "epoch {epoch}: loss {:.4}, val score {v:.3}{}",
                record.train_loss,
                if best { " (best)" } else { "" }
            ));
        }
        // The epoch's line first, then its checkpoint: a crash in between leaves a line that the
        // resume drops and logs again.
        log.append(&record)?;
        state.epoch = epoch;
        state.rng_positions = streams.positions();
        if cfg
            .patience
            .is_some_and(|pat| state.epochs_without_improvement >= pat)
        {
            state.stopped_early = true;
        }
        let mut saving = run.begin_checkpoint(epoch)?;
        saving.save_module(files::MODEL, &model)?;
        saving.save_optimizer(files::OPTIMIZER, &optim)?;
        match &checkpoint {
            Some(previous) if !best => saving.keep(files::BEST, previous)?,
            _ => saving.save_same_as(files::BEST, files::MODEL)?,
        }
        let saved = saving.commit(&state)?;
        publish(&saved, &run)?;
        checkpoint = Some(saved);
    }

    let mut report = finish(&cfg, &run, &p, &state, &base, train_time, steps_here)?;
    report.start = start;
    run.save_json(files::REPORT, &report)?;
    Ok(report)
}

/// Publishes a checkpoint's last and best weights at the top of the run directory, where
/// evaluation and inference read them.
fn publish(checkpoint: &Checkpoint, run: &RunDir) -> Result<()> {
    for name in [files::MODEL, files::BEST] {
        if checkpoint.has(name) {
            checkpoint.publish(name, run.file(name))?;
        }
    }
    Ok(())
}

/// `lr / base_lr` at `step`: linear warm-up then cosine to `min_factor`.
fn cosine_factor(step: usize, total: usize, warmup: usize, min_factor: f64) -> f64 {
    auscult_experiment::cosine_with_warmup(step, total, warmup, 1.0, min_factor)
}

/// Metrics and mean cross-entropy of `model` on normalised features (`patients[i]` is item
/// `i`'s patient; the intervals resample patients); `None` for an empty set.
fn evaluate_features(
    model: &Cnn,
    set: &FeatureSet,
    patients: &[String],
    classes: &[String],
    device: &Device,
    bootstrap: usize,
    seed: u64,
) -> Result<Option<(Metrics, f64)>> {
    if set.is_empty() {
        return Ok(None);
    }
    let probs = predict_probabilities(model, &set.data, set.n_bins, set.n_frames, device);
    let ce = probs
        .iter()
        .zip(&set.labels)
        .map(|(p, &l)| -(p[l].max(1e-12) as f64).ln())
        .sum::<f64>()
        / set.len() as f64;
    let m = Metrics::compute_with_patients(
        classes,
        &set.labels,
        &probs,
        patients,
        BootstrapOptions {
            resamples: bootstrap,
            seed,
        },
    )?;
    Ok(Some((m, ce)))
}

/// What early stopping and `best.bpk` maximise: the ROC-AUC of a binary task (threshold-free:
/// the threshold is chosen after training), the ICBHI score otherwise.
fn selection_score(m: &Metrics) -> f64 {
    m.roc_auc.unwrap_or(m.score)
}

/// Truth, probabilities and patients of a split at the run's level: per item, or fused
/// per participant.
struct Scored {
    truth: Vec<usize>,
    probabilities: Vec<Vec<f32>>,
    patients: Vec<String>,
}

impl Scored {
    /// The model's probabilities on normalised features, fused per participant at
    /// [`Level::Participant`]; `None` for an empty set.
    fn new(
        model: &Cnn,
        set: &FeatureSet,
        patients: &[String],
        level: Level,
        device: &Device,
    ) -> Result<Option<Self>> {
        if set.is_empty() {
            return Ok(None);
        }
        let probs = predict_probabilities(model, &set.data, set.n_bins, set.n_frames, device);
        Ok(Some(match level {
            Level::Item => Self {
                truth: set.labels.clone(),
                probabilities: probs,
                patients: patients.to_vec(),
            },
            Level::Participant => {
                let f = fuse_by_patient(&set.labels, &probs, patients)?;
                Self {
                    truth: f.truth,
                    probabilities: f.probabilities,
                    patients: f.patients,
                }
            }
        }))
    }

    /// The positive class's probability and the truth, for a binary task.
    fn binary(&self, positive: usize) -> (Vec<f64>, Vec<bool>) {
        (
            self.probabilities
                .iter()
                .map(|p| f64::from(p[positive]))
                .collect(),
            self.truth.iter().map(|&t| t == positive).collect(),
        )
    }

    fn metrics(
        &self,
        classes: &[String],
        bootstrap: usize,
        seed: u64,
        threshold: Option<f64>,
    ) -> Result<Metrics> {
        Metrics::compute_full(
            classes,
            &self.truth,
            &self.probabilities,
            Some(&self.patients),
            BootstrapOptions {
                resamples: bootstrap,
                seed,
            },
            threshold,
        )
    }
}

fn finish(
    cfg: &TrainConfig,
    run: &RunDir,
    p: &Prepared,
    state: &TrainingState,
    base: &Device,
    train_time: f64,
    steps_here: usize,
) -> Result<TrainReport> {
    let n_classes = p.classes.len();
    let weights = if run.file(files::BEST).exists() {
        run.file(files::BEST)
    } else {
        run.file(files::MODEL)
    };
    let model = cfg
        .model
        .init(n_classes, base, &mut seeded_rng(cfg.seed, STREAM_INIT))?;
    let model = load_module(model, weights)?.valid();
    let val = Scored::new(&model, &p.val, &p.val_patients, cfg.level, base)?;
    let test = Scored::new(&model, &p.test, &p.test_patients, cfg.level, base)?;
    let positive = positive_class(&p.classes);
    let decision = match (positive, &val) {
        (Some(pos), Some(v)) => {
            let (scores, truth) = v.binary(pos);
            Some(DecisionRule::choose(
                &p.classes[pos],
                &scores,
                &truth,
                cfg.level,
            ))
        }
        (Some(pos), None) => Some(DecisionRule::choose(&p.classes[pos], &[], &[], cfg.level)),
        _ => None,
    };
    if let Some(d) = &decision {
        auscult_experiment::write_json_atomic(run.file(files::DECISION), d)?;
    }
    let threshold = decision.as_ref().map(|d| d.threshold);
    let metrics = |s: &Option<Scored>| {
        s.as_ref()
            .map(|s| s.metrics(&p.classes, cfg.bootstrap, cfg.seed, threshold))
            .transpose()
    };
    let (val_m, test_m) = (metrics(&val)?, metrics(&test)?);
    if let (Some(pos), Some((s, split))) = (
        positive,
        test.as_ref()
            .map(|s| (s, "test"))
            .or(val.as_ref().map(|s| (s, "validation"))),
    ) {
        let (scores, truth) = s.binary(pos);
        let auc = crate::binary::roc_auc(&scores, &truth).unwrap_or(f64::NAN);
        let title = format!(
            "ROC of {} ({split}, {} {}s, AUC {auc:.3})",
            p.classes[pos],
            scores.len(),
            cfg.level.name()
        );
        crate::binary::roc_png(&run.file(files::ROC), &title, &scores, &truth)?;
    }
    let (val, test) = (val_m, test_m);

    let history: Vec<EpochRecord> = read_metrics(run.file(files::METRICS))?
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect();
    draw_curves(&run.file(files::CURVES), &history)?;
    if let Some((m, split)) = test
        .as_ref()
        .map(|m| (m, "test"))
        .or(val.as_ref().map(|m| (m, "validation")))
    {
        let path = run.file(files::CONFUSION);
        let title = format!(
            "Confusion matrix ({split}, n = {}, ICBHI score {:.3})",
            m.n, m.score
        );
        auscult_plot::confusion_png(&path, &title, &m.confusion, &p.classes).map_err(|e| {
            Error::Plot {
                path: path.clone(),
                reason: e.to_string(),
            }
        })?;
    }
    let report = TrainReport {
        run_dir: run.path().to_path_buf(),
        classes: p.classes.clone(),
        n_train: p.n_real,
        n_generated: p.train.len() - p.n_real,
        n_val: p.val.len(),
        n_test: p.test.len(),
        epochs: state.epoch,
        steps: state.step,
        best_epoch: state.best_epoch,
        best_val_score: state.best_score,
        stopped_early: state.stopped_early,
        first_train_loss: history.first().map(|r| r.train_loss),
        last_train_loss: history.last().map(|r| r.train_loss),
        steps_per_second: (train_time > 0.0 && steps_here > 0)
            .then(|| steps_here as f64 / train_time),
        val,
        test,
        level: cfg.level,
        decision,
        start: Start::New,
    };
    Ok(report)
}

fn draw_curves(path: &Path, history: &[EpochRecord]) -> Result<()> {
    if history.is_empty() {
        return Ok(());
    }
    let series = |name: &str, f: &dyn Fn(&EpochRecord) -> Option<f64>| auscult_plot::Series {
        name: name.to_string(),
        points: history
            .iter()
            .filter_map(|r| f(r).map(|y| (r.epoch as f64, y)))
            .collect(),
    };
    let mut loss = vec![
        series("train (total)", &|r| Some(r.train_loss)),
        series("train (class)", &|r| Some(r.train_class_loss)),
    ];
    if history.iter().any(|r| r.train_supcon_loss != 0.0) {
        loss.push(series("train (SupCon)", &|r| Some(r.train_supcon_loss)));
    }
    let mut panels = vec![auscult_plot::Panel {
        title: "loss".into(),
        x_label: "epoch".into(),
        y_label: "loss".into(),
        series: loss,
    }];
    if history.iter().any(|r| r.val_score.is_some()) {
        panels[0]
            .series
            .push(series("validation (CE)", &|r| r.val_loss));
        panels.push(auscult_plot::Panel {
            title: "validation".into(),
            x_label: "epoch".into(),
            y_label: "fraction".into(),
            series: vec![
                series("ICBHI score", &|r| r.val_score),
                series("sensitivity", &|r| r.val_sensitivity),
                series("specificity", &|r| r.val_specificity),
                series("macro-F1", &|r| r.val_macro_f1),
            ],
        });
        if history.iter().any(|r| r.val_roc_auc.is_some()) {
            panels[1].series.push(series("ROC-AUC", &|r| r.val_roc_auc));
        }
    }
    auscult_plot::curves_png(path, "Classifier training", &panels).map_err(|e| Error::Plot {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}
