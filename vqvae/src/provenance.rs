//! Where a run's data came from: the provenance both trainings record, and the check before a
//! resume that the data did not change.

use std::path::{Path, PathBuf};

use auscult_datasets::Example;
use auscult_experiment::{Provenance, RunDir};

use crate::Result;
use crate::vqvae::model::PROVENANCE_FILE;

/// The distinct source files of `examples` that exist, sorted: what the provenance
/// fingerprints.
fn source_files(examples: &[&[Example]]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = examples
        .iter()
        .flat_map(|s| s.iter().map(|e| e.source.clone()))
        .filter(|f| f.is_file())
        .collect();
    files.sort();
    files.dedup();
    files
}

/// Provenance of a run over `examples`: the distinct source files.
pub(crate) fn provenance(examples: &[&[Example]], seed: u64) -> Result<Provenance> {
    let files = source_files(examples);
    let mut roots: Vec<PathBuf> = files
        .iter()
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .collect();
    roots.sort();
    roots.dedup();
    Ok(Provenance::new(roots, &files, seed)?)
}

/// Checks, before a resume, that `examples` come from the files the run in `run` recorded in
/// its `provenance.json` (a run without one passes).
pub(crate) fn verify_data(run: &RunDir, examples: &[&[Example]]) -> Result<()> {
    if !run.file(PROVENANCE_FILE).is_file() {
        return Ok(());
    }
    let recorded: Provenance = run.load_json(PROVENANCE_FILE)?;
    Ok(recorded.verify_data(run.path(), &source_files(examples))?)
}
