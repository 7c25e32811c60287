//! Run directories: one per training run, holding `config.json`, `provenance.json`,
//! `metrics.jsonl`, the checkpoint (`model.bpk`, `optimizer.bpk`, `state.json`) and figures.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, Result, TrainingState, read_json, write_json_atomic};

/// Name of the file whose presence marks a complete checkpoint.
pub const STATE_FILE: &str = "state.json";

/// A run's artifact directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Creates the directory for a new run, or opens it to resume one.
    ///
    /// A new run refuses a directory that already holds a run (a `config.json`), so results
    /// are never silently overwritten; `resume` requires a complete checkpoint there.
    pub fn create(path: impl AsRef<Path>, resume: bool) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if resume {
            if !path.join(STATE_FILE).exists() {
                return Err(Error::NothingToResume {
                    path,
                    expected: STATE_FILE.to_string(),
                });
            }
        } else if path.join("config.json").exists() {
            return Err(Error::RunExists {
                path,
                marker: "config.json".to_string(),
            });
        }
        std::fs::create_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        Ok(Self { path })
    }

    /// Opens an existing, finished or unfinished, run for reading (evaluation, inference).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if !path.join("config.json").exists() {
            return Err(Error::io(
                path.join("config.json"),
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "not a run directory (no config.json)",
                ),
            ));
        }
        Ok(Self { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A file inside the run directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `value` as `name` (pretty JSON) atomically.
    pub fn save_json<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<()> {
        write_json_atomic(self.file(name), value)
    }

    /// Reads `name` (JSON).
    pub fn load_json<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        read_json(self.file(name))
    }

    /// The saved training state, if a checkpoint exists.
    pub fn state(&self) -> Result<Option<TrainingState>> {
        let p = self.file(STATE_FILE);
        if p.exists() {
            Ok(Some(read_json(&p)?))
        } else {
            Ok(None)
        }
    }

    /// Saves the training state (call after the model and optimiser files are saved).
    pub fn save_state(&self, state: &TrainingState) -> Result<()> {
        self.save_json(STATE_FILE, state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_existing_run_and_requires_checkpoint_to_resume() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("run");
        assert!(matches!(
            RunDir::create(&p, true),
            Err(Error::NothingToResume { .. })
        ));
        let run = RunDir::create(&p, false).unwrap();
        run.save_json("config.json", &serde_json::json!({"x": 1}))
            .unwrap();
        let err = RunDir::create(&p, false).unwrap_err();
        assert!(err.to_string().contains("--resume"), "{err}");
        run.save_state(&TrainingState {
            epoch: 2,
            ..Default::default()
        })
        .unwrap();
        let resumed = RunDir::create(&p, true).unwrap();
        assert_eq!(resumed.state().unwrap().unwrap().epoch, 2);
    }
}
