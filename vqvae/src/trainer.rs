//! One optimisation step of each model, independent of where the data comes from (the epoch
//! loops, checkpoints and reports are in [`crate::training`]).

use std::sync::Mutex;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::VqBatch;
use crate::model::{ClassPrototypes, VqVae, VqVaeConfig};
use crate::prior::{DropoutRng, Prior, PriorConfig};
use crate::quantizer::{Codebook, QuantizerConfig};
use crate::{Error, Result};

/// Serialises seeded initialisation: burn's CPU backend draws initial weights from one
/// process-wide generator, so seeding and drawing must not interleave with another model's.
static INIT_LOCK: Mutex<()> = Mutex::new(());

struct Materialize;

impl ModuleVisitor for Materialize {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.val();
    }
}

/// Builds a module with weights drawn from `seed`, reproducibly.
pub(crate) fn init_seeded<M: Module>(
    seed: u64,
    device: &Device,
    build: impl FnOnce() -> Result<M>,
) -> Result<M> {
    let _guard = INIT_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    device.seed(seed);
    let module = build()?;
    // Parameters are initialised lazily; draw them now, under the lock.
    module.visit(&mut Materialize);
    Ok(module)
}

/// Adam with gradient-norm clipping at 1.
pub(crate) fn adam() -> ModuleOptimizer {
    AdamConfig::new()
        .with_grad_clipping(Some(burn::grad_clipping::GradientClippingConfig::Norm(1.0)))
        .init()
}

/// Reads a one-element tensor.
pub(crate) fn scalar(t: Tensor<1>) -> Result<f64> {
    let v: Vec<f32> = t.try_into_vec_as::<f32>().map_err(Error::tensor)?;
    Ok(v.first().copied().map(f64::from).unwrap_or(f64::NAN))
}

/// Reads an integer tensor as indices.
pub(crate) fn indices<const D: usize>(t: Tensor<D, Int>) -> Result<Vec<usize>> {
    let v: Vec<i64> = t.try_into_vec_as::<i64>().map_err(Error::tensor)?;
    Ok(v.into_iter().map(|x| x.max(0) as usize).collect())
}

/// Losses and codes of one VQ-VAE step.
#[derive(Debug, Clone, PartialEq)]
pub struct VqStepStats {
    /// Reconstruction loss: mean squared error in the normalised log-Mel domain (weighted when
    /// the batch carries weights), plus the [`DetailLoss`] terms when they are on.
    pub reconstruction: f64,
    /// Commitment loss (already weighted by beta).
    pub commitment: f64,
    /// Codes chosen for the batch (`batch * codes_per_example`, raster order per example).
    pub codes: Vec<usize>,
    /// Codebook entries restarted by this step.
    pub restarted: usize,
}

/// Prototype moving-average decay per step.
const PROTOTYPE_DECAY: f32 = 0.95;

/// Extra reconstruction terms that emphasise the two kinds of class detail, as fixed linear
/// filters of the reconstruction error `e` (normalised log-Mel):
///
/// - tone: `e` averaged over `tone_frames` frames, minus its running mean over `tone_bins` Mel
///   bins (narrow bands that persist in time: wheezes);
/// - click: `e` averaged over `click_bins` Mel bins, minus its running mean over `click_frames`
///   frames (short events spread over frequency: crackles).
///
/// Noise texture changes from pixel to pixel, so these filters pass little of it, while they
/// pass most of a tone's or a click's error: weighting them makes the detail count in the loss
/// out of proportion to the few pixels it covers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetailLoss {
    /// Weight of the mean squared tone-filtered error (0 = off).
    pub tone_weight: f32,
    /// Weight of the mean squared click-filtered error (0 = off).
    pub click_weight: f32,
    /// Frames of the time average of the tone filter.
    pub tone_frames: usize,
    /// Mel bins of the running mean the tone filter removes.
    pub tone_bins: usize,
    /// Mel bins of the frequency average of the click filter.
    pub click_bins: usize,
    /// Frames of the running mean the click filter removes.
    pub click_frames: usize,
}

impl Default for DetailLoss {
    fn default() -> Self {
        Self {
            tone_weight: 0.0,
            click_weight: 0.0,
            tone_frames: 7,
            tone_bins: 5,
            click_bins: 9,
            click_frames: 5,
        }
    }
}

impl DetailLoss {
    /// Checks the weights and windows.
    pub fn validate(&self) -> Result<()> {
        for (field, w) in [
            ("detail_loss.tone_weight", self.tone_weight),
            ("detail_loss.click_weight", self.click_weight),
        ] {
            if !(w.is_finite() && w >= 0.0) {
                return Err(Error::config(field, "must be a finite number >= 0"));
            }
        }
        for (field, w) in [
            ("detail_loss.tone_frames", self.tone_frames),
            ("detail_loss.tone_bins", self.tone_bins),
            ("detail_loss.click_bins", self.click_bins),
            ("detail_loss.click_frames", self.click_frames),
        ] {
            if w == 0 || w % 2 == 0 {
                return Err(Error::config(field, "must be an odd number of at least 1"));
            }
        }
        Ok(())
    }

    fn active(&self) -> bool {
        self.tone_weight > 0.0 || self.click_weight > 0.0
    }
}

/// The detail filters as matrices on a device, for one input size.
struct DetailFilters {
    tone_time: Tensor<2>,
    tone_freq: Tensor<2>,
    click_freq: Tensor<2>,
    click_time: Tensor<2>,
}

impl DetailFilters {
    fn new(loss: &DetailLoss, n_mels: usize, n_frames: usize, device: &Device) -> Self {
        use crate::detail::{high_pass_matrix, running_mean_matrix};
        let mat = |v: Vec<f32>, n: usize| Tensor::from_data(TensorData::new(v, [n, n]), device);
        Self {
            tone_time: mat(running_mean_matrix(n_frames, loss.tone_frames), n_frames),
            tone_freq: mat(high_pass_matrix(n_mels, loss.tone_bins), n_mels),
            click_freq: mat(running_mean_matrix(n_mels, loss.click_bins), n_mels),
            click_time: mat(high_pass_matrix(n_frames, loss.click_frames), n_frames),
        }
    }
}

/// `x` (`[b, m, f]`) times `mat` (`[f, f]`) along time.
fn along_time(x: Tensor<3>, mat: Tensor<2>) -> Tensor<3> {
    let [b, m, f] = x.dims();
    x.reshape([b * m, f]).matmul(mat).reshape([b, m, f])
}

/// `x` (`[b, m, f]`) times `mat` (`[m, m]`) along frequency.
fn along_freq(x: Tensor<3>, mat: Tensor<2>) -> Tensor<3> {
    let [b, m, f] = x.dims();
    x.swap_dims(1, 2)
        .reshape([b * f, m])
        .matmul(mat)
        .reshape([b, f, m])
        .swap_dims(1, 2)
}

/// The VQ-VAE with its optimiser, codebook and prototypes: everything one step changes.
pub struct VqVaeTrainer {
    /// Architecture.
    pub config: VqVaeConfig,
    /// Quantiser settings.
    pub quantizer: QuantizerConfig,
    /// The network (on an autodiff device).
    pub model: VqVae,
    /// Adam state.
    pub optimizer: ModuleOptimizer,
    /// The EMA codebook.
    pub codebook: Codebook,
    /// Class prototypes (moving averages while training).
    pub prototypes: ClassPrototypes,
    /// Random stream of codebook restarts.
    pub rng: ChaCha8Rng,
    /// Extra loss terms on tone and click detail.
    pub detail: DetailLoss,
    filters: Option<DetailFilters>,
    device: Device,
}

impl VqVaeTrainer {
    /// A fresh model with weights drawn from `seed`, on `device` (autodiff is enabled here).
    pub fn new(
        config: VqVaeConfig,
        quantizer: QuantizerConfig,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        quantizer.validate()?;
        let device = device.clone().autodiff();
        let model = init_seeded(seed, &device, || config.init(&device))?;
        Ok(Self {
            codebook: Codebook::new(config.codebook_size, config.code_dim),
            prototypes: ClassPrototypes::new(&config),
            rng: auscult_experiment::seeded_rng(seed, RESTART_STREAM),
            config,
            quantizer,
            model,
            optimizer: adam(),
            detail: DetailLoss::default(),
            filters: None,
            device,
        })
    }

    /// The autodiff device batches must be built on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// One step: forward, losses, backward, Adam at `lr`, then the codebook and prototype
    /// moving averages.
    pub fn step(&mut self, batch: &VqBatch, lr: f64) -> Result<VqStepStats> {
        let codebook_t = self.codebook.tensor(&self.device);
        let protos = self.prototypes.tensor(&batch.labels, &self.device);
        let out = self.model.forward(
            batch.inputs.clone(),
            batch.classes.clone(),
            codebook_t,
            protos,
        );
        let [b, _, m, f] = batch.targets.dims();
        let recon = out.reconstruction.slice([0..b, 0..1, 0..m, 0..f]);
        let err = recon - batch.targets.clone();
        let sq = err.clone().square();
        let mut recon_loss = match &batch.weights {
            Some(w) => (sq * w.clone()).mean(),
            None => sq.mean(),
        };
        if self.detail.active() {
            let filters = self
                .filters
                .get_or_insert_with(|| DetailFilters::new(&self.detail, m, f, &self.device));
            let e = err.reshape([b, m, f]);
            if self.detail.tone_weight > 0.0 {
                let tone = along_freq(
                    along_time(e.clone(), filters.tone_time.clone()),
                    filters.tone_freq.clone(),
                );
                recon_loss = recon_loss + tone.square().mean() * f64::from(self.detail.tone_weight);
            }
            if self.detail.click_weight > 0.0 {
                let click = along_time(
                    along_freq(e, filters.click_freq.clone()),
                    filters.click_time.clone(),
                );
                recon_loss =
                    recon_loss + click.square().mean() * f64::from(self.detail.click_weight);
            }
        }
        let commit = (out.encodings.clone() - out.quantized).square().mean()
            * f64::from(self.quantizer.commitment);
        let loss = recon_loss.clone() + commit.clone();
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        self.model = self.optimizer.step(lr, self.model.clone(), grads);

        let reconstruction = scalar(recon_loss.inner())?;
        let commitment = scalar(commit.inner())?;
        let codes = indices(out.codes)?;
        let z: Vec<f32> = out
            .encodings
            .inner()
            .try_into_vec_as::<f32>()
            .map_err(Error::tensor)?;
        let profiles: Vec<f32> = out
            .skip_profile
            .inner()
            .try_into_vec_as::<f32>()
            .map_err(Error::tensor)?;
        let stats = self
            .codebook
            .update(&z, &codes, &self.quantizer, &mut self.rng);
        self.prototypes
            .update(&profiles, &batch.labels, PROTOTYPE_DECAY);
        Ok(VqStepStats {
            reconstruction,
            commitment,
            codes,
            restarted: stats.restarted,
        })
    }
}

/// Random stream of codebook restarts.
const RESTART_STREAM: u64 = 3;

/// A batch for the prior.
#[derive(Debug, Clone)]
pub struct PriorBatch {
    /// Class indices `[batch]`.
    pub classes: Tensor<1, Int>,
    /// The same class indices on the host.
    pub labels: Vec<usize>,
    /// Code sequences `[batch, seq_len]`.
    pub codes: Tensor<2, Int>,
    /// Cycle plans `[batch, seq_len]` ([`crate::prior::plan_tokens`]), for a prior that
    /// takes one.
    pub plans: Option<Tensor<2, Int>>,
}

impl PriorBatch {
    /// Builds a batch from host sequences.
    pub fn new(classes: &[usize], codes: &[&[usize]], device: &Device) -> Result<Self> {
        let b = classes.len();
        let n = codes.first().map(|c| c.len()).unwrap_or(0);
        if codes.len() != b || codes.iter().any(|c| c.len() != n) || n < 2 {
            return Err(Error::Shape {
                what: "prior batch",
                expected: vec![b, n.max(2)],
                actual: vec![
                    codes.len(),
                    codes.iter().map(|c| c.len()).min().unwrap_or(0),
                ],
            });
        }
        let flat: Vec<i64> = codes
            .iter()
            .flat_map(|c| c.iter().map(|&x| x as i64))
            .collect();
        Ok(Self {
            classes: Tensor::from_data(
                TensorData::new(classes.iter().map(|&c| c as i64).collect::<Vec<_>>(), [b]),
                device,
            ),
            codes: Tensor::from_data(TensorData::new(flat, [b, n]), device),
            labels: classes.to_vec(),
            plans: None,
        })
    }

    /// Attaches one plan per sequence (each as long as the sequences).
    pub fn with_plans(mut self, plans: &[&[usize]], device: &Device) -> Result<Self> {
        let [b, n] = self.codes.dims();
        if plans.len() != b || plans.iter().any(|p| p.len() != n) {
            return Err(Error::Shape {
                what: "prior batch plans",
                expected: vec![b, n],
                actual: vec![plans.len(), plans.first().map_or(0, |p| p.len())],
            });
        }
        let flat: Vec<i64> = plans
            .iter()
            .flat_map(|p| p.iter().map(|&x| x as i64))
            .collect();
        self.plans = Some(Tensor::from_data(TensorData::new(flat, [b, n]), device));
        Ok(self)
    }
}

/// The prior with its optimiser and dropout stream.
pub struct PriorTrainer {
    /// Architecture.
    pub config: PriorConfig,
    /// The Transformer (on an autodiff device).
    pub model: Prior,
    /// Adam state.
    pub optimizer: ModuleOptimizer,
    /// Dropout masks' random stream.
    pub dropout: DropoutRng,
    device: Device,
}

/// Random stream of the prior's dropout masks.
const DROPOUT_STREAM: u64 = 5;

impl PriorTrainer {
    /// A fresh prior with weights drawn from `seed`, on `device` (autodiff is enabled here).
    pub fn new(config: PriorConfig, seed: u64, device: &Device) -> Result<Self> {
        let device = device.clone().autodiff();
        let model = init_seeded(seed, &device, || config.init(&device))?;
        Ok(Self {
            dropout: DropoutRng {
                prob: config.dropout,
                rng: auscult_experiment::seeded_rng(seed, DROPOUT_STREAM),
            },
            config,
            model,
            optimizer: adam(),
            device,
        })
    }

    /// The autodiff device batches must be built on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// One step at learning rate `lr`; returns the cross-entropy in nats per code. With
    /// `class_dropout`, some sequences are shown with the "no class" token instead of their
    /// class (drawn from the dropout stream).
    pub fn step(&mut self, batch: &PriorBatch, lr: f64) -> Result<f64> {
        let classes = if self.config.has_null_class() {
            let dropped = self.dropout.drop_classes(
                &batch.labels,
                self.config.class_dropout,
                self.config.num_classes,
            );
            Tensor::from_data(
                TensorData::new(
                    dropped.iter().map(|&c| c as i64).collect::<Vec<_>>(),
                    [dropped.len()],
                ),
                &self.device,
            )
        } else {
            batch.classes.clone()
        };
        let loss = self.model.loss(
            classes,
            batch.codes.clone(),
            batch.plans.clone(),
            Some(&mut self.dropout),
        );
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        self.model = self.optimizer.step(lr, self.model.clone(), grads);
        scalar(loss.inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{LogMel, vq_batch};
    use rand::Rng;

    fn tiny_vq() -> VqVaeConfig {
        VqVaeConfig {
            n_mels: 16,
            n_frames: 30,
            num_classes: 2,
            channels: [8, 16],
            res_blocks: 1,
            strides: vec![[2, 2], [2, 2]],
            codebook_size: 16,
            code_dim: 8,
            class_embedding: 4,
        }
    }

    /// Class 0: a low band; class 1: a high band; random amplitude and onset.
    fn toy_examples(n: usize, seed: u64) -> Vec<LogMel> {
        let mut rng = auscult_experiment::seeded_rng(seed, 0);
        (0..n)
            .map(|i| {
                let label = i % 2;
                let amp = rng.random_range(0.5..1.5f32);
                let on = rng.random_range(0..15usize);
                let mut data = vec![0f32; 16 * 30];
                for bin in 0..16 {
                    for t in 0..30 {
                        let band = if label == 0 { bin < 6 } else { bin >= 10 };
                        let v = if band && t >= on && t < on + 12 {
                            amp * 2.0
                        } else {
                            -0.5
                        };
                        data[bin * 30 + t] = v + 0.05 * rng.random_range(-1.0..1.0f32);
                    }
                }
                LogMel { data, label }
            })
            .collect()
    }

    #[test]
    fn vqvae_steps_lower_the_loss_use_several_codes_and_are_reproducible() {
        let device = Device::flex();
        let cfg = tiny_vq();
        let data = toy_examples(16, 1);
        let run = || {
            let mut t =
                VqVaeTrainer::new(cfg.clone(), QuantizerConfig::default(), 42, &device).unwrap();
            let mut losses = Vec::new();
            let mut last_codes = Vec::new();
            for step in 0..60 {
                let start = (step * 8) % 16;
                let refs: Vec<&LogMel> = data[start..start + 8].iter().collect();
                let batch = vq_batch(&refs, 16, 30, 32, t.device()).unwrap();
                let s = t.step(&batch, 5e-3).unwrap();
                losses.push(s.reconstruction);
                last_codes = s.codes;
            }
            (losses, last_codes, t.codebook.embeddings.clone())
        };
        let (losses, codes, cb) = run();
        let first = losses[..3].iter().sum::<f64>() / 3.0;
        let last = losses[57..].iter().sum::<f64>() / 3.0;
        assert!(
            last < 0.5 * first,
            "loss did not fall: {first} -> {last} ({losses:?})"
        );
        let mut distinct = codes.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(distinct.len() > 1, "only one code used");
        let (losses2, codes2, cb2) = run();
        assert_eq!(losses, losses2);
        assert_eq!(codes, codes2);
        assert_eq!(cb, cb2);
    }

    #[test]
    fn detail_loss_adds_to_the_reconstruction_loss_and_trains() {
        let device = Device::flex();
        let cfg = tiny_vq();
        let data = toy_examples(8, 3);
        let refs: Vec<&LogMel> = data.iter().collect();
        let plain = {
            let mut t =
                VqVaeTrainer::new(cfg.clone(), QuantizerConfig::default(), 5, &device).unwrap();
            let batch = vq_batch(&refs, 16, 30, 32, t.device()).unwrap();
            t.step(&batch, 1e-3).unwrap().reconstruction
        };
        let mut t = VqVaeTrainer::new(cfg, QuantizerConfig::default(), 5, &device).unwrap();
        t.detail = DetailLoss {
            tone_weight: 5.0,
            click_weight: 5.0,
            ..DetailLoss::default()
        };
        let batch = vq_batch(&refs, 16, 30, 32, t.device()).unwrap();
        let losses: Vec<f64> = (0..40)
            .map(|_| t.step(&batch, 5e-3).unwrap().reconstruction)
            .collect();
        // Same initial weights, so the first loss is the plain one plus the detail terms.
        assert!(losses[0] > plain, "{} <= {plain}", losses[0]);
        assert!(losses[39] < 0.5 * losses[0], "{losses:?}");
        let bad = DetailLoss {
            tone_frames: 4,
            ..DetailLoss::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn prior_steps_lower_the_loss() {
        let device = Device::flex();
        let cfg = PriorConfig {
            vocab_size: 8,
            num_classes: 2,
            seq_len: 12,
            d_model: 16,
            n_heads: 2,
            n_layers: 2,
            d_ff: 32,
            dropout: 0.1,
            // Some sequences are shown without their class: the loss must fall regardless.
            class_dropout: 0.2,
            // And each carries a cycle plan (4 columns of 3 codes), with tones in some.
            plan_columns: 4,
            tone_tokens: 2,
        };
        let mut t = PriorTrainer::new(cfg, 7, &device).unwrap();
        // Class 0 counts up, class 1 counts down (mod 8) from a random start.
        let mut rng = auscult_experiment::seeded_rng(2, 0);
        let mut seqs = Vec::new();
        let mut classes = Vec::new();
        for i in 0..16 {
            let s0 = rng.random_range(0..8usize);
            let c = i % 2;
            seqs.push(
                (0..12)
                    .map(|j| {
                        if c == 0 {
                            (s0 + j) % 8
                        } else {
                            (s0 + 8 * 12 - j) % 8
                        }
                    })
                    .collect::<Vec<_>>(),
            );
            classes.push(c);
        }
        let refs: Vec<&[usize]> = seqs.iter().map(|s| s.as_slice()).collect();
        let plans: Vec<Vec<usize>> = (0..16)
            .map(|i| {
                let cycle = crate::prior::plan_tokens(4, 12, i % 3..4);
                let tone: Vec<usize> = (0..12).map(|j| usize::from(i % 2 == 0 && j > 6)).collect();
                crate::tone::combine(&cycle, &tone, 6)
            })
            .collect();
        let plan_refs: Vec<&[usize]> = plans.iter().map(Vec::as_slice).collect();
        let batch = PriorBatch::new(&classes, &refs, t.device())
            .unwrap()
            .with_plans(&plan_refs, t.device())
            .unwrap();
        assert!(
            batch
                .clone()
                .with_plans(&plan_refs[..3], t.device())
                .is_err()
        );
        let losses: Vec<f64> = (0..60).map(|_| t.step(&batch, 5e-3).unwrap()).collect();
        assert!(losses[0] > 1.8, "{losses:?}");
        assert!(
            losses[59] < 0.6 * losses[0],
            "prior loss did not fall: {losses:?}"
        );
    }
}
