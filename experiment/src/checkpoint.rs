//! Checkpoints: everything a training loop needs to continue after an epoch (model and
//! optimiser burnpack files, any JSON state, and the loop's own [`TrainingState`]), saved as one
//! set that a run killed at any moment has either whole or not at all.
//!
//! # Layout and protocol
//!
//! A [`CheckpointWriter`] (from [`RunDir::begin_checkpoint`](crate::RunDir::begin_checkpoint))
//! writes each file of the set into a fresh directory `checkpoint.tmp-<pid>-<epoch>/` inside the
//! run directory and syncs it. [`CheckpointWriter::commit`] then renames that directory to
//! `checkpoint-<epoch>/` and writes the manifest `checkpoint.json` ([`CheckpointManifest`]: the
//! epoch, the directory, the SHA-256 of each file and the training state) under a temporary name
//! and renames it into place. That rename is the commit point. Only after it are the older
//! checkpoint directories removed.
//!
//! [`RunDir::checkpoint`](crate::RunDir::checkpoint) reads the manifest, verifies every file's
//! hash and loads only from the directory the manifest names. A temporary directory, or a
//! checkpoint directory the manifest does not name (a save interrupted before its commit), is
//! ignored and removed. A file whose hash does not match is an error naming the file.
//!
//! Files that users and inference read (the last or best weights) are copies published into the
//! run directory from a committed checkpoint with [`Checkpoint::publish`]; a resume never reads
//! them.
//!
//! # Fault injection (tests only)
//!
//! With the environment variable [`FAULT_AFTER_CHECKPOINT_FILE`] set to `N`, the process
//! aborts (`std::process::abort`, as a `kill -9` would end it) right after the `N`-th write of
//! the checkpoint protocol. The writes are counted over the life of the process, in this order
//! for each checkpoint: every file written into the temporary directory, the rename of that
//! directory, the manifest's rename (the commit), the removal of the older checkpoints, then
//! every [`Checkpoint::publish`]. Tests use it to kill a training run in the middle of
//! saving; it is not meant for anything else.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use serde::{Deserialize, Serialize};

use crate::fs::temp_path;
use crate::run_dir::LEGACY_STATE_FILE;
use crate::{Error, Result, read_json, write_json_atomic};

/// The manifest of the committed checkpoint, in the run directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.json";
/// Prefix of a committed checkpoint's directory (`checkpoint-<epoch>`).
const DIR_PREFIX: &str = "checkpoint-";
/// Prefix of a checkpoint directory being written (`checkpoint.tmp-<pid>-<epoch>`).
const TMP_PREFIX: &str = "checkpoint.tmp-";

/// Environment variable of the test-only fault-injection hook: set to `N`, the process aborts
/// right after the `N`-th write of the checkpoint protocol (see the [module docs](self)).
pub const FAULT_AFTER_CHECKPOINT_FILE: &str = "AUSCULT_FAULT_AFTER_CHECKPOINT_FILE";

/// Counts one write of the checkpoint protocol and aborts the process when the fault-injection
/// hook asks for it.
fn fault_point() {
    static LIMIT: OnceLock<Option<usize>> = OnceLock::new();
    static WRITES: AtomicUsize = AtomicUsize::new(0);
    let limit = LIMIT.get_or_init(|| {
        std::env::var(FAULT_AFTER_CHECKPOINT_FILE)
            .ok()
            .and_then(|v| v.trim().parse().ok())
    });
    if let Some(n) = *limit
        && WRITES.fetch_add(1, Ordering::SeqCst) + 1 == n
    {
        std::process::abort();
    }
}

/// Where a training loop stands after an epoch; saved in the checkpoint's manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingState {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimiser steps taken.
    pub step: usize,
    /// Best validation score so far, if any (higher is better).
    pub best_score: Option<f64>,
    /// Epoch that reached `best_score`.
    pub best_epoch: Option<usize>,
    /// Epochs since the last improvement (for early stopping).
    pub epochs_without_improvement: usize,
    /// Positions of the run's random streams (`(stream, word position)`), to restore them.
    pub rng_positions: Vec<(u64, String)>,
    /// Whether training stopped early.
    pub stopped_early: bool,
}

/// How a training run began, for the caller to report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Start {
    /// A new run.
    #[default]
    New,
    /// A resumed run, continuing after `epoch`.
    Resumed {
        /// The last epoch of the checkpoint resumed from.
        epoch: usize,
    },
    /// Resuming was asked for, but the run had been stopped before its first checkpoint was
    /// committed: it started again from the first epoch.
    Restarted,
}

/// `checkpoint.json`: the commit record of a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointManifest {
    /// Epochs completed (as in `state.epoch`).
    pub epoch: usize,
    /// The checkpoint's directory, inside the run directory (`checkpoint-<epoch>`).
    pub dir: String,
    /// Each file of the checkpoint with the hex SHA-256 of its content.
    pub files: BTreeMap<String, String>,
    /// The training loop's state.
    pub state: TrainingState,
}

/// A committed checkpoint, its files verified against the manifest.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    dir: PathBuf,
    manifest: CheckpointManifest,
    /// A checkpoint of the older layout (files at the top of the run directory, no hashes).
    legacy: bool,
}

impl Checkpoint {
    /// The training state saved with it.
    pub fn state(&self) -> &TrainingState {
        &self.manifest.state
    }

    /// Epochs completed.
    pub fn epoch(&self) -> usize {
        self.manifest.state.epoch
    }

    /// The directory holding its files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of its file `name` (whether or not the checkpoint has one).
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Whether the checkpoint holds a file `name`.
    pub fn has(&self, name: &str) -> bool {
        if self.legacy {
            self.file(name).is_file()
        } else {
            self.manifest.files.contains_key(name)
        }
    }

    /// The manifest.
    pub fn manifest(&self) -> &CheckpointManifest {
        &self.manifest
    }

    /// Places a copy of its file `name` at `to` atomically (a hard link when the file system
    /// allows, else a copy, under a temporary name, then renamed), for users and inference to
    /// read. Resuming never reads these copies.
    pub fn publish(&self, name: &str, to: impl AsRef<Path>) -> Result<()> {
        let to = to.as_ref();
        let src = self.file(name);
        if !self.has(name) {
            return Err(Error::io(
                &src,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "the checkpoint holds no such file",
                ),
            ));
        }
        if src == to {
            // A checkpoint of the older layout lives at the top of the run directory.
            return Ok(());
        }
        let tmp = temp_path(to);
        place(&src, &tmp)?;
        std::fs::rename(&tmp, to).map_err(|e| Error::io(to, e))?;
        // When `to` already is a link to the same file (the best weights kept from the epoch
        // before), POSIX rename does nothing and leaves the temporary name behind.
        if tmp.exists() {
            std::fs::remove_file(&tmp).map_err(|e| Error::io(&tmp, e))?;
        }
        fault_point();
        Ok(())
    }
}

/// Makes `to` a hard link to `src` (or a synced copy where links are not possible), replacing
/// anything at `to`.
fn place(src: &Path, to: &Path) -> Result<()> {
    match std::fs::remove_file(to) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io(to, e)),
        _ => {}
    }
    if std::fs::hard_link(src, to).is_err() {
        std::fs::copy(src, to).map_err(|e| Error::io(src, e))?;
        sync_file(to)?;
    }
    Ok(())
}

fn sync_file(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// Syncs a directory's entries (a rename inside it) to disk. Best effort: not every platform
/// can open a directory for syncing.
fn sync_dir(path: &Path) {
    if let Ok(d) = std::fs::File::open(path) {
        let _ = d.sync_all();
    }
}

/// Whether `name` is a plain file name (no separators, not `.` or `..`).
fn plain_name(name: &str) -> bool {
    let mut parts = Path::new(name).components();
    matches!(
        (parts.next(), parts.next()),
        (Some(std::path::Component::Normal(n)), None) if n == name
    )
}

/// Writes the files of one epoch's checkpoint; nothing of it counts until
/// [`commit`](Self::commit) (see the [module docs](self) for the protocol).
#[derive(Debug)]
pub struct CheckpointWriter {
    run: PathBuf,
    tmp: PathBuf,
    epoch: usize,
    files: BTreeMap<String, String>,
}

impl CheckpointWriter {
    pub(crate) fn begin(run: &Path, epoch: usize) -> Result<Self> {
        let tmp = run.join(format!("{TMP_PREFIX}{}-{epoch}", std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        }
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        Ok(Self {
            run: run.to_path_buf(),
            tmp,
            epoch,
            files: BTreeMap::new(),
        })
    }

    /// Where file `name` goes, checking that it is a new, plain file name.
    fn target(&self, name: &str) -> Result<PathBuf> {
        let path = self.tmp.join(name);
        if !plain_name(name) || self.files.contains_key(name) {
            return Err(Error::CheckpointManifest {
                path,
                reason: format!(
                    "`{name}` is not a plain file name, or the checkpoint already has it"
                ),
            });
        }
        Ok(path)
    }

    /// Syncs and hashes a file just written, and records it.
    fn record(&mut self, name: &str, path: &Path) -> Result<()> {
        sync_file(path)?;
        let hash = crate::hash_file(path)?;
        self.files.insert(name.to_string(), hash);
        fault_point();
        Ok(())
    }

    /// Saves a module's parameters (burnpack) as `name`.
    pub fn save_module<M: Module>(&mut self, name: &str, model: &M) -> Result<()> {
        let path = self.target(name)?;
        model
            .clone()
            .save_file(&path)
            .map_err(|e| Error::Checkpoint {
                path: path.clone(),
                action: "saved",
                reason: e.to_string(),
            })?;
        self.record(name, &path)
    }

    /// Saves an optimiser's state (moments, step counts) as `name`.
    pub fn save_optimizer(&mut self, name: &str, optimizer: &ModuleOptimizer) -> Result<()> {
        let path = self.target(name)?;
        optimizer.save(&path).map_err(|e| Error::Checkpoint {
            path: path.clone(),
            action: "saved",
            reason: e.to_string(),
        })?;
        self.record(name, &path)
    }

    /// Saves `value` as pretty JSON named `name`.
    pub fn save_json<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<()> {
        let path = self.target(name)?;
        let mut bytes = serde_json::to_vec_pretty(value).map_err(|source| Error::Json {
            path: path.clone(),
            source,
        })?;
        bytes.push(b'\n');
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
        self.record(name, &path)
    }

    /// Adds `name` as the same content as this checkpoint's file `existing` (for example the
    /// best weights when this epoch is the best).
    pub fn save_same_as(&mut self, name: &str, existing: &str) -> Result<()> {
        let path = self.target(name)?;
        let src = self.tmp.join(existing);
        let Some(hash) = self.files.get(existing).cloned() else {
            return Err(Error::io(
                &src,
                std::io::Error::new(std::io::ErrorKind::NotFound, "not written yet"),
            ));
        };
        place(&src, &path)?;
        self.files.insert(name.to_string(), hash);
        fault_point();
        Ok(())
    }

    /// Carries file `name` over unchanged from the previous checkpoint (for example the best
    /// weights of an earlier epoch).
    pub fn keep(&mut self, name: &str, previous: &Checkpoint) -> Result<()> {
        let path = self.target(name)?;
        let src = previous.file(name);
        let hash = match previous.manifest.files.get(name) {
            Some(h) => h.clone(),
            None if previous.legacy && src.is_file() => crate::hash_file(&src)?,
            None => {
                return Err(Error::io(
                    &src,
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "the previous checkpoint holds no such file",
                    ),
                ));
            }
        };
        place(&src, &path)?;
        self.files.insert(name.to_string(), hash);
        fault_point();
        Ok(())
    }

    /// Commits the checkpoint with the loop's `state`: renames the directory into place, writes
    /// the manifest (the commit point), then removes older checkpoints. Returns the committed
    /// checkpoint.
    pub fn commit(self, state: &TrainingState) -> Result<Checkpoint> {
        sync_dir(&self.tmp);
        let name = format!("{DIR_PREFIX}{}", self.epoch);
        let dir = self.run.join(&name);
        let manifest_path = self.run.join(CHECKPOINT_FILE);
        if dir.exists() {
            // Left by a save that never committed, or by a committed one a resume has since
            // gone past; the manifest must not name it.
            let current: Option<CheckpointManifest> = read_json(&manifest_path).ok();
            if current.is_some_and(|m| m.dir == name) {
                return Err(Error::CheckpointManifest {
                    path: manifest_path,
                    reason: format!("epoch {} is already committed", self.epoch),
                });
            }
            std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        std::fs::rename(&self.tmp, &dir).map_err(|e| Error::io(&dir, e))?;
        sync_dir(&self.run);
        fault_point();
        let manifest = CheckpointManifest {
            epoch: self.epoch,
            dir: name,
            files: self.files,
            state: state.clone(),
        };
        write_json_atomic(&manifest_path, &manifest)?;
        sync_dir(&self.run);
        fault_point();
        // A run of the older layout kept its state at the top level; the manifest replaces it.
        let legacy = self.run.join(LEGACY_STATE_FILE);
        if legacy.exists() {
            std::fs::remove_file(&legacy).map_err(|e| Error::io(&legacy, e))?;
        }
        remove_stale(&self.run, Some(&manifest.dir))?;
        fault_point();
        Ok(Checkpoint {
            dir,
            manifest,
            legacy: false,
        })
    }
}

/// Removes every checkpoint directory of `run` (committed or temporary) except `keep`.
pub(crate) fn remove_stale(run: &Path, keep: Option<&str>) -> Result<()> {
    let entries = match std::fs::read_dir(run) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(run, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(run, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = name.starts_with(TMP_PREFIX)
            || name
                .strip_prefix(DIR_PREFIX)
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if ours && keep != Some(name.as_str()) && entry.path().is_dir() {
            std::fs::remove_dir_all(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
        }
    }
    Ok(())
}

/// Reads and verifies the committed checkpoint of `run`, if there is one.
pub(crate) fn read_checkpoint(run: &Path) -> Result<Option<Checkpoint>> {
    let manifest_path = run.join(CHECKPOINT_FILE);
    if !manifest_path.exists() {
        return Ok(None);
    }
    let manifest: CheckpointManifest = read_json(&manifest_path)?;
    let invalid = |reason: String| Error::CheckpointManifest {
        path: manifest_path.clone(),
        reason,
    };
    let numbered = manifest
        .dir
        .strip_prefix(DIR_PREFIX)
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if !(plain_name(&manifest.dir) && numbered) {
        return Err(invalid(format!(
            "`{}` is not a checkpoint directory name",
            manifest.dir
        )));
    }
    if manifest.epoch != manifest.state.epoch {
        return Err(invalid(format!(
            "epoch {} but its state is after epoch {}",
            manifest.epoch, manifest.state.epoch
        )));
    }
    let dir = run.join(&manifest.dir);
    for (name, expected) in &manifest.files {
        if !plain_name(name) {
            return Err(invalid(format!("`{name}` is not a plain file name")));
        }
        let path = dir.join(name);
        let actual = crate::hash_file(&path)?;
        if &actual != expected {
            return Err(Error::CheckpointDamaged {
                path,
                manifest: manifest_path.clone(),
                expected: expected.clone(),
                actual,
            });
        }
    }
    Ok(Some(Checkpoint {
        dir,
        manifest,
        legacy: false,
    }))
}

/// A checkpoint of the older layout (`model.bpk`, `optimizer.bpk`, ... and `state.json` at the
/// top of the run directory, without hashes), so that runs started before the manifest can
/// still be resumed.
pub(crate) fn legacy_checkpoint(run: &Path) -> Result<Option<Checkpoint>> {
    let state_path = run.join(LEGACY_STATE_FILE);
    if !state_path.exists() {
        return Ok(None);
    }
    let state: TrainingState = read_json(&state_path)?;
    Ok(Some(Checkpoint {
        dir: run.to_path_buf(),
        manifest: CheckpointManifest {
            epoch: state.epoch,
            dir: String::new(),
            files: BTreeMap::new(),
            state,
        },
        legacy: true,
    }))
}

/// Saves a module's parameters to `path` (burnpack) atomically.
pub fn save_module<M: Module>(model: &M, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let tmp = temp_path(path);
    model
        .clone()
        .save_file(&tmp)
        .map_err(|e| Error::Checkpoint {
            path: path.to_path_buf(),
            action: "saved",
            reason: e.to_string(),
        })?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Loads parameters from `path` into `model` (which must have the same structure, as rebuilt
/// from the run's `config.json`). A file made by a different model is an error, not a panic.
pub fn load_module<M: Module>(model: M, path: impl AsRef<Path>) -> Result<M> {
    let path = path.as_ref();
    if !path.exists() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such checkpoint file"),
        ));
    }
    model.try_load_file(path).map_err(|e| Error::Checkpoint {
        path: path.to_path_buf(),
        action: "loaded",
        reason: format!("{e} (was it written by a model with another configuration?)"),
    })
}

/// Loads an optimiser's state from `path` into `optimizer`.
pub fn load_optimizer(
    optimizer: ModuleOptimizer,
    path: impl AsRef<Path>,
) -> Result<ModuleOptimizer> {
    let path = path.as_ref();
    optimizer.load(path).map_err(|e| Error::Checkpoint {
        path: path.to_path_buf(),
        action: "loaded",
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RunDir;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::{Device, Tensor};

    fn linear_output(m: &Linear, dev: &Device) -> Vec<f32> {
        m.forward(Tensor::<2>::ones([1, 3], dev))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn state(epoch: usize) -> TrainingState {
        TrainingState {
            epoch,
            step: 10 * epoch,
            ..Default::default()
        }
    }

    #[test]
    fn a_checkpoint_is_committed_as_a_whole_and_verified_when_read() {
        let dev = Device::flex();
        dev.seed(2);
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::create(dir.path().join("run"), false).unwrap();
        assert!(run.checkpoint().unwrap().is_none());
        let a: Linear = LinearConfig::new(3, 2).init(&dev);
        let mut w = run.begin_checkpoint(1).unwrap();
        w.save_module("model.bpk", &a).unwrap();
        w.save_same_as("best.bpk", "model.bpk").unwrap();
        w.save_json("extra.json", &serde_json::json!({"k": 1}))
            .unwrap();
        let optim = burn::optim::AdamConfig::new().init();
        w.save_optimizer("optimizer.bpk", &optim).unwrap();
        // Nothing counts before the commit.
        assert!(run.checkpoint().unwrap().is_none());
        let mut w = run.begin_checkpoint(1).unwrap();
        w.save_module("model.bpk", &a).unwrap();
        w.save_same_as("best.bpk", "model.bpk").unwrap();
        let one = w.commit(&state(1)).unwrap();
        one.publish("model.bpk", run.file("model.bpk")).unwrap();
        one.publish("best.bpk", run.file("best.bpk")).unwrap();
        assert_eq!(
            names(run.path()),
            ["best.bpk", "checkpoint-1", "checkpoint.json", "model.bpk"]
        );
        let read = run.checkpoint().unwrap().unwrap();
        assert_eq!(read.state(), &state(1));
        assert!(read.has("best.bpk") && !read.has("optimizer.bpk"));
        let b: Linear =
            load_module(LinearConfig::new(3, 2).init(&dev), read.file("model.bpk")).unwrap();
        assert_eq!(linear_output(&a, &dev), linear_output(&b, &dev));
        let top: Linear =
            load_module(LinearConfig::new(3, 2).init(&dev), run.file("model.bpk")).unwrap();
        assert_eq!(linear_output(&a, &dev), linear_output(&top, &dev));

        // The next epoch carries the best weights over and replaces the older checkpoint.
        let c: Linear = LinearConfig::new(3, 2).init(&dev);
        let mut w = run.begin_checkpoint(2).unwrap();
        w.save_module("model.bpk", &c).unwrap();
        w.keep("best.bpk", &read).unwrap();
        let two = w.commit(&state(2)).unwrap();
        two.publish("model.bpk", run.file("model.bpk")).unwrap();
        // The kept best weights are the file already published: nothing else is left behind.
        two.publish("best.bpk", run.file("best.bpk")).unwrap();
        assert_eq!(
            names(run.path()),
            ["best.bpk", "checkpoint-2", "checkpoint.json", "model.bpk"]
        );
        let read = run.checkpoint().unwrap().unwrap();
        assert_eq!(read.epoch(), 2);
        let best: Linear =
            load_module(LinearConfig::new(3, 2).init(&dev), read.file("best.bpk")).unwrap();
        assert_eq!(linear_output(&a, &dev), linear_output(&best, &dev));
        let top: Linear =
            load_module(LinearConfig::new(3, 2).init(&dev), run.file("model.bpk")).unwrap();
        assert_eq!(linear_output(&c, &dev), linear_output(&top, &dev));
    }

    #[test]
    fn torn_saves_are_ignored_and_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::create(dir.path().join("run"), false).unwrap();
        // Killed before the first commit: a temporary directory, and one renamed into place
        // without its manifest. No checkpoint; both removed.
        let mut w = run.begin_checkpoint(1).unwrap();
        w.save_json("a.json", &[1]).unwrap();
        drop(w);
        std::fs::create_dir(run.file("checkpoint-1")).unwrap();
        std::fs::write(run.file("checkpoint-1/a.json"), b"[1]").unwrap();
        assert!(run.checkpoint().unwrap().is_none());
        assert!(names(run.path()).is_empty(), "{:?}", names(run.path()));

        let mut w = run.begin_checkpoint(1).unwrap();
        w.save_json("a.json", &[1]).unwrap();
        w.commit(&state(1)).unwrap();
        // Killed while saving epoch 2 (before and after renaming its directory): epoch 1 is
        // still the checkpoint, and the strays go.
        let mut w = run.begin_checkpoint(2).unwrap();
        w.save_json("a.json", &[2]).unwrap();
        drop(w);
        std::fs::create_dir(run.file("checkpoint-3")).unwrap();
        let c = run.checkpoint().unwrap().unwrap();
        assert_eq!(c.epoch(), 1);
        assert_eq!(
            std::fs::read_to_string(c.file("a.json")).unwrap().trim(),
            "[\n  1\n]"
        );
        assert_eq!(names(run.path()), ["checkpoint-1", "checkpoint.json"]);
        // Saving epoch 2 again over a stray directory of the same name works.
        std::fs::create_dir(run.file("checkpoint-2")).unwrap();
        let mut w = run.begin_checkpoint(2).unwrap();
        w.save_json("a.json", &[2]).unwrap();
        assert_eq!(w.commit(&state(2)).unwrap().epoch(), 2);
        assert_eq!(run.checkpoint().unwrap().unwrap().epoch(), 2);
    }

    #[test]
    fn a_damaged_checkpoint_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::create(dir.path().join("run"), false).unwrap();
        let mut w = run.begin_checkpoint(4).unwrap();
        w.save_json("a.json", &[1]).unwrap();
        w.save_json("b.json", &[2]).unwrap();
        w.commit(&state(4)).unwrap();
        std::fs::write(run.file("checkpoint-4/b.json"), b"[3]\n").unwrap();
        let err = run.checkpoint().unwrap_err();
        assert!(matches!(err, Error::CheckpointDamaged { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("b.json") && msg.contains("checkpoint.json"),
            "{msg}"
        );
        // Nothing is cleaned away from a damaged run.
        assert_eq!(names(run.path()), ["checkpoint-4", "checkpoint.json"]);
        std::fs::remove_file(run.file("checkpoint-4/b.json")).unwrap();
        let msg = run.checkpoint().unwrap_err().to_string();
        assert!(msg.contains("b.json"), "{msg}");
        // A manifest naming a directory outside the run is refused.
        let mut m: CheckpointManifest = read_json(run.file(CHECKPOINT_FILE)).unwrap();
        m.dir = "../elsewhere".into();
        write_json_atomic(run.file(CHECKPOINT_FILE), &m).unwrap();
        let err = run.checkpoint().unwrap_err();
        assert!(matches!(err, Error::CheckpointManifest { .. }), "{err:?}");
    }

    #[test]
    fn a_run_of_the_older_layout_is_read_and_replaced_by_the_first_commit() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::create(dir.path().join("run"), false).unwrap();
        write_json_atomic(run.file(LEGACY_STATE_FILE), &state(3)).unwrap();
        std::fs::write(run.file("best.bpk"), b"weights").unwrap();
        let old = run.checkpoint().unwrap().unwrap();
        assert_eq!(old.epoch(), 3);
        assert!(old.has("best.bpk") && !old.has("optimizer.bpk"));
        old.publish("best.bpk", run.file("best.bpk")).unwrap();
        let mut w = run.begin_checkpoint(4).unwrap();
        w.keep("best.bpk", &old).unwrap();
        let new = w.commit(&state(4)).unwrap();
        assert!(!run.file(LEGACY_STATE_FILE).exists());
        assert_eq!(std::fs::read(new.file("best.bpk")).unwrap(), b"weights");
        assert_eq!(run.checkpoint().unwrap().unwrap().epoch(), 4);
    }

    #[test]
    fn module_round_trips_and_mismatch_is_an_error() {
        let dev = Device::flex();
        dev.seed(1);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bpk");
        let a: Linear = LinearConfig::new(3, 2).init(&dev);
        save_module(&a, &path).unwrap();
        let b: Linear = load_module(LinearConfig::new(3, 2).init(&dev), &path).unwrap();
        let x = Tensor::<2>::ones([1, 3], &dev);
        let ya: Vec<f32> = a
            .forward(x.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let yb: Vec<f32> = b.forward(x).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(ya, yb);
        let wrong = load_module(LinearConfig::new(4, 2).init(&dev), &path);
        assert!(matches!(wrong, Err(Error::Checkpoint { .. })), "{wrong:?}");
        let missing = load_module(
            LinearConfig::new(3, 2).init(&dev),
            dir.path().join("nope.bpk"),
        );
        assert!(missing.is_err());
    }
}
