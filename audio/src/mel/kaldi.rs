//! Kaldi's `fbank` framing ([`KaldiOptions`]): each frame is dithered, its mean removed,
//! pre-emphasised and windowed, then zero-padded on the right to `n_fft`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

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

/// Kaldi framing state over one waveform: the options, the waveform's mean (subtracted from
/// every frame when asked) and the dither noise, seeded afresh for every waveform.
pub(super) struct KaldiFraming {
    opts: KaldiOptions,
    mean: f32,
    rng: ChaCha8Rng,
}

impl KaldiFraming {
    /// Starts framing `samples` with `opts`.
    pub(super) fn new(opts: &KaldiOptions, samples: &[f32]) -> Self {
        let mean = if opts.subtract_waveform_mean && !samples.is_empty() {
            (samples.iter().map(|&x| f64::from(x)).sum::<f64>() / samples.len() as f64) as f32
        } else {
            0.0
        };
        KaldiFraming {
            opts: opts.clone(),
            mean,
            rng: ChaCha8Rng::seed_from_u64(opts.seed),
        }
    }

    /// Writes the frame `src` (`raw.len()` samples) into `out` (`n_fft` samples): dither,
    /// frame DC removal, pre-emphasis, `window`, zero-padding on the right. `raw` is scratch.
    pub(super) fn frame(&mut self, src: &[f32], raw: &mut [f32], window: &[f32], out: &mut [f32]) {
        let win = raw.len();
        let opts = &self.opts;
        for (r, &s) in raw.iter_mut().zip(src) {
            *r = s - self.mean;
        }
        if opts.dither > 0.0 {
            for r in raw.iter_mut() {
                *r += opts.dither * gaussian(&mut self.rng);
            }
        }
        if opts.remove_dc {
            let m = (raw.iter().map(|&x| f64::from(x)).sum::<f64>() / win as f64) as f32;
            for r in raw.iter_mut() {
                *r -= m;
            }
        }
        if opts.preemphasis != 0.0 {
            let c = opts.preemphasis;
            for i in (1..win).rev() {
                raw[i] -= c * raw[i - 1];
            }
            raw[0] -= c * raw[0];
        }
        for ((f, &r), &w) in out.iter_mut().zip(raw.iter()).zip(window) {
            *f = r * w;
        }
        out[win..].fill(0.0);
    }
}

/// One standard normal draw (Box-Muller).
fn gaussian(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random::<f64>();
    ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
}
