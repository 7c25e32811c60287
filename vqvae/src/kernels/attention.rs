//! Causal multi-head self-attention on `f32`, forward and backward, straight from the fused
//! `[B, T, 3 * D]` query/key/value projection to the `[B, T, D]` output with the heads
//! concatenated.
//!
//! Per batch item (in parallel) and head, the queries are taken in blocks of at most
//! [`BLOCK`] rows; a block of rows `r0..r1` only needs the keys and values `0..r1`, so the
//! scores are one `[r1 - r0, r1]` matrix product (burn-flex's gemm, reading the heads in
//! place through strided views), the softmax runs over `j <= i` only (the masked entries are
//! set to zero, never exponentiated) and the output is one more product with the values. The
//! forward pass keeps only each row's log-sum-exp; the backward pass recomputes the block's
//! probabilities from it (flash-attention style) rather than storing `[B, H, T, T]`
//! probabilities, which would cost more in memory traffic and page faults than the extra
//! product costs in arithmetic.

use burn::backend::flex::ops::matmul::matmul;
use burn::backend::flex::{FlexTensor, Layout};
use burn::tensor::{DType, Shape};
use rayon::prelude::*;

/// Most query rows per block: the scores of a block (`BLOCK x T` values) stay in the L2 cache.
pub(crate) const BLOCK: usize = 64;

/// Sizes of one attention call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AttnShape {
    /// Batch size `B`.
    pub batch: usize,
    /// Sequence length `T`.
    pub time: usize,
    /// Number of heads `H`.
    pub heads: usize,
    /// Width of one head, `D / H`.
    pub head_dim: usize,
}

impl AttnShape {
    /// From the `[B, T, 3 * D]` shape of the projection; `None` unless `3 * n_heads` divides its
    /// last dimension (and both are positive).
    pub fn new(dims: &[usize], heads: usize) -> Option<Self> {
        let &[batch, time, c] = dims else {
            return None;
        };
        (heads > 0 && c > 0 && c.is_multiple_of(3 * heads)).then(|| Self {
            batch,
            time,
            heads,
            head_dim: c / (3 * heads),
        })
    }

    /// Model width `D`.
    pub fn d_model(&self) -> usize {
        self.heads * self.head_dim
    }

    /// The score scale `1 / sqrt(D / H)`.
    fn scale(&self) -> f32 {
        1.0 / (self.head_dim as f32).sqrt()
    }

    /// Query blocks `(r0, r1)`: at most [`BLOCK`] rows each, of nearly equal sizes.
    fn blocks(&self) -> impl Iterator<Item = (usize, usize)> {
        let t = self.time;
        let n = t.div_ceil(BLOCK).max(1);
        let rows = t.div_ceil(n).max(1);
        (0..t).step_by(rows).map(move |r0| (r0, (r0 + rows).min(t)))
    }
}

/// The `[rows, cols]` view, row stride `row_stride`, of the `f32` storage of `base` starting at
/// element `offset`; `None` when it would reach past the storage (or `base` is not `f32`).
fn view(
    base: &FlexTensor,
    rows: usize,
    cols: usize,
    row_stride: usize,
    offset: usize,
) -> Option<FlexTensor> {
    let len = base.bytes().len() / std::mem::size_of::<f32>();
    let end = match (rows, cols) {
        (0, _) | (_, 0) => offset,
        _ => offset + (rows - 1) * row_stride + cols,
    };
    (base.dtype() == DType::F32 && end <= len).then(|| {
        FlexTensor::from_arc(
            base.data_arc(),
            Layout::new(
                Shape::new([rows, cols]),
                vec![row_stride as isize, 1],
                offset,
            ),
            DType::F32,
        )
    })
}

/// Query, key and value `[T, D / H]` views of one head of one batch item.
struct HeadViews {
    q: FlexTensor,
    k: FlexTensor,
    v: FlexTensor,
}

impl HeadViews {
    fn new(qkv: &FlexTensor, s: &AttnShape, batch: usize, head: usize) -> Option<Self> {
        let (t, d, dk) = (s.time, s.d_model(), s.head_dim);
        let base = batch * t * 3 * d + head * dk;
        Some(Self {
            q: view(qkv, t, dk, 3 * d, base)?,
            k: view(qkv, t, dk, 3 * d, base + d)?,
            v: view(qkv, t, dk, 3 * d, base + 2 * d)?,
        })
    }
}

/// `e^x` for `x` in about `[-87, 88]` (clamped there), relative error about 2e-7: Cephes'
/// `expf` (Cody-Waite reduction by `ln 2`, degree-6 polynomial), written without calls or
/// branches so that loops over it vectorise (glibc's `expf` is one call per value).
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // 1.5 * 2^23: adding it rounds `x log2 e` to the nearest integer `n`, which then sits in
    // the low bits of the sum's representation.
    const ROUND: f32 = 12_582_912.0;
    // Comparisons rather than `clamp` and bit arithmetic rather than `as i32` (both of which
    // handle NaN and saturation with scalar code): a NaN `x` gives an unspecified result.
    let x = if x > -87.0 { x } else { -87.0 };
    let x = if x < 88.0 { x } else { 88.0 };
    let shifted = x * LOG2E + ROUND;
    let n = shifted - ROUND;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    // 2^n: the exponent field `n + 127`, from the integer in the low bits of `shifted`.
    let two_n = (shifted.to_bits().wrapping_sub(ROUND.to_bits()) as i32 + 127) << 23;
    e * f32::from_bits(two_n as u32)
}

/// Sum of `xs` in eight interleaved partial sums (a loop the compiler vectorises).
fn sum(xs: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = xs.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// Largest value of `xs` (`-inf` for none), in eight interleaved lanes.
fn max(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let chunks = xs.chunks_exact(8);
    let rest = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &x| m.max(x));
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = if x > *a { x } else { *a };
        }
    }
    acc.iter().fold(rest, |m, &x| m.max(x))
}

/// Turns row `i` of raw scores into the causal softmax of the scaled scores: probabilities over
/// `j <= i`, zero beyond. Returns the row's log-sum-exp of the scaled scores.
fn softmax_row(row: &mut [f32], i: usize, scale: f32) -> f32 {
    let (valid, masked) = row.split_at_mut((i + 1).min(row.len()));
    masked.fill(0.0);
    let shift = max(valid) * scale;
    for x in valid.iter_mut() {
        *x = exp(*x * scale - shift);
    }
    let total = sum(valid);
    let inv = 1.0 / total;
    for x in valid.iter_mut() {
        *x *= inv;
    }
    shift + total.ln()
}

/// Forward pass: the attention output `[B, T, D]` and each row's log-sum-exp `[B, H, T]`.
///
/// `qkv` holds the `[B, T, 3 * D]` projection in contiguous `f32` storage; `None` when it does
/// not (the caller then makes it so, or falls back).
pub(crate) fn forward(qkv: &FlexTensor, s: &AttnShape) -> Option<(Vec<f32>, Vec<f32>)> {
    let (t, d, dk) = (s.time, s.d_model(), s.head_dim);
    let mut out = vec![0f32; s.batch * t * d];
    let mut lse = vec![0f32; s.batch * s.heads * t];
    if out.is_empty() {
        return Some((out, lse));
    }
    let scale = s.scale();
    out.par_chunks_mut(t * d)
        .zip(lse.par_chunks_mut(s.heads * t))
        .enumerate()
        .try_for_each(|(b, (out, lse))| {
            for (h, lse) in lse.chunks_exact_mut(t).enumerate() {
                let hv = HeadViews::new(qkv, s, b, h)?;
                for (r0, r1) in s.blocks() {
                    let mut p = matmul(
                        hv.q.narrow(0, r0, r1 - r0),
                        hv.k.narrow(0, 0, r1).transpose(0, 1),
                    );
                    let rows = p.try_storage_mut::<f32>()?;
                    for ((row, i), l) in rows.chunks_exact_mut(r1).zip(r0..r1).zip(&mut lse[r0..r1])
                    {
                        *l = softmax_row(row, i, scale);
                    }
                    let o = matmul(p, hv.v.narrow(0, 0, r1));
                    for (src, i) in o.as_slice::<f32>()?.chunks_exact(dk).zip(r0..r1) {
                        out[i * d + h * dk..][..dk].copy_from_slice(src);
                    }
                }
            }
            Some(())
        })?;
    Some((out, lse))
}

/// Backward pass: the gradient `[B, T, 3 * D]` with respect to `qkv` from the output gradient
/// `grad` `[B, T, D]`, given the forward pass's output `out` `[B, T, D]` and log-sum-exps `lse`.
///
/// With `P` the probabilities, `S` the scaled scores and `dO` the output gradient, per head:
/// `dV = P^T dO`, `dP = dO V^T`, `dS = P * (dP - rowsum(dO * O))`, `dQ = dS K * scale`,
/// `dK = dS^T Q * scale`. `qkv` and `grad` must be contiguous `f32`; `None` otherwise.
pub(crate) fn backward(
    qkv: &FlexTensor,
    out: &[f32],
    lse: &[f32],
    grad: &FlexTensor,
    s: &AttnShape,
) -> Option<Vec<f32>> {
    let (t, d, dk) = (s.time, s.d_model(), s.head_dim);
    let c = 3 * d;
    let mut dqkv = vec![0f32; s.batch * t * c];
    if dqkv.is_empty() {
        return Some(dqkv);
    }
    let grad_values = grad.as_slice::<f32>()?;
    if out.len() != s.batch * t * d
        || grad_values.len() != out.len()
        || lse.len() != s.batch * s.heads * t
    {
        return None;
    }
    let scale = s.scale();
    dqkv.par_chunks_mut(t * c)
        .zip(out.par_chunks(t * d))
        .zip(grad_values.par_chunks(t * d))
        .zip(lse.par_chunks(s.heads * t))
        .enumerate()
        .try_for_each(|(b, (((g, out), grad_b), lse))| {
            for (h, lse) in lse.chunks_exact(t).enumerate() {
                let hv = HeadViews::new(qkv, s, b, h)?;
                let d_out = view(grad, t, dk, d, b * t * d + h * dk)?;
                // rowsum(dO * O): the probability-weighted mean of dP in each row.
                let delta: Vec<f32> = out
                    .chunks_exact(d)
                    .zip(grad_b.chunks_exact(d))
                    .map(|(o, go)| {
                        o[h * dk..][..dk]
                            .iter()
                            .zip(&go[h * dk..][..dk])
                            .map(|(a, b)| a * b)
                            .sum()
                    })
                    .collect();
                for (r0, r1) in s.blocks() {
                    let q = hv.q.narrow(0, r0, r1 - r0);
                    let k = hv.k.narrow(0, 0, r1);
                    let d_o = d_out.narrow(0, r0, r1 - r0);
                    let mut p = matmul(q.clone(), k.clone().transpose(0, 1));
                    let mut ds = matmul(d_o.clone(), hv.v.narrow(0, 0, r1).transpose(0, 1));
                    {
                        let p_rows = p.try_storage_mut::<f32>()?;
                        let ds_rows = ds.try_storage_mut::<f32>()?;
                        for (((p_row, ds_row), i), (&l, &dl)) in p_rows
                            .chunks_exact_mut(r1)
                            .zip(ds_rows.chunks_exact_mut(r1))
                            .zip(r0..r1)
                            .zip(lse[r0..r1].iter().zip(&delta[r0..r1]))
                        {
                            let n = (i + 1).min(r1);
                            for (pj, dj) in p_row[..n].iter_mut().zip(&mut ds_row[..n]) {
                                let e = exp(*pj * scale - l);
                                *pj = e;
                                *dj = e * (*dj - dl) * scale;
                            }
                            p_row[n..].fill(0.0);
                            ds_row[n..].fill(0.0);
                        }
                    }
                    let dq = matmul(ds.clone(), k);
                    let dk_ = matmul(ds.transpose(0, 1), q);
                    let dv = matmul(p.transpose(0, 1), d_o);
                    for (src, i) in dq.as_slice::<f32>()?.chunks_exact(dk).zip(r0..r1) {
                        g[i * c + h * dk..][..dk].copy_from_slice(src);
                    }
                    for ((kr, vr), dst) in dk_
                        .as_slice::<f32>()?
                        .chunks_exact(dk)
                        .zip(dv.as_slice::<f32>()?.chunks_exact(dk))
                        .zip(g.chunks_exact_mut(c))
                    {
                        for (a, b) in dst[d + h * dk..][..dk].iter_mut().zip(kr) {
                            *a += b;
                        }
                        for (a, b) in dst[2 * d + h * dk..][..dk].iter_mut().zip(vr) {
                            *a += b;
                        }
                    }
                }
            }
            Some(())
        })?;
    Some(dqkv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_the_standard_library() {
        let mut worst = 0f64;
        for i in 0..=20_000 {
            let x = -87.0 + 175.0 * i as f32 / 20_000.0;
            let want = (x as f64).exp();
            worst = worst.max(((exp(x) as f64) - want).abs() / want);
        }
        assert!(worst < 5e-7, "relative error {worst}");
        assert!(exp(-1.0e4) < 1e-37 && exp(0.0) == 1.0);
    }

    #[test]
    fn sum_and_max_by_hand() {
        let xs: Vec<f32> = (0..19).map(|i| (i as f32 - 7.0) * 0.5).collect();
        assert_eq!(sum(&xs), xs.iter().sum::<f32>());
        assert_eq!(max(&xs), 5.5);
        assert_eq!(max(&xs[..3]), -2.5);
        assert_eq!(max(&[]), f32::NEG_INFINITY);
    }

    #[test]
    fn blocks_cover_the_sequence_once() {
        for t in [1usize, 2, 63, 64, 65, 130, 513] {
            let s = AttnShape::new(&[1, t, 6], 1).unwrap();
            let blocks: Vec<_> = s.blocks().collect();
            assert_eq!(blocks.first().map(|b| b.0), Some(0));
            assert_eq!(blocks.last().map(|b| b.1), Some(t));
            for w in blocks.windows(2) {
                assert_eq!(w[0].1, w[1].0);
            }
            assert!(blocks.iter().all(|&(a, b)| a < b && b - a <= BLOCK));
        }
    }

    #[test]
    fn shape_rejects_widths_not_divisible_by_three_heads() {
        assert!(AttnShape::new(&[2, 5, 12], 2).is_some());
        assert!(AttnShape::new(&[2, 5, 12], 3).is_none());
        assert!(AttnShape::new(&[2, 5, 12], 0).is_none());
        assert!(AttnShape::new(&[2, 12], 1).is_none());
    }

    #[test]
    fn views_past_the_storage_are_refused() {
        let base = FlexTensor::from_data(burn::tensor::TensorData::new(vec![0f32; 12], [12]));
        assert!(view(&base, 3, 2, 4, 2).is_some()); // last element 2 + 2 * 4 + 1 = 11
        assert!(view(&base, 3, 2, 4, 3).is_none());
    }
}
