//! What a decoded file is ([`Decoded`], [`AudioInfo`]) and the checks every decoder applies
//! to it (header limits, finite samples, peak), shared by the Symphonia path (`decode.rs`) and
//! the fast WAV path (`wav_fast.rs`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Highest sample rate accepted from a file's header, in Hz (four times 384 kHz, the highest
/// rate of common audio hardware). Higher rates are treated as a damaged header: they would
/// make the resampler's FFTs arbitrarily large.
pub const MAX_SAMPLE_RATE: u32 = 1_536_000;

/// Most channels accepted from a file's header (WAV's own limit is 65535).
pub const MAX_CHANNELS: usize = 256;

/// Checks a header's sample rate and channel count before anything is decoded.
pub(crate) fn check_stream(path: &Path, sample_rate: u32, channels: usize) -> Result<()> {
    let bad = |field, value: String, reason: &str| {
        Err(Error::InvalidHeader {
            path: path.to_path_buf(),
            field,
            value,
            reason: reason.into(),
        })
    };
    if sample_rate == 0 || sample_rate > MAX_SAMPLE_RATE {
        return bad(
            "sample rate",
            format!("{sample_rate} Hz"),
            "expected 1 to 1536000 Hz",
        );
    }
    if channels == 0 || channels > MAX_CHANNELS {
        return bad(
            "channels",
            channels.to_string(),
            "expected 1 to 256 channels",
        );
    }
    Ok(())
}

/// Largest magnitude accepted from floating-point samples: 2^24, the scale of 24-bit integers
/// (some tools write float WAVs unnormalised), 144 dB over digital full scale. Larger values
/// are damaged data; their squares and FFT sums would overflow `f32` downstream.
pub(crate) const MAX_FLOAT_SAMPLE: f32 = 16_777_216.0;

/// An error when `samples` holds NaN or infinite values, or values beyond
/// [`MAX_FLOAT_SAMPLE`] (only floating-point data can).
pub(crate) fn check_finite(path: &Path, samples: &[f32]) -> Result<()> {
    let non_finite = samples.iter().filter(|x| !x.is_finite()).count();
    let huge = samples
        .iter()
        .filter(|x| x.is_finite() && x.abs() > MAX_FLOAT_SAMPLE)
        .count();
    let reason = if non_finite > 0 {
        format!("{non_finite} samples are NaN or infinite")
    } else if huge > 0 {
        format!(
            "{huge} samples exceed +-{MAX_FLOAT_SAMPLE} (float PCM is nominally within +-1); \
             the file is damaged or not float PCM"
        )
    } else {
        return Ok(());
    };
    Err(Error::Damaged {
        path: path.to_path_buf(),
        reason,
    })
}

/// Stream properties of an audio file, as its container describes them (and, for `frames`,
/// as actually decoded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioInfo {
    /// Codec's short name, for example `pcm_s16le`, `pcm_s24le`, `pcm_f32le`, `flac`, `mp3`.
    pub codec: String,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Number of channels in the file (the decoded samples are mixed to mono).
    pub channels: u16,
    /// Bits per sample of the coded PCM data, where the format has such a thing.
    pub bits_per_sample: Option<u32>,
    /// Frames (samples per channel) actually decoded.
    pub frames: u64,
}

impl AudioInfo {
    /// Duration in seconds (`frames / sample_rate`).
    pub fn duration_s(&self) -> f64 {
        if self.sample_rate == 0 {
            0.0
        } else {
            self.frames as f64 / f64::from(self.sample_rate)
        }
    }
}

/// A decoded file: mono samples plus what was learnt while decoding.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Mono samples in [-1, 1] (integer PCM scaled as `int / 2^(bits-1)`), one per frame.
    pub samples: Vec<f32>,
    /// Sample rate of `samples` in Hz (the file's own rate).
    pub sample_rate: u32,
    /// Stream properties.
    pub info: AudioInfo,
    /// Largest absolute sample value over all channels before mixing, in [0, 1] for integer PCM.
    pub peak: f32,
    /// Samples (over all channels, before mixing) at digital full scale: the minimum or
    /// maximum integer code, or |x| >= 1 for floating-point data.
    pub clipped_samples: u64,
    /// Packets that failed to decode and were skipped.
    pub skipped_packets: u64,
}

/// Maximum of |x| over a slice, with eight accumulators so that it vectorises.
pub(crate) fn abs_max(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            acc[k] = acc[k].max(c[k].abs());
        }
    }
    let mut m = acc.iter().fold(0.0f32, |a, &b| a.max(b));
    for v in rest {
        m = m.max(v.abs());
    }
    m
}
