//! Generating a corpus of class-conditional log-Mel spectrograms: sample code grids from the
//! prior, decode them with the VQ-VAE, write the `datasets` corpus format (manifest last), a
//! contact sheet, optional Griffin-Lim WAV renderings, and a quality report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use auscult_audio::Spectrogram;
use auscult_datasets::{CONTACT_SHEET_FILE, CorpusManifest, CorpusWriter, GeneratorInfo};
use auscult_experiment::Progress;
use serde::{Deserialize, Serialize};

use crate::generate::quality::{QualityReport, ToneAdherence, quality_report};
use crate::generate::request::{GenerateRequest, resolve_counts, sample_seed};
use crate::prior::config::VQVAE_DIR;
use crate::prior::model::{PlannedCycle, PriorModel};
use crate::prior::reference::band_profiles;
use crate::vqvae::model::MODEL_FILE;
use crate::{Error, Result};

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

/// `GenerateRequest::match_envelope` estimates a class's generated envelope from at least
/// this many samples: the corpus's own, topped up with calibration samples of fixed seeds.
pub const ENVELOPE_SAMPLES: usize = 64;

/// Base seed of the envelope calibration samples that top up a small class (whatever the
/// request's seed).
const ENVELOPE_SEED: u64 = 0x0E4E_10BE;

/// One batch drawn from the prior and decoded.
struct Drawn {
    /// Each sample's code grid.
    codes: Vec<Vec<usize>>,
    /// The decoder's mean spectrograms.
    means: Vec<Vec<f32>>,
    /// The samples as written: mean plus texture, tiled as the classifier presents a cycle.
    specs: Vec<Vec<f32>>,
    /// Each sample's planned cycle (planned priors).
    cycles: Vec<Option<PlannedCycle>>,
}

/// Draws the samples of classes `cls` with seeds `seeds` (one batch): codes from the prior,
/// the decoder's means, the texture when given, and the tiling of a zero-padded cycle.
fn draw(
    model: &PriorModel,
    cls: &[usize],
    seeds: &[u64],
    request: &GenerateRequest,
    texture: Option<&crate::Texture>,
) -> Result<Drawn> {
    let vc = &model.vqvae.config;
    let (m, f) = (vc.model.n_mels, vc.model.n_frames);
    // With a planned prior, each sample's cycle: a training cycle's length of its class,
    // placed at random (from the sample's own seed).
    let cycles: Vec<Option<PlannedCycle>> = cls
        .iter()
        .zip(seeds)
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
        model.sample_planned(cls, &plans, seeds, &request.sampling, true)?
    } else {
        model.sample(cls, seeds, &request.sampling, true)?
    };
    let means = model.vqvae.decode(&codes, cls)?;
    let mut specs = means.clone();
    if let Some(t) = texture {
        for ((spec, &c), &seed) in specs.iter_mut().zip(cls).zip(seeds) {
            if let Some(noise) = t.sample(c, seed, f) {
                spec.iter_mut().zip(noise).for_each(|(x, e)| *x += e);
            }
        }
    }
    // One cycle framed by silence -> the cycle repeated, as the classifier's front end
    // pads; the span is found on the decoder's mean, before the texture roughens it.
    // A planned cycle is tiled over the frames the decoder made loud within its planned
    // columns (the plan fixes columns of 8 frames, the codes the edges within them).
    if crate::plan::cycle::is_zero_padded(&vc.examples) {
        for ((spec, mean), cycle) in specs.iter_mut().zip(&means).zip(&cycles) {
            let found = crate::plan::cycle::cycle_span(mean, m, f);
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
            *spec = crate::plan::cycle::tile(spec, m, f, span);
        }
    }
    Ok(Drawn {
        codes,
        means,
        specs,
        cycles,
    })
}

/// The envelope correction of every class with a count: per Mel band, the real training
/// cycles' mean dB minus the mean dB of the class's generated samples in `drawn`, topped up
/// to [`ENVELOPE_SAMPLES`] with calibration samples of fixed seeds when the class has fewer
/// (empty for classes not generated).
fn envelope_offsets(
    model: &PriorModel,
    counts: &[usize],
    drawn: &[Pending],
    request: &GenerateRequest,
    texture: Option<&crate::Texture>,
) -> Result<Vec<Vec<f32>>> {
    let m = model.vqvae.config.model.n_mels;
    let mut offsets = vec![Vec::new(); counts.len()];
    for (c, &n) in counts.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let own = drawn
            .iter()
            .filter(|p| p.class == c)
            .map(|p| p.spec.as_slice());
        // `n` of the class's samples are in `drawn`.
        let missing = ENVELOPE_SAMPLES.saturating_sub(n);
        let seeds: Vec<u64> = (0..missing)
            .map(|i| sample_seed(ENVELOPE_SEED, c, i))
            .collect();
        let mut extra = Vec::with_capacity(missing);
        for batch in seeds.chunks(request.batch_size) {
            let cls = vec![c; batch.len()];
            extra.extend(draw(model, &cls, batch, request, texture)?.specs);
        }
        let spectrograms = own.chain(extra.iter().map(Vec::as_slice)).map(|s| (0, s));
        let generated = &band_profiles(spectrograms, 1, m)[0];
        offsets[c] = model.reference.band_profiles[c]
            .iter()
            .zip(generated)
            .map(|(real, mean)| real - mean)
            .collect();
    }
    Ok(offsets)
}

/// A drawn sample waiting to be written.
struct Pending {
    class: usize,
    seed: u64,
    codes: Vec<usize>,
    spec: Vec<f32>,
}

/// Where drawn samples are written: the corpus, its WAV renderings, and the samples kept for
/// the contact sheet and the quality report.
struct Written<'a> {
    writer: &'a mut CorpusWriter,
    classes: &'a [String],
    request: &'a GenerateRequest,
    mel: &'a auscult_audio::MelConfig,
    wav_dir: &'a Path,
    m: usize,
    f: usize,
    samples: &'a mut Vec<(usize, Vec<f32>, Vec<usize>)>,
}

impl Written<'_> {
    /// Writes one sample (and its WAV rendering when asked) and keeps it.
    fn add(&mut self, sample: Pending) -> Result<()> {
        let spectrogram = Spectrogram {
            data: sample.spec,
            n_bins: self.m,
            n_frames: self.f,
        };
        let path = self
            .writer
            .add(&self.classes[sample.class], &spectrogram, sample.seed)?;
        if self.request.wav {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            render_wav(
                &spectrogram,
                self.mel,
                self.request.griffin_lim_iters,
                sample.seed,
                &self.wav_dir.join(format!("{stem}.wav")),
            )?;
        }
        self.samples
            .push((sample.class, spectrogram.data, sample.codes));
        Ok(())
    }
}

/// Adds `offset` (dB per Mel band) to every frame of `spec` (`[n_mels][n_frames]`), keeping
/// each value within the spectrogram's own range before the shift.
fn shift_envelope(spec: &mut [f32], offset: &[f32]) {
    if offset.is_empty() || spec.is_empty() {
        return;
    }
    let (lo, hi) = spec
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let n_frames = spec.len() / offset.len();
    for (row, &o) in spec.chunks_exact_mut(n_frames.max(1)).zip(offset) {
        row.iter_mut().for_each(|v| *v = (*v + o).clamp(lo, hi));
    }
}

/// Samples `request.counts` spectrograms from the prior in `prior_dir` and writes them as a
/// generated corpus in `out` (which must not hold a corpus yet): `NNNNNN_<class>.npy`
/// (`[n_mels, n_frames]` float32 dB log-Mel, the VQ-VAE's front end, presented as the
/// classifier's repeat padding presents a cycle: see `plan::cycle`), `contact_sheet.png`,
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
            guidance: None,
            seed: request.seed,
            texture: texture.is_some(),
            envelope_matched: request.match_envelope,
            created_by: format!("auscult {}", env!("CARGO_PKG_VERSION")),
        },
        serde_json::to_value(&vc.mel).map_err(|e| Error::config("mel", e.to_string()))?,
        // Samples are written as the classifier's front end presents examples (a zero-padded
        // cycle is tiled, see `crate::plan::cycle`).
        serde_json::to_value(crate::plan::cycle::presented_examples(&vc.examples))
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
    // Samples drawn but not yet written: with `match_envelope` every sample waits until the
    // whole corpus is drawn and its classes' envelopes are known.
    let mut pending: Vec<Pending> = Vec::new();
    let mut written = Written {
        writer: &mut writer,
        classes: &classes,
        request,
        mel: &vc.mel,
        wav_dir: &wav_dir,
        m,
        f,
        samples: &mut samples,
    };
    progress.start("generating", jobs.len() as u64);
    for chunk in jobs.chunks(request.batch_size) {
        let t0 = Instant::now();
        let cls: Vec<usize> = chunk.iter().map(|j| j.0).collect();
        let seeds: Vec<u64> = chunk.iter().map(|j| j.1).collect();
        let Drawn {
            codes,
            means,
            specs,
            cycles,
        } = draw(&model, &cls, &seeds, request, texture)?;
        for ((mean, cycle), &c) in means.iter().zip(&cycles).zip(&cls) {
            if let (Some(cycle), Some(Some(a))) = (cycle, tones.get_mut(c)) {
                let found = crate::plan::tone::tone_track(
                    mean,
                    m,
                    f,
                    columns,
                    crate::plan::tone::TONE_THRESHOLD_DB,
                )?;
                a.add(&cycle.tone, &found);
            }
        }
        sampling_seconds += t0.elapsed().as_secs_f64();
        pending.extend(cls.iter().zip(&seeds).zip(codes).zip(specs).map(
            |(((&class, &seed), codes), spec)| Pending {
                class,
                seed,
                codes,
                spec,
            },
        ));
        if !request.match_envelope {
            for sample in pending.drain(..) {
                written.add(sample)?;
            }
        }
        progress.advance(chunk.len() as u64);
    }
    progress.finish();
    if request.match_envelope {
        progress.message("matching the class envelopes");
        let offsets = envelope_offsets(&model, &counts, &pending, request, texture)?;
        for mut sample in pending {
            shift_envelope(&mut sample.spec, &offsets[sample.class]);
            written.add(sample)?;
        }
    }

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
