//! The error type of `auscult-datasets`.
//!
//! Construction errors (a bad configuration value) are kept apart from processing errors (a
//! damaged file, a missing column). Every variant that concerns a file names it.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong while reading, inspecting or writing a dataset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range.
    #[error("invalid setting `{field}`: {reason}")]
    InvalidConfig {
        /// The setting, as named in the config or on the command line.
        field: &'static str,
        /// What is wrong and which values are accepted.
        reason: String,
    },
    /// Reading or writing a file or folder failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// The audio front end could not decode, resample or write a file (its message names
    /// the file).
    #[error("{source}")]
    Audio {
        /// The audio (or `.npy`) file.
        path: PathBuf,
        /// The error reported by `auscult-audio`.
        source: auscult_audio::Error,
    },
    /// An audio file's header could not be read ([`auscult_audio::read_header`]).
    #[error("not a readable WAV file: {source}; re-encode it as PCM WAV or remove it")]
    Wav {
        /// The file.
        path: PathBuf,
        /// What `auscult-audio` found wrong (its message names the file).
        source: auscult_audio::Error,
    },
    /// The folder is not a dataset of any format auscult reads.
    #[error("{} is not a dataset auscult can read: {expected}", path.display())]
    NotADataset {
        /// The folder given by the user.
        path: PathBuf,
        /// What was looked for.
        expected: String,
    },
    /// An unknown format name was given.
    #[error("unknown dataset format `{name}`: expected one of icbhi, coswara, folder, corpus")]
    UnknownFormat {
        /// The name given.
        name: String,
    },
    /// An ICBHI file name does not follow `Patient_Index_Location_Mode_Device`.
    #[error(
        "`{name}` is not an ICBHI 2017 recording name ({reason}); expected \
         Patient_RecordingIndex_ChestLocation_AcquisitionMode_Device, e.g. 104_1b1_Al_sc_Litt3200"
    )]
    RecordingName {
        /// The file stem.
        name: String,
        /// Which field is wrong.
        reason: String,
    },
    /// A line of an ICBHI cycle annotation file is malformed.
    #[error(
        "{} line {line}: {reason}; expected `start end crackles wheezes` \
         (seconds, seconds, 0/1, 0/1) separated by tabs",
        path.display()
    )]
    Annotation {
        /// The annotation file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        reason: String,
    },
    /// A line of a metadata file (split, diagnosis, demographics) is malformed.
    #[error("{} line {line}: {reason}", path.display())]
    Metadata {
        /// The metadata file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong and what was expected.
        reason: String,
    },
    /// A CSV file could not be parsed.
    #[error("{}: malformed CSV ({source})", path.display())]
    Csv {
        /// The CSV file.
        path: PathBuf,
        /// The CSV reader's error (it names the record and line).
        source: csv::Error,
    },
    /// A CSV file lacks a column auscult needs.
    #[error("{}: missing column `{column}` in the header (found: {found})", path.display())]
    MissingColumn {
        /// The CSV file.
        path: PathBuf,
        /// The column that is needed.
        column: String,
        /// The columns that are present, comma separated.
        found: String,
    },
    /// A JSON file could not be parsed or written.
    #[error("{}: {source}", path.display())]
    Json {
        /// The JSON file.
        path: PathBuf,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// The requested split needs a metadata file that the dataset does not have.
    #[error("{reason}")]
    SplitUnavailable {
        /// What is missing and how to proceed.
        reason: String,
    },
    /// Loading produced no example at all.
    #[error("{}: no usable examples ({reason})", path.display())]
    NoExamples {
        /// The dataset root.
        path: PathBuf,
        /// Why nothing was usable (the first problems found).
        reason: String,
    },
    /// A generated corpus is inconsistent (bad manifest, missing or misshapen `.npy`).
    #[error("{}: {reason}", path.display())]
    Corpus {
        /// The corpus folder or file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A generated corpus was written by a newer or older schema.
    #[error(
        "{}: corpus schema version {found} is not supported (this auscult reads version {supported}); \
         regenerate the corpus with this auscult",
        path.display()
    )]
    SchemaVersion {
        /// The manifest file.
        path: PathBuf,
        /// The version found in the manifest.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The output folder of the synthetic generator already holds files.
    #[error("{} is not empty; choose a new folder (or allow overwriting)", path.display())]
    OutputNotEmpty {
        /// The output folder.
        path: PathBuf,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn audio(path: impl Into<PathBuf>, source: auscult_audio::Error) -> Self {
        Self::Audio {
            path: path.into(),
            source,
        }
    }
}
