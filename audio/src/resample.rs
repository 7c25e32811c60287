//! Sample-rate conversion by FFT overlap-add, rubato's synchronous FFT resampler design.
//!
//! Each chunk of `n_in` input samples (a multiple of the reduced input rate) is zero-padded
//! to `2 n_in`, transformed, multiplied by the spectrum of a Blackman-Harris²-windowed sinc
//! of `n_in` taps (cutoff from `rubato::calculate_cutoff`), cut or zero-extended to
//! `n_out + 1` bins and transformed back at `2 n_out` points; the halves overlap-add. That is
//! exact rational resampling with a stop band more than 100 dB down, and no polynomial
//! interpolation is involved, so downsampling is anti-aliased.
//!
//! For speed two consecutive chunks share one complex FFT each way (one in the real part,
//! one in the imaginary part), which avoids real-FFT post-processing and buffer copies.

use std::sync::Arc;

use rubato::{WindowFunction, calculate_cutoff};
use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

use crate::error::{Error, Result};

/// Input frames per FFT chunk that the resampler aims for (rounded up to an even number of
/// reduced-ratio blocks). Longer chunks mean a longer filter and a sharper transition band.
const CHUNK_FRAMES: usize = 2048;

/// Number of output samples [`resample`] returns for `n_in` input samples:
/// `ceil(n_in * to_hz / from_hz)` (as librosa/soxr do).
pub fn resampled_len(n_in: usize, from_hz: u32, to_hz: u32) -> usize {
    if from_hz == 0 {
        return 0;
    }
    let n = (n_in as u128 * u128::from(to_hz)).div_ceil(u128::from(from_hz));
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// The windowed-sinc low-pass of `n` taps centred on tap `n / 2`, relative cutoff `cutoff`
/// (1 = input Nyquist), Blackman-Harris squared window, unit DC gain (rubato's `make_sincs`).
fn lowpass(n: usize, cutoff: f64) -> Vec<f64> {
    use std::f64::consts::PI;
    let half = (n / 2) as f64;
    let mut h: Vec<f64> = (0..n)
        .map(|i| {
            let x = i as f64;
            let t = 2.0 * PI * x / n as f64;
            let bh =
                0.35875 - 0.48829 * t.cos() + 0.14128 * (2.0 * t).cos() - 0.01168 * (3.0 * t).cos();
            let arg = (x - half) * cutoff;
            let sinc = if arg == 0.0 {
                1.0
            } else {
                (PI * arg).sin() / (PI * arg)
            };
            bh * bh * sinc
        })
        .collect();
    let sum: f64 = h.iter().sum();
    for v in h.iter_mut() {
        *v /= sum;
    }
    h
}

/// Resamples mono `samples` from `from_hz` to `to_hz`.
///
/// Returns [`resampled_len`] samples, aligned with the input (the filter's delay is removed).
/// When the rates are equal the input is copied unchanged.
///
/// # Errors
/// [`Error::InvalidSampleRate`] when either rate is zero or their reduced ratio is too large
/// to plan (above 2^24 in either term).
pub fn resample(samples: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>> {
    for rate in [from_hz, to_hz] {
        if rate == 0 {
            return Err(Error::InvalidSampleRate {
                sample_rate: rate,
                reason: "sample rates must be positive".into(),
            });
        }
    }
    if from_hz == to_hz {
        return Ok(samples.to_vec());
    }
    if samples.is_empty() {
        return Ok(Vec::new());
    }
    // rubato's filter is centred on tap `n_in / 2`, a delay of `n_out / 2` output samples;
    // both are exact (and equal in time) only for an even number of reduced-ratio blocks.
    let g = gcd(from_hz, to_hz);
    let (block_in, block_out) = ((from_hz / g) as usize, (to_hz / g) as usize);
    if block_in.max(block_out) > 1 << 24 {
        return Err(Error::InvalidSampleRate {
            sample_rate: from_hz.max(to_hz),
            reason: format!(
                "{from_hz} Hz -> {to_hz} Hz reduces to {block_in}:{block_out}, too large a ratio \
                 to plan; resample via a rate with more common factors"
            ),
        });
    }
    let blocks = CHUNK_FRAMES.div_ceil(block_in).next_multiple_of(2);
    let (n_in, n_out) = (blocks * block_in, blocks * block_out);
    let cutoff = if n_in > n_out {
        f64::from(calculate_cutoff::<f32>(
            n_out,
            WindowFunction::BlackmanHarris2,
        )) * n_out as f64
            / n_in as f64
    } else {
        f64::from(calculate_cutoff::<f32>(
            n_in,
            WindowFunction::BlackmanHarris2,
        ))
    };

    let mut planner = FftPlanner::<f32>::new();
    let fwd: Arc<dyn Fft<f32>> = planner.plan_fft_forward(2 * n_in);
    let inv: Arc<dyn Fft<f32>> = planner.plan_fft_inverse(2 * n_out);
    // Filter spectrum, scaled by 1 / (2 n_in) as rubato does for its unnormalised FFT pair.
    let mut filter: Vec<Complex32> = lowpass(n_in, cutoff)
        .iter()
        .map(|&v| Complex32::new((v / (2 * n_in) as f64) as f32, 0.0))
        .chain(std::iter::repeat_n(Complex32::new(0.0, 0.0), n_in))
        .collect();
    let mut scratch = vec![
        Complex32::new(0.0, 0.0);
        fwd.get_inplace_scratch_len()
            .max(inv.get_inplace_scratch_len())
    ];
    fwd.process_with_scratch(&mut filter, &mut scratch);
    // Bins kept: below the output Nyquist when downsampling, all input bins when upsampling.
    let kept = if n_in < n_out { n_in + 1 } else { n_out };

    let n_total = resampled_len(samples.len(), from_hz, to_hz);
    let mut skip = n_out / 2;
    let mut out = Vec::with_capacity(n_total);
    let mut time = vec![Complex32::new(0.0, 0.0); 2 * n_in];
    let mut freq = vec![Complex32::new(0.0, 0.0); 2 * n_out];
    let mut overlap = vec![0.0f32; n_out];
    let mut half_a = vec![Complex32::new(0.0, 0.0); kept];
    let mut half_b = vec![Complex32::new(0.0, 0.0); kept];
    let chunk = |c: usize| -> &[f32] {
        let a = (c * n_in).min(samples.len());
        &samples[a..((c + 1) * n_in).min(samples.len())]
    };
    let mut c = 0usize;
    while out.len() < n_total {
        // Chunks c and c + 1 as real and imaginary parts, zero-padded to 2 n_in.
        let (xa, xb) = (chunk(c), chunk(c + 1));
        time.fill(Complex32::new(0.0, 0.0));
        for (z, &a) in time.iter_mut().zip(xa) {
            z.re = a;
        }
        for (z, &b) in time.iter_mut().zip(xb) {
            z.im = b;
        }
        fwd.process_with_scratch(&mut time, &mut scratch);
        // Separate: A_k = (Z_k + conj Z_{N-k}) / 2, B_k = (Z_k - conj Z_{N-k}) / (2i),
        // Z_N = Z_0.
        let n2 = 2 * n_in;
        let mirrored = std::iter::once(&time[0]).chain(time[n2 + 1 - kept..].iter().rev());
        for ((((z, w), h), a_out), b_out) in time[..kept]
            .iter()
            .zip(mirrored)
            .zip(&filter)
            .zip(half_a.iter_mut())
            .zip(half_b.iter_mut())
        {
            let w = w.conj();
            let a = (z + w) * 0.5;
            let b = (z - w) * Complex32::new(0.0, -0.5);
            *a_out = a * h;
            *b_out = b * h;
        }
        // Real signals: DC (and an output Nyquist bin, zero here) are real.
        half_a[0].im = 0.0;
        half_b[0].im = 0.0;
        // W_k = A_k + i B_k, with Hermitian halves mirrored: w = IFFT(W) = a + i b.
        let m2 = 2 * n_out;
        freq.fill(Complex32::new(0.0, 0.0));
        let low = kept.min(n_out);
        for ((f, a), b) in freq[..low].iter_mut().zip(&half_a).zip(&half_b) {
            *f = a + Complex32::new(-b.im, b.re);
        }
        for ((f, a), b) in freq[m2 + 1 - low..]
            .iter_mut()
            .rev()
            .zip(&half_a[1..])
            .zip(&half_b[1..])
        {
            *f = a.conj() + Complex32::new(b.im, b.re);
        }
        if kept > n_out {
            // Bin n_out is the output Nyquist: keep its real part only, as a real IFFT does.
            let (a, b) = (half_a[n_out], half_b[n_out]);
            freq[n_out] = Complex32::new(a.re, b.re);
        }
        inv.process_with_scratch(&mut freq, &mut scratch);
        for part in 0..2 {
            let value = |v: &Complex32| if part == 0 { v.re } else { v.im };
            for (o, v) in overlap.iter_mut().zip(&freq[..n_out]) {
                *o += value(v);
            }
            let drop = skip.min(n_out);
            skip -= drop;
            let take = (n_out - drop).min(n_total - out.len());
            out.extend_from_slice(&overlap[drop..drop + take]);
            for (o, v) in overlap.iter_mut().zip(&freq[n_out..]) {
                *o = value(v);
            }
        }
        c += 2;
    }
    Ok(out)
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn tone(freq: f64, rate: u32, seconds: f64) -> Vec<f32> {
        let n = (f64::from(rate) * seconds) as usize;
        (0..n)
            .map(|i| (2.0 * PI * freq * i as f64 / f64::from(rate)).sin() as f32)
            .collect()
    }

    /// Modified Bessel function of the first kind, order 0 (power series).
    fn bessel_i0(x: f64) -> f64 {
        let (mut sum, mut term, mut k) = (1.0, 1.0, 1.0);
        while term > 1e-20 * sum {
            term *= (x / (2.0 * k)) * (x / (2.0 * k));
            sum += term;
            k += 1.0;
        }
        sum
    }

    /// Spectrum of the middle 8192 samples of `x` as (frequency Hz, level dB re. a
    /// full-scale sine), through a Kaiser window with beta 20 (side lobes near -190 dB, so
    /// the window's own leakage cannot hide a -100 dB component; main lobe +-7 bins).
    fn spectrum_db(x: &[f32], rate: u32) -> Vec<(f64, f64)> {
        let n = 8192;
        assert!(x.len() >= n + 2000);
        let start = (x.len() - n) / 2;
        let seg = &x[start..start + n];
        let beta = 20.0;
        let w: Vec<f64> = (0..n)
            .map(|i| {
                let r = 2.0 * i as f64 / (n - 1) as f64 - 1.0;
                bessel_i0(beta * (1.0 - r * r).sqrt()) / bessel_i0(beta)
            })
            .collect();
        let wsum: f64 = w.iter().sum();
        let mut planner = realfft::RealFftPlanner::<f64>::new();
        let fft = planner.plan_fft_forward(n);
        let mut input: Vec<f64> = seg
            .iter()
            .zip(&w)
            .map(|(&s, &w)| f64::from(s) * w)
            .collect();
        let mut spec = fft.make_output_vec();
        fft.process(&mut input, &mut spec).unwrap();
        spec.iter()
            .enumerate()
            .map(|(k, c)| {
                let amp = 2.0 * c.norm() / wsum; // 1.0 for a unit sine on a bin
                (
                    k as f64 * f64::from(rate) / n as f64,
                    20.0 * amp.max(1e-30).log10(),
                )
            })
            .collect()
    }

    fn level_near(spec: &[(f64, f64)], f: f64, width: f64) -> f64 {
        spec.iter()
            .filter(|(fk, _)| (fk - f).abs() <= width)
            .map(|&(_, db)| db)
            .fold(f64::NEG_INFINITY, f64::max)
    }

    fn level_away(spec: &[(f64, f64)], f: f64, width: f64) -> f64 {
        spec.iter()
            .filter(|(fk, _)| (fk - f).abs() > width)
            .map(|&(_, db)| db)
            .fold(f64::NEG_INFINITY, f64::max)
    }

    #[test]
    fn matches_rubato_fft_resampler() {
        // Oracle: rubato's FftFixedInOut with the same chunk, delay removed the same way.
        use rubato::{FftFixedInOut, Resampler};
        for (from, to) in [(44_100u32, 16_000u32), (4000, 16_000), (48_000, 16_000)] {
            let x: Vec<f32> = crate::stft::tests::noise(20_000, u64::from(from));
            let ours = resample(&x, from, to).unwrap();
            let g = gcd(from, to) as usize;
            let block_in = from as usize / g;
            let chunk = CHUNK_FRAMES.div_ceil(block_in).next_multiple_of(2) * block_in;
            let mut r = FftFixedInOut::<f32>::new(from as usize, to as usize, chunk, 1).unwrap();
            let mut padded = x.clone();
            padded.resize(x.len() + 4 * chunk, 0.0);
            let mut theirs = Vec::new();
            for c in padded.chunks_exact(chunk) {
                theirs.extend_from_slice(&r.process(&[c], None).unwrap()[0]);
            }
            let d = r.output_delay();
            let err = ours
                .iter()
                .zip(&theirs[d..])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(err < 1e-5, "{from} -> {to}: max difference {err}");
        }
    }

    #[test]
    fn identity_and_lengths() {
        let x = tone(440.0, 16_000, 0.1);
        assert_eq!(resample(&x, 16_000, 16_000).unwrap(), x);
        assert!(resample(&[], 44_100, 16_000).unwrap().is_empty());
        assert!(matches!(
            resample(&x, 0, 16_000),
            Err(Error::InvalidSampleRate { .. })
        ));
        for (n, from, to) in [
            (1, 44_100, 16_000),
            (1000, 44_100, 16_000),
            (12_345, 4000, 16_000),
        ] {
            let y = resample(&vec![0.1; n], from, to).unwrap();
            assert_eq!(y.len(), resampled_len(n, from, to));
        }
        assert_eq!(resampled_len(44_100, 44_100, 16_000), 16_000);
        assert_eq!(resampled_len(1, 44_100, 16_000), 1);
    }

    #[test]
    fn downsampling_rejects_aliases_and_keeps_passband() {
        // 44.1 kHz -> 16 kHz: a 10 kHz tone must not alias to 6 kHz (>= 100 dB down);
        // a 3 kHz tone keeps its level within 0.1 dB and its timing.
        let y = resample(&tone(10_000.0, 44_100, 1.0), 44_100, 16_000).unwrap();
        let spec = spectrum_db(&y, 16_000);
        let worst = spec
            .iter()
            .map(|&(_, db)| db)
            .fold(f64::NEG_INFINITY, f64::max);
        assert!(worst < -100.0, "10 kHz tone leaks at {worst:.1} dB");

        let x = tone(3000.0, 44_100, 1.0);
        let y = resample(&x, 44_100, 16_000).unwrap();
        let spec = spectrum_db(&y, 16_000);
        let level = level_near(&spec, 3000.0, 10.0);
        assert!(level.abs() < 0.1, "3 kHz level {level:.3} dB");
        let other = level_away(&spec, 3000.0, 30.0);
        assert!(other < -100.0, "spurious content at {other:.1} dB");
        // Delay removed: the resampled tone lines up with the analytic one.
        let expect = tone(3000.0, 16_000, 1.0);
        let err = y[4000..12_000]
            .iter()
            .zip(&expect[4000..12_000])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(err < 1e-3, "misaligned by {err}");
    }

    #[test]
    fn upsampling_leaves_no_images() {
        // Tones on exact analysis bins (16000 / 8192 = 1.953125 Hz).
        for (from, f) in [(4000u32, 1000.0), (10_000, 3000.0)] {
            let y = resample(&tone(f, from, 1.0), from, 16_000).unwrap();
            let spec = spectrum_db(&y, 16_000);
            let level = level_near(&spec, f, 10.0);
            assert!(level.abs() < 0.1, "{from} Hz: tone level {level:.3} dB");
            let image = level_away(&spec, f, 30.0);
            assert!(image < -100.0, "{from} Hz: image at {image:.1} dB");
        }
    }
}
