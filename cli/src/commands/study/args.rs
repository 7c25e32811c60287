//! The flags of `auscult study` and the sizes they give.

use std::path::PathBuf;

use auscult_datasets::SplitSpec;
use auscult_study::{Arm, Budget};

use crate::commands::parsers::parse_split;

/// Parses `--arms` items: a letter (`c`) or a name (`augmented`).
fn parse_arm(s: &str) -> Result<Arm, auscult_study::Error> {
    s.parse()
}

/// Arguments of `auscult study`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// ICBHI-layout dataset root (official split); default: a synthetic ICBHI corpus written
    /// into OUT/synth with `auscult synth`.
    #[arg(long, value_name = "ROOT")]
    pub data: Option<PathBuf>,
    /// Output directory for every run, corpus, figure and the report.
    #[arg(long, default_value = "study-out", value_name = "DIR")]
    pub out: PathBuf,
    /// Number of seeds (seed, seed+1, ...).
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,
    /// Arms to run, comma separated: a/plain, b/mixup-supcon, c/augmented, d/oversample,
    /// e/gated. Arm (e) also runs (a), whose real-data classifier is its gate.
    #[arg(long, value_delimiter = ',', default_value = "a,b,c,d,e", value_parser = parse_arm)]
    pub arms: Vec<Arm>,
    /// Tiny sizes everywhere (smaller synthetic corpus, fewer epochs): a smoke test of every
    /// step, not a measurement.
    #[arg(long)]
    pub quick: bool,
    /// Patients of the synthetic corpus (ignored with --data).
    #[arg(long, value_name = "N")]
    pub patients: Option<usize>,
    /// Classifier epochs per arm (default 20; 3 with --quick).
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// VQ-VAE epochs (default 20; 3 with --quick).
    #[arg(long, value_name = "N")]
    pub vqvae_epochs: Option<usize>,
    /// Prior epochs (default 30; 3 with --quick).
    #[arg(long, value_name = "N")]
    pub prior_epochs: Option<usize>,
    /// Sampling temperature of the prior.
    #[arg(long, default_value_t = 1.0, value_name = "T")]
    pub temperature: f32,
    /// Top-k sampling of the prior (0: off).
    #[arg(long, default_value_t = 0, value_name = "K")]
    pub top_k: usize,
    /// Nucleus (top-p) sampling of the prior (off unless given).
    #[arg(long, value_name = "P")]
    pub top_p: Option<f32>,
    /// Generate the decoder's smooth mean spectrograms, without the fitted texture (passed
    /// to `auscult generate --no-texture`).
    #[arg(long)]
    pub no_texture: bool,
    /// Match each generated class's mean spectral envelope to its real training cycles'
    /// (passed to `auscult generate --match-envelope`).
    #[arg(long)]
    pub match_envelope: bool,
    /// Size of the generated corpus: each minority class is generated up to this many
    /// (training plus generated) examples; default: the majority class's count.
    #[arg(long, value_name = "N")]
    pub target: Option<usize>,
    /// Share of the generated corpus that enters training in arms (c) and (e), passed to
    /// `auscult train --augment-ratio` (default: all of it).
    #[arg(long, value_name = "R")]
    pub augment_ratio: Option<f32>,
    /// Reuse a trained generator instead of training one per seed: either an earlier study
    /// (its `seed-N/prior` for each seed N; it must have used the same data and seeds), or one
    /// prior directory (`auscult train-prior --out DIR`), shared by every seed, which then
    /// varies the generated samples and the classifiers but not the generator. Lets a sweep
    /// over sampling, corpus size, ratio or gate threshold, or a many-seed study on real
    /// data, skip the two slowest steps.
    #[arg(long, value_name = "STUDY_DIR|PRIOR_DIR")]
    pub generator_from: Option<PathBuf>,
    /// Quality-gate threshold of arm (e): keep a generated sample when the real-data model
    /// gives its conditioned class at least this probability.
    #[arg(long, default_value_t = 0.5, value_name = "P")]
    pub gate_threshold: f32,
    /// Make the gate relative to how the same model scores real cycles: keep a sample when
    /// its probability is at least the threshold times the median probability the model gives
    /// the real validation cycles of that class (training cycles when there is no validation
    /// split; test cycles are never used). A weak model that gives even real wheezes p = 0.15
    /// then still keeps the generated wheezes that look as wheeze-like as real ones.
    #[arg(long)]
    pub gate_relative: bool,
    /// Split for every model of the study, as `auscult train --split` takes it: `official`
    /// (default), or `cv:K:INDEX[:SEED]` to choose generation settings on a fold of the
    /// training patients, never on the official test split: the VQ-VAE, the prior and every
    /// arm then train on the other folds and are evaluated on fold INDEX. A generator reused
    /// with --generator-from must have been trained on the same split.
    #[arg(long, default_value = "official", value_parser = parse_split)]
    pub split: SplitSpec,
    /// Device for training: cpu, or gpu (needs a build with --features gpu).
    #[arg(long, default_value = "cpu", value_name = "DEVICE")]
    pub device: String,
    /// Print the study summary as JSON on stdout (steps still log to stderr).
    #[arg(long)]
    pub json: bool,
}

/// The sizes of the study: `--quick`'s or the full defaults, overridden by the flags.
pub(super) fn budget(args: &Args) -> Budget {
    let defaults = if args.quick {
        Budget::QUICK
    } else {
        Budget::FULL
    };
    Budget {
        patients: args.patients.unwrap_or(defaults.patients),
        classifier_epochs: args.epochs.unwrap_or(defaults.classifier_epochs),
        vqvae_epochs: args.vqvae_epochs.unwrap_or(defaults.vqvae_epochs),
        prior_epochs: args.prior_epochs.unwrap_or(defaults.prior_epochs),
    }
}
