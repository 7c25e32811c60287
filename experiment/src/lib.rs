//! Training machinery shared by auscult's models (the VQ-VAE, its prior and the classifier):
//! run directories with their saved config and provenance, atomic files, crash-consistent
//! checkpoints that can be resumed, the epoch loop every model trains with ([`Learner`]: the
//! model supplies its epoch, validation and checkpoint files through [`EpochStep`]), seeded
//! random streams, the `metrics.jsonl` log, device selection, learning-rate schedules and
//! progress hooks. The model crates depend on this crate and never on each other.
//!
//! ```no_run
//! use auscult_experiment::{RunDir, MetricsLog, seeded_rng};
//! # fn main() -> auscult_experiment::Result<()> {
//! let run = RunDir::create("runs/example", false)?;
//! run.save_json("config.json", &serde_json::json!({ "epochs": 3 }))?;
//! let mut log = MetricsLog::open(run.path().join("metrics.jsonl"))?;
//! log.append(&serde_json::json!({ "epoch": 1, "loss": 0.5 }))?;
//! let _rng = seeded_rng(42, 0);
//! # Ok(()) }
//! ```

pub mod allocator;
mod checkpoint;
mod device;
mod error;
mod fs;
mod learner;
mod metrics;
mod progress;
mod provenance;
mod rng;
mod run_dir;
mod schedule;

pub use checkpoint::{
    CHECKPOINT_FILE, Checkpoint, CheckpointManifest, CheckpointWriter, FAULT_AFTER_CHECKPOINT_FILE,
    Start, TrainingState, load_module, load_optimizer, save_module,
};
pub use device::{DeviceChoice, device};
pub use error::{Error, Result};
pub use fs::{read_json, write_atomic, write_json_atomic};
pub use learner::{EpochStep, Learner, Resumption};
pub use metrics::{MetricsLog, read_metrics};
pub use progress::{NoProgress, Progress};
pub use provenance::{Provenance, fingerprint_files, hash_file};
pub use rng::{epoch_rng, restore_rng, resume_rng, rng_position, seeded_rng};
pub use run_dir::RunDir;
pub use schedule::{LrSchedule, cosine_with_warmup};
