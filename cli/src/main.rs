//! `auscult`: respiratory and cough sound classification under class imbalance, with
//! generative augmentation. `main` only parses and dispatches; each subcommand lives in
//! `commands/<name>.rs`.

use clap::{Parser, Subcommand};

mod commands;
mod output;

/// mimalloc instead of glibc malloc: glibc hands large freed tensor buffers back to the OS and
/// page-faults them in again on the next training step; mimalloc keeps them for reuse. On the
/// CPU this is worth about a sixth of a small model's training step (issue 5, `classifier/README.md`);
/// `main` also turns off mimalloc's delayed purge (`auscult_experiment::allocator`), worth about
/// a sixth of a prior step.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Respiratory and cough sound classification under class imbalance, with generative
/// augmentation of minority classes.
#[derive(Parser, Debug)]
#[command(name = "auscult", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show codec, rate, channels, bit depth, length, peak and clipping of audio files.
    Info(commands::info::Args),
    /// Compute (log-)Mel spectrograms and write them as .npy or .png.
    Mel(commands::mel::Args),
    /// Inspect a dataset (ICBHI 2017, Coswara, folder-per-class or generated corpus).
    #[command(subcommand)]
    Dataset(commands::dataset::DatasetCommand),
    /// Write a seeded synthetic dataset in the ICBHI 2017 or Coswara layout.
    Synth(commands::synth::Args),
    /// Train the respiratory-sound classifier.
    Train(commands::train::Args),
    /// Evaluate a trained classifier with the ICBHI metrics.
    Evaluate(commands::evaluate::Args),
    /// Classify recordings (per annotated cycle, or in sliding windows).
    Classify(commands::classify::Args),
    /// Train the class-conditional VQ-VAE on log-Mel spectrograms.
    TrainVqvae(commands::train_vqvae::Args),
    /// Train the autoregressive Transformer prior over VQ-VAE codes.
    TrainPrior(commands::train_prior::Args),
    /// Generate a corpus of synthetic spectrograms of chosen classes.
    Generate(commands::generate::Args),
    /// Measure a generated corpus against real examples through a real-data classifier.
    Quality(commands::quality::Args),
    /// Run the whole job end to end on a synthetic corpus and write a report.
    Demo(commands::demo::Args),
    /// Compare training arms (plain, mixup+SupCon, augmentation, ...) over several seeds.
    Study(commands::study::Args),
    /// Pool the held-out folds of cross-validated studies (`study --split cv:K:I`, one per
    /// fold) and compare arms and settings on all of them.
    Pool(commands::pool::Args),
}

fn main() {
    auscult_experiment::allocator::retain_freed_memory();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info(args) => commands::info::run(args),
        Command::Mel(args) => commands::mel::run(args),
        Command::Dataset(cmd) => commands::dataset::run(cmd),
        Command::Synth(args) => commands::synth::run(args),
        Command::Train(args) => commands::train::run(args),
        Command::Evaluate(args) => commands::evaluate::run(args),
        Command::Classify(args) => commands::classify::run(args),
        Command::TrainVqvae(args) => commands::train_vqvae::run(args),
        Command::TrainPrior(args) => commands::train_prior::run(args),
        Command::Generate(args) => commands::generate::run(args),
        Command::Quality(args) => commands::quality::run(args),
        Command::Demo(args) => commands::demo::run(args),
        Command::Study(args) => commands::study::run(args),
        Command::Pool(args) => commands::pool::run(args),
    };
    if let Err(err) = result {
        eprintln!("Error: {err:#}");
        std::process::exit(1);
    }
}
