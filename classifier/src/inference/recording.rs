//! Classifying one recording, per annotated cycle or in windows of the training length, and
//! the recording's summary.

use std::path::{Path, PathBuf};

use auscult_audio::{decode_file, resample};
use auscult_datasets::{fit_cycle, read_annotations, slice_cycle};
use serde::Serialize;

use super::classifier::{ClassProbabilities, Classifier, decide};
use crate::Result;
use crate::binary::DecisionRule;
use crate::metrics::normal_class;

impl Classifier {
    /// Classifies one recording: per cycle when `annotations` names an ICBHI annotation file,
    /// otherwise in consecutive windows of the training length (the last, shorter one padded
    /// as cycles are; a tail under a quarter of a window is dropped unless it is the only one).
    pub fn classify_file(&mut self, path: &Path, annotations: Option<&Path>) -> Result<Recording> {
        let decoded = decode_file(path)?;
        let sr = self.config().train.examples.sample_rate;
        let samples = resample(&decoded.samples, decoded.sample_rate, sr)?;
        let ex = &self.config().train.examples;
        let duration = samples.len() as f64 / sr as f64;
        let (segments, annotated): (Vec<(f64, f64)>, bool) = match annotations {
            Some(ann) => (
                read_annotations(ann)?
                    .iter()
                    .map(|c| (c.start_s, c.end_s))
                    .collect(),
                true,
            ),
            None => {
                let len = ex.length_s as f64;
                let mut w = Vec::new();
                let mut start = 0.0;
                while start < duration {
                    let end = (start + len).min(duration);
                    if w.is_empty() || end - start >= 0.25 * len {
                        w.push((start, end));
                    }
                    start += len;
                }
                (w, false)
            }
        };
        let clips: Vec<Vec<f32>> = segments
            .iter()
            .map(|&(s, e)| fit_cycle(slice_cycle(&samples, sr, s, e), ex))
            .collect();
        // Every clip is cut from this one recording.
        let probs = self.predict_clips_grouped(&clips, &vec![0; clips.len()])?;
        let classes = self.classes().to_vec();
        let segs: Vec<Segment> = segments
            .iter()
            .zip(&probs)
            .map(|(&(start_s, end_s), p)| Segment {
                start_s,
                end_s,
                label: classes[self.decide(p)].clone(),
                probabilities: ClassProbabilities::new(&classes, p),
            })
            .collect();
        let summary = Summary::new(&classes, &probs, self.decision());
        Ok(Recording {
            path: path.to_path_buf(),
            duration_s: duration,
            source_sample_rate: decoded.sample_rate,
            cycles: annotated.then(|| segs.clone()),
            windows: (!annotated).then_some(segs),
            summary,
        })
    }
}

/// One classified cycle or window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    /// Start in the recording, seconds.
    pub start_s: f64,
    /// End in the recording, seconds.
    pub end_s: f64,
    /// Most probable class.
    pub label: String,
    /// Probability of each class.
    pub probabilities: ClassProbabilities,
}

/// Recording-level summary of its segments.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Number of segments classified.
    pub segments: usize,
    /// Segments predicted as each class.
    pub counts: ClassProbabilities,
    /// Mean of the segments' probabilities.
    pub mean_probabilities: ClassProbabilities,
    /// The class of the mean probabilities (through the decision threshold of a binary model,
    /// else the most probable).
    pub label: String,
    /// Segments predicted as any class other than the normal one.
    pub abnormal_segments: usize,
}

impl Summary {
    fn new(classes: &[String], probs: &[Vec<f32>], decision: Option<&DecisionRule>) -> Self {
        let k = classes.len();
        let mut counts = vec![0f32; k];
        let mut mean = vec![0f32; k];
        for p in probs {
            counts[decide(classes, decision, p)] += 1.0;
            for (m, v) in mean.iter_mut().zip(p) {
                *m += v / probs.len() as f32;
            }
        }
        let normal = normal_class(classes);
        Self {
            segments: probs.len(),
            abnormal_segments: probs
                .iter()
                .filter(|p| decide(classes, decision, p) != normal)
                .count(),
            label: classes
                .get(decide(classes, decision, &mean))
                .cloned()
                .unwrap_or_default(),
            counts: ClassProbabilities::new(classes, &counts),
            mean_probabilities: ClassProbabilities::new(classes, &mean),
        }
    }
}

/// The classification of one recording (`auscult classify --json` prints an array of these).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recording {
    /// The file.
    pub path: PathBuf,
    /// Its duration in seconds.
    pub duration_s: f64,
    /// Its sample rate before resampling.
    pub source_sample_rate: u32,
    /// Per-cycle results when annotations were used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycles: Option<Vec<Segment>>,
    /// Per-window results otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub windows: Option<Vec<Segment>>,
    /// Recording-level summary.
    pub summary: Summary,
}
