//! Generating a corpus of class-conditional log-Mel spectrograms: sample code grids from the
//! prior, decode them with the VQ-VAE, write the `datasets` corpus format (manifest last), a
//! contact sheet, optional Griffin-Lim WAV renderings, and a quality report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use auscult_audio::Spectrogram;
use auscult_datasets::{CONTACT_SHEET_FILE, CorpusManifest, CorpusWriter, GeneratorInfo};
use auscult_experiment::{DeviceChoice, Progress};
use serde::{Deserialize, Serialize};

use crate::data::LogMel;
use crate::detail::{DetailStats, class_detail_stats};
use crate::prior_training::{
    PlannedCycle, PriorModel, REFERENCE_NPY, VQVAE_DIR, band_profiles, pool_time,
};
use crate::quantizer::CodeUsage;
use crate::sampling::SamplingConfig;
use crate::vqvae_model::MODEL_FILE;
use crate::{Error, Result};

/// How many samples of which class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassCounts {
    /// Exactly these counts of these classes (names as the model knows them).
    PerClass(Vec<(String, usize)>),
    /// For every class with fewer training examples than `target` (the majority class's
    /// count when `None`), enough samples to reach it.
    Balance {
        /// Count to reach per class.
        target: Option<usize>,
    },
}

/// What to generate and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenerateRequest {
    /// Which classes, how many.
    pub counts: ClassCounts,
    /// Temperature, top-k, top-p.
    pub sampling: SamplingConfig,
    /// Base seed; each sample's own seed (in the manifest) is derived from it.
    pub seed: u64,
    /// Also render each sample to `wav/<name>.wav` with Griffin-Lim.
    pub wav: bool,
    /// Griffin-Lim iterations for the WAV renderings.
    pub griffin_lim_iters: usize,
    /// Samples drawn together.
    pub batch_size: usize,
    /// Where to compute.
    pub device: DeviceChoice,
    /// Samples per class on the contact sheet.
    pub sheet_per_class: usize,
    /// Draw each sample from the decoder's fitted Gaussian (its mean plus one draw of the
    /// class's texture, see [`crate::texture`]) rather than returning the smooth mean. Has no
    /// effect when the VQ-VAE has no `texture.json`.
    pub texture: bool,
}

impl Default for GenerateRequest {
    fn default() -> Self {
        Self {
            counts: ClassCounts::Balance { target: None },
            sampling: SamplingConfig::default(),
            seed: 0,
            wav: false,
            griffin_lim_iters: 32,
            batch_size: 32,
            device: DeviceChoice::Cpu,
            sheet_per_class: 8,
            texture: true,
        }
    }
}

/// Code-use statistics of the generated samples against the training data.
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
    /// Mean detail statistics of the generated samples (see [`crate::detail`]; `None` when
    /// none were generated).
    pub generated_detail: Option<DetailStats>,
    /// Mean detail statistics of the class's training examples.
    pub real_detail: Option<DetailStats>,
    /// How the samples followed their tone plans (`None` for a prior without one).
    #[serde(default)]
    pub tones: Option<ToneAdherence>,
}

/// How generated samples of one class followed the tone tracks of their plans (see
/// [`crate::tone`]), measured on the decoder's mean (before texture and tiling) with
/// [`crate::tone::tone_track`], column by column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ToneAdherence {
    /// Samples whose plan had at least one tone column.
    pub planned_samples: usize,
    /// Code columns planned to hold a tone.
    pub planned_columns: usize,
    /// Of those, the columns whose sample holds a tone within
    /// [`TONE_MATCH_BINS`] Mel bins of the planned one.
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
    /// Whether the samples carry the decoder's texture (see [`crate::texture`]).
    #[serde(default)]
    pub texture: bool,
}

/// What `generate` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateReport {
    /// The corpus folder.
    pub dir: PathBuf,
    /// Samples written per class name.
    pub counts: BTreeMap<String, usize>,
    /// Samples written.
    pub samples: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Samples per second of sampling and decoding (not counting WAV rendering).
    pub samples_per_s: f64,
    /// The contact sheet, when any sample was written.
    pub contact_sheet: Option<PathBuf>,
    /// Folder of the WAV renderings, when asked for.
    pub wav_dir: Option<PathBuf>,
    /// The quality report (also in `quality.json`).
    pub quality: QualityReport,
}

/// SplitMix64: a well-mixed 64-bit hash, to derive per-sample seeds.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The seed of sample `index` of class `class` in a run with base seed `seed`.
pub fn sample_seed(seed: u64, class: usize, index: usize) -> u64 {
    splitmix64(seed ^ splitmix64(((class as u64) << 40) ^ index as u64))
}

/// Resolves `counts` to a count per class index.
pub fn resolve_counts(
    counts: &ClassCounts,
    classes: &[String],
    train_counts: &[usize],
) -> Result<Vec<usize>> {
    let mut out = vec![0usize; classes.len()];
    match counts {
        ClassCounts::PerClass(list) => {
            for (name, n) in list {
                let i =
                    classes
                        .iter()
                        .position(|c| c == name)
                        .ok_or_else(|| Error::UnknownClass {
                            class: name.clone(),
                            valid: classes.to_vec(),
                        })?;
                out[i] += n;
            }
        }
        ClassCounts::Balance { target } => {
            let target = target.unwrap_or_else(|| train_counts.iter().copied().max().unwrap_or(0));
            for (o, &have) in out.iter_mut().zip(train_counts) {
                *o = target.saturating_sub(have);
            }
        }
    }
    Ok(out)
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

    let gen_db: Vec<LogMel> = samples
        .iter()
        .map(|(c, s, _)| LogMel {
            data: s.clone(),
            label: *c,
        })
        .collect();
    let n_classes = reference.classes.len();
    let gen_profiles = band_profiles(&gen_db, n_classes, m);
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

/// Renders a dB log-Mel spectrogram to a 16-bit WAV with Griffin-Lim, peak-normalised to
/// -1 dBFS when louder (a decoded spectrogram carries no absolute level guarantee).
fn render_wav(
    spec: &Spectrogram,
    mel: &auscult_audio::MelConfig,
    iters: usize,
    seed: u64,
    path: &Path,
) -> Result<()> {
    let mut audio = auscult_audio::griffin_lim_mel(spec, mel, iters, seed)?;
    let peak = audio.iter().fold(0f32, |m, v| m.max(v.abs()));
    let limit = 10f32.powf(-1.0 / 20.0);
    if peak > limit {
        let g = limit / peak;
        audio.iter_mut().for_each(|v| *v *= g);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    auscult_audio::write_wav(
        path,
        &audio,
        mel.sample_rate,
        auscult_audio::WavFormat::Int16,
    )?;
    Ok(())
}

/// Random stream of a sample's cycle length and placement (seeded by the sample's seed).
const CYCLE_STREAM: u64 = 13;

/// Samples `request.counts` spectrograms from the prior in `prior_dir` and writes them as a
/// generated corpus in `out` (which must not hold a corpus yet): `NNNNNN_<class>.npy`
/// (`[n_mels, n_frames]` float32 dB log-Mel, the VQ-VAE's front end, presented as the
/// classifier's repeat padding presents a cycle: see [`crate::cycle`]), `contact_sheet.png`,
/// `quality.json`, `wav/` when asked, and `manifest.json` last.
pub fn generate(
    prior_dir: &Path,
    request: &GenerateRequest,
    out: &Path,
    progress: &dyn Progress,
) -> Result<GenerateReport> {
    let started = Instant::now();
    request.sampling.validate()?;
    if request.batch_size == 0 {
        return Err(Error::config("batch_size", "must be at least 1"));
    }
    let device = auscult_experiment::device(request.device)?;
    let model = PriorModel::load(prior_dir, &device)?;
    let classes = model.classes().to_vec();
    let counts = resolve_counts(&request.counts, &classes, &model.reference.class_counts)?;
    let vc = &model.vqvae.config;
    let (m, f) = (vc.model.n_mels, vc.model.n_frames);

    let texture = model.vqvae.texture.as_ref().filter(|_| request.texture);
    let header = CorpusManifest::new(
        classes.clone(),
        GeneratorInfo {
            model_hash: auscult_experiment::hash_file(&prior_dir.join(VQVAE_DIR).join(MODEL_FILE))?,
            prior_hash: auscult_experiment::hash_file(&prior_dir.join(MODEL_FILE))?,
            temperature: request.sampling.temperature,
            top_k: request.sampling.top_k,
            top_p: request.sampling.top_p,
            guidance: request.sampling.guidance,
            seed: request.seed,
            texture: texture.is_some(),
            created_by: format!("auscult {}", env!("CARGO_PKG_VERSION")),
        },
        serde_json::to_value(&vc.mel).map_err(|e| Error::config("mel", e.to_string()))?,
        // Samples are written as the classifier's front end presents examples (a zero-padded
        // cycle is tiled, see `crate::cycle`).
        serde_json::to_value(crate::cycle::presented_examples(&vc.examples))
            .map_err(|e| Error::config("examples", e.to_string()))?,
    );
    let mut writer = CorpusWriter::create(out, header)?;

    let jobs: Vec<(usize, u64)> = counts
        .iter()
        .enumerate()
        .flat_map(|(c, &n)| (0..n).map(move |i| (c, sample_seed(request.seed, c, i))))
        .collect();
    let wav_dir = out.join("wav");
    let mut samples: Vec<(usize, Vec<f32>, Vec<usize>)> = Vec::with_capacity(jobs.len());
    let toned = model.prior.tone_tokens() > 0;
    let mut tones: Vec<Option<ToneAdherence>> =
        vec![toned.then(ToneAdherence::default); classes.len()];
    let columns = model.prior.plan_columns();
    let mut sampling_seconds = 0f64;
    progress.start("generating", jobs.len() as u64);
    for chunk in jobs.chunks(request.batch_size) {
        let t0 = Instant::now();
        let cls: Vec<usize> = chunk.iter().map(|j| j.0).collect();
        let seeds: Vec<u64> = chunk.iter().map(|j| j.1).collect();
        // With a planned prior, each sample's cycle: a training cycle's length of its class,
        // placed at random (from the sample's own seed).
        let cycles: Vec<Option<PlannedCycle>> = cls
            .iter()
            .zip(&seeds)
            .map(|(&c, &seed)| {
                model.draw_cycle(c, &mut auscult_experiment::seeded_rng(seed, CYCLE_STREAM))
            })
            .collect();
        let codes = if cycles.iter().all(Option::is_some) && !cycles.is_empty() {
            let plans: Vec<Vec<usize>> = cycles
                .iter()
                .flatten()
                .map(|cycle| cycle.plan.clone())
                .collect();
            model.sample_planned(&cls, &plans, &seeds, &request.sampling, true)?
        } else {
            model.sample(&cls, &seeds, &request.sampling, true)?
        };
        let means = model.vqvae.decode(&codes, &cls)?;
        for ((mean, cycle), &c) in means.iter().zip(&cycles).zip(&cls) {
            if let (Some(cycle), Some(Some(a))) = (cycle, tones.get_mut(c)) {
                let found =
                    crate::tone::tone_track(mean, m, f, columns, crate::tone::TONE_THRESHOLD_DB)?;
                a.add(&cycle.tone, &found);
            }
        }
        let mut specs = means.clone();
        if let Some(t) = texture {
            for ((spec, &c), &seed) in specs.iter_mut().zip(&cls).zip(&seeds) {
                if let Some(noise) = t.sample(c, seed, f) {
                    spec.iter_mut().zip(noise).for_each(|(x, e)| *x += e);
                }
            }
        }
        // One cycle framed by silence -> the cycle repeated, as the classifier's front end
        // pads; the span is found on the decoder's mean, before the texture roughens it.
        // A planned cycle is tiled over the frames the decoder made loud within its planned
        // columns (the plan fixes columns of 8 frames, the codes the edges within them).
        if crate::cycle::is_zero_padded(&vc.examples) {
            for ((spec, mean), cycle) in specs.iter_mut().zip(&means).zip(&cycles) {
                let found = crate::cycle::cycle_span(mean, m, f);
                let span = match (cycle, found) {
                    (Some(planned), found) => {
                        let (lo, hi) = (planned.column_frames.start, planned.column_frames.end);
                        match found {
                            Some(s) if s.start.max(lo) + 1 < s.end.min(hi) => {
                                s.start.max(lo)..s.end.min(hi)
                            }
                            _ => planned.frames.clone(),
                        }
                    }
                    (None, found) => match found {
                        Some(s) => s,
                        None => continue,
                    },
                };
                *spec = crate::cycle::tile(spec, m, f, span);
            }
        }
        sampling_seconds += t0.elapsed().as_secs_f64();
        for (((c, seed), code), spec) in cls.iter().zip(&seeds).zip(codes).zip(specs) {
            let spectrogram = Spectrogram {
                data: spec,
                n_bins: m,
                n_frames: f,
            };
            let path = writer.add(&classes[*c], &spectrogram, *seed)?;
            if request.wav {
                let stem = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                render_wav(
                    &spectrogram,
                    &vc.mel,
                    request.griffin_lim_iters,
                    *seed,
                    &wav_dir.join(format!("{stem}.wav")),
                )?;
            }
            samples.push((*c, spectrogram.data, code));
        }
        progress.advance(chunk.len() as u64);
    }
    progress.finish();

    let contact_sheet = if samples.is_empty() {
        None
    } else {
        let per = request.sheet_per_class.max(1);
        let mut tiles = Vec::new();
        for (c, name) in classes.iter().enumerate() {
            for (i, (_, s, _)) in samples
                .iter()
                .filter(|(l, _, _)| *l == c)
                .take(per)
                .enumerate()
            {
                tiles.push(auscult_plot::Tile {
                    label: format!("{name} #{i}"),
                    data: s.clone(),
                    n_bins: m,
                    n_frames: f,
                });
            }
        }
        let path = out.join(CONTACT_SHEET_FILE);
        auscult_plot::contact_sheet_png(
            &path,
            "Generated log-Mel spectrograms",
            &tiles,
            per.min(tiles.len()),
        )?;
        Some(path)
    };

    progress.message("quality report");
    let mut quality = quality_report(&model, &samples, &tones)?;
    quality.texture = texture.is_some();
    auscult_experiment::write_json_atomic(out.join("quality.json"), &quality)?;
    let manifest = writer.finish()?;
    let mut written = BTreeMap::new();
    for c in &classes {
        written.insert(c.clone(), 0usize);
    }
    for s in &manifest.samples {
        *written.entry(s.class.clone()).or_insert(0) += 1;
    }
    Ok(GenerateReport {
        dir: out.to_path_buf(),
        counts: written,
        samples: manifest.samples.len(),
        seconds: started.elapsed().as_secs_f64(),
        samples_per_s: samples.len() as f64 / sampling_seconds.max(1e-9),
        contact_sheet,
        wav_dir: request.wav.then_some(wav_dir),
        quality,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_resolve_and_unknown_class_lists_valid_ones() {
        let classes: Vec<String> = ["normal", "crackle", "wheeze", "both"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let train = [100, 40, 20, 5];
        let got = resolve_counts(&ClassCounts::Balance { target: None }, &classes, &train).unwrap();
        assert_eq!(got, vec![0, 60, 80, 95]);
        let got =
            resolve_counts(&ClassCounts::Balance { target: Some(30) }, &classes, &train).unwrap();
        assert_eq!(got, vec![0, 0, 10, 25]);
        let got = resolve_counts(
            &ClassCounts::PerClass(vec![("wheeze".into(), 3)]),
            &classes,
            &train,
        )
        .unwrap();
        assert_eq!(got, vec![0, 0, 3, 0]);
        let err = resolve_counts(
            &ClassCounts::PerClass(vec![("stridor".into(), 3)]),
            &classes,
            &train,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("stridor") && err.contains("normal, crackle, wheeze, both"),
            "{err}"
        );
    }

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
    fn seeds_differ_per_sample_and_class() {
        let mut seen = std::collections::HashSet::new();
        for c in 0..4 {
            for i in 0..100 {
                assert!(seen.insert(sample_seed(7, c, i)));
            }
        }
        assert_eq!(sample_seed(7, 1, 2), sample_seed(7, 1, 2));
        assert_ne!(sample_seed(7, 1, 2), sample_seed(8, 1, 2));
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
