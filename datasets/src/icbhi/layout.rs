//! Where a copy of the database keeps its files: the file and folder names, the layout, and
//! the search for the recordings and the metadata files.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::name::RecordingName;
use crate::files;

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

/// Whether `stem` is an ICBHI recording name.
pub(super) fn is_icbhi_stem(stem: &str) -> bool {
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
pub(super) fn find_metadata(dirs: &[PathBuf], names: &[&str]) -> Option<PathBuf> {
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
