//! `auscult info FILE...`: codec, sample rate, channels, bit depth, frames, duration, peak
//! and clipped-sample count of audio files (decoded in parallel). A file that cannot be read
//! is reported and the others still are; the exit status is then non-zero.

use std::path::PathBuf;

use auscult_audio::decode_file;
use rayon::prelude::*;
use serde::Serialize;

use crate::output::print_json;

/// Arguments of `auscult info`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Audio files (WAV, FLAC, MP3, Ogg Vorbis; recognised by content).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print a JSON array with one object per file instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What `info` reports about one readable file.
#[derive(Debug, Serialize)]
struct FileInfo {
    path: String,
    codec: String,
    sample_rate: u32,
    channels: u16,
    bits_per_sample: Option<u32>,
    frames: u64,
    duration_s: f64,
    peak: f32,
    clipped_samples: u64,
    skipped_packets: u64,
}

/// A file that could not be read.
#[derive(Debug, Serialize)]
struct FileError {
    path: String,
    error: String,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Entry {
    Ok(FileInfo),
    Err(FileError),
}

fn describe(path: &PathBuf) -> Entry {
    let shown = path.display().to_string();
    match decode_file(path) {
        Ok(d) => Entry::Ok(FileInfo {
            path: shown,
            duration_s: d.info.duration_s(),
            codec: d.info.codec,
            sample_rate: d.info.sample_rate,
            channels: d.info.channels,
            bits_per_sample: d.info.bits_per_sample,
            frames: d.info.frames,
            peak: d.peak,
            clipped_samples: d.clipped_samples,
            skipped_packets: d.skipped_packets,
        }),
        Err(e) => Entry::Err(FileError {
            path: shown,
            error: e.to_string(),
        }),
    }
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let entries: Vec<Entry> = args.files.par_iter().map(describe).collect();
    let failed = entries
        .iter()
        .filter(|e| matches!(e, Entry::Err(_)))
        .count();
    if args.json {
        print_json(&entries)?;
    } else {
        for entry in &entries {
            match entry {
                Entry::Ok(i) => {
                    let bits = i
                        .bits_per_sample
                        .map_or_else(|| "-".to_string(), |b| format!("{b}-bit"));
                    let peak_db = if i.peak > 0.0 {
                        format!("{:.2} dBFS", 20.0 * i.peak.log10())
                    } else {
                        "-inf dBFS".to_string()
                    };
                    println!("{}", i.path);
                    println!(
                        "  codec {}, {} Hz, {} channel{}, {bits}",
                        i.codec,
                        i.sample_rate,
                        i.channels,
                        if i.channels == 1 { "" } else { "s" }
                    );
                    println!("  {} frames, {:.3} s", i.frames, i.duration_s);
                    println!(
                        "  peak {:.4} ({peak_db}), {} clipped samples{}",
                        i.peak,
                        i.clipped_samples,
                        if i.skipped_packets > 0 {
                            format!(", {} damaged packets skipped", i.skipped_packets)
                        } else {
                            String::new()
                        }
                    );
                }
                // The message names the file already.
                Entry::Err(e) => eprintln!("{}", e.error),
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} files could not be read", entries.len());
    }
    Ok(())
}
