//! The shared audio front end: examples -> log-Mel spectrograms in dB.

use auscult_audio::{MelConfig, MelSpectrogram};
use auscult_datasets::{Example, ExampleConfig};
use rayon::prelude::*;

use crate::data::LogMel;
use crate::{Error, Result};

/// The shared default front end, defined once in `auscult_datasets`.
pub use auscult_datasets::{default_examples, default_mel};

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
