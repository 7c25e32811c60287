//! What the flags resolve to: the recipe, the training config (the recipe's, then `--config`,
//! then the flags) and the Coswara options.

use std::path::Path;

use anyhow::{Context, bail};
use auscult_classifier::{AugmentMix, ClassLoss, CnnConfig, Recipe, TrainConfig};
use auscult_datasets::{CoswaraOptions, Format, SYNTH_REPORT_FILE};

use super::args::Args;

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
    if let Some(w) = args.device_adversarial {
        cfg.device_adversarial = w;
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

/// The Coswara options of `--sounds` and `--target` (`None` for other formats, where the
/// flags are refused).
pub(super) fn coswara_options(
    args: &Args,
    format: Option<Format>,
) -> anyhow::Result<Option<CoswaraOptions>> {
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
