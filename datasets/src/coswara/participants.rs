//! A discovered copy of Coswara ([`CoswaraDatabase`]): its participants and their sound
//! files, found by walking the date folders.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::combined_csv::{CoswaraRow, read_combined_csv};
use super::layout::{COMBINED_CSV, EXTRACTED_DIR, find_combined_csv, find_date_dirs};
use super::sound::SoundKind;
use crate::error::{Error, Result};
use crate::files::{self, WavHeader};
use crate::problem::Problem;

/// One participant folder.
#[derive(Debug, Clone, PartialEq)]
pub struct CoswaraParticipant {
    /// Participant id (the folder name).
    pub id: String,
    /// Recording date folder (`YYYYMMDD`).
    pub date: String,
    /// The participant's folder.
    pub dir: PathBuf,
    /// `covid_status` from the CSV, else from `metadata.json`; `None` when neither has it.
    pub covid_status: Option<String>,
    /// The True/False columns that are True in the participant's CSV row; `None` when the
    /// CSV has no row for the participant.
    pub flags: Option<BTreeSet<String>>,
}

/// One sound file of a participant.
#[derive(Debug, Clone, PartialEq)]
pub struct CoswaraFile {
    /// Index into [`CoswaraDatabase::participants`].
    pub participant: usize,
    /// Which sound.
    pub kind: SoundKind,
    /// The file.
    pub path: PathBuf,
    /// Header facts; `None` when unreadable.
    pub header: Option<WavHeader>,
}

impl CoswaraFile {
    /// Whether the file holds samples (readable and more than zero frames).
    pub fn is_usable(&self) -> bool {
        self.header.is_some_and(|h| h.frames > 0)
    }
}

/// A discovered copy of Coswara.
#[derive(Debug, Clone)]
pub struct CoswaraDatabase {
    /// The folder given by the user.
    pub root: PathBuf,
    /// The metadata table used, when found.
    pub csv: Option<PathBuf>,
    /// Participants, sorted by date then id.
    pub participants: Vec<CoswaraParticipant>,
    /// Sound files, in participant order then [`SoundKind::ALL`] order.
    pub files: Vec<CoswaraFile>,
    /// Number of header-only (zero-frame) WAVs, which are skipped.
    pub empty_files: usize,
    /// Everything odd found, none of it fatal.
    pub problems: Vec<Problem>,
}

fn metadata_status(dir: &Path) -> Option<String> {
    let text = files::read_text(&dir.join("metadata.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("covid_status")?
        .as_str()
        .map(|s| s.trim().to_string())
}

impl CoswaraDatabase {
    /// Discovers the participants under `root`, reads the CSV and every WAV header.
    pub fn open(root: &Path) -> Result<Self> {
        let mut problems = Vec::new();
        let csv = find_combined_csv(root);
        let rows = read_rows(root, csv.as_deref(), &mut problems)?;
        let date_dirs = find_date_dirs(root);
        if date_dirs.is_empty() {
            return Err(Error::NotADataset {
                path: root.to_path_buf(),
                expected: format!(
                    "expected Coswara participant folders YYYYMMDD/<id>/*.wav (or {EXTRACTED_DIR}/YYYYMMDD/<id>/)"
                ),
            });
        }
        let mut scan = Scan {
            rows: &rows,
            participants: Vec::new(),
            files: Vec::new(),
            empty_files: 0,
            seen: BTreeSet::new(),
            problems,
        };
        for date_dir in &date_dirs {
            let date = files::stem_of(date_dir);
            for dir in files::sorted_subdirs(date_dir)? {
                scan.participant(dir, &date);
            }
        }
        if scan.participants.is_empty() {
            return Err(Error::NotADataset {
                path: root.to_path_buf(),
                expected: "the Coswara date folders hold no participant folder".into(),
            });
        }
        Ok(Self {
            root: root.to_path_buf(),
            csv,
            participants: scan.participants,
            files: scan.files,
            empty_files: scan.empty_files,
            problems: scan.problems,
        })
    }
}

/// The rows of the metadata table, or none (reported) when the root has no table.
fn read_rows(
    root: &Path,
    csv: Option<&Path>,
    problems: &mut Vec<Problem>,
) -> Result<BTreeMap<String, CoswaraRow>> {
    match csv {
        Some(p) => read_combined_csv(p),
        None => {
            problems.push(Problem::new(
                root,
                format!(
                    "no {COMBINED_CSV} found; covid_status is taken from each participant's metadata.json"
                ),
            ));
            Ok(BTreeMap::new())
        }
    }
}

/// What the walk over the participant folders has found so far.
struct Scan<'a> {
    rows: &'a BTreeMap<String, CoswaraRow>,
    participants: Vec<CoswaraParticipant>,
    files: Vec<CoswaraFile>,
    empty_files: usize,
    /// Participant ids already found (a participant may appear under two dates).
    seen: BTreeSet<String>,
    problems: Vec<Problem>,
}

impl Scan<'_> {
    /// Adds the participant folder `dir` of the date folder `date` and its sound files.
    fn participant(&mut self, dir: PathBuf, date: &str) {
        let id = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !self.seen.insert(id.clone()) {
            self.problems.push(Problem::new(
                &dir,
                format!("participant {id} appears twice; this copy is skipped"),
            ));
            return;
        }
        let row = self.rows.get(&id);
        let covid_status = row
            .map(|r| r.covid_status.clone())
            .filter(|s| !s.is_empty())
            .or_else(|| metadata_status(&dir));
        if covid_status.is_none() {
            self.problems.push(Problem::new(
                &dir,
                "unknown participant: no covid_status in the CSV or metadata.json; its files are not labelled",
            ));
        }
        let index = self.participants.len();
        let mut any = false;
        for kind in SoundKind::ALL {
            let path = dir.join(kind.file_name());
            if !path.is_file() {
                continue;
            }
            any = true;
            let header = self.sound_header(&path);
            self.files.push(CoswaraFile {
                participant: index,
                kind,
                path,
                header,
            });
        }
        if !any {
            self.problems.push(Problem::new(
                &dir,
                "participant folder holds no Coswara sound file",
            ));
        }
        self.participants.push(CoswaraParticipant {
            flags: row.map(|r| r.flags.clone()),
            id,
            date: date.to_string(),
            dir,
            covid_status,
        });
    }

    /// The header of a sound file; header-only files are counted and reported, unreadable
    /// ones reported.
    fn sound_header(&mut self, path: &Path) -> Option<WavHeader> {
        match files::read_wav_header(path) {
            Ok(h) => {
                if h.frames == 0 {
                    self.empty_files += 1;
                    self.problems
                        .push(Problem::new(path, "zero frames (header-only WAV); skipped"));
                }
                Some(h)
            }
            Err(e) => {
                self.problems.push(Problem::new(
                    path,
                    format!("unreadable audio: {e}; skipped"),
                ));
                None
            }
        }
    }
}
