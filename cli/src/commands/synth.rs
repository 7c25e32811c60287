//! `auscult synth icbhi|coswara --out DIR --seed S [--patients N]`: writes a seeded synthetic
//! dataset in the exact ICBHI 2017 or Coswara layout, so the real loaders can be exercised
//! (and the demo run) without downloading anything.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use auscult_datasets::{SynthConfig, SynthReport, synth_coswara, synth_icbhi};

use crate::output::print_json;

/// Which layout to write.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynthKind {
    /// ICBHI 2017: ICBHI_final_database/ (.wav + .txt cycle annotations), the official split
    /// file (CRLF), the diagnosis and demographic files.
    Icbhi,
    /// Coswara: combined_data.csv and YYYYMMDD/<participant>/ folders with nine sounds each.
    Coswara,
}

/// Arguments of `auscult synth`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Layout to write.
    #[arg(value_enum)]
    pub kind: SynthKind,
    /// Output folder (created; it must be empty unless --force).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Seed: the same seed and settings write byte-identical files.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Number of patients (ICBHI, default 40: about 400 cycles) or participants (Coswara,
    /// default 24).
    #[arg(long, value_name = "N")]
    pub patients: Option<usize>,
    /// Respiratory cycles per ICBHI recording, as MIN-MAX (default 4-10).
    #[arg(long, value_name = "MIN-MAX", value_parser = parse_range)]
    pub cycles: Option<[usize; 2]>,
    /// Recordings per ICBHI patient, as MIN-MAX (default 1-2).
    #[arg(long, value_name = "MIN-MAX", value_parser = parse_range)]
    pub recordings: Option<[usize; 2]>,
    /// A tiny, fast corpus (one recording of 2-3 cycles per patient; Coswara sounds of
    /// 0.5-1 s), for tests and smoke runs.
    #[arg(long)]
    pub quick: bool,
    /// Write into a folder that already holds files (same-named files are replaced).
    #[arg(long)]
    pub force: bool,
    /// Print the report as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_range(s: &str) -> Result<[usize; 2], String> {
    let err = || format!("`{s}` is not MIN-MAX (e.g. 4-10) or a single number");
    match s.split_once('-') {
        Some((a, b)) => Ok([
            a.trim().parse().map_err(|_| err())?,
            b.trim().parse().map_err(|_| err())?,
        ]),
        None => {
            let n = s.trim().parse().map_err(|_| err())?;
            Ok([n, n])
        }
    }
}

/// Builds the generator config from the flags.
fn config(args: &Args) -> SynthConfig {
    let mut cfg = match (args.quick, args.kind) {
        (true, SynthKind::Icbhi) => SynthConfig::quick(args.seed, 12),
        (true, SynthKind::Coswara) => SynthConfig::quick(args.seed, 8),
        (false, SynthKind::Icbhi) => SynthConfig::icbhi(args.seed),
        (false, SynthKind::Coswara) => SynthConfig::coswara(args.seed),
    };
    if let Some(n) = args.patients {
        cfg.patients = n;
    }
    if let Some(c) = args.cycles {
        cfg.cycles_per_recording = c;
    }
    if let Some(r) = args.recordings {
        cfg.recordings_per_patient = r;
    }
    cfg.overwrite = args.force;
    cfg
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = config(&args);
    let report = match args.kind {
        SynthKind::Icbhi => synth_icbhi(&args.out, &cfg),
        SynthKind::Coswara => synth_coswara(&args.out, &cfg),
    }
    .with_context(|| {
        format!(
            "writing a synthetic dataset into {} (--out)",
            args.out.display()
        )
    })?;
    if args.json {
        print_json(&report)
    } else {
        print_report(&report);
        Ok(())
    }
}

fn join_counts<K: std::fmt::Display>(m: &BTreeMap<K, usize>, unit: &str) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}{unit}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_report(r: &SynthReport) {
    match r.format {
        auscult_datasets::Format::Icbhi => {
            println!(
                "Wrote a synthetic ICBHI 2017 database to {} (seed {})",
                r.out.display(),
                r.seed
            );
            println!(
                "  {} patients, {} recordings, {:.1} min of audio",
                r.patients,
                r.recordings,
                r.total_seconds / 60.0
            );
            let classes: Vec<&str> = ["normal", "crackle", "wheeze", "both"].to_vec();
            let splits: Vec<&String> = r.splits.keys().collect();
            print!("  {:<8} {:>6}", "class", "cycles");
            for s in &splits {
                print!(" {s:>6}");
            }
            println!();
            let total: usize = r.classes.values().sum();
            for c in classes {
                let n = r.classes.get(c).copied().unwrap_or(0);
                print!("  {c:<8} {n:>6}");
                for s in &splits {
                    print!(" {:>6}", r.splits[*s].get(c).copied().unwrap_or(0));
                }
                println!("   ({:.0} %)", 100.0 * n as f64 / total.max(1) as f64);
            }
            println!("  devices: {}", join_counts(&r.devices, ""));
        }
        _ => {
            println!(
                "Wrote a synthetic Coswara database to {} (seed {})",
                r.out.display(),
                r.seed
            );
            println!(
                "  {} participants, {} sound files ({} header-only), {:.1} min of audio",
                r.patients,
                r.recordings,
                r.header_only_files,
                r.total_seconds / 60.0
            );
            println!(
                "  participants per covid_status: {}",
                join_counts(&r.classes, "")
            );
        }
    }
    println!("  sample rates: {}", join_counts(&r.sample_rates, " Hz"));
    println!("  bit depths: {}", join_counts(&r.bit_depths, "-bit"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse() {
        assert_eq!(parse_range("4-10"), Ok([4, 10]));
        assert_eq!(parse_range("3"), Ok([3, 3]));
        assert!(parse_range("a-b").is_err());
    }
}
