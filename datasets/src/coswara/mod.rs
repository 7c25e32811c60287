//! Coswara (IISc Bangalore): breathing, cough and voice recordings with COVID-19 status.
//!
//! The root holds `combined_data.csv` (or a truncated copy named `combined_data*.csv`) and
//! participant folders `YYYYMMDD/<participant id>/<sound>.wav`, possibly below
//! `Extracted_data/`. Each participant folder holds up to nine sounds and a `metadata.json`.
//!
//! Files: `target.rs` (labels and the columns behind them), `sound.rs` (the nine sounds),
//! `options.rs` (how recordings become examples), `combined_csv.rs` (the metadata table),
//! `layout.rs` (file names and discovery) and `participants.rs` (opening a copy).

mod combined_csv;
mod layout;
mod options;
mod participants;
mod sound;
mod target;

pub use combined_csv::{CoswaraRow, read_combined_csv};
pub use layout::{COMBINED_CSV, find_combined_csv, find_date_dirs};
pub use options::CoswaraOptions;
pub use participants::{CoswaraDatabase, CoswaraFile, CoswaraParticipant};
pub use sound::SoundKind;
pub use target::{
    COVID_STATUSES, CoswaraTarget, FLAG_COLUMNS, RESPIRATORY_COLUMNS, SYMPTOM_COLUMNS,
};
