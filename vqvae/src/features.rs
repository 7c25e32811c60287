//! The shared audio front end: examples -> log-Mel spectrograms in dB.

use auscult_audio::{LogScale, MelConfig, MelSpectrogram};
use auscult_datasets::{CyclePadding, Example, ExampleConfig};
use rayon::prelude::*;

use crate::data::LogMel;
use crate::{Error, Result};

/// The shared default example cut (the classifier's too): 8 kHz, 4 s, repeat padding, fade.
pub fn default_examples() -> ExampleConfig {
    ExampleConfig {
        sample_rate: 8000,
        length_s: 4.0,
        pad: CyclePadding::Repeat,
        fade: true,
    }
}

/// The shared default front end: librosa-style log-Mel at 8 kHz, `n_fft` 512, hop 256, 64 Mel
/// bins from 50 to 4000 Hz, dB with reference 1, `amin` 1e-10, `top_db` 80: 64 x 126 per 4 s
/// example.
pub fn default_mel() -> MelConfig {
    let mut mel = MelConfig::librosa(8000);
    mel.n_fft = 512;
    mel.win_length = 512;
    mel.hop_length = 256;
    mel.n_mels = 64;
    mel.f_min = 50.0;
    mel.f_max = Some(4000.0);
    mel.log = LogScale::Db {
        reference: 1.0,
        amin: 1e-10,
        top_db: Some(80.0),
    };
    mel
}

/// Frames per example for this front end.
pub fn frames_per_example(mel: &MelConfig, examples: &ExampleConfig) -> usize {
    mel.n_frames(examples.length_samples())
}

/// Log-Mel spectrograms (dB, `[n_mels][n_frames]`) of `examples`, computed in parallel. Every
/// example must have been cut with `cut` (rate and length), as the model was trained.
pub fn log_mels(examples: &[Example], mel: &MelConfig, cut: &ExampleConfig) -> Result<Vec<LogMel>> {
    mel.validate()?;
    let expected_len = cut.length_samples();
    if let Some(e) = examples
        .iter()
        .find(|e| e.sample_rate != mel.sample_rate || e.samples.len() != expected_len)
    {
        return Err(Error::Incompatible {
            path: e.source.clone(),
            reason: format!(
                "example {} has {} samples at {} Hz but the model expects {} samples at {} Hz \
                 ({} s); load the data with the model's example config ({})",
                e.id,
                e.samples.len(),
                e.sample_rate,
                expected_len,
                mel.sample_rate,
                cut.length_s,
                serde_json::to_string(cut).unwrap_or_default()
            ),
        });
    }
    let n_frames = frames_per_example(mel, cut);
    let chunk = examples
        .len()
        .div_ceil(rayon::current_num_threads().max(1))
        .max(1);
    let parts: Vec<Vec<LogMel>> = examples
        .par_chunks(chunk)
        .map(|part| -> Result<Vec<LogMel>> {
            let mut front = MelSpectrogram::new(mel)?;
            part.iter()
                .map(|e| {
                    let spec = front.compute(&e.samples);
                    if spec.n_bins != mel.n_mels || spec.n_frames != n_frames {
                        return Err(Error::Shape {
                            what: "log-Mel spectrogram",
                            expected: vec![mel.n_mels, n_frames],
                            actual: vec![spec.n_bins, spec.n_frames],
                        });
                    }
                    Ok(LogMel {
                        data: spec.data,
                        label: e.label,
                    })
                })
                .collect()
        })
        .collect::<Result<_>>()?;
    Ok(parts.into_iter().flatten().collect())
}
