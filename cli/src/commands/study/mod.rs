//! `auscult study`: does generative augmentation help? Repeats the comparison of training arms
//! over several seeds on the same data and reports mean and spread of every metric.
//!
//! Every step runs as the `auscult` subcommand a user would type (the binary re-invokes
//! itself), so the report's commands reproduce the study exactly; only the quality gate of arm
//! (e) runs in-process, through the same library call `auscult_classifier` exposes.
//!
//! Arms (same seed, data and budget in each):
//! - (a) `plain`: cross-entropy, instance sampling;
//! - (b) `mixup-supcon`: Balanced Mixup + supervised contrastive loss (the default recipe);
//! - (c) `augmented`: (b) + the generated minority-class corpus;
//! - (d) `oversample`: naive oversampling of the minority classes, cross-entropy;
//! - (e) `gated`: (c), keeping only generated samples that arm (a)'s model assigns to their
//!   conditioned class with probability >= the gate threshold.
//!
//! These files run the steps and print; the arms, the statistics over seeds, the verdict, the
//! tables, the report and its figures are the `auscult_study` crate's.
//!
//! Files: `args` (the flags and the sizes they give), `runner` (re-invoking this binary for
//! a step), `plan` (the study end to end: data, seeds, report), `seed` (the arms of one
//! seed), `gate` (the quality gate of arm (e)).

mod args;
mod gate;
mod plan;
mod runner;
mod seed;

pub use args::Args;
pub use auscult_study::Arm;
pub use plan::{Plan, execute, run};
