//! Mel filterbanks and (log-)Mel spectrograms in the conventions of librosa, torchaudio and
//! Kaldi's `fbank` (as torchaudio.compliance.kaldi implements it).
//!
//! - `scale.rs`: Hz <-> mel on the Slaney, HTK and Kaldi scales;
//! - `config.rs`: [`MelConfig`] (presets, validation, frame counts) and [`MelNorm`];
//! - `kaldi.rs`: [`KaldiOptions`] and Kaldi's per-frame processing;
//! - `filterbank.rs`: [`mel_filterbank`] and its sparse form;
//! - `spectrogram.rs`: [`Spectrogram`];
//! - `extractor.rs`: [`MelSpectrogram`], the planned extractor.

mod config;
mod extractor;
mod filterbank;
mod kaldi;
mod scale;
mod spectrogram;

pub use config::{MelConfig, MelNorm};
pub use extractor::MelSpectrogram;
pub use filterbank::mel_filterbank;
pub use kaldi::KaldiOptions;
pub use scale::{MelScale, hz_to_mel, mel_to_hz};
pub use spectrogram::Spectrogram;
