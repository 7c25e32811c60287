//! A corpus of malformed and hostile audio files, written on demand, for robustness tests of
//! everything that reads audio (this crate's tests, the CLI's batch commands).
//!
//! Each file is small (at most a few kB) and deterministic, and has its own stem (a batch
//! writes `<stem>.npy`). Files that a reader must reject
//! have [`HostileFile::valid`] false; the few valid oddities (255 channels, a prime sample
//! rate) must decode.

use std::path::{Path, PathBuf};

/// One file of the corpus.
#[derive(Debug, Clone)]
pub struct HostileFile {
    /// Where it was written.
    pub path: PathBuf,
    /// Whether a reader must decode it (true) or reject it with an error (false).
    pub valid: bool,
    /// What is wrong with it (or unusual about it).
    pub what: &'static str,
}

const PCM: u16 = 1;
const FLOAT: u16 = 3;

/// A WAV file's bytes from its `fmt ` fields; `declared_data` overrides the data chunk's size
/// field (for files that claim more than they hold).
fn wav(
    tag: u16,
    channels: u16,
    rate: u32,
    bits: u16,
    data: &[u8],
    declared_data: Option<u32>,
) -> Vec<u8> {
    let block_align = channels.wrapping_mul(bits / 8);
    let data_len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    let mut b = Vec::with_capacity(44 + data.len());
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&tag.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    let byte_rate = rate.wrapping_mul(u32::from(block_align));
    b.extend_from_slice(&byte_rate.to_le_bytes());
    b.extend_from_slice(&block_align.to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&declared_data.unwrap_or(data_len).to_le_bytes());
    b.extend_from_slice(data);
    b
}

/// `n` 16-bit samples of a quiet 440 Hz-ish ramp (valid, nonzero data).
fn pcm16(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| (((i * 37) % 2000) as i16 - 1000).to_le_bytes())
        .collect()
}

/// Deterministic pseudo-random bytes (a 64-bit LCG; no dependency).
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (s >> 56) as u8
        })
        .collect()
}

fn float32(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Writes the corpus into `dir` (which must exist) and lists it.
///
/// # Errors
/// When a file cannot be written.
pub fn write_corpus(dir: &Path) -> std::io::Result<Vec<HostileFile>> {
    let ok = pcm16(800);
    let mut nan = vec![0.1f32; 400];
    nan[17] = f32::NAN;
    let mut inf = vec![-0.2f32; 400];
    inf[300] = f32::INFINITY;
    let mut huge_fmt = wav(PCM, 1, 8000, 16, &ok, None);
    huge_fmt[16..20].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let mut huge_riff = wav(PCM, 1, 8000, 16, &ok, Some(0xFFFF_FFF0));
    huge_riff[4..8].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let mut flac_garbage = b"fLaC".to_vec();
    flac_garbage.extend(noise(600, 7));
    let mut fmt_cut = wav(PCM, 1, 8000, 16, &[], None);
    fmt_cut.truncate(30);
    let files: Vec<(&str, Vec<u8>, bool, &'static str)> = vec![
        (
            "good.wav",
            wav(PCM, 1, 8000, 16, &ok, None),
            true,
            "a valid 16-bit WAV",
        ),
        (
            "channels-255.wav",
            wav(PCM, 255, 8000, 16, &pcm16(255 * 20), None),
            true,
            "255 channels, 20 frames",
        ),
        (
            "rate-prime.wav",
            wav(PCM, 1, 1_000_003, 16, &ok, None),
            true,
            "a prime sample rate (1000003 Hz)",
        ),
        (
            "rate-zero.wav",
            wav(PCM, 1, 0, 16, &ok, None),
            false,
            "sample rate 0",
        ),
        (
            "rate-huge.wav",
            wav(PCM, 1, u32::MAX, 16, &ok, None),
            false,
            "sample rate 4294967295 Hz",
        ),
        (
            "channels-zero.wav",
            wav(PCM, 0, 8000, 16, &ok, None),
            false,
            "0 channels",
        ),
        (
            "bits-zero.wav",
            wav(PCM, 1, 8000, 0, &ok, None),
            false,
            "0 bits per sample",
        ),
        (
            "bits-12.wav",
            wav(PCM, 1, 8000, 12, &ok, None),
            false,
            "12 bits per sample",
        ),
        (
            "bits-64-int.wav",
            wav(PCM, 1, 8000, 64, &ok, None),
            false,
            "64-bit integer PCM",
        ),
        (
            "unknown-tag.wav",
            wav(0x1234, 1, 8000, 16, &ok, None),
            false,
            "format tag 0x1234",
        ),
        (
            "header-only.wav",
            wav(PCM, 1, 8000, 16, &[], None),
            false,
            "no data",
        ),
        (
            "truncated.wav",
            wav(PCM, 1, 8000, 16, &ok[..101], Some(100_000)),
            true,
            "data chunk declares 100000 bytes, holds 101 (the frames present are read)",
        ),
        (
            "declared-huge-fmt.wav",
            huge_fmt,
            false,
            "fmt chunk declares 4 GB",
        ),
        (
            "declared-huge-riff.wav",
            huge_riff,
            true,
            "RIFF and data sizes declare 4 GB (a streaming writer's placeholder)",
        ),
        ("fmt-cut.wav", fmt_cut, false, "ends inside the fmt chunk"),
        (
            "nan.wav",
            wav(FLOAT, 1, 8000, 32, &float32(&nan), None),
            false,
            "a NaN sample",
        ),
        (
            "inf.wav",
            wav(FLOAT, 1, 8000, 32, &float32(&inf), None),
            false,
            "an infinite sample",
        ),
        ("random-wav.wav", noise(3000, 1), false, "random bytes"),
        ("random-flac.flac", noise(3000, 2), false, "random bytes"),
        ("random-mp3.mp3", noise(3000, 3), false, "random bytes"),
        ("random-ogg.ogg", noise(3000, 4), false, "random bytes"),
        (
            "flac-garbage.flac",
            flac_garbage,
            false,
            "a FLAC marker, then random bytes",
        ),
        ("empty-wav.wav", Vec::new(), false, "an empty file"),
        ("empty-flac.flac", Vec::new(), false, "an empty file"),
        (
            "text.wav",
            b"this is not audio\n".to_vec(),
            false,
            "a text file",
        ),
    ];
    let mut out = Vec::with_capacity(files.len());
    for (name, bytes, valid, what) in files {
        let path = dir.join(name);
        std::fs::write(&path, bytes)?;
        out.push(HostileFile { path, valid, what });
    }
    Ok(out)
}
