//! `auscult train --data ROOT --out RUN_DIR [...]`: trains the respiratory-sound classifier
//! (Balanced Mixup + supervised contrastive loss by default) and writes a run directory with
//! the resolved config, checkpoints, `metrics.jsonl`, curves and confusion matrix.
//! `auscult train --resume RUN_DIR` continues a killed run from its last complete epoch.
//!
//! Files: `args` (the flags), `config` (the recipe, the training config and the Coswara
//! options they resolve to), `data` (`data.json`: where a run's data came from), `new_run`
//! (one new run), `per_sound` (`--per-sound`: a model per Coswara sound, fused), `run` (the
//! subcommand), `report` (the printed report).

mod args;
mod config;
mod data;
mod new_run;
mod per_sound;
mod report;
mod run;

pub use args::{Args, parse_level};
pub use data::{DATA_FILE, DataSpec};
pub use run::run;
