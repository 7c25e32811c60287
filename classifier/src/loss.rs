//! Classification losses on soft labels (mixed by mixup): cross-entropy, class-weighted
//! cross-entropy and focal loss.
//!
//! With `p = softmax(logits)` and soft targets `y` (rows sum to 1):
//! - cross-entropy: `mean_i -sum_c y_ic log p_ic`
//! - class-weighted: `sum_i -sum_c w_c y_ic log p_ic / sum_i sum_c w_c y_ic` (PyTorch's
//!   `CrossEntropyLoss(weight=w)` with hard labels)
//! - focal (Lin et al. 2017): `mean_i -sum_c y_ic (1 - p_ic)^gamma log p_ic`

use burn::tensor::activation::log_softmax;
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// Which classification loss to train with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ClassLoss {
    /// Soft-label cross-entropy.
    #[default]
    CrossEntropy,
    /// Cross-entropy weighted per class by the inverse class frequency of the training set
    /// (normalised to mean 1).
    WeightedCrossEntropy,
    /// Focal loss with focusing parameter `gamma` (2 in the paper).
    Focal {
        /// Focusing parameter (0 gives cross-entropy).
        gamma: f32,
    },
}

/// Soft-label cross-entropy of `logits` (`[B, K]`) against `targets` (`[B, K]`); `[1]`.
pub fn soft_cross_entropy(logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    let log_p = log_softmax(logits, 1);
    (targets * log_p).sum_dim(1).mean().neg().reshape([1])
}

/// Class-weighted soft-label cross-entropy (`weights.len() == K`); `[1]`.
pub fn weighted_cross_entropy(logits: Tensor<2>, targets: Tensor<2>, weights: &[f32]) -> Tensor<1> {
    let device = logits.device();
    let k = weights.len();
    let w = Tensor::<2>::from_data(TensorData::new(weights.to_vec(), [1, k]), &device);
    let weighted = targets * w;
    let log_p = log_softmax(logits, 1);
    let num = (weighted.clone() * log_p).sum().neg();
    let den = weighted.sum();
    (num / den).reshape([1])
}

/// Focal loss with soft targets; `[1]`.
pub fn focal_loss(logits: Tensor<2>, targets: Tensor<2>, gamma: f32) -> Tensor<1> {
    let log_p = log_softmax(logits, 1);
    let p = log_p.clone().exp();
    let modulating = (p.neg() + 1.0).clamp_min(0.0).powf_scalar(gamma);
    (targets * modulating * log_p)
        .sum_dim(1)
        .mean()
        .neg()
        .reshape([1])
}

/// Inverse-frequency class weights from per-class counts, normalised to mean 1 (a class with
/// no example gets weight 0).
pub fn inverse_frequency_weights(counts: &[usize]) -> Vec<f32> {
    let inv: Vec<f64> = counts
        .iter()
        .map(|&c| if c == 0 { 0.0 } else { 1.0 / c as f64 })
        .collect();
    let present = inv.iter().filter(|&&w| w > 0.0).count().max(1) as f64;
    let sum: f64 = inv.iter().sum();
    inv.iter()
        .map(|w| {
            if sum > 0.0 {
                (w * present / sum) as f32
            } else {
                0.0
            }
        })
        .collect()
}

impl ClassLoss {
    /// This loss of `logits` against soft `targets`; `class_weights` is used by
    /// [`ClassLoss::WeightedCrossEntropy`] only.
    pub fn forward(
        &self,
        logits: Tensor<2>,
        targets: Tensor<2>,
        class_weights: &[f32],
    ) -> Tensor<1> {
        match self {
            ClassLoss::CrossEntropy => soft_cross_entropy(logits, targets),
            ClassLoss::WeightedCrossEntropy => {
                weighted_cross_entropy(logits, targets, class_weights)
            }
            ClassLoss::Focal { gamma } => focal_loss(logits, targets, *gamma),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    fn t(v: &[f32], shape: [usize; 2]) -> Tensor<2> {
        Tensor::from_data(TensorData::new(v.to_vec(), shape), &Device::flex())
    }

    fn log_softmax_rows(logits: &[[f64; 3]]) -> Vec<Vec<f64>> {
        logits
            .iter()
            .map(|r| {
                let m = r.iter().cloned().fold(f64::MIN, f64::max);
                let lse = m + r.iter().map(|x| (x - m).exp()).sum::<f64>().ln();
                r.iter().map(|x| x - lse).collect()
            })
            .collect()
    }

    const LOGITS: [[f64; 3]; 2] = [[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]];
    const TARGETS: [[f64; 3]; 2] = [[0.7, 0.3, 0.0], [0.0, 0.0, 1.0]];

    fn tensors() -> (Tensor<2>, Tensor<2>) {
        let l: Vec<f32> = LOGITS.iter().flatten().map(|&x| x as f32).collect();
        let y: Vec<f32> = TARGETS.iter().flatten().map(|&x| x as f32).collect();
        (t(&l, [2, 3]), t(&y, [2, 3]))
    }

    #[test]
    fn cross_entropy_matches_the_formula() {
        let lp = log_softmax_rows(&LOGITS);
        let want: f64 = -(0..2)
            .map(|i| (0..3).map(|c| TARGETS[i][c] * lp[i][c]).sum::<f64>())
            .sum::<f64>()
            / 2.0;
        let (l, y) = tensors();
        let got: f32 = soft_cross_entropy(l, y).into_scalar();
        assert!((got as f64 - want).abs() < 1e-5, "{got} {want}");
    }

    #[test]
    fn weighted_and_focal_match_the_formulas() {
        let lp = log_softmax_rows(&LOGITS);
        let w = [0.5, 2.0, 1.0];
        let num: f64 = -(0..2)
            .map(|i| (0..3).map(|c| w[c] * TARGETS[i][c] * lp[i][c]).sum::<f64>())
            .sum::<f64>();
        let den: f64 = (0..2)
            .map(|i| (0..3).map(|c| w[c] * TARGETS[i][c]).sum::<f64>())
            .sum();
        let (l, y) = tensors();
        let got: f32 = weighted_cross_entropy(l, y, &[0.5, 2.0, 1.0]).into_scalar();
        assert!((got as f64 - num / den).abs() < 1e-5);

        let gamma = 2.0;
        let want: f64 = -(0..2)
            .map(|i| {
                (0..3)
                    .map(|c| TARGETS[i][c] * (1.0 - lp[i][c].exp()).powf(gamma) * lp[i][c])
                    .sum::<f64>()
            })
            .sum::<f64>()
            / 2.0;
        let (l, y) = tensors();
        let got: f32 = focal_loss(l, y, gamma as f32).into_scalar();
        assert!((got as f64 - want).abs() < 1e-5, "{got} {want}");
    }

    #[test]
    fn inverse_frequency_weights_have_mean_one() {
        let w = inverse_frequency_weights(&[100, 25, 0, 50]);
        assert_eq!(w[2], 0.0);
        // inverse 0.01, 0.04, 0.02 -> sum 0.07, x 3 / 0.07
        assert!((w[0] - 3.0 * 0.01 / 0.07).abs() < 1e-6);
        assert!((w[1] / w[0] - 4.0).abs() < 1e-5);
    }
}
