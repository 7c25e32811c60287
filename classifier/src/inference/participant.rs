//! Classifying one Coswara participant folder from the fusion of its sounds.

use std::path::{Path, PathBuf};

use auscult_audio::{decode_file, resample};
use auscult_datasets::{SoundKind, fit_cycle};
use serde::Serialize;

use super::classifier::{ClassProbabilities, Classifier};
use crate::{Error, Result};

impl Classifier {
    /// Classifies one Coswara participant folder: each of `sounds` found in `dir`
    /// (`<sound>.wav`) is cut as training cut whole files (resampled, faded, brought to the
    /// training length), and the participant's probabilities are the mean of the files'. Files
    /// that are missing, header-only or unreadable are listed in `skipped`.
    ///
    /// # Errors
    /// When `dir` is not a folder or none of `sounds` could be classified.
    pub fn classify_participant(
        &mut self,
        dir: &Path,
        sounds: &[SoundKind],
    ) -> Result<Participant> {
        if !dir.is_dir() {
            return Err(Error::data(format!(
                "{}: not a participant folder",
                dir.display()
            )));
        }
        let sr = self.config().train.examples.sample_rate;
        let mut clips = Vec::new();
        let mut found = Vec::new();
        let mut skipped = Vec::new();
        for &kind in sounds {
            let path = dir.join(kind.file_name());
            if !path.is_file() {
                skipped.push(Skipped {
                    sound: kind.name().into(),
                    reason: "no such file".into(),
                });
                continue;
            }
            let clip = decode_file(&path).map_err(Error::from).and_then(|d| {
                if d.samples.is_empty() {
                    return Err(Error::data("no samples (header-only WAV)"));
                }
                Ok(resample(&d.samples, d.sample_rate, sr)?)
            });
            match clip {
                Ok(samples) => {
                    clips.push(fit_cycle(&samples, &self.config().train.examples));
                    found.push((kind, path));
                }
                Err(e) => skipped.push(Skipped {
                    sound: kind.name().into(),
                    reason: e.to_string(),
                }),
            }
        }
        if clips.is_empty() {
            return Err(Error::data(format!(
                "{}: none of the sounds {} could be classified ({})",
                dir.display(),
                sounds
                    .iter()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                skipped
                    .iter()
                    .map(|s| format!("{}: {}", s.sound, s.reason))
                    .collect::<Vec<_>>()
                    .join("; ")
            )));
        }
        let probs = self.predict_clips(&clips)?;
        let classes = self.classes().to_vec();
        let mut mean = vec![0f32; classes.len()];
        for p in &probs {
            for (m, v) in mean.iter_mut().zip(p) {
                *m += v / probs.len() as f32;
            }
        }
        Ok(Participant {
            participant: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            path: dir.to_path_buf(),
            sounds: found
                .into_iter()
                .zip(&probs)
                .map(|((kind, path), p)| SoundResult {
                    sound: kind.name().into(),
                    path,
                    label: classes[self.decide(p)].clone(),
                    probabilities: ClassProbabilities::new(&classes, p),
                })
                .collect(),
            skipped,
            label: classes[self.decide(&mean)].clone(),
            probabilities: ClassProbabilities::new(&classes, &mean),
            threshold: self.decision().map(|d| d.threshold),
        })
    }
}

/// One sound of a classified participant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SoundResult {
    /// The sound kind (`cough-heavy`).
    pub sound: String,
    /// The file.
    pub path: PathBuf,
    /// Its own decision.
    pub label: String,
    /// Its class probabilities.
    pub probabilities: ClassProbabilities,
}

/// A sound of a participant that was not classified, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    /// The sound kind.
    pub sound: String,
    /// Why it was skipped.
    pub reason: String,
}

/// A participant classified from the fusion of its sounds (`auscult classify` on a Coswara
/// participant folder).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Participant {
    /// The participant id (the folder name).
    pub participant: String,
    /// The folder.
    pub path: PathBuf,
    /// The sounds classified.
    pub sounds: Vec<SoundResult>,
    /// The sounds asked for that were not.
    pub skipped: Vec<Skipped>,
    /// The decision on the fused probabilities.
    pub label: String,
    /// The mean of the sounds' class probabilities.
    pub probabilities: ClassProbabilities,
    /// The decision threshold of a binary model on its positive class, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}
