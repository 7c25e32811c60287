//! [`MelSpectrogram`], the planned (log-)Mel extractor: framing (STFT or Kaldi), two frames
//! per complex FFT, power, sparse Mel filters over blocks of frames, log compression.

use std::sync::Arc;

use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

use super::config::MelConfig;
use super::filterbank::{SparseFilterbank, mel_filterbank};
use super::kaldi::KaldiFraming;
use super::spectrogram::Spectrogram;
use crate::db::{log_finish, log_pointwise};
use crate::error::Result;
use crate::stft::extract_frame;

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
        let mut kaldi = self
            .cfg
            .kaldi
            .as_ref()
            .map(|opts| KaldiFraming::new(opts, samples));
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
        kaldi: Option<&mut KaldiFraming>,
    ) {
        let hop = self.cfg.hop_length;
        let Some(kaldi) = kaldi else {
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
        kaldi.frame(src, &mut self.raw, &self.window, out);
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn an_invalid_config_is_refused_when_planning() {
        let l = MelConfig {
            n_fft: 1024,
            win_length: 1024,
            hop_length: 160,
            ..MelConfig::librosa(16_000)
        };
        assert!(MelSpectrogram::new(&MelConfig { hop_length: 0, ..l }).is_err());
    }
}
