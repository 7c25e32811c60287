//! Training the VQ-VAE: epochs, validation, checkpoints with resume, metrics, the final class
//! prototypes and the report.

use std::path::Path;
use std::time::Instant;

use auscult_datasets::ExampleSet;
use auscult_experiment::{
    Checkpoint, CheckpointWriter, EpochStep, Learner, MetricsLog, Progress, Resumption, RunDir,
    TrainingState, epoch_rng, load_module, load_optimizer, resume_rng, rng_position,
};
use burn::module::Module;
use burn::tensor::Device;
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::data::{LogMel, Normalizer, fit_normalizer, vq_batch};
use crate::features::log_mels;
use crate::provenance::{provenance, verify_data};
use crate::texture::{TEXTURE_FILE, Texture};
use crate::vqvae::config::VqVaeTrainConfig;
use crate::vqvae::model::{
    CONFIG_FILE, MODEL_FILE, OPTIMIZER_FILE, PROVENANCE_FILE, VQ_STATE_FILE, VqParts, VqState,
    run_pass,
};
use crate::vqvae::quantizer::CodeUsage;
use crate::vqvae::report::{
    Quality, VqEpochMetrics, VqVaeReport, detail_by_class, quality, reconstructions_png,
};
use crate::vqvae::step::VqVaeTrainer;
use crate::{Error, Result};

/// Random stream of the epoch shuffles.
const SHUFFLE_STREAM: u64 = 1;
/// Random stream of codebook restarts (as in the trainer).
const RESTART_STREAM: u64 = 3;
/// Random stream of the cycles' placements (seeded per epoch).
const PLACEMENT_STREAM: u64 = 9;

/// Normalised copies of `data`.
fn normalised(data: &[LogMel], norm: &Normalizer) -> Vec<LogMel> {
    data.iter()
        .map(|x| {
            let mut d = x.data.clone();
            norm.normalise(&mut d);
            LogMel {
                data: d,
                label: x.label,
            }
        })
        .collect()
}

/// Trains the VQ-VAE on `data.train` (validating on `data.val` when it is not empty) and
/// writes the run to `out` (see `vqvae::model` for the files).
///
/// The examples must have been loaded with `config.examples` (rate and length). With
/// `config.resume`, continues the run in `out` from its last committed checkpoint (see
/// [`auscult_experiment::Checkpoint`]); the saved configuration is used, with `epochs` and
/// `device` taken from `config`. A run stopped before its first checkpoint starts again from the
/// first epoch ([`VqVaeReport::start`] says so).
pub fn train_vqvae(
    config: &VqVaeTrainConfig,
    data: &ExampleSet,
    out: &Path,
    progress: &dyn Progress,
) -> Result<VqVaeReport> {
    let started = Instant::now();
    let run = RunDir::create(out, config.resume)?;
    let mut cfg = config.resolve(&data.classes)?;
    if config.resume {
        let mut saved: VqVaeTrainConfig = run.load_json(CONFIG_FILE)?;
        saved.epochs = config.epochs;
        saved.device = config.device;
        saved.resume = false;
        saved.allow_data_change = false;
        let mut ours = cfg.clone();
        ours.resume = false;
        ours.allow_data_change = false;
        if saved != ours {
            return Err(Error::Incompatible {
                path: run.file(CONFIG_FILE),
                reason: "the run was started with another configuration or data classes; resume \
                         it with the same --config and flags (only --epochs may change)"
                    .to_string(),
            });
        }
        if !config.allow_data_change {
            verify_data(&run, &[&data.train, &data.val])?;
        }
        cfg = saved;
    }
    if data.train.is_empty() {
        return Err(Error::NoData {
            reason: "the training split is empty; check --data and --split".to_string(),
        });
    }
    run.save_json(CONFIG_FILE, &cfg)?;
    let Resumption {
        start,
        checkpoint,
        state,
    } = Learner::start(&run, config.resume, progress)?;
    if checkpoint.is_none() {
        run.save_json(
            PROVENANCE_FILE,
            &provenance(&[&data.train, &data.val], cfg.seed)?,
        )?;
    }

    progress.message("computing log-Mel spectrograms");
    let train_db = log_mels(&data.train, &cfg.mel, &cfg.examples)?;
    let val_db = log_mels(&data.val, &cfg.mel, &cfg.examples)?;
    let (m, f) = (cfg.model.n_mels, cfg.model.n_frames);

    let device = auscult_experiment::device(cfg.device)?;
    let mut trainer =
        VqVaeTrainer::new(cfg.model.clone(), cfg.quantizer.clone(), cfg.seed, &device)?;
    trainer.detail = cfg.detail_loss;
    let manifest = run.file(auscult_experiment::CHECKPOINT_FILE);
    let shuffle = resume_rng(cfg.seed, SHUFFLE_STREAM, &state.rng_positions, &manifest)?;
    trainer.rng = resume_rng(cfg.seed, RESTART_STREAM, &state.rng_positions, &manifest)?;
    let normalizer = if let Some(c) = &checkpoint {
        trainer.model = load_module(trainer.model, c.file(MODEL_FILE))?;
        trainer.optimizer = load_optimizer(trainer.optimizer, c.file(OPTIMIZER_FILE))?;
        let saved: VqState = auscult_experiment::read_json(c.file(VQ_STATE_FILE))?;
        trainer.codebook = saved.codebook;
        trainer.prototypes = saved.training_prototypes.unwrap_or(saved.prototypes);
        // A run killed between its commit and the publishing left older copies.
        publish(c, &run)?;
        saved.normalizer
    } else {
        // Statistics of the cycles, not of the silence that frames zero-padded ones: the
        // silence would inflate every bin's spread, and with it shrink wheeze tones and
        // crackle clicks in the loss (see `crate::plan::cycle`).
        fit_normalizer(
            &crate::plan::cycle::present_all(&train_db, m, f, &cfg.examples),
            m,
            f,
        )?
    };
    // Epochs after the checkpoint were not saved: their lines go, and are logged again.
    let mut log = MetricsLog::open_truncated(run.file("metrics.jsonl"), state.epoch)?;
    let train = normalised(&train_db, &normalizer);
    let val = normalised(&val_db, &normalizer);

    let bs = cfg.batch_size;
    let steps_per_epoch = train.len().div_ceil(bs);
    let ranges: Vec<Option<(i64, i64)>> = train_db
        .iter()
        .map(|x| {
            (cfg.random_placement && crate::plan::cycle::is_zero_padded(&cfg.examples))
                .then(|| crate::plan::cycle::shift_range(&x.data, m, f))
                .flatten()
                .map(|r| (*r.start() as i64, *r.end() as i64))
        })
        .collect();
    let mut step = VqVaeStep {
        cfg: &cfg,
        trainer,
        shuffle,
        order: (0..train.len()).collect(),
        train: &train,
        val: &val,
        ranges,
        normalizer: &normalizer,
        device: device.clone(),
        steps_per_epoch,
        total_steps: steps_per_epoch * cfg.epochs,
        epoch: VqEpochTotals::new(cfg.model.codebook_size, cfg.lr),
        val_quality: None,
        train_seconds: 0.0,
        steps_here: 0,
    };
    let learner = Learner {
        epochs: cfg.epochs,
        patience: None,
    };
    let state = learner.fit(&mut step, &run, state, checkpoint, &mut log, progress)?;
    let VqVaeStep {
        mut trainer,
        train_seconds,
        steps_here: steps_now,
        ..
    } = step;
    let zero_padded = crate::plan::cycle::is_zero_padded(&cfg.examples);

    // Final class prototypes: exact means over the training split with the final encoder.
    progress.message("computing class prototypes");
    let valid = trainer.model.valid();
    let train_refs: Vec<&LogMel> = train.iter().collect();
    let parts = VqParts {
        model: &valid,
        config: &cfg.model,
        codebook: &trainer.codebook,
        prototypes: &trainer.prototypes,
    };
    let pass = run_pass(parts, &train_refs, 2 * bs, false, &device)?;
    let labels: Vec<usize> = train.iter().map(|x| x.label).collect();
    let training_prototypes = trainer.prototypes.clone();
    trainer.prototypes.set_means(&pass.profiles, &labels);
    run.save_json(
        VQ_STATE_FILE,
        &VqState {
            codebook: trainer.codebook.clone(),
            prototypes: trainer.prototypes.clone(),
            normalizer: normalizer.clone(),
            training_prototypes: Some(training_prototypes),
        },
    )?;

    let (eval_split, eval) = if val.is_empty() {
        ("train", &train)
    } else {
        ("val", &val)
    };
    let parts = VqParts {
        model: &valid,
        config: &cfg.model,
        codebook: &trainer.codebook,
        prototypes: &trainer.prototypes,
    };
    let (q, recon) = quality(parts, eval, &normalizer, 2 * bs, zero_padded, &device)?;
    let png = run.file("reconstructions.png");
    reconstructions_png(&png, eval, &recon, &normalizer, &cfg)?;
    // Detail statistics on the training split: the validation split holds too few examples
    // of the minority classes to tell whether the code carries their detail.
    let train_recon = if val.is_empty() {
        recon.clone()
    } else {
        quality(parts, &train, &normalizer, 2 * bs, zero_padded, &device)?.1
    };
    let recon_db: Vec<Vec<f32>> = train_recon
        .into_iter()
        .map(|mut r| {
            normalizer.denormalise(&mut r);
            r
        })
        .collect();
    // Both as the classifier sees them: zero-padded cycles tiled (see `crate::plan::cycle`).
    let (train_shown, recon_shown) =
        crate::plan::cycle::present_pairs(&train_db, &recon_db, m, f, &cfg.examples);
    let detail = detail_by_class(&cfg.classes, &train_shown, &recon_shown, m, f);
    progress.message("fitting the decoder's texture");
    let texture = Texture::fit(
        &cfg.classes,
        &train_shown,
        &recon_shown,
        m,
        f,
        cfg.texture_shrinkage,
    )?;
    run.save_json(TEXTURE_FILE, &texture)?;
    let seconds = started.elapsed().as_secs_f64();
    let report = VqVaeReport {
        dir: out.to_path_buf(),
        epochs: state.epoch,
        steps: state.step,
        seconds,
        steps_per_s: steps_now as f64 / train_seconds.max(1e-9),
        eval_split: eval_split.to_string(),
        eval_examples: eval.len(),
        reconstruction_mse: q.mse,
        reconstruction_mae_db: q.mae_db,
        reconstruction_rmse_db: q.rmse_db,
        codes_used: q.usage.used(),
        codebook_size: cfg.model.codebook_size,
        perplexity: q.usage.perplexity(),
        grid: cfg.model.grid(),
        reconstructions_png: png,
        detail,
        start,
    };
    run.save_json("report.json", &report)?;
    Ok(report)
}

/// Publishes a checkpoint's weights and VQ state at the top of the run directory, where
/// [`VqVaeModel::load`](crate::VqVaeModel::load) reads them (training then replaces the VQ state with the final
/// prototypes).
fn publish(checkpoint: &Checkpoint, run: &RunDir) -> Result<()> {
    for name in [MODEL_FILE, VQ_STATE_FILE] {
        checkpoint.publish(name, run.file(name))?;
    }
    Ok(())
}

/// The sums of one epoch's training steps.
struct VqEpochTotals {
    seconds: f64,
    reconstruction: f64,
    commitment: f64,
    restarted: usize,
    lr: f64,
    usage: CodeUsage,
}

impl VqEpochTotals {
    fn new(codebook_size: usize, lr: f64) -> Self {
        Self {
            seconds: 0.0,
            reconstruction: 0.0,
            commitment: 0.0,
            restarted: 0,
            lr,
            usage: CodeUsage::new(codebook_size),
        }
    }
}

/// The VQ-VAE's part of the epoch loop ([`Learner`]): its training epoch (shuffled, randomly
/// placed cycles), its validation (reported, not used to select an epoch: the last one is
/// kept) and its checkpoint files.
struct VqVaeStep<'a> {
    cfg: &'a VqVaeTrainConfig,
    trainer: VqVaeTrainer,
    shuffle: ChaCha8Rng,
    order: Vec<usize>,
    train: &'a [LogMel],
    val: &'a [LogMel],
    /// Per training example, the range of frame shifts that keeps its cycle in view (`None`:
    /// not moved).
    ranges: Vec<Option<(i64, i64)>>,
    normalizer: &'a Normalizer,
    device: Device,
    steps_per_epoch: usize,
    total_steps: usize,
    epoch: VqEpochTotals,
    val_quality: Option<Quality>,
    train_seconds: f64,
    steps_here: usize,
}

impl EpochStep for VqVaeStep<'_> {
    type Record = VqEpochMetrics;
    type Error = Error;

    fn train_epoch(
        &mut self,
        epoch: usize,
        state: &mut TrainingState,
        progress: &dyn Progress,
    ) -> Result<()> {
        let cfg = self.cfg;
        let (m, f, fp) = (
            cfg.model.n_mels,
            cfg.model.n_frames,
            cfg.model.padded_frames(),
        );
        self.order.sort_unstable();
        self.order.shuffle(&mut self.shuffle);
        // Seeded per epoch, so that a resumed run places the cycles as an uninterrupted one.
        let mut place = epoch_rng(cfg.seed, PLACEMENT_STREAM, epoch as u64);
        let shifts: Vec<isize> = self
            .ranges
            .iter()
            .map(|r| r.map_or(0, |(lo, hi)| place.random_range(lo..=hi) as isize))
            .collect();
        let placed = |i: usize, x: &[f32]| -> Vec<f32> {
            if shifts[i] == 0 {
                x.to_vec()
            } else {
                crate::plan::cycle::shift_frames(x, m, f, shifts[i])
            }
        };
        progress.start(
            &format!("VQ-VAE epoch {epoch}/{}", cfg.epochs),
            self.steps_per_epoch as u64,
        );
        let t0 = Instant::now();
        let mut totals = VqEpochTotals::new(cfg.model.codebook_size, cfg.lr);
        let trainer = &mut self.trainer;
        for chunk in self.order.chunks(cfg.batch_size) {
            let moved: Vec<LogMel> = chunk
                .iter()
                .map(|&i| LogMel {
                    data: placed(i, &self.train[i].data),
                    label: self.train[i].label,
                })
                .collect();
            let refs: Vec<&LogMel> = moved.iter().collect();
            let batch = vq_batch(&refs, m, f, fp, trainer.device())?;
            totals.lr = cfg.schedule.lr(state.step, self.total_steps, cfg.lr);
            let s = trainer.step(&batch, totals.lr)?;
            state.step += 1;
            self.steps_here += 1;
            if !(s.reconstruction.is_finite() && s.commitment.is_finite()) {
                return Err(Error::Diverged {
                    epoch,
                    step: state.step,
                    loss: s.reconstruction + s.commitment,
                });
            }
            totals.reconstruction += s.reconstruction;
            totals.commitment += s.commitment;
            totals.restarted += s.restarted;
            totals.usage.add(&s.codes);
            progress.advance(1);
            progress.message(&format!(
                "recon {:.4}  codes {}/{}",
                s.reconstruction,
                totals.usage.used(),
                cfg.model.codebook_size
            ));
        }
        progress.finish();
        totals.seconds = t0.elapsed().as_secs_f64();
        self.train_seconds += totals.seconds;
        self.epoch = totals;
        Ok(())
    }

    fn validate(&mut self, _epoch: usize) -> Result<Option<f64>> {
        self.val_quality = if self.val.is_empty() {
            None
        } else {
            let valid = self.trainer.model.valid();
            let parts = VqParts {
                model: &valid,
                config: &self.cfg.model,
                codebook: &self.trainer.codebook,
                prototypes: &self.trainer.prototypes,
            };
            let zero_padded = crate::plan::cycle::is_zero_padded(&self.cfg.examples);
            let batch = 2 * self.cfg.batch_size;
            let (q, _) = quality(
                parts,
                self.val,
                self.normalizer,
                batch,
                zero_padded,
                &self.device,
            )?;
            Some(q)
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
    ) -> VqEpochMetrics {
        let e = &self.epoch;
        let n_steps = self.steps_per_epoch.max(1) as f64;
        let v = self.val_quality.as_ref();
        VqEpochMetrics {
            epoch,
            step: state.step,
            lr: e.lr,
            train_reconstruction: e.reconstruction / n_steps,
            train_commitment: e.commitment / n_steps,
            train_codes_used: e.usage.used(),
            train_perplexity: e.usage.perplexity(),
            restarted: e.restarted,
            val_reconstruction: v.map(|q| q.mse),
            val_mae_db: v.map(|q| q.mae_db),
            val_codes_used: v.map(|q| q.usage.used()),
            val_perplexity: v.map(|q| q.usage.perplexity()),
            seconds: e.seconds,
            steps_per_s: n_steps / e.seconds.max(1e-9),
        }
    }

    fn rng_positions(&self) -> Vec<(u64, String)> {
        vec![
            (SHUFFLE_STREAM, rng_position(&self.shuffle)),
            (RESTART_STREAM, rng_position(&self.trainer.rng)),
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
        saving.save_json(
            VQ_STATE_FILE,
            &VqState {
                codebook: self.trainer.codebook.clone(),
                prototypes: self.trainer.prototypes.clone(),
                normalizer: self.normalizer.clone(),
                training_prototypes: None,
            },
        )?;
        Ok(())
    }

    fn publish(&self, checkpoint: &Checkpoint, run: &RunDir) -> Result<()> {
        publish(checkpoint, run)
    }
}
