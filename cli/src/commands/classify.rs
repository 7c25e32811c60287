//! `auscult classify --model RUN_DIR FILE... [--annotations PATH] [--windows] [--json]`:
//! classifies recordings per respiratory cycle when an ICBHI annotation file lies beside the
//! recording (or `--annotations` names one), otherwise in consecutive windows of the training
//! length, with class probabilities and a recording-level summary. Files that cannot be read
//! are reported (with `error`) and the others still run; the exit status is 1 only when no
//! file could be classified.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use auscult_classifier::{Classifier, Recording, Segment};
use serde::Serialize;

use crate::output::print_json;

/// Arguments of `auscult classify`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The run directory of a trained classifier.
    #[arg(long, value_name = "RUN_DIR")]
    pub model: PathBuf,
    /// Recordings (any rate and bit depth auscult decodes).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// ICBHI cycle annotations: a .txt file (with a single FILE), or a folder holding
    /// `<recording stem>.txt` files. Without it, `<recording>.txt` beside each recording is
    /// used when present.
    #[arg(long, value_name = "PATH", conflicts_with = "windows")]
    pub annotations: Option<PathBuf>,
    /// Ignore annotation files and classify sliding windows of the training length.
    #[arg(long)]
    pub windows: bool,
    /// Print a JSON array with one object per recording: path, then cycles or windows (each
    /// with start_s, end_s, label, probabilities) and summary; or path and error.
    #[arg(long)]
    pub json: bool,
}

/// One entry of the output: a classified recording or the error that stopped it.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    /// The recording was classified.
    Classified(Recording),
    /// It could not be.
    Failed {
        /// The file.
        path: PathBuf,
        /// Why (the full error chain).
        error: String,
    },
}

fn annotation_for(args: &Args, file: &Path) -> Option<PathBuf> {
    if args.windows {
        return None;
    }
    match &args.annotations {
        Some(p) if p.is_dir() => file
            .file_stem()
            .map(|s| p.join(s).with_extension("txt"))
            .filter(|p| p.is_file()),
        Some(p) => Some(p.clone()),
        None => Some(file.with_extension("txt")).filter(|p| p.is_file()),
    }
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.annotations.as_ref().is_some_and(|p| p.is_file()) && args.files.len() > 1 {
        bail!(
            "--annotations names one file but {} recordings were given; pass a folder of annotation files instead",
            args.files.len()
        );
    }
    let mut clf = Classifier::load(&args.model)
        .with_context(|| format!("loading the model in {}", args.model.display()))?;
    let outcomes: Vec<Outcome> = args
        .files
        .iter()
        .map(|file| {
            let ann = annotation_for(&args, file);
            match clf.classify_file(file, ann.as_deref()) {
                Ok(r) => Outcome::Classified(r),
                Err(e) => Outcome::Failed {
                    path: file.clone(),
                    error: format!("{:#}", anyhow::Error::from(e)),
                },
            }
        })
        .collect();
    if args.json {
        print_json(&outcomes)?;
    } else {
        for o in &outcomes {
            print_outcome(o);
        }
    }
    let failed = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Failed { .. }))
        .count();
    if failed > 0 && !args.json {
        eprintln!(
            "warning: {failed} of {} files could not be classified",
            outcomes.len()
        );
    }
    if failed == outcomes.len() {
        bail!("none of the {} files could be classified", outcomes.len());
    }
    Ok(())
}

fn print_segment(s: &Segment) {
    let probs: Vec<String> = s
        .probabilities
        .0
        .iter()
        .map(|(c, p)| format!("{c} {p:.2}"))
        .collect();
    println!(
        "  {:>7.2}-{:<7.2} s  {:<8}  ({})",
        s.start_s,
        s.end_s,
        s.label,
        probs.join(", ")
    );
}

fn print_outcome(o: &Outcome) {
    match o {
        Outcome::Failed { path, error } => println!("{}: error: {error}", path.display()),
        Outcome::Classified(r) => {
            let (kind, segs) = match (&r.cycles, &r.windows) {
                (Some(c), _) => ("cycles", c),
                (None, Some(w)) => ("windows", w),
                (None, None) => ("segments", &Vec::new()),
            };
            println!(
                "{}: {:.2} s at {} Hz, {} {kind}; recording: {} ({} abnormal)",
                r.path.display(),
                r.duration_s,
                r.source_sample_rate,
                segs.len(),
                r.summary.label,
                r.summary.abnormal_segments
            );
            for s in segs {
                print_segment(s);
            }
        }
    }
}
