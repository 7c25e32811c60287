//! The flags of `auscult train` and their value parsers.

use std::path::PathBuf;

use crate::commands::parsers::{parse_device, parse_format, parse_split};
use auscult_classifier::{FreqMixStyle, ItemNorm, Level, MixupMode, Recipe};
use auscult_datasets::{CoswaraTarget, Format, SoundKind, SplitSpec};
use auscult_experiment::DeviceChoice;

/// Arguments of `auscult train` (`Args::default()` gives the command line's defaults with no
/// data, output or overrides).
#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// Dataset root (ICBHI 2017, Coswara or a folder per class); not needed with --resume.
    #[arg(long, value_name = "ROOT", required_unless_present = "resume")]
    pub data: Option<PathBuf>,
    /// Dataset format when auto-detection guesses wrong: icbhi, coswara or folder.
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
    /// Train/test split: official, all, fold:K:INDEX[:SEED] (patient-disjoint folds of all
    /// patients) or cv:K:INDEX[:SEED] (folds of the official training patients only: choose
    /// settings on these, never on the official test split). Default: official where the
    /// dataset has one (ICBHI's split file, train/ and test/ folders), otherwise fold:5:0 with
    /// the run's seed (5 patient-disjoint folds stratified by class, fold 0 the test set);
    /// data.json records the split used and `evaluate` reuses it.
    #[arg(long, value_parser = parse_split)]
    pub split: Option<SplitSpec>,
    /// Starting configuration before --config and the flags: icbhi (real ICBHI 2017
    /// recordings: Mel band 50-2000 Hz, per-item spectrum normalisation, Balanced Mixup alpha
    /// 1, no early stopping) or compact (the synthetic corpus and other datasets). Default:
    /// icbhi for a real ICBHI copy, compact otherwise (a corpus written by `auscult synth`
    /// counts as synthetic).
    #[arg(long, value_parser = parse_recipe)]
    pub recipe: Option<Recipe>,
    /// Coswara: the sounds each participant contributes as examples, comma-separated
    /// (breathing-deep, breathing-shallow, cough-heavy, cough-shallow, counting-fast,
    /// counting-normal, vowel-a, vowel-e, vowel-o; default the two breathing and the two cough
    /// recordings). One model learns them jointly; pass one sound to train a model per kind.
    #[arg(long, value_name = "SOUND,...", value_delimiter = ',', value_parser = parse_sound)]
    pub sounds: Vec<SoundKind>,
    /// Coswara: train one model per sound (in RUN_DIR/<sound>/) instead of one on all of
    /// them, and fuse them per participant (the mean of the models' probabilities) with one
    /// decision threshold chosen on the validation participants (RUN_DIR/ensemble.json,
    /// decision.json, report.json). `evaluate` and `classify` take the ensemble directory.
    #[arg(long, conflicts_with = "resume")]
    pub per_sound: bool,
    /// Coswara: what participants are labelled with: covid (COVID-19 positive vs healthy; the
    /// other statuses left out; default), symptomatic (any reported symptom: cough, cold,
    /// fever, diarrhoea, loss of smell, muscle pain, breathing difficulty, fatigue, sore
    /// throat), respiratory-condition (asthma, chronic lung disease, pneumonia, other
    /// respiratory illness), or one True/False column of combined_data.csv (asthma, cough,
    /// smoker, ...).
    #[arg(long, value_name = "TARGET", value_parser = parse_target)]
    pub target: Option<CoswaraTarget>,
    /// The unit of the final metrics and of a binary task's decision threshold: item (each
    /// cycle or file) or participant (the mean of each participant's probabilities). Default:
    /// participant for Coswara, item otherwise.
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    pub level: Option<Level>,
    /// Share of the training patients held out for validation (early stopping); 0 disables
    /// validation and early stopping (default: the recipe's, 0 for icbhi, 0.2 for compact).
    #[arg(long, value_name = "F")]
    pub val_fraction: Option<f32>,
    /// A generated corpus (manifest.json + .npy spectrograms) mixed into training only;
    /// repeatable.
    #[arg(long, value_name = "CORPUS_DIR")]
    pub augment: Vec<PathBuf>,
    /// Take this many generated samples per real training example (e.g. 0.5) instead of all.
    #[arg(long, value_name = "R", conflicts_with = "augment_per_class")]
    pub augment_ratio: Option<f32>,
    /// Add generated samples until each class has N training examples (real + generated).
    #[arg(long, value_name = "N")]
    pub augment_per_class: Option<usize>,
    /// Batch sampling and mixing: balanced (Balanced Mixup), plain, none, balanced-sampling.
    #[arg(long, value_parser = parse_mixup)]
    pub mixup: Option<MixupMode>,
    /// Alpha of the mixup Beta distribution (default: the recipe's, 1 for icbhi, 0.1 for
    /// compact).
    #[arg(long, value_name = "A")]
    pub mixup_alpha: Option<f32>,
    /// Weight of the supervised contrastive loss (default 0.5; 0 disables it).
    #[arg(long, value_name = "W")]
    pub supcon_weight: Option<f32>,
    /// Temperature of the supervised contrastive loss (default 0.07).
    #[arg(long, value_name = "T")]
    pub temperature: Option<f32>,
    /// Classification loss: ce, weighted-ce (inverse class frequency) or focal.
    #[arg(long, value_name = "LOSS")]
    pub loss: Option<String>,
    /// Gamma of the focal loss (default 2).
    #[arg(long, value_name = "G")]
    pub focal_gamma: Option<f32>,
    /// Naive oversampling: duplicate minority-class examples up to the majority count.
    #[arg(long)]
    pub oversample: bool,
    /// Make the recording chain (ICBHI device from the file name, and the file's sample rate)
    /// independent of the label in training batches: items are drawn with weights
    /// P(chain) P(class) / P(chain, class), so a stethoscope whose few recordings are mostly
    /// abnormal is not learnt as a sign of disease.
    #[arg(long, conflicts_with = "no_device_balance")]
    pub device_balance: bool,
    /// Sample training batches without regard to the recording chain (turns off the icbhi
    /// recipe's --device-balance).
    #[arg(long)]
    pub no_device_balance: bool,
    /// Domain-adversarial training against the recording chain with weight W: a small head
    /// learns the chain (device and source sample rate) from the embedding behind a gradient
    /// reversal layer, which pushes the network towards embeddings that hide it. 0 (the
    /// default) turns it off.
    #[arg(long, value_name = "W")]
    pub device_adversarial: Option<f32>,
    /// What each item loses on its own before the fitted normalisation: none, gain (overall
    /// level), spectrum (each Mel bin's mean over the item: gain and the device's frequency
    /// response), standardize (each bin's mean and spread) or recording (each bin's mean over
    /// all cycles of the item's recording). Default: the recipe's (spectrum for icbhi, none
    /// for compact).
    #[arg(long, value_name = "NORM", value_parser = parse_item_norm)]
    pub item_norm: Option<ItemNorm>,
    /// Freq-MixStyle: with probability P per batch, mix each item's per-Mel-bin mean and
    /// spread over time with another item's (weight ~ Beta(ALPHA, ALPHA), ALPHA default 0.4),
    /// so the model sees each cycle with other recordings' spectral colour and noise level.
    #[arg(long, value_name = "P[:ALPHA]", value_parser = parse_freq_mixstyle)]
    pub freq_mixstyle: Option<FreqMixStyle>,
    /// Turn SpecAugment (time and frequency masks) off.
    #[arg(long)]
    pub no_spec_augment: bool,
    /// Network preset: small (CPU default, 8-16-32-64 channels), medium (16-32-64-128), cnn6 or
    /// cnn10 (GPU sizes).
    #[arg(long, value_name = "PRESET")]
    pub model: Option<String>,
    /// Maximum number of epochs (default 30).
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Batch size (default 32).
    #[arg(long, value_name = "B")]
    pub batch_size: Option<usize>,
    /// Peak learning rate (default 1e-3).
    #[arg(long, value_name = "LR")]
    pub lr: Option<f64>,
    /// AdamW weight decay (default 1e-3).
    #[arg(long, value_name = "WD")]
    pub weight_decay: Option<f32>,
    /// Early-stopping patience in epochs (default: none for icbhi, 8 for compact; 0 disables
    /// early stopping).
    #[arg(long, value_name = "N")]
    pub patience: Option<usize>,
    /// Seed of every random choice (default 0).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Device: cpu, or gpu (aliases cuda, wgpu; needs a build with --features gpu).
    #[arg(long, value_parser = parse_device)]
    pub device: Option<DeviceChoice>,
    /// A JSON training config (the format of a run's config.json; missing fields take the
    /// defaults); flags override it.
    #[arg(long, value_name = "FILE.json")]
    pub config: Option<PathBuf>,
    /// Continue the killed run in this directory from its last complete epoch.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["out", "config"])]
    pub resume: Option<PathBuf>,
    /// With --resume: continue even if the data's files differ from those the run was trained
    /// on (by default a changed fingerprint is an error).
    #[arg(long, requires = "resume")]
    pub allow_data_change: bool,
    /// The new run directory.
    #[arg(long, value_name = "RUN_DIR", required_unless_present = "resume")]
    pub out: Option<PathBuf>,
    /// Print the final report as one JSON object; no progress bars.
    #[arg(long)]
    pub json: bool,
}

fn parse_sound(s: &str) -> Result<SoundKind, String> {
    s.parse::<SoundKind>()
}

fn parse_target(s: &str) -> Result<CoswaraTarget, String> {
    s.parse::<CoswaraTarget>()
}

/// Parses `item` or `participant` (also for `auscult evaluate --level`).
pub fn parse_level(s: &str) -> Result<Level, String> {
    s.parse::<Level>()
}

fn parse_freq_mixstyle(s: &str) -> Result<FreqMixStyle, String> {
    let (p, alpha) = match s.split_once(':') {
        Some((p, a)) => (p, Some(a)),
        None => (s, None),
    };
    let mut f = FreqMixStyle {
        p: p.parse()
            .map_err(|_| format!("`{p}` is not a probability"))?,
        ..FreqMixStyle::default()
    };
    if let Some(a) = alpha {
        f.alpha = a.parse().map_err(|_| format!("`{a}` is not a number"))?;
    }
    f.validate().map_err(|e| e.to_string())?;
    Ok(f)
}

fn parse_item_norm(s: &str) -> Result<ItemNorm, String> {
    s.parse::<ItemNorm>().map_err(|e| e.to_string())
}

fn parse_recipe(s: &str) -> Result<Recipe, String> {
    s.parse::<Recipe>().map_err(|e| e.to_string())
}

fn parse_mixup(s: &str) -> Result<MixupMode, String> {
    s.parse::<MixupMode>().map_err(|e| e.to_string())
}
