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

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::files::{self, WavHeader};
use crate::label::CycleLabel;
use crate::problem::Problem;

/// File name of the official train/test split.
pub const SPLIT_FILE: &str = "ICBHI_challenge_train_test.txt";
/// File name of the official diagnosis file.
pub const DIAGNOSIS_FILE: &str = "ICBHI_Challenge_diagnosis.txt";
/// File name of the official demographic file.
pub const DEMOGRAPHICS_FILE: &str = "ICBHI_Challenge_demographic_information.txt";
/// File name of Kaggle's diagnosis file (comma separated, no header).
pub const KAGGLE_DIAGNOSIS_FILE: &str = "patient_diagnosis.csv";
/// File name of Kaggle's demographic file (space separated).
pub const KAGGLE_DEMOGRAPHICS_FILE: &str = "demographic_info.txt";
/// Folder of the challenge's recordings.
pub const OFFICIAL_AUDIO_DIR: &str = "ICBHI_final_database";
/// Folder of Kaggle's recordings.
pub const KAGGLE_AUDIO_DIR: &str = "audio_and_txt_files";

/// Chest location of an ICBHI recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ChestLocation {
    /// Trachea (`Tc`).
    Trachea,
    /// Anterior left (`Al`).
    AnteriorLeft,
    /// Anterior right (`Ar`).
    AnteriorRight,
    /// Posterior left (`Pl`).
    PosteriorLeft,
    /// Posterior right (`Pr`).
    PosteriorRight,
    /// Lateral left (`Ll`).
    LateralLeft,
    /// Lateral right (`Lr`).
    LateralRight,
}

impl ChestLocation {
    /// All locations.
    pub const ALL: [ChestLocation; 7] = [
        Self::Trachea,
        Self::AnteriorLeft,
        Self::AnteriorRight,
        Self::PosteriorLeft,
        Self::PosteriorRight,
        Self::LateralLeft,
        Self::LateralRight,
    ];

    /// The code used in file names (`Tc`, `Al`, `Ar`, `Pl`, `Pr`, `Ll`, `Lr`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Trachea => "Tc",
            Self::AnteriorLeft => "Al",
            Self::AnteriorRight => "Ar",
            Self::PosteriorLeft => "Pl",
            Self::PosteriorRight => "Pr",
            Self::LateralLeft => "Ll",
            Self::LateralRight => "Lr",
        }
    }

    /// The location with file-name code `code` (exact case).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == code)
    }
}

/// Acquisition mode of an ICBHI recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AcquisitionMode {
    /// Sequential, single channel (`sc`).
    SingleChannel,
    /// Simultaneous, multichannel (`mc`).
    MultiChannel,
}

impl AcquisitionMode {
    /// The code used in file names (`sc`, `mc`).
    pub fn code(self) -> &'static str {
        match self {
            Self::SingleChannel => "sc",
            Self::MultiChannel => "mc",
        }
    }

    /// The mode with file-name code `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "sc" => Some(Self::SingleChannel),
            "mc" => Some(Self::MultiChannel),
            _ => None,
        }
    }
}

/// Recording device of an ICBHI recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Device {
    /// AKG C417L microphone (`AKGC417L`), 44.1 kHz.
    AkgC417L,
    /// 3M Littmann Classic II SE stethoscope (`LittC2SE`), 44.1 kHz.
    LittC2SE,
    /// 3M Littmann 3200 electronic stethoscope (`Litt3200`), 4 kHz.
    Litt3200,
    /// WelchAllyn Meditron Master Elite electronic stethoscope (`Meditron`), 44.1 kHz.
    Meditron,
}

impl Device {
    /// All devices.
    pub const ALL: [Device; 4] = [
        Self::AkgC417L,
        Self::LittC2SE,
        Self::Litt3200,
        Self::Meditron,
    ];

    /// The code used in file names.
    pub fn code(self) -> &'static str {
        match self {
            Self::AkgC417L => "AKGC417L",
            Self::LittC2SE => "LittC2SE",
            Self::Litt3200 => "Litt3200",
            Self::Meditron => "Meditron",
        }
    }

    /// The device with file-name code `code` (exact case).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.code() == code)
    }

    /// Sample rate of this device's files in the database, in Hz.
    pub fn sample_rate(self) -> u32 {
        match self {
            Self::Litt3200 => 4_000,
            _ => 44_100,
        }
    }
}

/// The parsed name of an ICBHI recording, `Patient_Index_Location_Mode_Device`
/// (e.g. `104_1b1_Al_sc_Litt3200`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordingName {
    /// Patient number (101..=226 in the database).
    pub patient: u32,
    /// Recording index, e.g. `1b1` or `2p3`.
    pub index: String,
    /// Chest location.
    pub location: ChestLocation,
    /// Acquisition mode.
    pub mode: AcquisitionMode,
    /// Recording device.
    pub device: Device,
}

impl RecordingName {
    /// Parses a file stem (without `.wav`/`.txt`).
    pub fn parse(stem: &str) -> Result<Self> {
        let bad = |reason: String| Error::RecordingName {
            name: stem.to_string(),
            reason,
        };
        let parts: Vec<&str> = stem.split('_').collect();
        if parts.len() != 5 {
            return Err(bad(format!(
                "{} underscore-separated fields instead of 5",
                parts.len()
            )));
        }
        let patient = parts[0]
            .parse::<u32>()
            .ok()
            .filter(|_| parts[0].chars().all(|c| c.is_ascii_digit()))
            .ok_or_else(|| bad(format!("patient `{}` is not a number", parts[0])))?;
        let index = parts[1];
        if index.is_empty() || !index.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad(format!(
                "recording index `{index}` is not alphanumeric"
            )));
        }
        let location = ChestLocation::from_code(parts[2]).ok_or_else(|| {
            bad(format!(
                "chest location `{}` is not one of Tc, Al, Ar, Pl, Pr, Ll, Lr",
                parts[2]
            ))
        })?;
        let mode = AcquisitionMode::from_code(parts[3])
            .ok_or_else(|| bad(format!("acquisition mode `{}` is not sc or mc", parts[3])))?;
        let device = Device::from_code(parts[4]).ok_or_else(|| {
            bad(format!(
                "device `{}` is not one of AKGC417L, LittC2SE, Litt3200, Meditron",
                parts[4]
            ))
        })?;
        Ok(Self {
            patient,
            index: index.to_string(),
            location,
            mode,
            device,
        })
    }

    /// The file stem this name is written as.
    pub fn stem(&self) -> String {
        self.to_string()
    }

    /// The stem without the device field; the same recording carries different device names
    /// in different copies of the database (`226_1b1_Pl_sc`).
    pub fn without_device(&self) -> String {
        format!(
            "{}_{}_{}_{}",
            self.patient,
            self.index,
            self.location.code(),
            self.mode.code()
        )
    }
}

impl std::fmt::Display for RecordingName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.without_device(), self.device.code())
    }
}

impl std::str::FromStr for RecordingName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// One annotated respiratory cycle of a recording.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RespiratoryCycle {
    /// Start in seconds from the beginning of the recording.
    pub start_s: f64,
    /// End in seconds (may equal the recording's duration exactly).
    pub end_s: f64,
    /// Whether the annotators heard crackles.
    pub crackles: bool,
    /// Whether the annotators heard wheezes.
    pub wheezes: bool,
}

impl RespiratoryCycle {
    /// The cycle's four-class label.
    pub fn label(&self) -> CycleLabel {
        CycleLabel::from_flags(self.crackles, self.wheezes)
    }

    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.end_s - self.start_s
    }
}

/// Parses a cycle annotation file: one `start end crackles wheezes` line per cycle, tab (or
/// space) separated, LF or CRLF; blank lines are ignored. `path` is only used in errors.
pub fn parse_annotations(text: &str, path: &Path) -> Result<Vec<RespiratoryCycle>> {
    let mut cycles = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |reason: String| Error::Annotation {
            path: path.to_path_buf(),
            line: i + 1,
            reason,
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() != 4 {
            return Err(bad(format!(
                "{} fields in `{line}` instead of 4",
                fields.len()
            )));
        }
        let time = |s: &str, what: &str| -> Result<f64> {
            s.parse::<f64>()
                .ok()
                .filter(|t| t.is_finite() && *t >= 0.0)
                .ok_or_else(|| {
                    bad(format!(
                        "{what} `{s}` is not a non-negative number of seconds"
                    ))
                })
        };
        let flag = |s: &str, what: &str| -> Result<bool> {
            match s {
                "0" => Ok(false),
                "1" => Ok(true),
                _ => Err(bad(format!("{what} flag `{s}` is not 0 or 1"))),
            }
        };
        let start_s = time(fields[0], "start")?;
        let end_s = time(fields[1], "end")?;
        if end_s <= start_s {
            return Err(bad(format!("end {end_s} s is not after start {start_s} s")));
        }
        cycles.push(RespiratoryCycle {
            start_s,
            end_s,
            crackles: flag(fields[2], "crackles")?,
            wheezes: flag(fields[3], "wheezes")?,
        });
    }
    Ok(cycles)
}

/// Reads and parses an annotation file.
pub fn read_annotations(path: &Path) -> Result<Vec<RespiratoryCycle>> {
    parse_annotations(&files::read_text(path)?, path)
}

/// Writes cycles in the database's format: tab separated, LF, trailing newline, times with
/// up to 4 decimals and no trailing zeros (`0`, `1.8771`, `15.856`).
pub fn format_annotations(cycles: &[RespiratoryCycle]) -> String {
    let mut s = String::new();
    for c in cycles {
        s.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            format_seconds(c.start_s),
            format_seconds(c.end_s),
            u8::from(c.crackles),
            u8::from(c.wheezes)
        ));
    }
    s
}

/// Seconds with up to 4 decimals, trailing zeros removed.
pub(crate) fn format_seconds(t: f64) -> String {
    let s = format!("{t:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() { "0".into() } else { s.into() }
}

/// Side of the official ICBHI split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IcbhiSplit {
    /// Training set (60 %).
    Train,
    /// Test set (40 %).
    Test,
}

impl IcbhiSplit {
    /// `train` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Test => "test",
        }
    }
}

/// Parses `ICBHI_challenge_train_test.txt`: `<recording stem><TAB>train|test` per line, CRLF.
pub fn parse_official_split(text: &str, path: &Path) -> Result<BTreeMap<String, IcbhiSplit>> {
    let mut out = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let split = match fields.as_slice() {
            [_, "train"] => IcbhiSplit::Train,
            [_, "test"] => IcbhiSplit::Test,
            _ => {
                return Err(Error::Metadata {
                    path: path.to_path_buf(),
                    line: i + 1,
                    reason: format!(
                        "`{line}` is not `<recording name><TAB>train|test` (the format of {SPLIT_FILE})"
                    ),
                });
            }
        };
        out.insert(fields[0].to_string(), split);
    }
    Ok(out)
}

/// Parses a diagnosis file: `patient<TAB>diagnosis` (official) or `patient,diagnosis`
/// (Kaggle's header-less `patient_diagnosis.csv`).
pub fn parse_diagnosis(text: &str, path: &Path) -> Result<BTreeMap<u32, String>> {
    let mut out = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.splitn(2, ['\t', ',']);
        let patient = parts.next().unwrap_or("").trim();
        let diagnosis = parts.next().unwrap_or("").trim();
        match (patient.parse::<u32>(), diagnosis.is_empty()) {
            (Ok(p), false) => {
                out.insert(p, diagnosis.to_string());
            }
            _ => {
                return Err(Error::Metadata {
                    path: path.to_path_buf(),
                    line: i + 1,
                    reason: format!(
                        "`{line}` is not `patient<TAB>diagnosis` or `patient,diagnosis`"
                    ),
                });
            }
        }
    }
    Ok(out)
}

/// Sex as recorded in the demographic file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sex {
    /// `F`.
    Female,
    /// `M`.
    Male,
}

/// One patient's demographics; `NA` in the file is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Demographics {
    /// Age in years (may be fractional: 0.25).
    pub age_years: Option<f32>,
    /// Sex.
    pub sex: Option<Sex>,
    /// Body-mass index of adults, kg/m².
    pub adult_bmi: Option<f32>,
    /// Weight of children, kg.
    pub child_weight_kg: Option<f32>,
    /// Height of children, cm.
    pub child_height_cm: Option<f32>,
}

/// Parses a demographic file: `patient age sex adult_bmi child_weight child_height`, tab
/// (official) or space (Kaggle) separated, `NA` for missing values.
pub fn parse_demographics(text: &str, path: &Path) -> Result<BTreeMap<u32, Demographics>> {
    let mut out = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |reason: String| Error::Metadata {
            path: path.to_path_buf(),
            line: i + 1,
            reason,
        };
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 6 {
            return Err(bad(format!(
                "{} fields instead of 6 (patient, age, sex, adult BMI, child weight, child height)",
                f.len()
            )));
        }
        let patient = f[0]
            .parse::<u32>()
            .map_err(|_| bad(format!("patient `{}` is not a number", f[0])))?;
        let num = |s: &str, what: &str| -> Result<Option<f32>> {
            if s == "NA" {
                Ok(None)
            } else {
                s.parse::<f32>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .map(Some)
                    .ok_or_else(|| bad(format!("{what} `{s}` is neither a number nor NA")))
            }
        };
        let sex = match f[2] {
            "F" => Some(Sex::Female),
            "M" => Some(Sex::Male),
            "NA" => None,
            other => return Err(bad(format!("sex `{other}` is not F, M or NA"))),
        };
        out.insert(
            patient,
            Demographics {
                age_years: num(f[1], "age")?,
                sex,
                adult_bmi: num(f[3], "adult BMI")?,
                child_weight_kg: num(f[4], "child weight")?,
                child_height_cm: num(f[5], "child height")?,
            },
        );
    }
    Ok(out)
}

/// How the copy of the database is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IcbhiLayout {
    /// The challenge's `ICBHI_final_database/`.
    Official,
    /// Kaggle's `audio_and_txt_files/`.
    Kaggle,
    /// Recordings directly in a folder.
    Flat,
}

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

fn is_icbhi_stem(stem: &str) -> bool {
    RecordingName::parse(stem).is_ok()
}

fn holds_icbhi_recordings(dir: &Path) -> bool {
    files::wav_files(dir)
        .map(|w| w.iter().any(|p| is_icbhi_stem(&files::stem_of(p))))
        .unwrap_or(false)
}

/// Finds the folder holding the recordings under `root` (at most three levels down), and the
/// layout it belongs to.
pub fn find_audio_dir(root: &Path) -> Option<(PathBuf, IcbhiLayout)> {
    let official = root.join(OFFICIAL_AUDIO_DIR);
    if official.is_dir() && holds_icbhi_recordings(&official) {
        return Some((official, IcbhiLayout::Official));
    }
    if holds_icbhi_recordings(root) {
        let layout = match root.file_name().and_then(|n| n.to_str()) {
            Some(OFFICIAL_AUDIO_DIR) => IcbhiLayout::Official,
            Some(KAGGLE_AUDIO_DIR) => IcbhiLayout::Kaggle,
            _ => IcbhiLayout::Flat,
        };
        return Some((root.to_path_buf(), layout));
    }
    // Breadth-first below the root, named folders first.
    let mut level = vec![root.to_path_buf()];
    for _depth in 0..3 {
        let mut next = Vec::new();
        for dir in &level {
            for sub in files::sorted_subdirs(dir).unwrap_or_default() {
                let name = sub.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if (name == OFFICIAL_AUDIO_DIR || name == KAGGLE_AUDIO_DIR)
                    && holds_icbhi_recordings(&sub)
                {
                    let layout = if name == OFFICIAL_AUDIO_DIR {
                        IcbhiLayout::Official
                    } else {
                        IcbhiLayout::Kaggle
                    };
                    return Some((sub, layout));
                }
                next.push(sub);
            }
        }
        if let Some(dir) = next.iter().find(|d| holds_icbhi_recordings(d)) {
            return Some((dir.clone(), IcbhiLayout::Flat));
        }
        level = next;
    }
    None
}

/// The first of `names` (in preference order) found in any of `dirs`.
fn find_metadata(dirs: &[PathBuf], names: &[&str]) -> Option<PathBuf> {
    for name in names {
        for dir in dirs {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
        // Case-insensitive fallback (copies re-packaged on case-insensitive file systems).
        for dir in dirs {
            let found = files::sorted_entries(dir).ok().and_then(|entries| {
                entries.into_iter().find(|p| {
                    p.is_file()
                        && p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.eq_ignore_ascii_case(name))
                })
            });
            if found.is_some() {
                return found;
            }
        }
    }
    None
}

impl IcbhiDatabase {
    /// Discovers the database under `root` and reads its annotations, metadata and headers.
    ///
    /// Fails only when no ICBHI recording is found or a metadata file is malformed; damaged
    /// recordings and annotation files become [`Problem`]s.
    pub fn open(root: &Path) -> Result<Self> {
        let (audio_dir, layout) = find_audio_dir(root).ok_or_else(|| Error::NotADataset {
            path: root.to_path_buf(),
            expected: format!(
                "expected ICBHI 2017 recordings named like 104_1b1_Al_sc_Litt3200.wav in \
                 {OFFICIAL_AUDIO_DIR}/, in Kaggle's {KAGGLE_AUDIO_DIR}/, or directly in the folder"
            ),
        })?;
        let mut problems = Vec::new();

        let mut dirs = vec![root.to_path_buf(), audio_dir.clone()];
        if let Some(parent) = audio_dir.parent() {
            dirs.push(parent.to_path_buf());
            if let Some(grand) = parent
                .parent()
                .filter(|g| g.starts_with(root) && *g != root)
            {
                dirs.push(grand.to_path_buf());
            }
        }
        dirs.extend(files::sorted_subdirs(root).unwrap_or_default());
        dirs.dedup();

        let split_file = find_metadata(&dirs, &[SPLIT_FILE]);
        let diagnosis_file = find_metadata(&dirs, &[DIAGNOSIS_FILE, KAGGLE_DIAGNOSIS_FILE]);
        let demographics_file =
            find_metadata(&dirs, &[DEMOGRAPHICS_FILE, KAGGLE_DEMOGRAPHICS_FILE]);

        let split_map = match &split_file {
            Some(p) => parse_official_split(&files::read_text(p)?, p)?,
            None => {
                problems.push(Problem::new(
                    root,
                    format!(
                        "no official split file ({SPLIT_FILE}) found; only the `folds` and `all` \
                         splits are available (put the file next to the recordings to use `official`)"
                    ),
                ));
                BTreeMap::new()
            }
        };
        let diagnosis = match &diagnosis_file {
            Some(p) => parse_diagnosis(&files::read_text(p)?, p)?,
            None => {
                problems.push(Problem::new(
                    root,
                    format!(
                        "no diagnosis file ({DIAGNOSIS_FILE} or {KAGGLE_DIAGNOSIS_FILE}) found"
                    ),
                ));
                BTreeMap::new()
            }
        };
        let demographics = match &demographics_file {
            Some(p) => parse_demographics(&files::read_text(p)?, p)?,
            None => {
                problems.push(Problem::new(
                    root,
                    format!(
                        "no demographic file ({DEMOGRAPHICS_FILE} or {KAGGLE_DEMOGRAPHICS_FILE}) found"
                    ),
                ));
                BTreeMap::new()
            }
        };
        // Split entries keyed without the device, to resolve renamed recordings.
        let mut by_short: BTreeMap<String, Vec<(&String, IcbhiSplit)>> = BTreeMap::new();
        for (name, split) in &split_map {
            if let Ok(parsed) = RecordingName::parse(name) {
                by_short
                    .entry(parsed.without_device())
                    .or_default()
                    .push((name, *split));
            }
        }

        let entries = files::sorted_entries(&audio_dir)?;
        let mut wav_stems = BTreeSet::new();
        let mut recordings = Vec::new();
        let mut unknown_patients = BTreeSet::new();
        for wav in entries
            .iter()
            .filter(|p| p.is_file() && files::has_extension(p, "wav") && !files::is_hidden(p))
        {
            let stem = files::stem_of(wav);
            let name = match RecordingName::parse(&stem) {
                Ok(n) => n,
                Err(e) => {
                    problems.push(Problem::new(wav, format!("{e}; file skipped")));
                    continue;
                }
            };
            wav_stems.insert(stem.clone());
            let header = match files::read_wav_header(wav) {
                Ok(h) if h.frames == 0 => {
                    problems.push(Problem::new(wav, "zero frames (header-only WAV); skipped"));
                    Some(h)
                }
                Ok(h) => Some(h),
                Err(e) => {
                    problems.push(Problem::new(wav, format!("unreadable audio: {e}; skipped")));
                    None
                }
            };
            let txt = wav.with_extension("txt");
            let (annotation, cycles) = if txt.is_file() {
                match read_annotations(&txt) {
                    Ok(c) if c.is_empty() => {
                        problems.push(Problem::new(&txt, "annotation file has no cycles"));
                        (Some(txt), c)
                    }
                    Ok(c) => (Some(txt), c),
                    Err(e) => {
                        problems.push(Problem::new(&txt, format!("{e}; its cycles are not used")));
                        (None, Vec::new())
                    }
                }
            } else {
                problems.push(Problem::new(
                    wav,
                    format!(
                        "no annotation file ({stem}.txt) beside the recording; its cycles are unknown"
                    ),
                ));
                (None, Vec::new())
            };
            if let (Some(h), Some(last)) = (header.filter(|h| h.frames > 0), cycles.last()) {
                let duration = h.duration_s();
                // The last cycle may end exactly at the end of the file: compare with <=,
                // allowing one sample (plus float slack) for the decimal rounding of the
                // annotation and the flooring of the cut (a file cut at the last cycle's
                // end, as in icbhi-dev, may stop one sample short of its annotated time).
                let max_end = cycles.iter().map(|c| c.end_s).fold(last.end_s, f64::max);
                if max_end > duration + 1.0 / f64::from(h.sample_rate.max(1)) + 1e-9 {
                    problems.push(Problem::new(
                        annotation.as_deref().unwrap_or(wav),
                        format!(
                            "annotation ends at {max_end} s, past the end of the audio ({duration} s); \
                             cycles are cut at the end of the audio"
                        ),
                    ));
                }
            }
            let split = if split_file.is_none() {
                None
            } else if let Some(s) = split_map.get(&stem) {
                Some(*s)
            } else {
                match by_short.get(&name.without_device()).map(Vec::as_slice) {
                    Some([(listed, s)]) => {
                        problems.push(Problem::new(
                            wav,
                            format!(
                                "name mismatch: the official split lists `{listed}` for this recording \
                                 (device named differently); using its split `{}`",
                                s.name()
                            ),
                        ));
                        Some(*s)
                    }
                    _ => {
                        problems.push(Problem::new(
                            wav,
                            format!("not listed in {SPLIT_FILE}; left out of the official split"),
                        ));
                        None
                    }
                }
            };
            if diagnosis_file.is_some() && !diagnosis.contains_key(&name.patient) {
                unknown_patients.insert(name.patient);
            }
            recordings.push(IcbhiRecording {
                name,
                wav: wav.clone(),
                annotation,
                cycles,
                split,
                header,
            });
        }
        if let Some(p) = &diagnosis_file {
            for patient in unknown_patients {
                problems.push(Problem::new(
                    p,
                    format!("unknown patient {patient}: it has recordings but no diagnosis"),
                ));
            }
        }
        for txt in entries
            .iter()
            .filter(|p| p.is_file() && files::has_extension(p, "txt"))
        {
            let stem = files::stem_of(txt);
            if is_icbhi_stem(&stem) && !wav_stems.contains(&stem) {
                problems.push(Problem::new(
                    txt,
                    format!("annotation without a recording ({stem}.wav is missing)"),
                ));
            }
        }
        if recordings.is_empty() {
            return Err(Error::NotADataset {
                path: root.to_path_buf(),
                expected: "no parsable ICBHI 2017 recording was found".into(),
            });
        }
        Ok(Self {
            root: root.to_path_buf(),
            audio_dir,
            layout,
            recordings,
            split_file,
            diagnosis_file,
            demographics_file,
            diagnosis,
            demographics,
            problems,
        })
    }

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

/// Cycle counts per class of one recording, in [`CycleLabel::ALL`] order.
pub fn cycle_counts(cycles: &[RespiratoryCycle]) -> [usize; 4] {
    let mut counts = [0; 4];
    for c in cycles {
        counts[c.label().index()] += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_names_parse_every_field() {
        let n = RecordingName::parse("130_1p3_Ll_mc_AKGC417L").unwrap();
        assert_eq!(n.patient, 130);
        assert_eq!(n.index, "1p3");
        assert_eq!(n.location, ChestLocation::LateralLeft);
        assert_eq!(n.mode, AcquisitionMode::MultiChannel);
        assert_eq!(n.device, Device::AkgC417L);
        assert_eq!(n.stem(), "130_1p3_Ll_mc_AKGC417L");
        assert_eq!(n.without_device(), "130_1p3_Ll_mc");
        for loc in ChestLocation::ALL {
            for dev in Device::ALL {
                let s = format!("101_1b1_{}_sc_{}", loc.code(), dev.code());
                assert_eq!(RecordingName::parse(&s).unwrap().to_string(), s);
            }
        }
        assert_eq!(Device::Litt3200.sample_rate(), 4000);
    }

    #[test]
    fn bad_recording_names_say_which_field() {
        for (stem, needle) in [
            ("101_1b1_Al_sc", "4 underscore"),
            ("abc_1b1_Al_sc_Meditron", "patient"),
            ("101_1b1_Xx_sc_Meditron", "chest location"),
            ("101_1b1_Al_zz_Meditron", "acquisition mode"),
            ("101_1b1_Al_sc_Stetho", "device"),
            ("101__Al_sc_Meditron", "recording index"),
        ] {
            let e = RecordingName::parse(stem).unwrap_err().to_string();
            assert!(e.contains(needle), "{stem}: {e}");
            assert!(e.contains(stem), "{e}");
        }
    }

    #[test]
    fn annotations_parse_and_bad_lines_name_file_and_line() {
        let p = Path::new("x/101_1b1_Al_sc_Meditron.txt");
        let c = parse_annotations("0.264\t1.736\t0\t0\n1.736\t3.293\t1\t1\r\n\n", p).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].label(), CycleLabel::Both);
        assert!((c[0].duration_s() - 1.472).abs() < 1e-12);
        for (text, needle) in [
            ("0\t1\t0\n", "3 fields"),
            ("0\t1\t0\t2\n", "wheezes flag `2`"),
            ("0\tx\t0\t0\n", "end `x`"),
            ("2\t1\t0\t0\n", "not after start"),
            ("0\t1\t0\t0\n-1\t2\t0\t0\n", "line 2"),
        ] {
            let e = parse_annotations(text, p).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
            assert!(e.contains("101_1b1_Al_sc_Meditron.txt"), "{e}");
        }
        let text = format_annotations(&c);
        assert_eq!(text, "0.264\t1.736\t0\t0\n1.736\t3.293\t1\t1\n");
        assert_eq!(format_seconds(15.856), "15.856");
        assert_eq!(format_seconds(0.0), "0");
        assert_eq!(format_seconds(1.87712), "1.8771");
    }

    #[test]
    fn metadata_files_parse_in_both_variants() {
        let p = Path::new("m.txt");
        let s = parse_official_split(
            "101_1b1_Al_sc_Meditron\ttest\r\n103_2b2_Ar_mc_LittC2SE\ttrain\r\n",
            p,
        )
        .unwrap();
        assert_eq!(s["101_1b1_Al_sc_Meditron"], IcbhiSplit::Test);
        assert_eq!(s["103_2b2_Ar_mc_LittC2SE"], IcbhiSplit::Train);
        assert!(
            parse_official_split("a\tvalid\r\n", p)
                .unwrap_err()
                .to_string()
                .contains("line 1")
        );

        let d1 = parse_diagnosis("101\tURTI\n102\tHealthy\n", p).unwrap();
        let d2 = parse_diagnosis("101,URTI\r\n102,Healthy", p).unwrap();
        assert_eq!(d1, d2);
        assert_eq!(d1[&102], "Healthy");
        assert!(parse_diagnosis("x,URTI\n", p).is_err());

        let a =
            parse_demographics("101\t3\tF\tNA\t19\t99\r\n103\t0.25\tM\t33\tNA\tNA\r\n", p).unwrap();
        let b = parse_demographics("101 3 F NA 19 99\r\n103 0.25 M 33 NA NA\r\n", p).unwrap();
        assert_eq!(a, b);
        assert_eq!(a[&103].age_years, Some(0.25));
        assert_eq!(a[&101].adult_bmi, None);
        assert_eq!(a[&101].child_height_cm, Some(99.0));
        assert_eq!(a[&101].sex, Some(Sex::Female));
        let e = parse_demographics("101 3 F NA 19\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("5 fields"), "{e}");
    }
}
