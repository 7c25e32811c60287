//! Reading an audio file's stream properties without decoding its samples.
//!
//! PCM and IEEE-float WAV files (nearly every file of a respiratory-sound corpus) are read by
//! the fast WAV path's chunk walk (`wav_fast.rs`) from the first bytes of the file; the samples
//! are never read. Anything that walk does not take is decoded in full by
//! [`decode_file`](crate::decode_file)'s
//! Symphonia path, so that the two functions accept the same files.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::decode::decode_bytes;
use crate::decoded::AudioInfo;
use crate::error::{Error, Result};
use crate::wav_fast::parse_layout;

/// Bytes read first: enough for any WAV header short of a very long metadata chunk before
/// `data` (the whole file is read then).
const HEADER_PREFIX: u64 = 64 * 1024;

/// Reads the stream properties of an audio file: sample rate, channels, bits per sample and
/// frames (samples per channel).
///
/// A PCM or IEEE-float WAV file (8/16/24/32-bit integer, 32/64-bit float, plain or
/// `WAVE_FORMAT_EXTENSIBLE`) is read from its header only: `frames` is the number of whole
/// frames its `data` chunk holds (cut at the end of the file, as decoding does), 0 for a
/// header-only file, which is not an error here. Any other file is decoded in full with
/// Symphonia and `frames` counts what was decoded. Either way the result equals
/// `decode_file(path)?.info` for a file that decodes ([`decode_file`](crate::decode_file)).
///
/// # Errors
/// [`Error::Io`] when the file cannot be opened or read; [`Error::InvalidHeader`] for an
/// impossible sample rate, channel count or bit depth; [`Error::Damaged`] for an empty file or a
/// `fmt ` chunk cut short; and whatever [`decode_file`](crate::decode_file) reports for files the header reader does
/// not take ([`Error::UnsupportedFormat`], [`Error::NoAudioSamples`], ...). Every error names
/// the file.
pub fn read_header(path: impl AsRef<Path>) -> Result<AudioInfo> {
    let path = path.as_ref();
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let declared_len = file.metadata().map_err(io)?.len();
    let mut bytes = Vec::new();
    (&mut file)
        .take(HEADER_PREFIX)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    // A short read is the whole file, whatever the metadata says.
    let file_len = if (bytes.len() as u64) < HEADER_PREFIX {
        bytes.len()
    } else {
        usize::try_from(declared_len)
            .unwrap_or(usize::MAX)
            .max(bytes.len())
    };
    if let Some(layout) = parse_layout(path, &bytes, file_len) {
        return layout.map(|l| l.info());
    }
    if bytes.len() < file_len {
        // A long chunk before `data`, or not a WAV file: read the rest.
        file.read_to_end(&mut bytes).map_err(io)?;
        if let Some(layout) = parse_layout(path, &bytes, bytes.len()) {
            return layout.map(|l| l.info());
        }
    }
    decode_bytes(path, bytes).map(|d| d.info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode_file;
    use crate::test_support::{fixtures, wav_bytes};

    #[test]
    fn real_fixture_headers_equal_what_decoding_finds() {
        // (file, rate, bits, frames) from the fixtures' README.
        let icbhi = fixtures().join("icbhi/ICBHI_final_database");
        for (name, rate, bits, frames) in [
            ("102_1b1_Ar_sc_Meditron.wav", 44_100, 16, 882_000),
            ("104_1b1_Al_sc_Litt3200.wav", 4_000, 16, 63_424),
            ("104_1b1_Ll_sc_Litt3200.wav", 4_000, 16, 73_920),
            ("130_1p3_Ll_mc_AKGC417L.wav", 44_100, 24, 882_000),
        ] {
            let p = icbhi.join(name);
            let h = read_header(&p).unwrap();
            assert_eq!(
                (h.sample_rate, h.bits_per_sample, h.channels, h.frames),
                (rate, Some(bits), 1, frames),
                "{name}"
            );
            assert_eq!(h, decode_file(&p).unwrap().info, "{name}");
        }
        let coswara = fixtures().join("coswara/20200413");
        let p = coswara.join("iq8oYXczSjPuJoVS7DBpkGNMC2p1/cough-heavy.wav");
        assert_eq!(read_header(&p).unwrap(), decode_file(&p).unwrap().info);
        // Header-only WAVs: readable, zero frames (decoding them is an error).
        for p in [
            coswara.join("TRK6gUseEUS7dbF0soG80W1uLm53/vowel-a.wav"),
            coswara.join("VcmjCfW6ddgE9lFhDXTO6hDlb452/counting-fast.wav"),
        ] {
            let h = read_header(&p).unwrap();
            assert_eq!(h.frames, 0, "{}", p.display());
            assert_eq!(h.bits_per_sample, Some(16));
            assert!(matches!(decode_file(&p), Err(Error::NoAudioSamples { .. })));
        }
    }

    #[test]
    fn a_long_chunk_before_data_reads_the_whole_file() {
        let tmp = tempfile::tempdir().unwrap();
        let data: Vec<u8> = [1i16, -2, 3].iter().flat_map(|v| v.to_le_bytes()).collect();
        let plain = wav_bytes(1, 1, 8000, 16, &data);
        // RIFF/WAVE/fmt (36 bytes), then a 100 kB LIST chunk, then data.
        let mut bytes = plain[..36].to_vec();
        bytes.extend_from_slice(b"LIST");
        bytes.extend_from_slice(&100_000u32.to_le_bytes());
        bytes.extend(std::iter::repeat_n(0u8, 100_000));
        bytes.extend_from_slice(&plain[36..]);
        let p = tmp.path().join("list.wav");
        std::fs::write(&p, &bytes).unwrap();
        let h = read_header(&p).unwrap();
        assert_eq!((h.frames, h.sample_rate), (3, 8000));
        assert_eq!(h, decode_file(&p).unwrap().info);
    }

    #[test]
    fn truncated_data_counts_the_frames_present() {
        let tmp = tempfile::tempdir().unwrap();
        // Stereo 16-bit, 3 whole frames and half of a fourth; the data chunk claims 4 GiB.
        let data = [0u8; 3 * 4 + 2];
        let mut bytes = wav_bytes(1, 2, 8000, 16, &data);
        let n = bytes.len();
        bytes[n - data.len() - 4..n - data.len()].copy_from_slice(&u32::MAX.to_le_bytes());
        let p = tmp.path().join("cut.wav");
        std::fs::write(&p, &bytes).unwrap();
        let h = read_header(&p).unwrap();
        assert_eq!((h.frames, h.channels), (3, 2));
        assert_eq!(h, decode_file(&p).unwrap().info);
    }

    #[test]
    fn errors_name_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let cases: [(&str, Vec<u8>, &str); 4] = [
            (
                "text.wav",
                b"this is not audio at all, just text".to_vec(),
                "unsupported",
            ),
            ("empty.wav", Vec::new(), "empty"),
            (
                "rate0.wav",
                wav_bytes(1, 1, 0, 16, &[0, 0]),
                "sample rate = 0 Hz",
            ),
            (
                "cut.wav",
                wav_bytes(1, 1, 8000, 16, &[0, 0])[..30].to_vec(),
                "fmt chunk",
            ),
        ];
        for (name, bytes, needle) in cases {
            let p = tmp.path().join(name);
            std::fs::write(&p, &bytes).unwrap();
            let msg = read_header(&p).unwrap_err().to_string();
            assert!(msg.contains(name) && msg.contains(needle), "{name}: {msg}");
        }
        let missing = tmp.path().join("missing.wav");
        let err = read_header(&missing).unwrap_err();
        assert!(matches!(err, Error::Io { .. }) && err.to_string().contains("missing.wav"));
    }
}
