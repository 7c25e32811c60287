//! GELU on `f32`, forward and backward, split over the rayon threads.
//!
//! burn-flex computes `gelu` and its gradient element by element on one thread, calling
//! `libm::erff` in both passes; in the prior's feed-forward layers (`[B, T, 4 * D]`, 4.2
//! million values per layer at the CPU defaults) that took about a quarter of a training step
//! on 2 cores. Here the forward pass computes the same values with the same operations in the
//! same order (so the results are bit for bit burn-flex's) on every thread, and keeps
//! `cdf = (1 + erf(x / sqrt 2)) / 2` for the backward pass, which then needs only an `exp`
//! per value instead of an `erf` and an `exp`.

use rayon::prelude::*;

/// Values per parallel task: large enough that scheduling is negligible.
const CHUNK: usize = 1 << 14;

const SQRT_2: f32 = core::f32::consts::SQRT_2;

/// `0.5 * x * (1 + erf(x / sqrt 2))` per value, as burn-flex's `gelu` computes it, and the
/// `cdf` `0.5 * (1 + erf(x / sqrt 2))` per value, as its `gelu_backward` computes it.
pub(crate) fn forward(x: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let mut out = vec![0f32; x.len()];
    let mut cdf = vec![0f32; x.len()];
    out.par_chunks_mut(CHUNK)
        .zip(cdf.par_chunks_mut(CHUNK))
        .zip(x.par_chunks(CHUNK))
        .for_each(|((out, cdf), x)| {
            for ((o, c), &x) in out.iter_mut().zip(cdf.iter_mut()).zip(x) {
                let e = libm::erff(x / SQRT_2);
                *o = 0.5 * x * (1.0 + e);
                *c = 0.5 * (1.0 + e);
            }
        });
    (out, cdf)
}

/// `0.5 * x * (1 + erf(x / sqrt 2))` per value (the forward pass without the saved `cdf`).
pub(crate) fn values(x: &[f32]) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    out.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .for_each(|(out, x)| {
            for (o, &x) in out.iter_mut().zip(x) {
                *o = 0.5 * x * (1.0 + libm::erff(x / SQRT_2));
            }
        });
    out
}

/// The gradient `g * (cdf + x * pdf(x))` per value, with `pdf(x) = exp(-x^2 / 2) / sqrt(2 pi)`,
/// as burn-flex's `gelu_backward` computes it.
///
/// # Panics
/// When the three slices differ in length (the caller saved them from one forward pass).
pub(crate) fn backward(x: &[f32], cdf: &[f32], grad: &[f32]) -> Vec<f32> {
    assert!(x.len() == cdf.len() && x.len() == grad.len());
    let inv_sqrt_2pi: f32 = 1.0 / (2.0 * core::f32::consts::PI).sqrt();
    let mut out = vec![0f32; x.len()];
    out.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .zip(cdf.par_chunks(CHUNK).zip(grad.par_chunks(CHUNK)))
        .for_each(|((out, x), (cdf, grad))| {
            for (((o, &x), &c), &g) in out.iter_mut().zip(x).zip(cdf).zip(grad) {
                let pdf = inv_sqrt_2pi * (-0.5 * x * x).exp();
                *o = g * (c + x * pdf);
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_saved_cdf_agree() {
        let x: Vec<f32> = (0..40_000)
            .map(|i| (i as f32 - 20_000.0) / 2_000.0)
            .collect();
        let (out, cdf) = forward(&x);
        assert_eq!(out, values(&x));
        // gelu(x) = x * cdf(x); cdf rises from 0 to 1 and is 1/2 at 0.
        assert!(cdf.windows(2).all(|w| w[0] <= w[1]));
        assert!(cdf[0] < 1e-6 && cdf[x.len() - 1] > 1.0 - 1e-6);
        assert_eq!(cdf[20_000], 0.5);
        for (o, (x, c)) in out.iter().zip(x.iter().zip(&cdf)) {
            assert!((o - x * c).abs() <= 1e-6 * (1.0 + x.abs()));
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let x: Vec<f32> = (0..200).map(|i| (i as f32 - 100.0) / 25.0).collect();
        let (_, cdf) = forward(&x);
        let grad = backward(&x, &cdf, &vec![1.0; x.len()]);
        let h = 1e-2f64;
        for (&x, &g) in x.iter().zip(&grad) {
            let gelu = |v: f64| 0.5 * v * (1.0 + libm::erf(v / std::f64::consts::SQRT_2));
            let fd = (gelu(f64::from(x) + h) - gelu(f64::from(x) - h)) / (2.0 * h);
            assert!((f64::from(g) - fd).abs() < 1e-3, "x {x}: {g} against {fd}");
        }
    }
}
