//! `auscult classify --model RUN_DIR FILE_OR_FOLDER... [--annotations PATH] [--windows]
//! [--json]`: classifies recordings per respiratory cycle when an ICBHI annotation file lies
//! beside the recording (or `--annotations` names one), otherwise in consecutive windows of
//! the training length, with class probabilities and a recording-level summary. A folder is a
//! Coswara participant: its sounds are classified and fused into one decision. Files that
//! cannot be read are reported (with `error`) and the others still run; the exit status is 1
//! only when no file could be classified.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use auscult_classifier::{Classifier, Participant, Recording, Segment};
use auscult_datasets::SoundKind;
use serde::Serialize;

use super::train::{DATA_FILE, DataSpec};
use crate::output::print_json;

/// Arguments of `auscult classify`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The run directory of a trained classifier.
    #[arg(long, value_name = "RUN_DIR")]
    pub model: PathBuf,
    /// Recordings (any rate and bit depth auscult decodes), or Coswara participant folders
    /// (`<id>/` holding `cough-heavy.wav`, ...): each folder gets one decision, the mean of
    /// its sounds' probabilities through the model's decision threshold.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// For participant folders: the sounds to use, comma-separated (default: those the model
    /// was trained on, from its data.json).
    #[arg(long, value_name = "SOUND,...", value_delimiter = ',', value_parser = parse_sound)]
    pub sounds: Vec<SoundKind>,
    /// ICBHI cycle annotations: a .txt file (with a single FILE), or a folder holding
    /// `<recording stem>.txt` files. Without it, `<recording>.txt` beside each recording is
    /// used when present.
    #[arg(long, value_name = "PATH", conflicts_with = "windows")]
    pub annotations: Option<PathBuf>,
    /// Ignore annotation files and classify sliding windows of the training length.
    #[arg(long)]
    pub windows: bool,
    /// Print a JSON array with one object per recording: path, then cycles or windows (each
    /// with start_s, end_s, label, probabilities) and summary; per participant folder:
    /// participant, path, sounds, skipped, label, probabilities, threshold; or path and error.
    #[arg(long)]
    pub json: bool,
}

/// One entry of the output: a classified recording or the error that stopped it.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    /// The recording was classified.
    Classified(Recording),
    /// The participant folder was classified.
    Participant(Participant),
    /// It could not be.
    Failed {
        /// The file.
        path: PathBuf,
        /// Why (the full error chain).
        error: String,
    },
}

fn parse_sound(s: &str) -> Result<SoundKind, String> {
    s.parse::<SoundKind>()
}

/// The sounds a participant folder is classified from: `--sounds`, else the model's training
/// sounds (data.json), else Coswara's default four.
fn participant_sounds(args: &Args) -> Vec<SoundKind> {
    if !args.sounds.is_empty() {
        return args.sounds.clone();
    }
    auscult_experiment::read_json::<DataSpec>(args.model.join(DATA_FILE))
        .ok()
        .and_then(|d| d.coswara)
        .unwrap_or_default()
        .sounds
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
    if auscult_classifier::is_ensemble(&args.model) {
        return classify_with_ensemble(&args);
    }
    let mut clf = Classifier::load(&args.model)
        .with_context(|| format!("loading the model in {}", args.model.display()))?;
    let sounds = participant_sounds(&args);
    let outcomes: Vec<Outcome> = args
        .files
        .iter()
        .map(|file| {
            let result = if file.is_dir() {
                clf.classify_participant(file, &sounds)
                    .map(Outcome::Participant)
            } else {
                let ann = annotation_for(&args, file);
                clf.classify_file(file, ann.as_deref())
                    .map(Outcome::Classified)
            };
            result.unwrap_or_else(|e| Outcome::Failed {
                path: file.clone(),
                error: format!("{:#}", anyhow::Error::from(e)),
            })
        })
        .collect();
    report(&args, &outcomes)
}

/// `classify` with an ensemble of per-sound models (`train --per-sound`): participant folders
/// only.
fn classify_with_ensemble(args: &Args) -> anyhow::Result<()> {
    let mut ensemble = auscult_classifier::Ensemble::load(&args.model)
        .with_context(|| format!("loading the ensemble in {}", args.model.display()))?;
    let outcomes: Vec<Outcome> = args
        .files
        .iter()
        .map(|file| {
            let result = if file.is_dir() {
                ensemble
                    .classify_participant(file)
                    .map_err(anyhow::Error::from)
            } else {
                Err(anyhow::anyhow!(
                    "{} is an ensemble of per-sound models: give it participant folders",
                    args.model.display()
                ))
            };
            result
                .map(Outcome::Participant)
                .unwrap_or_else(|e| Outcome::Failed {
                    path: file.clone(),
                    error: format!("{e:#}"),
                })
        })
        .collect();
    report(args, &outcomes)
}

/// Prints the outcomes; fails only when none succeeded.
fn report(args: &Args, outcomes: &[Outcome]) -> anyhow::Result<()> {
    if args.json {
        print_json(&outcomes)?;
    } else {
        for o in outcomes {
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
        Outcome::Participant(p) => {
            let probs: Vec<String> = p
                .probabilities
                .0
                .iter()
                .map(|(c, v)| format!("{c} {v:.2}"))
                .collect();
            println!(
                "{}: participant {}: {} ({}; mean of {} sounds{})",
                p.path.display(),
                p.participant,
                p.label,
                probs.join(", "),
                p.sounds.len(),
                p.threshold
                    .map(|t| format!(", threshold {t:.3}"))
                    .unwrap_or_default()
            );
            for s in &p.sounds {
                let probs: Vec<String> = s
                    .probabilities
                    .0
                    .iter()
                    .map(|(c, v)| format!("{c} {v:.2}"))
                    .collect();
                println!("  {:<18} {:<10} ({})", s.sound, s.label, probs.join(", "));
            }
            for s in &p.skipped {
                println!("  {:<18} skipped: {}", s.sound, s.reason);
            }
        }
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
