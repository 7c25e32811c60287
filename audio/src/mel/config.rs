//! [`MelConfig`], everything that defines a (log-)Mel spectrogram, its presets (librosa,
//! torchaudio, Kaldi fbank) and its validation.

use serde::{Deserialize, Serialize};

use super::kaldi::KaldiOptions;
use super::scale::MelScale;
use crate::db::LogScale;
use crate::error::{Error, Result};
use crate::stft::{PadMode, Window, check_sizes, frames};

/// Normalisation of each Mel filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MelNorm {
    /// Slaney's constant-area triangles: each row times `2 / (f[i+2] - f[i])` (Hz).
    Slaney,
    /// Unit-peak triangles.
    None,
}

/// Everything that defines a (log-)Mel spectrogram. Serialised next to every model so that
/// features are always made the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MelConfig {
    /// Sample rate of the input in Hz.
    pub sample_rate: u32,
    /// FFT size (frames are zero-padded to it).
    pub n_fft: usize,
    /// Window length in samples, at most `n_fft`.
    pub win_length: usize,
    /// Hop between frames in samples.
    pub hop_length: usize,
    /// Number of Mel bands.
    pub n_mels: usize,
    /// Lowest filter edge in Hz.
    pub f_min: f32,
    /// Highest filter edge in Hz (`None`: Nyquist).
    pub f_max: Option<f32>,
    /// Analysis window.
    pub window: Window,
    /// Centre frames on `t * hop` by padding `n_fft / 2` on both sides (ignored in Kaldi mode).
    pub center: bool,
    /// How centring pads.
    pub pad_mode: PadMode,
    /// Exponent of the magnitude: 2 for power, 1 for magnitude.
    pub power: f32,
    /// Mel scale of the filters.
    pub mel_scale: MelScale,
    /// Filter normalisation.
    pub norm: MelNorm,
    /// Compression applied to the Mel spectrogram.
    pub log: LogScale,
    /// Kaldi fbank framing and processing, when set.
    pub kaldi: Option<KaldiOptions>,
}

impl MelConfig {
    /// librosa `melspectrogram` defaults (n_fft 2048, hop 512, 128 Slaney-normalised Slaney
    /// Mels, periodic Hann, zero-padded centring, power 2) followed by
    /// `power_to_db(ref=1.0, amin=1e-10, top_db=80)`.
    pub fn librosa(sample_rate: u32) -> Self {
        MelConfig {
            sample_rate,
            n_fft: 2048,
            win_length: 2048,
            hop_length: 512,
            n_mels: 128,
            f_min: 0.0,
            f_max: None,
            window: Window::Hann,
            center: true,
            pad_mode: PadMode::Constant,
            power: 2.0,
            mel_scale: MelScale::Slaney,
            norm: MelNorm::Slaney,
            log: LogScale::LIBROSA_DB,
            kaldi: None,
        }
    }

    /// torchaudio `MelSpectrogram` defaults (n_fft 400, hop 200, 128 HTK Mels without
    /// normalisation, reflect-padded centring, power 2) followed by `AmplitudeToDB`
    /// (`10 log10(max(x, 1e-10))`, no top_db).
    pub fn torchaudio(sample_rate: u32) -> Self {
        MelConfig {
            sample_rate,
            n_fft: 400,
            win_length: 400,
            hop_length: 200,
            n_mels: 128,
            f_min: 0.0,
            f_max: None,
            window: Window::Hann,
            center: true,
            pad_mode: PadMode::Reflect,
            power: 2.0,
            mel_scale: MelScale::Htk,
            norm: MelNorm::None,
            log: LogScale::Db {
                reference: 1.0,
                amin: 1e-10,
                top_db: None,
            },
            kaldi: None,
        }
    }

    /// `torchaudio.compliance.kaldi.fbank` as AST-based ICBHI models call it: 25 ms windows
    /// every 10 ms, symmetric Hann, FFT size the next power of two, 128 Kaldi-scale Mels from
    /// 20 Hz to Nyquist, waveform and frame mean removed, pre-emphasis 0.97, no dither,
    /// `ln(max(E, f32::EPSILON))`.
    pub fn kaldi(sample_rate: u32) -> Self {
        // torchaudio: int(sample_frequency * frame_length_ms * 0.001)
        let win = (f64::from(sample_rate) * 25.0 * 0.001) as usize;
        let hop = (f64::from(sample_rate) * 10.0 * 0.001) as usize;
        MelConfig {
            sample_rate,
            n_fft: win.max(1).next_power_of_two(),
            win_length: win,
            hop_length: hop,
            n_mels: 128,
            f_min: 20.0,
            f_max: None,
            window: Window::HannSymmetric,
            center: false,
            pad_mode: PadMode::Constant,
            power: 2.0,
            mel_scale: MelScale::Kaldi,
            norm: MelNorm::None,
            log: LogScale::Ln {
                floor: f32::EPSILON,
            },
            kaldi: Some(KaldiOptions::default()),
        }
    }

    /// Upper filter edge in Hz (`f_max` or Nyquist).
    pub fn f_max_hz(&self) -> f32 {
        self.f_max.unwrap_or(self.sample_rate as f32 / 2.0)
    }

    /// Frequency bins of one frame, `n_fft / 2 + 1`.
    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first bad field and what it should be.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &'static str, value: String, reason: String| {
            Err(Error::InvalidConfig {
                field,
                value,
                reason,
            })
        };
        if self.sample_rate == 0 {
            return bad("sample_rate", "0".into(), "must be positive (Hz)".into());
        }
        check_sizes(self.n_fft, self.hop_length, self.win_length)?;
        if self.n_mels == 0 {
            return bad("n_mels", "0".into(), "must be at least 1".into());
        }
        let nyquist = self.sample_rate as f32 / 2.0;
        if !(self.f_min >= 0.0 && self.f_min < nyquist) {
            return bad(
                "f_min",
                self.f_min.to_string(),
                format!("must be in [0, {nyquist}) Hz"),
            );
        }
        let f_max = self.f_max_hz();
        if !(f_max > self.f_min && f_max <= nyquist) {
            return bad(
                "f_max",
                f_max.to_string(),
                format!(
                    "must be above f_min = {} and at most Nyquist = {nyquist} Hz",
                    self.f_min
                ),
            );
        }
        if !(self.power > 0.0 && self.power.is_finite()) {
            return bad(
                "power",
                self.power.to_string(),
                "must be positive (2 = power)".into(),
            );
        }
        match self.log {
            LogScale::Db {
                reference,
                amin,
                top_db,
            } => {
                if !is_positive(amin) {
                    return bad(
                        "log.amin",
                        amin.to_string(),
                        "must be positive (1e-10)".into(),
                    );
                }
                if !is_positive(reference) {
                    return bad(
                        "log.reference",
                        reference.to_string(),
                        "must be positive".into(),
                    );
                }
                if top_db.is_some_and(|t| !is_non_negative(t)) {
                    return bad("log.top_db", format!("{top_db:?}"), "must be >= 0".into());
                }
            }
            LogScale::DbRefMax { amin, top_db } => {
                if !is_positive(amin) {
                    return bad(
                        "log.amin",
                        amin.to_string(),
                        "must be positive (1e-10)".into(),
                    );
                }
                if top_db.is_some_and(|t| !is_non_negative(t)) {
                    return bad("log.top_db", format!("{top_db:?}"), "must be >= 0".into());
                }
            }
            LogScale::Ln { floor } => {
                if !is_positive(floor) {
                    return bad("log.floor", floor.to_string(), "must be positive".into());
                }
            }
            LogScale::None => {}
        }
        if let Some(k) = &self.kaldi {
            if !is_non_negative(k.dither) {
                return bad("kaldi.dither", k.dither.to_string(), "must be >= 0".into());
            }
            if !(0.0..=1.0).contains(&k.preemphasis) {
                return bad(
                    "kaldi.preemphasis",
                    k.preemphasis.to_string(),
                    "must be in [0, 1] (0.97)".into(),
                );
            }
        }
        Ok(())
    }

    /// Frames produced for `n_samples` input samples: `1 + n / hop` when centred, and
    /// `1 + (n - frame) / hop` (0 if shorter than a frame) otherwise, where `frame` is
    /// `win_length` in Kaldi mode and `n_fft` in STFT mode.
    pub fn n_frames(&self, n_samples: usize) -> usize {
        if self.hop_length == 0 {
            return 0;
        }
        if self.kaldi.is_some() {
            frames(n_samples, self.win_length, self.hop_length, false)
        } else {
            frames(n_samples, self.n_fft, self.hop_length, self.center)
        }
    }

    /// Seconds between frames.
    pub fn seconds_per_frame(&self) -> f32 {
        self.hop_length as f32 / self.sample_rate as f32
    }
}

/// `x > 0` (false for NaN).
fn is_positive(x: f32) -> bool {
    x > 0.0
}

/// `x >= 0` (false for NaN).
fn is_non_negative(x: f32) -> bool {
    x >= 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_validate_and_count_frames() {
        for cfg in [
            MelConfig::librosa(22_050),
            MelConfig::torchaudio(16_000),
            MelConfig::kaldi(16_000),
        ] {
            cfg.validate().unwrap();
        }
        let k = MelConfig::kaldi(16_000);
        assert_eq!((k.win_length, k.hop_length, k.n_fft), (400, 160, 512));
        assert_eq!(k.n_frames(399), 0);
        assert_eq!(k.n_frames(32_000), 1 + (32_000 - 400) / 160);
        let l = MelConfig {
            n_fft: 1024,
            win_length: 1024,
            hop_length: 160,
            ..MelConfig::librosa(16_000)
        };
        assert_eq!(l.n_frames(32_000), 201);
        let bad = MelConfig {
            f_max: Some(9000.0),
            ..l.clone()
        };
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains("f_max") && err.contains("Nyquist"), "{err}");
    }

    #[test]
    fn config_round_trips_through_json() {
        let cfg = MelConfig::kaldi(16_000);
        let json = serde_json::to_string(&cfg).unwrap();
        assert!(json.contains("\"window\":\"hann-symmetric\"") && json.contains("\"kind\":\"ln\""));
        let back: MelConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cfg);
    }
}
