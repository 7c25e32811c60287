//! Dense Mel filterbanks in librosa's, torchaudio's and Kaldi's arithmetic, and their sparse
//! form used by the extractor.

use super::config::{MelConfig, MelNorm};
use super::scale::{MelScale, hz_to_mel, mel_to_hz};
use crate::error::Result;

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
pub(super) struct SparseFilterbank {
    /// First non-zero bin of each filter.
    pub(super) starts: Vec<usize>,
    /// Offsets of each filter's weights in `weights` (n_mels + 1 entries).
    pub(super) offsets: Vec<usize>,
    /// The non-zero span of every filter, one after the other.
    pub(super) weights: Vec<f32>,
}

impl SparseFilterbank {
    /// Keeps the span from the first to the last non-zero weight of each row of `dense`
    /// (`[n_mels][n_bins]`).
    pub(super) fn from_dense(dense: &[f32], n_mels: usize, n_bins: usize) -> Self {
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
}
