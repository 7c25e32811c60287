//! Run directories: one per training run, holding `config.json`, `provenance.json`,
//! `metrics.jsonl`, the committed [`Checkpoint`] (`checkpoint.json` and the directory it names),
//! the published weights and figures.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::checkpoint::{legacy_checkpoint, read_checkpoint, remove_stale};
use crate::{Checkpoint, CheckpointWriter, Error, Result, Start, read_json, write_json_atomic};

/// Where runs of the older layout kept their training state (at the top of the run directory,
/// beside `model.bpk` and `optimizer.bpk`); still read, so that such runs can be resumed.
pub(crate) const LEGACY_STATE_FILE: &str = "state.json";

/// The file whose presence marks a directory as holding a run.
const CONFIG_FILE: &str = "config.json";

/// A run's artifact directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Creates the directory for a new run, or opens it to resume one.
    ///
    /// A new run refuses a directory that already holds a run (a `config.json`), so results
    /// are never silently overwritten; `resume` requires one (its checkpoint, if any, is read
    /// by [`resume_point`](Self::resume_point)).
    pub fn create(path: impl AsRef<Path>, resume: bool) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if resume {
            if !path.join(CONFIG_FILE).exists() {
                return Err(Error::NothingToResume {
                    path,
                    expected: CONFIG_FILE.to_string(),
                });
            }
        } else if path.join(CONFIG_FILE).exists() {
            return Err(Error::RunExists {
                path,
                marker: CONFIG_FILE.to_string(),
            });
        }
        std::fs::create_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        Ok(Self { path })
    }

    /// Opens an existing, finished or unfinished, run for reading (evaluation, inference).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if !path.join(CONFIG_FILE).exists() {
            return Err(Error::io(
                path.join(CONFIG_FILE),
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

    /// The committed checkpoint, its files verified against the manifest, if there is one.
    ///
    /// Checkpoint directories that the manifest does not name (saves interrupted before their
    /// commit) are removed. A run of the older layout (`state.json` at the top level, no
    /// manifest) gives its unverified top-level files. A damaged checkpoint (a file missing or
    /// whose hash differs) is an error naming the file, and nothing is removed.
    pub fn checkpoint(&self) -> Result<Option<Checkpoint>> {
        match read_checkpoint(&self.path)? {
            Some(c) => {
                remove_stale(&self.path, Some(&c.manifest().dir))?;
                Ok(Some(c))
            }
            None => {
                remove_stale(&self.path, None)?;
                legacy_checkpoint(&self.path)
            }
        }
    }

    /// Where a run starts: a new run ([`Start::New`]) when `resume` is false; otherwise its
    /// committed checkpoint ([`Start::Resumed`]), or, when it was stopped before its first
    /// checkpoint was committed, the first epoch again ([`Start::Restarted`]).
    pub fn resume_point(&self, resume: bool) -> Result<(Start, Option<Checkpoint>)> {
        if !resume {
            return Ok((Start::New, None));
        }
        Ok(match self.checkpoint()? {
            Some(c) => (Start::Resumed { epoch: c.epoch() }, Some(c)),
            None => (Start::Restarted, None),
        })
    }

    /// Starts writing the checkpoint of `epoch` (nothing of it counts until it is committed).
    pub fn begin_checkpoint(&self, epoch: usize) -> Result<CheckpointWriter> {
        CheckpointWriter::begin(&self.path, epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TrainingState;

    #[test]
    fn refuses_existing_run_and_requires_a_run_to_resume() {
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
        // Stopped before its first checkpoint: resuming starts again.
        let resumed = RunDir::create(&p, true).unwrap();
        assert!(matches!(
            resumed.resume_point(true),
            Ok((Start::Restarted, None))
        ));
        let mut w = resumed.begin_checkpoint(2).unwrap();
        w.save_json("extra.json", &[1, 2]).unwrap();
        w.commit(&TrainingState {
            epoch: 2,
            ..Default::default()
        })
        .unwrap();
        let (start, c) = RunDir::create(&p, true)
            .unwrap()
            .resume_point(true)
            .unwrap();
        assert_eq!(start, Start::Resumed { epoch: 2 });
        assert_eq!(c.unwrap().state().epoch, 2);
        assert_eq!(run.resume_point(false).unwrap().0, Start::New);
    }
}
