//! The prior's training configuration (saved, resolved, as the prior directory's
//! `config.json`).

use std::path::PathBuf;

use auscult_experiment::{DeviceChoice, LrSchedule};
use serde::{Deserialize, Serialize};

use crate::prior::network::PriorConfig;

/// Folder inside a prior directory that holds its VQ-VAE.
pub const VQVAE_DIR: &str = "vqvae";

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
    /// `plan::cycle`): the cycle as cut plus `placements - 1` copies moved to seeded random
    /// positions within its silence, each encoded; every epoch trains on one of them per
    /// cycle. The same cycle lands on the 8-frame code grid differently, so the prior sees
    /// other code sequences of the same sound instead of memorising a few hundred. 1: only
    /// the cycle as cut. Ignored for repeat-padded examples.
    pub placements: usize,
    /// Tell the prior where each cycle lies on the code grid (its *plan*, see
    /// `plan_tokens`); generation then draws a cycle length from the class's
    /// training cycles and places it. Default true; needs a VQ-VAE trained on zero-padded
    /// cycles (otherwise off).
    pub plan: bool,
    /// Fold each cycle's tone track into its plan (see `plan::tone`): the prior is told in
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
