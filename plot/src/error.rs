//! The error type of auscult-plot.

use std::path::PathBuf;

/// Everything that can go wrong while drawing a figure.
///
/// Input problems (wrong shapes, empty input, bad options) are reported before anything is
/// written; I/O problems name the file.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The output path does not end in `.png`.
    #[error("output path {path:?} must end in .png (figures are written as PNG)")]
    NotPng {
        /// The path that was given.
        path: PathBuf,
    },

    /// A spectrogram's data length does not match `n_bins * n_frames`.
    #[error(
        "{what} has {actual} values but n_bins x n_frames = {n_bins} x {n_frames} = {expected}; \
         pass the data row-major as [n_bins][n_frames]"
    )]
    DataShape {
        /// Which input ("spectrogram data", "tile 3 (\"wheeze\")").
        what: String,
        /// Number of bins (rows) claimed.
        n_bins: usize,
        /// Number of frames (columns) claimed.
        n_frames: usize,
        /// `n_bins * n_frames` (saturating).
        expected: usize,
        /// `data.len()`.
        actual: usize,
    },

    /// There is nothing to draw.
    #[error("nothing to plot: {what} is empty; {hint}")]
    Empty {
        /// Which input is empty.
        what: &'static str,
        /// How to fix it.
        hint: &'static str,
    },

    /// An option is out of its valid range.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidOption {
        /// The option's name, as in the API.
        name: &'static str,
        /// The value that was given, formatted.
        value: String,
        /// What a valid value looks like.
        reason: &'static str,
    },

    /// The confusion matrix has a different number of rows than there are classes.
    #[error(
        "confusion matrix has {actual} rows but there are {expected} classes; pass an n x n \
         matrix with rows = true class, columns = predicted class"
    )]
    MatrixRows {
        /// Number of classes.
        expected: usize,
        /// Number of rows given.
        actual: usize,
    },

    /// A row of the confusion matrix has the wrong length.
    #[error(
        "confusion matrix row {row} has {actual} entries but there are {expected} classes; \
         pass an n x n matrix with rows = true class, columns = predicted class"
    )]
    MatrixRow {
        /// Index of the row (true class).
        row: usize,
        /// Number of classes.
        expected: usize,
        /// Length of that row.
        actual: usize,
    },

    /// The requested figure would be unreasonably large.
    #[error(
        "figure would be {width} x {height} px, over the limit of {max} px per side; \
         plot fewer items or use more columns"
    )]
    TooLarge {
        /// Width in pixels.
        width: u64,
        /// Height in pixels.
        height: u64,
        /// Largest allowed side in pixels.
        max: u32,
    },

    /// The embedded font could not be registered with plotters.
    #[error("the embedded DejaVuSans font could not be loaded by plotters (ab_glyph)")]
    Font,

    /// plotters failed while drawing.
    #[error("drawing {path:?} failed: {message}")]
    Draw {
        /// The figure being drawn.
        path: PathBuf,
        /// plotters' description of the failure.
        message: String,
    },

    /// Creating or writing the file failed.
    #[error("cannot write {path:?}: {source}; check that the folder exists and is writable")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// PNG encoding failed.
    #[error("cannot encode PNG {path:?}: {source}")]
    Encode {
        /// The output file.
        path: PathBuf,
        /// The underlying error.
        source: png::EncodingError,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
