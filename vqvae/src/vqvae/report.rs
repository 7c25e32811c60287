//! What a VQ-VAE run reports: its `metrics.jsonl` lines, `report.json`, the reconstruction
//! quality and detail statistics it measures, and `reconstructions.png`.

use std::path::{Path, PathBuf};

use auscult_experiment::Start;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::analysis::detail::{DetailStats, class_detail_stats};
use crate::data::{LogMel, Normalizer};
use crate::vqvae::config::VqVaeTrainConfig;
use crate::vqvae::model::{VqParts, run_pass};
use crate::vqvae::quantizer::CodeUsage;

/// One line of the VQ-VAE's `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VqEpochMetrics {
    /// Epoch (1-based).
    pub epoch: usize,
    /// Optimiser steps so far.
    pub step: usize,
    /// Learning rate of the epoch's last step.
    pub lr: f64,
    /// Mean reconstruction loss (normalised log-Mel, detail-weighted) over the epoch's steps.
    pub train_reconstruction: f64,
    /// Mean commitment loss (weighted).
    pub train_commitment: f64,
    /// Distinct codes used over the epoch.
    pub train_codes_used: usize,
    /// Perplexity of the epoch's code use.
    pub train_perplexity: f64,
    /// Codebook entries restarted during the epoch.
    pub restarted: usize,
    /// Validation reconstruction MSE, when there is a validation split.
    pub val_reconstruction: Option<f64>,
    /// Validation reconstruction mean absolute error in dB.
    pub val_mae_db: Option<f64>,
    /// Distinct codes used on validation.
    pub val_codes_used: Option<usize>,
    /// Perplexity of the codes on validation.
    pub val_perplexity: Option<f64>,
    /// Seconds spent in the epoch's training steps.
    pub seconds: f64,
    /// Training steps per second.
    pub steps_per_s: f64,
}

/// What a VQ-VAE training run reached (saved as `report.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VqVaeReport {
    /// The run directory.
    pub dir: PathBuf,
    /// Epochs completed.
    pub epochs: usize,
    /// Optimiser steps taken.
    pub steps: usize,
    /// Wall-clock seconds of this invocation.
    pub seconds: f64,
    /// Training steps per second (this invocation).
    pub steps_per_s: f64,
    /// Split the numbers below were measured on (`val`, or `train` when there is none).
    pub eval_split: String,
    /// Examples in that split.
    pub eval_examples: usize,
    /// Reconstruction MSE in the normalised log-Mel domain. For zero-padded examples this
    /// and the errors below cover each cycle's frames, not the silence around it.
    pub reconstruction_mse: f64,
    /// Reconstruction mean absolute error, dB.
    pub reconstruction_mae_db: f64,
    /// Reconstruction root-mean-square error, dB.
    pub reconstruction_rmse_db: f64,
    /// Distinct codes used on the split.
    pub codes_used: usize,
    /// Codebook size K.
    pub codebook_size: usize,
    /// Perplexity of the codes on the split.
    pub perplexity: f64,
    /// The code grid `[frequency, time]`.
    pub grid: [usize; 2],
    /// Originals beside reconstructions.
    pub reconstructions_png: PathBuf,
    /// Per class of the training split: detail statistics of the originals and of their
    /// reconstructions (does the code carry wheeze tones and crackle clicks?).
    #[serde(default)]
    pub detail: Vec<ClassDetail>,
    /// How this invocation began: a new run, resumed from a checkpoint, or started again
    /// because `--resume` found no committed checkpoint.
    #[serde(default)]
    pub start: Start,
}

/// Detail statistics (`analysis::detail`) of one class, real against modelled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassDetail {
    /// Class name.
    pub class: String,
    /// Examples of the class.
    pub examples: usize,
    /// Mean statistics of the real spectrograms.
    pub real: Option<DetailStats>,
    /// Mean statistics of the reconstructions (VQ-VAE) or generated samples (prior).
    pub modelled: Option<DetailStats>,
}

/// Per-class detail statistics of real spectrograms and of their reconstructions (both dB,
/// `[n_mels][n_frames]`).
pub(crate) fn detail_by_class(
    classes: &[String],
    real: &[LogMel],
    modelled: &[Vec<f32>],
    n_mels: usize,
    n_frames: usize,
) -> Vec<ClassDetail> {
    let r = class_detail_stats(
        real.iter().map(|x| (x.label, x.data.as_slice())),
        classes.len(),
        n_mels,
        n_frames,
    );
    let g = class_detail_stats(
        real.iter()
            .zip(modelled)
            .map(|(x, y)| (x.label, y.as_slice())),
        classes.len(),
        n_mels,
        n_frames,
    );
    classes
        .iter()
        .enumerate()
        .map(|(c, name)| ClassDetail {
            class: name.clone(),
            examples: real.iter().filter(|x| x.label == c).count(),
            real: r[c],
            modelled: g[c],
        })
        .collect()
}

/// Reconstruction quality of a pass over normalised `data`.
pub(crate) struct Quality {
    pub(crate) mse: f64,
    pub(crate) mae_db: f64,
    pub(crate) rmse_db: f64,
    pub(crate) usage: CodeUsage,
}

/// The reconstruction quality of the model on normalised `data`, and the reconstructions.
///
/// With `cycle_only` (zero-padded examples), the errors are measured over each example's cycle
/// frames only (see `cycle_span`), so that the easy silence around a cycle
/// does not flatter them and they compare with those of repeat-padded examples.
pub(crate) fn quality(
    parts: VqParts<'_>,
    data: &[LogMel],
    norm: &Normalizer,
    batch_size: usize,
    cycle_only: bool,
    device: &burn::tensor::Device,
) -> Result<(Quality, Vec<Vec<f32>>)> {
    let refs: Vec<&LogMel> = data.iter().collect();
    let pass = run_pass(parts, &refs, batch_size, true, device)?;
    let (n_mels, n_frames) = (parts.config.n_mels, parts.config.n_frames);
    let (mut se, mut ae, mut se_db, mut count) = (0f64, 0f64, 0f64, 0usize);
    let mut usage = CodeUsage::new(parts.config.codebook_size);
    for (x, (r, codes)) in data
        .iter()
        .zip(pass.reconstructions.iter().zip(&pass.codes))
    {
        usage.add(codes);
        let span = if cycle_only {
            let mut db = x.data.clone();
            norm.denormalise(&mut db);
            crate::plan::cycle::cycle_span(&db, n_mels, n_frames).unwrap_or(0..n_frames)
        } else {
            0..n_frames
        };
        for (i, (a, b)) in x.data.iter().zip(r).enumerate() {
            if !span.contains(&(i % n_frames)) {
                continue;
            }
            let d = f64::from(a - b);
            let d_db = d * f64::from(norm.std[i / n_frames]);
            se += d * d;
            ae += d_db.abs();
            se_db += d_db * d_db;
            count += 1;
        }
    }
    let count = count.max(1) as f64;
    Ok((
        Quality {
            mse: se / count,
            mae_db: ae / count,
            rmse_db: (se_db / count).sqrt(),
            usage,
        },
        pass.reconstructions,
    ))
}

/// Writes `reconstructions.png`: originals beside reconstructions (dB), classes in turn.
pub(crate) fn reconstructions_png(
    path: &Path,
    data: &[LogMel],
    recon: &[Vec<f32>],
    norm: &Normalizer,
    cfg: &VqVaeTrainConfig,
) -> Result<()> {
    let (m, f) = (cfg.model.n_mels, cfg.model.n_frames);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); cfg.classes.len()];
    for (i, x) in data.iter().enumerate() {
        if let Some(v) = by_class.get_mut(x.label) {
            v.push(i);
        }
    }
    let mut chosen = Vec::new();
    let mut round = 0;
    while chosen.len() < cfg.reconstructions.max(1) && by_class.iter().any(|v| v.len() > round) {
        for v in &by_class {
            if let Some(&i) = v.get(round)
                && chosen.len() < cfg.reconstructions.max(1)
            {
                chosen.push(i);
            }
        }
        round += 1;
    }
    let mut tiles = Vec::with_capacity(2 * chosen.len());
    for &i in &chosen {
        let class = cfg.classes.get(data[i].label).cloned().unwrap_or_default();
        let mut orig = data[i].data.clone();
        norm.denormalise(&mut orig);
        let mut rec = recon[i].clone();
        norm.denormalise(&mut rec);
        tiles.push(auscult_plot::Tile {
            label: format!("{class}: original"),
            data: orig,
            n_bins: m,
            n_frames: f,
        });
        tiles.push(auscult_plot::Tile {
            label: format!("{class}: reconstruction"),
            data: rec,
            n_bins: m,
            n_frames: f,
        });
    }
    if tiles.is_empty() {
        return Ok(());
    }
    auscult_plot::contact_sheet_png(
        path,
        "VQ-VAE: originals (left) and reconstructions (right)",
        &tiles,
        4,
    )?;
    Ok(())
}
