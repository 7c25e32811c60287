//! A fast path for plain PCM / IEEE-float WAV files: a bounds-checked RIFF parser and one
//! vectorised conversion pass over the data chunk. Anything it does not fully understand is
//! left to Symphonia (`None`).
//!
//! The parser ([`parse_layout`]) walks the chunks up to `data` and never reads the samples, so
//! the same walk serves decoding ([`decode_wav`]) and header reading (`crate::header`).

use std::ops::Range;
use std::path::Path;

use crate::decoded::{AudioInfo, Decoded, abs_max, check_finite, check_stream};
use crate::error::{Error, Result};

const WAVE_FORMAT_PCM: u16 = 1;
const WAVE_FORMAT_IEEE_FLOAT: u16 = 3;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;

pub(crate) fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The sample encodings the fast path converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SampleKind {
    U8,
    S16,
    S24,
    S32,
    F32,
    F64,
}

impl SampleKind {
    /// The kind of a (format tag, bits per sample) pair, when the fast path handles it.
    fn of(tag: u16, bits: u16) -> Option<Self> {
        Some(match (tag, bits) {
            (WAVE_FORMAT_PCM, 8) => Self::U8,
            (WAVE_FORMAT_PCM, 16) => Self::S16,
            (WAVE_FORMAT_PCM, 24) => Self::S24,
            (WAVE_FORMAT_PCM, 32) => Self::S32,
            (WAVE_FORMAT_IEEE_FLOAT, 32) => Self::F32,
            (WAVE_FORMAT_IEEE_FLOAT, 64) => Self::F64,
            _ => return None,
        })
    }

    /// The codec's short name, as Symphonia spells it.
    fn codec(self) -> &'static str {
        match self {
            Self::U8 => "pcm_u8",
            Self::S16 => "pcm_s16le",
            Self::S24 => "pcm_s24le",
            Self::S32 => "pcm_s32le",
            Self::F32 => "pcm_f32le",
            Self::F64 => "pcm_f64le",
        }
    }

    fn is_float(self) -> bool {
        matches!(self, Self::F32 | Self::F64)
    }
}

/// What the chunk walk found: the stream's format and where its samples lie in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WavLayout {
    kind: SampleKind,
    channels: usize,
    sample_rate: u32,
    bits: u16,
    /// Byte range of the samples in the file: the `data` chunk, cut at the end of the file.
    data: Range<usize>,
}

impl WavLayout {
    /// Bytes per frame (all channels).
    fn block_align(&self) -> usize {
        self.channels * usize::from(self.bits / 8)
    }

    /// The stream's properties; `frames` counts the whole frames the data chunk holds (what
    /// [`decode_wav`] would decode), 0 for a header-only file.
    pub(crate) fn info(&self) -> AudioInfo {
        AudioInfo {
            codec: self.kind.codec().to_string(),
            sample_rate: self.sample_rate,
            // At most MAX_CHANNELS (checked by the walk).
            channels: u16::try_from(self.channels).unwrap_or(u16::MAX),
            bits_per_sample: Some(u32::from(self.bits)),
            frames: (self.data.len() / self.block_align().max(1)) as u64,
        }
    }
}

/// Walks the RIFF chunks of `bytes`, the first bytes of the file at `path`, whose full length
/// is `file_len`, up to the `data` chunk.
///
/// `None` hands the file to Symphonia: it is not a WAV file of 8/16/24/32-bit integer or
/// 32/64-bit float PCM, this parser does not fully understand its header, or (when `bytes`
/// is only a prefix of the file) the walk ran past the bytes at hand. Impossible header values
/// are errors naming the file, whatever the format.
pub(crate) fn parse_layout(
    path: &Path,
    bytes: &[u8],
    file_len: usize,
) -> Option<Result<WavLayout>> {
    if bytes.get(0..4)? != b"RIFF" || bytes.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut pos = 12usize;
    let mut format: Option<(u16, usize, u32, u16)> = None;
    let data = loop {
        let id = bytes.get(pos..pos + 4)?;
        let size = u32_at(bytes, pos + 4)? as usize;
        let body = pos + 8;
        if id == b"fmt " {
            let Some(end) = body.checked_add(size).filter(|&end| end <= file_len) else {
                // Symphonia would try to read (and allocate) the declared size.
                return Some(Err(Error::Damaged {
                    path: path.to_path_buf(),
                    reason: format!(
                        "the fmt chunk declares {size} bytes but the file ends after {file_len}"
                    ),
                }));
            };
            let fmt = bytes.get(body..end)?;
            if size < 16 {
                return None;
            }
            let mut tag = u16_at(fmt, 0)?;
            let channels = usize::from(u16_at(fmt, 2)?);
            let sample_rate = u32_at(fmt, 4)?;
            // Impossible values are errors here, whatever the format: Symphonia panics on
            // some of them (a zero rate makes a zero time base).
            if let Err(e) = check_stream(path, sample_rate, channels) {
                return Some(Err(e));
            }
            let block_align = usize::from(u16_at(fmt, 12)?);
            let bits = u16_at(fmt, 14)?;
            if tag == WAVE_FORMAT_EXTENSIBLE {
                // cbSize >= 22; valid bits must equal the container; subformat GUID's first
                // two bytes carry the format tag.
                if size < 40 || u16_at(fmt, 18)? != bits {
                    return None;
                }
                tag = u16_at(fmt, 24)?;
            }
            if bits == 0 && matches!(tag, WAVE_FORMAT_PCM | WAVE_FORMAT_IEEE_FLOAT) {
                return Some(Err(Error::InvalidHeader {
                    path: path.to_path_buf(),
                    field: "bits per sample",
                    value: "0".into(),
                    reason: "expected 8, 16, 24 or 32 (integer) or 32 or 64 (float)".into(),
                }));
            }
            if block_align != channels * usize::from(bits / 8) {
                return None;
            }
            format = Some((tag, channels, sample_rate, bits));
        } else if id == b"data" {
            // A streaming writer may leave the size at its maximum: read what is there.
            let end = body.checked_add(size)?.min(file_len);
            if body > end {
                return None;
            }
            break body..end;
        }
        pos = body.checked_add(size)?.checked_add(size & 1)?;
    };
    let (tag, channels, sample_rate, bits) = format?;
    let kind = SampleKind::of(tag, bits)?;
    Some(Ok(WavLayout {
        kind,
        channels,
        sample_rate,
        bits,
        data,
    }))
}

/// Decodes `bytes` (the whole file at `path`) when it is a WAV file of 8/16/24/32-bit integer
/// or 32/64-bit float PCM; `None` hands the file to Symphonia.
pub(crate) fn decode_wav(path: &Path, bytes: &[u8]) -> Option<Result<Decoded>> {
    let layout = match parse_layout(path, bytes, bytes.len())? {
        Ok(layout) => layout,
        Err(e) => return Some(Err(e)),
    };
    let data = bytes.get(layout.data.clone())?;
    let channels = layout.channels;
    let (samples, peak, clipped_samples) = match layout.kind {
        SampleKind::U8 => convert::<1>(
            data,
            channels,
            |[a]| (f32::from(a) - 128.0) / 128.0,
            |[a]| a == 0 || a == u8::MAX,
        ),
        SampleKind::S16 => convert::<2>(
            data,
            channels,
            |c| f32::from(i16::from_le_bytes(c)) * (1.0 / 32768.0),
            |c| {
                let v = i16::from_le_bytes(c);
                v == i16::MIN || v == i16::MAX
            },
        ),
        SampleKind::S24 => convert::<3>(
            data,
            channels,
            |[a, b, c]| (i32::from_le_bytes([0, a, b, c]) >> 8) as f32 * (1.0 / 8_388_608.0),
            |[a, b, c]| {
                let v = i32::from_le_bytes([0, a, b, c]) >> 8;
                v == -8_388_608 || v == 8_388_607
            },
        ),
        SampleKind::S32 => convert::<4>(
            data,
            channels,
            |c| (f64::from(i32::from_le_bytes(c)) * (1.0 / 2_147_483_648.0)) as f32,
            |c| {
                let v = i32::from_le_bytes(c);
                v == i32::MIN || v == i32::MAX
            },
        ),
        SampleKind::F32 => convert::<4>(data, channels, f32::from_le_bytes, |c| {
            f32::from_le_bytes(c).abs() >= 1.0
        }),
        SampleKind::F64 => convert::<8>(
            data,
            channels,
            |c| f64::from_le_bytes(c) as f32,
            |c| f64::from_le_bytes(c).abs() >= 1.0,
        ),
    };
    if samples.is_empty() {
        return Some(Err(Error::NoAudioSamples {
            path: path.to_path_buf(),
        }));
    }
    if layout.kind.is_float()
        && let Err(e) = check_finite(path, &samples)
    {
        return Some(Err(e));
    }
    let info = AudioInfo {
        frames: samples.len() as u64,
        ..layout.info()
    };
    Some(Ok(Decoded {
        samples,
        sample_rate: layout.sample_rate,
        info,
        peak,
        clipped_samples,
        skipped_packets: 0,
    }))
}

/// Converts interleaved `B`-byte samples to mono f32 (mean over channels). Returns the
/// samples, the peak |x| over all channels and the count of full-scale samples.
fn convert<const B: usize>(
    data: &[u8],
    channels: usize,
    value: impl Fn([u8; B]) -> f32 + Copy,
    clipped: impl Fn([u8; B]) -> bool + Copy,
) -> (Vec<f32>, f32, u64) {
    let (chunks, _) = data.as_chunks::<B>();
    let clipped_count = chunks.iter().filter(|&&c| clipped(c)).count() as u64;
    if channels == 1 {
        let samples: Vec<f32> = chunks.iter().map(|&c| value(c)).collect();
        let peak = abs_max(&samples);
        return (samples, peak, clipped_count);
    }
    let frames = chunks.len() / channels;
    let inv = 1.0 / channels as f32;
    let mut peak = 0.0f32;
    let mut samples = Vec::with_capacity(frames);
    for frame in chunks.chunks_exact(channels) {
        let mut sum = 0.0f32;
        for &c in frame {
            let v = value(c);
            peak = peak.max(v.abs());
            sum += v;
        }
        samples.push(sum * inv);
    }
    (samples, peak, clipped_count)
}
