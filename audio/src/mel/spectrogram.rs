//! [`Spectrogram`]: a spectrogram's values with its shape.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A spectrogram, row-major `[n_bins][n_frames]` (Mel bins by frames, like librosa).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spectrogram {
    /// Values, `data[bin * n_frames + frame]`.
    pub data: Vec<f32>,
    /// Rows (Mel bins).
    pub n_bins: usize,
    /// Columns (time frames).
    pub n_frames: usize,
}

impl Spectrogram {
    /// Wraps `data` of shape `[n_bins][n_frames]`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when `data.len() != n_bins * n_frames`.
    pub fn new(data: Vec<f32>, n_bins: usize, n_frames: usize) -> Result<Self> {
        if data.len() != n_bins * n_frames {
            return Err(Error::ShapeMismatch {
                expected: n_bins * n_frames,
                actual: data.len(),
            });
        }
        Ok(Spectrogram {
            data,
            n_bins,
            n_frames,
        })
    }

    /// The value at (`bin`, `frame`).
    pub fn get(&self, bin: usize, frame: usize) -> Option<f32> {
        (bin < self.n_bins && frame < self.n_frames).then(|| self.data[bin * self.n_frames + frame])
    }
}
