//! `auscult dataset inspect ROOT [--format icbhi|coswara|folder|corpus] [--json]`: what a
//! dataset holds (recordings, patients, classes per split, rates, bit depths, devices,
//! durations) and every problem found in it, with its file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use auscult_datasets::{Format, Inspection, inspect};

use crate::commands::parsers::parse_format;
use crate::output::print_json;

/// `auscult dataset` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum DatasetCommand {
    /// Show what a dataset holds and every problem found (exit status 0 when it is usable).
    Inspect(InspectArgs),
}

/// Arguments of `auscult dataset inspect`.
#[derive(clap::Args, Debug)]
pub struct InspectArgs {
    /// The dataset folder (ICBHI 2017, Coswara, folder per class, or generated corpus).
    #[arg(value_name = "ROOT")]
    pub root: PathBuf,
    /// The format, when auto-detection guesses wrong: icbhi, coswara, folder or corpus.
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
    /// Print one JSON object (keys: format, recordings, patients, classes, splits,
    /// sample_rates, problems, ...) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs the subcommand.
pub fn run(cmd: DatasetCommand) -> anyhow::Result<()> {
    match cmd {
        DatasetCommand::Inspect(args) => {
            let inspection = inspect(&args.root, args.format)
                .with_context(|| format!("inspecting {}", args.root.display()))?;
            if args.json {
                print_json(&inspection)
            } else {
                print_inspection(&inspection);
                Ok(())
            }
        }
    }
}

fn join_counts<K: std::fmt::Display>(m: &BTreeMap<K, usize>, unit: &str) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}{unit} ({v})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn title(i: &Inspection) -> String {
    match i.format {
        Format::Icbhi => format!(
            "ICBHI 2017 ({} layout)",
            i.layout.as_deref().unwrap_or("unknown")
        ),
        Format::Coswara => "Coswara".into(),
        Format::Folder => "folder-per-class corpus".into(),
        Format::Corpus => "generated log-Mel corpus".into(),
    }
}

fn print_inspection(i: &Inspection) {
    println!("{} at {}", title(i), i.root.display());
    let (items, who) = match i.format {
        Format::Icbhi => ("recordings", "patients"),
        Format::Coswara => ("sound files", "participants"),
        Format::Folder => ("files", "files"),
        Format::Corpus => ("samples", ""),
    };
    if who.is_empty() || who == items {
        println!("  {items}: {}", i.recordings);
    } else {
        println!("  {items}: {}   {who}: {}", i.recordings, i.patients);
    }
    if i.total_hours > 0.0 {
        println!("  audio: {:.3} h", i.total_hours);
    }
    if let Some(d) = i.durations_s {
        println!(
            "  file durations: min {:.2} s, median {:.2} s, max {:.2} s",
            d.min, d.median, d.max
        );
    }
    if let Some(d) = i.cycle_durations_s {
        println!(
            "  cycle durations: min {:.2} s, median {:.2} s, max {:.2} s",
            d.min, d.median, d.max
        );
    }
    let what = match i.format {
        Format::Icbhi => "cycles per class",
        Format::Coswara => "participants per covid_status",
        Format::Folder => "files per class",
        Format::Corpus => "samples per class",
    };
    // ICBHI classes in class-index order, others alphabetically.
    let order: Vec<String> = if i.format == Format::Icbhi {
        auscult_datasets::CycleLabel::class_names()
    } else {
        i.classes.keys().cloned().collect()
    };
    println!("  {what}:");
    let width = order.iter().map(String::len).max().unwrap_or(5).max(5);
    print!("    {:<width$} {:>7}", "", "total");
    for s in i.splits.keys() {
        print!(" {s:>10}");
    }
    println!();
    for c in &order {
        print!(
            "    {c:<width$} {:>7}",
            i.classes.get(c).copied().unwrap_or(0)
        );
        for counts in i.splits.values() {
            print!(" {:>10}", counts.get(c).copied().unwrap_or(0));
        }
        println!();
    }
    if !i.sounds.is_empty() {
        println!("  usable files per sound: {}", join_counts(&i.sounds, ""));
    }
    if !i.sample_rates.is_empty() {
        println!("  sample rates: {}", join_counts(&i.sample_rates, " Hz"));
    }
    if !i.bit_depths.is_empty() {
        println!("  bit depths: {}", join_counts(&i.bit_depths, "-bit"));
    }
    if !i.devices.is_empty() {
        println!("  devices: {}", join_counts(&i.devices, ""));
    }
    if !i.diagnoses.is_empty() {
        println!("  diagnoses (patients): {}", join_counts(&i.diagnoses, ""));
    }
    if i.empty_files > 0 {
        println!(
            "  header-only (zero-frame) files: {} (skipped)",
            i.empty_files
        );
    }
    if i.problems.is_empty() {
        println!("  no problems found");
    } else {
        println!("  problems ({}):", i.problems.len());
        for p in &i.problems {
            println!("    {}: {}", p.path.display(), p.problem);
        }
    }
}
