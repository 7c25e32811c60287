//! Opening a copy of the database: find the recordings and the metadata files, read the
//! metadata, then each recording's header, annotations and split, reporting what is odd.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::annotations::{RespiratoryCycle, read_annotations};
use super::database::{IcbhiDatabase, IcbhiRecording};
use super::layout::{
    DEMOGRAPHICS_FILE, DIAGNOSIS_FILE, KAGGLE_AUDIO_DIR, KAGGLE_DEMOGRAPHICS_FILE,
    KAGGLE_DIAGNOSIS_FILE, OFFICIAL_AUDIO_DIR, SPLIT_FILE, find_audio_dir, find_metadata,
    is_icbhi_stem,
};
use super::metadata::{
    Demographics, IcbhiSplit, parse_demographics, parse_diagnosis, parse_official_split,
};
use super::name::RecordingName;
use crate::error::{Error, Result};
use crate::files::{self, WavHeader};
use crate::problem::Problem;

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
        let metadata = Metadata::read(root, &metadata_dirs(root, &audio_dir), &mut problems)?;
        let splits = SplitIndex::new(&metadata.split_map);

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
            let header = read_header(wav, &mut problems);
            let (annotation, cycles) = read_cycles(wav, &stem, &mut problems);
            check_annotation_end(header, &cycles, annotation.as_deref(), wav, &mut problems);
            let split = if metadata.split_file.is_none() {
                None
            } else {
                splits.split_of(wav, &stem, &name, &mut problems)
            };
            if metadata.diagnosis_file.is_some() && !metadata.diagnosis.contains_key(&name.patient)
            {
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
        if let Some(p) = &metadata.diagnosis_file {
            for patient in unknown_patients {
                problems.push(Problem::new(
                    p,
                    format!("unknown patient {patient}: it has recordings but no diagnosis"),
                ));
            }
        }
        report_orphan_annotations(&entries, &wav_stems, &mut problems);
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
            split_file: metadata.split_file,
            diagnosis_file: metadata.diagnosis_file,
            demographics_file: metadata.demographics_file,
            diagnosis: metadata.diagnosis,
            demographics: metadata.demographics,
            problems,
        })
    }
}

/// The folders searched for metadata files: the root, the audio folder, its parent and
/// grandparent (when below the root), and the root's sub-folders.
fn metadata_dirs(root: &Path, audio_dir: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![root.to_path_buf(), audio_dir.to_path_buf()];
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
    dirs
}

/// The metadata files found and what they hold (empty maps for missing files).
struct Metadata {
    split_file: Option<PathBuf>,
    diagnosis_file: Option<PathBuf>,
    demographics_file: Option<PathBuf>,
    split_map: BTreeMap<String, IcbhiSplit>,
    diagnosis: BTreeMap<u32, String>,
    demographics: BTreeMap<u32, Demographics>,
}

impl Metadata {
    /// Finds the split, diagnosis and demographic files in `dirs` and parses them; a missing
    /// file is a problem of `root`, a malformed one an error.
    fn read(root: &Path, dirs: &[PathBuf], problems: &mut Vec<Problem>) -> Result<Self> {
        let split_file = find_metadata(dirs, &[SPLIT_FILE]);
        let diagnosis_file = find_metadata(dirs, &[DIAGNOSIS_FILE, KAGGLE_DIAGNOSIS_FILE]);
        let demographics_file = find_metadata(dirs, &[DEMOGRAPHICS_FILE, KAGGLE_DEMOGRAPHICS_FILE]);
        let split_map = parse_or_report(split_file.as_deref(), parse_official_split, || {
            problems.push(Problem::new(
                root,
                format!(
                    "no official split file ({SPLIT_FILE}) found; only the `folds` and `all` \
                     splits are available (put the file next to the recordings to use `official`)"
                ),
            ));
        })?;
        let diagnosis = parse_or_report(diagnosis_file.as_deref(), parse_diagnosis, || {
            problems.push(Problem::new(
                root,
                format!("no diagnosis file ({DIAGNOSIS_FILE} or {KAGGLE_DIAGNOSIS_FILE}) found"),
            ));
        })?;
        let demographics =
            parse_or_report(demographics_file.as_deref(), parse_demographics, || {
                problems.push(Problem::new(
                root,
                format!(
                    "no demographic file ({DEMOGRAPHICS_FILE} or {KAGGLE_DEMOGRAPHICS_FILE}) found"
                ),
            ));
            })?;
        Ok(Self {
            split_file,
            diagnosis_file,
            demographics_file,
            split_map,
            diagnosis,
            demographics,
        })
    }
}

/// Reads and parses `file` when there is one; otherwise calls `missing` and returns an empty
/// map.
fn parse_or_report<K: Ord, V>(
    file: Option<&Path>,
    parse: fn(&str, &Path) -> Result<BTreeMap<K, V>>,
    missing: impl FnOnce(),
) -> Result<BTreeMap<K, V>> {
    match file {
        Some(p) => parse(&files::read_text(p)?, p),
        None => {
            missing();
            Ok(BTreeMap::new())
        }
    }
}

/// The official split, also keyed by recording names without the device, to resolve
/// recordings whose device is named differently in the split file.
struct SplitIndex<'a> {
    by_name: &'a BTreeMap<String, IcbhiSplit>,
    by_short: BTreeMap<String, Vec<(&'a String, IcbhiSplit)>>,
}

impl<'a> SplitIndex<'a> {
    fn new(by_name: &'a BTreeMap<String, IcbhiSplit>) -> Self {
        let mut by_short: BTreeMap<String, Vec<(&String, IcbhiSplit)>> = BTreeMap::new();
        for (name, split) in by_name {
            if let Ok(parsed) = RecordingName::parse(name) {
                by_short
                    .entry(parsed.without_device())
                    .or_default()
                    .push((name, *split));
            }
        }
        Self { by_name, by_short }
    }

    /// The split side of the recording `wav`: by its exact name, else by its name without
    /// the device when one listed recording matches (reported as a name mismatch); a
    /// recording not listed is reported and left out.
    fn split_of(
        &self,
        wav: &Path,
        stem: &str,
        name: &RecordingName,
        problems: &mut Vec<Problem>,
    ) -> Option<IcbhiSplit> {
        if let Some(s) = self.by_name.get(stem) {
            return Some(*s);
        }
        match self.by_short.get(&name.without_device()).map(Vec::as_slice) {
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
    }
}

/// The recording's header; a header-only or unreadable file is reported.
fn read_header(wav: &Path, problems: &mut Vec<Problem>) -> Option<WavHeader> {
    match files::read_wav_header(wav) {
        Ok(h) if h.frames == 0 => {
            problems.push(Problem::new(wav, "zero frames (header-only WAV); skipped"));
            Some(h)
        }
        Ok(h) => Some(h),
        Err(e) => {
            problems.push(Problem::new(wav, format!("unreadable audio: {e}; skipped")));
            None
        }
    }
}

/// The annotation file beside `wav` and its cycles; a missing, empty or malformed file is
/// reported (a malformed one gives no cycles).
fn read_cycles(
    wav: &Path,
    stem: &str,
    problems: &mut Vec<Problem>,
) -> (Option<PathBuf>, Vec<RespiratoryCycle>) {
    let txt = wav.with_extension("txt");
    if !txt.is_file() {
        problems.push(Problem::new(
            wav,
            format!("no annotation file ({stem}.txt) beside the recording; its cycles are unknown"),
        ));
        return (None, Vec::new());
    }
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
}

/// Reports annotations that end past the end of the audio.
fn check_annotation_end(
    header: Option<WavHeader>,
    cycles: &[RespiratoryCycle],
    annotation: Option<&Path>,
    wav: &Path,
    problems: &mut Vec<Problem>,
) {
    let (Some(h), Some(last)) = (header.filter(|h| h.frames > 0), cycles.last()) else {
        return;
    };
    let duration = h.duration_s();
    // The last cycle may end exactly at the end of the file: compare with <=, allowing one
    // sample (plus float slack) for the decimal rounding of the annotation and the flooring
    // of the cut (a file cut at the last cycle's end, as in icbhi-dev, may stop one sample
    // short of its annotated time).
    let max_end = cycles.iter().map(|c| c.end_s).fold(last.end_s, f64::max);
    if max_end > duration + 1.0 / f64::from(h.sample_rate.max(1)) + 1e-9 {
        problems.push(Problem::new(
            annotation.unwrap_or(wav),
            format!(
                "annotation ends at {max_end} s, past the end of the audio ({duration} s); \
                 cycles are cut at the end of the audio"
            ),
        ));
    }
}

/// Reports annotation files in the audio folder whose recording is missing.
fn report_orphan_annotations(
    entries: &[PathBuf],
    wav_stems: &BTreeSet<String>,
    problems: &mut Vec<Problem>,
) {
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
}
