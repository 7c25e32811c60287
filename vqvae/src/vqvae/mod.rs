//! The VQ-VAE: its network, quantiser and class prototypes, its training configuration, one
//! optimisation step, the training run with its report, and the trained model loaded from a
//! run directory.

pub(crate) mod config;
pub(crate) mod model;
pub(crate) mod network;
pub(crate) mod prototypes;
pub(crate) mod quantizer;
pub(crate) mod report;
pub(crate) mod step;
pub(crate) mod training;
