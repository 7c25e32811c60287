//! Errors of the VQ-VAE, its prior and generation.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// What can go wrong while configuring, training or sampling the VQ-VAE and its prior.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range or inconsistent with another.
    #[error("invalid configuration: `{field}` {reason}")]
    Config {
        /// The offending field (as spelled in `config.json`).
        field: &'static str,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A class name that the model was not trained on.
    #[error("unknown class `{class}`; valid classes are: {}", valid.join(", "))]
    UnknownClass {
        /// The name asked for.
        class: String,
        /// The classes the model knows.
        valid: Vec<String>,
    },
    /// The data cannot train or evaluate the model.
    #[error("not enough data: {reason}")]
    NoData {
        /// What is missing and how to fix it.
        reason: String,
    },
    /// A feature matrix or code grid has the wrong shape.
    #[error("{what}: expected shape {expected:?}, got {actual:?}")]
    Shape {
        /// What was being checked.
        what: &'static str,
        /// The expected shape.
        expected: Vec<usize>,
        /// The shape found.
        actual: Vec<usize>,
    },
    /// A run directory was made by another model or another front end.
    #[error("{path}: {reason}")]
    Incompatible {
        /// The file or directory concerned.
        path: PathBuf,
        /// What does not match and what to do.
        reason: String,
    },
    /// Training produced a non-finite loss (learning rate too high?).
    #[error(
        "training diverged at epoch {epoch}, step {step}: loss is {loss}; lower the learning rate (`lr`)"
    )]
    Diverged {
        /// Epoch (1-based).
        epoch: usize,
        /// Optimiser step.
        step: usize,
        /// The loss value seen.
        loss: f64,
    },
    /// A tensor could not be read back from the device.
    #[error("could not read a tensor back from the device: {reason}")]
    Tensor {
        /// What burn reported.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Run directories, checkpoints, metrics.
    #[error(transparent)]
    Experiment(#[from] auscult_experiment::Error),
    /// Audio front end (log-Mel, Griffin-Lim, WAV/NPY writing).
    #[error(transparent)]
    Audio(#[from] auscult_audio::Error),
    /// Dataset loading and corpus writing.
    #[error(transparent)]
    Datasets(#[from] auscult_datasets::Error),
    /// Figures.
    #[error(transparent)]
    Plot(#[from] auscult_plot::Error),
}

impl Error {
    /// A [`Error::Config`] for `field`.
    pub(crate) fn config(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Config {
            field,
            reason: reason.into(),
        }
    }

    /// Wraps a tensor read-back failure.
    pub(crate) fn tensor(err: impl std::fmt::Display) -> Self {
        Self::Tensor {
            reason: err.to_string(),
        }
    }

    /// Wraps an I/O error with its path.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
