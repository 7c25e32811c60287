//! Errors of the classifier.
//!
//! Configuration errors (a zero batch size, an unknown class: fix the config or the flags) are
//! kept apart from errors met while processing data or files (fix the input).

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in `auscult-classifier`.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is out of range.
    #[error("invalid classifier configuration: `{field}` {problem}")]
    Config {
        /// The offending field (as named in `config.json` / on the command line).
        field: &'static str,
        /// What is wrong with it and what is accepted.
        problem: String,
    },
    /// The data cannot be used for training or evaluation as given.
    #[error("{problem}")]
    Data {
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// Two sequences that must have the same length do not (for example labels and predictions).
    #[error("{what}: expected {expected} items, got {actual}")]
    Length {
        /// What was being compared.
        what: &'static str,
        /// The expected length.
        expected: usize,
        /// The length found.
        actual: usize,
    },
    /// A label index is not a class of the model.
    #[error("label {label} is out of range: the model has {n_classes} classes")]
    Label {
        /// The label index.
        label: usize,
        /// Number of classes.
        n_classes: usize,
    },
    /// A feature matrix has another shape than the model was trained on.
    #[error(
        "{what}: features are {actual_bins} Mel bins x {actual_frames} frames, the model expects \
         {expected_bins} x {expected_frames}"
    )]
    Shape {
        /// Where the features came from.
        what: String,
        /// Expected Mel bins.
        expected_bins: usize,
        /// Expected frames.
        expected_frames: usize,
        /// Mel bins found.
        actual_bins: usize,
        /// Frames found.
        actual_frames: usize,
    },
    /// A generated corpus was made with another audio front end than this classifier uses.
    #[error(
        "{path}: the corpus was made with a different {field} than this classifier uses; \
         corpus: {corpus}; classifier: {classifier}. Regenerate the corpus with the classifier's \
         front end, or train the classifier with the corpus's front end (--config)"
    )]
    FrontEndMismatch {
        /// The corpus directory.
        path: PathBuf,
        /// `mel` or `examples`.
        field: &'static str,
        /// The corpus's setting (JSON).
        corpus: String,
        /// The classifier's setting (JSON).
        classifier: String,
    },
    /// A class named by a corpus or by the user is not one of the model's classes.
    #[error("class `{class}` is not one of the model's classes ({known})")]
    UnknownClass {
        /// The class name.
        class: String,
        /// The model's classes, comma-separated.
        known: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A run directory's JSON file could not be parsed.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// The run directory, checkpoint or device machinery failed.
    #[error(transparent)]
    Experiment(#[from] auscult_experiment::Error),
    /// The audio front end failed (decoding, resampling, Mel).
    #[error(transparent)]
    Audio(#[from] auscult_audio::Error),
    /// Reading a dataset or corpus failed.
    #[error(transparent)]
    Datasets(#[from] auscult_datasets::Error),
    /// A figure could not be drawn.
    #[error("{path}: figure could not be written: {reason}")]
    Plot {
        /// The PNG file.
        path: PathBuf,
        /// What the plotting crate reported.
        reason: String,
    },
}

impl Error {
    /// The index of `class` in `classes`, or [`Error::UnknownClass`] naming the known ones.
    pub(crate) fn class_index(classes: &[String], class: &str) -> Result<usize> {
        classes
            .iter()
            .position(|k| k == class)
            .ok_or_else(|| Self::UnknownClass {
                class: class.to_string(),
                known: classes.join(", "),
            })
    }

    /// A configuration error for `field`.
    pub(crate) fn config(field: &'static str, problem: impl Into<String>) -> Self {
        Self::Config {
            field,
            problem: problem.into(),
        }
    }

    /// A data error.
    pub(crate) fn data(problem: impl Into<String>) -> Self {
        Self::Data {
            problem: problem.into(),
        }
    }
}
