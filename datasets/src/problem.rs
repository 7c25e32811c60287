//! Problems found in a dataset that do not stop it from being used.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One problem found while reading a dataset: the file concerned and what is wrong with it.
///
/// Problems are reported, never fatal: a header-only WAV, a recording without annotations or
/// a name that differs between the split file and the audio leave the rest usable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The file (or folder) concerned.
    pub path: PathBuf,
    /// What is wrong, in words, and what auscult did about it.
    pub problem: String,
}

impl Problem {
    /// A problem with `path`.
    pub fn new(path: impl AsRef<Path>, problem: impl Into<String>) -> Self {
        Self {
            path: path.as_ref().to_path_buf(),
            problem: problem.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}
