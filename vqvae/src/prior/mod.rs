//! The prior: a Transformer over the VQ-VAE's codes, sampling from it, its training
//! configuration, one optimisation step, the training run, the reference statistics kept for
//! generation's quality report, and the trained prior loaded for sampling.

pub(crate) mod config;
pub(crate) mod model;
pub(crate) mod network;
pub(crate) mod placement;
pub(crate) mod reference;
pub(crate) mod sampling;
pub(crate) mod step;
pub(crate) mod training;
