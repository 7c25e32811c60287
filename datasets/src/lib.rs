//! Dataset readers of auscult: ICBHI 2017, Coswara, folder-per-class corpora and generated
//! log-Mel corpora, plus a seeded synthetic generator that writes the ICBHI and Coswara
//! layouts.
//!
//! Datasets are read in their real, unmodified layouts; problems that leave them usable
//! (header-only WAVs, a recording without annotations, a name that differs between the split
//! file and the audio) are reported as [`Problem`]s, not errors.
//!
//! ```no_run
//! use auscult_datasets::{LoadOptions, SplitSpec, SynthConfig, load_examples, synth_icbhi};
//! # fn main() -> auscult_datasets::Result<()> {
//! let root = std::path::Path::new("synthetic-icbhi");
//! let report = synth_icbhi(root, &SynthConfig::quick(7, 8))?;
//! println!("{} cycles", report.classes.values().sum::<usize>());
//!
//! let opts = LoadOptions { split: SplitSpec::Official, val_fraction: 0.2, ..LoadOptions::default() };
//! let set = load_examples(root, &opts)?;
//! // Every example is 8 s at 16 kHz (Patch-Mix CL's conventions).
//! assert!(set.train.iter().all(|e| e.samples.len() == 128_000));
//! # Ok(()) }
//! ```

mod corpus;
mod coswara;
mod error;
mod files;
mod folder;
mod format;
mod frontend;
#[doc(hidden)]
pub mod fuzz;
mod icbhi;
mod inspect;
mod item;
mod label;
mod load;
mod problem;
mod split;
mod synthetic;

pub use corpus::{
    CONTACT_SHEET_FILE, CorpusManifest, CorpusSample, CorpusWriter, GeneratedCorpus, GeneratorInfo,
    MANIFEST_FILE, SCHEMA_VERSION,
};
pub use coswara::{
    COMBINED_CSV, COVID_STATUSES, CoswaraDatabase, CoswaraFile, CoswaraOptions, CoswaraParticipant,
    CoswaraRow, CoswaraTarget, FLAG_COLUMNS, RESPIRATORY_COLUMNS, SYMPTOM_COLUMNS, SoundKind,
    read_combined_csv,
};
pub use error::{Error, Result};
pub use files::{WavHeader, read_wav_header};
pub use folder::{FolderCorpus, FolderFile};
pub use format::Format;
pub use frontend::{default_examples, default_mel};
pub use icbhi::{
    AcquisitionMode, ChestLocation, Demographics, Device, IcbhiDatabase, IcbhiLayout,
    IcbhiRecording, IcbhiSplit, RecordingName, RespiratoryCycle, Sex, cycle_counts,
    format_annotations, parse_annotations, parse_demographics, parse_diagnosis,
    parse_official_split, read_annotations,
};
pub use inspect::{DurationSummary, Inspection, inspect};
pub use item::{CyclePadding, Example, ExampleConfig, fit_cycle, slice_cycle};
pub use label::CycleLabel;
pub use load::{ExampleSet, LoadOptions, load_examples};
pub use problem::Problem;
pub use split::{SplitSpec, assign_groups};
pub use synthetic::{SYNTH_REPORT_FILE, SynthConfig, SynthReport, synth_coswara, synth_icbhi};

/// ICBHI file and folder names.
pub mod icbhi_names {
    pub use crate::icbhi::{
        DEMOGRAPHICS_FILE, DIAGNOSIS_FILE, KAGGLE_AUDIO_DIR, KAGGLE_DEMOGRAPHICS_FILE,
        KAGGLE_DIAGNOSIS_FILE, OFFICIAL_AUDIO_DIR, SPLIT_FILE,
    };
}
