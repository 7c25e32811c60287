//! Training the prior over a trained VQ-VAE's codes, and loading it for sampling.
//!
//! Files of a prior directory:
//! - `config.json`: the resolved [`PriorTrainConfig`];
//! - `vqvae/`: a copy of the VQ-VAE it was trained on (`config.json`, `model.bpk`,
//!   `vq_state.json`), so that the directory alone can generate;
//! - `model.bpk`: the Transformer's weights; `optimizer.bpk`, `state.json`: the checkpoint;
//! - `reference.json` and `reference.npy`: what generation's quality report compares with
//!   (training class counts, per-class band-energy profiles, training code grids, and the
//!   training log-Mels average-pooled over time, `[examples, n_mels, frames / pool]`);
//! - `metrics.jsonl`, `provenance.json`, `report.json`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use auscult_datasets::ExampleSet;
use auscult_experiment::{
    DeviceChoice, LrSchedule, MetricsLog, Progress, RunDir, TrainingState, load_module,
    load_optimizer, restore_rng, rng_position, save_module, save_optimizer, seeded_rng,
};
use burn::module::Module;
use burn::tensor::Device;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::data::LogMel;
use crate::features::log_mels;
use crate::prior::{Prior, PriorConfig};
use crate::quantizer::CodeUsage;
use crate::sampling::{SamplingConfig, sample_codes};
use crate::trainer::{PriorBatch, PriorTrainer, scalar};
use crate::training::provenance;
use crate::vqvae_model::{CONFIG_FILE, MODEL_FILE, OPTIMIZER_FILE, VQ_STATE_FILE, VqVaeModel};
use crate::{Error, Result};

/// Folder inside a prior directory that holds its VQ-VAE.
pub const VQVAE_DIR: &str = "vqvae";
/// Reference statistics of the training data (JSON).
pub const REFERENCE_FILE: &str = "reference.json";
/// Time-pooled training log-Mels (NPY).
pub const REFERENCE_NPY: &str = "reference.npy";
/// Time pooling of the reference log-Mels.
pub const REFERENCE_POOL: usize = 4;

/// Everything that defines a prior training run (saved, resolved, as `config.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PriorTrainConfig {
    /// Architecture (vocabulary, classes and length are filled in from the VQ-VAE).
    pub model: PriorConfig,
    /// Passes over the training split.
    pub epochs: usize,
    /// Sequences per step.
    pub batch_size: usize,
    /// Peak learning rate (Adam).
    pub lr: f64,
    /// Learning-rate schedule over all steps.
    pub schedule: LrSchedule,
    /// Seed of initialisation, shuffling and dropout.
    pub seed: u64,
    /// Where to compute.
    pub device: DeviceChoice,
    /// Class names (filled in from the VQ-VAE).
    pub classes: Vec<String>,
    /// The VQ-VAE directory it was trained on (filled in; a copy is in `vqvae/`).
    pub vqvae_source: PathBuf,
    /// Continue the run in the output directory from its last checkpoint (not saved).
    #[serde(skip)]
    pub resume: bool,
}

impl Default for PriorTrainConfig {
    fn default() -> Self {
        Self {
            model: PriorConfig::default(),
            epochs: 30,
            batch_size: 16,
            lr: 2e-3,
            schedule: LrSchedule::Cosine {
                warmup_steps: 20,
                min_factor: 0.1,
            },
            seed: 0,
            device: DeviceChoice::Cpu,
            classes: Vec::new(),
            vqvae_source: PathBuf::new(),
            resume: false,
        }
    }
}

impl PriorTrainConfig {
    /// The larger prior of [`PriorConfig::gpu`], batch 64, on the GPU.
    pub fn gpu() -> Self {
        Self {
            model: PriorConfig::gpu(),
            batch_size: 64,
            epochs: 100,
            lr: 5e-4,
            device: DeviceChoice::Gpu,
            ..Self::default()
        }
    }
}

/// Training data statistics kept with the prior for generation's quality report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    /// Class names.
    pub classes: Vec<String>,
    /// Training examples per class.
    pub class_counts: Vec<usize>,
    /// Mel bins.
    pub n_mels: usize,
    /// Frames per example.
    pub n_frames: usize,
    /// Time pooling of `reference.npy`.
    pub pool: usize,
    /// Mean dB of each Mel bin over each class's training examples and frames, `[classes][n_mels]`.
    pub band_profiles: Vec<Vec<f32>>,
    /// Class of each training example (rows of `reference.npy`).
    pub labels: Vec<usize>,
    /// Code grid of each training example (raster order).
    pub codes: Vec<Vec<usize>>,
    /// Mean detail statistics (tonality, transientness) of each class's training examples
    /// (`None` for a class without any; empty in references written before they existed).
    #[serde(default)]
    pub detail: Vec<Option<crate::detail::DetailStats>>,
}

/// Mean dB per Mel bin of each class.
pub(crate) fn band_profiles(data: &[LogMel], classes: usize, n_mels: usize) -> Vec<Vec<f32>> {
    let mut sums = vec![vec![0f64; n_mels]; classes];
    let mut counts = vec![0usize; classes];
    for x in data {
        let Some(sum) = sums.get_mut(x.label) else {
            continue;
        };
        let n_frames = x.data.len() / n_mels.max(1);
        counts[x.label] += n_frames;
        for (bin, row) in x.data.chunks_exact(n_frames.max(1)).enumerate() {
            sum[bin] += row.iter().map(|&v| f64::from(v)).sum::<f64>();
        }
    }
    sums.iter()
        .zip(&counts)
        .map(|(s, &c)| s.iter().map(|v| (v / c.max(1) as f64) as f32).collect())
        .collect()
}

/// Averages `[n_mels][n_frames]` over groups of `pool` frames (the last group may be shorter).
pub(crate) fn pool_time(data: &[f32], n_mels: usize, pool: usize) -> Vec<f32> {
    let n_frames = data.len() / n_mels.max(1);
    let pooled = n_frames.div_ceil(pool.max(1));
    let mut out = Vec::with_capacity(n_mels * pooled);
    for row in data.chunks_exact(n_frames.max(1)) {
        for g in row.chunks(pool.max(1)) {
            out.push(g.iter().sum::<f32>() / g.len() as f32);
        }
    }
    out
}

/// One line of the prior's `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorEpochMetrics {
    /// Epoch (1-based).
    pub epoch: usize,
    /// Optimiser steps so far.
    pub step: usize,
    /// Learning rate of the epoch's last step.
    pub lr: f64,
    /// Mean training cross-entropy over the epoch's steps, nats per code.
    pub train_loss: f64,
    /// The same in bits per code.
    pub train_bits_per_code: f64,
    /// Validation cross-entropy, nats per code.
    pub val_loss: Option<f64>,
    /// Validation bits per code.
    pub val_bits_per_code: Option<f64>,
    /// Seconds spent in the epoch's training steps.
    pub seconds: f64,
    /// Training steps per second.
    pub steps_per_s: f64,
}

/// What a prior training run reached (saved as `report.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorReport {
    /// The prior directory.
    pub dir: PathBuf,
    /// Epochs completed.
    pub epochs: usize,
    /// Optimiser steps taken.
    pub steps: usize,
    /// Wall-clock seconds of this invocation.
    pub seconds: f64,
    /// Training steps per second (this invocation).
    pub steps_per_s: f64,
    /// Split of `bits_per_code` (`val`, or `train` when there is none).
    pub eval_split: String,
    /// Cross-entropy of the prior on that split, bits per code.
    pub bits_per_code: f64,
    /// A uniform distribution over the codebook: `log2 K` bits per code.
    pub uniform_bits_per_code: f64,
    /// The training split's code frequencies (add-one smoothed) on the same split: what
    /// context buys is the gap between this and `bits_per_code`.
    pub unigram_bits_per_code: f64,
    /// Codes per sequence.
    pub seq_len: usize,
}

/// Random streams of the prior run.
const SHUFFLE_STREAM: u64 = 1;
const DROPOUT_STREAM: u64 = 5;

/// Mean cross-entropy (nats per code) of `prior` (non-autodiff) on `seqs`.
fn eval_loss(
    prior: &Prior,
    seqs: &[(usize, Vec<usize>)],
    batch: usize,
    device: &Device,
) -> Result<f64> {
    let (mut sum, mut n) = (0f64, 0usize);
    for chunk in seqs.chunks(batch.max(1)) {
        let classes: Vec<usize> = chunk.iter().map(|(c, _)| *c).collect();
        let codes: Vec<&[usize]> = chunk.iter().map(|(_, s)| s.as_slice()).collect();
        let b = PriorBatch::new(&classes, &codes, device)?;
        sum += scalar(prior.loss(b.classes, b.codes, None))? * chunk.len() as f64;
        n += chunk.len();
    }
    Ok(sum / n.max(1) as f64)
}

/// Copies the files of a VQ-VAE directory that generation needs into `to`.
fn copy_vqvae(from: &Path, to: &Path) -> Result<()> {
    for name in [
        CONFIG_FILE,
        MODEL_FILE,
        VQ_STATE_FILE,
        "provenance.json",
        "report.json",
        crate::texture::TEXTURE_FILE,
    ] {
        let src = from.join(name);
        if !src.exists()
            && matches!(
                name,
                "provenance.json" | "report.json" | crate::texture::TEXTURE_FILE
            )
        {
            continue;
        }
        let bytes = std::fs::read(&src).map_err(|e| Error::io(&src, e))?;
        auscult_experiment::write_atomic(to.join(name), &bytes)?;
    }
    Ok(())
}

/// Trains the prior over the codes that the VQ-VAE in `vqvae_dir` gives `data.train`
/// (validating on `data.val` when not empty), writing the prior directory `out`.
///
/// The examples must have been loaded with the VQ-VAE's example config. With
/// `config.resume`, continues from the last checkpoint in `out` (using its copy of the
/// VQ-VAE; `epochs` and `device` are taken from `config`).
pub fn train_prior(
    vqvae_dir: &Path,
    config: &PriorTrainConfig,
    data: &ExampleSet,
    out: &Path,
    progress: &dyn Progress,
) -> Result<PriorReport> {
    let started = Instant::now();
    let run = RunDir::create(out, config.resume)?;
    let device = auscult_experiment::device(config.device)?;
    let vq_dir = if config.resume {
        run.file(VQVAE_DIR)
    } else {
        vqvae_dir.to_path_buf()
    };
    let vq = VqVaeModel::load(&vq_dir, &device)?;
    if vq.classes() != data.classes.as_slice() {
        return Err(Error::Incompatible {
            path: vq_dir.join(CONFIG_FILE),
            reason: format!(
                "the VQ-VAE was trained on classes [{}] but the data has [{}]; load the same \
                 data set",
                vq.classes().join(", "),
                data.classes.join(", ")
            ),
        });
    }
    if data.train.is_empty() {
        return Err(Error::NoData {
            reason: "the training split is empty; check --data and --split".to_string(),
        });
    }
    let vcfg = &vq.config.model;
    let mut cfg = config.clone();
    cfg.resume = false;
    cfg.model.vocab_size = vcfg.codebook_size;
    cfg.model.num_classes = vcfg.num_classes;
    cfg.model.seq_len = vcfg.codes_per_example();
    cfg.model.validate()?;
    cfg.classes = vq.classes().to_vec();
    cfg.vqvae_source = std::path::absolute(vqvae_dir).unwrap_or_else(|_| vqvae_dir.to_path_buf());
    if cfg.batch_size == 0 {
        return Err(Error::config("batch_size", "must be at least 1"));
    }
    if !(cfg.lr.is_finite() && cfg.lr > 0.0) {
        return Err(Error::config("lr", "must be a positive number"));
    }
    if config.resume {
        let mut saved: PriorTrainConfig = run.load_json(CONFIG_FILE)?;
        saved.epochs = cfg.epochs;
        saved.device = cfg.device;
        let mut ours = cfg.clone();
        ours.vqvae_source = saved.vqvae_source.clone();
        if saved != ours {
            return Err(Error::Incompatible {
                path: run.file(CONFIG_FILE),
                reason: "the prior was started with another configuration; resume it with the \
                         same --config and flags (only --epochs may change)"
                    .to_string(),
            });
        }
        cfg = saved;
    } else {
        copy_vqvae(vqvae_dir, &run.file(VQVAE_DIR))?;
        run.save_json(
            "provenance.json",
            &provenance(&[&data.train, &data.val], cfg.seed)?,
        )?;
    }
    run.save_json(CONFIG_FILE, &cfg)?;

    progress.message("encoding the data with the VQ-VAE");
    let vc = &vq.config;
    let train_db = log_mels(&data.train, &vc.mel, &vc.examples)?;
    let val_db = log_mels(&data.val, &vc.mel, &vc.examples)?;
    let train_codes = vq.encode(&train_db)?;
    let val_codes = vq.encode(&val_db)?;
    if !config.resume {
        let (m, f) = (vcfg.n_mels, vcfg.n_frames);
        let labels: Vec<usize> = train_db.iter().map(|x| x.label).collect();
        let mut class_counts = vec![0usize; vcfg.num_classes];
        for &l in &labels {
            if let Some(c) = class_counts.get_mut(l) {
                *c += 1;
            }
        }
        let pooled: Vec<f32> = train_db
            .iter()
            .flat_map(|x| pool_time(&x.data, m, REFERENCE_POOL))
            .collect();
        let pooled_frames = f.div_ceil(REFERENCE_POOL);
        auscult_audio::write_npy_f32(
            &run.file(REFERENCE_NPY),
            &pooled,
            &[train_db.len(), m, pooled_frames],
        )?;
        run.save_json(
            REFERENCE_FILE,
            &Reference {
                classes: cfg.classes.clone(),
                class_counts,
                n_mels: m,
                n_frames: f,
                pool: REFERENCE_POOL,
                band_profiles: band_profiles(&train_db, vcfg.num_classes, m),
                labels,
                codes: train_codes.clone(),
                detail: crate::detail::class_detail_stats(
                    train_db.iter().map(|x| (x.label, x.data.as_slice())),
                    vcfg.num_classes,
                    m,
                    f,
                ),
            },
        )?;
    }
    let train: Vec<(usize, Vec<usize>)> =
        train_db.iter().map(|x| x.label).zip(train_codes).collect();
    let val: Vec<(usize, Vec<usize>)> = val_db.iter().map(|x| x.label).zip(val_codes).collect();

    let mut trainer = PriorTrainer::new(cfg.model.clone(), cfg.seed, &device)?;
    let mut shuffle = seeded_rng(cfg.seed, SHUFFLE_STREAM);
    let mut state = TrainingState::default();
    let mut log;
    if config.resume {
        state = run.state()?.ok_or_else(|| Error::NoData {
            reason: "no state.json to resume from".to_string(),
        })?;
        trainer.model = load_module(trainer.model, run.file(MODEL_FILE))?;
        trainer.optimizer = load_optimizer(trainer.optimizer, run.file(OPTIMIZER_FILE))?;
        for (stream, pos) in &state.rng_positions {
            match *stream {
                SHUFFLE_STREAM => shuffle = restore_rng(cfg.seed, SHUFFLE_STREAM, pos),
                DROPOUT_STREAM => trainer.dropout.rng = restore_rng(cfg.seed, DROPOUT_STREAM, pos),
                _ => {}
            }
        }
        log = MetricsLog::open_truncated(run.file("metrics.jsonl"), state.epoch)?;
    } else {
        log = MetricsLog::open(run.file("metrics.jsonl"))?;
    }

    let bs = cfg.batch_size;
    let steps_per_epoch = train.len().div_ceil(bs);
    let total_steps = steps_per_epoch * cfg.epochs;
    let (mut steps_now, mut train_seconds) = (0usize, 0f64);
    let mut order: Vec<usize> = (0..train.len()).collect();
    for epoch in state.epoch + 1..=cfg.epochs {
        order.sort_unstable();
        order.shuffle(&mut shuffle);
        progress.start(
            &format!("prior epoch {epoch}/{}", cfg.epochs),
            steps_per_epoch as u64,
        );
        let t0 = Instant::now();
        let (mut loss_sum, mut lr) = (0f64, cfg.lr);
        for chunk in order.chunks(bs) {
            let classes: Vec<usize> = chunk.iter().map(|&i| train[i].0).collect();
            let codes: Vec<&[usize]> = chunk.iter().map(|&i| train[i].1.as_slice()).collect();
            let batch = PriorBatch::new(&classes, &codes, trainer.device())?;
            lr = cfg.schedule.lr(state.step, total_steps, cfg.lr);
            let loss = trainer.step(&batch, lr)?;
            state.step += 1;
            steps_now += 1;
            if !loss.is_finite() {
                return Err(Error::Diverged {
                    epoch,
                    step: state.step,
                    loss,
                });
            }
            loss_sum += loss;
            progress.advance(1);
            progress.message(&format!(
                "loss {loss:.3} nats ({:.3} bits/code)",
                loss / std::f64::consts::LN_2
            ));
        }
        progress.finish();
        let seconds = t0.elapsed().as_secs_f64();
        train_seconds += seconds;
        let val_loss = if val.is_empty() {
            None
        } else {
            Some(eval_loss(&trainer.model.valid(), &val, 2 * bs, &device)?)
        };
        let n_steps = steps_per_epoch.max(1) as f64;
        let train_loss = loss_sum / n_steps;
        log.append(&PriorEpochMetrics {
            epoch,
            step: state.step,
            lr,
            train_loss,
            train_bits_per_code: train_loss / std::f64::consts::LN_2,
            val_loss,
            val_bits_per_code: val_loss.map(|l| l / std::f64::consts::LN_2),
            seconds,
            steps_per_s: n_steps / seconds.max(1e-9),
        })?;
        state.epoch = epoch;
        state.rng_positions = vec![
            (SHUFFLE_STREAM, rng_position(&shuffle)),
            (DROPOUT_STREAM, rng_position(&trainer.dropout.rng)),
        ];
        save_module(&trainer.model, run.file(MODEL_FILE))?;
        save_optimizer(&trainer.optimizer, run.file(OPTIMIZER_FILE))?;
        run.save_state(&state)?;
    }

    let (eval_split, eval) = if val.is_empty() {
        ("train", &train)
    } else {
        ("val", &val)
    };
    let valid = trainer.model.valid();
    let bits = eval_loss(&valid, eval, 2 * bs, &device)? / std::f64::consts::LN_2;
    let k = vcfg.codebook_size;
    let mut usage = CodeUsage::new(k);
    for (_, s) in &train {
        usage.add(s);
    }
    let total: u64 = usage.counts.iter().sum::<u64>() + k as u64;
    let (mut unigram, mut n) = (0f64, 0usize);
    for (_, s) in eval {
        for &c in s {
            let p = (usage.counts.get(c).copied().unwrap_or(0) + 1) as f64 / total as f64;
            unigram -= p.log2();
            n += 1;
        }
    }
    let report = PriorReport {
        dir: out.to_path_buf(),
        epochs: state.epoch,
        steps: state.step,
        seconds: started.elapsed().as_secs_f64(),
        steps_per_s: steps_now as f64 / train_seconds.max(1e-9),
        eval_split: eval_split.to_string(),
        bits_per_code: bits,
        uniform_bits_per_code: (k as f64).log2(),
        unigram_bits_per_code: unigram / n.max(1) as f64,
        seq_len: cfg.model.seq_len,
    };
    run.save_json("report.json", &report)?;
    Ok(report)
}

/// A trained prior with its VQ-VAE and reference statistics, loaded for sampling.
#[derive(Debug)]
pub struct PriorModel {
    /// The prior directory.
    pub dir: PathBuf,
    /// Its resolved configuration.
    pub config: PriorTrainConfig,
    /// The Transformer (non-autodiff).
    pub prior: Prior,
    /// The VQ-VAE whose codes it models.
    pub vqvae: VqVaeModel,
    /// Training data statistics.
    pub reference: Reference,
    device: Device,
}

impl PriorModel {
    /// Loads the prior directory `dir` onto `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let config: PriorTrainConfig = auscult_experiment::read_json(dir.join(CONFIG_FILE))?;
        let vqvae = VqVaeModel::load(&dir.join(VQVAE_DIR), device)?;
        let vcfg = &vqvae.config.model;
        if config.model.vocab_size != vcfg.codebook_size
            || config.model.seq_len != vcfg.codes_per_example()
            || config.classes != vqvae.config.classes
        {
            return Err(Error::Incompatible {
                path: dir.to_path_buf(),
                reason: "the prior does not match its vqvae/ copy (codebook size, grid or \
                         classes); retrain the prior"
                    .to_string(),
            });
        }
        let prior = config.model.init(device)?;
        let prior = load_module(prior, dir.join(MODEL_FILE))?;
        let reference: Reference = auscult_experiment::read_json(dir.join(REFERENCE_FILE))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
            prior,
            vqvae,
            reference,
            device: device.clone(),
        })
    }

    /// Class names, in index order.
    pub fn classes(&self) -> &[String] {
        &self.config.classes
    }

    /// The index of class `name`, or an error listing the valid ones.
    pub fn class_index(&self, name: &str) -> Result<usize> {
        self.classes()
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| Error::UnknownClass {
                class: name.to_string(),
                valid: self.classes().to_vec(),
            })
    }

    /// Samples code grids (see [`sample_codes`]).
    pub fn sample(
        &self,
        classes: &[usize],
        seeds: &[u64],
        sampling: &SamplingConfig,
        use_cache: bool,
    ) -> Result<Vec<Vec<usize>>> {
        if let Some(&bad) = classes.iter().find(|&&c| c >= self.classes().len()) {
            return Err(Error::UnknownClass {
                class: format!("#{bad}"),
                valid: self.classes().to_vec(),
            });
        }
        sample_codes(
            &self.prior,
            classes,
            seeds,
            sampling,
            use_cache,
            &self.device,
        )
    }

    /// The device it runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }
}
