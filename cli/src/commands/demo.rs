//! `auscult demo`: the whole job end to end on the built-in synthetic corpus.
//!
//! 1. writes a synthetic ICBHI-layout corpus (`auscult synth icbhi`) and inspects it;
//! 2. trains the VQ-VAE and its prior on the training patients only;
//! 3. generates minority-class spectrograms up to the majority count (`--balance`);
//! 4. trains the classifier three ways with the same seed and budget: (a) plain cross-entropy,
//!    (b) Balanced Mixup + SupCon, (c) (b) + the generated corpus;
//! 5. evaluates each on the held-out test patients, prints the table and writes `report.md`
//!    (table, confusion matrices, curves, contact sheet, and the command of every step).
//!
//! It is `auscult study` with one seed and arms a-c; see `study.rs`.

use std::path::PathBuf;

use super::study::{self, Arm, Plan};
use crate::output::print_json;

/// Arguments of `auscult demo`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Output directory (synthetic corpus, models, generated corpus, report).
    #[arg(long, default_value = "demo-out", value_name = "DIR")]
    pub out: PathBuf,
    /// Tiny sizes (a couple of minutes): every step runs, the numbers mean little.
    #[arg(long)]
    pub quick: bool,
    /// Seed of every step.
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,
    /// Device for training: cpu, or gpu (needs a build with --features gpu).
    #[arg(long, default_value = "cpu", value_name = "DEVICE")]
    pub device: String,
    /// Print the report as JSON on stdout (step logs stay on stderr).
    #[arg(long)]
    pub json: bool,
}

/// Runs the demo.
pub fn run(args: Args) -> anyhow::Result<()> {
    let json = args.json;
    let report = study::execute(Plan {
        title: "auscult demo: synthetic ICBHI, generative augmentation, three training arms"
            .to_string(),
        inspect: true,
        args: study::Args {
            data: None,
            out: args.out,
            seeds: 1,
            seed: args.seed,
            arms: vec![Arm::Plain, Arm::MixupSupcon, Arm::Augmented],
            quick: args.quick,
            patients: None,
            epochs: None,
            vqvae_epochs: None,
            prior_epochs: None,
            temperature: 1.0,
            top_k: 0,
            top_p: None,
            no_texture: false,
            match_envelope: false,
            target: None,
            augment_ratio: None,
            generator_from: None,
            gate_threshold: 0.5,
            gate_relative: false,
            split: auscult_datasets::SplitSpec::Official,
            device: args.device,
            json,
        },
    })?;
    if json {
        print_json(&report)?;
    }
    Ok(())
}
