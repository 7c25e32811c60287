//! Errors of the training machinery.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// What can go wrong while managing runs, checkpoints and logs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A JSON file could not be parsed or written.
    #[error("{path}: invalid JSON: {source}")]
    Json {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// A run directory already holds a run and neither resume nor overwrite was asked for.
    #[error(
        "{path} already holds a run (it has {marker}); pass --resume to continue it or choose another --out"
    )]
    RunExists {
        /// The run directory.
        path: PathBuf,
        /// The file that marks it as a run.
        marker: String,
    },
    /// A run was resumed on data other than the data it was trained on.
    #[error(
        "{path}: the data differs from what this run was trained on ({recorded_files} files, fingerprint {recorded}; now {now_files} files, fingerprint {now}); resume with the original data, start a new run, or allow the change explicitly (`--allow-data-change`)"
    )]
    DataChanged {
        /// The run directory.
        path: PathBuf,
        /// Files fingerprinted when the run began.
        recorded_files: usize,
        /// The start of the recorded fingerprint.
        recorded: String,
        /// Files fingerprinted now.
        now_files: usize,
        /// The start of the fingerprint now.
        now: String,
    },
    /// `--resume` was given but the directory holds no run to resume.
    #[error("{path} holds no run to resume (expected {expected}); start a new run there instead")]
    NothingToResume {
        /// The run directory.
        path: PathBuf,
        /// The file that was looked for.
        expected: String,
    },
    /// A model or optimiser checkpoint could not be saved or loaded (for example it was written
    /// by a model of another shape).
    #[error("{path}: checkpoint could not be {action}: {reason}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// "saved" or "loaded".
        action: &'static str,
        /// What burn reported.
        reason: String,
    },
    /// A file of the committed checkpoint does not have the content its manifest recorded.
    #[error(
        "{path}: checkpoint file is damaged (its SHA-256 is {actual}, {manifest} records {expected}); the run cannot be resumed from it: start it again in a new directory"
    )]
    CheckpointDamaged {
        /// The damaged file.
        path: PathBuf,
        /// The manifest that records its hash.
        manifest: PathBuf,
        /// Hash recorded in the manifest (hex SHA-256).
        expected: String,
        /// Hash of the file as found.
        actual: String,
    },
    /// A checkpoint manifest, or a file name given to a checkpoint, is not valid.
    #[error("{path}: invalid checkpoint: {reason}")]
    CheckpointManifest {
        /// The manifest or file concerned.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The requested device cannot be used by this build.
    #[error("device `{requested}` is not available: {reason}")]
    Device {
        /// The device the user asked for.
        requested: String,
        /// Why it cannot be used.
        reason: String,
    },
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
