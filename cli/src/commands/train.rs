//! `auscult train --data ROOT --out RUN_DIR [...]`: trains the respiratory-sound classifier
//! (Balanced Mixup + supervised contrastive loss by default) and writes a run directory with
//! the resolved config, checkpoints, `metrics.jsonl`, curves and confusion matrix.
//! `auscult train --resume RUN_DIR` continues a killed run from its last complete epoch.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use auscult_classifier::{
    AugmentMix, ClassLoss, CnnConfig, FreqMixStyle, ItemNorm, Level, MixupMode, Recipe,
    TrainConfig, TrainReport, resume, train,
};
use auscult_datasets::{
    CoswaraOptions, CoswaraTarget, ExampleSet, Format, GeneratedCorpus, LoadOptions,
    SYNTH_REPORT_FILE, SoundKind, SplitSpec, load_examples,
};
use auscult_experiment::DeviceChoice;
use serde::{Deserialize, Serialize};

use crate::output::{BarProgress, print_json};

/// File in the run directory recording where the data came from (so `--resume` and
/// `auscult evaluate` can reload it).
pub const DATA_FILE: &str = "data.json";

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
    /// What each item loses on its own before the fitted normalisation: none, gain (overall
    /// level), spectrum (each Mel bin's mean over the item: gain and the device's frequency
    /// response) or standardize (each bin's mean and spread). Default: the recipe's
    /// (spectrum for icbhi, none for compact).
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

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse::<Format>().map_err(|e| e.to_string())
}

fn parse_split(s: &str) -> Result<SplitSpec, String> {
    s.parse::<SplitSpec>()
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

/// The recipe `--recipe` names, or the one that fits the data at `root`: icbhi for a real
/// ICBHI 2017 copy, compact for anything else (a corpus written by `auscult synth` carries its
/// report file and counts as synthetic).
pub fn choose_recipe(args: &Args, root: Option<&Path>) -> Recipe {
    if let Some(r) = args.recipe {
        return r;
    }
    let Some(root) = root else {
        return Recipe::Compact;
    };
    let format = args.format.or_else(|| Format::detect(root).ok());
    if format == Some(Format::Icbhi) && !root.join(SYNTH_REPORT_FILE).exists() {
        Recipe::Icbhi
    } else {
        Recipe::Compact
    }
}

fn parse_mixup(s: &str) -> Result<MixupMode, String> {
    s.parse::<MixupMode>().map_err(|e| e.to_string())
}

fn parse_device(s: &str) -> Result<DeviceChoice, String> {
    s.parse::<DeviceChoice>().map_err(|e| e.to_string())
}

/// Folds of the default split of a dataset without an official one.
const DEFAULT_FOLDS: usize = 5;

/// Whether loading failed only because the dataset has no official split.
fn no_official_split(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<auscult_datasets::Error>(),
            Some(auscult_datasets::Error::SplitUnavailable { .. })
        )
    })
}

/// Where a run's data came from (`data.json` in the run directory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSpec {
    /// Dataset root.
    pub root: PathBuf,
    /// Format, if forced.
    pub format: Option<Format>,
    /// Train/test split.
    pub split: SplitSpec,
    /// Validation share of the training patients.
    pub val_fraction: f32,
    /// Seed of the validation carve-out.
    pub seed: u64,
    /// Generated corpora mixed into training.
    pub augment: Vec<PathBuf>,
    /// The recipe the training config started from (absent in runs made before recipes).
    #[serde(default)]
    pub recipe: Option<Recipe>,
    /// Coswara: the sounds and the target (absent for other datasets and older runs: the
    /// defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coswara: Option<CoswaraOptions>,
}

impl DataSpec {
    /// Loads the examples this spec names, cut with `cfg`'s example config.
    pub fn load(&self, cfg: &TrainConfig) -> anyhow::Result<ExampleSet> {
        let opts = LoadOptions {
            format: self.format,
            examples: cfg.examples.clone(),
            split: self.split,
            val_fraction: self.val_fraction,
            seed: self.seed,
            coswara: self.coswara.clone().unwrap_or_default(),
        };
        load_examples(&self.root, &opts)
            .with_context(|| format!("loading the dataset at {}", self.root.display()))
    }

    /// Opens the generated corpora.
    pub fn corpora(&self) -> anyhow::Result<Vec<GeneratedCorpus>> {
        self.augment
            .iter()
            .map(|d| GeneratedCorpus::open(d).with_context(|| format!("--augment {}", d.display())))
            .collect()
    }
}

/// The resolved training config: the recipe's, then `--config`, then the flags.
pub fn resolve_config(args: &Args, recipe: Recipe) -> anyhow::Result<TrainConfig> {
    let mut cfg = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading --config {}", path.display()))?;
            serde_json::from_str::<TrainConfig>(&text)
                .or_else(|first| {
                    // A run's config.json also holds classes and the feature shape: accept it.
                    let mut v: serde_json::Value = serde_json::from_str(&text)?;
                    if let Some(o) = v.as_object_mut() {
                        for k in [
                            "schema_version",
                            "created_by",
                            "classes",
                            "n_bins",
                            "n_frames",
                        ] {
                            o.remove(k);
                        }
                    }
                    serde_json::from_value::<TrainConfig>(v).map_err(|_| first)
                })
                .with_context(|| format!("parsing --config {}", path.display()))?
        }
        None => recipe.config(),
    };
    if let Some(m) = args.mixup {
        cfg.mixup = m;
    }
    if let Some(v) = args.mixup_alpha {
        cfg.mixup_alpha = v;
    }
    if let Some(v) = args.supcon_weight {
        cfg.supcon_weight = v;
    }
    if let Some(v) = args.temperature {
        cfg.temperature = v;
    }
    if let Some(name) = &args.loss {
        cfg.loss = match name.to_ascii_lowercase().as_str() {
            "ce" | "cross-entropy" => ClassLoss::CrossEntropy,
            "weighted-ce" | "weighted" => ClassLoss::WeightedCrossEntropy,
            "focal" => ClassLoss::Focal {
                gamma: args.focal_gamma.unwrap_or(2.0),
            },
            other => bail!("--loss {other}: use ce, weighted-ce or focal"),
        };
    } else if let (Some(g), ClassLoss::Focal { gamma }) = (args.focal_gamma, &mut cfg.loss) {
        *gamma = g;
    }
    if let Some(f) = args.freq_mixstyle {
        cfg.freq_mixstyle = Some(f);
    }
    if let Some(n) = args.item_norm {
        cfg.item_norm = n;
    }
    if args.device_balance {
        cfg.device_balance = true;
    }
    if args.no_device_balance {
        cfg.device_balance = false;
    }
    if args.oversample {
        cfg.oversample = true;
    }
    if args.no_spec_augment {
        cfg.spec_augment = None;
    }
    if let Some(name) = &args.model {
        cfg.model = CnnConfig::preset(name)?;
    }
    if let Some(v) = args.epochs {
        cfg.epochs = v;
    }
    if let Some(v) = args.batch_size {
        cfg.batch_size = v;
    }
    if let Some(v) = args.lr {
        cfg.lr = v;
    }
    if let Some(v) = args.weight_decay {
        cfg.weight_decay = v;
    }
    if let Some(v) = args.patience {
        cfg.patience = (v > 0).then_some(v);
    }
    if let Some(v) = args.seed {
        cfg.seed = v;
    }
    if let Some(v) = args.device {
        cfg.device = v;
    }
    if let Some(r) = args.augment_ratio {
        cfg.augment_mix = AugmentMix::Ratio(r);
    }
    if let Some(n) = args.augment_per_class {
        cfg.augment_mix = AugmentMix::PerClass(n);
    }
    cfg.validate()?;
    Ok(cfg)
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let progress = BarProgress::new(args.json);
    let report = if let Some(dir) = &args.resume {
        let spec: DataSpec = read_json(&dir.join(DATA_FILE))?;
        let saved: auscult_classifier::ModelConfig =
            read_json(&dir.join(auscult_classifier::files::CONFIG))?;
        let data = spec.load(&saved.train)?;
        let corpora = spec.corpora()?;
        resume(dir, &data, &corpora, args.allow_data_change, &progress)
            .with_context(|| format!("resuming {}", dir.display()))?
    } else {
        let (Some(root), Some(out)) = (&args.data, &args.out) else {
            bail!("--data and --out are required (or --resume RUN_DIR)");
        };
        if args.per_sound {
            return train_per_sound(&args, root, out, &progress);
        }
        train_new(&args, root, out, None, &progress)?.0
    };
    if args.json {
        print_json(&report)
    } else {
        print_start(&report);
        print_report(&report);
        Ok(())
    }
}

/// Trains one new run into `out` (with `sounds`, a single Coswara sound in place of
/// `--sounds`); returns its report and the examples it was trained and tested on.
fn train_new(
    args: &Args,
    root: &Path,
    out: &Path,
    sounds: Option<SoundKind>,
    progress: &BarProgress,
) -> anyhow::Result<(TrainReport, ExampleSet)> {
    let recipe = choose_recipe(args, Some(root));
    let mut cfg = resolve_config(args, recipe)?;
    let format = args.format.or_else(|| Format::detect(root).ok());
    let coswara = match sounds {
        Some(k) => coswara_options(args, format)?.map(|o| CoswaraOptions {
            sounds: vec![k],
            ..o
        }),
        None => coswara_options(args, format)?,
    };
    if let Some(level) = args.level {
        cfg.level = level;
    } else if args.config.is_none() && format == Some(Format::Coswara) {
        cfg.level = Level::Participant;
    }
    if !args.json {
        eprintln!(
            "recipe {}{}",
            recipe.name(),
            if args.config.is_some() {
                " (only its validation share: --config gives the training config)"
            } else {
                ""
            }
        );
    }
    let mut spec = DataSpec {
        root: root.to_path_buf(),
        format: args.format,
        split: args.split.unwrap_or(SplitSpec::Official),
        val_fraction: args.val_fraction.unwrap_or(recipe.val_fraction()),
        seed: cfg.seed,
        augment: args.augment.clone(),
        recipe: Some(recipe),
        coswara,
    };
    let data = match spec.load(&cfg) {
        Err(e) if args.split.is_none() && no_official_split(&e) => {
            spec.split = SplitSpec::Fold {
                k: DEFAULT_FOLDS,
                index: 0,
                seed: cfg.seed,
            };
            if !args.json {
                eprintln!(
                    "the dataset has no official split: testing on fold 0 of {DEFAULT_FOLDS} \
                     patient-disjoint folds stratified by class (--split fold:{DEFAULT_FOLDS}:0:{})",
                    cfg.seed
                );
            }
            spec.load(&cfg)?
        }
        other => other?,
    };
    for p in &data.problems {
        eprintln!("warning: {}: {}", p.path.display(), p.problem);
    }
    let corpora = spec.corpora()?;
    if out.join(auscult_classifier::files::CONFIG).exists() {
        bail!(
            "{} already holds a run; pass --resume {} to continue it or choose another --out",
            out.display(),
            out.display()
        );
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    auscult_experiment::write_json_atomic(out.join(DATA_FILE), &spec)?;
    let report = train(&cfg, &data, &corpora, out, progress)
        .with_context(|| format!("training into {}", out.display()))?;
    Ok((report, data))
}

/// The report of `train --per-sound` (`report.json` in the ensemble directory).
#[derive(Debug, Serialize)]
struct EnsembleReport {
    run_dir: PathBuf,
    classes: Vec<String>,
    level: Level,
    decision: auscult_classifier::DecisionRule,
    val: Option<auscult_classifier::Metrics>,
    test: Option<auscult_classifier::Metrics>,
    members: Vec<TrainReport>,
}

/// `train --per-sound`: a model per sound, then the fused decision rule and metrics.
fn train_per_sound(
    args: &Args,
    root: &Path,
    out: &Path,
    progress: &BarProgress,
) -> anyhow::Result<()> {
    use auscult_classifier::binary::{DecisionRule, fuse_by_patient, positive_class};
    use auscult_classifier::ensemble::combine;
    use auscult_classifier::{Classifier, EnsembleSpec, MemberSpec, Metrics};

    let format = args.format.or_else(|| Format::detect(root).ok());
    let Some(options) = coswara_options(args, format)? else {
        bail!("--per-sound applies to Coswara datasets only");
    };
    if out.join(auscult_classifier::files::ENSEMBLE).exists() {
        bail!(
            "{} already holds an ensemble; choose another --out",
            out.display()
        );
    }
    let mut members = Vec::new();
    let mut reports = Vec::new();
    // (val, test) participants of each member, fused over the member's files.
    let mut val = Vec::new();
    let mut test = Vec::new();
    for &kind in &options.sounds {
        if !args.json {
            eprintln!("member {}", kind.name());
        }
        let dir = out.join(kind.name());
        let (report, data) = train_new(args, root, &dir, Some(kind), progress)?;
        let clf = Classifier::load(&dir)?;
        for (examples, into) in [(&data.val, &mut val), (&data.test, &mut test)] {
            if examples.is_empty() {
                continue;
            }
            let probs = clf.predict_examples(examples)?;
            let truth: Vec<usize> = examples.iter().map(|e| e.label).collect();
            let patients: Vec<String> = examples.iter().map(|e| e.patient.clone()).collect();
            into.push(fuse_by_patient(&truth, &probs, &patients)?);
        }
        members.push(MemberSpec {
            dir: PathBuf::from(kind.name()),
            sounds: vec![kind],
        });
        reports.push(report);
    }
    let classes = reports
        .first()
        .map(|r| r.classes.clone())
        .context("no sound to train on")?;
    let Some(pos) = positive_class(&classes) else {
        bail!(
            "--per-sound needs a two-class target; the classes are {}",
            classes.join(", ")
        );
    };
    let (val, test) = (combine(&val)?, combine(&test)?);
    let binary = |f: &auscult_classifier::binary::Fused| -> (Vec<f64>, Vec<bool>) {
        (
            f.probabilities.iter().map(|p| f64::from(p[pos])).collect(),
            f.truth.iter().map(|&t| t == pos).collect(),
        )
    };
    let (scores, truth) = binary(&val);
    let decision = DecisionRule::choose(&classes[pos], &scores, &truth, Level::Participant);
    let seed = args.seed.unwrap_or(0);
    let metrics = |f: &auscult_classifier::binary::Fused| -> anyhow::Result<Option<Metrics>> {
        if f.truth.is_empty() {
            return Ok(None);
        }
        Ok(Some(Metrics::compute_full(
            &classes,
            &f.truth,
            &f.probabilities,
            Some(&f.patients),
            auscult_classifier::metrics::BootstrapOptions {
                resamples: 1000,
                seed,
            },
            Some(decision.threshold),
        )?))
    };
    let report = EnsembleReport {
        run_dir: out.to_path_buf(),
        classes: classes.clone(),
        level: Level::Participant,
        decision: decision.clone(),
        val: metrics(&val)?,
        test: metrics(&test)?,
        members: reports,
    };
    let (scores, truth) = binary(&test);
    auscult_classifier::binary::roc_png(
        &out.join(auscult_classifier::files::ROC),
        &format!(
            "ROC of {} (test, {} participants, a model per sound, AUC {:.3})",
            classes[pos],
            scores.len(),
            report
                .test
                .as_ref()
                .and_then(|m| m.roc_auc)
                .unwrap_or(f64::NAN)
        ),
        &scores,
        &truth,
    )?;
    auscult_experiment::write_json_atomic(
        out.join(auscult_classifier::files::DECISION),
        &decision,
    )?;
    auscult_experiment::write_json_atomic(out.join(auscult_classifier::files::REPORT), &report)?;
    // Written last: an ensemble directory is complete once ensemble.json exists.
    auscult_experiment::write_json_atomic(
        out.join(auscult_classifier::files::ENSEMBLE),
        &EnsembleSpec { members },
    )?;
    if args.json {
        return print_json(&report);
    }
    println!(
        "ensemble        {} ({} models, one per sound)",
        out.display(),
        report.members.len()
    );
    println!(
        "threshold       P({}) >= {:.3} ({} on {} validation participants)",
        decision.positive_class, decision.threshold, decision.criterion, decision.n
    );
    for (name, m) in [("validation", &report.val), ("test", &report.test)] {
        if let Some(m) = m {
            println!(
                "{name:<15} participants {}  ROC-AUC {}  Sp {:.3}  Se {:.3}  Score {:.3}",
                m.n,
                m.roc_auc.map_or("-".into(), |a| format!("{a:.3}")),
                m.specificity,
                m.sensitivity,
                m.score
            );
        }
    }
    Ok(())
}

/// The Coswara options of `--sounds` and `--target` (`None` for other formats, where the
/// flags are refused).
fn coswara_options(args: &Args, format: Option<Format>) -> anyhow::Result<Option<CoswaraOptions>> {
    if format != Some(Format::Coswara) {
        if !args.sounds.is_empty() || args.target.is_some() {
            bail!("--sounds and --target apply to Coswara datasets only");
        }
        return Ok(None);
    }
    let mut o = CoswaraOptions::default();
    if !args.sounds.is_empty() {
        o.sounds = args.sounds.clone();
        o.sounds.sort();
        o.sounds.dedup();
    }
    if let Some(t) = &args.target {
        o.target = t.clone();
    }
    Ok(Some(o))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    Ok(auscult_experiment::read_json(path)?)
}

/// Says so when `--resume` found no committed checkpoint and training began again.
fn print_start(r: &TrainReport) {
    if r.start == auscult_experiment::Start::Restarted {
        eprintln!(
            "{} had no committed checkpoint (it was stopped before its first epoch was saved): trained from the first epoch",
            r.run_dir.display()
        );
    }
}

fn print_report(r: &TrainReport) {
    println!("run directory   {}", r.run_dir.display());
    println!(
        "examples        {} train (+{} generated), {} validation, {} test",
        r.n_train, r.n_generated, r.n_val, r.n_test
    );
    println!(
        "epochs          {}{} ({} steps{})",
        r.epochs,
        if r.stopped_early {
            ", stopped early"
        } else {
            ""
        },
        r.steps,
        r.steps_per_second
            .map(|s| format!(", {s:.2} steps/s"))
            .unwrap_or_default()
    );
    if let (Some(a), Some(b)) = (r.first_train_loss, r.last_train_loss) {
        println!("train loss      {a:.4} -> {b:.4}");
    }
    let binary = r.classes.len() == 2;
    if let (Some(e), Some(s)) = (r.best_epoch, r.best_val_score) {
        let what = if binary { "ROC-AUC" } else { "ICBHI score" };
        println!("best epoch      {e} (validation {what} of single items {s:.3})");
    }
    if r.level == auscult_classifier::Level::Participant {
        println!("scored per      participant (mean of each participant's probabilities)");
    }
    if let Some(d) = &r.decision {
        println!(
            "threshold       P({}) >= {:.3} ({} on {} validation {}s)",
            d.positive_class,
            d.threshold,
            d.criterion,
            d.n,
            d.level.name()
        );
    }
    for (name, m) in [("validation", &r.val), ("test", &r.test)] {
        if let Some(m) = m {
            let ci = m
                .score_ci95
                .map(|[lo, hi]| {
                    let unit = m.bootstrap_unit.map_or("items", |u| u.plural());
                    format!(" [95% CI {lo:.3}-{hi:.3}, resampling {unit}]")
                })
                .unwrap_or_default();
            let auc = m
                .roc_auc
                .map(|a| format!("  ROC-AUC {a:.3}"))
                .unwrap_or_default();
            println!(
                "{name:<15} Sp {:.3}  Se {:.3}  Score {:.3}{ci}  accuracy {:.3}  macro-F1 {:.3}{auc}",
                m.specificity, m.sensitivity, m.score, m.accuracy, m.macro_f1
            );
        }
    }
}
