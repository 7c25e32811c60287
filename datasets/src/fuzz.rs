//! Entry points of the cargo-fuzz targets in the repository's `fuzz/` folder, shared with the
//! regression tests in `tests/fuzz_regressions.rs`, so that a crasher found by the fuzzer is
//! replayed by `cargo test` through exactly the code that found it.
//!
//! Each function takes the fuzzer's raw bytes (and, for the path-based readers, a scratch
//! folder to write them into) and runs one or more readers on them. Errors are expected and
//! returned; a panic is a bug.
//!
//! Not part of the stable API.

use std::path::Path;

use crate::corpus::{GeneratedCorpus, MANIFEST_FILE};
use crate::coswara::read_combined_csv;
use crate::error::{Error, Result};
use crate::icbhi::{
    RecordingName, parse_annotations, parse_demographics, parse_diagnosis, parse_official_split,
};

/// The path the text parsers of [`icbhi_text`] are told they read (it only appears in errors).
pub const TEXT_PATH: &str = "fuzz-input.txt";

/// The `.npy` files [`corpus_manifest`] puts beside the manifest, so that a fuzzed manifest
/// can list files that exist: a valid `[2, 3]` array, a valid 1-D array (the wrong rank for
/// a spectrogram), an empty `[0, 4]` array and a file that is not `.npy` at all.
pub const CORPUS_FILES: [&str; 4] = [
    "000000_normal.npy",
    "000001_crackle.npy",
    "000002_wheeze.npy",
    "000003_both.npy",
];

fn write(path: &Path, data: &[u8]) -> Result<()> {
    std::fs::write(path, data).map_err(|e| Error::io(path, e))
}

/// The `icbhi_text` target: `data` (as lossy UTF-8) through each ICBHI metadata parser and
/// [`RecordingName::parse`]. Returns each parser's name with its outcome.
pub fn icbhi_text(data: &[u8]) -> Vec<(&'static str, Result<()>)> {
    let text = String::from_utf8_lossy(data);
    let path = Path::new(TEXT_PATH);
    vec![
        ("annotations", parse_annotations(&text, path).map(drop)),
        (
            "official split",
            parse_official_split(&text, path).map(drop),
        ),
        ("diagnosis", parse_diagnosis(&text, path).map(drop)),
        ("demographics", parse_demographics(&text, path).map(drop)),
        ("recording name", RecordingName::parse(&text).map(drop)),
    ]
}

/// The `coswara_csv` target: `data` as `dir/combined_data.csv` through
/// [`read_combined_csv`]. Returns the number of participants read.
///
/// # Errors
/// As [`read_combined_csv`]; [`Error::Io`] when the scratch file cannot be written.
pub fn coswara_csv(data: &[u8], dir: &Path) -> Result<usize> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join(crate::coswara::COMBINED_CSV);
    write(&path, data)?;
    read_combined_csv(&path).map(|rows| rows.len())
}

/// The `corpus_manifest` target: `data` as `dir/manifest.json` beside the [`CORPUS_FILES`]
/// (written on first use), through [`GeneratedCorpus::open`] and, when it opens,
/// [`GeneratedCorpus::load`]. Returns the number of spectrograms loaded.
///
/// # Errors
/// As [`GeneratedCorpus::open`] and [`GeneratedCorpus::load`]; [`Error::Io`] when the scratch
/// files cannot be written.
///
/// # Panics
/// When a loaded spectrogram's size disagrees with its shape.
pub fn corpus_manifest(data: &[u8], dir: &Path) -> Result<usize> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let [normal, crackle, wheeze, both] = CORPUS_FILES.map(|name| dir.join(name));
    if !both.is_file() {
        let audio = |path: &Path, data: &[f32], shape: &[usize]| {
            auscult_audio::write_npy_f32(path, data, shape).map_err(|e| Error::audio(path, e))
        };
        audio(&normal, &[0.0, -1.5, -3.0, -4.5, -6.0, -7.5], &[2, 3])?;
        audio(&crackle, &[1.0, 2.0, 3.0, 4.0], &[4])?;
        audio(&wheeze, &[], &[0, 4])?;
        write(&both, b"not an npy file")?;
    }
    write(&dir.join(MANIFEST_FILE), data)?;
    let corpus = GeneratedCorpus::open(dir)?;
    let loaded = corpus.load()?;
    for (_, spec) in &loaded {
        assert_eq!(
            spec.data.len(),
            spec.n_bins * spec.n_frames,
            "a loaded spectrogram disagrees with its shape"
        );
    }
    Ok(loaded.len())
}
