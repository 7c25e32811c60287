//! The VQ-VAE's training configuration: the model, quantiser, front end, optimiser and loss
//! settings of a run (saved, resolved, as the run's `config.json`), used by training and read
//! back by every step that loads a trained VQ-VAE.

use auscult_audio::MelConfig;
use auscult_datasets::{CyclePadding, ExampleConfig};
use auscult_experiment::{DeviceChoice, LrSchedule};
use serde::{Deserialize, Serialize};

use crate::features::{default_examples, default_mel, frames_per_example};
use crate::model::VqVaeConfig;
use crate::quantizer::QuantizerConfig;
use crate::trainer::DetailLoss;
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
    /// Emphasis of spectro-temporal detail in the reconstruction loss (0 = plain MSE, the
    /// default; 4 with a 6 dB threshold did not visibly help within 10 epochs on the synthetic
    /// corpus); see [`crate::data::detail_weights`].
    pub detail_weight: f32,
    /// Rise above the neighbours, dB, from which a pixel counts as detail.
    pub detail_threshold_db: f32,
    /// Loss terms on filtered reconstruction errors that bring wheeze tones and crackle clicks
    /// forward in training (see [`DetailLoss`]).
    pub detail_loss: DetailLoss,
    /// Move each zero-padded training cycle to a seeded random position within its silence
    /// every epoch (see [`crate::cycle::shift_frames`]), so that the code grid meets each
    /// sound at many alignments, as the prior's placements will present it (default true;
    /// ignored for repeat-padded examples).
    pub random_placement: bool,
    /// Shrinkage towards the diagonal of the per-class residual covariance fitted after
    /// training (`texture.json`, see [`crate::texture`]); 0 keeps the sample covariance.
    pub texture_shrinkage: f32,
    /// Continue the run in the output directory from its last checkpoint (not saved).
    #[serde(skip)]
    pub resume: bool,
    /// With `resume`: continue even if the data's files differ from the fingerprint recorded
    /// in `provenance.json` (not saved).
    #[serde(skip)]
    pub allow_data_change: bool,
}

impl Default for VqVaeTrainConfig {
    fn default() -> Self {
        Self {
            model: VqVaeConfig::default(),
            quantizer: QuantizerConfig::default(),
            // One cycle centred in silence: the prior models the cycle and generation repeats
            // it (see `crate::cycle`).
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
            detail_weight: 0.0,
            detail_threshold_db: 6.0,
            // No click term: with cycles centred in silence, the click filter passes the
            // error at the cycle's abrupt edges, which then outweighs everything else (wheeze
            // reconstruction tonality fell from 1.94 to 0.15 dB with it on the demo corpus).
            // The texture supplies the clicks. Tone weight 100: on the demo corpus the
            // reconstructions keep 76% of the training wheezes' tone columns (30: 62%, 10:
            // 32%) for 0.1 dB more error (2.40 against 2.30 dB MAE on validation), and a
            // prior with a tone plan then renders 56% of its planned tone columns (10: 16%).
            detail_loss: DetailLoss {
                tone_weight: 100.0,
                click_weight: 0.0,
                ..DetailLoss::default()
            },
            texture_shrinkage: crate::texture::DEFAULT_SHRINKAGE,
            random_placement: true,
            resume: false,
            allow_data_change: false,
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
        if !(cfg.detail_weight.is_finite() && cfg.detail_weight >= 0.0) {
            return Err(Error::config(
                "detail_weight",
                "must be a finite number >= 0",
            ));
        }
        cfg.detail_loss.validate()?;
        Ok(cfg)
    }
}
