//! The quality report of a generated corpus: codebook use, nearest training neighbours, band
//! profiles, detail statistics and tone adherence per class.

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::analysis::detail::{DetailStats, class_detail_stats};
use crate::prior::model::PriorModel;
use crate::prior::reference::{REFERENCE_NPY, band_profiles, pool_time};
use crate::vqvae::quantizer::CodeUsage;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodebookQuality {
    /// Codebook size K.
    pub codebook_size: usize,
    /// Distinct codes in the generated samples.
    pub used: usize,
    /// Perplexity of the generated samples' codes.
    pub perplexity: f64,
    /// Distinct codes in the training data.
    pub train_used: usize,
    /// Perplexity of the training data's codes.
    pub train_perplexity: f64,
}

/// Nearest-neighbour distances, to catch memorisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NearestNeighbour {
    /// What the distance is.
    pub metric: String,
    /// Mean over generated samples of the distance to the nearest training example.
    pub generated_to_train_mean: f64,
    /// Smallest such distance.
    pub generated_to_train_min: f64,
    /// Mean over training examples of the distance to the nearest other training example.
    pub train_to_train_mean: f64,
    /// `generated_to_train_mean / train_to_train_mean`: well below 1 suggests copying.
    pub ratio: f64,
    /// Mean over generated samples of the largest share of grid positions whose code equals
    /// a training example's.
    pub code_overlap_mean: f64,
    /// The largest such share (1 = an exact copy of a training code grid).
    pub code_overlap_max: f64,
    /// Samples sharing at least 95% of their codes with one training example.
    pub near_copies: usize,
}

/// Generated against real statistics of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassQuality {
    /// Class name.
    pub class: String,
    /// Samples generated.
    pub generated: usize,
    /// Training examples.
    pub real: usize,
    /// Mean dB per Mel bin of the generated samples (empty when none).
    pub generated_band_profile: Vec<f32>,
    /// Mean dB per Mel bin of the training examples.
    pub real_band_profile: Vec<f32>,
    /// RMS difference of the two profiles, dB.
    pub profile_rmse_db: Option<f64>,
    /// Pearson correlation of the two profiles.
    pub profile_correlation: Option<f64>,
    /// Mean detail statistics of the generated samples (see `analysis::detail`; `None` when
    /// none were generated).
    pub generated_detail: Option<DetailStats>,
    /// Mean detail statistics of the class's training examples.
    pub real_detail: Option<DetailStats>,
    /// How the samples followed their tone plans (`None` for a prior without one).
    #[serde(default)]
    pub tones: Option<ToneAdherence>,
}

/// How generated samples of one class followed the tone tracks of their plans (see
/// `plan::tone`), measured on the decoder's mean (before texture and tiling) with
/// `tone_track`, column by column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ToneAdherence {
    /// Samples whose plan had at least one tone column.
    pub planned_samples: usize,
    /// Code columns planned to hold a tone.
    pub planned_columns: usize,
    /// Of those, the columns whose sample holds a tone within
    /// `TONE_MATCH_BINS` (2) Mel bins of the planned one.
    pub rendered_columns: usize,
    /// Columns holding a tone where none was planned (inside or outside the cycle).
    pub unplanned_columns: usize,
    /// Code columns planned without a tone.
    pub toneless_columns: usize,
}

/// How far, in Mel bins, a rendered tone may lie from its planned bin to count.
pub const TONE_MATCH_BINS: usize = 2;

impl ToneAdherence {
    /// Adds one sample: its planned track and the track found in it.
    pub fn add(&mut self, planned: &[Option<usize>], found: &[Option<usize>]) {
        if planned.iter().flatten().next().is_some() {
            self.planned_samples += 1;
        }
        for (p, f) in planned.iter().zip(found) {
            match (p, f) {
                (Some(p), Some(f)) => {
                    self.planned_columns += 1;
                    self.rendered_columns += usize::from(p.abs_diff(*f) <= TONE_MATCH_BINS);
                }
                (Some(_), None) => self.planned_columns += 1,
                (None, Some(_)) => {
                    self.toneless_columns += 1;
                    self.unplanned_columns += 1;
                }
                (None, None) => self.toneless_columns += 1,
            }
        }
    }
}

/// The quality report written with each corpus (`quality.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    /// Samples generated.
    pub samples: usize,
    /// Code use.
    pub codebook: CodebookQuality,
    /// Memorisation check.
    pub nearest_neighbour: NearestNeighbour,
    /// Per-class band-energy profiles, generated against real.
    pub per_class: Vec<ClassQuality>,
    /// Whether the samples carry the decoder's texture (see [`Texture`](crate::Texture)).
    #[serde(default)]
    pub texture: bool,
}

/// RMS difference (dB) between two equally long vectors.
fn rms(a: &[f32], b: &[f32]) -> f64 {
    let s: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum();
    (s / a.len().max(1) as f64).sqrt()
}

/// Pearson correlation; `None` when either side is constant.
fn correlation(a: &[f32], b: &[f32]) -> Option<f64> {
    let n = a.len().min(b.len()) as f64;
    if n < 2.0 {
        return None;
    }
    let ma = a.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let mb = b.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (f64::from(*x) - ma, f64::from(*y) - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    (saa > 0.0 && sbb > 0.0).then(|| sab / (saa * sbb).sqrt())
}

/// Builds the quality report of generated samples (`(class, dB log-Mel, codes)`).
pub(crate) fn quality_report(
    model: &PriorModel,
    samples: &[(usize, Vec<f32>, Vec<usize>)],
    tones: &[Option<ToneAdherence>],
) -> Result<QualityReport> {
    let reference = &model.reference;
    let k = model.vqvae.config.model.codebook_size;
    let mut usage = CodeUsage::new(k);
    let mut train_usage = CodeUsage::new(k);
    for (_, _, c) in samples {
        usage.add(c);
    }
    for c in &reference.codes {
        train_usage.add(c);
    }
    let m = reference.n_mels;

    // Spectrogram nearest neighbours on time-pooled log-Mels.
    let npy = model.dir.join(REFERENCE_NPY);
    let (pooled_train, shape) = auscult_audio::read_npy_f32(&npy)?;
    let row = shape.iter().skip(1).product::<usize>().max(1);
    let train_rows: Vec<&[f32]> = pooled_train.chunks_exact(row).collect();
    let gen_pooled: Vec<Vec<f32>> = samples
        .iter()
        .map(|(_, s, _)| pool_time(s, m, reference.pool))
        .collect();
    let nearest = |x: &[f32], skip: Option<usize>| -> f64 {
        train_rows
            .iter()
            .enumerate()
            .filter(|(j, _)| Some(*j) != skip)
            .map(|(_, t)| {
                if t.len() == x.len() {
                    rms(x, t)
                } else {
                    f64::INFINITY
                }
            })
            .fold(f64::INFINITY, f64::min)
    };
    let g2t: Vec<f64> = gen_pooled.iter().map(|g| nearest(g, None)).collect();
    let t2t: Vec<f64> = train_rows
        .iter()
        .enumerate()
        .take(1000)
        .map(|(j, t)| nearest(t, Some(j)))
        .filter(|d| d.is_finite())
        .collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let g_mean = mean(&g2t);
    let t_mean = mean(&t2t);

    // Code-grid overlap with the closest training grid.
    let overlaps: Vec<f64> = samples
        .iter()
        .map(|(_, _, c)| {
            reference
                .codes
                .iter()
                .map(|t| {
                    let same = c.iter().zip(t).filter(|(a, b)| a == b).count();
                    same as f64 / c.len().max(1) as f64
                })
                .fold(0.0, f64::max)
        })
        .collect();

    let n_classes = reference.classes.len();
    let gen_profiles = band_profiles(
        samples.iter().map(|(c, s, _)| (*c, s.as_slice())),
        n_classes,
        m,
    );
    let gen_detail = class_detail_stats(
        samples.iter().map(|(c, s, _)| (*c, s.as_slice())),
        n_classes,
        m,
        reference.n_frames,
    );
    let per_class = (0..n_classes)
        .map(|c| {
            let generated = samples.iter().filter(|(l, _, _)| *l == c).count();
            let real = &reference.band_profiles[c];
            let profile = if generated > 0 {
                gen_profiles[c].clone()
            } else {
                Vec::new()
            };
            ClassQuality {
                class: reference.classes[c].clone(),
                generated,
                real: reference.class_counts.get(c).copied().unwrap_or(0),
                profile_rmse_db: (generated > 0).then(|| rms(&profile, real)),
                profile_correlation: if generated > 0 {
                    correlation(&profile, real)
                } else {
                    None
                },
                generated_band_profile: profile,
                real_band_profile: real.clone(),
                generated_detail: gen_detail.get(c).copied().flatten(),
                real_detail: reference.detail.get(c).copied().flatten(),
                tones: tones.get(c).copied().flatten(),
            }
        })
        .collect();
    Ok(QualityReport {
        texture: false,
        samples: samples.len(),
        codebook: CodebookQuality {
            codebook_size: k,
            used: usage.used(),
            perplexity: usage.perplexity(),
            train_used: train_usage.used(),
            train_perplexity: train_usage.perplexity(),
        },
        nearest_neighbour: NearestNeighbour {
            metric: format!(
                "RMS difference in dB of log-Mel spectrograms average-pooled over {} frames",
                reference.pool
            ),
            generated_to_train_mean: if g2t.is_empty() { 0.0 } else { g_mean },
            generated_to_train_min: g2t
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min)
                .min(f64::MAX),
            train_to_train_mean: t_mean,
            ratio: if t_mean > 0.0 { g_mean / t_mean } else { 0.0 },
            code_overlap_mean: mean(&overlaps),
            code_overlap_max: overlaps.iter().copied().fold(0.0, f64::max),
            near_copies: overlaps.iter().filter(|&&o| o >= 0.95).count(),
        },
        per_class,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tone_adherence_by_hand() {
        let mut a = ToneAdherence::default();
        // Planned tones in columns 1 and 2 (bins 10, 12); found at 11 (within 2 bins) and at
        // 20 (not), plus one in column 3 where none was planned.
        a.add(
            &[None, Some(10), Some(12), None],
            &[None, Some(11), Some(20), Some(5)],
        );
        a.add(&[None, None], &[None, None]);
        assert_eq!(
            a,
            ToneAdherence {
                planned_samples: 1,
                planned_columns: 2,
                rendered_columns: 1,
                unplanned_columns: 1,
                toneless_columns: 4,
            }
        );
    }

    #[test]
    fn profile_statistics_by_hand() {
        assert!((rms(&[1.0, 2.0], &[1.0, 4.0]) - 2f64.sqrt()).abs() < 1e-12);
        assert!((correlation(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]).unwrap() - 1.0).abs() < 1e-12);
        assert!((correlation(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]).unwrap() + 1.0).abs() < 1e-12);
        assert!(correlation(&[1.0, 1.0], &[1.0, 2.0]).is_none());
        // pool_time: 1 bin x 5 frames, pool 2 -> means of (1,2), (3,4), (5)
        assert_eq!(
            pool_time(&[1.0, 2.0, 3.0, 4.0, 5.0], 1, 2),
            vec![1.5, 3.5, 5.0]
        );
    }
}
