//! `auscult train-prior --vqvae RUN_DIR --data ROOT --out PRIOR_DIR [--config FILE.json]
//! [--epochs N] [--seed S] [--resume]`: trains the autoregressive Transformer prior over the
//! codes a trained VQ-VAE gives the dataset's training split.

use std::path::PathBuf;

use anyhow::Context;
use auscult_experiment::DeviceChoice;
use auscult_vqvae::{PriorReport, PriorTrainConfig, VqVaeTrainConfig, train_prior};

use super::train_vqvae::{DataArgs, Preset, base_config, load_data, read_config};
use crate::commands::parsers::parse_device;
use crate::output::{BarProgress, print_json, print_start};

/// Arguments of `auscult train-prior`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The trained VQ-VAE's run directory.
    #[arg(long, value_name = "RUN_DIR")]
    pub vqvae: PathBuf,
    /// The data (the same dataset the VQ-VAE was trained on).
    #[command(flatten)]
    pub data: DataArgs,
    /// Prior directory (created; must not hold a run unless --resume).
    #[arg(long, value_name = "PRIOR_DIR")]
    pub out: PathBuf,
    /// Training configuration (JSON, any subset of the fields of a prior's config.json).
    #[arg(long, value_name = "FILE.json")]
    pub config: Option<PathBuf>,
    /// Size preset (the --config file, when given, takes precedence).
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// Epochs (overrides the config).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Seed of initialisation, shuffling, dropout and the validation carve-out.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Sequences per step (overrides the config).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Peak learning rate (overrides the config).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Code grids per training cycle: the cycle as cut plus N-1 copies moved to random
    /// positions in the silence around it, one of them trained on per epoch (overrides the
    /// config; default 8; 1 turns it off). Applies to VQ-VAEs trained on zero-padded cycles,
    /// the default.
    #[arg(long, value_name = "N")]
    pub placements: Option<usize>,
    /// Do not tell the prior where each cycle's wheeze tone lies (its tone track, folded into
    /// the cycle plan). By default the prior learns tone tracks from the training cycles and
    /// generation draws one per sample from the class's cycles, moved and transposed.
    #[arg(long)]
    pub no_tone: bool,
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
pub fn resolve_config(args: &Args) -> anyhow::Result<PriorTrainConfig> {
    let mut cfg = base_config(
        args.config.as_deref(),
        &args.out,
        args.resume,
        args.preset,
        PriorTrainConfig::default,
        PriorTrainConfig::gpu,
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
    if let Some(n) = args.placements {
        cfg.placements = n;
    }
    if let Some(d) = args.device {
        cfg.device = d;
    }
    if args.no_tone {
        cfg.tone = false;
    }
    cfg.resume = args.resume;
    cfg.allow_data_change = args.allow_data_change;
    Ok(cfg)
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = resolve_config(&args)?;
    let vq: VqVaeTrainConfig = read_config(&args.vqvae.join("config.json"))
        .with_context(|| format!("{} is not a VQ-VAE run directory", args.vqvae.display()))?;
    let data = load_data(&args.data, &vq.examples, cfg.seed)?;
    let progress = BarProgress::new(args.json);
    let report = train_prior(&args.vqvae, &cfg, &data, &args.out, &progress)
        .with_context(|| format!("training the prior into {}", args.out.display()))?;
    if args.json {
        print_json(&report)
    } else {
        print_start(report.start, &report.dir);
        print_report(&report);
        Ok(())
    }
}

fn print_report(r: &PriorReport) {
    println!(
        "prior trained: {} epochs, {} steps in {:.0} s ({:.2} steps/s)",
        r.epochs, r.steps, r.seconds, r.steps_per_s
    );
    println!(
        "  on {}: {:.3} bits per code (unigram {:.3}, uniform {:.3}); {} codes per sample",
        r.eval_split, r.bits_per_code, r.unigram_bits_per_code, r.uniform_bits_per_code, r.seq_len
    );
    println!("  prior directory: {}", r.dir.display());
}
