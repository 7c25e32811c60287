//! Where a copy of Coswara keeps its files: the metadata table and the date folders.

use std::path::{Path, PathBuf};

use crate::files;

/// Name of the metadata table at the root of the Coswara repository.
pub const COMBINED_CSV: &str = "combined_data.csv";
/// Folder into which the Coswara archives are often extracted.
pub const EXTRACTED_DIR: &str = "Extracted_data";

fn is_date_dir(p: &Path) -> bool {
    p.is_dir()
        && p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.len() == 8 && n.chars().all(|c| c.is_ascii_digit()))
}

/// The `combined_data*.csv` at the root, preferring the exact name.
pub fn find_combined_csv(root: &Path) -> Option<PathBuf> {
    let exact = root.join(COMBINED_CSV);
    if exact.is_file() {
        return Some(exact);
    }
    files::sorted_entries(root).ok()?.into_iter().find(|p| {
        p.is_file()
            && files::has_extension(p, "csv")
            && p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("combined_data"))
    })
}

/// The `YYYYMMDD` folders under the root or under `Extracted_data/`.
pub fn find_date_dirs(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for base in [root.to_path_buf(), root.join(EXTRACTED_DIR)] {
        if !base.is_dir() {
            continue;
        }
        for d in files::sorted_subdirs(&base).unwrap_or_default() {
            if !is_date_dir(&d) {
                continue;
            }
            // `tar -x` into a folder of the same name gives 20200413/20200413/<id>/.
            let inner = d.join(d.file_name().unwrap_or_default());
            out.push(if is_date_dir(&inner) { inner } else { d });
        }
    }
    out
}
