//! Vector quantisation with an exponential-moving-average codebook (van den Oord et al. 2017,
//! appendix; Razavi et al. 2019) and dead-code restarts from the batch's encodings (Dhariwal et
//! al. 2020, Jukebox).
//!
//! The codebook is not a trainable parameter: the encoder is trained through the
//! straight-through estimator and the commitment loss, and the codebook follows the encodings
//! assigned to each entry by moving averages. It lives on the host as plain `f32` vectors, is
//! uploaded as a `[K, D]` tensor for each step, and is saved with the model (`vq_state.json`).

use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Settings of the vector quantiser (saved in `config.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuantizerConfig {
    /// Weight beta of the commitment loss `beta * |z - sg(q)|^2`.
    pub commitment: f32,
    /// Decay of the moving averages (per step).
    pub decay: f32,
    /// Laplace smoothing of the cluster sizes.
    pub epsilon: f32,
    /// A code whose moving-average assignment count per step falls below this is dead, and is
    /// restarted from a random encoding of the current batch.
    pub dead_code_threshold: f32,
}

impl Default for QuantizerConfig {
    fn default() -> Self {
        Self {
            commitment: 0.25,
            decay: 0.95,
            epsilon: 1e-5,
            dead_code_threshold: 1.0,
        }
    }
}

impl QuantizerConfig {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        if !(self.commitment.is_finite() && self.commitment >= 0.0) {
            return Err(Error::config("commitment", "must be a finite number >= 0"));
        }
        if !(self.decay > 0.0 && self.decay < 1.0) {
            return Err(Error::config(
                "decay",
                "must lie strictly between 0 and 1 (e.g. 0.99)",
            ));
        }
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return Err(Error::config(
                "epsilon",
                "must be a small positive number (e.g. 1e-5)",
            ));
        }
        if !(self.dead_code_threshold.is_finite() && self.dead_code_threshold >= 0.0) {
            return Err(Error::config(
                "dead_code_threshold",
                "must be a finite number >= 0",
            ));
        }
        Ok(())
    }
}

/// The codebook and its moving averages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Codebook {
    /// Number of entries K.
    pub size: usize,
    /// Dimension D of each entry.
    pub dim: usize,
    /// Entries, row-major `[K, D]`.
    pub embeddings: Vec<f32>,
    /// Moving average of the number of encodings assigned to each entry per step, `[K]`.
    pub ema_count: Vec<f32>,
    /// Moving average of the sum of the encodings assigned to each entry, `[K, D]`.
    pub ema_sum: Vec<f32>,
    /// Whether the entries have been initialised from data (done on the first update).
    pub initialised: bool,
}

/// What one codebook update did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpdateStats {
    /// Entries restarted from batch encodings.
    pub restarted: usize,
}

impl Codebook {
    /// An uninitialised codebook of `size` entries of dimension `dim` (all zeros; the first
    /// [`update`](Self::update) fills it with encodings drawn from that batch).
    pub fn new(size: usize, dim: usize) -> Self {
        Self {
            size,
            dim,
            embeddings: vec![0.0; size * dim],
            ema_count: vec![0.0; size],
            ema_sum: vec![0.0; size * dim],
            initialised: false,
        }
    }

    /// Checks that the vectors have the sizes the header claims.
    pub fn validate(&self) -> Result<()> {
        let ok = self.embeddings.len() == self.size * self.dim
            && self.ema_sum.len() == self.size * self.dim
            && self.ema_count.len() == self.size;
        if !ok {
            return Err(Error::Shape {
                what: "codebook",
                expected: vec![self.size, self.dim],
                actual: vec![
                    self.ema_count.len(),
                    self.embeddings.len() / self.size.max(1),
                ],
            });
        }
        Ok(())
    }

    /// The entries as a `[K, D]` tensor on `device`.
    pub fn tensor(&self, device: &Device) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(self.embeddings.clone(), [self.size, self.dim]),
            device,
        )
    }

    /// The entries for the given code indices, row-major `[codes.len(), D]`.
    pub fn lookup(&self, codes: &[usize]) -> Vec<f32> {
        let mut out = Vec::with_capacity(codes.len() * self.dim);
        for &c in codes {
            let c = c.min(self.size.saturating_sub(1));
            out.extend_from_slice(&self.embeddings[c * self.dim..(c + 1) * self.dim]);
        }
        out
    }

    /// One moving-average update from a batch of encodings `z` (row-major `[N, D]`) and their
    /// assigned entries `codes` (`[N]`). Dead entries are restarted from random rows of `z`.
    pub fn update(
        &mut self,
        z: &[f32],
        codes: &[usize],
        cfg: &QuantizerConfig,
        rng: &mut impl Rng,
    ) -> UpdateStats {
        let (k, d) = (self.size, self.dim);
        let n = codes.len();
        if n == 0 || z.len() != n * d {
            return UpdateStats::default();
        }
        if !self.initialised {
            for i in 0..k {
                let r = rng.random_range(0..n);
                self.embeddings[i * d..(i + 1) * d].copy_from_slice(&z[r * d..(r + 1) * d]);
            }
            self.ema_sum.copy_from_slice(&self.embeddings);
            self.ema_count.fill(1.0);
            self.initialised = true;
            return UpdateStats { restarted: k };
        }
        let mut counts = vec![0f32; k];
        let mut sums = vec![0f32; k * d];
        for (row, &c) in codes.iter().enumerate() {
            let c = c.min(k - 1);
            counts[c] += 1.0;
            for (s, v) in sums[c * d..(c + 1) * d]
                .iter_mut()
                .zip(&z[row * d..(row + 1) * d])
            {
                *s += v;
            }
        }
        let decay = cfg.decay;
        for (e, c) in self.ema_count.iter_mut().zip(&counts) {
            *e = decay * *e + (1.0 - decay) * c;
        }
        for (e, s) in self.ema_sum.iter_mut().zip(&sums) {
            *e = decay * *e + (1.0 - decay) * s;
        }
        let total: f32 = self.ema_count.iter().sum();
        let eps = cfg.epsilon;
        let mut stats = UpdateStats::default();
        // Restart candidates: the encodings worst served by the current codebook (the top
        // tenth by quantisation error), so that dead codes move to rare patterns (a wheeze's
        // narrow tone) rather than to yet another copy of the commonest patch.
        let mut candidates: Vec<usize> = Vec::new();
        if self.ema_count.iter().any(|&c| c < cfg.dead_code_threshold) {
            let mut errors: Vec<(f32, usize)> = codes
                .iter()
                .enumerate()
                .map(|(row, &c)| {
                    let c = c.min(k - 1);
                    let e: f32 = z[row * d..(row + 1) * d]
                        .iter()
                        .zip(&self.embeddings[c * d..(c + 1) * d])
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum();
                    (e, row)
                })
                .collect();
            errors.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            candidates = errors
                .iter()
                .take((n / 10).max(1))
                .map(|&(_, row)| row)
                .collect();
        }
        for i in 0..k {
            if self.ema_count[i] < cfg.dead_code_threshold {
                let r = candidates[rng.random_range(0..candidates.len())];
                let row = &z[r * d..(r + 1) * d];
                self.embeddings[i * d..(i + 1) * d].copy_from_slice(row);
                let mass = cfg.dead_code_threshold.max(eps);
                for (s, v) in self.ema_sum[i * d..(i + 1) * d].iter_mut().zip(row) {
                    *s = v * mass;
                }
                self.ema_count[i] = mass;
                stats.restarted += 1;
                continue;
            }
            let smoothed = (self.ema_count[i] + eps) / (total + k as f32 * eps) * total;
            for j in 0..d {
                self.embeddings[i * d + j] = self.ema_sum[i * d + j] / smoothed;
            }
        }
        stats
    }
}

/// Index of the nearest codebook entry (squared Euclidean distance) of each row of `z`.
///
/// # Shapes
/// - `z`: `[N, D]`; `codebook`: `[K, D]`; returns `[N]`.
pub fn nearest_codes(z: Tensor<2>, codebook: Tensor<2>) -> Tensor<1, Int> {
    let [n, _] = z.dims();
    let [k, _] = codebook.dims();
    let z2 = z.clone().square().sum_dim(1); // [N, 1]
    let e2 = codebook.clone().square().sum_dim(1).reshape([1, k]); // [1, K]
    let cross = z.matmul(codebook.transpose()); // [N, K]
    let dist = z2 - cross * 2.0 + e2;
    dist.argmin(1).reshape([n])
}

/// Counts of code use, for usage and perplexity reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeUsage {
    /// How many times each code was used.
    pub counts: Vec<u64>,
}

impl CodeUsage {
    /// Zero counts for `size` codes.
    pub fn new(size: usize) -> Self {
        Self {
            counts: vec![0; size],
        }
    }

    /// Counts `codes` (indices past the end are ignored).
    pub fn add(&mut self, codes: &[usize]) {
        for &c in codes {
            if let Some(n) = self.counts.get_mut(c) {
                *n += 1;
            }
        }
    }

    /// Number of distinct codes used.
    pub fn used(&self) -> usize {
        self.counts.iter().filter(|&&n| n > 0).count()
    }

    /// Perplexity `exp(H)` of the code distribution (1 = one code, K = all equally often).
    pub fn perplexity(&self) -> f64 {
        perplexity(&self.counts)
    }
}

/// Perplexity `exp(-sum p log p)` of a histogram; 0 for an empty one.
pub fn perplexity(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let h: f64 = counts
        .iter()
        .filter(|&&n| n > 0)
        .map(|&n| {
            let p = n as f64 / total as f64;
            -p * p.ln()
        })
        .sum();
    h.exp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use auscult_experiment::seeded_rng;

    #[test]
    fn nearest_matches_brute_force() {
        let device = Device::flex();
        let mut rng = seeded_rng(3, 0);
        let (n, k, d) = (37, 9, 5);
        let z: Vec<f32> = (0..n * d).map(|_| rng.random_range(-2.0..2.0)).collect();
        let e: Vec<f32> = (0..k * d).map(|_| rng.random_range(-2.0..2.0)).collect();
        let zt = Tensor::<2>::from_data(TensorData::new(z.clone(), [n, d]), &device);
        let et = Tensor::<2>::from_data(TensorData::new(e.clone(), [k, d]), &device);
        let got: Vec<i64> = nearest_codes(zt, et).try_into_vec_as::<i64>().unwrap();
        for i in 0..n {
            let dist =
                |j: usize| -> f32 { (0..d).map(|c| (z[i * d + c] - e[j * d + c]).powi(2)).sum() };
            let best = (0..k)
                .min_by(|&a, &b| dist(a).partial_cmp(&dist(b)).unwrap())
                .unwrap();
            assert_eq!(got[i] as usize, best, "row {i}");
        }
    }

    #[test]
    fn perplexity_by_hand() {
        assert_eq!(perplexity(&[0, 0]), 0.0);
        assert!((perplexity(&[5, 0, 0]) - 1.0).abs() < 1e-12);
        assert!((perplexity(&[3, 3, 3, 3]) - 4.0).abs() < 1e-12);
        // p = (0.5, 0.25, 0.25): H = 1.5 ln 2, exp(H) = 2^1.5
        assert!((perplexity(&[2, 1, 1]) - 2f64.powf(1.5)).abs() < 1e-12);
        let mut u = CodeUsage::new(4);
        u.add(&[0, 0, 3, 9]);
        assert_eq!(u.used(), 2);
    }

    #[test]
    fn ema_moves_entries_to_cluster_means_and_restarts_dead_codes() {
        let cfg = QuantizerConfig {
            decay: 0.5,
            dead_code_threshold: 0.5,
            ..QuantizerConfig::default()
        };
        let mut rng = seeded_rng(1, 0);
        let mut cb = Codebook::new(3, 2);
        // Two clusters around (1, 1) and (-1, -1).
        let z = vec![1.0, 1.2, 0.8, 1.0, -1.0, -1.1, -0.9, -1.0];
        let stats = cb.update(&z, &[0, 0, 0, 0], &cfg, &mut rng);
        assert!(cb.initialised);
        assert_eq!(stats.restarted, 3);
        // Assign the first two rows to entry 0, the last two to entry 1, none to entry 2.
        for _ in 0..30 {
            cb.update(&z, &[0, 0, 1, 1], &cfg, &mut rng);
        }
        assert!((cb.embeddings[0] - 0.9).abs() < 0.02, "{:?}", cb.embeddings);
        assert!((cb.embeddings[1] - 1.1).abs() < 0.02, "{:?}", cb.embeddings);
        assert!(
            (cb.embeddings[2] + 0.95).abs() < 0.02,
            "{:?}",
            cb.embeddings
        );
        // Entry 2 is never used: it keeps being restarted onto a batch row.
        let stats = cb.update(&z, &[0, 0, 1, 1], &cfg, &mut rng);
        assert_eq!(stats.restarted, 1);
        let e2 = &cb.embeddings[4..6];
        assert!(
            z.chunks(2).any(|row| row == e2),
            "{e2:?} is not a batch row"
        );
    }
}
