//! What generation's quality report compares with: the training data's statistics, kept with
//! the prior (`reference.json` and `reference.npy`).

use serde::{Deserialize, Serialize};

use crate::plan::tone::ToneTrack;
use crate::{Error, Result};

/// Reference statistics of the training data (JSON).
pub const REFERENCE_FILE: &str = "reference.json";
/// Time-pooled training log-Mels (NPY).
pub const REFERENCE_NPY: &str = "reference.npy";
/// Time pooling of the reference log-Mels.
pub const REFERENCE_POOL: usize = 4;

/// Training data statistics kept with the prior for generation's quality report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    /// Class names.
    pub classes: Vec<String>,
    /// Training examples per class.
    pub class_counts: Vec<usize>,
    /// Mel bins.
    pub n_mels: usize,
    /// Frames per example.
    pub n_frames: usize,
    /// Time pooling of `reference.npy`.
    pub pool: usize,
    /// Mean dB of each Mel bin over each class's training examples and frames, `[classes][n_mels]`.
    pub band_profiles: Vec<Vec<f32>>,
    /// Frames `[start, end)` of each training example's cycle as cut (all frames for
    /// repeat-padded or full-length ones), in the order of `labels`: generation draws its
    /// cycle lengths from them. Empty in priors trained before it existed.
    #[serde(default)]
    pub spans: Vec<[usize; 2]>,
    /// Class of each training example (rows of `reference.npy`).
    pub labels: Vec<usize>,
    /// Code grid of each training example (raster order).
    pub codes: Vec<Vec<usize>>,
    /// Tone track of each training example's cycle as cut (`tone_track`, one
    /// Mel bin or `None` per code column), in the order of `labels`; empty for priors without
    /// a tone plan.
    #[serde(default)]
    pub tones: Vec<ToneTrack>,
    /// Mean detail statistics (tonality, transientness) of each class's training examples
    /// (`None` for a class without any; empty in references written before they existed).
    #[serde(default)]
    pub detail: Vec<Option<crate::analysis::detail::DetailStats>>,
}

impl Reference {
    /// Checks that the reference belongs to a prior over `classes` with `vocab_size` codes
    /// per position and `seq_len` positions on `n_mels` Mel bins, and that its per-example
    /// lists agree: a foreign or hand-edited `reference.json` is an error naming what is
    /// wrong, never an index out of range later.
    pub fn validate(
        &self,
        classes: &[String],
        vocab_size: usize,
        seq_len: usize,
        n_mels: usize,
    ) -> Result<()> {
        let bad = |reason: String| Err(Error::config("reference", reason));
        let k = classes.len();
        if self.classes != classes {
            return bad(format!(
                "lists classes [{}] but the prior has [{}]",
                self.classes.join(", "),
                classes.join(", ")
            ));
        }
        if self.n_mels != n_mels || self.n_frames == 0 || self.pool == 0 {
            return bad(format!(
                "has {} Mel bins, {} frames and pooling {} (the model has {n_mels} bins; frames                  and pooling must be positive)",
                self.n_mels, self.n_frames, self.pool
            ));
        }
        if self.class_counts.len() != k
            || self.band_profiles.len() != k
            || self.band_profiles.iter().any(|p| p.len() != n_mels)
            || (!self.detail.is_empty() && self.detail.len() != k)
        {
            return bad(format!(
                "its per-class lists (counts, band profiles [{k} x {n_mels}], detail) do not                  have one entry per class"
            ));
        }
        let n = self.labels.len();
        if self.codes.len() != n
            || (!self.spans.is_empty() && self.spans.len() != n)
            || (!self.tones.is_empty() && self.tones.len() != n)
        {
            return bad(format!(
                "its per-example lists disagree: {n} labels, {} code grids, {} spans, {} tone                  tracks",
                self.codes.len(),
                self.spans.len(),
                self.tones.len()
            ));
        }
        if let Some(l) = self.labels.iter().find(|&&l| l >= k) {
            return bad(format!(
                "has an example of class #{l}; there are {k} classes"
            ));
        }
        if let Some(i) = self
            .codes
            .iter()
            .position(|g| g.len() != seq_len || g.iter().any(|&c| c >= vocab_size))
        {
            return bad(format!(
                "code grid {i} is not {seq_len} codes below {vocab_size}"
            ));
        }
        if let Some(i) = self
            .spans
            .iter()
            .position(|&[a, b]| a >= b || b > self.n_frames)
        {
            return bad(format!(
                "span {i} is not a frame range within {} frames",
                self.n_frames
            ));
        }
        if let Some(i) = self
            .tones
            .iter()
            .position(|t| t.iter().flatten().any(|&bin| bin >= n_mels))
        {
            return bad(format!("tone track {i} names a Mel bin past {n_mels}"));
        }
        if self.band_profiles.iter().flatten().any(|v| !v.is_finite()) {
            return bad("a band profile holds a non-finite value".to_string());
        }
        Ok(())
    }
}

/// Mean dB per Mel bin of each class, over `(label, [n_mels][n_frames] dB)` spectrograms.
pub(crate) fn band_profiles<'a>(
    data: impl IntoIterator<Item = (usize, &'a [f32])>,
    classes: usize,
    n_mels: usize,
) -> Vec<Vec<f32>> {
    let mut sums = vec![vec![0f64; n_mels]; classes];
    let mut counts = vec![0usize; classes];
    for (label, x) in data {
        let Some(sum) = sums.get_mut(label) else {
            continue;
        };
        let n_frames = x.len() / n_mels.max(1);
        counts[label] += n_frames;
        for (bin, row) in x.chunks_exact(n_frames.max(1)).enumerate() {
            sum[bin] += row.iter().map(|&v| f64::from(v)).sum::<f64>();
        }
    }
    sums.iter()
        .zip(&counts)
        .map(|(s, &c)| s.iter().map(|v| (v / c.max(1) as f64) as f32).collect())
        .collect()
}

/// Averages `[n_mels][n_frames]` over groups of `pool` frames (the last group may be shorter).
pub(crate) fn pool_time(data: &[f32], n_mels: usize, pool: usize) -> Vec<f32> {
    let n_frames = data.len() / n_mels.max(1);
    let pooled = n_frames.div_ceil(pool.max(1));
    let mut out = Vec::with_capacity(n_mels * pooled);
    for row in data.chunks_exact(n_frames.max(1)) {
        for g in row.chunks(pool.max(1)) {
            out.push(g.iter().sum::<f32>() / g.len() as f32);
        }
    }
    out
}
