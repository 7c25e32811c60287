//! Errors of the study library.
//!
//! A wrong arm name is the user's to fix (on the command line); drawing a figure can fail on
//! the file system or on the evaluation's shapes, and the error names the file.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in `auscult-study`.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A name or letter is not one of the study's arms.
    #[error(
        "unknown arm `{name}`: expected a-e or plain, mixup-supcon, augmented, oversample, gated"
    )]
    UnknownArm {
        /// The name given (trimmed and lower-cased).
        name: String,
    },
    /// A folder of the study's output could not be created.
    #[error("cannot create {path}: {source}")]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A figure could not be drawn.
    #[error("{path}: figure could not be drawn: {source}")]
    Figure {
        /// The PNG file.
        path: PathBuf,
        /// What the plotting crate reported.
        #[source]
        source: auscult_plot::Error,
    },
    /// Two arms' predictions cannot be paired (different test items, or lengths).
    #[error("paired comparison: {0}")]
    Mismatch(String),
    /// Fold studies that cannot be pooled (not folds of one cross-validation, a fold twice,
    /// overlapping or different items, an arm missing).
    #[error("pooling folds: {0}")]
    Pool(String),
}
