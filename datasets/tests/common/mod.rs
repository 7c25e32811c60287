//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// The repository's `testdata/fixtures/real` (or `$AUSCULT_FIXTURES`), failing plainly when
/// missing.
pub fn fixtures() -> PathBuf {
    let dir = std::env::var_os("AUSCULT_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/fixtures/real"));
    assert!(
        dir.is_dir(),
        "the real-data fixtures are missing: looked in {} (they ship in the repository's \
         `testdata/fixtures/real`; set AUSCULT_FIXTURES to use another copy)",
        dir.display()
    );
    dir
}

/// `icbhi-statistics.json`, next to the `real` fixtures folder.
pub fn icbhi_statistics() -> serde_json::Value {
    let path = fixtures().join("../icbhi-statistics.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the ICBHI statistics fixture is missing: looked for {} ({e}); it sits next to the \
             `real` fixtures folder",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("icbhi-statistics.json is valid JSON")
}

/// Copies a file, creating the destination's folder.
pub fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to)
        .unwrap_or_else(|e| panic!("copy {} -> {}: {e}", from.display(), to.display()));
}
