//! Short-time Fourier transform and its inverse, planned once and allocation-free per frame.

use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Analysis window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Window {
    /// Periodic Hann, `0.5 - 0.5 cos(2 pi n / N)` (librosa's and torch's default).
    Hann,
    /// Symmetric Hann, `0.5 - 0.5 cos(2 pi n / (N - 1))` (Kaldi's "hanning", the AST choice).
    HannSymmetric,
    /// Hamming `0.54 - 0.46 cos(...)`: periodic (scipy, torch) in STFT mode, symmetric in
    /// Kaldi mode (as Kaldi defines it).
    Hamming,
    /// Kaldi's Povey window, symmetric Hann to the power 0.85.
    Povey,
}

impl Window {
    /// The window's `len` coefficients. `periodic` selects the periodic form where the
    /// window has both (Hamming); the other windows ignore it.
    pub fn coefficients(self, len: usize, periodic: bool) -> Vec<f32> {
        use std::f64::consts::PI;
        if len == 1 {
            return vec![1.0];
        }
        let sym = (len - 1) as f64;
        let per = len as f64;
        (0..len)
            .map(|n| {
                let n = n as f64;
                let w = match self {
                    Window::Hann => 0.5 - 0.5 * (2.0 * PI * n / per).cos(),
                    Window::HannSymmetric => 0.5 - 0.5 * (2.0 * PI * n / sym).cos(),
                    Window::Hamming => {
                        let d = if periodic { per } else { sym };
                        0.54 - 0.46 * (2.0 * PI * n / d).cos()
                    }
                    Window::Povey => (0.5 - 0.5 * (2.0 * PI * n / sym).cos()).powf(0.85),
                };
                w as f32
            })
            .collect()
    }
}

/// How frames are padded at the signal's edges when centring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PadMode {
    /// Zeros (librosa's default).
    Constant,
    /// Mirror without repeating the edge sample (torch's default).
    Reflect,
}

/// Copies `out.len()` samples starting at `start` (may be negative or run past the end) into
/// `out`, filling positions outside the signal according to `pad`.
pub(crate) fn extract_frame(samples: &[f32], start: isize, out: &mut [f32], pad: PadMode) {
    let len = samples.len() as isize;
    let n = out.len() as isize;
    if start >= 0 && start + n <= len {
        let s = start as usize;
        out.copy_from_slice(&samples[s..s + out.len()]);
        return;
    }
    for (i, o) in out.iter_mut().enumerate() {
        let j = start + i as isize;
        *o = if (0..len).contains(&j) {
            samples[j as usize]
        } else {
            match pad {
                PadMode::Constant => 0.0,
                PadMode::Reflect => {
                    if len == 1 {
                        samples[0]
                    } else if len == 0 {
                        0.0
                    } else {
                        let period = 2 * (len - 1);
                        let mut m = j.rem_euclid(period);
                        if m >= len {
                            m = period - m;
                        }
                        samples[m as usize]
                    }
                }
            }
        };
    }
}

/// A planned STFT: FFT plans, window and scratch buffers, reused for every frame.
///
/// Frame `t` starts at sample `t * hop - (center ? n_fft / 2 : 0)`; the window of
/// `win_length` samples sits in the middle of the `n_fft` frame (librosa/torch).
pub struct Stft {
    n_fft: usize,
    hop: usize,
    center: bool,
    pad_mode: PadMode,
    window: Vec<f32>,
    fft: Arc<dyn RealToComplex<f32>>,
    ifft: Arc<dyn ComplexToReal<f32>>,
    frame: Vec<f32>,
    spectrum: Vec<Complex32>,
    scratch_fwd: Vec<Complex32>,
    scratch_inv: Vec<Complex32>,
}

impl std::fmt::Debug for Stft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stft")
            .field("n_fft", &self.n_fft)
            .field("hop", &self.hop)
            .field("center", &self.center)
            .field("pad_mode", &self.pad_mode)
            .finish_non_exhaustive()
    }
}

impl Stft {
    /// Plans an STFT of `n_fft` points with hop `hop` and a `win_length`-sample `window`
    /// (periodic form where the window has one), zero-padded in the middle of the frame.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for `n_fft == 0`, `hop == 0` or `win_length` outside `1..=n_fft`.
    pub fn new(
        n_fft: usize,
        hop: usize,
        win_length: usize,
        window: Window,
        center: bool,
        pad_mode: PadMode,
    ) -> Result<Self> {
        check_sizes(n_fft, hop, win_length)?;
        let mut full = vec![0.0f32; n_fft];
        let left = (n_fft - win_length) / 2;
        full[left..left + win_length].copy_from_slice(&window.coefficients(win_length, true));
        Ok(Self::with_window(n_fft, hop, full, center, pad_mode))
    }

    /// Plans an STFT with an explicit `n_fft`-long window.
    pub(crate) fn with_window(
        n_fft: usize,
        hop: usize,
        window: Vec<f32>,
        center: bool,
        pad_mode: PadMode,
    ) -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        let fft = planner.plan_fft_forward(n_fft);
        let ifft = planner.plan_fft_inverse(n_fft);
        let scratch_fwd = fft.make_scratch_vec();
        let scratch_inv = ifft.make_scratch_vec();
        Stft {
            n_fft,
            hop,
            center,
            pad_mode,
            window,
            frame: vec![0.0; n_fft],
            spectrum: fft.make_output_vec(),
            fft,
            ifft,
            scratch_fwd,
            scratch_inv,
        }
    }

    /// FFT size.
    pub fn n_fft(&self) -> usize {
        self.n_fft
    }

    /// Frequency bins per frame, `n_fft / 2 + 1`.
    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Frames for `n_samples` samples: `1 + n / hop` when centred, else
    /// `1 + (n - n_fft) / hop` (0 when shorter than one frame).
    pub fn n_frames(&self, n_samples: usize) -> usize {
        frames(n_samples, self.n_fft, self.hop, self.center)
    }

    /// Calls `f(t, spectrum)` for every frame `t`, with the `n_bins` complex bins of that
    /// frame. Nothing is allocated per frame.
    pub fn for_each_frame(&mut self, samples: &[f32], mut f: impl FnMut(usize, &[Complex32])) {
        let offset = if self.center {
            (self.n_fft / 2) as isize
        } else {
            0
        };
        for t in 0..self.n_frames(samples.len()) {
            let start = (t * self.hop) as isize - offset;
            extract_frame(samples, start, &mut self.frame, self.pad_mode);
            for (x, w) in self.frame.iter_mut().zip(&self.window) {
                *x *= w;
            }
            // Lengths match by construction, so realfft cannot fail here.
            let _ = self.fft.process_with_scratch(
                &mut self.frame,
                &mut self.spectrum,
                &mut self.scratch_fwd,
            );
            f(t, &self.spectrum);
        }
    }

    /// The complex STFT, frame-major: `[n_frames][n_bins]`.
    pub fn forward(&mut self, samples: &[f32]) -> Vec<Complex32> {
        let n_bins = self.n_bins();
        let mut out = vec![Complex32::new(0.0, 0.0); self.n_frames(samples.len()) * n_bins];
        self.for_each_frame(samples, |t, spec| {
            out[t * n_bins..(t + 1) * n_bins].copy_from_slice(spec);
        });
        out
    }

    /// Inverse STFT by weighted overlap-add (librosa's `istft`): each frame is inverse
    /// transformed, windowed and added, then divided by the summed squared window.
    ///
    /// `spec` is frame-major `[n_frames][n_bins]`; the result has `length` samples
    /// (default: `hop * (n_frames - 1)` when centred, the full overlap-add span otherwise).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when `spec.len()` is not a multiple of `n_bins`.
    pub fn inverse(&mut self, spec: &[Complex32], length: Option<usize>) -> Result<Vec<f32>> {
        let n_bins = self.n_bins();
        if !spec.len().is_multiple_of(n_bins) {
            return Err(Error::ShapeMismatch {
                expected: spec.len().next_multiple_of(n_bins),
                actual: spec.len(),
            });
        }
        let n_frames = spec.len() / n_bins;
        if n_frames == 0 {
            return Ok(vec![0.0; length.unwrap_or(0)]);
        }
        let full_len = self.n_fft + self.hop * (n_frames - 1);
        let mut y = vec![0.0f32; full_len];
        let mut wss = vec![0.0f32; full_len];
        let scale = 1.0 / self.n_fft as f32;
        for t in 0..n_frames {
            self.spectrum
                .copy_from_slice(&spec[t * n_bins..(t + 1) * n_bins]);
            // A real signal's DC (and Nyquist) bins are real; realfft insists.
            self.spectrum[0].im = 0.0;
            if self.n_fft.is_multiple_of(2) {
                self.spectrum[n_bins - 1].im = 0.0;
            }
            let _ = self.ifft.process_with_scratch(
                &mut self.spectrum,
                &mut self.frame,
                &mut self.scratch_inv,
            );
            let start = t * self.hop;
            for (i, (&x, &w)) in self.frame.iter().zip(&self.window).enumerate() {
                y[start + i] += x * w * scale;
                wss[start + i] += w * w;
            }
        }
        let tiny = f32::MIN_POSITIVE;
        for (v, &w) in y.iter_mut().zip(&wss) {
            if w > tiny {
                *v /= w;
            }
        }
        let offset = if self.center { self.n_fft / 2 } else { 0 };
        let default_len = if self.center {
            self.hop * (n_frames - 1)
        } else {
            full_len
        };
        let length = length.unwrap_or(default_len);
        let mut out = vec![0.0f32; length];
        let avail = full_len.saturating_sub(offset).min(length);
        out[..avail].copy_from_slice(&y[offset..offset + avail]);
        Ok(out)
    }
}

pub(crate) fn check_sizes(n_fft: usize, hop: usize, win_length: usize) -> Result<()> {
    if n_fft == 0 {
        return Err(Error::InvalidConfig {
            field: "n_fft",
            value: "0".into(),
            reason: "the FFT size must be at least 1 (typically 512 or 1024)".into(),
        });
    }
    if hop == 0 {
        return Err(Error::InvalidConfig {
            field: "hop_length",
            value: "0".into(),
            reason: "the hop must be at least 1 sample".into(),
        });
    }
    if win_length == 0 || win_length > n_fft {
        return Err(Error::InvalidConfig {
            field: "win_length",
            value: win_length.to_string(),
            reason: format!("the window length must be between 1 and n_fft = {n_fft}"),
        });
    }
    Ok(())
}

/// Frame count of a (possibly centred) STFT.
pub(crate) fn frames(n_samples: usize, frame_len: usize, hop: usize, center: bool) -> usize {
    if center {
        1 + n_samples / hop
    } else if n_samples < frame_len {
        0
    } else {
        1 + (n_samples - frame_len) / hop
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::f64::consts::PI;

    /// Deterministic pseudo-random signal (xorshift), in [-1, 1].
    pub(crate) fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f32 / (1u64 << 23) as f32) - 1.0
            })
            .collect()
    }

    #[test]
    fn fft_path_matches_naive_dft_over_many_lengths() {
        // Oracle: X[k] = sum_n w[n] x[n] e^{-2 pi i k n / N} in f64 (realfft's own habit).
        for n_fft in (1..=64).chain([96, 100, 127, 128, 255, 256, 400, 441, 512, 1000, 1024]) {
            let hop = (n_fft / 3).max(1);
            let x = noise(3 * n_fft + 7, n_fft as u64);
            let mut stft =
                Stft::new(n_fft, hop, n_fft, Window::Hann, true, PadMode::Reflect).unwrap();
            let got = stft.forward(&x);
            let n_bins = n_fft / 2 + 1;
            let w = Window::Hann.coefficients(n_fft, true);
            let mut frame = vec![0.0f32; n_fft];
            let mut max_err = 0.0f64;
            let mut max_mag = 0.0f64;
            for t in 0..stft.n_frames(x.len()) {
                extract_frame(
                    &x,
                    (t * hop) as isize - (n_fft / 2) as isize,
                    &mut frame,
                    PadMode::Reflect,
                );
                for k in 0..n_bins {
                    let (mut re, mut im) = (0.0f64, 0.0f64);
                    for (n, (&s, &wn)) in frame.iter().zip(&w).enumerate() {
                        let v = f64::from(s) * f64::from(wn);
                        let ang = -2.0 * PI * (k * n) as f64 / n_fft as f64;
                        re += v * ang.cos();
                        im += v * ang.sin();
                    }
                    let g = got[t * n_bins + k];
                    let err =
                        ((f64::from(g.re) - re).powi(2) + (f64::from(g.im) - im).powi(2)).sqrt();
                    max_err = max_err.max(err);
                    max_mag = max_mag.max((re * re + im * im).sqrt());
                }
            }
            assert!(
                max_err <= 1e-5 * max_mag.max(1.0),
                "n_fft {n_fft}: error {max_err} (max |X| {max_mag})"
            );
        }
    }

    #[test]
    fn reflect_and_constant_padding() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let mut out = [0.0; 10];
        extract_frame(&x, -3, &mut out, PadMode::Reflect);
        // numpy.pad([1,2,3,4], 3, mode='reflect') -> [4,3,2,1,2,3,4,3,2,1]
        assert_eq!(out, [4.0, 3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0, 1.0]);
        extract_frame(&x, -3, &mut out, PadMode::Constant);
        assert_eq!(out, [0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn windows_match_their_definitions() {
        // scipy.signal.get_window('hann', 4) = [0, 0.5, 1, 0.5]; np.hanning(4) = [0, .75, .75, 0]
        assert_eq!(Window::Hann.coefficients(4, true), vec![0.0, 0.5, 1.0, 0.5]);
        let s = Window::HannSymmetric.coefficients(4, true);
        assert!((s[1] - 0.75).abs() < 1e-7 && s[0] == 0.0 && s[3].abs() < 1e-7);
        let h = Window::Hamming.coefficients(5, false); // np.hamming(5)
        for (a, b) in h.iter().zip([0.08, 0.54, 1.0, 0.54, 0.08]) {
            assert!((a - b).abs() < 1e-6);
        }
        let p = Window::Povey.coefficients(5, false);
        assert!((p[1] - 0.5f32.powf(0.85)).abs() < 1e-6);
    }

    #[test]
    fn stft_istft_round_trip() {
        for (n_fft, hop, win, window, center) in [
            (512, 128, 512, Window::Hann, true),
            (1024, 160, 1024, Window::Hann, true),
            (400, 100, 300, Window::Hamming, true),
            (256, 64, 256, Window::HannSymmetric, false),
        ] {
            let x = noise(8000, 7);
            let mut stft = Stft::new(n_fft, hop, win, window, center, PadMode::Reflect).unwrap();
            let spec = stft.forward(&x);
            let y = stft.inverse(&spec, Some(x.len())).unwrap();
            // Without centring the first and last frames are not fully covered; compare the
            // interior only.
            let (a, b) = if center {
                (0, x.len())
            } else {
                (n_fft, x.len() - n_fft)
            };
            let err = x[a..b]
                .iter()
                .zip(&y[a..b])
                .map(|(p, q)| (p - q).abs())
                .fold(0.0, f32::max);
            assert!(err < 1e-5, "n_fft {n_fft} hop {hop}: max error {err}");
        }
    }
}
