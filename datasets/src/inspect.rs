//! What is in a dataset, and what is wrong with it (`auscult dataset inspect`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::corpus::GeneratedCorpus;
use crate::coswara::CoswaraDatabase;
use crate::error::{Error, Result};
use crate::files::WavHeader;
use crate::folder::FolderCorpus;
use crate::format::Format;
use crate::icbhi::IcbhiDatabase;
use crate::label::CycleLabel;
use crate::problem::Problem;

/// Minimum, median and maximum of a set of durations, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DurationSummary {
    /// Shortest, s.
    pub min: f64,
    /// Median, s (mean of the two middle values for an even count).
    pub median: f64,
    /// Longest, s.
    pub max: f64,
}

impl DurationSummary {
    /// Summary of `values`, or `None` when empty.
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            0.5 * (v[n / 2 - 1] + v[n / 2])
        };
        Some(Self {
            min: v[0],
            median,
            max: v[n - 1],
        })
    }
}

/// The contents of a dataset and every problem found.
///
/// Serialised as the JSON of `auscult dataset inspect --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inspection {
    /// The format.
    pub format: Format,
    /// The folder inspected.
    pub root: PathBuf,
    /// ICBHI layout (`official`, `kaggle`, `flat`), when relevant.
    pub layout: Option<String>,
    /// Audio files (ICBHI recordings, Coswara sound files including header-only ones, folder
    /// files) or generated samples.
    pub recordings: usize,
    /// Patients (ICBHI), participants (Coswara), files (folder), 0 for generated corpora.
    pub patients: usize,
    /// Class name -> count. ICBHI: cycles per `normal`/`crackle`/`wheeze`/`both`; Coswara:
    /// participants per `covid_status`; folder: files per class; corpus: samples per class.
    pub classes: BTreeMap<String, usize>,
    /// Split name -> class name -> count (ICBHI official split, folder split folders).
    pub splits: BTreeMap<String, BTreeMap<String, usize>>,
    /// Sample rate (Hz) -> number of readable files.
    pub sample_rates: BTreeMap<u32, usize>,
    /// Bits per sample -> number of readable files.
    pub bit_depths: BTreeMap<u32, usize>,
    /// ICBHI device code -> recordings.
    pub devices: BTreeMap<String, usize>,
    /// ICBHI diagnosis -> patients with recordings.
    pub diagnoses: BTreeMap<String, usize>,
    /// Coswara sound kind -> usable (non-empty) files.
    pub sounds: BTreeMap<String, usize>,
    /// Durations of the readable, non-empty files.
    pub durations_s: Option<DurationSummary>,
    /// Durations of the ICBHI respiratory cycles.
    pub cycle_durations_s: Option<DurationSummary>,
    /// Total audio duration in hours.
    pub total_hours: f64,
    /// Header-only (zero-frame) WAVs, skipped by the loaders.
    pub empty_files: usize,
    /// Every problem found, with its file.
    pub problems: Vec<Problem>,
}

impl Inspection {
    fn empty(format: Format, root: &Path) -> Self {
        Self {
            format,
            root: root.to_path_buf(),
            layout: None,
            recordings: 0,
            patients: 0,
            classes: BTreeMap::new(),
            splits: BTreeMap::new(),
            sample_rates: BTreeMap::new(),
            bit_depths: BTreeMap::new(),
            devices: BTreeMap::new(),
            diagnoses: BTreeMap::new(),
            sounds: BTreeMap::new(),
            durations_s: None,
            cycle_durations_s: None,
            total_hours: 0.0,
            empty_files: 0,
            problems: Vec::new(),
        }
    }

    fn add_headers<'a>(&mut self, headers: impl Iterator<Item = &'a WavHeader>) {
        let mut durations = Vec::new();
        for h in headers {
            *self.sample_rates.entry(h.sample_rate).or_default() += 1;
            if let Some(b) = h.bits_per_sample {
                *self.bit_depths.entry(b).or_default() += 1;
            }
            if h.frames == 0 {
                self.empty_files += 1;
            } else {
                durations.push(h.duration_s());
            }
        }
        self.total_hours = durations.iter().sum::<f64>() / 3600.0;
        self.durations_s = DurationSummary::of(&durations);
    }
}

fn zeroed(classes: &[String]) -> BTreeMap<String, usize> {
    classes.iter().map(|c| (c.clone(), 0)).collect()
}

fn inspect_icbhi(root: &Path) -> Result<Inspection> {
    let db = IcbhiDatabase::open(root)?;
    let mut out = Inspection::empty(Format::Icbhi, root);
    let names = CycleLabel::class_names();
    out.layout = Some(format!("{:?}", db.layout).to_lowercase());
    out.recordings = db.recordings.len();
    out.patients = db.patient_count();
    out.classes = zeroed(&names);
    let mut cycle_durations = Vec::new();
    for rec in &db.recordings {
        *out.devices
            .entry(rec.name.device.code().to_string())
            .or_default() += 1;
        let split = match (rec.split, &db.split_file) {
            (Some(s), _) => Some(s.name()),
            (None, Some(_)) => Some("unassigned"),
            (None, None) => None,
        };
        for c in &rec.cycles {
            let name = c.label().name().to_string();
            *out.classes.entry(name.clone()).or_default() += 1;
            if let Some(s) = split {
                *out.splits
                    .entry(s.to_string())
                    .or_insert_with(|| zeroed(&names))
                    .entry(name)
                    .or_default() += 1;
            }
            cycle_durations.push(c.duration_s());
        }
    }
    let patients: BTreeSet<u32> = db.recordings.iter().map(|r| r.name.patient).collect();
    for p in patients {
        let d = db.diagnosis_of(p).unwrap_or("unknown").to_string();
        *out.diagnoses.entry(d).or_default() += 1;
    }
    out.add_headers(db.recordings.iter().filter_map(|r| r.header.as_ref()));
    out.cycle_durations_s = DurationSummary::of(&cycle_durations);
    out.problems = db.problems;
    Ok(out)
}

fn inspect_coswara(root: &Path) -> Result<Inspection> {
    let db = CoswaraDatabase::open(root)?;
    let mut out = Inspection::empty(Format::Coswara, root);
    out.recordings = db.files.len();
    out.patients = db.participants.len();
    for p in &db.participants {
        let status = p.covid_status.clone().unwrap_or_else(|| "unknown".into());
        *out.classes.entry(status).or_default() += 1;
    }
    for f in db.files.iter().filter(|f| f.is_usable()) {
        *out.sounds.entry(f.kind.name().to_string()).or_default() += 1;
    }
    out.add_headers(db.files.iter().filter_map(|f| f.header.as_ref()));
    out.problems = db.problems;
    Ok(out)
}

fn inspect_folder(root: &Path) -> Result<Inspection> {
    let corpus = FolderCorpus::open(root)?;
    let mut out = Inspection::empty(Format::Folder, root);
    out.recordings = corpus.files.len();
    out.patients = corpus.files.len();
    out.classes = zeroed(&corpus.classes);
    for f in &corpus.files {
        let class = corpus.classes[f.class].clone();
        *out.classes.entry(class.clone()).or_default() += 1;
        if let Some(s) = &f.split {
            *out.splits
                .entry(s.clone())
                .or_insert_with(|| zeroed(&corpus.classes))
                .entry(class)
                .or_default() += 1;
        }
    }
    out.add_headers(corpus.files.iter().filter_map(|f| f.header.as_ref()));
    out.problems = corpus.problems;
    Ok(out)
}

fn inspect_corpus(root: &Path) -> Result<Inspection> {
    let corpus = GeneratedCorpus::open(root)?;
    let mut out = Inspection::empty(Format::Corpus, root);
    out.recordings = corpus.manifest.samples.len();
    out.classes = corpus.manifest.class_counts();
    if let Some(sr) = corpus
        .manifest
        .mel
        .get("sample_rate")
        .and_then(serde_json::Value::as_u64)
    {
        out.sample_rates
            .insert(u32::try_from(sr).unwrap_or(u32::MAX), out.recordings);
    }
    Ok(out)
}

/// Inspects the dataset at `root` (format detected when `None`).
///
/// Reads file names, annotations, metadata and WAV headers, not the audio. Fails when `root`
/// is not a dataset of the format (the error says what was expected) or when none of its
/// audio files is readable and non-empty; problems that leave the dataset usable are listed
/// in [`Inspection::problems`].
pub fn inspect(root: &Path, format: Option<Format>) -> Result<Inspection> {
    let format = match format {
        Some(f) => f,
        None => Format::detect(root)?,
    };
    let out = match format {
        Format::Icbhi => inspect_icbhi(root),
        Format::Coswara => inspect_coswara(root),
        Format::Folder => inspect_folder(root),
        Format::Corpus => inspect_corpus(root),
    }?;
    if format != Format::Corpus && out.durations_s.is_none() {
        let first: Vec<String> = out
            .problems
            .iter()
            .take(3)
            .map(ToString::to_string)
            .collect();
        return Err(Error::NoExamples {
            path: root.to_path_buf(),
            reason: format!("no readable audio file with samples; {}", first.join("; ")),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_summary() {
        assert_eq!(DurationSummary::of(&[]), None);
        let s = DurationSummary::of(&[3.0, 1.0, 2.0, 10.0]).unwrap();
        assert_eq!((s.min, s.median, s.max), (1.0, 2.5, 10.0));
        assert_eq!(DurationSummary::of(&[4.0]).unwrap().median, 4.0);
    }
}
