//! The training loop: features, sampling and mixing, losses, AdamW with a cosine schedule,
//! validation with early stopping on the ICBHI score, a checkpoint every epoch and resume.
//!
//! A run directory holds:
//!
//! | file | what |
//! |---|---|
//! | `config.json` | [`ModelConfig`](crate::ModelConfig): resolved [`TrainConfig`](crate::TrainConfig), classes, feature shape (written first) |
//! | `normalization.json` | per-Mel-bin mean/std of the training split |
//! | `provenance.json` | program, data fingerprint, seed, command line |
//! | `checkpoint.json`, `checkpoint-<epoch>/` | the last complete epoch: `model.bpk`, `optimizer.bpk`, `best.bpk` and the loop's state, committed as one set (see [`auscult_experiment::Checkpoint`]); what `--resume` reads |
//! | `model.bpk` | the last complete epoch's weights (published from the checkpoint) |
//! | `best.bpk` | weights of the best validation score (the last epoch without validation; published from the checkpoint) |
//! | `metrics.jsonl` | one [`EpochRecord`] per epoch |
//! | `curves.png`, `confusion.png` | training curves; confusion matrix (test split, else validation) |
//! | `decision.json`, `roc.png` | binary tasks: the decision threshold chosen on validation ([`DecisionRule`](crate::DecisionRule)); the ROC curve (test split, else validation) |
//! | `report.json` | the [`TrainReport`] |

mod finish;
mod prepare;
mod record;
mod run;
mod streams;
mod validation;

pub use record::{EpochRecord, TrainReport};
pub use run::{resume, train};
