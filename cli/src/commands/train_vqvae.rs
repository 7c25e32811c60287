//! `auscult train-vqvae --data ROOT --out RUN_DIR [--config FILE.json] [--epochs N] [--seed S]
//! [--resume]`: trains the class-conditional VQ-VAE on the log-Mel spectrograms of a dataset's
//! training split, with per-epoch `metrics.jsonl`, checkpoints and a PNG of reconstructions.

use std::path::{Path, PathBuf};

use anyhow::Context;
use auscult_datasets::{ExampleConfig, ExampleSet, Format, LoadOptions, SplitSpec, load_examples};
use auscult_experiment::DeviceChoice;
use auscult_vqvae::{VqVaeReport, VqVaeTrainConfig, train_vqvae};

use crate::commands::parsers::{parse_device, parse_format, parse_split};
use crate::output::{BarProgress, print_json, print_start};

/// Model size preset.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// Small model for the CPU (the default).
    Cpu,
    /// Larger model and batch for a GPU (implies --device gpu).
    Gpu,
}

/// Where the data comes from (shared by `train-vqvae` and `train-prior`).
#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    /// Dataset folder (ICBHI 2017, Coswara, folder per class).
    #[arg(long, value_name = "ROOT")]
    pub data: PathBuf,
    /// The format, when auto-detection guesses wrong: icbhi, coswara, folder or corpus.
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
    /// Train/test split: official, all, fold:K:INDEX[:SEED] or cv:K:INDEX[:SEED]. Only the
    /// training part is used.
    #[arg(long, default_value = "official", value_parser = parse_split)]
    pub split: SplitSpec,
    /// Share of the training patients held out for validation (0 for none).
    #[arg(long, default_value_t = 0.1, value_name = "F")]
    pub val_fraction: f32,
}

/// Loads the data with the model's example cut.
pub(crate) fn load_data(
    args: &DataArgs,
    examples: &ExampleConfig,
    seed: u64,
) -> anyhow::Result<ExampleSet> {
    let opts = LoadOptions {
        format: args.format,
        examples: examples.clone(),
        split: args.split,
        val_fraction: args.val_fraction,
        seed,
        ..LoadOptions::default()
    };
    let set = load_examples(&args.data, &opts)
        .with_context(|| format!("loading {}", args.data.display()))?;
    for p in &set.problems {
        eprintln!("warning: {}: {}", p.path.display(), p.problem);
    }
    Ok(set)
}

/// Reads a JSON config file.
pub(crate) fn read_config<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "parsing {} (see `config.json` of a run for the fields)",
            path.display()
        )
    })
}

/// The configuration the flags start from: the --config file; else, on --resume, the run's
/// saved `config.json`; else the preset's (`default` for the CPU, `gpu` for --preset gpu).
pub(crate) fn base_config<T: serde::de::DeserializeOwned>(
    config: Option<&Path>,
    out: &Path,
    resume: bool,
    preset: Option<Preset>,
    default: fn() -> T,
    gpu: fn() -> T,
) -> anyhow::Result<T> {
    let saved = out.join("config.json");
    Ok(if let Some(path) = config {
        read_config(path)?
    } else if resume && saved.exists() {
        read_config(&saved)?
    } else if preset == Some(Preset::Gpu) {
        gpu()
    } else {
        default()
    })
}

/// Arguments of `auscult train-vqvae`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The data.
    #[command(flatten)]
    pub data: DataArgs,
    /// Run directory (created; must not hold a run unless --resume).
    #[arg(long, value_name = "RUN_DIR")]
    pub out: PathBuf,
    /// Training configuration (JSON, any subset of the fields of a run's config.json).
    #[arg(long, value_name = "FILE.json")]
    pub config: Option<PathBuf>,
    /// Size preset (the --config file, when given, takes precedence).
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// Epochs (overrides the config).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Seed of initialisation, shuffling, restarts and the validation carve-out.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Examples per step (overrides the config).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Peak learning rate (overrides the config).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Compute device: cpu or gpu.
    #[arg(long, value_parser = parse_device)]
    pub device: Option<DeviceChoice>,
    /// Continue the run in --out from its last complete epoch.
    #[arg(long)]
    pub resume: bool,
    /// With --resume: continue even if the data's files differ from those the run was trained
    /// on (by default a changed fingerprint is an error).
    #[arg(long, requires = "resume")]
    pub allow_data_change: bool,
    /// Print the report as JSON (and no progress bars).
    #[arg(long)]
    pub json: bool,
}

/// The configuration the flags ask for.
pub fn resolve_config(args: &Args) -> anyhow::Result<VqVaeTrainConfig> {
    let mut cfg = base_config(
        args.config.as_deref(),
        &args.out,
        args.resume,
        args.preset,
        VqVaeTrainConfig::default,
        VqVaeTrainConfig::gpu,
    )?;
    if let Some(e) = args.epochs {
        cfg.epochs = e;
    }
    if let Some(s) = args.seed {
        cfg.seed = s;
    }
    if let Some(b) = args.batch_size {
        cfg.batch_size = b;
    }
    if let Some(lr) = args.lr {
        cfg.lr = lr;
    }
    if let Some(d) = args.device {
        cfg.device = d;
    }
    cfg.resume = args.resume;
    cfg.allow_data_change = args.allow_data_change;
    Ok(cfg)
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = resolve_config(&args)?;
    let data = load_data(&args.data, &cfg.examples, cfg.seed)?;
    let progress = BarProgress::new(args.json);
    let report = train_vqvae(&cfg, &data, &args.out, &progress)
        .with_context(|| format!("training the VQ-VAE into {}", args.out.display()))?;
    if args.json {
        print_json(&report)
    } else {
        print_start(report.start, &report.dir);
        print_report(&report);
        Ok(())
    }
}

fn print_report(r: &VqVaeReport) {
    println!(
        "VQ-VAE trained: {} epochs, {} steps in {:.0} s ({:.2} steps/s)",
        r.epochs, r.steps, r.seconds, r.steps_per_s
    );
    println!(
        "  on {} ({} examples): reconstruction error {:.2} dB MAE, {:.2} dB RMSE (MSE {:.4} normalised)",
        r.eval_split,
        r.eval_examples,
        r.reconstruction_mae_db,
        r.reconstruction_rmse_db,
        r.reconstruction_mse
    );
    println!(
        "  codebook: {}/{} codes used, perplexity {:.1}; grid {} x {} codes",
        r.codes_used, r.codebook_size, r.perplexity, r.grid[0], r.grid[1]
    );
    for d in &r.detail {
        if let (Some(real), Some(rec)) = (d.real, d.modelled) {
            println!(
                "  {} (training split): tonality {:.2} dB (original {:.2}), transientness {:.2} dB (original {:.2}), with a tone {:.0}% (original {:.0}%)",
                d.class,
                rec.tonality_db,
                real.tonality_db,
                rec.transientness_db,
                real.transientness_db,
                100.0 * rec.toned,
                100.0 * real.toned
            );
        }
    }
    println!("  reconstructions: {}", r.reconstructions_png.display());
    println!("  run directory: {}", r.dir.display());
}
