//! Class prototypes: the encoder's first-stage features averaged per class, which the decoder
//! adds for the class it is asked for.

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::vqvae::network::VqVaeConfig;
use crate::{Error, Result};

/// Per-class prototypes: the mean over the class's training examples of the encoder's
/// first-stage features averaged over time, `[channels[0], n_mels / s_f]` per class. They
/// carry each class's global spectral character; the decoder adds a learned projection of
/// the prototype of the class it is asked for at that stage's resolution.
///
/// While training they follow moving averages of the batches; at the end of training they are
/// recomputed exactly over the training split and stored with the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassPrototypes {
    /// Number of classes.
    pub num_classes: usize,
    /// Channels of the first stage.
    pub channels: usize,
    /// Frequency rows of the first stage.
    pub rows: usize,
    /// Values, row-major `[num_classes, channels, rows]`.
    pub values: Vec<f32>,
    /// Whether each class has been seen yet (unseen classes start from their first batch).
    pub seen: Vec<bool>,
}

impl ClassPrototypes {
    /// Zero prototypes for `cfg`.
    pub fn new(cfg: &VqVaeConfig) -> Self {
        let [channels, rows] = cfg.prototype_shape();
        Self {
            num_classes: cfg.num_classes,
            channels,
            rows,
            values: vec![0.0; cfg.num_classes * channels * rows],
            seen: vec![false; cfg.num_classes],
        }
    }

    fn size(&self) -> usize {
        self.channels * self.rows
    }

    /// Checks the sizes against `cfg`.
    pub fn validate(&self, cfg: &VqVaeConfig) -> Result<()> {
        let [c, r] = cfg.prototype_shape();
        if self.num_classes != cfg.num_classes
            || self.channels != c
            || self.rows != r
            || self.values.len() != cfg.num_classes * c * r
        {
            return Err(Error::Shape {
                what: "class prototypes",
                expected: vec![cfg.num_classes, c, r],
                actual: vec![self.num_classes, self.channels, self.rows],
            });
        }
        Ok(())
    }

    /// Moving-average update from a batch's profiles (`[batch, channels, rows]`, row-major).
    pub fn update(&mut self, profiles: &[f32], labels: &[usize], decay: f32) {
        let size = self.size();
        for c in 0..self.num_classes {
            let members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
            if members.is_empty() {
                continue;
            }
            let mut mean = vec![0f32; size];
            for &i in &members {
                for (m, v) in mean.iter_mut().zip(&profiles[i * size..(i + 1) * size]) {
                    *m += v / members.len() as f32;
                }
            }
            let target = &mut self.values[c * size..(c + 1) * size];
            if self.seen[c] {
                for (t, m) in target.iter_mut().zip(&mean) {
                    *t = decay * *t + (1.0 - decay) * m;
                }
            } else {
                target.copy_from_slice(&mean);
                self.seen[c] = true;
            }
        }
    }

    /// Exact class means from per-example profiles (`[n, channels, rows]`, row-major).
    pub fn set_means(&mut self, profiles: &[f32], labels: &[usize]) {
        let size = self.size();
        let mut sums = vec![0f64; self.values.len()];
        let mut counts = vec![0usize; self.num_classes];
        for (i, &l) in labels.iter().enumerate() {
            if l >= self.num_classes {
                continue;
            }
            counts[l] += 1;
            for (s, v) in sums[l * size..(l + 1) * size]
                .iter_mut()
                .zip(&profiles[i * size..(i + 1) * size])
            {
                *s += f64::from(*v);
            }
        }
        for c in 0..self.num_classes {
            if counts[c] == 0 {
                continue;
            }
            for j in 0..size {
                self.values[c * size + j] = (sums[c * size + j] / counts[c] as f64) as f32;
            }
            self.seen[c] = true;
        }
    }

    /// The prototypes of `labels` as a decoder input `[batch, channels, rows, 1]`.
    pub fn tensor(&self, labels: &[usize], device: &Device) -> Tensor<4> {
        let size = self.size();
        let mut data = Vec::with_capacity(labels.len() * size);
        for &l in labels {
            let l = l.min(self.num_classes.saturating_sub(1));
            data.extend_from_slice(&self.values[l * size..(l + 1) * size]);
        }
        Tensor::from_data(
            TensorData::new(data, [labels.len(), self.channels, self.rows, 1]),
            device,
        )
    }
}
