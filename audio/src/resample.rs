//! Sample-rate conversion with rubato's synchronous FFT resampler.
//!
//! The FFT resampler filters with a Blackman-Harris²-windowed sinc as long as one FFT chunk
//! (overlap-add), which puts the stop band more than 100 dB down, and converts between any
//! two integer rates exactly (the ratio is reduced by their greatest common divisor).
//! No polynomial interpolation is used, so downsampling is anti-aliased.
//!
//! (A hand-written variant that packs two chunks into one complex FFT each way was measured
//! against rubato here and was no faster: the FFTs dominate. rubato stays.)

use rubato::{FftFixedInOut, Resampler};

use crate::error::{Error, Result};

/// Input frames per FFT chunk that the resampler aims for (rounded up to an even number of
/// reduced-ratio blocks). Longer chunks mean a longer filter and a sharper transition band.
const CHUNK_FRAMES: usize = 2048;

/// Largest reduced-ratio block (`rate / gcd(from, to)`) the resampler accepts: one chunk's
/// FFT spans at least two blocks, so this bounds its memory to a few tens of MB.
const MAX_BLOCK: usize = 1 << 20;

/// Largest sample magnitude [`resample`] accepts: sums of 2^22 such values (an FFT of the
/// largest chunk) stay below `f32::MAX`.
const MAX_MAGNITUDE: f32 = 1e30;

/// Number of output samples [`resample`] returns for `n_in` input samples:
/// `ceil(n_in * to_hz / from_hz)` (as librosa/soxr do).
pub fn resampled_len(n_in: usize, from_hz: u32, to_hz: u32) -> usize {
    if from_hz == 0 {
        return 0;
    }
    let n = (n_in as u128 * u128::from(to_hz)).div_ceil(u128::from(from_hz));
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Resamples mono `samples` from `from_hz` to `to_hz`.
///
/// Returns [`resampled_len`] samples, aligned with the input (the resampler's delay is
/// removed). When the rates are equal the input is copied unchanged.
///
/// # Errors
/// [`Error::InvalidSampleRate`] when either rate is zero (or the ratio needs too fine a
/// filter), [`Error::Resample`] when a sample is NaN, infinite or beyond ±1e30, or if rubato
/// fails.
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
    let fail = |e: &dyn std::fmt::Display| Error::Resample {
        from_hz,
        to_hz,
        reason: e.to_string(),
    };
    // rubato panics when NaN reaches its inverse FFT (from a NaN, an infinity, or partial
    // sums of huge values overflowing); no audio comes near this bound.
    if let Some(bad) = samples
        .iter()
        .find(|x| !x.is_finite() || x.abs() > MAX_MAGNITUDE)
    {
        return Err(fail(&format!(
            "sample value {bad} is not finite or beyond +-{MAX_MAGNITUDE:e}, which the \
             resampler's FFT sums cannot hold"
        )));
    }
    // rubato centres its filter on sample `fft_size_in / 2` and reports a delay of
    // `fft_size_out / 2`; both halves are exact (and equal in time) only when the number of
    // reduced-ratio blocks per chunk is even.
    let g = gcd(from_hz, to_hz);
    let (block_in, block_out) = ((from_hz / g) as usize, (to_hz / g) as usize);
    if block_in.max(block_out) > MAX_BLOCK {
        // Two rates with a small common divisor (say, a prime rate from a damaged header)
        // would ask for FFTs of millions of points per chunk.
        return Err(Error::InvalidSampleRate {
            sample_rate: from_hz,
            reason: format!(
                "{from_hz} Hz -> {to_hz} Hz reduces to {block_in}:{block_out}, finer than \
                 the resampler supports (at most {MAX_BLOCK} on either side)"
            ),
        });
    }
    let blocks = chunk_blocks(block_in, block_out);
    let mut resampler =
        FftFixedInOut::<f32>::new(from_hz as usize, to_hz as usize, blocks * block_in, 1)
            .map_err(|e| fail(&e))?;
    let n_total = resampled_len(samples.len(), from_hz, to_hz);
    let mut skip = resampler.output_delay();
    let chunk_in = resampler.input_frames_next();
    let mut out_buf = vec![vec![0.0f32; resampler.output_frames_max()]];
    let mut tail = vec![0.0f32; chunk_in];
    let mut out = Vec::with_capacity(n_total);
    let mut pos = 0usize;
    while out.len() < n_total {
        let input = if pos + chunk_in <= samples.len() {
            &samples[pos..pos + chunk_in]
        } else {
            // The zero-padded tail, then zeros to flush the filter.
            let rest = &samples[pos.min(samples.len())..];
            tail[..rest.len()].copy_from_slice(rest);
            tail[rest.len()..].fill(0.0);
            &tail[..]
        };
        let (_, produced) = resampler
            .process_into_buffer(&[input], &mut out_buf, None)
            .map_err(|e| fail(&e))?;
        pos += chunk_in;
        emit(&mut out, &out_buf[0][..produced], &mut skip, n_total);
    }
    Ok(out)
}

/// Reduced-ratio blocks per chunk: enough for about [`CHUNK_FRAMES`] input frames, but never
/// more than `2 * MAX_BLOCK` frames on the output side (a huge upsampling ratio, say from a
/// damaged header's 1 Hz, would otherwise ask for FFTs of billions of points); always even.
fn chunk_blocks(block_in: usize, block_out: usize) -> usize {
    let wanted = CHUNK_FRAMES.div_ceil(block_in);
    let most = (2 * MAX_BLOCK / block_in.max(block_out)) & !1;
    wanted.next_multiple_of(2).min(most).max(2)
}

/// Appends `segment` to `out`, first dropping what is left of the `skip` delay, never past
/// `n_total` samples.
fn emit(out: &mut Vec<f32>, segment: &[f32], skip: &mut usize, n_total: usize) {
    let drop = (*skip).min(segment.len());
    *skip -= drop;
    let take = (segment.len() - drop).min(n_total - out.len());
    out.extend_from_slice(&segment[drop..drop + take]);
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
    fn chunks_stay_bounded_for_extreme_ratios() {
        // Common ratios keep ~2048 input frames per chunk (the filter length is unchanged).
        for (from, to) in [
            (4000, 16000),
            (44_100, 16_000),
            (8000, 16_000),
            (48_000, 8000),
        ] {
            let g = gcd(from, to);
            let (bi, bo) = ((from / g) as usize, (to / g) as usize);
            assert_eq!(
                chunk_blocks(bi, bo),
                CHUNK_FRAMES.div_ceil(bi).next_multiple_of(2)
            );
        }
        // 1 Hz -> 1 MHz asked for a 2048 x 10^6-point output FFT.
        let blocks = chunk_blocks(1, 1_000_000);
        assert!(
            blocks.is_multiple_of(2) && blocks * 1_000_000 <= 2 * MAX_BLOCK,
            "{blocks}"
        );
        assert_eq!(chunk_blocks(MAX_BLOCK, 1), 2);
        let x = vec![0.5f32; 3];
        assert_eq!(resample(&x, 1, 100_000).unwrap().len(), 300_000);
    }

    #[test]
    fn non_finite_and_huge_samples_are_errors_not_panics() {
        // Found by the audio_any fuzz target: huge float samples made rubato's inverse FFT
        // see NaN and panic.
        for bad in [f32::NAN, f32::INFINITY, -f32::MAX, 3e30] {
            let mut x = vec![0.1f32; 4000];
            x[17] = bad;
            let e = resample(&x, 44_100, 16_000).unwrap_err().to_string();
            assert!(e.contains("not finite or beyond"), "{e}");
        }
        assert!(resample(&[1e29; 100], 44_100, 16_000).is_ok());
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
