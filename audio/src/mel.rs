//! Mel filterbanks and (log-)Mel spectrograms in the conventions of librosa, torchaudio and
//! Kaldi's `fbank` (as torchaudio.compliance.kaldi implements it).

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};
use serde::{Deserialize, Serialize};

use crate::db::{LogScale, log_finish, log_pointwise};
use crate::error::{Error, Result};
use crate::stft::{PadMode, Window, check_sizes, extract_frame, frames};

/// Mel scale of the filter edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MelScale {
    /// Slaney's Auditory Toolbox scale (librosa's default): linear below 1 kHz, log above.
    Slaney,
    /// HTK, `2595 log10(1 + f / 700)` (torchaudio's default).
    Htk,
    /// Kaldi, `1127 ln(1 + f / 700)`, with triangles linear in mel rather than in Hz.
    Kaldi,
}

/// Normalisation of each Mel filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MelNorm {
    /// Slaney's constant-area triangles: each row times `2 / (f[i+2] - f[i])` (Hz).
    Slaney,
    /// Unit-peak triangles.
    None,
}

/// Options of Kaldi's `fbank` front end. When present in a [`MelConfig`], frames are cut
/// Kaldi's way: `win_length` samples every `hop_length` with no centring and "snip edges",
/// each frame processed in this order: dither, DC removal, pre-emphasis, window, zero-padding
/// on the right to `n_fft`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KaldiOptions {
    /// Standard deviation of Gaussian dither added to each sample (0 disables it).
    pub dither: f32,
    /// Pre-emphasis coefficient: `x[i] -= c x[i-1]`, with `x[-1] = x[0]` (0.97).
    pub preemphasis: f32,
    /// Subtract each frame's mean before pre-emphasis.
    pub remove_dc: bool,
    /// Subtract the whole waveform's mean first (AST-based ICBHI models call
    /// `fbank(w - w.mean(), ...)`).
    pub subtract_waveform_mean: bool,
    /// Seed of the dither noise (the same seed gives the same features).
    pub seed: u64,
}

impl Default for KaldiOptions {
    fn default() -> Self {
        KaldiOptions {
            dither: 0.0,
            preemphasis: 0.97,
            remove_dc: true,
            subtract_waveform_mean: true,
            seed: 0,
        }
    }
}

/// Everything that defines a (log-)Mel spectrogram. Serialised next to every model so that
/// features are always made the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MelConfig {
    /// Sample rate of the input in Hz.
    pub sample_rate: u32,
    /// FFT size (frames are zero-padded to it).
    pub n_fft: usize,
    /// Window length in samples, at most `n_fft`.
    pub win_length: usize,
    /// Hop between frames in samples.
    pub hop_length: usize,
    /// Number of Mel bands.
    pub n_mels: usize,
    /// Lowest filter edge in Hz.
    pub f_min: f32,
    /// Highest filter edge in Hz (`None`: Nyquist).
    pub f_max: Option<f32>,
    /// Analysis window.
    pub window: Window,
    /// Centre frames on `t * hop` by padding `n_fft / 2` on both sides (ignored in Kaldi mode).
    pub center: bool,
    /// How centring pads.
    pub pad_mode: PadMode,
    /// Exponent of the magnitude: 2 for power, 1 for magnitude.
    pub power: f32,
    /// Mel scale of the filters.
    pub mel_scale: MelScale,
    /// Filter normalisation.
    pub norm: MelNorm,
    /// Compression applied to the Mel spectrogram.
    pub log: LogScale,
    /// Kaldi fbank framing and processing, when set.
    pub kaldi: Option<KaldiOptions>,
}

impl MelConfig {
    /// librosa `melspectrogram` defaults (n_fft 2048, hop 512, 128 Slaney-normalised Slaney
    /// Mels, periodic Hann, zero-padded centring, power 2) followed by
    /// `power_to_db(ref=1.0, amin=1e-10, top_db=80)`.
    pub fn librosa(sample_rate: u32) -> Self {
        MelConfig {
            sample_rate,
            n_fft: 2048,
            win_length: 2048,
            hop_length: 512,
            n_mels: 128,
            f_min: 0.0,
            f_max: None,
            window: Window::Hann,
            center: true,
            pad_mode: PadMode::Constant,
            power: 2.0,
            mel_scale: MelScale::Slaney,
            norm: MelNorm::Slaney,
            log: LogScale::LIBROSA_DB,
            kaldi: None,
        }
    }

    /// torchaudio `MelSpectrogram` defaults (n_fft 400, hop 200, 128 HTK Mels without
    /// normalisation, reflect-padded centring, power 2) followed by `AmplitudeToDB`
    /// (`10 log10(max(x, 1e-10))`, no top_db).
    pub fn torchaudio(sample_rate: u32) -> Self {
        MelConfig {
            sample_rate,
            n_fft: 400,
            win_length: 400,
            hop_length: 200,
            n_mels: 128,
            f_min: 0.0,
            f_max: None,
            window: Window::Hann,
            center: true,
            pad_mode: PadMode::Reflect,
            power: 2.0,
            mel_scale: MelScale::Htk,
            norm: MelNorm::None,
            log: LogScale::Db {
                reference: 1.0,
                amin: 1e-10,
                top_db: None,
            },
            kaldi: None,
        }
    }

    /// `torchaudio.compliance.kaldi.fbank` as AST-based ICBHI models call it: 25 ms windows
    /// every 10 ms, symmetric Hann, FFT size the next power of two, 128 Kaldi-scale Mels from
    /// 20 Hz to Nyquist, waveform and frame mean removed, pre-emphasis 0.97, no dither,
    /// `ln(max(E, f32::EPSILON))`.
    pub fn kaldi(sample_rate: u32) -> Self {
        // torchaudio: int(sample_frequency * frame_length_ms * 0.001)
        let win = (f64::from(sample_rate) * 25.0 * 0.001) as usize;
        let hop = (f64::from(sample_rate) * 10.0 * 0.001) as usize;
        MelConfig {
            sample_rate,
            n_fft: win.max(1).next_power_of_two(),
            win_length: win,
            hop_length: hop,
            n_mels: 128,
            f_min: 20.0,
            f_max: None,
            window: Window::HannSymmetric,
            center: false,
            pad_mode: PadMode::Constant,
            power: 2.0,
            mel_scale: MelScale::Kaldi,
            norm: MelNorm::None,
            log: LogScale::Ln {
                floor: f32::EPSILON,
            },
            kaldi: Some(KaldiOptions::default()),
        }
    }

    /// Upper filter edge in Hz (`f_max` or Nyquist).
    pub fn f_max_hz(&self) -> f32 {
        self.f_max.unwrap_or(self.sample_rate as f32 / 2.0)
    }

    /// Frequency bins of one frame, `n_fft / 2 + 1`.
    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first bad field and what it should be.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &'static str, value: String, reason: String| {
            Err(Error::InvalidConfig {
                field,
                value,
                reason,
            })
        };
        if self.sample_rate == 0 {
            return bad("sample_rate", "0".into(), "must be positive (Hz)".into());
        }
        check_sizes(self.n_fft, self.hop_length, self.win_length)?;
        if self.n_mels == 0 {
            return bad("n_mels", "0".into(), "must be at least 1".into());
        }
        let nyquist = self.sample_rate as f32 / 2.0;
        if !(self.f_min >= 0.0 && self.f_min < nyquist) {
            return bad(
                "f_min",
                self.f_min.to_string(),
                format!("must be in [0, {nyquist}) Hz"),
            );
        }
        let f_max = self.f_max_hz();
        if !(f_max > self.f_min && f_max <= nyquist) {
            return bad(
                "f_max",
                f_max.to_string(),
                format!(
                    "must be above f_min = {} and at most Nyquist = {nyquist} Hz",
                    self.f_min
                ),
            );
        }
        if !(self.power > 0.0 && self.power.is_finite()) {
            return bad(
                "power",
                self.power.to_string(),
                "must be positive (2 = power)".into(),
            );
        }
        match self.log {
            LogScale::Db {
                reference,
                amin,
                top_db,
            } => {
                if !is_positive(amin) {
                    return bad(
                        "log.amin",
                        amin.to_string(),
                        "must be positive (1e-10)".into(),
                    );
                }
                if !is_positive(reference) {
                    return bad(
                        "log.reference",
                        reference.to_string(),
                        "must be positive".into(),
                    );
                }
                if top_db.is_some_and(|t| !is_non_negative(t)) {
                    return bad("log.top_db", format!("{top_db:?}"), "must be >= 0".into());
                }
            }
            LogScale::DbRefMax { amin, top_db } => {
                if !is_positive(amin) {
                    return bad(
                        "log.amin",
                        amin.to_string(),
                        "must be positive (1e-10)".into(),
                    );
                }
                if top_db.is_some_and(|t| !is_non_negative(t)) {
                    return bad("log.top_db", format!("{top_db:?}"), "must be >= 0".into());
                }
            }
            LogScale::Ln { floor } => {
                if !is_positive(floor) {
                    return bad("log.floor", floor.to_string(), "must be positive".into());
                }
            }
            LogScale::None => {}
        }
        if let Some(k) = &self.kaldi {
            if !is_non_negative(k.dither) {
                return bad("kaldi.dither", k.dither.to_string(), "must be >= 0".into());
            }
            if !(0.0..=1.0).contains(&k.preemphasis) {
                return bad(
                    "kaldi.preemphasis",
                    k.preemphasis.to_string(),
                    "must be in [0, 1] (0.97)".into(),
                );
            }
        }
        Ok(())
    }

    /// Frames produced for `n_samples` input samples: `1 + n / hop` when centred, and
    /// `1 + (n - frame) / hop` (0 if shorter than a frame) otherwise, where `frame` is
    /// `win_length` in Kaldi mode and `n_fft` in STFT mode.
    pub fn n_frames(&self, n_samples: usize) -> usize {
        if self.hop_length == 0 {
            return 0;
        }
        if self.kaldi.is_some() {
            frames(n_samples, self.win_length, self.hop_length, false)
        } else {
            frames(n_samples, self.n_fft, self.hop_length, self.center)
        }
    }

    /// Seconds between frames.
    pub fn seconds_per_frame(&self) -> f32 {
        self.hop_length as f32 / self.sample_rate as f32
    }
}

/// `x > 0` (false for NaN).
fn is_positive(x: f32) -> bool {
    x > 0.0
}

/// `x >= 0` (false for NaN).
fn is_non_negative(x: f32) -> bool {
    x >= 0.0
}

/// Converts Hz to mel on `scale` (librosa's `hz_to_mel`, HTK's and Kaldi's formulas).
pub fn hz_to_mel(hz: f64, scale: MelScale) -> f64 {
    match scale {
        MelScale::Htk => 2595.0 * (1.0 + hz / 700.0).log10(),
        MelScale::Kaldi => 1127.0 * (1.0 + hz / 700.0).ln(),
        MelScale::Slaney => {
            let f_sp = 200.0 / 3.0;
            let min_log_hz = 1000.0;
            let min_log_mel = min_log_hz / f_sp;
            let logstep = 6.4f64.ln() / 27.0;
            if hz >= min_log_hz {
                min_log_mel + (hz / min_log_hz).ln() / logstep
            } else {
                hz / f_sp
            }
        }
    }
}

/// Converts mel on `scale` back to Hz.
pub fn mel_to_hz(mel: f64, scale: MelScale) -> f64 {
    match scale {
        MelScale::Htk => 700.0 * (10f64.powf(mel / 2595.0) - 1.0),
        MelScale::Kaldi => 700.0 * ((mel / 1127.0).exp() - 1.0),
        MelScale::Slaney => {
            let f_sp = 200.0 / 3.0;
            let min_log_hz = 1000.0;
            let min_log_mel = min_log_hz / f_sp;
            let logstep = 6.4f64.ln() / 27.0;
            if mel >= min_log_mel {
                min_log_hz * (logstep * (mel - min_log_mel)).exp()
            } else {
                f_sp * mel
            }
        }
    }
}

/// The dense Mel filterbank of `cfg`, row-major `[n_mels][n_fft / 2 + 1]`.
///
/// The Slaney scale follows `librosa.filters.mel` (float64 arithmetic, stored as float32,
/// normalised like librosa's float32 filters); the HTK scale follows torchaudio's
/// `melscale_fbanks` (float32 arithmetic; librosa's `htk=True` differs from it by ~5e-6);
/// the Kaldi scale follows `torchaudio.compliance.kaldi.get_mel_banks` (float32 arithmetic,
/// the Nyquist bin zero).
///
/// # Errors
/// [`Error::InvalidConfig`] when `cfg` does not validate.
pub fn mel_filterbank(cfg: &MelConfig) -> Result<Vec<f32>> {
    cfg.validate()?;
    Ok(match cfg.mel_scale {
        MelScale::Kaldi => kaldi_filterbank(cfg),
        MelScale::Htk => torchaudio_filterbank(cfg),
        MelScale::Slaney => librosa_filterbank(cfg),
    })
}

/// numpy.linspace(start, stop, num) in float64 (endpoint included).
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 1 {
        return vec![start];
    }
    let step = (stop - start) / (num - 1) as f64;
    let mut v: Vec<f64> = (0..num).map(|i| start + i as f64 * step).collect();
    v[num - 1] = stop;
    v
}

fn librosa_filterbank(cfg: &MelConfig) -> Vec<f32> {
    let n_bins = cfg.n_bins();
    let sr = f64::from(cfg.sample_rate);
    // np.fft.rfftfreq(n_fft, 1/sr): k * (1 / (n_fft * (1/sr)))
    let val = 1.0 / (cfg.n_fft as f64 * (1.0 / sr));
    let fftfreqs: Vec<f64> = (0..n_bins).map(|k| k as f64 * val).collect();
    let mel_f: Vec<f64> = linspace(
        hz_to_mel(f64::from(cfg.f_min), cfg.mel_scale),
        hz_to_mel(f64::from(cfg.f_max_hz()), cfg.mel_scale),
        cfg.n_mels + 2,
    )
    .into_iter()
    .map(|m| mel_to_hz(m, cfg.mel_scale))
    .collect();
    let mut w = vec![0.0f32; cfg.n_mels * n_bins];
    for i in 0..cfg.n_mels {
        let fdiff_lo = mel_f[i + 1] - mel_f[i];
        let fdiff_hi = mel_f[i + 2] - mel_f[i + 1];
        let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        for (k, &f) in fftfreqs.iter().enumerate() {
            let lower = -(mel_f[i] - f) / fdiff_lo;
            let upper = (mel_f[i + 2] - f) / fdiff_hi;
            let v = 0f64.max(lower.min(upper)) as f32;
            w[i * n_bins + k] = match cfg.norm {
                MelNorm::Slaney => (f64::from(v) * enorm) as f32,
                MelNorm::None => v,
            };
        }
    }
    w
}

/// torch.linspace in float32 as ATen's CPU kernel computes it: the first half as
/// `start + step * i`, the second as `end - step * (steps - 1 - i)`, except that in
/// vectorised chunks of `LANES` (processed two at a time) each lane is its chunk's first value
/// plus `lane * step`; a scalar tail follows.
fn linspace_f32(start: f32, end: f32, steps: usize) -> Vec<f32> {
    const LANES: usize = 16;
    if steps == 1 {
        return vec![start];
    }
    let step = (end - start) / (steps - 1) as f32;
    let halfway = steps / 2;
    let scalar = |i: usize| {
        if i < halfway {
            start + step * i as f32
        } else {
            end - step * (steps - i - 1) as f32
        }
    };
    let mut out = Vec::with_capacity(steps);
    let vectorised = steps / (2 * LANES) * (2 * LANES);
    for chunk in (0..vectorised).step_by(LANES) {
        let base = scalar(chunk);
        out.extend((0..LANES).map(|lane| base + lane as f32 * step));
    }
    out.extend((vectorised..steps).map(scalar));
    out
}

/// `torchaudio.functional.melscale_fbanks(n_freqs, f_min, f_max, n_mels, sr, norm, 'htk')`,
/// transposed to `[n_mels][n_freqs]`.
fn torchaudio_filterbank(cfg: &MelConfig) -> Vec<f32> {
    let n_bins = cfg.n_bins();
    let all_freqs = linspace_f32(0.0, (cfg.sample_rate / 2) as f32, n_bins);
    let m_min = hz_to_mel(f64::from(cfg.f_min), MelScale::Htk) as f32;
    let m_max = hz_to_mel(f64::from(cfg.f_max_hz()), MelScale::Htk) as f32;
    let f_pts: Vec<f32> = linspace_f32(m_min, m_max, cfg.n_mels + 2)
        .into_iter()
        .map(|m| 700.0f32 * (10f32.powf(m / 2595.0) - 1.0))
        .collect();
    let mut w = vec![0.0f32; cfg.n_mels * n_bins];
    for i in 0..cfg.n_mels {
        let diff_lo = f_pts[i + 1] - f_pts[i];
        let diff_hi = f_pts[i + 2] - f_pts[i + 1];
        let enorm = 2.0f32 / (f_pts[i + 2] - f_pts[i]);
        for (k, &f) in all_freqs.iter().enumerate() {
            let down = -(f_pts[i] - f) / diff_lo;
            let up = (f_pts[i + 2] - f) / diff_hi;
            let v = 0f32.max(down.min(up));
            w[i * n_bins + k] = match cfg.norm {
                MelNorm::Slaney => v * enorm,
                MelNorm::None => v,
            };
        }
    }
    w
}

fn kaldi_filterbank(cfg: &MelConfig) -> Vec<f32> {
    let n_bins = cfg.n_bins();
    let num_fft_bins = cfg.n_fft / 2;
    let sr = f64::from(cfg.sample_rate);
    let fft_bin_width = (sr / cfg.n_fft as f64) as f32;
    let mel_low = hz_to_mel(f64::from(cfg.f_min), MelScale::Kaldi);
    let mel_high = hz_to_mel(f64::from(cfg.f_max_hz()), MelScale::Kaldi);
    let delta = ((mel_high - mel_low) / (cfg.n_mels + 1) as f64) as f32;
    let mel_low = mel_low as f32;
    let mel_of_bin: Vec<f32> = (0..num_fft_bins)
        .map(|k| 1127.0f32 * (1.0f32 + (fft_bin_width * k as f32) / 700.0).ln())
        .collect();
    let mut w = vec![0.0f32; cfg.n_mels * n_bins];
    for b in 0..cfg.n_mels {
        let left = mel_low + b as f32 * delta;
        let center = mel_low + (b as f32 + 1.0) * delta;
        let right = mel_low + (b as f32 + 2.0) * delta;
        for (k, &mel) in mel_of_bin.iter().enumerate() {
            let up = (mel - left) / (center - left);
            let down = (right - mel) / (right - center);
            let v = 0f32.max(up.min(down));
            let v = match cfg.norm {
                MelNorm::Slaney => {
                    let lo = mel_to_hz(f64::from(left), MelScale::Kaldi);
                    let hi = mel_to_hz(f64::from(right), MelScale::Kaldi);
                    (f64::from(v) * 2.0 / (hi - lo)) as f32
                }
                MelNorm::None => v,
            };
            w[b * n_bins + k] = v;
        }
    }
    w
}

/// A Mel filterbank stored by its non-zero span per filter.
#[derive(Debug, Clone)]
struct SparseFilterbank {
    /// First non-zero bin of each filter.
    starts: Vec<usize>,
    /// Offsets of each filter's weights in `weights` (n_mels + 1 entries).
    offsets: Vec<usize>,
    weights: Vec<f32>,
}

impl SparseFilterbank {
    fn from_dense(dense: &[f32], n_mels: usize, n_bins: usize) -> Self {
        let mut starts = Vec::with_capacity(n_mels);
        let mut offsets = vec![0];
        let mut weights = Vec::new();
        for row in dense.chunks_exact(n_bins).take(n_mels) {
            let first = row.iter().position(|&v| v != 0.0);
            let last = row.iter().rposition(|&v| v != 0.0);
            match (first, last) {
                (Some(a), Some(b)) => {
                    starts.push(a);
                    weights.extend_from_slice(&row[a..=b]);
                }
                _ => starts.push(0),
            }
            offsets.push(weights.len());
        }
        SparseFilterbank {
            starts,
            offsets,
            weights,
        }
    }
}

/// A spectrogram, row-major `[n_bins][n_frames]` (Mel bins by frames, like librosa).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spectrogram {
    /// Values, `data[bin * n_frames + frame]`.
    pub data: Vec<f32>,
    /// Rows (Mel bins).
    pub n_bins: usize,
    /// Columns (time frames).
    pub n_frames: usize,
}

impl Spectrogram {
    /// Wraps `data` of shape `[n_bins][n_frames]`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when `data.len() != n_bins * n_frames`.
    pub fn new(data: Vec<f32>, n_bins: usize, n_frames: usize) -> Result<Self> {
        if data.len() != n_bins * n_frames {
            return Err(Error::ShapeMismatch {
                expected: n_bins * n_frames,
                actual: data.len(),
            });
        }
        Ok(Spectrogram {
            data,
            n_bins,
            n_frames,
        })
    }

    /// The value at (`bin`, `frame`).
    pub fn get(&self, bin: usize, frame: usize) -> Option<f32> {
        (bin < self.n_bins && frame < self.n_frames).then(|| self.data[bin * self.n_frames + frame])
    }
}

/// Frames processed together: their power spectra are stored bin-major so that the Mel
/// filters run over `BLOCK` frames at once (vectorised) and write whole output rows.
const BLOCK: usize = 8;

/// A planned (log-)Mel spectrogram extractor: FFT plan, window, sparse filterbank and scratch
/// buffers are made once in [`MelSpectrogram::new`]; [`MelSpectrogram::compute`] allocates
/// only its output.
///
/// Frames are transformed two at a time with one complex FFT (one frame in the real part,
/// the next in the imaginary part), then separated by conjugate symmetry.
pub struct MelSpectrogram {
    cfg: MelConfig,
    fft: Arc<dyn Fft<f32>>,
    /// `n_fft` long and centred (STFT mode) or `win_length` long (Kaldi mode).
    window: Vec<f32>,
    filters: SparseFilterbank,
    /// Two windowed frames, `n_fft` each.
    frame_a: Vec<f32>,
    frame_b: Vec<f32>,
    /// Kaldi mode: one raw frame of `win_length` samples.
    raw: Vec<f32>,
    buf: Vec<Complex32>,
    scratch: Vec<Complex32>,
    /// Power spectra of a block of frames, `[n_bins][BLOCK]`.
    block: Vec<f32>,
    /// Mel energies of a block, `[BLOCK]` for one filter.
    acc: [f32; BLOCK],
}

impl std::fmt::Debug for MelSpectrogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MelSpectrogram")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl MelSpectrogram {
    /// Plans the extractor for `cfg`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `cfg` does not validate.
    pub fn new(cfg: &MelConfig) -> Result<Self> {
        let dense = mel_filterbank(cfg)?;
        let n_bins = cfg.n_bins();
        let filters = SparseFilterbank::from_dense(&dense, cfg.n_mels, n_bins);
        let fft = FftPlanner::<f32>::new().plan_fft_forward(cfg.n_fft);
        let window = if cfg.kaldi.is_some() {
            cfg.window.coefficients(cfg.win_length, false)
        } else {
            let mut full = vec![0.0f32; cfg.n_fft];
            let left = (cfg.n_fft - cfg.win_length) / 2;
            full[left..left + cfg.win_length]
                .copy_from_slice(&cfg.window.coefficients(cfg.win_length, true));
            full
        };
        Ok(MelSpectrogram {
            cfg: cfg.clone(),
            frame_a: vec![0.0; cfg.n_fft],
            frame_b: vec![0.0; cfg.n_fft],
            raw: vec![0.0; cfg.win_length],
            buf: vec![Complex32::new(0.0, 0.0); cfg.n_fft],
            scratch: vec![Complex32::new(0.0, 0.0); fft.get_inplace_scratch_len()],
            block: vec![0.0; n_bins * BLOCK],
            acc: [0.0; BLOCK],
            window,
            filters,
            fft,
        })
    }

    /// The configuration this extractor was planned for.
    pub fn config(&self) -> &MelConfig {
        &self.cfg
    }

    /// The (log-)Mel spectrogram of mono `samples` at `cfg.sample_rate`: shape
    /// `[n_mels][cfg.n_frames(samples.len())]`, compressed by `cfg.log`.
    pub fn compute(&mut self, samples: &[f32]) -> Spectrogram {
        let n_frames = self.cfg.n_frames(samples.len());
        let n_mels = self.cfg.n_mels;
        let mut data = vec![0.0f32; n_mels * n_frames];
        let mut kaldi = self.cfg.kaldi.clone().map(|opts| {
            let mean = if opts.subtract_waveform_mean && !samples.is_empty() {
                (samples.iter().map(|&x| f64::from(x)).sum::<f64>() / samples.len() as f64) as f32
            } else {
                0.0
            };
            (opts.clone(), mean, ChaCha8Rng::seed_from_u64(opts.seed))
        });
        for t0 in (0..n_frames).step_by(BLOCK) {
            let nb = BLOCK.min(n_frames - t0);
            for j in (0..nb).step_by(2) {
                let two = j + 1 < nb;
                let mut fa = std::mem::take(&mut self.frame_a);
                let mut fb = std::mem::take(&mut self.frame_b);
                self.prepare(samples, t0 + j, &mut fa, kaldi.as_mut());
                if two {
                    self.prepare(samples, t0 + j + 1, &mut fb, kaldi.as_mut());
                } else {
                    fb.fill(0.0);
                }
                self.power_pair(&fa, &fb, j);
                self.frame_a = fa;
                self.frame_b = fb;
            }
            self.mel_block(&mut data, t0, nb, n_frames);
        }
        log_pointwise(&mut data, &self.cfg.log);
        log_finish(&mut data, &self.cfg.log);
        Spectrogram {
            data,
            n_bins: n_mels,
            n_frames,
        }
    }

    /// Writes windowed frame `t` (n_fft samples) into `out`.
    fn prepare(
        &mut self,
        samples: &[f32],
        t: usize,
        out: &mut [f32],
        kaldi: Option<&mut (KaldiOptions, f32, ChaCha8Rng)>,
    ) {
        let hop = self.cfg.hop_length;
        let Some((opts, mean, rng)) = kaldi else {
            let n_fft = self.cfg.n_fft;
            let offset = if self.cfg.center {
                (n_fft / 2) as isize
            } else {
                0
            };
            let start = (t * hop) as isize - offset;
            if start >= 0 && start as usize + n_fft <= samples.len() {
                let src = &samples[start as usize..start as usize + n_fft];
                for ((f, &s), &w) in out.iter_mut().zip(src).zip(&self.window) {
                    *f = s * w;
                }
            } else {
                extract_frame(samples, start, out, self.cfg.pad_mode);
                for (f, &w) in out.iter_mut().zip(&self.window) {
                    *f *= w;
                }
            }
            return;
        };
        // Kaldi: dither, frame DC removal, pre-emphasis, window, zero-pad on the right.
        let win = self.cfg.win_length;
        let src = &samples[t * hop..t * hop + win];
        for (r, &s) in self.raw.iter_mut().zip(src) {
            *r = s - *mean;
        }
        if opts.dither > 0.0 {
            for r in self.raw.iter_mut() {
                *r += opts.dither * gaussian(rng);
            }
        }
        if opts.remove_dc {
            let m = (self.raw.iter().map(|&x| f64::from(x)).sum::<f64>() / win as f64) as f32;
            for r in self.raw.iter_mut() {
                *r -= m;
            }
        }
        if opts.preemphasis != 0.0 {
            let c = opts.preemphasis;
            for i in (1..win).rev() {
                self.raw[i] -= c * self.raw[i - 1];
            }
            self.raw[0] -= c * self.raw[0];
        }
        for ((f, &r), &w) in out.iter_mut().zip(&self.raw).zip(&self.window) {
            *f = r * w;
        }
        out[win..].fill(0.0);
    }

    /// One complex FFT of `a + i b`; |A_k|^2 and |B_k|^2 into block columns `j`, `j + 1`.
    fn power_pair(&mut self, a: &[f32], b: &[f32], j: usize) {
        for ((z, &x), &y) in self.buf.iter_mut().zip(a).zip(b) {
            *z = Complex32::new(x, y);
        }
        self.fft
            .process_with_scratch(&mut self.buf, &mut self.scratch);
        let n = self.cfg.n_fft;
        let n_bins = self.cfg.n_bins();
        // A_k = (Z_k + conj Z_{n-k}) / 2, B_k = (Z_k - conj Z_{n-k}) / (2i); Z_n = Z_0.
        let z0 = self.buf[0];
        self.block[j] = z0.re * z0.re;
        self.block[j + 1] = z0.im * z0.im;
        let upper = &self.buf[1..n_bins];
        let mirrored = self.buf[n + 1 - n_bins..].iter().rev();
        for ((z, w), cell) in upper
            .iter()
            .zip(mirrored)
            .zip(self.block[BLOCK..].chunks_exact_mut(BLOCK))
        {
            let (ar, ai) = (z.re + w.re, z.im - w.im);
            let (br, bi) = (z.im + w.im, z.re - w.re);
            cell[j] = 0.25 * (ar * ar + ai * ai);
            cell[j + 1] = 0.25 * (br * br + bi * bi);
        }
    }

    /// Exponent and Mel filters for the `nb` frames in the block starting at
    /// frame `t0`, written to rows of `data`.
    fn mel_block(&mut self, data: &mut [f32], t0: usize, nb: usize, n_frames: usize) {
        let power = self.cfg.power;
        if power == 1.0 {
            for p in self.block.iter_mut() {
                *p = p.sqrt();
            }
        } else if power != 2.0 {
            let e = power / 2.0;
            for p in self.block.iter_mut() {
                *p = p.powf(e);
            }
        }
        let f = &self.filters;
        for (m, &start) in f.starts.iter().enumerate() {
            let w = &f.weights[f.offsets[m]..f.offsets[m + 1]];
            self.acc = [0.0; BLOCK];
            let rows = &self.block[start * BLOCK..(start + w.len()) * BLOCK];
            for (&wk, row) in w.iter().zip(rows.chunks_exact(BLOCK)) {
                for (a, &p) in self.acc.iter_mut().zip(row) {
                    *a += wk * p;
                }
            }
            let out = &mut data[m * n_frames + t0..m * n_frames + t0 + nb];
            for (o, &a) in out.iter_mut().zip(&self.acc) {
                *o = a;
            }
        }
    }
}

/// One standard normal draw (Box-Muller).
fn gaussian(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random::<f64>();
    ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npy::read_npy_f32;
    use crate::test_support::golden_dir;

    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn librosa_filterbanks_match_golden() {
        for n_mels in [64, 128] {
            let cfg = MelConfig {
                n_fft: 1024,
                win_length: 1024,
                n_mels,
                ..MelConfig::librosa(16_000)
            };
            let ours = mel_filterbank(&cfg).unwrap();
            // librosa.filters.mel(sr=16000, n_fft=1024, n_mels=n_mels, dtype=np.float32)
            let name = format!("filters/librosa_mel_sr16000_nfft1024_mels{n_mels}_float32.npy");
            let (gold, shape) = read_npy_f32(&golden_dir().join(name)).unwrap();
            assert_eq!(shape, vec![n_mels, 513]);
            let d = max_abs_diff(&ours, &gold);
            assert!(d <= 1e-8, "{n_mels} mels: max diff {d}");
        }
    }

    #[test]
    fn torchaudio_and_kaldi_filterbanks_match_golden() {
        // torchaudio.functional.melscale_fbanks(513, 0.0, 8000.0, 64, 16000, norm=None,
        //                                       mel_scale='htk').T
        let cfg = MelConfig {
            n_fft: 1024,
            win_length: 1024,
            n_mels: 64,
            ..MelConfig::torchaudio(16_000)
        };
        let ours = mel_filterbank(&cfg).unwrap();
        let (gold, _) = read_npy_f32(
            &golden_dir()
                .join("filters/torchaudio_melscale_fbanks_htk_nonorm_sr16000_nfft1024_mels64.npy"),
        )
        .unwrap();
        // torchaudio computes in float32 with SLEEF's pow; ours matches its linspace but not
        // every last ulp of pow, which moves a few weights by up to ~6e-6.
        let d = max_abs_diff(&ours, &gold);
        assert!(d <= 1e-5, "htk: max diff {d}");

        // torchaudio.compliance.kaldi.get_mel_banks(128, 512, 16000.0, 20.0, 0.0, ...)[0]:
        // (128, 256); our bank has the zero Nyquist column too (257).
        let cfg = MelConfig::kaldi(16_000);
        let ours = mel_filterbank(&cfg).unwrap();
        let (gold, shape) = read_npy_f32(
            &golden_dir().join("filters/kaldi_get_mel_banks_128_pad512_sr16000_low20.npy"),
        )
        .unwrap();
        assert_eq!(shape, vec![128, 256]);
        let mut d = 0.0f32;
        for m in 0..128 {
            assert_eq!(ours[m * 257 + 256], 0.0);
            d = d.max(max_abs_diff(
                &ours[m * 257..m * 257 + 256],
                &gold[m * 256..(m + 1) * 256],
            ));
        }
        // Both in float32; torch and libm logs differ by an ulp here and there.
        assert!(d <= 5e-6, "kaldi: max diff {d}");
    }

    #[test]
    fn presets_validate_and_count_frames() {
        for cfg in [
            MelConfig::librosa(22_050),
            MelConfig::torchaudio(16_000),
            MelConfig::kaldi(16_000),
        ] {
            cfg.validate().unwrap();
        }
        let k = MelConfig::kaldi(16_000);
        assert_eq!((k.win_length, k.hop_length, k.n_fft), (400, 160, 512));
        assert_eq!(k.n_frames(399), 0);
        assert_eq!(k.n_frames(32_000), 1 + (32_000 - 400) / 160);
        let l = MelConfig {
            n_fft: 1024,
            win_length: 1024,
            hop_length: 160,
            ..MelConfig::librosa(16_000)
        };
        assert_eq!(l.n_frames(32_000), 201);
        let bad = MelConfig {
            f_max: Some(9000.0),
            ..l.clone()
        };
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains("f_max") && err.contains("Nyquist"), "{err}");
        assert!(MelSpectrogram::new(&MelConfig { hop_length: 0, ..l }).is_err());
    }

    #[test]
    fn config_round_trips_through_json() {
        let cfg = MelConfig::kaldi(16_000);
        let json = serde_json::to_string(&cfg).unwrap();
        assert!(json.contains("\"window\":\"hann-symmetric\"") && json.contains("\"kind\":\"ln\""));
        let back: MelConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cfg);
    }

    #[test]
    fn dither_is_seeded() {
        let x: Vec<f32> = (0..4000).map(|i| (i as f32 * 0.01).sin() * 0.1).collect();
        let mut cfg = MelConfig::kaldi(16_000);
        if let Some(k) = cfg.kaldi.as_mut() {
            k.dither = 1e-3;
        }
        let a = MelSpectrogram::new(&cfg).unwrap().compute(&x);
        let b = MelSpectrogram::new(&cfg).unwrap().compute(&x);
        assert_eq!(a, b);
        if let Some(k) = cfg.kaldi.as_mut() {
            k.seed = 1;
        }
        let c = MelSpectrogram::new(&cfg).unwrap().compute(&x);
        assert_ne!(a, c);
    }
}
