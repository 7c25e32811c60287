//! Signal building blocks of the synthetic generator: spectrally shaped noise, filters,
//! crackles, wheezes, heart sounds, and a canonical PCM WAV writer.
//!
//! Everything is deterministic for a given random stream: the same seed writes the same bytes.

use std::f64::consts::PI;
use std::path::Path;

use auscult_audio::MelScale;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use realfft::RealFftPlanner;
use realfft::num_complex::Complex;

use crate::error::Result;
use crate::files;

/// Mean log-Mel profile of normal ICBHI cycles (dB relative to the loudest band; librosa,
/// 64 Slaney mels, 0-8 kHz, n_fft 1024, hop 160 at 16 kHz), from
/// `testdata/fixtures/icbhi-statistics.json` (`spectra.mean_log_mel_profile_db_rel_max`). The
/// breathing noise is designed so that its Mel projection follows this profile.
pub(crate) const NORMAL_PROFILE_DB: [f64; 64] = [
    -0.01, -11.87, -19.68, -24.36, -27.37, -29.65, -31.87, -33.89, -35.71, -37.19, -38.43, -39.41,
    -40.47, -41.49, -42.57, -43.45, -44.22, -44.86, -45.36, -45.82, -46.29, -46.91, -47.38, -47.55,
    -47.99, -48.35, -48.64, -48.93, -49.3, -49.82, -50.74, -51.91, -53.19, -54.38, -55.44, -56.28,
    -56.93, -57.52, -57.96, -58.25, -58.64, -59.01, -59.44, -59.81, -60.26, -60.78, -61.25, -61.59,
    -61.92, -62.21, -62.44, -62.78, -62.99, -63.29, -63.15, -63.62, -63.96, -63.66, -63.38, -64.55,
    -64.71, -64.73, -64.84, -66.55,
];

/// Upper edge of the profile's Mel bands, Hz.
const PROFILE_FMAX: f64 = 8000.0;

/// Slaney Mel scale (librosa's default), the audio crate's.
fn hz_to_mel(f: f64) -> f64 {
    auscult_audio::hz_to_mel(f, MelScale::Slaney)
}

/// Inverse of [`hz_to_mel`].
fn mel_to_hz(m: f64) -> f64 {
    auscult_audio::mel_to_hz(m, MelScale::Slaney)
}

/// The `n + 2` Mel band edges (Hz) of `n` Slaney bands between 0 and `f_max`.
fn mel_edges(n: usize, f_max: f64) -> Vec<f64> {
    let top = hz_to_mel(f_max);
    (0..n + 2)
        .map(|i| mel_to_hz(top * i as f64 / (n + 1) as f64))
        .collect()
}

/// Power spectral density of breathing noise in dB, on a 1 Hz grid from 0 to 8 kHz, fitted
/// so that its 64-band Slaney Mel projection reproduces [`NORMAL_PROFILE_DB`].
#[derive(Debug, Clone)]
pub(crate) struct BreathSpectrum {
    psd_db: Vec<f64>,
}

impl BreathSpectrum {
    /// Fits the PSD by fixed-point iteration on the band gains (20 rounds; each band's
    /// measured level is pulled towards the target while neighbours overlap).
    pub(crate) fn design() -> Self {
        let n = NORMAL_PROFILE_DB.len();
        let edges = mel_edges(n, PROFILE_FMAX);
        let centers: Vec<f64> = edges[1..=n].to_vec();
        let grid: Vec<f64> = (0..=PROFILE_FMAX as usize).map(|f| f as f64).collect();
        // Slaney-normalised triangular weights on the grid.
        let weights: Vec<Vec<(usize, f64)>> = (0..n)
            .map(|k| {
                let (lo, c, hi) = (edges[k], edges[k + 1], edges[k + 2]);
                let norm = 2.0 / (hi - lo);
                grid.iter()
                    .enumerate()
                    .filter_map(|(i, &f)| {
                        let w = if f > lo && f <= c {
                            (f - lo) / (c - lo)
                        } else if f > c && f < hi {
                            (hi - f) / (hi - c)
                        } else {
                            0.0
                        };
                        (w > 0.0).then_some((i, w * norm))
                    })
                    .collect()
            })
            .collect();
        let mut gains: Vec<f64> = NORMAL_PROFILE_DB.to_vec();
        let mut psd_db = vec![0.0; grid.len()];
        for _round in 0..20 {
            for (i, &f) in grid.iter().enumerate() {
                psd_db[i] = interp_at(&centers, &gains, f);
            }
            let measured: Vec<f64> = weights
                .iter()
                .map(|w| {
                    let p: f64 = w.iter().map(|&(i, wt)| wt * db_to_power(psd_db[i])).sum();
                    10.0 * p.max(1e-30).log10()
                })
                .collect();
            let top = measured.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            for k in 0..n {
                gains[k] += 0.8 * (NORMAL_PROFILE_DB[k] - (measured[k] - top));
            }
        }
        for (i, &f) in grid.iter().enumerate() {
            psd_db[i] = interp_at(&centers, &gains, f);
        }
        Self { psd_db }
    }

    /// PSD in dB at `f` Hz; above 8 kHz it falls a further 6 dB per octave.
    pub(crate) fn psd_db(&self, f: f64) -> f64 {
        let last = self.psd_db.len() - 1;
        if f <= 0.0 {
            return self.psd_db[0];
        }
        if f >= last as f64 {
            return self.psd_db[last] - 6.0 * (f / last as f64).log2();
        }
        let i = f.floor() as usize;
        let t = f - i as f64;
        self.psd_db[i] * (1.0 - t) + self.psd_db[i + 1] * t
    }
}

fn db_to_power(db: f64) -> f64 {
    10f64.powf(db / 10.0)
}

/// Amplitude factor of a gain in dB.
pub(crate) fn db_to_amp(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// Linear interpolation of `(xs, ys)` at `x` on the Mel axis, constant beyond the ends.
fn interp_at(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    if x <= xs[0] {
        return ys[0];
    }
    let last = xs.len() - 1;
    if x >= xs[last] {
        return ys[last];
    }
    let m = hz_to_mel(x);
    let i = xs
        .partition_point(|&c| c <= x)
        .saturating_sub(1)
        .min(last - 1);
    let (m0, m1) = (hz_to_mel(xs[i]), hz_to_mel(xs[i + 1]));
    let t = (m - m0) / (m1 - m0);
    ys[i] * (1.0 - t) + ys[i + 1] * t
}

/// A standard normal draw.
pub(crate) fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    rng.sample::<f64, _>(StandardNormal)
}

/// A uniform draw in `[lo, hi)`.
pub(crate) fn uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// A frequency response sampled every 2 Hz from 0 to `sr / 2` and interpolated linearly, so
/// that costly closures run ~10^4 times instead of once per FFT bin.
struct ResponseTable {
    step: f64,
    values: Vec<f64>,
}

impl ResponseTable {
    fn new(sr: u32, response: impl Fn(f64) -> f64) -> Self {
        let step = 2.0;
        let n = (f64::from(sr) / 2.0 / step).ceil() as usize + 2;
        Self {
            step,
            values: (0..n).map(|i| response(i as f64 * step)).collect(),
        }
    }

    fn at(&self, f: f64) -> f64 {
        let x = (f / self.step).max(0.0);
        let i = (x.floor() as usize).min(self.values.len() - 2);
        let t = (x - i as f64).min(1.0);
        self.values[i] * (1.0 - t) + self.values[i + 1] * t
    }
}

/// Gaussian noise of `n` samples at `sr` Hz whose amplitude spectrum is `amp(f)`, made in the
/// frequency domain (random complex bins, one inverse FFT), scaled to unit RMS.
pub(crate) fn shaped_noise(
    rng: &mut ChaCha8Rng,
    planner: &mut RealFftPlanner<f32>,
    n: usize,
    sr: u32,
    amp: impl Fn(f64) -> f64,
) -> Vec<f32> {
    if n == 0 {
        return Vec::new();
    }
    let n_fft = n.next_power_of_two().max(2);
    let inverse = planner.plan_fft_inverse(n_fft);
    let table = ResponseTable::new(sr, amp);
    let mut spectrum = inverse.make_input_vec();
    let last = spectrum.len() - 1;
    for (k, bin) in spectrum.iter_mut().enumerate() {
        let f = k as f64 * f64::from(sr) / n_fft as f64;
        let a = table.at(f);
        let (re, im) = (gauss(rng), gauss(rng));
        *bin = if k == 0 || k == last {
            Complex::new(0.0, 0.0)
        } else {
            Complex::new((a * re) as f32, (a * im) as f32)
        };
    }
    let mut out = inverse.make_output_vec();
    // DC and Nyquist are zero, so the transform cannot fail.
    let _ = inverse.process(&mut spectrum, &mut out);
    out.truncate(n);
    normalize_rms(&mut out);
    out
}

/// Scales `x` to unit RMS (no-op on silence).
pub(crate) fn normalize_rms(x: &mut [f32]) {
    let r = rms(x);
    if r > 0.0 {
        let g = (1.0 / r) as f32;
        x.iter_mut().for_each(|v| *v *= g);
    }
}

/// Root mean square.
pub(crate) fn rms(x: &[f32]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len() as f64).sqrt()
}

/// Applies the zero-phase filter with amplitude response `gain(f)` to `x` (FFT of the
/// zero-padded signal, so the smooth responses used here do not wrap around).
pub(crate) fn filter_in_place(
    planner: &mut RealFftPlanner<f32>,
    x: &mut [f32],
    sr: u32,
    gain: impl Fn(f64) -> f64,
) {
    let n = x.len();
    if n == 0 {
        return;
    }
    let n_fft = (n + n / 8 + 1024).next_power_of_two();
    let forward = planner.plan_fft_forward(n_fft);
    let inverse = planner.plan_fft_inverse(n_fft);
    let mut buf = forward.make_input_vec();
    buf[..n].copy_from_slice(x);
    let mut spectrum = forward.make_output_vec();
    let _ = forward.process(&mut buf, &mut spectrum);
    let table = ResponseTable::new(sr, gain);
    let last = spectrum.len() - 1;
    for (k, bin) in spectrum.iter_mut().enumerate() {
        let f = k as f64 * f64::from(sr) / n_fft as f64;
        *bin *= (table.at(f) / n_fft as f64) as f32;
        if k == 0 || k == last {
            bin.im = 0.0;
        }
    }
    let _ = inverse.process(&mut spectrum, &mut buf);
    x.copy_from_slice(&buf[..n]);
}

/// Adds one crackle at sample `at`: a short damped oscillation with a sharp initial
/// deflection (the classic fine/coarse crackle shape), `duration_s` long (5-25 ms), ringing
/// at `freq_hz`, peak amplitude `amp`.
pub(crate) fn add_crackle(
    out: &mut [f32],
    sr: u32,
    at: usize,
    duration_s: f64,
    freq_hz: f64,
    amp: f64,
    phase: f64,
) {
    let sr_f = f64::from(sr);
    let len = (duration_s * sr_f).ceil() as usize;
    let tau = duration_s / 4.0;
    let rise = 0.0004;
    for i in 0..len {
        let Some(slot) = out.get_mut(at + i) else {
            break;
        };
        let t = i as f64 / sr_f;
        let onset = 1.0 - (-t / rise).exp();
        let v = amp * onset * (-t / tau).exp() * (2.0 * PI * freq_hz * t + phase).sin();
        *slot += v as f32;
    }
}

/// Parameters of one wheeze.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wheeze {
    /// First sample.
    pub start: usize,
    /// Length in samples (>= 100 ms).
    pub len: usize,
    /// Fundamental at the start, Hz.
    pub f0_start: f64,
    /// Fundamental at the end, Hz (the glide).
    pub f0_end: f64,
    /// Number of harmonics including the fundamental.
    pub harmonics: usize,
    /// Harmonic roll-off exponent: harmonic h has amplitude h^-rolloff.
    pub rolloff: f64,
    /// RMS of the sustained part.
    pub amp: f64,
    /// Vibrato rate (Hz) and depth (fraction of f0).
    pub vibrato: (f64, f64),
}

/// Adds a wheeze: a sustained, gliding harmonic tone with 30 ms raised-cosine attack and
/// release; harmonics at or above 0.45 * sr are left out.
pub(crate) fn add_wheeze(out: &mut [f32], sr: u32, w: &Wheeze) {
    let sr_f = f64::from(sr);
    let ramp = ((0.03 * sr_f) as usize).min(w.len / 2).max(1);
    let norm: f64 = (1..=w.harmonics)
        .map(|h| (h as f64).powf(-w.rolloff).powi(2))
        .sum::<f64>()
        .sqrt();
    let mut phase = vec![0.0f64; w.harmonics];
    for i in 0..w.len {
        let Some(slot) = out.get_mut(w.start + i) else {
            break;
        };
        let u = i as f64 / w.len.max(1) as f64;
        let t = i as f64 / sr_f;
        let f0 = (w.f0_start * (1.0 - u) + w.f0_end * u)
            * (1.0 + w.vibrato.1 * (2.0 * PI * w.vibrato.0 * t).sin());
        let env = if i < ramp {
            0.5 - 0.5 * (PI * i as f64 / ramp as f64).cos()
        } else if i + ramp > w.len {
            0.5 - 0.5 * (PI * (w.len - i) as f64 / ramp as f64).cos()
        } else {
            1.0
        };
        let mut v = 0.0;
        for (h, ph) in phase.iter_mut().enumerate() {
            let f = f0 * (h + 1) as f64;
            if f >= 0.45 * sr_f {
                continue;
            }
            *ph += 2.0 * PI * f / sr_f;
            v += ((h + 1) as f64).powf(-w.rolloff) * ph.sin();
        }
        *slot += (w.amp * std::f64::consts::SQRT_2 * env * v / norm) as f32;
    }
}

/// Adds one heart sound (S1 or S2) at sample `at`: two damped low-frequency components
/// (`f1`, `f2` Hz) under a Hann window of `duration_s`.
pub(crate) fn add_heart_sound(
    out: &mut [f32],
    sr: u32,
    at: usize,
    duration_s: f64,
    f1: f64,
    f2: f64,
    amp: f64,
) {
    let sr_f = f64::from(sr);
    let len = (duration_s * sr_f) as usize;
    for i in 0..len {
        let Some(slot) = out.get_mut(at + i) else {
            break;
        };
        let t = i as f64 / sr_f;
        let w = 0.5 - 0.5 * (2.0 * PI * i as f64 / len as f64).cos();
        let v = (2.0 * PI * f1 * t).sin() + 0.6 * (2.0 * PI * f2 * t + 0.7).sin();
        *slot += (amp * w * v) as f32;
    }
}

/// Writes mono PCM WAV with the canonical 44-byte header (`WAVE_FORMAT_PCM`, 16-byte `fmt `
/// chunk, then `data`), as the ICBHI and Coswara files are. Samples are scaled by 2^(bits-1)
/// and clipped. With `upconverted`, 24-bit files hold 16-bit values shifted left by 8 bits
/// (low byte 0x00, or 0x01 for negative samples), as the Meditron files of ICBHI do.
/// The file is written to a temporary name and renamed.
pub(crate) fn write_pcm_wav(
    path: &Path,
    samples: &[f32],
    sr: u32,
    bits: u16,
    upconverted: bool,
) -> Result<()> {
    let bytes_per = usize::from(bits / 8);
    let data_len = samples.len() * bytes_per;
    let mut buf = Vec::with_capacity(44 + data_len);
    buf.extend_from_slice(b"RIFF");
    buf.extend_from_slice(&((36 + data_len) as u32).to_le_bytes());
    buf.extend_from_slice(b"WAVEfmt ");
    buf.extend_from_slice(&16u32.to_le_bytes());
    buf.extend_from_slice(&1u16.to_le_bytes());
    buf.extend_from_slice(&1u16.to_le_bytes());
    buf.extend_from_slice(&sr.to_le_bytes());
    buf.extend_from_slice(&(sr * u32::from(bits / 8)).to_le_bytes());
    buf.extend_from_slice(&(bits / 8).to_le_bytes());
    buf.extend_from_slice(&bits.to_le_bytes());
    buf.extend_from_slice(b"data");
    buf.extend_from_slice(&(data_len as u32).to_le_bytes());
    for &s in samples {
        let x = f64::from(s);
        match (bits, upconverted) {
            (16, _) => {
                let v = (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
                buf.extend_from_slice(&v.to_le_bytes());
            }
            (24, true) => {
                let v16 = (x * 32768.0).round().clamp(-32768.0, 32767.0) as i32;
                let v = v16 * 256 + i32::from(v16 < 0);
                buf.extend_from_slice(&v.to_le_bytes()[..3]);
            }
            _ => {
                let v = (x * 8_388_608.0).round().clamp(-8_388_608.0, 8_388_607.0) as i32;
                buf.extend_from_slice(&v.to_le_bytes()[..3]);
            }
        }
    }
    files::write_atomic(path, &buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn slaney_mel_round_trips() {
        for f in [0.0, 100.0, 999.0, 1000.0, 4321.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(f)) - f).abs() < 1e-6);
        }
        // librosa.hz_to_mel(1000.0) == 15.0, librosa.hz_to_mel(8000.0) == 45.2456...
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(8000.0) - 45.245_640_471_924_965).abs() < 1e-9);
    }

    #[test]
    fn designed_spectrum_projects_onto_the_profile() {
        let s = BreathSpectrum::design();
        let edges = mel_edges(64, PROFILE_FMAX);
        let measured: Vec<f64> = (0..64)
            .map(|k| {
                let (lo, c, hi) = (edges[k], edges[k + 1], edges[k + 2]);
                let mut p = 0.0;
                let mut f = lo;
                while f < hi {
                    let w = if f <= c {
                        (f - lo) / (c - lo)
                    } else {
                        (hi - f) / (hi - c)
                    };
                    p += w * 2.0 / (hi - lo) * db_to_power(s.psd_db(f));
                    f += 0.25;
                }
                10.0 * p.log10()
            })
            .collect();
        let top = measured.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        for k in 0..64 {
            let d = (measured[k] - top) - NORMAL_PROFILE_DB[k];
            assert!(d.abs() < 0.5, "band {k}: {d} dB");
        }
        assert!(s.psd_db(16_000.0) < s.psd_db(8_000.0) - 5.0);
    }

    #[test]
    fn shaped_noise_is_deterministic_and_unit_rms() {
        let mut planner = RealFftPlanner::new();
        let a = shaped_noise(
            &mut ChaCha8Rng::seed_from_u64(3),
            &mut planner,
            1000,
            4000,
            |_| 1.0,
        );
        let b = shaped_noise(
            &mut ChaCha8Rng::seed_from_u64(3),
            &mut planner,
            1000,
            4000,
            |_| 1.0,
        );
        assert_eq!(a, b);
        assert_eq!(a.len(), 1000);
        assert!((rms(&a) - 1.0).abs() < 1e-5);
        // Low-pass shaped noise: filtering out everything above 100 Hz keeps most energy.
        let mut low = shaped_noise(
            &mut ChaCha8Rng::seed_from_u64(4),
            &mut planner,
            8000,
            4000,
            |f| {
                if f < 100.0 { 1.0 } else { 0.0 }
            },
        );
        let before = rms(&low);
        filter_in_place(&mut planner, &mut low, 4000, |f| {
            if f < 150.0 { 1.0 } else { 0.0 }
        });
        assert!((rms(&low) / before) > 0.95);
    }

    #[test]
    fn wheeze_has_its_fundamental_and_the_requested_rms() {
        let sr = 8000;
        let mut x = vec![0.0f32; 8000];
        let w = Wheeze {
            start: 1000,
            len: 4000,
            f0_start: 400.0,
            f0_end: 400.0,
            harmonics: 3,
            rolloff: 1.0,
            amp: 0.1,
            vibrato: (5.0, 0.0),
        };
        add_wheeze(&mut x, sr, &w);
        assert_eq!(x[999], 0.0);
        assert_eq!(x[5001], 0.0);
        let r = rms(&x[1500..4500]);
        assert!((r - 0.1).abs() < 0.01, "{r}");
        // Correlation with a 400 Hz sinusoid (Goertzel-like projection).
        let proj = |f: f64| -> f64 {
            let (mut c, mut s) = (0.0, 0.0);
            for (i, &v) in x[1500..4500].iter().enumerate() {
                let ph = 2.0 * PI * f * (i + 1500) as f64 / f64::from(sr);
                c += f64::from(v) * ph.cos();
                s += f64::from(v) * ph.sin();
            }
            (c * c + s * s).sqrt()
        };
        assert!(proj(400.0) > 5.0 * proj(600.0));
        assert!(proj(800.0) > 5.0 * proj(600.0));
    }

    #[test]
    fn wav_writer_writes_canonical_headers_and_the_meditron_quirk() {
        let dir = tempfile::tempdir().unwrap();
        let p16 = dir.path().join("a.wav");
        write_pcm_wav(&p16, &[0.0, 0.5, -1.0, 2.0], 4000, 16, false).unwrap();
        let b = std::fs::read(&p16).unwrap();
        assert_eq!(b.len(), 44 + 8);
        assert_eq!(&b[36..40], b"data");
        assert_eq!(&b[44..], &[0, 0, 0, 0x40, 0, 0x80, 0xff, 0x7f]);
        let h = auscult_audio::read_header(&p16).unwrap();
        assert_eq!(
            (h.sample_rate, h.bits_per_sample, h.frames),
            (4000, Some(16), 4)
        );

        let p24 = dir.path().join("b.wav");
        write_pcm_wav(&p24, &[0.5, -0.5], 44100, 24, true).unwrap();
        let b = std::fs::read(&p24).unwrap();
        assert_eq!(&b[44..], &[0x00, 0x00, 0x40, 0x01, 0x00, 0xc0]);
        let h = auscult_audio::read_header(&p24).unwrap();
        assert_eq!((h.bits_per_sample, h.frames), (Some(24), 2));
    }
}
