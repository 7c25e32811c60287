//! Errors of the audio front end.
//!
//! As rubato does, construction errors (a bad `n_fft`, a zero sample rate: fix the
//! configuration) are kept apart from processing errors (an unreadable file: fix the input).

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in `auscult-audio`.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened, read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// No decoder recognises the file's content (neither by its bytes nor by its extension).
    #[error(
        "{path}: unsupported or unrecognised audio format ({reason}); \
         convert it to WAV, FLAC, MP3 or Ogg Vorbis"
    )]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// What the demuxer or decoder said.
        reason: String,
    },
    /// The container is damaged so badly that no audio could be read from it.
    #[error("{path}: damaged audio file ({reason})")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A header field is impossible or out of the supported range (checked before any
    /// decoder sees the file).
    #[error("{path}: invalid audio header: {field} = {value} ({reason})")]
    InvalidHeader {
        /// The file.
        path: PathBuf,
        /// The header field, for example `sample rate` or `channels`.
        field: &'static str,
        /// The declared value.
        value: String,
        /// What a valid value looks like.
        reason: String,
    },
    /// The file decodes but holds no audio samples (for example a header-only WAV).
    #[error(
        "{path}: no audio samples (the file has a header but zero frames); remove or replace it"
    )]
    NoAudioSamples {
        /// The file.
        path: PathBuf,
    },
    /// A sample rate of zero, or a rate pair the resampler cannot handle.
    #[error("invalid sample rate {sample_rate} Hz: {reason}")]
    InvalidSampleRate {
        /// The offending rate in Hz.
        sample_rate: u32,
        /// Why it is invalid.
        reason: String,
    },
    /// A [`crate::MelConfig`] field is out of range.
    #[error("invalid Mel configuration: {field} = {value}: {reason}")]
    InvalidConfig {
        /// The field's name, as in the JSON config and close to the CLI flag.
        field: &'static str,
        /// The offending value, formatted.
        value: String,
        /// What a valid value looks like.
        reason: String,
    },
    /// The resampler failed while processing.
    #[error("resampling {from_hz} Hz -> {to_hz} Hz failed: {reason}")]
    Resample {
        /// Input rate in Hz.
        from_hz: u32,
        /// Output rate in Hz.
        to_hz: u32,
        /// The resampler's message.
        reason: String,
    },
    /// A `.npy` file is malformed or of an unsupported kind.
    #[error("{path}: invalid .npy file: {reason}")]
    Npy {
        /// The file.
        path: PathBuf,
        /// What is wrong and what is supported.
        reason: String,
    },
    /// Array data and the shape it was given disagree.
    #[error("shape mismatch: {expected} values expected, {actual} given")]
    ShapeMismatch {
        /// Values the shape implies.
        expected: usize,
        /// Values present.
        actual: usize,
    },
    /// Writing a WAV file failed.
    #[error("cannot write WAV {path}: {reason}")]
    Wav {
        /// The file.
        path: PathBuf,
        /// hound's message.
        reason: String,
    },
    /// The operation is not available for this configuration.
    #[error("unsupported: {0}")]
    Unsupported(String),
}
