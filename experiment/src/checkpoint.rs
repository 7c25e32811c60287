//! Checkpoints: model and optimiser state (burnpack files) plus the loop's own state
//! (`state.json`), each written atomically so that a run killed at any moment resumes from the
//! last complete epoch.

use std::path::Path;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use serde::{Deserialize, Serialize};

use crate::fs::temp_path;
use crate::{Error, Result};

/// Where a training loop stands; saved as `state.json` after each epoch, after the model and
/// optimiser files, so its presence means the whole checkpoint is complete.
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

fn finish_atomic(tmp: &Path, path: &Path) -> Result<()> {
    std::fs::rename(tmp, path).map_err(|e| Error::io(path, e))
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
    finish_atomic(&tmp, path)
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

/// Saves an optimiser's state (moments, step counts) to `path` atomically.
pub fn save_optimizer(optimizer: &ModuleOptimizer, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let tmp = temp_path(path);
    optimizer.save(&tmp).map_err(|e| Error::Checkpoint {
        path: path.to_path_buf(),
        action: "saved",
        reason: e.to_string(),
    })?;
    finish_atomic(&tmp, path)
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
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::{Device, Tensor};

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
