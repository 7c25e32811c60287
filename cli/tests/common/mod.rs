//! Helpers shared by the CLI tests: the binary, the real fixtures, a tiny synthetic corpus.
#![allow(clippy::unwrap_used, dead_code)] // not every test file uses every helper

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The `auscult` binary under test.
pub fn auscult() -> Command {
    Command::cargo_bin("auscult").unwrap()
}

/// The repository's `testdata/fixtures/real` (or `$AUSCULT_FIXTURES`), failing plainly when it
/// is missing.
pub fn fixtures() -> PathBuf {
    let dir = std::env::var_os("AUSCULT_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/fixtures/real"));
    assert!(
        dir.is_dir(),
        "the real fixtures are missing: looked in {} (they ship in the repository's \
         `testdata/fixtures/real`; set AUSCULT_FIXTURES to use another copy)",
        dir.display()
    );
    dir
}

/// Writes a `--quick` synthetic ICBHI corpus of `patients` patients into `out`.
pub fn synth_icbhi(out: &Path, patients: usize, seed: u64) {
    auscult()
        .args(["synth", "icbhi", "--quick", "--patients"])
        .arg(patients.to_string())
        .arg("--seed")
        .arg(seed.to_string())
        .arg("--out")
        .arg(out)
        .assert()
        .success();
}
