//! The dataset formats auscult reads, and their detection.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::{coswara, files, folder, icbhi};

/// A dataset format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// ICBHI 2017 Respiratory Sound Database (official, Kaggle or flat layout).
    Icbhi,
    /// Coswara (combined_data.csv + participant folders).
    Coswara,
    /// A folder per class of `.wav` files.
    Folder,
    /// A generated corpus (`manifest.json` + `.npy` log-Mel spectrograms).
    Corpus,
}

/// What `detect` looks for, used in its error message.
const EXPECTED: &str = "expected one of: an ICBHI 2017 copy (ICBHI_final_database/ or Kaggle's \
    audio_and_txt_files/ with files like 104_1b1_Al_sc_Litt3200.wav/.txt), Coswara \
    (combined_data.csv and YYYYMMDD/<participant>/*.wav), a folder per class \
    (ROOT/<class>/*.wav), or a generated corpus (ROOT/manifest.json)";

impl Format {
    /// All formats.
    pub const ALL: [Format; 4] = [Self::Icbhi, Self::Coswara, Self::Folder, Self::Corpus];

    /// Lower-case name: `icbhi`, `coswara`, `folder`, `corpus`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Icbhi => "icbhi",
            Self::Coswara => "coswara",
            Self::Folder => "folder",
            Self::Corpus => "corpus",
        }
    }

    /// Detects the format of the dataset at `root`.
    ///
    /// Checked in this order: `manifest.json` (generated corpus), ICBHI recording names,
    /// Coswara's CSV or date folders, class folders holding `.wav` files. Fails with a message
    /// saying what was expected when none matches.
    pub fn detect(root: &Path) -> Result<Format> {
        if !root.exists() {
            return Err(Error::NotADataset {
                path: root.to_path_buf(),
                expected: format!("the folder does not exist; {EXPECTED}"),
            });
        }
        if !root.is_dir() {
            return Err(Error::NotADataset {
                path: root.to_path_buf(),
                expected: format!("it is a file, not a folder; {EXPECTED}"),
            });
        }
        if root.join(crate::corpus::MANIFEST_FILE).is_file() {
            return Ok(Self::Corpus);
        }
        if icbhi::find_audio_dir(root).is_some() {
            return Ok(Self::Icbhi);
        }
        if coswara::find_combined_csv(root).is_some() || !coswara::find_date_dirs(root).is_empty() {
            return Ok(Self::Coswara);
        }
        if folder::looks_like_folder_corpus(root) {
            return Ok(Self::Folder);
        }
        let empty = files::sorted_entries(root)?.is_empty();
        Err(Error::NotADataset {
            path: root.to_path_buf(),
            expected: if empty {
                format!("the folder is empty; {EXPECTED}")
            } else {
                EXPECTED.to_string()
            },
        })
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::UnknownFormat {
                name: s.to_string(),
            })
    }
}
