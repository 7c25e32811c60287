//! One optimisation step of the VQ-VAE, independent of where the data comes from (the epoch
//! loop, checkpoints and report are in the training module).

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::VqBatch;
use crate::retired::Retired;
use crate::step::{adam, indices, init_seeded, scalar};
use crate::vqvae::network::{VqVae, VqVaeConfig};
use crate::vqvae::prototypes::ClassPrototypes;
use crate::vqvae::quantizer::{Codebook, QuantizerConfig};
use crate::{Error, Result};

/// Losses and codes of one VQ-VAE step.
#[derive(Debug, Clone, PartialEq)]
pub struct VqStepStats {
    /// Reconstruction loss: mean squared error in the normalised log-Mel domain, plus the
    /// [`DetailLoss`] term when it is on.
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

/// An extra reconstruction term that emphasises wheeze tones, as a fixed linear filter of the
/// reconstruction error `e` (normalised log-Mel): `e` averaged over `tone_frames` frames, minus
/// its running mean over `tone_bins` Mel bins (narrow bands that persist in time).
///
/// Noise texture changes from pixel to pixel, so the filter passes little of it, while it
/// passes most of a tone's error: weighting it makes the tones count in the loss out of
/// proportion to the few pixels they cover. (A matching click term for crackles was removed:
/// with cycles centred in silence it passed the error at the cycle's abrupt edges, which then
/// outweighed everything else; the texture supplies the clicks.)
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetailLoss {
    /// Weight of the mean squared tone-filtered error (0 = off).
    pub tone_weight: f32,
    /// Frames of the time average of the tone filter.
    pub tone_frames: usize,
    /// Mel bins of the running mean the tone filter removes.
    pub tone_bins: usize,
    /// Removed: the click filter's weight, read from older configs and ignored.
    #[doc(hidden)]
    #[serde(rename = "click_weight", skip_serializing)]
    pub retired_click_weight: Retired,
    /// Removed with `click_weight`.
    #[doc(hidden)]
    #[serde(rename = "click_bins", skip_serializing)]
    pub retired_click_bins: Retired,
    /// Removed with `click_weight`.
    #[doc(hidden)]
    #[serde(rename = "click_frames", skip_serializing)]
    pub retired_click_frames: Retired,
}

impl Default for DetailLoss {
    fn default() -> Self {
        Self {
            tone_weight: 0.0,
            tone_frames: 7,
            tone_bins: 5,
            retired_click_weight: Retired,
            retired_click_bins: Retired,
            retired_click_frames: Retired,
        }
    }
}

impl DetailLoss {
    /// Checks the weights and windows.
    pub fn validate(&self) -> Result<()> {
        if !(self.tone_weight.is_finite() && self.tone_weight >= 0.0) {
            return Err(Error::config(
                "detail_loss.tone_weight",
                "must be a finite number >= 0",
            ));
        }
        for (field, w) in [
            ("detail_loss.tone_frames", self.tone_frames),
            ("detail_loss.tone_bins", self.tone_bins),
        ] {
            if w == 0 || w % 2 == 0 {
                return Err(Error::config(field, "must be an odd number of at least 1"));
            }
        }
        Ok(())
    }

    fn active(&self) -> bool {
        self.tone_weight > 0.0
    }
}

/// The tone filter as matrices on a device, for one input size.
struct DetailFilters {
    tone_time: Tensor<2>,
    tone_freq: Tensor<2>,
}

impl DetailFilters {
    fn new(loss: &DetailLoss, n_mels: usize, n_frames: usize, device: &Device) -> Self {
        use crate::analysis::detail::{high_pass_matrix, running_mean_matrix};
        let mat = |v: Vec<f32>, n: usize| Tensor::from_data(TensorData::new(v, [n, n]), device);
        Self {
            tone_time: mat(running_mean_matrix(n_frames, loss.tone_frames), n_frames),
            tone_freq: mat(high_pass_matrix(n_mels, loss.tone_bins), n_mels),
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
        let mut recon_loss = sq.mean();
        if self.detail.active() {
            let filters = self
                .filters
                .get_or_insert_with(|| DetailFilters::new(&self.detail, m, f, &self.device));
            let e = err.reshape([b, m, f]);
            let tone = along_freq(
                along_time(e, filters.tone_time.clone()),
                filters.tone_freq.clone(),
            );
            recon_loss = recon_loss + tone.square().mean() * f64::from(self.detail.tone_weight);
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
}
