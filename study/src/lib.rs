//! `auscult study` as a library: does generative augmentation help? A study trains the same
//! classifier several ways (its [`Arm`]s) on the same data, seeds and budget, and this crate
//! turns the evaluations into statistics over seeds, a [`verdict`], the [`results_table`], the
//! Markdown report and its figures.
//!
//! Running the steps (training, generating, evaluating) is the command line's: it re-invokes
//! the `auscult` binary for each, so the report's commands reproduce the study. Nothing here
//! prints.
//!
//! ```
//! use auscult_study::{Arm, ArmSummary, Spread, verdict};
//!
//! let summary = |arm: Arm, mean: f64, sd: f64| ArmSummary {
//!     arm,
//!     description: arm.description().to_string(),
//!     specificity: Spread { mean: 0.0, sd: 0.0 },
//!     sensitivity: Spread { mean: 0.0, sd: 0.0 },
//!     score: Spread { mean, sd },
//!     macro_f1: Spread { mean: 0.0, sd: 0.0 },
//!     recall: Vec::new(),
//! };
//! let base = summary("b".parse::<Arm>()?, 0.50, 0.03);
//! let augmented = summary(Arm::Augmented, 0.60, 0.04);
//! assert!(verdict(&[base, augmented], &[]).ends_with("augmentation helped here."));
//! # Ok::<(), auscult_study::Error>(())
//! ```

mod arm;
mod error;
mod figures;
#[cfg(test)]
mod fixtures;
mod gate;
pub mod layout;
mod paired;
mod pool;
mod report;
mod results;
mod setup;
mod stats;
mod table;
mod verdict;

pub use arm::{Arm, arms_to_run};
pub use error::{Error, Result};
pub use figures::{Figures, draw_figures};
pub use gate::{gate_share, gate_thresholds};
pub use paired::{
    ArmPredictions, ItemPredictions, PAIRED_RESAMPLES, PairedComparison, comparison_of,
    paired_comparisons,
};
pub use pool::{FoldStudy, PoolSetting, PooledArm, PooledReport, pool, pooled_table};
pub use report::markdown;
pub use results::{ArmSummary, SeedResult, Step, StudyReport, summarise};
pub use setup::{Augmentation, Budget, Setup};
pub use stats::{Spread, mean, median};
pub use table::{paired_table, results_table};
pub use verdict::verdict;
