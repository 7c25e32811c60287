//! Entry points of the cargo-fuzz targets in the repository's `fuzz/` folder, shared with the
//! regression tests in `tests/fuzz_regressions.rs`, so that a crasher found by the fuzzer is
//! replayed by `cargo test` through exactly the code that found it.
//!
//! Each function takes the fuzzer's raw bytes and a scratch folder, writes the bytes to a
//! file there (the readers are path based) and runs a reader on it. Errors are expected and
//! returned; a panic is a bug. Where a result is `Ok`, the invariants the rest of auscult
//! relies on are asserted, so breaking one is reported like a crash.
//!
//! Not part of the stable API.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::{MelConfig, MelSpectrogram, Spectrogram, decode_file, read_npy_f32, resample};

/// Sample rate the decoded audio is resampled to before the log-Mel (the rate of the
/// classifier's slowest front end).
pub const FRONT_END_RATE: u32 = 8000;

/// Seconds of decoded audio passed on to the resampler and log-Mel, at most.
pub const FRONT_END_SECONDS: u32 = 3;

/// Largest reduced-ratio block (`rate / gcd(rate, 8000)`) that [`decode_front_end`] hands
/// to the resampler. The resampler itself accepts up to 2^20, but planning such an FFT takes
/// about 0.4 s (5 s under AddressSanitizer), and a fuzzer mutating the rate field would spend
/// its time there; those ratios are covered by `tests/hostile.rs`. Files at other rates go to
/// the log-Mel unresampled.
pub const FRONT_END_MAX_BLOCK: u32 = 1 << 14;

/// Largest upsampling factor to [`FRONT_END_RATE`] that [`decode_front_end`] hands to the
/// resampler: a lower rate (a damaged header's 1 Hz) makes its output-side FFT about 2^21
/// points, for the same reason as [`FRONT_END_MAX_BLOCK`].
pub const FRONT_END_MAX_UPSAMPLING: u32 = 16;

/// The file extensions [`audio_any`] chooses among, by its first byte modulo their count.
pub const EXTENSIONS: [&str; 4] = ["flac", "mp3", "ogg", "wav"];

/// Writes `data` to `dir/name` (creating `dir`), replacing an earlier file of that name.
///
/// # Errors
/// [`Error::Io`] when the file cannot be written.
pub fn write_input(dir: &Path, name: &str, data: &[u8]) -> Result<PathBuf> {
    let path = dir.join(name);
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&path, data))
        .map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
    Ok(path)
}

/// Decodes the file at `path`, then resamples at most [`FRONT_END_SECONDS`] of it to
/// [`FRONT_END_RATE`] (when the ratio is within [`FRONT_END_MAX_BLOCK`] and
/// [`FRONT_END_MAX_UPSAMPLING`]) and computes its
/// log-Mel spectrogram: the whole decode path of auscult.
///
/// # Errors
/// Whatever [`decode_file`] or [`resample`] reports (a damaged file, a rate the resampler
/// refuses).
///
/// # Panics
/// When a decoded file breaks an invariant: no samples, a sample that is not finite, a
/// sample rate or channel count outside the accepted range, or a non-finite log-Mel value.
pub fn decode_front_end(path: &Path) -> Result<Spectrogram> {
    let decoded = decode_file(path)?;
    let rate = decoded.sample_rate;
    assert!(!decoded.samples.is_empty(), "Ok with no samples");
    assert!(
        (1..=crate::MAX_SAMPLE_RATE).contains(&rate),
        "Ok with sample rate {rate}"
    );
    assert!(
        (1..=crate::MAX_CHANNELS).contains(&usize::from(decoded.info.channels)),
        "Ok with {} channels",
        decoded.info.channels
    );
    assert!(
        decoded.samples.iter().all(|x| x.is_finite()),
        "Ok with a non-finite sample"
    );
    let cheap = {
        let (mut a, mut b) = (rate, FRONT_END_RATE);
        while b != 0 {
            (a, b) = (b, a % b);
        }
        rate / a <= FRONT_END_MAX_BLOCK && rate >= FRONT_END_RATE / FRONT_END_MAX_UPSAMPLING
    };
    let x = if cheap {
        let keep = decoded
            .samples
            .len()
            .min((rate as usize).saturating_mul(FRONT_END_SECONDS as usize));
        resample(&decoded.samples[..keep], rate, FRONT_END_RATE)?
    } else {
        let keep = decoded
            .samples
            .len()
            .min((FRONT_END_RATE * FRONT_END_SECONDS) as usize);
        decoded.samples[..keep].to_vec()
    };
    let mut mel = MelSpectrogram::new(&MelConfig {
        n_fft: 256,
        win_length: 256,
        hop_length: 80,
        n_mels: 40,
        ..MelConfig::librosa(FRONT_END_RATE)
    })?;
    let spec = mel.compute(&x);
    assert!(
        spec.data.iter().all(|v| v.is_finite()),
        "a non-finite log-Mel value"
    );
    Ok(spec)
}

/// The `wav_decode` target: `data` as `dir/x.wav` through [`decode_front_end`].
///
/// # Errors
/// As [`decode_front_end`]; [`Error::Io`] when the scratch file cannot be written.
pub fn wav_decode(data: &[u8], dir: &Path) -> Result<Spectrogram> {
    decode_front_end(&write_input(dir, "x.wav", data)?)
}

/// The extension [`audio_any`] gives an input whose first byte is `selector`.
pub fn extension_for(selector: u8) -> &'static str {
    EXTENSIONS[usize::from(selector) % EXTENSIONS.len()]
}

/// The `audio_any` target: the first byte of `data` picks an extension among [`EXTENSIONS`]
/// (the file's name; Symphonia 0.5 probes by content alone, so today it only matters should a
/// later decoder use it as a hint); the rest is written as `dir/x.<ext>` and decoded. Returns
/// the file's path with the result of [`decode_front_end`] on it, so that callers can check
/// that an error names the file.
pub fn audio_any(data: &[u8], dir: &Path) -> (PathBuf, Result<Spectrogram>) {
    let (ext, body) = match data.split_first() {
        Some((&selector, rest)) => (extension_for(selector), rest),
        None => ("wav", data),
    };
    let path = dir.join(format!("x.{ext}"));
    let result = write_input(dir, &format!("x.{ext}"), body).and_then(|p| decode_front_end(&p));
    (path, result)
}

/// The `npy` target: `data` as `dir/x.npy` through [`read_npy_f32`].
///
/// # Errors
/// As [`read_npy_f32`].
///
/// # Panics
/// When an `Ok` array's length is not the product of its shape.
pub fn npy(data: &[u8], dir: &Path) -> Result<(Vec<f32>, Vec<usize>)> {
    let (values, shape) = read_npy_f32(&write_input(dir, "x.npy", data)?)?;
    assert_eq!(
        values.len(),
        shape.iter().product::<usize>(),
        "Ok with {} values for shape {shape:?}",
        values.len()
    );
    Ok((values, shape))
}
