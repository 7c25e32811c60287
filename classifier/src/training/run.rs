//! Starting and resuming a run, and the classifier's part of the shared epoch loop
//! ([`Learner`]): sampling and mixing, the losses, AdamW with a cosine schedule, validation
//! (the selection score behind early stopping and `best.bpk`), and its checkpoint files.

use std::path::Path;
use std::time::Instant;

use auscult_datasets::{ExampleSet, GeneratedCorpus};
use auscult_experiment::{
    Checkpoint, CheckpointWriter, EpochStep, Learner, MetricsLog, Progress, Provenance, Resumption,
    RunDir, TrainingState, device, load_module, load_optimizer, seeded_rng,
};
use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use rand::distr::weighted::WeightedIndex;
use rand_chacha::ChaCha8Rng;

use super::finish::finish;
use super::prepare::{Prepared, data_sources, prepare};
use super::record::{EpochRecord, TrainReport};
use super::streams::{STREAM_ADVERSARY_INIT, STREAM_INIT, Streams};
use super::validation::{evaluate_features, selection_score};
use crate::config::{ModelConfig, TrainConfig};
use crate::files;
use crate::loss::soft_cross_entropy;
use crate::metrics::Metrics;
use crate::mixup::{MixupMode, mix};
use crate::model::{ChainAdversary, Cnn, dropout_mask};
use crate::sampler::{
    BalancedSampler, decorrelation_weights, instance_batches, weighted_batches, weighted_index,
};
use crate::supcon::supcon_loss;
use crate::{Error, Result};

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

fn run_training(
    cfg: TrainConfig,
    data: &ExampleSet,
    augment: &[GeneratedCorpus],
    run: RunDir,
    resume: bool,
    progress: &dyn Progress,
) -> Result<TrainReport> {
    let n_classes = data.classes.len();
    let Resumption {
        start,
        checkpoint,
        state,
    } = Learner::start(&run, resume, progress)?;
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
    let mut optim: ModuleOptimizer = adamw.clone().init();
    // The chain adversary: as many outputs as recording chains in the training items.
    let mut adversary = (cfg.device_adversarial > 0.0).then(|| {
        let n_chains = p.groups.iter().max().map_or(1, |&g| g + 1);
        let head = ChainAdversary::init(
            cfg.model.embedding_dim(),
            n_chains,
            &train_device,
            &mut seeded_rng(cfg.seed, STREAM_ADVERSARY_INIT),
        );
        let optim: ModuleOptimizer = adamw.init();
        (head, optim)
    });
    if let Some(c) = &checkpoint {
        model = load_module(model, c.file(files::MODEL))?;
        optim = load_optimizer(optim, c.file(files::OPTIMIZER))?;
        if let Some((head, head_optim)) = adversary.take() {
            adversary = Some((
                load_module(head, c.file(files::ADVERSARY))?,
                load_optimizer(head_optim, c.file(files::ADVERSARY_OPTIMIZER))?,
            ));
        }
        // A run killed between its commit and the publishing left older copies.
        publish(c, &run)?;
    }
    let streams = Streams::new(
        cfg.seed,
        &state.rng_positions,
        &run.file(auscult_experiment::CHECKPOINT_FILE),
    )?;
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
    let mut step = ClassifierStep {
        cfg: &cfg,
        p: &p,
        base: base.clone(),
        train_device,
        model: Some(model),
        optim,
        adversary,
        streams,
        balanced,
        item_weights,
        total_steps: steps_per_epoch * cfg.epochs,
        warmup: steps_per_epoch * cfg.warmup_epochs,
        epoch: EpochTotals::default(),
        val: None,
        train_time: 0.0,
        steps_here: 0,
    };
    let learner = Learner {
        epochs: cfg.epochs,
        patience: cfg.patience,
    };
    let state = learner.fit(&mut step, &run, state, checkpoint, &mut log, progress)?;
    let (train_time, steps_here) = (step.train_time, step.steps_here);

    let mut report = finish(&cfg, &run, &p, &state, &base, train_time, steps_here)?;
    report.start = start;
    run.save_json(files::REPORT, &report)?;
    Ok(report)
}

/// The sums of one epoch's training steps.
#[derive(Debug, Clone, Copy)]
struct EpochTotals {
    started: Instant,
    batches: usize,
    lr: f64,
    loss: f64,
    class_loss: f64,
    supcon_loss: f64,
    adversary_loss: f64,
}

impl Default for EpochTotals {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            batches: 0,
            lr: 0.0,
            loss: 0.0,
            class_loss: 0.0,
            supcon_loss: 0.0,
            adversary_loss: 0.0,
        }
    }
}

/// The classifier's part of the epoch loop ([`Learner`]): its training epoch (sampling and
/// mixing, the losses, AdamW on a cosine schedule), its validation and its checkpoint files.
struct ClassifierStep<'a> {
    cfg: &'a TrainConfig,
    p: &'a Prepared,
    base: Device,
    train_device: Device,
    /// Always `Some` between steps (the optimiser takes the model and gives it back).
    model: Option<Cnn>,
    optim: ModuleOptimizer,
    /// The recording-chain adversary and its optimiser (`device_adversarial` on); like the
    /// model, taken and given back by each step.
    adversary: Option<(ChainAdversary, ModuleOptimizer)>,
    streams: Streams,
    balanced: BalancedSampler,
    item_weights: Option<WeightedIndex<f64>>,
    total_steps: usize,
    warmup: usize,
    epoch: EpochTotals,
    val: Option<(Metrics, f64)>,
    train_time: f64,
    steps_here: usize,
}

impl ClassifierStep<'_> {
    fn model(&self) -> Result<&Cnn> {
        self.model
            .as_ref()
            .ok_or_else(|| Error::data("the model was lost in a failed training step"))
    }
}

impl EpochStep for ClassifierStep<'_> {
    type Record = EpochRecord;
    type Error = Error;

    fn train_epoch(
        &mut self,
        epoch: usize,
        state: &mut TrainingState,
        progress: &dyn Progress,
    ) -> Result<()> {
        let (cfg, p) = (self.cfg, self.p);
        let n_classes = p.classes.len();
        let item_len = p.train.item_len();
        let (n_bins, n_frames) = (p.train.n_bins, p.train.n_frames);
        let started = Instant::now();
        let streams = &mut self.streams;
        let batches = match &self.item_weights {
            // Indices into `train` drawn by weight; `epoch_items` is the identity then.
            Some(w) => weighted_batches(w, p.epoch_items.len(), cfg.batch_size, &mut streams.order),
            None => instance_batches(p.epoch_items.len(), cfg.batch_size, &mut streams.order),
        };
        progress.start(
            &format!("epoch {epoch}/{}", cfg.epochs),
            batches.len() as u64,
        );
        let mut model = self
            .model
            .take()
            .ok_or_else(|| Error::data("the model was lost in a failed training step"))?;
        let (mut sum_loss, mut sum_class, mut sum_supcon, mut sum_adv) = (0.0, 0.0, 0.0, 0.0);
        let mut lr = cfg.lr;
        for batch in &batches {
            let items: Vec<usize> = batch.iter().map(|&i| p.epoch_items[i]).collect();
            let b = items.len();
            let partner: Option<Vec<usize>> = match cfg.mixup {
                MixupMode::Balanced | MixupMode::BalancedSampling => {
                    Some(self.balanced.batch(b, &mut streams.balanced))
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
            // The recording chains of the items as soft targets, mixed as the labels are.
            let chain_targets = self.adversary.as_ref().map(|(head, _)| {
                let n_chains = head.n_chains();
                let mut t = vec![0f32; b * n_chains];
                let second_weight = if second.is_some() { lambda } else { 0.0 };
                for (i, &item) in first.iter().enumerate() {
                    t[i * n_chains + p.groups[item]] += 1.0 - second_weight;
                    if let Some(idx) = &second {
                        t[i * n_chains + p.groups[idx[i]]] += second_weight;
                    }
                }
                Tensor::<2>::from_data(TensorData::new(t, [b, n_chains]), &self.train_device)
            });
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
                &self.train_device,
            );
            let targets = Tensor::<2>::from_data(
                TensorData::new(mixed.targets, [b, n_classes]),
                &self.train_device,
            );
            let mask = (cfg.model.dropout > 0.0).then(|| {
                let d = cfg.model.embedding_dim();
                let m = dropout_mask(b, d, cfg.model.dropout, &mut streams.dropout);
                Tensor::<2>::from_data(TensorData::new(m, [b, d]), &self.train_device)
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
            let (loss, adversary_value) = match (&self.adversary, chain_targets) {
                (Some((head, _)), Some(t)) => {
                    let logits = head.forward(out.embedding, cfg.device_adversarial);
                    let a = soft_cross_entropy(logits, t);
                    let v: f32 = a.clone().into_scalar();
                    (loss + a, v)
                }
                _ => (loss, 0.0),
            };
            let total = class_value + cfg.supcon_weight * supcon_value;
            if !total.is_finite() {
                return Err(Error::data(format!(
                    "the training loss became {total} at epoch {epoch}, step {}; lower --lr or enable gradient clipping",
                    state.step + 1
                )));
            }
            lr = cfg.lr
                * cosine_factor(state.step, self.total_steps, self.warmup, cfg.min_lr_factor);
            let mut grads = loss.backward();
            let model_grads = GradientsParams::from_module(&mut grads, &model);
            model = self.optim.step(lr, model, model_grads);
            if let Some((head, mut head_optim)) = self.adversary.take() {
                let head_grads = GradientsParams::from_module(&mut grads, &head);
                let head = head_optim.step(lr, head, head_grads);
                self.adversary = Some((head, head_optim));
            }
            state.step += 1;
            self.steps_here += 1;
            sum_loss += total as f64;
            sum_class += class_value as f64;
            sum_supcon += supcon_value as f64;
            sum_adv += adversary_value as f64;
            progress.advance(1);
            progress.message(&format!("loss {total:.4}"));
        }
        self.train_time += started.elapsed().as_secs_f64();
        progress.finish();
        self.model = Some(model);
        self.epoch = EpochTotals {
            started,
            batches: batches.len(),
            lr,
            loss: sum_loss,
            class_loss: sum_class,
            supcon_loss: sum_supcon,
            adversary_loss: sum_adv,
        };
        Ok(())
    }

    fn validate(&mut self, _epoch: usize) -> Result<Option<f64>> {
        let p = self.p;
        let eval_model = self.model()?.valid();
        self.val = evaluate_features(
            &eval_model,
            &p.val,
            &p.val_patients,
            &p.classes,
            &self.base,
            0,
            self.cfg.seed,
        )?;
        Ok(self.val.as_ref().map(|(m, _)| selection_score(m)))
    }

    fn record(
        &mut self,
        epoch: usize,
        state: &TrainingState,
        best: bool,
        progress: &dyn Progress,
    ) -> EpochRecord {
        let e = &self.epoch;
        let n = e.batches.max(1) as f64;
        let val = &self.val;
        let record = EpochRecord {
            epoch,
            step: state.step,
            lr: e.lr,
            train_loss: e.loss / n,
            train_class_loss: e.class_loss / n,
            train_supcon_loss: e.supcon_loss / n,
            train_adversary_loss: self.adversary.is_some().then_some(e.adversary_loss / n),
            val_loss: val.as_ref().map(|v| v.1),
            val_score: val.as_ref().map(|v| v.0.score),
            val_specificity: val.as_ref().map(|v| v.0.specificity),
            val_sensitivity: val.as_ref().map(|v| v.0.sensitivity),
            val_accuracy: val.as_ref().map(|v| v.0.accuracy),
            val_macro_f1: val.as_ref().map(|v| v.0.macro_f1),
            val_roc_auc: val.as_ref().and_then(|v| v.0.roc_auc),
            best,
            seconds: e.started.elapsed().as_secs_f64(),
        };
        if let Some(v) = record.val_score {
            progress.message(&format!(
                "epoch {epoch}: loss {:.4}, val score {v:.3}{}",
                record.train_loss,
                if best { " (best)" } else { "" }
            ));
        }
        record
    }

    fn rng_positions(&self) -> Vec<(u64, String)> {
        self.streams.positions()
    }

    fn save(
        &self,
        saving: &mut CheckpointWriter,
        best: bool,
        previous: Option<&Checkpoint>,
    ) -> Result<()> {
        saving.save_module(files::MODEL, self.model()?)?;
        saving.save_optimizer(files::OPTIMIZER, &self.optim)?;
        if let Some((head, head_optim)) = &self.adversary {
            saving.save_module(files::ADVERSARY, head)?;
            saving.save_optimizer(files::ADVERSARY_OPTIMIZER, head_optim)?;
        }
        match previous {
            Some(previous) if !best => saving.keep(files::BEST, previous)?,
            _ => saving.save_same_as(files::BEST, files::MODEL)?,
        }
        Ok(())
    }

    fn publish(&self, checkpoint: &Checkpoint, run: &RunDir) -> Result<()> {
        publish(checkpoint, run)
    }
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
