//! What a run records: one [`EpochRecord`] per epoch (`metrics.jsonl`) and the final
//! [`TrainReport`] (`report.json`).

use std::path::PathBuf;

use auscult_experiment::Start;
use serde::{Deserialize, Serialize};

use crate::binary::{DecisionRule, Level};
use crate::metrics::Metrics;

/// One line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Optimiser steps taken so far.
    pub step: usize,
    /// Learning rate at the epoch's last step.
    pub lr: f64,
    /// Mean total training loss of the epoch.
    pub train_loss: f64,
    /// Mean classification loss.
    pub train_class_loss: f64,
    /// Mean supervised contrastive loss (0 when disabled).
    pub train_supcon_loss: f64,
    /// Mean cross-entropy of the recording-chain adversary (only with `device_adversarial`;
    /// near `ln(chains)` when the embedding hides the chain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_adversary_loss: Option<f64>,
    /// Validation cross-entropy (`None` without a validation split).
    pub val_loss: Option<f64>,
    /// Validation ICBHI score.
    pub val_score: Option<f64>,
    /// Validation specificity.
    pub val_specificity: Option<f64>,
    /// Validation sensitivity.
    pub val_sensitivity: Option<f64>,
    /// Validation accuracy.
    pub val_accuracy: Option<f64>,
    /// Validation macro-F1.
    pub val_macro_f1: Option<f64>,
    /// Validation ROC-AUC (binary tasks; what selects the best epoch there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_roc_auc: Option<f64>,
    /// Whether this epoch is the best so far.
    pub best: bool,
    /// Wall time of the epoch in seconds.
    pub seconds: f64,
}

/// The outcome of a training run (also saved as `report.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// The run directory.
    pub run_dir: PathBuf,
    /// Class names.
    pub classes: Vec<String>,
    /// Real training examples.
    pub n_train: usize,
    /// Generated examples mixed into training.
    pub n_generated: usize,
    /// Validation examples.
    pub n_val: usize,
    /// Test examples.
    pub n_test: usize,
    /// Epochs completed.
    pub epochs: usize,
    /// Optimiser steps taken.
    pub steps: usize,
    /// Epoch whose weights are in `best.bpk`.
    pub best_epoch: Option<usize>,
    /// Its validation score: the ROC-AUC of a binary task, the ICBHI score otherwise.
    pub best_val_score: Option<f64>,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// Mean training loss of the first and of the last epoch.
    pub first_train_loss: Option<f64>,
    /// Mean training loss of the last epoch.
    pub last_train_loss: Option<f64>,
    /// Training steps per second in this process (excluding validation).
    pub steps_per_second: Option<f64>,
    /// Metrics of the best weights on the validation split.
    pub val: Option<Metrics>,
    /// Metrics of the best weights on the test split.
    pub test: Option<Metrics>,
    /// The unit of `val` and `test` (items, or participants with fused predictions).
    #[serde(default)]
    pub level: Level,
    /// Binary tasks: the decision threshold chosen on the validation split (also in
    /// `decision.json`), used by `val`, `test`, `auscult evaluate` and `auscult classify`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<DecisionRule>,
    /// How this invocation began: a new run, resumed from a checkpoint, or started again
    /// because `--resume` found no committed checkpoint.
    #[serde(default)]
    pub start: Start,
}
