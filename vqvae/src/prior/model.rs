//! A trained prior loaded for sampling, with its VQ-VAE and reference statistics.

use std::ops::Range;
use std::path::{Path, PathBuf};

use auscult_experiment::load_module;
use burn::tensor::Device;

use crate::plan::tone::ToneTrack;
use crate::prior::config::{PriorTrainConfig, VQVAE_DIR};
use crate::prior::network::Prior;
use crate::prior::reference::{REFERENCE_FILE, Reference};
use crate::prior::sampling::SamplingConfig;
use crate::vqvae::model::{CONFIG_FILE, MODEL_FILE, VqVaeModel};
use crate::{Error, Result};

/// Where one generated sample's cycle goes ([`PriorModel::draw_cycle`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedCycle {
    /// The frames drawn for the cycle.
    pub frames: Range<usize>,
    /// The frames of the code columns the plan marks as the cycle's (the plan fixes whole
    /// columns; the codes place the edges within them).
    pub column_frames: Range<usize>,
    /// The tone track folded into the plan (one Mel bin or `None` per code column, see
    /// `plan::tone`); empty for a prior without a tone plan.
    pub tone: ToneTrack,
    /// The plan tokens (`plan_tokens`, with the tone tokens folded in by
    /// `plan::tone::combine` for a prior that takes them), one per code.
    pub plan: Vec<usize>,
}

/// A trained prior with its VQ-VAE and reference statistics, loaded for sampling.
#[derive(Debug)]
pub struct PriorModel {
    /// The prior directory.
    pub dir: PathBuf,
    /// Its resolved configuration.
    pub config: PriorTrainConfig,
    /// The Transformer (non-autodiff).
    pub prior: Prior,
    /// The VQ-VAE whose codes it models.
    pub vqvae: VqVaeModel,
    /// Training data statistics.
    pub reference: Reference,
    device: Device,
}

impl PriorModel {
    /// Loads the prior directory `dir` onto `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let config: PriorTrainConfig = auscult_experiment::read_json(dir.join(CONFIG_FILE))?;
        let vqvae = VqVaeModel::load(&dir.join(VQVAE_DIR), device)?;
        let vcfg = &vqvae.config.model;
        if config.model.vocab_size != vcfg.codebook_size
            || config.model.seq_len != vcfg.codes_per_example()
            || config.classes != vqvae.config.classes
        {
            return Err(Error::Incompatible {
                path: dir.to_path_buf(),
                reason: "the prior does not match its vqvae/ copy (codebook size, grid or \
                         classes); retrain the prior"
                    .to_string(),
            });
        }
        let prior = config.model.init(device)?;
        let prior = load_module(prior, dir.join(MODEL_FILE))?;
        let reference_path = dir.join(REFERENCE_FILE);
        let reference: Reference = auscult_experiment::read_json(&reference_path)?;
        reference
            .validate(
                &config.classes,
                vcfg.codebook_size,
                vcfg.codes_per_example(),
                vcfg.n_mels,
            )
            .map_err(|e| Error::Incompatible {
                path: reference_path.clone(),
                reason: format!("{e}; was the directory assembled from two runs?"),
            })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
            prior,
            vqvae,
            reference,
            device: device.clone(),
        })
    }

    /// Class names, in index order.
    pub fn classes(&self) -> &[String] {
        &self.config.classes
    }

    /// The index of class `name`, or an error listing the valid ones.
    pub fn class_index(&self, name: &str) -> Result<usize> {
        self.classes()
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| Error::UnknownClass {
                class: name.to_string(),
                valid: self.classes().to_vec(),
            })
    }

    /// Samples code grids (see [`sample_codes`](crate::sample_codes)).
    pub fn sample(
        &self,
        classes: &[usize],
        seeds: &[u64],
        sampling: &SamplingConfig,
        use_cache: bool,
    ) -> Result<Vec<Vec<usize>>> {
        self.sample_planned(classes, &[], seeds, sampling, use_cache)
    }

    /// Samples code grids of a prior that takes a cycle plan, one plan per sample (`plans`
    /// empty for a prior without one; see `sample_codes_planned`).
    pub fn sample_planned(
        &self,
        classes: &[usize],
        plans: &[Vec<usize>],
        seeds: &[u64],
        sampling: &SamplingConfig,
        use_cache: bool,
    ) -> Result<Vec<Vec<usize>>> {
        if let Some(&bad) = classes.iter().find(|&&c| c >= self.classes().len()) {
            return Err(Error::UnknownClass {
                class: format!("#{bad}"),
                valid: self.classes().to_vec(),
            });
        }
        crate::prior::sampling::sample_codes_planned(
            &self.prior,
            classes,
            plans,
            seeds,
            sampling,
            use_cache,
            &self.device,
        )
    }

    /// A cycle for one sample of `class` drawn with `rng`: a random training cycle of that
    /// class gives its length, placed at a random position within the example, and, for a
    /// prior with a tone plan, its tone track, moved with it and transposed by a random
    /// `±``TONE_JITTER_BINS` Mel bins. `None` for a prior without a plan.
    pub fn draw_cycle(
        &self,
        class: usize,
        rng: &mut rand_chacha::ChaCha8Rng,
    ) -> Option<PlannedCycle> {
        use rand::Rng;
        let columns = self.prior.plan_columns();
        if columns == 0 {
            return None;
        }
        let f = self.vqvae.config.model.n_frames;
        let per = f.div_ceil(columns).max(1);
        let reference = &self.reference;
        let mine: Vec<usize> = (0..reference.labels.len().min(reference.spans.len()))
            .filter(|&i| reference.labels[i] == class)
            .collect();
        let drawn = (!mine.is_empty()).then(|| mine[rng.random_range(0..mine.len())]);
        let (len, old_start) = drawn.map_or((f, 0), |i| {
            let [s, e] = reference.spans[i];
            (e.saturating_sub(s).clamp(1, f), s)
        });
        let start = rng.random_range(0..=f - len);
        let frames = start..start + len;
        let cols = frames.start / per..frames.end.div_ceil(per);
        let n_mels = self.vqvae.config.model.n_mels;
        let tone = if self.prior.tone_tokens() == 0 {
            Vec::new()
        } else {
            let own = drawn
                .and_then(|i| reference.tones.get(i))
                .filter(|t| t.len() == columns)
                .cloned()
                .unwrap_or_else(|| vec![None; columns]);
            let moved = crate::plan::tone::shift_track(
                &own,
                (start / per) as i64 - (old_start / per) as i64,
            );
            let jitter = crate::plan::tone::TONE_JITTER_BINS;
            let mut track = crate::plan::tone::transpose_track(
                &moved,
                rng.random_range(-jitter..=jitter),
                n_mels,
            );
            // Only the cycle's columns carry a tone.
            for (c, t) in track.iter_mut().enumerate() {
                if !cols.contains(&c) {
                    *t = None;
                }
            }
            track
        };
        Some(PlannedCycle {
            plan: crate::plan::tone::plan(
                columns,
                self.prior.seq_len(),
                cols.clone(),
                &tone,
                n_mels,
            ),
            tone,
            column_frames: cols.start * per..(cols.end * per).min(f),
            frames,
        })
    }

    /// The device it runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }
}
