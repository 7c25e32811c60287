//! The ICBHI 2017 Respiratory Sound Database: file names, cycle annotations, metadata files
//! and the discovery of a downloaded copy.
//!
//! Three layouts are read:
//! - the challenge's: `ICBHI_final_database/*.wav|*.txt`, with `ICBHI_challenge_train_test.txt`
//!   (the official split, CRLF), `ICBHI_Challenge_diagnosis.txt` and
//!   `ICBHI_Challenge_demographic_information.txt` beside the folder or inside it;
//! - Kaggle's re-packaging: `.../audio_and_txt_files/`, with `patient_diagnosis.csv` (comma
//!   separated, no header) and `demographic_info.txt` (space separated) next to it;
//! - a flat folder holding the recordings (and possibly the metadata files) directly.
//!
//! Files: `name.rs` (recording names), `annotations.rs` (cycle files), `metadata.rs` (split,
//! diagnosis, demographics), `layout.rs` (file names and discovery), `database.rs` (the opened
//! database) and `open.rs` (opening it, step by step).

mod annotations;
mod database;
mod layout;
mod metadata;
mod name;
mod open;

pub use annotations::{
    RespiratoryCycle, cycle_counts, format_annotations, parse_annotations, read_annotations,
};
pub use database::{IcbhiDatabase, IcbhiRecording};
pub use layout::{
    DEMOGRAPHICS_FILE, DIAGNOSIS_FILE, IcbhiLayout, KAGGLE_AUDIO_DIR, KAGGLE_DEMOGRAPHICS_FILE,
    KAGGLE_DIAGNOSIS_FILE, OFFICIAL_AUDIO_DIR, SPLIT_FILE, find_audio_dir,
};
pub use metadata::{
    Demographics, IcbhiSplit, Sex, parse_demographics, parse_diagnosis, parse_official_split,
};
pub use name::{AcquisitionMode, ChestLocation, Device, RecordingName};
