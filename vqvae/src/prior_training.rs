//! Training the prior over a trained VQ-VAE's codes, and loading it for sampling.
//!
//! Files of a prior directory:
//! - `config.json`: the resolved [`PriorTrainConfig`];
//! - `vqvae/`: a copy of the VQ-VAE it was trained on (`config.json`, `model.bpk`,
//!   `vq_state.json`), so that the directory alone can generate;
//! - `model.bpk`: the Transformer's weights (published from the checkpoint);
//! - `checkpoint.json` and `checkpoint-<epoch>/`: the last complete epoch (`model.bpk`,
//!   `optimizer.bpk` and the loop's state, committed as one set, see
//!   [`auscult_experiment::Checkpoint`]), what `--resume` reads;
//! - `reference.json` and `reference.npy`: what generation's quality report compares with
//!   (training class counts, per-class band-energy profiles, training code grids, and the
//!   training log-Mels average-pooled over time, `[examples, n_mels, frames / pool]`);
//! - `metrics.jsonl`, `provenance.json`, `report.json`.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Instant;

use auscult_datasets::ExampleSet;
use auscult_experiment::{
    DeviceChoice, LrSchedule, MetricsLog, Progress, RunDir, Start, TrainingState, epoch_rng,
    load_module, load_optimizer, restore_rng, rng_position, seeded_rng,
};
use burn::module::Module;
use burn::tensor::Device;
use rand::seq::{IndexedRandom, SliceRandom};
use serde::{Deserialize, Serialize};

use crate::data::LogMel;
use crate::features::log_mels;
use crate::prior::{Prior, PriorConfig};
use crate::quantizer::CodeUsage;
use crate::sampling::SamplingConfig;
use crate::tone::ToneTrack;
use crate::trainer::{PriorBatch, PriorTrainer, scalar};
use crate::training::{provenance, verify_data};
use crate::vqvae_model::{
    CONFIG_FILE, MODEL_FILE, OPTIMIZER_FILE, PROVENANCE_FILE, VQ_STATE_FILE, VqVaeModel,
};
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
    /// Code grids per training cycle when the VQ-VAE learns cycles centred in silence (see
    /// [`crate::cycle`]): the cycle as cut plus `placements - 1` copies moved to seeded random
    /// positions within its silence, each encoded; every epoch trains on one of them per
    /// cycle. The same cycle lands on the 8-frame code grid differently, so the prior sees
    /// other code sequences of the same sound instead of memorising a few hundred. 1: only
    /// the cycle as cut. Ignored for repeat-padded examples.
    pub placements: usize,
    /// Tell the prior where each cycle lies on the code grid (its *plan*, see
    /// [`crate::prior::plan_tokens`]); generation then draws a cycle length from the class's
    /// training cycles and places it. Default true; needs a VQ-VAE trained on zero-padded
    /// cycles (otherwise off).
    pub plan: bool,
    /// Fold each cycle's tone track into its plan (see [`crate::tone`]): the prior is told in
    /// which columns and at which row the cycle's wheeze tone lies, and generation draws a
    /// training cycle's track, moved and transposed at random. Default true; needs `plan`.
    pub tone: bool,
    /// Continue the run in the output directory from its last checkpoint (not saved).
    #[serde(skip)]
    pub resume: bool,
    /// With `resume`: continue even if the data's files differ from the fingerprint recorded
    /// in `provenance.json` (not saved).
    #[serde(skip)]
    pub allow_data_change: bool,
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
            placements: 8,
            plan: true,
            tone: true,
            resume: false,
            allow_data_change: false,
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
    /// Frames `[start, end)` of each training example's cycle as cut (all frames for
    /// repeat-padded or full-length ones), in the order of `labels`: generation draws its
    /// cycle lengths from them. Empty in priors trained before it existed.
    #[serde(default)]
    pub spans: Vec<[usize; 2]>,
    /// Class of each training example (rows of `reference.npy`).
    pub labels: Vec<usize>,
    /// Code grid of each training example (raster order).
    pub codes: Vec<Vec<usize>>,
    /// Tone track of each training example's cycle as cut ([`crate::tone::tone_track`], one
    /// Mel bin or `None` per code column), in the order of `labels`; empty for priors without
    /// a tone plan.
    #[serde(default)]
    pub tones: Vec<ToneTrack>,
    /// Mean detail statistics (tonality, transientness) of each class's training examples
    /// (`None` for a class without any; empty in references written before they existed).
    #[serde(default)]
    pub detail: Vec<Option<crate::detail::DetailStats>>,
}

impl Reference {
    /// Checks that the reference belongs to a prior over `classes` with `vocab_size` codes
    /// per position and `seq_len` positions on `n_mels` Mel bins, and that its per-example
    /// lists agree: a foreign or hand-edited `reference.json` is an error naming what is
    /// wrong, never an index out of range later.
    pub fn validate(
        &self,
        classes: &[String],
        vocab_size: usize,
        seq_len: usize,
        n_mels: usize,
    ) -> Result<()> {
        let bad = |reason: String| Err(Error::config("reference", reason));
        let k = classes.len();
        if self.classes != classes {
            return bad(format!(
                "lists classes [{}] but the prior has [{}]",
                self.classes.join(", "),
                classes.join(", ")
            ));
        }
        if self.n_mels != n_mels || self.n_frames == 0 || self.pool == 0 {
            return bad(format!(
                "has {} Mel bins, {} frames and pooling {} (the model has {n_mels} bins; frames                  and pooling must be positive)",
                self.n_mels, self.n_frames, self.pool
            ));
        }
        if self.class_counts.len() != k
            || self.band_profiles.len() != k
            || self.band_profiles.iter().any(|p| p.len() != n_mels)
            || (!self.detail.is_empty() && self.detail.len() != k)
        {
            return bad(format!(
                "its per-class lists (counts, band profiles [{k} x {n_mels}], detail) do not                  have one entry per class"
            ));
        }
        let n = self.labels.len();
        if self.codes.len() != n
            || (!self.spans.is_empty() && self.spans.len() != n)
            || (!self.tones.is_empty() && self.tones.len() != n)
        {
            return bad(format!(
                "its per-example lists disagree: {n} labels, {} code grids, {} spans, {} tone                  tracks",
                self.codes.len(),
                self.spans.len(),
                self.tones.len()
            ));
        }
        if let Some(l) = self.labels.iter().find(|&&l| l >= k) {
            return bad(format!(
                "has an example of class #{l}; there are {k} classes"
            ));
        }
        if let Some(i) = self
            .codes
            .iter()
            .position(|g| g.len() != seq_len || g.iter().any(|&c| c >= vocab_size))
        {
            return bad(format!(
                "code grid {i} is not {seq_len} codes below {vocab_size}"
            ));
        }
        if let Some(i) = self
            .spans
            .iter()
            .position(|&[a, b]| a >= b || b > self.n_frames)
        {
            return bad(format!(
                "span {i} is not a frame range within {} frames",
                self.n_frames
            ));
        }
        if let Some(i) = self
            .tones
            .iter()
            .position(|t| t.iter().flatten().any(|&bin| bin >= n_mels))
        {
            return bad(format!("tone track {i} names a Mel bin past {n_mels}"));
        }
        if self.band_profiles.iter().flatten().any(|v| !v.is_finite()) {
            return bad("a band profile holds a non-finite value".to_string());
        }
        Ok(())
    }
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
    /// How this invocation began: a new run, resumed from a checkpoint, or started again
    /// because `--resume` found no committed checkpoint.
    #[serde(default)]
    pub start: Start,
}

/// Random streams of the prior run.
const SHUFFLE_STREAM: u64 = 1;
const DROPOUT_STREAM: u64 = 5;
/// Random stream of the cycles' placements (drawn once, before training).
const PLACEMENT_STREAM: u64 = 9;
/// Random stream of the placement each epoch trains on (seeded per epoch, so that a resumed
/// run picks what an uninterrupted one would).
const PICK_STREAM: u64 = 11;

/// Mean cross-entropy (nats per code) of `prior` (non-autodiff) on `seqs`.
/// One training sequence: its codes and, for a prior that takes one, its cycle plan.
#[derive(Debug, Clone)]
struct Sequence {
    codes: Vec<usize>,
    plan: Vec<usize>,
}

/// A batch of `(class, sequence)` pairs (with plans when the sequences carry them).
fn sequence_batch(seqs: &[&(usize, Sequence)], device: &Device) -> Result<PriorBatch> {
    let classes: Vec<usize> = seqs.iter().map(|(c, _)| *c).collect();
    let codes: Vec<&[usize]> = seqs.iter().map(|(_, s)| s.codes.as_slice()).collect();
    let batch = PriorBatch::new(&classes, &codes, device)?;
    if seqs.iter().all(|(_, s)| !s.plan.is_empty()) && !seqs.is_empty() {
        let plans: Vec<&[usize]> = seqs.iter().map(|(_, s)| s.plan.as_slice()).collect();
        batch.with_plans(&plans, device)
    } else {
        Ok(batch)
    }
}

/// The frames of the cycle in a zero-padded example ([`crate::cycle::cycle_span`]), or all of
/// them when no silence frames it.
fn frame_span(db: &[f32], n_mels: usize, n_frames: usize) -> std::ops::Range<usize> {
    crate::cycle::cycle_span(db, n_mels, n_frames).unwrap_or(0..n_frames)
}

fn eval_loss(
    prior: &Prior,
    seqs: &[(usize, Sequence)],
    batch: usize,
    device: &Device,
) -> Result<f64> {
    let (mut sum, mut n) = (0f64, 0usize);
    for chunk in seqs.chunks(batch.max(1)) {
        let refs: Vec<&(usize, Sequence)> = chunk.iter().collect();
        let b = sequence_batch(&refs, device)?;
        sum += scalar(prior.loss(b.classes, b.codes, b.plans, None))? * chunk.len() as f64;
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
        PROVENANCE_FILE,
        "report.json",
        crate::texture::TEXTURE_FILE,
    ] {
        let src = from.join(name);
        if !src.exists()
            && matches!(
                name,
                PROVENANCE_FILE | "report.json" | crate::texture::TEXTURE_FILE
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
/// `config.resume`, continues from the last committed checkpoint in `out` (using its copy of
/// the VQ-VAE; `epochs` and `device` are taken from `config`); a run stopped before its first
/// checkpoint starts again from the first epoch ([`PriorReport::start`] says so).
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
    cfg.allow_data_change = false;
    cfg.model.vocab_size = vcfg.codebook_size;
    cfg.model.num_classes = vcfg.num_classes;
    cfg.model.seq_len = vcfg.codes_per_example();
    cfg.model.plan_columns = if cfg.plan && crate::cycle::is_zero_padded(&vq.config.examples) {
        vcfg.grid()[1]
    } else {
        0
    };
    cfg.model.tone_tokens = if cfg.tone && cfg.model.plan_columns > 0 {
        crate::tone::TONE_TOKENS
    } else {
        0
    };
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
        if !config.allow_data_change {
            verify_data(&run, &[&data.train, &data.val])?;
        }
        cfg = saved;
    } else {
        copy_vqvae(vqvae_dir, &run.file(VQVAE_DIR))?;
        run.save_json(
            PROVENANCE_FILE,
            &provenance(&[&data.train, &data.val], cfg.seed)?,
        )?;
    }
    run.save_json(CONFIG_FILE, &cfg)?;
    let (start, checkpoint) = run.resume_point(config.resume)?;
    if start == Start::Restarted {
        progress.message(&format!(
            "{} has no committed checkpoint: training from the first epoch",
            run.path().display()
        ));
    }

    progress.message("encoding the data with the VQ-VAE");
    let vc = &vq.config;
    let train_db = log_mels(&data.train, &vc.mel, &vc.examples)?;
    let val_db = log_mels(&data.val, &vc.mel, &vc.examples)?;
    let train_codes = vq.encode(&train_db)?;
    let val_codes = vq.encode(&val_db)?;
    let (m, f) = (vcfg.n_mels, vcfg.n_frames);
    let spans_of = |db: &[LogMel]| -> Vec<Range<usize>> {
        db.iter().map(|x| frame_span(&x.data, m, f)).collect()
    };
    let (train_spans, val_spans) = (spans_of(&train_db), spans_of(&val_db));
    let columns = cfg.model.plan_columns;
    // The tone track of one example (empty without a tone plan).
    let track_of = |db: &[f32]| -> Result<ToneTrack> {
        if cfg.model.tone_tokens == 0 {
            return Ok(Vec::new());
        }
        crate::tone::tone_track(db, m, f, columns, crate::tone::TONE_THRESHOLD_DB)
    };
    let tracks_of = |db: &[LogMel]| -> Result<Vec<ToneTrack>> {
        db.iter().map(|x| track_of(&x.data)).collect()
    };
    let (train_tracks, val_tracks) = (tracks_of(&train_db)?, tracks_of(&val_db)?);
    if checkpoint.is_none() {
        let labels: Vec<usize> = train_db.iter().map(|x| x.label).collect();
        let mut class_counts = vec![0usize; vcfg.num_classes];
        for &l in &labels {
            if let Some(c) = class_counts.get_mut(l) {
                *c += 1;
            }
        }
        // Statistics of the examples as the classifier sees them, as generated samples are
        // (zero-padded cycles tiled, see `crate::cycle`); the code grids stay as encoded.
        let shown = crate::cycle::present_all(&train_db, m, f, &vc.examples);
        let pooled: Vec<f32> = shown
            .iter()
            .flat_map(|x| pool_time(&x.data, m, REFERENCE_POOL))
            .collect();
        let pooled_frames = f.div_ceil(REFERENCE_POOL);
        auscult_audio::write_npy_f32(
            &run.file(REFERENCE_NPY),
            &pooled,
            &[shown.len(), m, pooled_frames],
        )?;
        run.save_json(
            REFERENCE_FILE,
            &Reference {
                classes: cfg.classes.clone(),
                class_counts,
                n_mels: m,
                n_frames: f,
                pool: REFERENCE_POOL,
                band_profiles: band_profiles(&shown, vcfg.num_classes, m),
                labels,
                codes: train_codes.clone(),
                spans: train_spans.iter().map(|r| [r.start, r.end]).collect(),
                tones: train_tracks.clone(),
                detail: crate::detail::class_detail_stats(
                    shown.iter().map(|x| (x.label, x.data.as_slice())),
                    vcfg.num_classes,
                    m,
                    f,
                ),
            },
        )?;
    }
    let plan_of = |span: std::ops::Range<usize>, track: &[Option<usize>]| -> Vec<usize> {
        if columns == 0 {
            return Vec::new();
        }
        let per = vcfg.n_frames.div_ceil(columns).max(1);
        let cycle = span.start / per..span.end.div_ceil(per);
        crate::tone::plan(columns, cfg.model.seq_len, cycle, track, m)
    };
    let placements: Vec<Vec<Sequence>> = placed_codes(
        &vq,
        &train_db,
        &train_spans,
        &train_codes,
        &train_tracks,
        &track_of,
        cfg.placements,
        seeded_rng(cfg.seed, PLACEMENT_STREAM),
    )?
    .into_iter()
    .map(|choices| {
        choices
            .into_iter()
            .map(|p| Sequence {
                plan: plan_of(p.span, &p.track),
                codes: p.codes,
            })
            .collect()
    })
    .collect();
    let sequences =
        |db: &[LogMel], codes: Vec<Vec<usize>>, spans: &[Range<usize>], tracks: &[ToneTrack]| {
            db.iter()
                .zip(codes)
                .zip(spans.iter().zip(tracks))
                .map(|((x, codes), (span, track))| {
                    let plan = plan_of(span.clone(), track);
                    (x.label, Sequence { codes, plan })
                })
                .collect::<Vec<(usize, Sequence)>>()
        };
    let mut train = sequences(&train_db, train_codes, &train_spans, &train_tracks);
    let val = sequences(&val_db, val_codes, &val_spans, &val_tracks);

    let mut trainer = PriorTrainer::new(cfg.model.clone(), cfg.seed, &device)?;
    let mut shuffle = seeded_rng(cfg.seed, SHUFFLE_STREAM);
    let mut state = TrainingState::default();
    if let Some(c) = &checkpoint {
        state = c.state().clone();
        trainer.model = load_module(trainer.model, c.file(MODEL_FILE))?;
        trainer.optimizer = load_optimizer(trainer.optimizer, c.file(OPTIMIZER_FILE))?;
        let manifest = run.file(auscult_experiment::CHECKPOINT_FILE);
        for (stream, pos) in &state.rng_positions {
            match *stream {
                SHUFFLE_STREAM => shuffle = restore_rng(cfg.seed, SHUFFLE_STREAM, pos, &manifest)?,
                DROPOUT_STREAM => {
                    trainer.dropout.rng = restore_rng(cfg.seed, DROPOUT_STREAM, pos, &manifest)?
                }
                _ => {}
            }
        }
        // A run killed between its commit and the publishing left an older copy.
        c.publish(MODEL_FILE, run.file(MODEL_FILE))?;
    }
    // Epochs after the checkpoint were not saved: their lines go, and are logged again.
    let mut log = MetricsLog::open_truncated(run.file("metrics.jsonl"), state.epoch)?;

    let bs = cfg.batch_size;
    let steps_per_epoch = train.len().div_ceil(bs);
    let total_steps = steps_per_epoch * cfg.epochs;
    let (mut steps_now, mut train_seconds) = (0usize, 0f64);
    let mut order: Vec<usize> = (0..train.len()).collect();
    for epoch in state.epoch + 1..=cfg.epochs {
        order.sort_unstable();
        order.shuffle(&mut shuffle);
        place(&mut train, &placements, cfg.seed, epoch);
        progress.start(
            &format!("prior epoch {epoch}/{}", cfg.epochs),
            steps_per_epoch as u64,
        );
        let t0 = Instant::now();
        let (mut loss_sum, mut lr) = (0f64, cfg.lr);
        for chunk in order.chunks(bs) {
            let seqs: Vec<&(usize, Sequence)> = chunk.iter().map(|&i| &train[i]).collect();
            let batch = sequence_batch(&seqs, trainer.device())?;
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
        let mut saving = run.begin_checkpoint(epoch)?;
        saving.save_module(MODEL_FILE, &trainer.model)?;
        saving.save_optimizer(OPTIMIZER_FILE, &trainer.optimizer)?;
        saving
            .commit(&state)?
            .publish(MODEL_FILE, run.file(MODEL_FILE))?;
    }

    // The report sees the last epoch's placements, also when a resume had nothing left to
    // train (the picks are seeded per epoch, so this is what the last epoch used).
    place(&mut train, &placements, cfg.seed, cfg.epochs);
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
        usage.add(&s.codes);
    }
    let total: u64 = usage.counts.iter().sum::<u64>() + k as u64;
    let (mut unigram, mut n) = (0f64, 0usize);
    for (_, s) in eval {
        for &c in &s.codes {
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
        start,
    };
    run.save_json("report.json", &report)?;
    Ok(report)
}

/// A code grid with the frames of its cycle and its tone track.
struct Placed {
    codes: Vec<usize>,
    span: Range<usize>,
    track: ToneTrack,
}

/// Sets each training example to the placement epoch `epoch` trains on (seeded by the run's
/// seed and the epoch alone); nothing without placements.
fn place(train: &mut [(usize, Sequence)], placements: &[Vec<Sequence>], seed: u64, epoch: usize) {
    if placements.is_empty() {
        return;
    }
    let mut pick = epoch_rng(seed, PICK_STREAM, epoch as u64);
    for (example, choices) in train.iter_mut().zip(placements) {
        if let Some(seq) = choices.choose(&mut pick) {
            example.1.clone_from(seq);
        }
    }
}

/// The code grids of each training cycle at `placements` positions in its silence, with the
/// cycle's frames and tone track (`track_of` the moved log-Mel): the first as cut (`codes`,
/// `tracks`), the others moved by seeded random shifts within [`crate::cycle::shift_range`]
/// and encoded. Empty when `placements < 2` or the examples are not zero-padded; a cycle
/// without silence around it keeps only its own grid.
#[allow(clippy::too_many_arguments)]
fn placed_codes(
    vq: &VqVaeModel,
    train_db: &[LogMel],
    train_spans: &[Range<usize>],
    codes: &[Vec<usize>],
    tracks: &[ToneTrack],
    track_of: &dyn Fn(&[f32]) -> Result<ToneTrack>,
    placements: usize,
    mut rng: rand_chacha::ChaCha8Rng,
) -> Result<Vec<Vec<Placed>>> {
    if placements < 2 || !crate::cycle::is_zero_padded(&vq.config.examples) {
        return Ok(Vec::new());
    }
    let (m, f) = (vq.config.model.n_mels, vq.config.model.n_frames);
    let mut out: Vec<Vec<Placed>> = codes
        .iter()
        .zip(train_spans)
        .zip(tracks)
        .map(|((c, span), track)| {
            vec![Placed {
                codes: c.clone(),
                span: span.clone(),
                track: track.clone(),
            }]
        })
        .collect();
    let mut spans = Vec::new();
    let mut moved = Vec::new();
    let mut owner = Vec::new();
    for (i, (x, span)) in train_db.iter().zip(train_spans).enumerate() {
        // A cycle with no silence around it (`frame_span` gave all frames) stays put.
        if span.len() >= f {
            continue;
        }
        // The shifts that keep it inside (as `crate::cycle::shift_range`).
        let (lo, hi) = (-(span.start as i64), (f - span.end) as i64);
        for _ in 1..placements {
            let shift = rand::Rng::random_range(&mut rng, lo..=hi) as isize;
            spans
                .push((span.start as isize + shift) as usize..(span.end as isize + shift) as usize);
            moved.push(LogMel {
                data: crate::cycle::shift_frames(&x.data, m, f, shift),
                label: x.label,
            });
            owner.push(i);
        }
    }
    let moved_tracks: Vec<ToneTrack> = moved
        .iter()
        .map(|x| track_of(&x.data))
        .collect::<Result<_>>()?;
    for (((i, codes), span), track) in owner
        .into_iter()
        .zip(vq.encode(&moved)?)
        .zip(spans)
        .zip(moved_tracks)
    {
        out[i].push(Placed { codes, span, track });
    }
    Ok(out)
}

/// Where one generated sample's cycle goes ([`PriorModel::draw_cycle`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedCycle {
    /// The frames drawn for the cycle.
    pub frames: Range<usize>,
    /// The frames of the code columns the plan marks as the cycle's (the plan fixes whole
    /// columns; the codes place the edges within them).
    pub column_frames: Range<usize>,
    /// The tone track folded into the plan (one Mel bin or `None` per code column, see
    /// [`crate::tone`]); empty for a prior without a tone plan.
    pub tone: ToneTrack,
    /// The plan tokens ([`crate::prior::plan_tokens`], with the tone tokens folded in by
    /// [`crate::tone::combine`] for a prior that takes them), one per code.
    pub plan: Vec<usize>,
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
        let reference_path = dir.join(REFERENCE_FILE);
        let reference: Reference = auscult_experiment::read_json(&reference_path)?;
        reference
            .validate(
                &config.classes,
                vcfg.codebook_size,
                vcfg.codes_per_example(),
                vcfg.n_mels,
            )
            .map_err(|e| Error::Incompatible {
                path: reference_path.clone(),
                reason: format!("{e}; was the directory assembled from two runs?"),
            })?;
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

    /// Samples code grids (see [`crate::sampling::sample_codes`]).
    pub fn sample(
        &self,
        classes: &[usize],
        seeds: &[u64],
        sampling: &SamplingConfig,
        use_cache: bool,
    ) -> Result<Vec<Vec<usize>>> {
        self.sample_planned(classes, &[], seeds, sampling, use_cache)
    }

    /// Samples code grids of a prior that takes a cycle plan, one plan per sample (`plans`
    /// empty for a prior without one; see [`crate::sampling::sample_codes_planned`]).
    pub fn sample_planned(
        &self,
        classes: &[usize],
        plans: &[Vec<usize>],
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
        crate::sampling::sample_codes_planned(
            &self.prior,
            classes,
            plans,
            seeds,
            sampling,
            use_cache,
            &self.device,
        )
    }

    /// A cycle for one sample of `class` drawn with `rng`: a random training cycle of that
    /// class gives its length, placed at a random position within the example, and, for a
    /// prior with a tone plan, its tone track, moved with it and transposed by a random
    /// `±`[`crate::tone::TONE_JITTER_BINS`] Mel bins. `None` for a prior without a plan.
    pub fn draw_cycle(
        &self,
        class: usize,
        rng: &mut rand_chacha::ChaCha8Rng,
    ) -> Option<PlannedCycle> {
        use rand::Rng;
        let columns = self.prior.plan_columns();
        if columns == 0 {
            return None;
        }
        let f = self.vqvae.config.model.n_frames;
        let per = f.div_ceil(columns).max(1);
        let reference = &self.reference;
        let mine: Vec<usize> = (0..reference.labels.len().min(reference.spans.len()))
            .filter(|&i| reference.labels[i] == class)
            .collect();
        let drawn = (!mine.is_empty()).then(|| mine[rng.random_range(0..mine.len())]);
        let (len, old_start) = drawn.map_or((f, 0), |i| {
            let [s, e] = reference.spans[i];
            (e.saturating_sub(s).clamp(1, f), s)
        });
        let start = rng.random_range(0..=f - len);
        let frames = start..start + len;
        let cols = frames.start / per..frames.end.div_ceil(per);
        let n_mels = self.vqvae.config.model.n_mels;
        let tone = if self.prior.tone_tokens() == 0 {
            Vec::new()
        } else {
            let own = drawn
                .and_then(|i| reference.tones.get(i))
                .filter(|t| t.len() == columns)
                .cloned()
                .unwrap_or_else(|| vec![None; columns]);
            let moved =
                crate::tone::shift_track(&own, (start / per) as i64 - (old_start / per) as i64);
            let jitter = crate::tone::TONE_JITTER_BINS;
            let mut track =
                crate::tone::transpose_track(&moved, rng.random_range(-jitter..=jitter), n_mels);
            // Only the cycle's columns carry a tone.
            for (c, t) in track.iter_mut().enumerate() {
                if !cols.contains(&c) {
                    *t = None;
                }
            }
            track
        };
        Some(PlannedCycle {
            plan: crate::tone::plan(columns, self.prior.seq_len(), cols.clone(), &tone, n_mels),
            tone,
            column_frames: cols.start * per..(cols.end * per).min(f),
            frames,
        })
    }

    /// The device it runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }
}
