//! Per-Mel-bin normalisation statistics: the mean and standard deviation of each bin of a set
//! of log-Mel spectrograms, fitted on a training split and stored with a model (the classifier
//! and the VQ-VAE both normalise their inputs with it).

use serde::{Deserialize, Serialize};

/// The smallest standard deviation a bin gets, in dB (a constant bin would divide by zero).
pub const STD_FLOOR_DB: f32 = 1e-3;

/// Mean and standard deviation of each bin (dB), over every frame of every item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinStats {
    /// Mean of each bin, `[n_bins]`.
    pub mean: Vec<f32>,
    /// Standard deviation of each bin (floored at [`STD_FLOOR_DB`]), `[n_bins]`.
    pub std: Vec<f32>,
}

/// Sums of values and squares per bin, in f64, items added one at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct BinStatsAccumulator {
    n_frames: usize,
    sum: Vec<f64>,
    sq: Vec<f64>,
    items: usize,
}

impl BinStatsAccumulator {
    /// An empty accumulator for items of `n_bins` x `n_frames` (row-major, one bin per row).
    pub fn new(n_bins: usize, n_frames: usize) -> Self {
        Self {
            n_frames,
            sum: vec![0.0; n_bins],
            sq: vec![0.0; n_bins],
            items: 0,
        }
    }

    /// Adds one item (`n_bins * n_frames` values; a shorter item's missing rows count as
    /// absent, extra values are ignored: callers check shapes first).
    pub fn add(&mut self, item: &[f32]) {
        if self.n_frames == 0 {
            return;
        }
        for ((row, s), q) in item
            .chunks_exact(self.n_frames)
            .zip(&mut self.sum)
            .zip(&mut self.sq)
        {
            for &v in row {
                *s += f64::from(v);
                *q += f64::from(v) * f64::from(v);
            }
        }
        self.items += 1;
    }

    /// The statistics of the items added; `None` when none was.
    pub fn finish(&self) -> Option<BinStats> {
        if self.items == 0 {
            return None;
        }
        let n = (self.items * self.n_frames) as f64;
        let mean: Vec<f64> = self.sum.iter().map(|s| s / n).collect();
        let std = self
            .sq
            .iter()
            .zip(&mean)
            .map(|(q, m)| ((q / n - m * m).max(0.0).sqrt()).max(f64::from(STD_FLOOR_DB)) as f32)
            .collect();
        Some(BinStats {
            mean: mean.iter().map(|&m| m as f32).collect(),
            std,
        })
    }
}

impl BinStats {
    /// dB -> normalised, in place, for one item (`[n_bins][n_frames]`).
    pub fn normalise(&self, item: &mut [f32]) {
        let n_frames = item.len() / self.mean.len().max(1);
        for (bin, row) in item.chunks_exact_mut(n_frames.max(1)).enumerate() {
            let (m, s) = (self.mean[bin], self.std[bin]);
            for v in row {
                *v = (*v - m) / s;
            }
        }
    }

    /// Normalised -> dB, in place, for one item (`[n_bins][n_frames]`).
    pub fn denormalise(&self, item: &mut [f32]) {
        let n_frames = item.len() / self.mean.len().max(1);
        for (bin, row) in item.chunks_exact_mut(n_frames.max(1)).enumerate() {
            let (m, s) = (self.mean[bin], self.std[bin]);
            for v in row {
                *v = *v * s + m;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_and_round_trip() {
        // Two items of 2 bins x 2 frames: bin 0 holds 1, 3, 5, 7 (mean 4, sd sqrt(5)); bin 1
        // is constant (sd floored).
        let a = [1.0, 3.0, 2.0, 2.0];
        let b = [5.0, 7.0, 2.0, 2.0];
        let mut acc = BinStatsAccumulator::new(2, 2);
        assert!(acc.finish().is_none());
        acc.add(&a);
        acc.add(&b);
        let s = acc.finish().unwrap();
        assert_eq!(s.mean, [4.0, 2.0]);
        assert!((s.std[0] - 5f32.sqrt()).abs() < 1e-6);
        assert_eq!(s.std[1], STD_FLOOR_DB);
        let mut x = b;
        s.normalise(&mut x);
        assert!((x[0] - 1.0 / 5f32.sqrt()).abs() < 1e-6 && x[2] == 0.0);
        s.denormalise(&mut x);
        assert!(x.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-5));
    }
}
