//! auscult-audio: the audio front end of auscult.
//!
//! Decoding (a fast PCM/float WAV path, Symphonia for the rest), header reading without
//! decoding ([`read_header`]), resampling (rubato's FFT resampler), STFT and log-Mel spectrograms
//! with librosa, torchaudio and Kaldi-fbank conventions, Griffin-Lim inversion, WAV writing
//! and `.npy` I/O. No ML dependencies: everything speaks `&[f32]` and small structs.
//!
//! ```
//! use auscult_audio::{MelConfig, MelSpectrogram};
//!
//! // One second of a 1 kHz tone at 16 kHz -> 128 x 101 log-Mel (librosa conventions).
//! let x: Vec<f32> = (0..16_000)
//!     .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 16_000.0).sin())
//!     .collect();
//! let cfg = MelConfig { n_fft: 1024, hop_length: 160, win_length: 1024, ..MelConfig::librosa(16_000) };
//! let mut mel = MelSpectrogram::new(&cfg)?;
//! let spec = mel.compute(&x);
//! assert_eq!((spec.n_bins, spec.n_frames), (128, 101));
//! # Ok::<(), auscult_audio::Error>(())
//! ```

#[doc(hidden)]
pub mod bench;
mod bin_stats;
mod db;
mod decode;
mod decoded;
mod error;
mod fs;
#[doc(hidden)]
pub mod fuzz;
mod griffin_lim;
mod guard;
mod header;
pub mod hostile;
mod mel;
mod npy;
mod resample;
mod stft;
mod wav;
mod wav_fast;

pub use bin_stats::{BinStats, BinStatsAccumulator, STD_FLOOR_DB};
pub use db::{LogScale, apply_log, undo_log};
pub use decode::decode_file;
pub use decoded::{AudioInfo, Decoded, MAX_CHANNELS, MAX_SAMPLE_RATE};
pub use error::{Error, Result};
pub use fs::{temp_path, write_atomic};
pub use griffin_lim::{GRIFFIN_LIM_MOMENTUM, griffin_lim_mel};
pub use header::read_header;
pub use mel::{
    KaldiOptions, MelConfig, MelNorm, MelScale, MelSpectrogram, Spectrogram, hz_to_mel,
    mel_filterbank, mel_to_hz,
};
pub use npy::{read_npy_f32, write_npy_f32};
pub use resample::{resample, resampled_len};
pub use stft::{PadMode, Stft, Window};
pub use wav::{WavFormat, write_wav};

#[cfg(test)]
pub(crate) mod test_support {
    use std::path::{Path, PathBuf};

    /// The repository's `testdata/golden` (or `$AUSCULT_GOLDEN`), failing plainly when missing.
    pub fn golden_dir() -> PathBuf {
        let dir = std::env::var_os("AUSCULT_GOLDEN")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/golden"));
        assert!(
            dir.is_dir(),
            "golden reference files are missing: looked in {} (they ship in the repository's \
             `testdata/golden`; set AUSCULT_GOLDEN to use another copy)",
            dir.display()
        );
        dir
    }

    /// The repository's `testdata/fixtures/real` (or `$AUSCULT_FIXTURES`), failing plainly
    /// when missing.
    pub fn fixtures() -> PathBuf {
        let dir = std::env::var_os("AUSCULT_FIXTURES")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/fixtures/real")
            });
        assert!(
            dir.is_dir(),
            "real audio fixtures are missing: looked in {} (they ship in the repository's \
             `testdata/fixtures/real`; set AUSCULT_FIXTURES to use another copy)",
            dir.display()
        );
        dir
    }

    /// A canonical 44-byte-header PCM WAV written by hand, so that a test controls every
    /// header byte.
    pub fn wav_bytes(format_tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        let block_align = channels * bits.div_ceil(8);
        let mut v = Vec::new();
        v.extend_from_slice(b"RIFF");
        v.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
        v.extend_from_slice(b"WAVEfmt ");
        v.extend_from_slice(&16u32.to_le_bytes());
        v.extend_from_slice(&format_tag.to_le_bytes());
        v.extend_from_slice(&channels.to_le_bytes());
        v.extend_from_slice(&rate.to_le_bytes());
        v.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
        v.extend_from_slice(&block_align.to_le_bytes());
        v.extend_from_slice(&bits.to_le_bytes());
        v.extend_from_slice(b"data");
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(data);
        v
    }
}
