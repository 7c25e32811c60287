//! Training the VQ-VAE: epochs, validation, checkpoints with resume, metrics, the final class
//! prototypes and the report.

use std::path::Path;
use std::time::Instant;

use auscult_datasets::ExampleSet;
use auscult_experiment::{
    Checkpoint, MetricsLog, Progress, RunDir, Start, TrainingState, epoch_rng, load_module,
    load_optimizer, restore_rng, rng_position, seeded_rng,
};
use burn::module::Module;
use rand::Rng;
use rand::seq::SliceRandom;

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
    VqEpochMetrics, VqVaeReport, detail_by_class, quality, reconstructions_png,
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
    let (start, checkpoint) = run.resume_point(config.resume)?;
    if start == Start::Restarted {
        progress.message(&format!(
            "{} has no committed checkpoint: training from the first epoch",
            run.path().display()
        ));
    }
    if checkpoint.is_none() {
        run.save_json(
            PROVENANCE_FILE,
            &provenance(&[&data.train, &data.val], cfg.seed)?,
        )?;
    }

    progress.message("computing log-Mel spectrograms");
    let train_db = log_mels(&data.train, &cfg.mel, &cfg.examples)?;
    let val_db = log_mels(&data.val, &cfg.mel, &cfg.examples)?;
    let (m, f, fp) = (
        cfg.model.n_mels,
        cfg.model.n_frames,
        cfg.model.padded_frames(),
    );

    let device = auscult_experiment::device(cfg.device)?;
    let mut trainer =
        VqVaeTrainer::new(cfg.model.clone(), cfg.quantizer.clone(), cfg.seed, &device)?;
    trainer.detail = cfg.detail_loss;
    let mut shuffle = seeded_rng(cfg.seed, SHUFFLE_STREAM);
    let mut state = TrainingState::default();
    let normalizer;
    if let Some(c) = &checkpoint {
        state = c.state().clone();
        trainer.model = load_module(trainer.model, c.file(MODEL_FILE))?;
        trainer.optimizer = load_optimizer(trainer.optimizer, c.file(OPTIMIZER_FILE))?;
        let saved: VqState = auscult_experiment::read_json(c.file(VQ_STATE_FILE))?;
        trainer.codebook = saved.codebook;
        trainer.prototypes = saved.training_prototypes.unwrap_or(saved.prototypes);
        normalizer = saved.normalizer;
        let manifest = run.file(auscult_experiment::CHECKPOINT_FILE);
        for (stream, pos) in &state.rng_positions {
            match *stream {
                SHUFFLE_STREAM => shuffle = restore_rng(cfg.seed, SHUFFLE_STREAM, pos, &manifest)?,
                RESTART_STREAM => {
                    trainer.rng = restore_rng(cfg.seed, RESTART_STREAM, pos, &manifest)?
                }
                _ => {}
            }
        }
        // A run killed between its commit and the publishing left older copies.
        publish(c, &run)?;
    } else {
        // Statistics of the cycles, not of the silence that frames zero-padded ones: the
        // silence would inflate every bin's spread, and with it shrink wheeze tones and
        // crackle clicks in the loss (see `crate::plan::cycle`).
        normalizer = fit_normalizer(
            &crate::plan::cycle::present_all(&train_db, m, f, &cfg.examples),
            m,
            f,
        )?;
    }
    // Epochs after the checkpoint were not saved: their lines go, and are logged again.
    let mut log = MetricsLog::open_truncated(run.file("metrics.jsonl"), state.epoch)?;
    let train = normalised(&train_db, &normalizer);
    let val = normalised(&val_db, &normalizer);

    let bs = cfg.batch_size;
    let steps_per_epoch = train.len().div_ceil(bs);
    let total_steps = steps_per_epoch * cfg.epochs;
    let (mut steps_now, mut train_seconds) = (0usize, 0f64);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let zero_padded = crate::plan::cycle::is_zero_padded(&cfg.examples);
    let ranges: Vec<Option<(i64, i64)>> = train_db
        .iter()
        .map(|x| {
            (cfg.random_placement && crate::plan::cycle::is_zero_padded(&cfg.examples))
                .then(|| crate::plan::cycle::shift_range(&x.data, m, f))
                .flatten()
                .map(|r| (*r.start() as i64, *r.end() as i64))
        })
        .collect();
    for epoch in state.epoch + 1..=cfg.epochs {
        order.sort_unstable();
        order.shuffle(&mut shuffle);
        // Seeded per epoch, so that a resumed run places the cycles as an uninterrupted one.
        let mut place = epoch_rng(cfg.seed, PLACEMENT_STREAM, epoch as u64);
        let shifts: Vec<isize> = ranges
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
            steps_per_epoch as u64,
        );
        let t0 = Instant::now();
        let mut usage = CodeUsage::new(cfg.model.codebook_size);
        let (mut rec_sum, mut com_sum, mut restarted, mut lr) = (0f64, 0f64, 0usize, cfg.lr);
        for chunk in order.chunks(bs) {
            let moved: Vec<LogMel> = chunk
                .iter()
                .map(|&i| LogMel {
                    data: placed(i, &train[i].data),
                    label: train[i].label,
                })
                .collect();
            let refs: Vec<&LogMel> = moved.iter().collect();
            let batch = vq_batch(&refs, m, f, fp, trainer.device())?;
            lr = cfg.schedule.lr(state.step, total_steps, cfg.lr);
            let s = trainer.step(&batch, lr)?;
            state.step += 1;
            steps_now += 1;
            if !(s.reconstruction.is_finite() && s.commitment.is_finite()) {
                return Err(Error::Diverged {
                    epoch,
                    step: state.step,
                    loss: s.reconstruction + s.commitment,
                });
            }
            rec_sum += s.reconstruction;
            com_sum += s.commitment;
            restarted += s.restarted;
            usage.add(&s.codes);
            progress.advance(1);
            progress.message(&format!(
                "recon {:.4}  codes {}/{}",
                s.reconstruction,
                usage.used(),
                cfg.model.codebook_size
            ));
        }
        progress.finish();
        let seconds = t0.elapsed().as_secs_f64();
        train_seconds += seconds;
        let (val_rec, val_mae, val_used, val_ppl) = if val.is_empty() {
            (None, None, None, None)
        } else {
            let valid = trainer.model.valid();
            let parts = VqParts {
                model: &valid,
                config: &cfg.model,
                codebook: &trainer.codebook,
                prototypes: &trainer.prototypes,
            };
            let (q, _) = quality(parts, &val, &normalizer, 2 * bs, zero_padded, &device)?;
            (
                Some(q.mse),
                Some(q.mae_db),
                Some(q.usage.used()),
                Some(q.usage.perplexity()),
            )
        };
        let n_steps = steps_per_epoch.max(1) as f64;
        log.append(&VqEpochMetrics {
            epoch,
            step: state.step,
            lr,
            train_reconstruction: rec_sum / n_steps,
            train_commitment: com_sum / n_steps,
            train_codes_used: usage.used(),
            train_perplexity: usage.perplexity(),
            restarted,
            val_reconstruction: val_rec,
            val_mae_db: val_mae,
            val_codes_used: val_used,
            val_perplexity: val_ppl,
            seconds,
            steps_per_s: n_steps / seconds.max(1e-9),
        })?;
        state.epoch = epoch;
        state.rng_positions = vec![
            (SHUFFLE_STREAM, rng_position(&shuffle)),
            (RESTART_STREAM, rng_position(&trainer.rng)),
        ];
        let mut saving = run.begin_checkpoint(epoch)?;
        saving.save_module(MODEL_FILE, &trainer.model)?;
        saving.save_optimizer(OPTIMIZER_FILE, &trainer.optimizer)?;
        saving.save_json(
            VQ_STATE_FILE,
            &VqState {
                codebook: trainer.codebook.clone(),
                prototypes: trainer.prototypes.clone(),
                normalizer: normalizer.clone(),
                training_prototypes: None,
            },
        )?;
        publish(&saving.commit(&state)?, &run)?;
    }

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
