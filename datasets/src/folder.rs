//! Folder-per-class corpora for custom tasks: `root/<class>/*.wav`, or with a fixed split
//! `root/{train,val,test}/<class>/*.wav`. Classes are the folder names, sorted.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::files::{self, WavHeader};
use crate::problem::Problem;

/// The split folder names recognised at the root of a folder corpus.
pub const SPLIT_DIRS: [&str; 3] = ["train", "val", "test"];

/// One audio file of a folder corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct FolderFile {
    /// Class index into [`FolderCorpus::classes`].
    pub class: usize,
    /// The file.
    pub path: PathBuf,
    /// `train`, `val` or `test` when the corpus has split folders.
    pub split: Option<String>,
    /// Header facts; `None` when unreadable.
    pub header: Option<WavHeader>,
}

impl FolderFile {
    /// Whether the file holds samples (readable and more than zero frames).
    pub fn is_usable(&self) -> bool {
        self.header.is_some_and(|h| h.frames > 0)
    }
}

/// A discovered folder-per-class corpus.
#[derive(Debug, Clone)]
pub struct FolderCorpus {
    /// The folder given by the user.
    pub root: PathBuf,
    /// Class names (folder names), sorted.
    pub classes: Vec<String>,
    /// Files, in class then file-name order (split by split when split folders exist).
    pub files: Vec<FolderFile>,
    /// Whether the corpus has `train/` and `test/` split folders.
    pub has_splits: bool,
    /// Everything odd found, none of it fatal.
    pub problems: Vec<Problem>,
}

fn has_split_dirs(root: &Path) -> bool {
    root.join("train").is_dir() && root.join("test").is_dir()
}

/// Whether `root` looks like a folder corpus: some sub-folder (or split/class folder) holds
/// `.wav` files.
pub fn looks_like_folder_corpus(root: &Path) -> bool {
    let holds = |d: &Path| files::wav_files(d).map(|w| !w.is_empty()).unwrap_or(false);
    let subdirs = files::sorted_subdirs(root).unwrap_or_default();
    if has_split_dirs(root) {
        return subdirs
            .iter()
            .flat_map(|s| files::sorted_subdirs(s).unwrap_or_default())
            .any(|d| holds(&d));
    }
    subdirs.iter().any(|d| holds(d))
}

impl FolderCorpus {
    /// Lists the classes and files under `root` and reads every WAV header.
    pub fn open(root: &Path) -> Result<Self> {
        let has_splits = has_split_dirs(root);
        let mut problems = Vec::new();
        let mut groups: Vec<(Option<String>, PathBuf)> = Vec::new();
        if has_splits {
            for split in SPLIT_DIRS {
                let d = root.join(split);
                if d.is_dir() {
                    for class_dir in files::sorted_subdirs(&d)? {
                        groups.push((Some(split.to_string()), class_dir));
                    }
                }
            }
        } else {
            for class_dir in files::sorted_subdirs(root)? {
                groups.push((None, class_dir));
            }
        }
        let mut classes = BTreeSet::new();
        let mut listed = Vec::new();
        for (split, class_dir) in &groups {
            let wavs = files::wav_files(class_dir)?;
            if wavs.is_empty() {
                problems.push(Problem::new(class_dir, "class folder holds no .wav file"));
                continue;
            }
            let class = class_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            classes.insert(class.clone());
            for w in wavs {
                listed.push((class.clone(), split.clone(), w));
            }
        }
        if listed.is_empty() {
            return Err(Error::NotADataset {
                path: root.to_path_buf(),
                expected: "expected a folder per class holding .wav files (root/<class>/*.wav or \
                           root/train|val|test/<class>/*.wav), but no .wav file was found"
                    .into(),
            });
        }
        let classes: Vec<String> = classes.into_iter().collect();
        let mut out = Vec::new();
        for (class, split, path) in listed {
            let header = match files::read_wav_header(&path) {
                Ok(h) => {
                    if h.frames == 0 {
                        problems.push(Problem::new(
                            &path,
                            "zero frames (header-only WAV); skipped",
                        ));
                    }
                    Some(h)
                }
                Err(e) => {
                    problems.push(Problem::new(
                        &path,
                        format!("unreadable audio: {e}; skipped"),
                    ));
                    None
                }
            };
            out.push(FolderFile {
                class: classes.iter().position(|c| *c == class).unwrap_or(0),
                path,
                split,
                header,
            });
        }
        Ok(Self {
            root: root.to_path_buf(),
            classes,
            files: out,
            has_splits,
            problems,
        })
    }

    /// The id of a file: its path relative to the root, without extension, `/` separated.
    pub fn file_id(&self, file: &FolderFile) -> String {
        let rel = file.path.strip_prefix(&self.root).unwrap_or(&file.path);
        rel.with_extension("")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/")
    }
}
