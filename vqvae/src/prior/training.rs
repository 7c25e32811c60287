//! Training the prior over a trained VQ-VAE's codes.
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
    Checkpoint, CheckpointWriter, EpochStep, Learner, MetricsLog, Progress, Resumption, RunDir,
    Start, TrainingState, load_module, load_optimizer, resume_rng, rng_position, seeded_rng,
};
use burn::module::Module;
use burn::tensor::Device;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::LogMel;
use crate::features::log_mels;
use crate::plan::tone::ToneTrack;
use crate::prior::config::{PriorTrainConfig, VQVAE_DIR};
use crate::prior::network::Prior;
use crate::prior::placement::{Sequence, place, placed_codes};
use crate::prior::reference::{
    REFERENCE_FILE, REFERENCE_NPY, REFERENCE_POOL, Reference, band_profiles, pool_time,
};
use crate::prior::step::{PriorBatch, PriorTrainer};
use crate::provenance::{provenance, verify_data};
use crate::step::scalar;
use crate::vqvae::model::{
    CONFIG_FILE, MODEL_FILE, OPTIMIZER_FILE, PROVENANCE_FILE, VQ_STATE_FILE, VqVaeModel,
};
use crate::vqvae::quantizer::CodeUsage;
use crate::{Error, Result};

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

/// The frames of the cycle in a zero-padded example (`cycle_span`), or all of
/// them when no silence frames it.
fn frame_span(db: &[f32], n_mels: usize, n_frames: usize) -> std::ops::Range<usize> {
    crate::plan::cycle::cycle_span(db, n_mels, n_frames).unwrap_or(0..n_frames)
}

/// Mean cross-entropy (nats per code) of `prior` (non-autodiff) on `seqs`.
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
    cfg.model.plan_columns = if cfg.plan && crate::plan::cycle::is_zero_padded(&vq.config.examples)
    {
        vcfg.grid()[1]
    } else {
        0
    };
    cfg.model.tone_tokens = if cfg.tone && cfg.model.plan_columns > 0 {
        crate::plan::tone::TONE_TOKENS
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
    let Resumption {
        start,
        checkpoint,
        state,
    } = Learner::start(&run, config.resume, progress)?;

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
        crate::plan::tone::tone_track(db, m, f, columns, crate::plan::tone::TONE_THRESHOLD_DB)
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
        // (zero-padded cycles tiled, see `crate::plan::cycle`); the code grids stay as encoded.
        let shown = crate::plan::cycle::present_all(&train_db, m, f, &vc.examples);
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
                band_profiles: band_profiles(
                    shown.iter().map(|x| (x.label, x.data.as_slice())),
                    vcfg.num_classes,
                    m,
                ),
                labels,
                codes: train_codes.clone(),
                spans: train_spans.iter().map(|r| [r.start, r.end]).collect(),
                tones: train_tracks.clone(),
                detail: crate::analysis::detail::class_detail_stats(
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
        crate::plan::tone::plan(columns, cfg.model.seq_len, cycle, track, m)
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
    let manifest = run.file(auscult_experiment::CHECKPOINT_FILE);
    let shuffle = resume_rng(cfg.seed, SHUFFLE_STREAM, &state.rng_positions, &manifest)?;
    trainer.dropout.rng = resume_rng(cfg.seed, DROPOUT_STREAM, &state.rng_positions, &manifest)?;
    if let Some(c) = &checkpoint {
        trainer.model = load_module(trainer.model, c.file(MODEL_FILE))?;
        trainer.optimizer = load_optimizer(trainer.optimizer, c.file(OPTIMIZER_FILE))?;
        // A run killed between its commit and the publishing left an older copy.
        c.publish(MODEL_FILE, run.file(MODEL_FILE))?;
    }
    // Epochs after the checkpoint were not saved: their lines go, and are logged again.
    let mut log = MetricsLog::open_truncated(run.file("metrics.jsonl"), state.epoch)?;

    let bs = cfg.batch_size;
    let steps_per_epoch = train.len().div_ceil(bs);
    let mut step = PriorStep {
        cfg: &cfg,
        trainer,
        shuffle,
        order: (0..train.len()).collect(),
        train: &mut train,
        placements: &placements,
        val: &val,
        device: device.clone(),
        steps_per_epoch,
        total_steps: steps_per_epoch * cfg.epochs,
        epoch: PriorEpochTotals {
            seconds: 0.0,
            loss: 0.0,
            lr: cfg.lr,
        },
        val_loss: None,
        train_seconds: 0.0,
        steps_here: 0,
    };
    let learner = Learner {
        epochs: cfg.epochs,
        patience: None,
    };
    let state = learner.fit(&mut step, &run, state, checkpoint, &mut log, progress)?;
    let PriorStep {
        trainer,
        train_seconds,
        steps_here: steps_now,
        ..
    } = step;

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

/// What one epoch's training steps add up to.
#[derive(Debug, Clone, Copy)]
struct PriorEpochTotals {
    /// Seconds spent in the steps.
    seconds: f64,
    /// Sum of the steps' losses (nats per code).
    loss: f64,
    /// Learning rate of the last step.
    lr: f64,
}

/// The prior's part of the epoch loop ([`Learner`]): its training epoch (shuffled sequences,
/// the epoch's placements of the cycles), its validation (reported, not used to select an
/// epoch: the last one is kept) and its checkpoint files.
struct PriorStep<'a> {
    cfg: &'a PriorTrainConfig,
    trainer: PriorTrainer,
    shuffle: ChaCha8Rng,
    order: Vec<usize>,
    train: &'a mut Vec<(usize, Sequence)>,
    placements: &'a [Vec<Sequence>],
    val: &'a [(usize, Sequence)],
    device: Device,
    steps_per_epoch: usize,
    total_steps: usize,
    epoch: PriorEpochTotals,
    val_loss: Option<f64>,
    train_seconds: f64,
    steps_here: usize,
}

impl EpochStep for PriorStep<'_> {
    type Record = PriorEpochMetrics;
    type Error = Error;

    fn train_epoch(
        &mut self,
        epoch: usize,
        state: &mut TrainingState,
        progress: &dyn Progress,
    ) -> Result<()> {
        let cfg = self.cfg;
        self.order.sort_unstable();
        self.order.shuffle(&mut self.shuffle);
        place(self.train, self.placements, cfg.seed, epoch);
        progress.start(
            &format!("prior epoch {epoch}/{}", cfg.epochs),
            self.steps_per_epoch as u64,
        );
        let t0 = Instant::now();
        let (mut loss_sum, mut lr) = (0f64, cfg.lr);
        for chunk in self.order.chunks(cfg.batch_size) {
            let seqs: Vec<&(usize, Sequence)> = chunk.iter().map(|&i| &self.train[i]).collect();
            let batch = sequence_batch(&seqs, self.trainer.device())?;
            lr = cfg.schedule.lr(state.step, self.total_steps, cfg.lr);
            let loss = self.trainer.step(&batch, lr)?;
            state.step += 1;
            self.steps_here += 1;
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
        self.train_seconds += seconds;
        self.epoch = PriorEpochTotals {
            seconds,
            loss: loss_sum,
            lr,
        };
        Ok(())
    }

    fn validate(&mut self, _epoch: usize) -> Result<Option<f64>> {
        self.val_loss = if self.val.is_empty() {
            None
        } else {
            let batch = 2 * self.cfg.batch_size;
            Some(eval_loss(
                &self.trainer.model.valid(),
                self.val,
                batch,
                &self.device,
            )?)
        };
        // Every epoch is kept (the last one is the model): validation is reported only.
        Ok(None)
    }

    fn record(
        &mut self,
        epoch: usize,
        state: &TrainingState,
        _best: bool,
        _progress: &dyn Progress,
    ) -> PriorEpochMetrics {
        let PriorEpochTotals {
            seconds,
            loss: loss_sum,
            lr,
        } = self.epoch;
        let n_steps = self.steps_per_epoch.max(1) as f64;
        let train_loss = loss_sum / n_steps;
        PriorEpochMetrics {
            epoch,
            step: state.step,
            lr,
            train_loss,
            train_bits_per_code: train_loss / std::f64::consts::LN_2,
            val_loss: self.val_loss,
            val_bits_per_code: self.val_loss.map(|l| l / std::f64::consts::LN_2),
            seconds,
            steps_per_s: n_steps / seconds.max(1e-9),
        }
    }

    fn rng_positions(&self) -> Vec<(u64, String)> {
        vec![
            (SHUFFLE_STREAM, rng_position(&self.shuffle)),
            (DROPOUT_STREAM, rng_position(&self.trainer.dropout.rng)),
        ]
    }

    fn save(
        &self,
        saving: &mut CheckpointWriter,
        _best: bool,
        _previous: Option<&Checkpoint>,
    ) -> Result<()> {
        saving.save_module(MODEL_FILE, &self.trainer.model)?;
        saving.save_optimizer(OPTIMIZER_FILE, &self.trainer.optimizer)?;
        Ok(())
    }

    fn publish(&self, checkpoint: &Checkpoint, run: &RunDir) -> Result<()> {
        checkpoint.publish(MODEL_FILE, run.file(MODEL_FILE))?;
        Ok(())
    }
}
