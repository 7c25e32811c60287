//! `auscult mel INPUT... -o OUT`: (log-)Mel spectrograms as `.npy` (float32,
//! `[n_mels, frames]`) or `.png`, or many of them into a folder (in parallel, with a progress
//! bar; a bad file is reported and skipped, and the exit status is then non-zero).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, bail};
use auscult_audio::{
    LogScale, MelConfig, MelNorm, MelScale, MelSpectrogram, Spectrogram, Window, decode_file,
    resample, write_npy_f32,
};
use auscult_plot::{SpectrogramPlot, spectrogram_png};
use rayon::prelude::*;
use serde::Serialize;

use crate::output::{print_json, progress_bar};

/// Conventions to start from (flags override single fields).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// librosa.feature.melspectrogram: n_fft 2048, hop 512, 128 Slaney Mels, Slaney norm,
    /// periodic Hann, zero-padded centring.
    Librosa,
    /// torchaudio.transforms.MelSpectrogram: n_fft 400, hop 200, 128 HTK Mels, no norm,
    /// reflect-padded centring.
    Torchaudio,
    /// torchaudio.compliance.kaldi.fbank as AST models call it: 25 ms / 10 ms, symmetric
    /// Hann, 128 Kaldi Mels from 20 Hz, natural log.
    Kaldi,
}

/// Mel scale flag values.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScaleArg {
    /// Slaney (librosa's default).
    Slaney,
    /// HTK (torchaudio's default).
    Htk,
    /// Kaldi (triangles linear in mel).
    Kaldi,
}

/// Filter normalisation flag values.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum NormArg {
    /// Constant-area (Slaney) triangles.
    Slaney,
    /// Unit-peak triangles.
    None,
}

/// Window flag values.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowArg {
    /// Periodic Hann.
    Hann,
    /// Symmetric Hann.
    HannSymmetric,
    /// Hamming.
    Hamming,
    /// Kaldi's Povey window.
    Povey,
}

/// Format of the files written into an output folder.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatArg {
    /// float32 `.npy`, shape [n_mels, frames].
    Npy,
    /// `.png` image with axes and a colour bar.
    Png,
}

/// Arguments of `auscult mel`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Audio files, or folders searched recursively for .wav/.flac/.mp3/.ogg files.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Output: a `.npy` file (float32 [n_mels, frames]), a `.png` image, or a folder (for
    /// several inputs or a folder input; created if missing).
    #[arg(short, long, value_name = "OUT")]
    pub out: PathBuf,
    /// Conventions to start from.
    #[arg(long, value_enum, default_value_t = Preset::Librosa)]
    pub preset: Preset,
    /// Resample to this rate (Hz) first; by default each file keeps its own rate.
    #[arg(long, value_name = "HZ")]
    pub sr: Option<u32>,
    /// FFT size.
    #[arg(long, value_name = "N")]
    pub n_fft: Option<usize>,
    /// Hop between frames, in samples.
    #[arg(long, value_name = "N")]
    pub hop: Option<usize>,
    /// Window length in samples (default: n_fft, or 25 ms for kaldi).
    #[arg(long, value_name = "N")]
    pub win: Option<usize>,
    /// Number of Mel bands.
    #[arg(long, value_name = "N")]
    pub n_mels: Option<usize>,
    /// Lowest filter edge, Hz.
    #[arg(long, value_name = "HZ")]
    pub fmin: Option<f32>,
    /// Highest filter edge, Hz (default: Nyquist).
    #[arg(long, value_name = "HZ")]
    pub fmax: Option<f32>,
    /// Mel scale.
    #[arg(long, value_enum)]
    pub mel_scale: Option<ScaleArg>,
    /// Filter normalisation.
    #[arg(long, value_enum)]
    pub norm: Option<NormArg>,
    /// Analysis window.
    #[arg(long, value_enum)]
    pub window: Option<WindowArg>,
    /// Convert power to dB (librosa power_to_db, ref 1.0, amin 1e-10). Without it the
    /// librosa and torchaudio presets write Mel power, the kaldi preset its natural log.
    #[arg(long)]
    pub db: bool,
    /// With --db: dynamic range kept below the maximum, in dB, or `none`.
    #[arg(long, value_name = "DB|none", default_value = "80", value_parser = parse_top_db)]
    pub top_db: TopDb,
    /// File type written into an output folder.
    #[arg(long, value_enum, default_value_t = FormatArg::Npy)]
    pub format: FormatArg,
    /// Print a JSON summary (outputs and failures) on stdout; hides the progress bar.
    #[arg(long)]
    pub json: bool,
}

/// `--top-db` value: a number of dB or no clipping.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TopDb(pub Option<f32>);

fn parse_top_db(s: &str) -> Result<TopDb, String> {
    if s.eq_ignore_ascii_case("none") {
        return Ok(TopDb(None));
    }
    match s.parse::<f32>() {
        Ok(v) if v >= 0.0 && v.is_finite() => Ok(TopDb(Some(v))),
        _ => Err(format!(
            "`{s}` is not a non-negative number of dB or `none`"
        )),
    }
}

impl Args {
    /// The resolved configuration for audio at `sample_rate` Hz.
    fn config(&self, sample_rate: u32) -> anyhow::Result<MelConfig> {
        let mut cfg = match self.preset {
            Preset::Librosa => MelConfig {
                log: LogScale::None,
                ..MelConfig::librosa(sample_rate)
            },
            Preset::Torchaudio => MelConfig {
                log: LogScale::None,
                ..MelConfig::torchaudio(sample_rate)
            },
            Preset::Kaldi => MelConfig::kaldi(sample_rate),
        };
        if let Some(n) = self.n_fft {
            cfg.n_fft = n;
            if self.win.is_none() && cfg.kaldi.is_none() {
                cfg.win_length = n;
            }
        }
        if let Some(w) = self.win {
            cfg.win_length = w;
        }
        if let Some(h) = self.hop {
            cfg.hop_length = h;
        }
        if let Some(m) = self.n_mels {
            cfg.n_mels = m;
        }
        if let Some(f) = self.fmin {
            cfg.f_min = f;
        }
        if self.fmax.is_some() {
            cfg.f_max = self.fmax;
        }
        if let Some(s) = self.mel_scale {
            cfg.mel_scale = match s {
                ScaleArg::Slaney => MelScale::Slaney,
                ScaleArg::Htk => MelScale::Htk,
                ScaleArg::Kaldi => MelScale::Kaldi,
            };
        }
        if let Some(n) = self.norm {
            cfg.norm = match n {
                NormArg::Slaney => MelNorm::Slaney,
                NormArg::None => MelNorm::None,
            };
        }
        if let Some(w) = self.window {
            cfg.window = match w {
                WindowArg::Hann => Window::Hann,
                WindowArg::HannSymmetric => Window::HannSymmetric,
                WindowArg::Hamming => Window::Hamming,
                WindowArg::Povey => Window::Povey,
            };
        }
        if self.db {
            cfg.log = LogScale::Db {
                reference: 1.0,
                amin: 1e-10,
                top_db: self.top_db.0,
            };
        }
        cfg.validate()
            .context("check the Mel flags (--n-fft, --win, --hop, --fmin, --fmax, ...)")?;
        Ok(cfg)
    }
}

/// One input and where its spectrogram goes.
struct Job {
    input: PathBuf,
    output: PathBuf,
}

#[derive(Serialize)]
struct Written {
    input: String,
    output: String,
    sample_rate: u32,
    n_mels: usize,
    n_frames: usize,
}

#[derive(Serialize)]
struct Failed {
    input: String,
    error: String,
}

#[derive(Serialize)]
struct Summary {
    written: Vec<Written>,
    failed: Vec<Failed>,
}

const AUDIO_EXTENSIONS: [&str; 5] = ["wav", "flac", "mp3", "ogg", "oga"];

fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)))
}

/// Audio files under `dir`, sorted, as paths relative to `dir`.
fn audio_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).with_context(|| format!("cannot list folder {}", d.display()))?;
        for entry in entries {
            let path = entry
                .with_context(|| format!("cannot list folder {}", d.display()))?
                .path();
            if path.is_dir() {
                stack.push(path);
            } else if is_audio(&path) {
                found.push(path.strip_prefix(dir).unwrap_or(&path).to_path_buf());
            }
        }
    }
    found.sort();
    Ok(found)
}

fn extension_of(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

fn plan_jobs(args: &Args) -> anyhow::Result<(Vec<Job>, bool)> {
    let out_ext = extension_of(&args.out);
    let single_file_out = matches!(out_ext.as_deref(), Some("npy" | "png")) && !args.out.is_dir();
    let any_dir = args.inputs.iter().any(|p| p.is_dir());
    if single_file_out {
        if args.inputs.len() != 1 || any_dir {
            bail!(
                "{} is a single file but there are several inputs; give a folder to -o",
                args.out.display()
            );
        }
        let job = Job {
            input: args.inputs[0].clone(),
            output: args.out.clone(),
        };
        return Ok((vec![job], false));
    }
    let ext = match args.format {
        FormatArg::Npy => "npy",
        FormatArg::Png => "png",
    };
    let mut jobs = Vec::new();
    for input in &args.inputs {
        if input.is_dir() {
            let files = audio_files(input)?;
            if files.is_empty() {
                bail!(
                    "no audio files (.wav, .flac, .mp3, .ogg) under {}",
                    input.display()
                );
            }
            for rel in files {
                jobs.push(Job {
                    input: input.join(&rel),
                    output: args.out.join(rel.with_extension(ext)),
                });
            }
        } else {
            let name = input
                .file_stem()
                .with_context(|| format!("{} has no file name", input.display()))?;
            jobs.push(Job {
                input: input.clone(),
                output: args.out.join(Path::new(name).with_extension(ext)),
            });
        }
    }
    let mut seen: HashMap<&Path, &Path> = HashMap::new();
    for job in &jobs {
        if let Some(other) = seen.insert(&job.output, &job.input) {
            bail!(
                "{} and {} would both be written to {}; pass them in separate runs",
                other.display(),
                job.input.display(),
                job.output.display()
            );
        }
    }
    Ok((jobs, true))
}

fn colorbar_label(cfg: &MelConfig) -> String {
    match cfg.log {
        LogScale::Db { .. } | LogScale::DbRefMax { .. } => "Mel power (dB)".into(),
        LogScale::Ln { .. } => "log Mel energy (ln)".into(),
        LogScale::None => "Mel power".into(),
    }
}

fn process(args: &Args, job: &Job) -> anyhow::Result<Written> {
    let decoded = decode_file(&job.input)?;
    let (samples, rate) = match args.sr {
        Some(sr) if sr != decoded.sample_rate => (
            resample(&decoded.samples, decoded.sample_rate, sr)
                .with_context(|| format!("resampling {}", job.input.display()))?,
            sr,
        ),
        _ => (decoded.samples, decoded.sample_rate),
    };
    let cfg = args
        .config(rate)
        .with_context(|| format!("{}", job.input.display()))?;
    let spec: Spectrogram = MelSpectrogram::new(&cfg)?.compute(&samples);
    if spec.n_frames == 0 {
        bail!(
            "{}: {} samples are shorter than one frame of {} samples",
            job.input.display(),
            samples.len(),
            if cfg.kaldi.is_some() {
                cfg.win_length
            } else {
                cfg.n_fft
            }
        );
    }
    if let Some(parent) = job.output.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create folder {}", parent.display()))?;
    }
    match extension_of(&job.output).as_deref() {
        Some("png") => {
            let title = job
                .input
                .file_name()
                .map(|n| n.to_string_lossy().into_owned());
            let opts = SpectrogramPlot {
                title: title.unwrap_or_default(),
                seconds_per_frame: cfg.seconds_per_frame(),
                f_min_hz: cfg.f_min,
                f_max_hz: cfg.f_max_hz(),
                mel: true,
                colorbar_label: colorbar_label(&cfg),
            };
            spectrogram_png(&job.output, &spec.data, spec.n_bins, spec.n_frames, &opts)
                .with_context(|| format!("writing {}", job.output.display()))?;
        }
        _ => write_npy_f32(&job.output, &spec.data, &[spec.n_bins, spec.n_frames])
            .with_context(|| format!("writing {}", job.output.display()))?,
    }
    Ok(Written {
        input: job.input.display().to_string(),
        output: job.output.display().to_string(),
        sample_rate: rate,
        n_mels: spec.n_bins,
        n_frames: spec.n_frames,
    })
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    // With --sr the configuration is the same for every file: check the flags up front.
    if let Some(sr) = args.sr {
        args.config(sr)?;
    }
    let (jobs, to_folder) = plan_jobs(&args)?;
    if to_folder {
        std::fs::create_dir_all(&args.out)
            .with_context(|| format!("cannot create output folder {}", args.out.display()))?;
    }
    let bar = progress_bar(jobs.len() as u64, "mel", args.json || jobs.len() < 2);
    let failed = Mutex::new(Vec::new());
    let written: Vec<Written> = jobs
        .par_iter()
        .filter_map(|job| {
            let result = process(&args, job);
            bar.inc(1);
            match result {
                Ok(w) => Some(w),
                Err(e) => {
                    let msg = format!("{e:#}");
                    if to_folder {
                        let input = job.input.display().to_string();
                        // Most messages name the file already.
                        let line = if msg.contains(&input) {
                            format!("skipped: {msg}")
                        } else {
                            format!("skipped {input}: {msg}")
                        };
                        bar.suspend(|| eprintln!("{line}"));
                    }
                    if let Ok(mut f) = failed.lock() {
                        f.push(Failed {
                            input: job.input.display().to_string(),
                            error: msg,
                        });
                    }
                    None
                }
            }
        })
        .collect();
    bar.finish_and_clear();
    let mut failed = failed.into_inner().unwrap_or_default();
    failed.sort_by(|a, b| a.input.cmp(&b.input));
    let (n_ok, n_failed) = (written.len(), failed.len());
    let first_error = failed.first().map(|f| f.error.clone());
    if args.json {
        print_json(&Summary { written, failed })?;
    } else if !to_folder {
        if let Some(w) = written.first() {
            println!(
                "{}: {} Mel bands x {} frames at {} Hz",
                w.output, w.n_mels, w.n_frames, w.sample_rate
            );
        }
    } else {
        println!("wrote {n_ok} spectrograms to {}", args.out.display());
    }
    if n_failed > 0 {
        if !to_folder && let Some(e) = first_error {
            bail!("{e}");
        }
        bail!(
            "{n_failed} of {} inputs failed (see the messages above)",
            n_ok + n_failed
        );
    }
    Ok(())
}
