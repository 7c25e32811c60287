//! The VQ-VAE's training configuration: the model, quantiser, front end, optimiser and loss
//! settings of a run (saved, resolved, as the run's `config.json`), used by training and read
//! back by every step that loads a trained VQ-VAE.

use auscult_audio::MelConfig;
use auscult_datasets::{CyclePadding, ExampleConfig};
use auscult_experiment::{DeviceChoice, LrSchedule};
use serde::{Deserialize, Serialize};

use crate::features::{default_examples, default_mel, frames_per_example};
use crate::retired::Retired;
use crate::vqvae::network::VqVaeConfig;
use crate::vqvae::quantizer::QuantizerConfig;
use crate::vqvae::step::DetailLoss;
use crate::{Error, Result};

/// Everything that defines a VQ-VAE training run (saved, resolved, as `config.json`).
///
/// Every field has a default, so a `--config` file needs only the fields it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VqVaeTrainConfig {
    /// Architecture (input size and class count are filled in from the front end and data).
    pub model: VqVaeConfig,
    /// Vector quantiser.
    pub quantizer: QuantizerConfig,
    /// How examples were cut (the data must be loaded with this).
    pub examples: ExampleConfig,
    /// The log-Mel front end.
    pub mel: MelConfig,
    /// Class names in index order (filled in from the data).
    pub classes: Vec<String>,
    /// Passes over the training split.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// Peak learning rate (Adam).
    pub lr: f64,
    /// Learning-rate schedule over all steps.
    pub schedule: LrSchedule,
    /// Seed of initialisation, shuffling and codebook restarts.
    pub seed: u64,
    /// Where to compute.
    pub device: DeviceChoice,
    /// Examples shown (original beside reconstruction) in `reconstructions.png`.
    pub reconstructions: usize,
    /// The loss term on tone-filtered reconstruction errors that brings wheeze tones forward
    /// in training (see [`DetailLoss`]).
    pub detail_loss: DetailLoss,
    /// Move each zero-padded training cycle to a seeded random position within its silence
    /// every epoch (see `shift_frames`), so that the code grid meets each
    /// sound at many alignments, as the prior's placements will present it (default true;
    /// ignored for repeat-padded examples).
    pub random_placement: bool,
    /// Shrinkage towards the diagonal of the per-class residual covariance fitted after
    /// training (`texture.json`, see [`Texture`](crate::Texture)); 0 keeps the sample covariance.
    pub texture_shrinkage: f32,
    /// Continue the run in the output directory from its last checkpoint (not saved).
    #[serde(skip)]
    pub resume: bool,
    /// With `resume`: continue even if the data's files differ from the fingerprint recorded
    /// in `provenance.json` (not saved).
    #[serde(skip)]
    pub allow_data_change: bool,
    /// Removed: per-pixel detail weights of the reconstruction loss (they did not help); read
    /// from older configs and ignored.
    #[doc(hidden)]
    #[serde(rename = "detail_weight", skip_serializing)]
    pub retired_detail_weight: Retired,
    /// Removed with `detail_weight`.
    #[doc(hidden)]
    #[serde(rename = "detail_threshold_db", skip_serializing)]
    pub retired_detail_threshold_db: Retired,
}

impl Default for VqVaeTrainConfig {
    fn default() -> Self {
        Self {
            model: VqVaeConfig::default(),
            quantizer: QuantizerConfig::default(),
            // One cycle centred in silence: the prior models the cycle and generation repeats
            // it (see `crate::plan::cycle`).
            examples: ExampleConfig {
                pad: CyclePadding::Zero,
                ..default_examples()
            },
            mel: default_mel(),
            classes: Vec::new(),
            epochs: 20,
            batch_size: 8,
            lr: 3e-3,
            schedule: LrSchedule::Cosine {
                warmup_steps: 20,
                min_factor: 0.1,
            },
            seed: 0,
            device: DeviceChoice::Cpu,
            reconstructions: 8,
            // Tone weight 100: on the demo corpus the
            // reconstructions keep 76% of the training wheezes' tone columns (30: 62%, 10:
            // 32%) for 0.1 dB more error (2.40 against 2.30 dB MAE on validation), and a
            // prior with a tone plan then renders 56% of its planned tone columns (10: 16%).
            detail_loss: DetailLoss {
                tone_weight: 100.0,
                ..DetailLoss::default()
            },
            texture_shrinkage: crate::texture::DEFAULT_SHRINKAGE,
            random_placement: true,
            resume: false,
            allow_data_change: false,
            retired_detail_weight: Retired,
            retired_detail_threshold_db: Retired,
        }
    }
}

impl VqVaeTrainConfig {
    /// The larger model of [`VqVaeConfig::gpu`], batch 64, on the GPU.
    pub fn gpu() -> Self {
        Self {
            model: VqVaeConfig::gpu(),
            batch_size: 64,
            epochs: 60,
            device: DeviceChoice::Gpu,
            ..Self::default()
        }
    }

    /// Fills in what comes from the front end and the data, and checks everything.
    pub fn resolve(&self, classes: &[String]) -> Result<Self> {
        let mut cfg = self.clone();
        cfg.mel.validate()?;
        cfg.examples.validate()?;
        if cfg.mel.sample_rate != cfg.examples.sample_rate {
            return Err(Error::config(
                "mel.sample_rate",
                format!(
                    "is {} Hz but examples.sample_rate is {} Hz; they must agree",
                    cfg.mel.sample_rate, cfg.examples.sample_rate
                ),
            ));
        }
        if classes.is_empty() {
            return Err(Error::NoData {
                reason: "the data set names no classes".to_string(),
            });
        }
        cfg.classes = classes.to_vec();
        cfg.model.num_classes = classes.len();
        cfg.model.n_mels = cfg.mel.n_mels;
        cfg.model.n_frames = frames_per_example(&cfg.mel, &cfg.examples);
        cfg.model.validate()?;
        cfg.quantizer.validate()?;
        if cfg.batch_size == 0 {
            return Err(Error::config("batch_size", "must be at least 1"));
        }
        if !(cfg.lr.is_finite() && cfg.lr > 0.0) {
            return Err(Error::config("lr", "must be a positive number"));
        }
        cfg.detail_loss.validate()?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_configs_with_removed_detail_fields_still_read() {
        let mut old = serde_json::to_value(VqVaeTrainConfig::default()).unwrap();
        old["detail_weight"] = serde_json::json!(0.0);
        old["detail_threshold_db"] = serde_json::json!(6.0);
        old["detail_loss"]["click_weight"] = serde_json::json!(0.0);
        old["detail_loss"]["click_bins"] = serde_json::json!(9);
        old["detail_loss"]["click_frames"] = serde_json::json!(5);
        let read: VqVaeTrainConfig = serde_json::from_value(old).unwrap();
        assert_eq!(read, VqVaeTrainConfig::default());
        let written = serde_json::to_value(&read).unwrap();
        assert!(written.get("detail_weight").is_none());
        assert!(written["detail_loss"].get("click_weight").is_none());
        // Unknown fields are still refused.
        let mut typo = serde_json::to_value(VqVaeTrainConfig::default()).unwrap();
        typo["epoch"] = serde_json::json!(3);
        assert!(serde_json::from_value::<VqVaeTrainConfig>(typo).is_err());
    }
}
