//! File names inside a classifier run directory.

/// Resolved configuration.
pub const CONFIG: &str = "config.json";
/// Feature normalisation.
pub const NORMALIZATION: &str = "normalization.json";
/// Last epoch's weights (in the checkpoint, and published at the top level).
pub const MODEL: &str = "model.bpk";
/// Best validation epoch's weights (in the checkpoint, and published at the top level).
pub const BEST: &str = "best.bpk";
/// Optimiser state (in the checkpoint only).
pub const OPTIMIZER: &str = "optimizer.bpk";
/// The recording-chain adversary's weights, when `device_adversarial` is on (checkpoint only).
pub const ADVERSARY: &str = "adversary.bpk";
/// The adversary's optimiser state (checkpoint only).
pub const ADVERSARY_OPTIMIZER: &str = "adversary-optimizer.bpk";
/// One line per epoch.
pub const METRICS: &str = "metrics.jsonl";
/// Final report.
pub const REPORT: &str = "report.json";
/// Provenance.
pub const PROVENANCE: &str = "provenance.json";
/// Training curves.
pub const CURVES: &str = "curves.png";
/// Confusion matrix.
pub const CONFUSION: &str = "confusion.png";
/// A binary task's decision threshold, chosen on validation data ([`crate::DecisionRule`]).
pub const DECISION: &str = "decision.json";
/// ROC curve of a binary task (test split, else validation).
pub const ROC: &str = "roc.png";
/// An ensemble directory's members ([`EnsembleSpec`](crate::EnsembleSpec)).
pub const ENSEMBLE: &str = "ensemble.json";
