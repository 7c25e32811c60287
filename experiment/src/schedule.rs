//! Learning-rate schedules.

use serde::{Deserialize, Serialize};

/// A learning-rate schedule, stored in training configs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum LrSchedule {
    /// The same rate at every step.
    Constant,
    /// Linear warm-up over `warmup_steps`, then cosine decay to `min_factor` x the base rate.
    Cosine {
        /// Steps of linear warm-up from 0.
        warmup_steps: usize,
        /// Final rate as a fraction of the base rate.
        min_factor: f64,
    },
}

impl LrSchedule {
    /// The learning rate at `step` (0-based) of `total_steps`, for base rate `base_lr`.
    pub fn lr(&self, step: usize, total_steps: usize, base_lr: f64) -> f64 {
        match *self {
            LrSchedule::Constant => base_lr,
            LrSchedule::Cosine {
                warmup_steps,
                min_factor,
            } => cosine_with_warmup(
                step,
                total_steps,
                warmup_steps,
                base_lr,
                base_lr * min_factor,
            ),
        }
    }
}

/// Linear warm-up for `warmup` steps (from `base_lr / warmup` up to `base_lr`), then cosine
/// decay from `base_lr` to `min_lr` at `total - 1`. Steps past the end stay at `min_lr`.
pub fn cosine_with_warmup(
    step: usize,
    total: usize,
    warmup: usize,
    base_lr: f64,
    min_lr: f64,
) -> f64 {
    if warmup > 0 && step < warmup {
        return base_lr * (step + 1) as f64 / warmup as f64;
    }
    let decay_steps = total.saturating_sub(warmup).max(1);
    let t = ((step - warmup.min(step)) as f64 / decay_steps as f64).min(1.0);
    min_lr + 0.5 * (base_lr - min_lr) * (1.0 + (std::f64::consts::PI * t).cos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_then_cosine() {
        let lr = |s| cosine_with_warmup(s, 110, 10, 1.0, 0.0);
        assert!((lr(0) - 0.1).abs() < 1e-12);
        assert!((lr(9) - 1.0).abs() < 1e-12);
        assert!((lr(10) - 1.0).abs() < 1e-12);
        assert!((lr(60) - 0.5).abs() < 1e-12);
        assert!(lr(110).abs() < 1e-12);
        assert!(lr(500).abs() < 1e-12);
        for s in 10..109 {
            assert!(lr(s + 1) <= lr(s));
        }
    }
}
