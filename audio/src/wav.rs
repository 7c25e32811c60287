//! Writing WAV files with hound (atomically: a temporary file, then a rename).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fs::temp_path;

/// Sample format of a written WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WavFormat {
    /// 16-bit PCM: `round(x * 32768)` clipped to [-32768, 32767] (soundfile's convention).
    Int16,
    /// 32-bit IEEE float, unchanged.
    Float32,
}

/// Writes mono `samples` at `sample_rate` Hz to `path` as a WAV file.
///
/// # Errors
/// [`Error::InvalidSampleRate`] for a zero rate, [`Error::Wav`] when writing fails.
pub fn write_wav(path: &Path, samples: &[f32], sample_rate: u32, format: WavFormat) -> Result<()> {
    if sample_rate == 0 {
        return Err(Error::InvalidSampleRate {
            sample_rate,
            reason: "a WAV file needs a positive sample rate".into(),
        });
    }
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: match format {
            WavFormat::Int16 => 16,
            WavFormat::Float32 => 32,
        },
        sample_format: match format {
            WavFormat::Int16 => hound::SampleFormat::Int,
            WavFormat::Float32 => hound::SampleFormat::Float,
        },
    };
    let tmp = temp_path(path);
    let wav_err = |e: hound::Error| Error::Wav {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let result = (|| {
        let mut writer = hound::WavWriter::create(&tmp, spec).map_err(wav_err)?;
        match format {
            WavFormat::Int16 => {
                let mut w = writer.get_i16_writer(samples.len() as u32);
                for &x in samples {
                    w.write_sample((x * 32768.0).round().clamp(-32768.0, 32767.0) as i16);
                }
                w.flush().map_err(wav_err)?;
            }
            WavFormat::Float32 => {
                for &x in samples {
                    writer.write_sample(x).map_err(wav_err)?;
                }
            }
        }
        writer.finalize().map_err(wav_err)?;
        std::fs::rename(&tmp, path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode_file;

    #[test]
    fn written_files_decode_back() {
        let dir = tempfile::tempdir().unwrap();
        let x: Vec<f32> = vec![0.0, 0.5, -0.5, 1.0, -1.0, 0.25];
        let p = dir.path().join("a.wav");
        write_wav(&p, &x, 16_000, WavFormat::Int16).unwrap();
        let d = decode_file(&p).unwrap();
        assert_eq!(d.info.bits_per_sample, Some(16));
        assert_eq!(d.sample_rate, 16_000);
        // +1.0 clips to 32767 / 32768; everything else is exact.
        assert_eq!(&d.samples, &[0.0, 0.5, -0.5, 32767.0 / 32768.0, -1.0, 0.25]);
        write_wav(&p, &x, 8000, WavFormat::Float32).unwrap();
        let d = decode_file(&p).unwrap();
        assert_eq!(d.samples, x);
        assert!(
            std::fs::read_dir(dir.path()).unwrap().count() == 1,
            "temporary file left"
        );
    }
}
