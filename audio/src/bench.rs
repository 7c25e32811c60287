//! Entry points for the benchmarks in `benches/audio.rs` that compare the two WAV decoders:
//! the fast PCM/float path that [`decode_file`](crate::decode_file) takes for plain WAV files,
//! and Symphonia, which it falls back to. Each reads the whole file from disk, as
//! `decode_file` does.
//!
//! Not part of the stable API.

use std::path::Path;

use crate::decode::decode_with_symphonia;
use crate::decoded::Decoded;
use crate::error::{Error, Result};
use crate::wav_fast::decode_wav;

/// Decodes a PCM or float WAV file with the fast path only.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read, [`Error::UnsupportedFormat`] when the fast path
/// does not take the file, and the fast path's own errors.
pub fn decode_wav_fast(path: &Path) -> Result<Decoded> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode_wav(path, &bytes).unwrap_or_else(|| {
        Err(Error::UnsupportedFormat {
            path: path.to_path_buf(),
            reason: "not a plain PCM or float WAV file (the fast path does not take it)".into(),
        })
    })
}

/// Decodes any supported file with Symphonia, bypassing the fast WAV path.
///
/// # Errors
/// As [`decode_file`](crate::decode_file).
pub fn decode_symphonia(path: &Path) -> Result<Decoded> {
    decode_with_symphonia(path)
}
