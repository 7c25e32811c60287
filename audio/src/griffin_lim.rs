//! Inverting a (log-)Mel spectrogram to a waveform: undo the log, project the Mel bands onto
//! linear frequency by non-negative least squares, then recover a phase with fast
//! Griffin-Lim (Perraudin et al. 2013, momentum 0.99, as librosa's `griffinlim`).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use realfft::num_complex::Complex32;

use crate::db::undo_log;
use crate::error::{Error, Result};
use crate::mel::{MelConfig, Spectrogram, mel_filterbank};
use crate::stft::Stft;

/// Momentum of fast Griffin-Lim (librosa's default).
pub const GRIFFIN_LIM_MOMENTUM: f32 = 0.99;

/// Iterations of the multiplicative non-negative least-squares update per frame.
const NNLS_ITERATIONS: usize = 100;

/// Inverts `spec` (shape `[cfg.n_mels][n_frames]`, in the domain `cfg` produces, log
/// included) to mono samples at `cfg.sample_rate`, with `n_iter` fast Griffin-Lim
/// iterations from random phases drawn with `seed`.
///
/// The result has `hop * (n_frames - 1)` samples for centred configs.
///
/// # Errors
/// [`Error::InvalidConfig`] for a bad config, [`Error::ShapeMismatch`] when `spec` does not
/// have `cfg.n_mels` rows, [`Error::Unsupported`] for Kaldi-framed configs (their per-frame
/// DC removal and pre-emphasis are not inverted).
pub fn griffin_lim_mel(
    spec: &Spectrogram,
    cfg: &MelConfig,
    n_iter: usize,
    seed: u64,
) -> Result<Vec<f32>> {
    cfg.validate()?;
    if cfg.kaldi.is_some() {
        return Err(Error::Unsupported(
            "Griffin-Lim inverts STFT-framed Mel configs (librosa, torchaudio); Kaldi fbank \
             framing is not invertible here"
                .into(),
        ));
    }
    if spec.n_bins != cfg.n_mels || spec.data.len() != spec.n_bins * spec.n_frames {
        return Err(Error::ShapeMismatch {
            expected: cfg.n_mels * spec.n_frames,
            actual: spec.data.len(),
        });
    }
    let n_frames = spec.n_frames;
    let n_mels = cfg.n_mels;
    let n_bins = cfg.n_bins();
    if n_frames == 0 {
        return Ok(Vec::new());
    }
    let mut mel = spec.data.clone();
    undo_log(&mut mel, &cfg.log);

    let fb = mel_filterbank(cfg)?;
    let linear = mel_to_linear(&fb, &mel, n_mels, n_bins, n_frames);
    // |X| = (|X|^power)^(1/power), frame-major.
    let inv_p = 1.0 / cfg.power;
    let mag: Vec<f32> = linear.iter().map(|&v| v.max(0.0).powf(inv_p)).collect();

    let mut stft = Stft::new(
        cfg.n_fft,
        cfg.hop_length,
        cfg.win_length,
        cfg.window,
        cfg.center,
        cfg.pad_mode,
    )?;
    let length = if cfg.center {
        cfg.hop_length * (n_frames - 1)
    } else {
        cfg.n_fft + cfg.hop_length * (n_frames - 1)
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut angles: Vec<Complex32> = (0..mag.len())
        .map(|_| Complex32::from_polar(1.0, 2.0 * std::f32::consts::PI * rng.random::<f32>()))
        .collect();
    let mut tprev = vec![Complex32::new(0.0, 0.0); mag.len()];
    let mut work = vec![Complex32::new(0.0, 0.0); mag.len()];
    let beta = GRIFFIN_LIM_MOMENTUM / (1.0 + GRIFFIN_LIM_MOMENTUM);
    for _ in 0..n_iter {
        for ((w, &m), a) in work.iter_mut().zip(&mag).zip(&angles) {
            *w = a * m;
        }
        let y = stft.inverse(&work, Some(length))?;
        let rebuilt = stft.forward(&y);
        for ((a, &r), t) in angles.iter_mut().zip(&rebuilt).zip(tprev.iter_mut()) {
            let v = r - *t * beta;
            *a = v / (v.norm() + 1e-16);
            *t = r;
        }
    }
    for ((w, &m), a) in work.iter_mut().zip(&mag).zip(&angles) {
        *w = a * m;
    }
    stft.inverse(&work, Some(length))
}

/// Non-negative least squares `min ||M x - y||, x >= 0` per frame by Lee-Seung
/// multiplicative updates (monotone for non-negative `M`, `y`).
/// `fb` is `[n_mels][n_bins]`, `mel` is `[n_mels][n_frames]`; returns `[n_frames][n_bins]`.
fn mel_to_linear(
    fb: &[f32],
    mel: &[f32],
    n_mels: usize,
    n_bins: usize,
    n_frames: usize,
) -> Vec<f32> {
    // Sparse rows: (first bin, weights).
    let rows: Vec<(usize, &[f32])> = fb
        .chunks_exact(n_bins)
        .map(|row| {
            let a = row.iter().position(|&v| v != 0.0).unwrap_or(0);
            let b = row.iter().rposition(|&v| v != 0.0).map_or(a, |b| b + 1);
            (a, &row[a..b])
        })
        .collect();
    let mut out = vec![0.0f32; n_frames * n_bins];
    let mut mty = vec![0.0f32; n_bins];
    let mut mtmx = vec![0.0f32; n_bins];
    let mut mx = vec![0.0f32; n_mels];
    for t in 0..n_frames {
        let y: Vec<f32> = (0..n_mels)
            .map(|m| mel[m * n_frames + t].max(0.0))
            .collect();
        mty.fill(0.0);
        for (m, &(a, w)) in rows.iter().enumerate() {
            for (k, &wk) in w.iter().enumerate() {
                mty[a + k] += wk * y[m];
            }
        }
        let x = &mut out[t * n_bins..(t + 1) * n_bins];
        // Start from M^T y scaled so that M x matches y's total.
        x.copy_from_slice(&mty);
        apply(&rows, x, &mut mx);
        let (sy, sx): (f32, f32) = (y.iter().sum(), mx.iter().sum());
        if sx > 0.0 {
            for v in x.iter_mut() {
                *v *= sy / sx;
            }
        }
        for _ in 0..NNLS_ITERATIONS {
            apply(&rows, x, &mut mx);
            mtmx.fill(0.0);
            for (m, &(a, w)) in rows.iter().enumerate() {
                for (k, &wk) in w.iter().enumerate() {
                    mtmx[a + k] += wk * mx[m];
                }
            }
            for ((v, &num), &den) in x.iter_mut().zip(&mty).zip(&mtmx) {
                *v = if den > 0.0 { *v * num / den } else { 0.0 };
            }
        }
    }
    out
}

fn apply(rows: &[(usize, &[f32])], x: &[f32], out: &mut [f32]) {
    for (o, &(a, w)) in out.iter_mut().zip(rows) {
        *o = w.iter().zip(&x[a..a + w.len()]).map(|(p, q)| p * q).sum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LogScale, MelSpectrogram, PadMode, Window};

    fn chirp(n: usize, sr: f32) -> Vec<f32> {
        // Linear chirp 200 Hz -> 3 kHz over n samples, amplitude 0.5.
        let dur = n as f32 / sr;
        (0..n)
            .map(|i| {
                let t = i as f32 / sr;
                let phase = 2.0 * std::f32::consts::PI * (200.0 * t + 0.5 * (2800.0 / dur) * t * t);
                0.5 * phase.sin()
            })
            .collect()
    }

    /// ||A - B||_F / ||A||_F on linear Mel magnitudes.
    fn spectral_convergence(a: &[f32], b: &[f32]) -> f32 {
        let num: f32 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
        let den: f32 = a.iter().map(|x| x * x).sum();
        (num / den).sqrt()
    }

    #[test]
    fn spectral_convergence_falls_with_iterations() {
        let cfg = MelConfig {
            sample_rate: 16_000,
            n_fft: 512,
            win_length: 512,
            hop_length: 128,
            n_mels: 80,
            f_min: 0.0,
            f_max: None,
            window: Window::Hann,
            center: true,
            pad_mode: PadMode::Constant,
            power: 2.0,
            ..MelConfig::librosa(16_000)
        };
        let x = chirp(16_000, 16_000.0);
        let mut mel = MelSpectrogram::new(&cfg).unwrap();
        let target = mel.compute(&x);
        let lin = |s: &Spectrogram| -> Vec<f32> {
            let mut d = s.data.clone();
            undo_log(&mut d, &cfg.log);
            d.iter().map(|v| v.sqrt()).collect()
        };
        let reference = lin(&target);
        let mut scs = Vec::new();
        for n_iter in [1, 8, 32] {
            let y = griffin_lim_mel(&target, &cfg, n_iter, 7).unwrap();
            assert_eq!(y.len(), 128 * (target.n_frames - 1));
            let again = mel.compute(&y);
            assert_eq!(again.n_frames, target.n_frames);
            scs.push(spectral_convergence(&reference, &lin(&again)));
        }
        eprintln!("spectral convergence after 1, 8, 32 iterations: {scs:?}");
        assert!(
            scs[0] > scs[1] && scs[1] > scs[2],
            "spectral convergence {scs:?}"
        );
        assert!(
            scs[2] < 0.12,
            "spectral convergence after 32 iterations {scs:?}"
        );
        // Same seed, same waveform.
        let a = griffin_lim_mel(&target, &cfg, 2, 3).unwrap();
        assert_eq!(a, griffin_lim_mel(&target, &cfg, 2, 3).unwrap());
    }

    #[test]
    fn rejects_kaldi_and_bad_shapes() {
        let s = Spectrogram::new(vec![0.0; 10], 2, 5).unwrap();
        let cfg = MelConfig::kaldi(16_000);
        assert!(matches!(
            griffin_lim_mel(&s, &cfg, 1, 0),
            Err(Error::Unsupported(_))
        ));
        let cfg = MelConfig {
            log: LogScale::None,
            ..MelConfig::librosa(16_000)
        };
        assert!(matches!(
            griffin_lim_mel(&s, &cfg, 1, 0),
            Err(Error::ShapeMismatch { .. })
        ));
    }
}
