//! Supervised contrastive loss (Khosla et al. 2020), as the SupContrast reference
//! (`losses.py`, `SupConLoss`, `contrast_mode='all'`) computes it for one view per item:
//!
//! ```python
//! logits = features @ features.T / T                   # features L2-normalised, [B, D]
//! logits = logits - logits.max(dim=1, keepdim=True).detach()   # stable log-sum-exp
//! logits_mask = 1 - eye(B)                             # an anchor is not its own contrast
//! mask = (labels[:, None] == labels[None, :]) * logits_mask    # positives: same class
//! log_prob = logits - log((exp(logits) * logits_mask).sum(1, keepdim=True))
//! pos = mask.sum(1); pos = where(pos < 1e-6, 1, pos)   # no positive: contributes 0, no NaN
//! loss = -(T / base_T) * (mask * log_prob).sum(1) / pos
//! loss = loss.mean()                                   # over all B anchors
//! ```
//!
//! with `base_T = 0.07` as in the reference. With a second view, pass both views stacked
//! (`[2B, D]`) and the labels repeated: the formula is the same.

use burn::tensor::{Tensor, TensorData};

/// The reference's `base_temperature`.
pub const BASE_TEMPERATURE: f32 = 0.07;

/// Supervised contrastive loss of L2-normalised `features` (`[B, D]`) with class `labels`
/// (`labels.len() == B`) at `temperature`. Returns a `[1]` tensor. An anchor with no other item
/// of its class in the batch contributes zero (and still counts in the mean, as in the
/// reference).
pub fn supcon_loss(features: Tensor<2>, labels: &[usize], temperature: f32) -> Tensor<1> {
    let device = features.device();
    let [b, _] = features.dims();
    let mut pos = vec![0f32; b * b];
    let mut not_self = vec![1f32; b * b];
    let mut inv_pos_count = vec![1f32; b];
    for i in 0..b {
        not_self[i * b + i] = 0.0;
        let mut count = 0;
        for j in 0..b {
            if i != j && labels.get(i) == labels.get(j) {
                pos[i * b + j] = 1.0;
                count += 1;
            }
        }
        if count > 0 {
            inv_pos_count[i] = 1.0 / count as f32;
        }
    }
    let pos = Tensor::<2>::from_data(TensorData::new(pos, [b, b]), &device);
    let not_self = Tensor::<2>::from_data(TensorData::new(not_self, [b, b]), &device);
    let inv_pos_count = Tensor::<2>::from_data(TensorData::new(inv_pos_count, [b, 1]), &device);

    let logits = features.clone().matmul(features.transpose()) / temperature;
    let max = logits.clone().max_dim(1).detach();
    let logits = logits - max;
    let denom = (logits.clone().exp() * not_self).sum_dim(1).log();
    let log_prob = logits - denom;
    let mean_log_prob_pos = (pos * log_prob).sum_dim(1) * inv_pos_count;
    (mean_log_prob_pos * (-temperature / BASE_TEMPERATURE))
        .mean()
        .reshape([1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    fn normalise(v: &[[f32; 3]]) -> Vec<Vec<f64>> {
        v.iter()
            .map(|r| {
                let n = r.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
                r.iter().map(|x| *x as f64 / n).collect()
            })
            .collect()
    }

    /// The formula written out with plain loops in f64.
    fn by_hand(f: &[Vec<f64>], labels: &[usize], t: f64) -> f64 {
        let b = f.len();
        let dot = |i: usize, j: usize| f[i].iter().zip(&f[j]).map(|(a, b)| a * b).sum::<f64>();
        let mut total = 0.0;
        for i in 0..b {
            let denom: f64 = (0..b)
                .filter(|&k| k != i)
                .map(|k| (dot(i, k) / t).exp())
                .sum();
            let positives: Vec<usize> = (0..b)
                .filter(|&j| j != i && labels[j] == labels[i])
                .collect();
            if positives.is_empty() {
                continue;
            }
            let s: f64 = positives
                .iter()
                .map(|&j| (dot(i, j) / t).exp().ln() - denom.ln())
                .sum();
            total += -(t / 0.07) * s / positives.len() as f64;
        }
        total / b as f64
    }

    #[test]
    fn matches_the_formula_including_an_anchor_without_positive() {
        let device = Device::flex();
        let raw = [
            [1.0, 0.2, -0.3],
            [0.9, 0.1, -0.2],
            [-0.5, 1.0, 0.4],
            [-0.4, 0.8, 0.6],
            [0.1, -0.7, 1.0], // class 2: the only one, no positive
        ];
        let labels = [0, 0, 1, 1, 2];
        let f = normalise(&raw);
        for t in [0.07f32, 0.5] {
            let flat: Vec<f32> = f.iter().flatten().map(|&x| x as f32).collect();
            let x = Tensor::<2>::from_data(TensorData::new(flat, [5, 3]), &device);
            let got: f32 = supcon_loss(x, &labels, t).into_scalar();
            let want = by_hand(&f, &labels, t as f64);
            assert!(got.is_finite());
            assert!(
                (got as f64 - want).abs() < 1e-4 * want.abs().max(1.0),
                "T={t}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn no_positive_at_all_gives_zero_and_finite_gradient() {
        let device = Device::flex().autodiff();
        let x = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, 0.0, 0.0, 1.0, 0.6, 0.8], [3, 2]),
            &device,
        )
        .require_grad();
        let loss = supcon_loss(x.clone(), &[0, 1, 2], 0.07);
        let grads = loss.backward();
        let value: f32 = loss.into_scalar();
        assert_eq!(value, 0.0);
        let g = x
            .grad(&grads)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
    }
}
