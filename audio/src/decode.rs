//! Decoding audio files to mono `f32` samples with Symphonia.
//!
//! The format is probed by content; the file extension is not consulted. Integer PCM is scaled
//! like librosa/soundfile (`int16 / 32768`, `int24 / 2^23`, ...), channels are mixed to mono by
//! their mean. A packet that fails to decode is skipped and counted; a file that cannot be
//! read at all is an error naming the file. Buffers grow with what is actually decoded, never
//! with a size the file merely declares.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use symphonia::core::audio::{AudioBufferRef, Signal};
use symphonia::core::codecs::{CODEC_TYPE_NULL, DecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions, ReadBytes};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Instantiate;
use symphonia::core::sample::{i24, u24};

use crate::decoded::{AudioInfo, Decoded, abs_max, check_finite, check_stream};
use crate::error::{Error, Result};

/// Decodes an audio file (WAV incl. `WAVE_FORMAT_EXTENSIBLE`, FLAC, MP3, Ogg Vorbis) to mono.
///
/// Plain PCM and IEEE-float WAV files (the bulk of respiratory-sound corpora) are read by a
/// small bounds-checked RIFF parser that converts the data chunk in one vectorised pass,
/// several times faster than going through Symphonia's generic sample buffers (the
/// `wav_decoder` benchmark in `benches/audio.rs` compares the two); every
/// other file, and any WAV that parser does not fully understand, goes through Symphonia.
/// Both paths give identical results (tested on the real fixtures).
///
/// # Errors
/// [`Error::Io`] when the file cannot be opened, [`Error::UnsupportedFormat`] when nothing
/// recognises it, [`Error::Damaged`] when the container is unreadable, and
/// [`Error::NoAudioSamples`] when it holds zero frames (header-only WAVs).
pub fn decode_file(path: impl AsRef<Path>) -> Result<Decoded> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode_bytes(path, bytes)
}

/// Decodes `bytes`, the whole file at `path`, as [`decode_file`] does.
pub(crate) fn decode_bytes(path: &Path, bytes: Vec<u8>) -> Result<Decoded> {
    if bytes.is_empty() {
        return Err(Error::Damaged {
            path: path.to_path_buf(),
            reason: "the file is empty".into(),
        });
    }
    if let Some(result) = crate::wav_fast::decode_wav(path, &bytes) {
        return result;
    }
    // Symphonia is the one third-party decoder: a panic inside it (a malformed stream it
    // does not guard against) becomes an error naming the file, never a crash of the batch.
    std::panic::catch_unwind(move || symphonia_decode(path, bytes)).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown reason".into());
        Err(Error::Damaged {
            path: path.to_path_buf(),
            reason: format!("the decoder failed on this file: {what}"),
        })
    })
}

/// Decodes any supported file with Symphonia, bypassing the fast WAV path (for the tests and
/// benchmarks that compare the two).
pub(crate) fn decode_with_symphonia(path: &Path) -> Result<Decoded> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    symphonia_decode(path, bytes)
}

/// Decodes `bytes`, the whole file at `path`, with Symphonia.
fn symphonia_decode(path: &Path, bytes: Vec<u8>) -> Result<Decoded> {
    let file_len = bytes.len() as u64;
    let mut format = open_container(path, bytes)?;

    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| Error::UnsupportedFormat {
            path: path.to_path_buf(),
            reason: "no audio track".into(),
        })?;
    let track_id = track.id;
    let params = track.codec_params.clone();
    let codec = symphonia::default::get_codecs()
        .get_codec(params.codec)
        .map(|d| d.short_name.to_string())
        .unwrap_or_else(|| "unknown".to_string());
    let mut sample_rate = params.sample_rate.unwrap_or(0);
    let mut channels = params.channels.map(|c| c.count()).unwrap_or(0);
    if params.sample_rate.is_some() || params.channels.is_some() {
        // What the container declares is checked before a decoder is built from it.
        check_stream(
            path,
            params.sample_rate.unwrap_or(1),
            params.channels.map_or(1, |c| c.count()),
        )?;
    }
    // Symphonia leaves the depth of float PCM unset; it is implied by the codec.
    let bits_per_sample = params.bits_per_sample.or(match codec.as_str() {
        "pcm_f32le" | "pcm_f32be" => Some(32),
        "pcm_f64le" | "pcm_f64be" => Some(64),
        _ => None,
    });

    let mut decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions::default())
        .map_err(|e| Error::UnsupportedFormat {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;

    // Reserve what the file can hold at most (bounded by its real size, not a declared one).
    let reserve = match (params.n_frames, bits_per_sample) {
        (Some(n), Some(bits)) if bits > 0 && channels > 0 => {
            let bytes_per_frame = u64::from(bits).div_ceil(8) * channels as u64;
            n.min(file_len / bytes_per_frame)
        }
        _ => 0,
    };
    let mut samples: Vec<f32> = Vec::with_capacity(usize::try_from(reserve).unwrap_or(0));
    let mut stats = Stats::default();
    let mut skipped_packets = 0u64;

    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                break;
            }
            Err(SymphoniaError::ResetRequired) => break,
            Err(SymphoniaError::DecodeError(msg)) => {
                // A damaged packet in the container: skip it, keep going.
                skipped_packets += 1;
                if skipped_packets > 10_000 {
                    return Err(Error::Damaged {
                        path: path.to_path_buf(),
                        reason: msg.into(),
                    });
                }
                continue;
            }
            Err(e) => {
                if samples.is_empty() {
                    return Err(Error::Damaged {
                        path: path.to_path_buf(),
                        reason: e.to_string(),
                    });
                }
                // A truncated or damaged tail: keep what was decoded.
                skipped_packets += 1;
                break;
            }
        };
        if packet.track_id() != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buf) => {
                let spec = buf.spec();
                if sample_rate == 0 {
                    sample_rate = spec.rate;
                }
                if channels == 0 {
                    channels = spec.channels.count();
                }
                append_mono(&buf, &mut samples, &mut stats);
            }
            Err(SymphoniaError::DecodeError(_)) | Err(SymphoniaError::IoError(_)) => {
                skipped_packets += 1;
            }
            Err(e) => {
                return Err(Error::Damaged {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                });
            }
        }
    }

    if samples.is_empty() {
        return Err(Error::NoAudioSamples {
            path: path.to_path_buf(),
        });
    }
    if sample_rate == 0 {
        return Err(Error::Damaged {
            path: path.to_path_buf(),
            reason: "the stream declares no sample rate".into(),
        });
    }
    check_stream(path, sample_rate, channels.max(1))?;
    check_finite(path, &samples)?;
    let info = AudioInfo {
        codec,
        sample_rate,
        channels: u16::try_from(channels).unwrap_or(u16::MAX),
        bits_per_sample,
        frames: samples.len() as u64,
    };
    Ok(Decoded {
        samples,
        sample_rate,
        info,
        peak: stats.peak,
        clipped_samples: stats.clipped,
        skipped_packets,
    })
}

/// Finds the container in `bytes` as Symphonia's probe does (a marker anywhere in the first
/// megabyte, after any ID3/APE metadata) and opens its reader on the stream from there,
/// checked or rewritten first by [`crate::guard::prepare`] (the marker need not be at the
/// start of the file, where the fast WAV path looks).
fn open_container(path: &Path, bytes: Vec<u8>) -> Result<Box<dyn FormatReader>> {
    let bytes: Arc<[u8]> = bytes.into();
    let probe = symphonia::default::get_probe();
    let source = Box::new(std::io::Cursor::new(Arc::clone(&bytes)));
    let mut mss = MediaSourceStream::new(source, MediaSourceStreamOptions::default());
    loop {
        match probe
            .next(&mut mss)
            .map_err(|e| classify_open_error(path, e))?
        {
            Instantiate::Format(open) => {
                let marker = usize::try_from(mss.pos()).unwrap_or(usize::MAX);
                let prepared = match bytes.get(marker..) {
                    Some(from_marker) => crate::guard::prepare(path, from_marker)?,
                    None => None,
                };
                let mss = match prepared {
                    Some(rewritten) => MediaSourceStream::new(
                        Box::new(std::io::Cursor::new(rewritten)),
                        MediaSourceStreamOptions::default(),
                    ),
                    None => mss,
                };
                return open(mss, &FormatOptions::default())
                    .map_err(|e| classify_open_error(path, e));
            }
            Instantiate::Metadata(reader) => {
                reader(&MetadataOptions::default())
                    .read_all(&mut mss)
                    .map_err(|e| classify_open_error(path, e))?;
            }
        }
    }
}

fn classify_open_error(path: &Path, e: SymphoniaError) -> Error {
    let path: PathBuf = path.to_path_buf();
    match e {
        SymphoniaError::IoError(source) if source.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::Damaged {
                path,
                reason: "the file ends inside its header".into(),
            }
        }
        SymphoniaError::IoError(source) => Error::Io { path, source },
        SymphoniaError::Unsupported(msg) => Error::UnsupportedFormat {
            path,
            reason: msg.into(),
        },
        other => Error::Damaged {
            path,
            reason: other.to_string(),
        },
    }
}

#[derive(Default)]
struct Stats {
    peak: f32,
    clipped: u64,
}

/// Converts one channel-planar buffer to f32, mixes to mono and appends to `out`.
fn mix_into<T: Copy>(
    chans: &[&[T]],
    out: &mut Vec<f32>,
    stats: &mut Stats,
    to_f32: impl Fn(T) -> f32 + Copy,
    clipped: impl Fn(T) -> bool + Copy,
) {
    let Some(first) = chans.first() else { return };
    let frames = first.len();
    let start = out.len();
    out.resize(start + frames, 0.0);
    let dst = &mut out[start..];
    for ch in chans {
        stats.clipped += ch.iter().filter(|&&x| clipped(x)).count() as u64;
    }
    if chans.len() == 1 {
        for (d, &s) in dst.iter_mut().zip(first.iter()) {
            *d = to_f32(s);
        }
        stats.peak = stats.peak.max(abs_max(dst));
        return;
    }
    let mut scratch = vec![0.0f32; frames];
    for ch in chans {
        for (s, &x) in scratch.iter_mut().zip(ch.iter()) {
            *s = to_f32(x);
        }
        stats.peak = stats.peak.max(abs_max(&scratch));
        for (d, s) in dst.iter_mut().zip(scratch.iter()) {
            *d += *s;
        }
    }
    let inv = 1.0 / chans.len() as f32;
    for d in dst.iter_mut() {
        *d *= inv;
    }
}

macro_rules! planes {
    ($buf:expr) => {{
        let n = $buf.spec().channels.count();
        (0..n).map(|c| $buf.chan(c)).collect::<Vec<_>>()
    }};
}

fn append_mono(buf: &AudioBufferRef<'_>, out: &mut Vec<f32>, stats: &mut Stats) {
    match buf {
        AudioBufferRef::U8(b) => mix_into(
            &planes!(b),
            out,
            stats,
            |x: u8| (f32::from(x) - 128.0) / 128.0,
            |x| x == 0 || x == u8::MAX,
        ),
        AudioBufferRef::U16(b) => mix_into(
            &planes!(b),
            out,
            stats,
            |x: u16| (f32::from(x) - 32768.0) / 32768.0,
            |x| x == 0 || x == u16::MAX,
        ),
        AudioBufferRef::U24(b) => mix_into(
            &planes!(b),
            out,
            stats,
            |x: u24| (x.inner() as f32 - 8_388_608.0) / 8_388_608.0,
            |x| x.inner() == 0 || x.inner() == u24::MAX.inner(),
        ),
        AudioBufferRef::U32(b) => mix_into(
            &planes!(b),
            out,
            stats,
            |x: u32| ((f64::from(x) - 2_147_483_648.0) / 2_147_483_648.0) as f32,
            |x| x == 0 || x == u32::MAX,
        ),
        AudioBufferRef::S8(b) => mix_into(
            &planes!(b),
            out,
            stats,
            |x: i8| f32::from(x) / 128.0,
            |x| x == i8::MIN || x == i8::MAX,
        ),
        AudioBufferRef::S16(b) => mix_into(
            &planes!(b),
            out,
            stats,
            |x: i16| f32::from(x) * (1.0 / 32768.0),
            |x| x == i16::MIN || x == i16::MAX,
        ),
        AudioBufferRef::S24(b) => mix_into(
            &planes!(b),
            out,
            stats,
            |x: i24| x.inner() as f32 * (1.0 / 8_388_608.0),
            |x| x.inner() <= i24::MIN.inner() || x.inner() >= i24::MAX.inner(),
        ),
        AudioBufferRef::S32(b) => mix_into(
            &planes!(b),
            out,
            stats,
            |x: i32| (f64::from(x) * (1.0 / 2_147_483_648.0)) as f32,
            |x| x == i32::MIN || x == i32::MAX,
        ),
        AudioBufferRef::F32(b) => {
            mix_into(&planes!(b), out, stats, |x: f32| x, |x: f32| x.abs() >= 1.0)
        }
        AudioBufferRef::F64(b) => mix_into(
            &planes!(b),
            out,
            stats,
            |x: f64| x as f32,
            |x: f64| x.abs() >= 1.0,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{fixtures, wav_bytes};
    use std::fs::File;
    use std::io::Write;

    fn write_tmp(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        let mut f = File::create(&p).unwrap();
        f.write_all(bytes).unwrap();
        p
    }

    #[test]
    fn real_icbhi_files_decode_with_expected_properties() {
        let dir = fixtures().join("icbhi/ICBHI_final_database");
        // (file, rate, bits, frames) from the fixtures' README.
        let cases = [
            ("102_1b1_Ar_sc_Meditron.wav", 44_100, 16, 882_000),
            ("104_1b1_Al_sc_Litt3200.wav", 4_000, 16, 63_424),
            ("104_1b1_Ll_sc_Litt3200.wav", 4_000, 16, 73_920),
            ("130_1p3_Ll_mc_AKGC417L.wav", 44_100, 24, 882_000),
        ];
        for (name, rate, bits, frames) in cases {
            let d = decode_file(dir.join(name)).unwrap();
            assert_eq!(d.sample_rate, rate, "{name}");
            assert_eq!(d.info.bits_per_sample, Some(bits), "{name}");
            assert_eq!(d.info.channels, 1, "{name}");
            assert_eq!(d.info.frames, frames, "{name}");
            assert_eq!(d.samples.len() as u64, frames, "{name}");
            assert_eq!(d.skipped_packets, 0, "{name}");
            assert!(
                d.samples.iter().all(|x| x.is_finite() && x.abs() <= 1.0),
                "{name}"
            );
        }
        // Littmann 3200 files are peak-normalised: one sample at -32768 (sample 28803).
        let litt = decode_file(dir.join("104_1b1_Al_sc_Litt3200.wav")).unwrap();
        assert_eq!(litt.samples[28_803], -1.0);
        assert_eq!(litt.peak, 1.0);
        assert!(litt.clipped_samples >= 1);
        // The AKG file has 12 470 samples at +-2^23 (README).
        let akg = decode_file(dir.join("130_1p3_Ll_mc_AKGC417L.wav")).unwrap();
        assert_eq!(akg.clipped_samples, 12_470);
        assert_eq!(akg.peak, 1.0);
    }

    #[test]
    fn fast_wav_path_equals_symphonia() {
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(fixtures().join("icbhi/ICBHI_final_database"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "wav"))
                .collect();
        files.push(fixtures().join("coswara/20200413/VcmjCfW6ddgE9lFhDXTO6hDlb452/vowel-a.wav"));
        let tmp = tempfile::tempdir().unwrap();
        let stereo: Vec<u8> = [-32768i16, 32767, 16384, 0, 0, -16384, 5, 7]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        files.push(write_tmp(
            tmp.path(),
            "st.wav",
            &wav_bytes(1, 2, 8000, 16, &stereo),
        ));
        let mut s24 = Vec::new();
        for v in [-8_388_608i32, 8_388_607, 4_194_304, -3, 0, 1] {
            s24.extend_from_slice(&v.to_le_bytes()[..3]);
        }
        files.push(write_tmp(
            tmp.path(),
            "s24.wav",
            &wav_bytes(1, 3, 8000, 24, &s24),
        ));
        files.push(write_tmp(
            tmp.path(),
            "u8.wav",
            &wav_bytes(1, 1, 8000, 8, &[0, 255, 128, 3]),
        ));
        let f: Vec<u8> = [0.5f32, -2.0, 0.25, 1.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        files.push(write_tmp(
            tmp.path(),
            "f32.wav",
            &wav_bytes(3, 2, 8000, 32, &f),
        ));
        for p in &files {
            let bytes = std::fs::read(p).unwrap();
            let fast = crate::wav_fast::decode_wav(p, &bytes)
                .unwrap_or_else(|| panic!("{} not taken by the fast path", p.display()))
                .unwrap();
            let slow = decode_with_symphonia(p).unwrap();
            assert_eq!(fast, slow, "{}", p.display());
        }
        // Header-only: both say "no audio samples".
        let p = fixtures().join("coswara/20200413/TRK6gUseEUS7dbF0soG80W1uLm53/vowel-a.wav");
        let bytes = std::fs::read(&p).unwrap();
        assert!(matches!(
            crate::wav_fast::decode_wav(&p, &bytes),
            Some(Err(Error::NoAudioSamples { .. }))
        ));
        assert!(matches!(
            decode_with_symphonia(&p),
            Err(Error::NoAudioSamples { .. })
        ));
    }

    #[test]
    fn a_wav_header_after_leading_bytes_is_checked_before_symphonia() {
        // Symphonia's probe finds a RIFF marker anywhere in the first megabyte; its WAV
        // reader panics on a zero rate (found by the audio_any fuzz target).
        let tmp = tempfile::tempdir().unwrap();
        for (rate, channels, field) in [(0, 1, "sample rate = 0 Hz"), (8000, 0, "channels = 0")] {
            let mut bytes = vec![0xd4u8; 70];
            bytes.extend(wav_bytes(1, channels, rate, 16, &[0, 1, 2, 3]));
            let p = write_tmp(tmp.path(), "junk-then-riff.wav", &bytes);
            let msg = decode_file(&p).unwrap_err().to_string();
            assert!(
                msg.contains("junk-then-riff.wav") && msg.contains(field),
                "{msg}"
            );
        }
        // A valid header there still decodes.
        let mut bytes = vec![0u8; 70];
        bytes.extend(wav_bytes(1, 1, 8000, 16, &[0, 1, 2, 3]));
        let p = write_tmp(tmp.path(), "junk-then-riff.wav", &bytes);
        assert_eq!(decode_file(&p).unwrap().samples.len(), 2);
    }

    #[test]
    fn float_samples_beyond_two_to_the_24_are_damaged() {
        // Found by the audio_any fuzz target: float WAVs of 1e30-ish samples made the
        // resampler panic. 2^24 (24-bit integer scale, unnormalised) still decodes.
        let tmp = tempfile::tempdir().unwrap();
        for (value, ok) in [(16_777_216.0f32, true), (3.0e7, false), (-1e30, false)] {
            let data: Vec<u8> = [0.25f32, value, -0.5]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect();
            let p = write_tmp(tmp.path(), "loud.wav", &wav_bytes(3, 1, 8000, 32, &data));
            match decode_file(&p) {
                Ok(d) => assert!(ok && d.samples[1] == value, "{value}"),
                Err(e) => {
                    let msg = e.to_string();
                    assert!(
                        !ok && msg.contains("loud.wav") && msg.contains("exceed"),
                        "{msg}"
                    );
                }
            }
        }
    }

    #[test]
    fn header_only_wav_is_a_clear_error() {
        let p = fixtures().join("coswara/20200413/TRK6gUseEUS7dbF0soG80W1uLm53/cough-heavy.wav");
        let err = decode_file(&p).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::NoAudioSamples { .. }), "{msg}");
        assert!(
            msg.contains("no audio samples") && msg.contains("cough-heavy.wav"),
            "{msg}"
        );
    }

    #[test]
    fn coswara_48k_decodes() {
        let p = fixtures().join("coswara/20200413/iq8oYXczSjPuJoVS7DBpkGNMC2p1/cough-heavy.wav");
        let d = decode_file(p).unwrap();
        assert_eq!(d.sample_rate, 48_000);
        assert_eq!(d.samples.len(), 233_472); // 4.864 s
    }

    #[test]
    fn int16_scaling_and_stereo_mixing_match_soundfile() {
        let tmp = tempfile::tempdir().unwrap();
        // Stereo 16-bit: frames (L, R) = (-32768, 32767), (16384, 0), (0, -16384).
        let vals: [i16; 6] = [-32768, 32767, 16384, 0, 0, -16384];
        let data: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let p = write_tmp(tmp.path(), "s.wav", &wav_bytes(1, 2, 8000, 16, &data));
        let d = decode_file(&p).unwrap();
        assert_eq!(d.info.channels, 2);
        assert_eq!(d.info.frames, 3);
        let expect = [(-1.0 + 32767.0 / 32768.0) / 2.0, 0.25, -0.25];
        for (a, b) in d.samples.iter().zip(expect) {
            assert!((a - b).abs() < 1e-7, "{a} vs {b}");
        }
        assert_eq!(d.clipped_samples, 2);
        assert_eq!(d.peak, 1.0);
    }

    #[test]
    fn other_pcm_depths_and_float() {
        let tmp = tempfile::tempdir().unwrap();
        // 8-bit unsigned: 0 -> -1, 128 -> 0, 192 -> 0.5.
        let p = write_tmp(
            tmp.path(),
            "u8.wav",
            &wav_bytes(1, 1, 8000, 8, &[0, 128, 192, 128]),
        );
        let d = decode_file(&p).unwrap();
        assert_eq!(&d.samples, &[-1.0, 0.0, 0.5, 0.0]);
        // 24-bit: -2^23 -> -1, 2^22 -> 0.5.
        let mut data = Vec::new();
        for v in [-8_388_608i32, 4_194_304, 0, 1] {
            data.extend_from_slice(&v.to_le_bytes()[..3]);
        }
        let p = write_tmp(tmp.path(), "s24.wav", &wav_bytes(1, 1, 8000, 24, &data));
        let d = decode_file(&p).unwrap();
        assert_eq!(d.info.bits_per_sample, Some(24));
        assert_eq!(&d.samples[..3], &[-1.0, 0.5, 0.0]);
        assert!((d.samples[3] - 1.0 / 8_388_608.0).abs() < 1e-12);
        // 32-bit int.
        let data: Vec<u8> = [i32::MIN, 1 << 30, 0, 0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let p = write_tmp(tmp.path(), "s32.wav", &wav_bytes(1, 1, 8000, 32, &data));
        let d = decode_file(&p).unwrap();
        assert_eq!(&d.samples, &[-1.0, 0.5, 0.0, 0.0]);
        // 32-bit float (tag 3), 64-bit float.
        let data: Vec<u8> = [0.25f32, -0.5, 1.5, 0.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let p = write_tmp(tmp.path(), "f32.wav", &wav_bytes(3, 1, 8000, 32, &data));
        let d = decode_file(&p).unwrap();
        assert_eq!(&d.samples, &[0.25, -0.5, 1.5, 0.0]);
        assert_eq!(d.clipped_samples, 1);
        let data: Vec<u8> = [0.25f64, -0.5, 0.0, 0.125]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let p = write_tmp(tmp.path(), "f64.wav", &wav_bytes(3, 1, 8000, 64, &data));
        let d = decode_file(&p).unwrap();
        assert_eq!(&d.samples, &[0.25, -0.5, 0.0, 0.125]);
    }

    #[test]
    fn extensible_wav_decodes() {
        let tmp = tempfile::tempdir().unwrap();
        // WAVE_FORMAT_EXTENSIBLE, 16-bit PCM subformat, mono.
        let samples: [i16; 4] = [0, 16384, -16384, 8192];
        let data: Vec<u8> = samples.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut v = Vec::new();
        v.extend_from_slice(b"RIFF");
        v.extend_from_slice(&(4 + 8 + 40 + 8 + data.len() as u32).to_le_bytes());
        v.extend_from_slice(b"WAVEfmt ");
        v.extend_from_slice(&40u32.to_le_bytes());
        v.extend_from_slice(&0xFFFEu16.to_le_bytes());
        v.extend_from_slice(&1u16.to_le_bytes());
        v.extend_from_slice(&16_000u32.to_le_bytes());
        v.extend_from_slice(&32_000u32.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&16u16.to_le_bytes());
        v.extend_from_slice(&22u16.to_le_bytes()); // cbSize
        v.extend_from_slice(&16u16.to_le_bytes()); // valid bits
        v.extend_from_slice(&4u32.to_le_bytes()); // channel mask: front centre
        // KSDATAFORMAT_SUBTYPE_PCM GUID 00000001-0000-0010-8000-00aa00389b71
        v.extend_from_slice(&[
            0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38,
            0x9b, 0x71,
        ]);
        v.extend_from_slice(b"data");
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(&data);
        let p = write_tmp(tmp.path(), "ext.wav", &v);
        let d = decode_file(&p).unwrap();
        assert_eq!(&d.samples, &[0.0, 0.5, -0.5, 0.25]);
    }

    #[test]
    fn content_wins_over_extension_and_garbage_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let data: Vec<u8> = [1000i16, -1000]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let p = write_tmp(
            tmp.path(),
            "actually_wav.mp3",
            &wav_bytes(1, 1, 8000, 16, &data),
        );
        assert_eq!(decode_file(&p).unwrap().samples.len(), 2);

        let p = write_tmp(
            tmp.path(),
            "noise.wav",
            b"this is not audio at all, just text",
        );
        let err = decode_file(&p).unwrap_err();
        assert!(err.to_string().contains("noise.wav"), "{err}");

        let missing = tmp.path().join("missing.wav");
        let err = decode_file(&missing).unwrap_err();
        assert!(matches!(err, Error::Io { .. }) && err.to_string().contains("missing.wav"));
    }

    #[test]
    fn declared_sizes_do_not_drive_allocation() {
        let tmp = tempfile::tempdir().unwrap();
        // RIFF and data chunks that claim 4 GiB (the streaming-WAV convention) but hold 4
        // samples; then a truncated header.
        let data: Vec<u8> = [1i16, 2, 3, 4]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let mut bytes = wav_bytes(1, 1, 8000, 16, &data);
        let n = bytes.len();
        bytes[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        bytes[n - 8 - 4..n - 8].copy_from_slice(&u32::MAX.to_le_bytes());
        let p = write_tmp(tmp.path(), "liar.wav", &bytes);
        let d = decode_file(&p).unwrap();
        assert_eq!(d.samples.len(), 4);
        assert!(d.samples.capacity() < 1 << 20);

        let p = write_tmp(tmp.path(), "truncated.wav", &bytes[..30]);
        let err = decode_file(&p).unwrap_err();
        assert!(err.to_string().contains("truncated.wav"), "{err}");
    }
}
