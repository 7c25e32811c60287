//! A discovered copy of the database ([`IcbhiDatabase`]) and its recordings
//! ([`IcbhiRecording`]); opening one is in `open.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::annotations::RespiratoryCycle;
use super::layout::IcbhiLayout;
use super::metadata::{Demographics, IcbhiSplit};
use super::name::RecordingName;
use crate::files::WavHeader;
use crate::problem::Problem;

#[cfg(doc)]
use crate::label::CycleLabel;

/// One recording of a discovered database, with its annotations and split.
#[derive(Debug, Clone, PartialEq)]
pub struct IcbhiRecording {
    /// Parsed file name.
    pub name: RecordingName,
    /// The `.wav` file.
    pub wav: PathBuf,
    /// The `.txt` annotation file, when present and readable.
    pub annotation: Option<PathBuf>,
    /// Annotated cycles (empty without a usable annotation file).
    pub cycles: Vec<RespiratoryCycle>,
    /// Side of the official split, when the split file lists the recording.
    pub split: Option<IcbhiSplit>,
    /// Header facts, when the audio header is readable.
    pub header: Option<WavHeader>,
}

impl IcbhiRecording {
    /// Whether the recording can give examples: readable audio with samples, and cycles.
    pub fn is_usable(&self) -> bool {
        self.header.is_some_and(|h| h.frames > 0) && !self.cycles.is_empty()
    }

    /// The patient id as a string (the grouping key of patient-disjoint splits).
    pub fn patient_id(&self) -> String {
        self.name.patient.to_string()
    }
}

/// A discovered copy of the ICBHI 2017 database: recordings, metadata and problems.
///
/// Opening reads file names, annotations, metadata files and WAV headers, not the audio.
#[derive(Debug, Clone)]
pub struct IcbhiDatabase {
    /// The folder given by the user.
    pub root: PathBuf,
    /// The folder holding the recordings.
    pub audio_dir: PathBuf,
    /// The layout found.
    pub layout: IcbhiLayout,
    /// Recordings sorted by file name.
    pub recordings: Vec<IcbhiRecording>,
    /// The official split file, when found.
    pub split_file: Option<PathBuf>,
    /// The diagnosis file used, when found.
    pub diagnosis_file: Option<PathBuf>,
    /// The demographic file used, when found.
    pub demographics_file: Option<PathBuf>,
    /// Patient -> diagnosis (`COPD`, `Healthy`, `URTI`...).
    pub diagnosis: BTreeMap<u32, String>,
    /// Patient -> demographics.
    pub demographics: BTreeMap<u32, Demographics>,
    /// Everything odd found, none of it fatal.
    pub problems: Vec<Problem>,
}

impl IcbhiDatabase {
    /// Number of distinct patients with recordings.
    pub fn patient_count(&self) -> usize {
        self.recordings
            .iter()
            .map(|r| r.name.patient)
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// Diagnosis of a patient, when the diagnosis file lists it.
    pub fn diagnosis_of(&self, patient: u32) -> Option<&str> {
        self.diagnosis.get(&patient).map(String::as_str)
    }

    /// Cycle counts per class, in [`CycleLabel::ALL`] order, over all recordings.
    pub fn cycle_counts(&self) -> [usize; 4] {
        let mut counts = [0; 4];
        for c in self.recordings.iter().flat_map(|r| &r.cycles) {
            counts[c.label().index()] += 1;
        }
        counts
    }
}
