//! Stride-1 2D convolution on `f32` slices in NCHW layout: im2col, then one batched matrix
//! product (burn-flex's gemm). The gradients are the same two pieces: the input gradient is the
//! convolution of the output gradient with the flipped, transposed kernel; the weight gradient is
//! the output gradient times the transposed im2col matrix, summed over the batch.
//!
//! burn-flex 0.22's own path converts to NHWC and back around each convolution, and computes the
//! weight gradient as a convolution whose kernel is the whole output gradient; on this model's
//! small channel counts the copies cost more than the arithmetic (see the crate README).

use std::sync::Mutex;

use burn::backend::flex::FlexTensor;
use burn::tensor::{Shape, TensorData};
use rayon::prelude::*;

/// Buffers handed back after use, for the next im2col: fresh buffers of tens of megabytes cost
/// more in page faults than im2col costs in copies.
struct ScratchPool {
    buffers: Mutex<Vec<Vec<f32>>>,
}

/// The im2col buffers of every convolution.
static SCRATCH: ScratchPool = ScratchPool::new();

impl ScratchPool {
    /// How many buffers a pool keeps (the largest ones).
    const KEEP: usize = 3;

    const fn new() -> Self {
        Self {
            buffers: Mutex::new(Vec::new()),
        }
    }

    /// A buffer of `len` values (contents unspecified), recycled when one is large enough.
    fn take(&self, len: usize) -> Vec<f32> {
        let recycled = self.buffers.lock().ok().and_then(|mut pool| {
            let best = pool
                .iter()
                .enumerate()
                .filter(|(_, b)| b.capacity() >= len)
                .min_by_key(|(_, b)| b.capacity())
                .map(|(i, _)| i)?;
            Some(pool.swap_remove(best))
        });
        let mut buf = recycled.unwrap_or_default();
        if buf.len() >= len {
            buf.truncate(len);
        } else {
            buf.resize(len, 0.0);
        }
        buf
    }

    /// Takes back the storage of `t` when `t` is its only owner.
    fn recycle(&self, t: FlexTensor) {
        if !t.is_unique() {
            return;
        }
        let Ok(buf) = t.into_data().try_into_vec::<f32>() else {
            return;
        };
        if let Ok(mut pool) = self.buffers.lock() {
            pool.push(buf);
            if pool.len() > Self::KEEP
                && let Some(smallest) = pool
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, b)| b.capacity())
                    .map(|(i, _)| i)
            {
                pool.swap_remove(smallest);
            }
        }
    }
}

/// Sizes of one stride-1 convolution (no dilation, one group, symmetric zero padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConvShape {
    pub batch: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub k: usize,
    pub pad: usize,
}

impl ConvShape {
    /// From the input `[B, C_in, H, W]` and weight `[C_out, C_in, K, K]` shapes; `None` for a
    /// shape this kernel does not handle (non-square kernel, channel mismatch, empty output).
    pub fn new(x: &[usize], weight: &[usize], pad: usize) -> Option<Self> {
        let (&[batch, c_in, h, w], &[c_out, wc_in, kh, kw]) = (x, weight) else {
            return None;
        };
        let s = Self {
            batch,
            c_in,
            h,
            w,
            c_out,
            k: kh,
            pad,
        };
        (wc_in == c_in && kh == kw && kh > 0 && h + 2 * pad >= kh && w + 2 * pad >= kh).then_some(s)
    }

    /// Output height.
    pub fn ho(&self) -> usize {
        self.h + 2 * self.pad + 1 - self.k
    }

    /// Output width.
    pub fn wo(&self) -> usize {
        self.w + 2 * self.pad + 1 - self.k
    }

    /// Rows of the im2col matrix, `C_in * K * K`.
    fn ckk(&self) -> usize {
        self.c_in * self.k * self.k
    }

    /// The convolution that computes this one's input gradient: over the output gradient
    /// `[B, C_out, Ho, Wo]` with the flipped kernel `[C_in, C_out, K, K]`, padding `K - 1 - pad`.
    fn transposed(&self) -> Option<Self> {
        let pad = (self.k - 1).checked_sub(self.pad)?;
        Some(Self {
            batch: self.batch,
            c_in: self.c_out,
            h: self.ho(),
            w: self.wo(),
            c_out: self.c_in,
            k: self.k,
            pad,
        })
    }
}

/// The contiguous `f32` data of `t` (copied only when `t` is a strided view).
pub(crate) fn contiguous(t: &FlexTensor) -> Option<FlexTensor> {
    let t = if t.is_contiguous() && t.layout().start_offset() == 0 {
        t.clone()
    } else {
        t.to_contiguous()
    };
    t.as_slice::<f32>()?;
    Some(t)
}

fn tensor(data: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, shape.into()))
}

/// `col[b][(ci * K + kh) * K + kw][oh * Wo + ow] = x[b][ci][oh + kh - pad][ow + kw - pad]`, zero
/// outside the input: `[B, C_in * K * K, Ho * Wo]`.
fn im2col(x: &[f32], s: &ConvShape) -> Vec<f32> {
    let (ho, wo, k, p) = (s.ho(), s.wo(), s.k, s.pad);
    let plane_in = s.h * s.w;
    let plane_out = ho * wo;
    let mut col = SCRATCH.take(s.batch * s.ckk() * plane_out);
    col.par_chunks_mut(k * k * plane_out)
        .zip(x.par_chunks(plane_in))
        .for_each(|(dst, src)| {
            for kh in 0..k {
                for kw in 0..k {
                    let rows = &mut dst[(kh * k + kw) * plane_out..][..plane_out];
                    // Output columns whose input column `ow + kw - p` lies inside `0..w`.
                    let lo = p.saturating_sub(kw).min(wo);
                    let hi = (s.w + p).saturating_sub(kw).min(wo).max(lo);
                    for (oh, row) in rows.chunks_exact_mut(wo).enumerate() {
                        let ih = oh + kh;
                        if ih < p || ih - p >= s.h {
                            row.fill(0.0);
                            continue;
                        }
                        let src_row = &src[(ih - p) * s.w..][..s.w];
                        row[..lo].fill(0.0);
                        row[lo..hi].copy_from_slice(&src_row[lo + kw - p..hi + kw - p]);
                        row[hi..].fill(0.0);
                    }
                }
            }
        });
    col
}

/// The convolution `[B, C_in, H, W] * [C_out, C_in, K, K] -> [B, C_out, Ho, Wo]`.
pub(crate) fn forward(x: &[f32], weight: &FlexTensor, s: &ConvShape) -> FlexTensor {
    let col = tensor(im2col(x, s), [s.batch, s.ckk(), s.ho() * s.wo()]);
    let w = weight.reshape(Shape::new([1, s.c_out, s.ckk()]));
    let out = burn::backend::flex::ops::matmul::matmul(w, col.clone());
    SCRATCH.recycle(col);
    out.reshape(Shape::new([s.batch, s.c_out, s.ho(), s.wo()]))
}

/// Gradient of [`forward`] with respect to its input: `[B, C_in, H, W]`.
pub(crate) fn input_grad(grad: &[f32], weight: &[f32], s: &ConvShape) -> Option<FlexTensor> {
    let t = s.transposed()?;
    let k2 = s.k * s.k;
    // flipped[ci][co][kh][kw] = weight[co][ci][K-1-kh][K-1-kw]
    let mut flipped = vec![0f32; s.c_in * s.c_out * k2];
    for co in 0..s.c_out {
        for ci in 0..s.c_in {
            let src = &weight[(co * s.c_in + ci) * k2..][..k2];
            let dst = &mut flipped[(ci * s.c_out + co) * k2..][..k2];
            for (d, v) in dst.iter_mut().zip(src.iter().rev()) {
                *d = *v;
            }
        }
    }
    let flipped = tensor(flipped, [s.c_in, s.c_out, s.k, s.k]);
    Some(forward(grad, &flipped, &t))
}

/// Gradient of [`forward`] with respect to its weight: `[C_out, C_in, K, K]`.
pub(crate) fn weight_grad(x: &[f32], grad: FlexTensor, s: &ConvShape) -> Option<FlexTensor> {
    let (ckk, plane) = (s.ckk(), s.ho() * s.wo());
    let col = tensor(im2col(x, s), [s.batch, ckk, plane]);
    let grad = grad.reshape(Shape::new([s.batch, s.c_out, plane]));
    let product = burn::backend::flex::ops::matmul::matmul(grad, col.transpose(1, 2));
    SCRATCH.recycle(col);
    let per_item = contiguous(&product)?;
    let per_item = per_item.as_slice::<f32>()?;
    let n = s.c_out * ckk;
    let mut sum = vec![0f32; n];
    for item in per_item.chunks_exact(n) {
        for (a, v) in sum.iter_mut().zip(item) {
            *a += v;
        }
    }
    Some(tensor(sum, [s.c_out, s.c_in, s.k, s.k]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A buffer handed to a tensor and recycled comes back without a copy (same allocation).
    #[test]
    fn scratch_buffers_are_recycled_in_place() {
        let pool = ScratchPool::new();
        let n = 100_000;
        let buf = pool.take(n);
        let address = buf.as_ptr() as usize;
        pool.recycle(tensor(buf, [n]));
        let again = pool.take(n - 10);
        assert_eq!(again.len(), n - 10);
        assert_eq!(again.as_ptr() as usize, address);
        // A tensor still shared is left alone.
        let t = tensor(again, [n - 10]);
        let other = t.clone();
        pool.recycle(t);
        let fresh = pool.take(n);
        assert_ne!(fresh.as_ptr() as usize, address);
        drop((other, fresh));
    }
}
