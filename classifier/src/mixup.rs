//! Mixup variants, applied to feature batches on the CPU before they reach the model.
//!
//! **Balanced Mixup** (Galdran et al. 2021): each step draws one batch by instance sampling
//! (`x_i`, `y_i`) and one by class-balanced sampling (`x_b`, `y_b`), one
//! `lambda ~ Beta(alpha, 1)` per step, and trains on
//!
//! ```text
//! x = (1 - lambda) * x_i + lambda * x_b        y = (1 - lambda) * onehot(y_i) + lambda * onehot(y_b)
//! ```
//!
//! with soft-label cross-entropy. Small `alpha` (0.1 default; 0.2, 0.4 also used) keeps
//! `lambda` near 0, so the instance batch dominates and the balanced batch nudges it.
//! **Plain mixup** (Zhang et al. 2018) mixes the instance batch with a permutation of itself,
//! `lambda ~ Beta(alpha, alpha)`. `BalancedSampling` trains on the class-balanced batch
//! without mixing, `None` on the instance batch.
//!
//! The supervised contrastive loss is computed on the projections of the batch the model
//! actually sees (the mixed one); each mixed item takes the label of its dominant component
//! (`y_i` when `lambda < 0.5`, else `y_b`), see [`MixedBatch::dominant_labels`]. With
//! `Beta(0.1, 1)` that is the instance label 93% of the time.

use rand::Rng;
use rand_distr::{Beta, Distribution};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How training batches are sampled and mixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MixupMode {
    /// Instance batches, no mixing.
    None,
    /// Instance batch mixed with a permutation of itself, `lambda ~ Beta(alpha, alpha)`.
    Plain,
    /// Instance batch mixed with a class-balanced batch, `lambda ~ Beta(alpha, 1)`.
    #[default]
    Balanced,
    /// Class-balanced batches, no mixing.
    BalancedSampling,
}

impl std::str::FromStr for MixupMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "none" | "off" => Ok(Self::None),
            "plain" => Ok(Self::Plain),
            "balanced" => Ok(Self::Balanced),
            "balanced_sampling" | "balanced_only" => Ok(Self::BalancedSampling),
            other => Err(Error::config(
                "mixup",
                format!("`{other}` is unknown; use balanced, plain, none or balanced-sampling"),
            )),
        }
    }
}

impl MixupMode {
    /// Draws this step's mixing coefficient (0 for the modes that do not mix).
    pub fn sample_lambda(self, alpha: f32, rng: &mut impl Rng) -> Result<f32> {
        let beta = |a: f32, b: f32| {
            Beta::new(a, b).map_err(|e| {
                Error::config("mixup_alpha", format!("{a}: {e}; use a positive value"))
            })
        };
        Ok(match self {
            Self::None | Self::BalancedSampling => 0.0,
            Self::Plain => beta(alpha, alpha)?.sample(rng),
            Self::Balanced => beta(alpha, 1.0)?.sample(rng),
        })
    }
}

/// A batch ready for the model: features, soft targets and the labels used by SupCon.
#[derive(Debug, Clone, PartialEq)]
pub struct MixedBatch {
    /// Features, `[B, item_len]` row-major.
    pub x: Vec<f32>,
    /// Soft targets, `[B, n_classes]` row-major (rows sum to 1).
    pub targets: Vec<f32>,
    /// The mixing coefficient used (weight of the second batch).
    pub lambda: f32,
    /// Label of each item's dominant component (for the contrastive loss).
    pub dominant_labels: Vec<usize>,
}

/// Mixes `(1 - lambda) * a + lambda * b` item by item, features and one-hot labels alike.
/// `a` and `b` hold `labels_a.len()` items of `item_len` values each.
pub fn mix(
    a: &[f32],
    labels_a: &[usize],
    b: &[f32],
    labels_b: &[usize],
    n_classes: usize,
    lambda: f32,
) -> MixedBatch {
    let n = labels_a.len();
    let x: Vec<f32> = if lambda == 0.0 {
        a.to_vec()
    } else {
        a.iter()
            .zip(b)
            .map(|(&u, &v)| (1.0 - lambda) * u + lambda * v)
            .collect()
    };
    let mut targets = vec![0f32; n * n_classes];
    for i in 0..n {
        targets[i * n_classes + labels_a[i]] += 1.0 - lambda;
        if lambda != 0.0 {
            targets[i * n_classes + labels_b[i]] += lambda;
        }
    }
    let dominant_labels = if lambda < 0.5 {
        labels_a.to_vec()
    } else {
        labels_b.to_vec()
    };
    MixedBatch {
        x,
        targets,
        lambda,
        dominant_labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auscult_experiment::seeded_rng;

    #[test]
    fn mixes_features_and_labels_by_the_formula() {
        // two items of 3 values, 3 classes
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0];
        let m = mix(&a, &[0, 2], &b, &[1, 2], 3, 0.25);
        let want_x: Vec<f32> = a.iter().zip(&b).map(|(u, v)| 0.75 * u + 0.25 * v).collect();
        assert_eq!(m.x, want_x);
        assert_eq!(m.targets, vec![0.75, 0.25, 0.0, 0.0, 0.0, 1.0]);
        assert_eq!(m.dominant_labels, vec![0, 2]);
        let m = mix(&a, &[0, 2], &b, &[1, 0], 3, 0.75);
        assert_eq!(m.dominant_labels, vec![1, 0]);
        assert_eq!(m.targets, vec![0.25, 0.75, 0.0, 0.75, 0.0, 0.25]);
        let m = mix(&a, &[0, 2], &b, &[1, 0], 3, 0.0);
        assert_eq!(m.x, a.to_vec());
        assert_eq!(m.targets, vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn lambda_distributions_have_the_right_means() {
        let mut rng = seeded_rng(1, 0);
        let n = 20000;
        let mean = |mode: MixupMode, alpha: f32, rng: &mut _| {
            (0..n)
                .map(|_| mode.sample_lambda(alpha, rng).unwrap() as f64)
                .sum::<f64>()
                / n as f64
        };
        // Beta(a, 1) has mean a / (a + 1); Beta(a, a) has mean 1/2.
        for alpha in [0.1f32, 0.4] {
            let m = mean(MixupMode::Balanced, alpha, &mut rng);
            let want = alpha as f64 / (alpha as f64 + 1.0);
            assert!((m - want).abs() < 0.01, "alpha {alpha}: {m} vs {want}");
        }
        let m = mean(MixupMode::Plain, 0.4, &mut rng);
        assert!((m - 0.5).abs() < 0.01, "{m}");
        assert_eq!(mean(MixupMode::None, 0.4, &mut rng), 0.0);
        assert!(MixupMode::Balanced.sample_lambda(0.0, &mut rng).is_err());
    }

    #[test]
    fn parses_cli_names() {
        assert_eq!(
            "balanced".parse::<MixupMode>().unwrap(),
            MixupMode::Balanced
        );
        assert_eq!(
            "balanced-sampling".parse::<MixupMode>().unwrap(),
            MixupMode::BalancedSampling
        );
        assert!("cutmix".parse::<MixupMode>().is_err());
    }
}
