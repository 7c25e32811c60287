//! Glue shared by the fuzz targets: a scratch folder per process for the path-based readers.
//!
//! The target bodies themselves live in `auscult_audio::fuzz` and `auscult_datasets::fuzz`,
//! where the regression tests (`audio/tests/fuzz_regressions.rs`,
//! `datasets/tests/fuzz_regressions.rs`) replay the saved crashers through the same code.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// `auscult-fuzz-<target>-<pid>` under `/dev/shm` (memory-backed) when it exists, else under
/// the system's temporary folder; created on first use and reused by every iteration.
///
/// # Panics
/// When the folder cannot be created: the fuzzer cannot run without it.
pub fn scratch_dir(target: &str) -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("auscult-fuzz-{target}-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create the scratch folder {}: {e}", dir.display()));
        dir
    })
}
