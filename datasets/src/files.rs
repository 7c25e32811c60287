//! File-system access shared by the readers and writers: sorted folder listings, text reading,
//! atomic writes and audio header probing (through `auscult-audio`).

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

/// Format facts read from an audio file's header, without decoding the samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WavHeader {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Number of interleaved channels.
    pub channels: u16,
    /// Bits per sample (16, 24, 32...), when the codec has one.
    pub bits_per_sample: Option<u32>,
    /// Number of frames (samples per channel); 0 for a header-only file.
    pub frames: u64,
}

impl WavHeader {
    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        if self.sample_rate == 0 {
            0.0
        } else {
            self.frames as f64 / f64::from(self.sample_rate)
        }
    }
}

/// Reads the header of an audio file with [`auscult_audio::read_header`].
///
/// PCM and float WAV headers are read directly, without the samples; anything else is
/// decoded in full by `auscult-audio` before giving up. A header-only WAV gives 0 frames.
///
/// # Errors
/// [`Error::Io`] when the file cannot be opened or read; [`Error::Wav`] (naming the file and
/// what is wrong with it) when it is not a readable audio file.
pub fn read_wav_header(path: &Path) -> Result<WavHeader> {
    match auscult_audio::read_header(path) {
        Ok(info) => Ok(WavHeader {
            sample_rate: info.sample_rate,
            channels: info.channels,
            bits_per_sample: info.bits_per_sample,
            frames: info.frames,
        }),
        Err(auscult_audio::Error::Io { source, .. }) => Err(Error::io(path, source)),
        Err(source) => Err(Error::Wav {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Reads a text file, accepting LF and CRLF line ends and replacing invalid UTF-8.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The entries of a folder, sorted by name so that every listing is deterministic.
pub(crate) fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        out.push(entry.path());
    }
    out.sort();
    Ok(out)
}

/// Sorted sub-folders of `dir` (hidden ones skipped).
pub(crate) fn sorted_subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(sorted_entries(dir)?
        .into_iter()
        .filter(|p| p.is_dir() && !is_hidden(p))
        .collect())
}

/// Whether the file has the extension `ext` (case-insensitive).
pub(crate) fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

pub(crate) fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

/// Sorted `.wav` files directly inside `dir` (hidden ones skipped).
pub(crate) fn wav_files(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(sorted_entries(dir)?
        .into_iter()
        .filter(|p| p.is_file() && has_extension(p, "wav") && !is_hidden(p))
        .collect())
}

/// The file-name stem as UTF-8 (lossy).
pub(crate) fn stem_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Writes `bytes` to a temporary sibling of `path`, flushed, then renamed over `path`
/// ([`auscult_audio::write_atomic`]).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    auscult_audio::write_atomic(path, bytes).map_err(|e| Error::audio(path, e))
}

/// Creates `dir` and its parents.
pub(crate) fn create_dir_all(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(sorted_entries(dir.path()).unwrap(), vec![p]);
    }

    #[test]
    fn header_of_a_non_wav_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fake.wav");
        fs::write(&p, b"this is not audio at all, just text").unwrap();
        let err = read_wav_header(&p).unwrap_err().to_string();
        assert!(err.contains("fake.wav"), "{err}");
        assert!(err.contains("not a readable WAV"), "{err}");
    }
}
