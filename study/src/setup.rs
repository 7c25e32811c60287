//! How a study is run: its sizes and how the generated corpus is made, mixed in and gated.
//! The report states these above its results.

use std::path::PathBuf;

use serde::Serialize;

/// Sizes of one study.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// Patients of the synthetic corpus (unused with the user's data).
    pub patients: usize,
    /// Classifier epochs per arm.
    pub classifier_epochs: usize,
    /// VQ-VAE epochs.
    pub vqvae_epochs: usize,
    /// Prior epochs.
    pub prior_epochs: usize,
}

impl Budget {
    /// A full study: 40 synthetic patients, 20 classifier epochs per arm, 20 VQ-VAE epochs, 30
    /// prior epochs.
    pub const FULL: Budget = Budget {
        patients: 40,
        classifier_epochs: 20,
        vqvae_epochs: 20,
        prior_epochs: 30,
    };

    /// `--quick`: tiny sizes everywhere, a smoke test of every step rather than a measurement
    /// (12 synthetic patients, 3 epochs of each model).
    pub const QUICK: Budget = Budget {
        patients: 12,
        classifier_epochs: 3,
        vqvae_epochs: 3,
        prior_epochs: 3,
    };
}

/// How the generated corpus is sampled, how much of it enters training, and arm (e)'s gate.
#[derive(Debug, Clone, PartialEq)]
pub struct Augmentation {
    /// Sampling temperature of the prior.
    pub temperature: f32,
    /// Top-k sampling of the prior (0: off).
    pub top_k: usize,
    /// Nucleus (top-p) sampling of the prior (`None`: off).
    pub top_p: Option<f32>,
    /// Classifier-free guidance scale (`None`: off).
    pub guidance: Option<f32>,
    /// Whether the decoder's smooth means are generated, without the fitted texture.
    pub no_texture: bool,
    /// Whether each class's mean spectral envelope is matched to its real training cycles'.
    pub match_envelope: bool,
    /// Each minority class is generated up to this many examples (`None`: the majority
    /// class's count).
    pub target: Option<usize>,
    /// Share of the generated corpus that enters training in arms (c) and (e) (`None`: all).
    pub augment_ratio: Option<f32>,
    /// The earlier study whose VQ-VAE and prior are reused, if any.
    pub generator_from: Option<PathBuf>,
    /// Arm (e)'s gate: the probability of its conditioned class a sample needs, in [0, 1].
    pub gate_threshold: f32,
    /// Whether the threshold is relative to the median probability of the class's real
    /// validation cycles.
    pub gate_relative: bool,
}

/// What the report says about how the study was run.
#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    /// The report's title (its first heading).
    pub title: String,
    /// The training device (`cpu`, `gpu`).
    pub device: String,
    /// The sizes.
    pub budget: Budget,
    /// Generation, mixing and gating.
    pub augmentation: Augmentation,
}
