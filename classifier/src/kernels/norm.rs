//! Batch normalisation (training mode, statistics of the batch) fused with the ReLU after it and
//! the non-overlapping average pooling after that, on `f32` slices in NCHW layout: one pass
//! over the data for the statistics, one for the pooled output; two passes backward. Neither the
//! normalised nor the rectified activation is ever stored: backward recomputes the ReLU mask
//! from the input. burn's composed version makes about a dozen passes, several of them
//! transposing copies, and pooling two more forward and four backward.

use rayon::prelude::*;

/// Independent partial sums, so that the reductions below vectorize.
const LANES: usize = 8;

/// `sum(f(a[i], b[i]))` over two equally long slices, in [`LANES`] partial sums.
#[inline]
fn lane_sum(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, &y)| f(x, y))
        .sum();
    for (xa, xb) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += f(xa[i], xb[i]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Per-channel mean and biased variance of `x` `[B, C, plane]` (sums in `f64`), as
/// `[mean_0 .. mean_C, var_0 .. var_C]`.
pub(crate) fn channel_stats(x: &[f32], batch: usize, channels: usize, plane: usize) -> Vec<f32> {
    let n = (batch * plane).max(1) as f64;
    let per_channel: Vec<(f32, f32)> = (0..channels)
        .into_par_iter()
        .map(|c| {
            let items = (0..batch).map(|b| &x[(b * channels + c) * plane..][..plane]);
            let sum: f64 = items.clone().map(|v| lane_sum(v, v, |a, _| a) as f64).sum();
            let mean = sum / n;
            let m = mean as f32;
            let sq: f64 = items
                .map(|v| {
                    lane_sum(v, v, |a, _| {
                        let d = a - m;
                        d * d
                    }) as f64
                })
                .sum();
            (m, (sq / n) as f32)
        })
        .collect();
    let mut out: Vec<f32> = per_channel.iter().map(|p| p.0).collect();
    out.extend(per_channel.iter().map(|p| p.1));
    out
}

/// Sizes of one fused batch-norm, ReLU and pooling.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NormShape {
    pub batch: usize,
    pub channels: usize,
    pub h: usize,
    pub w: usize,
    /// Pooling window = stride `[kh, kw]` (`[1, 1]`: no pooling).
    pub pool: [usize; 2],
    pub epsilon: f64,
}

impl NormShape {
    /// Pooled height and width (floor mode).
    pub fn pooled(&self) -> (usize, usize) {
        (self.h / self.pool[0], self.w / self.pool[1])
    }

    /// Per-channel `(scale, shift)` of the normalisation: `y = x * scale + shift`.
    fn affine(&self, gamma: &[f32], beta: &[f32], stats: &[f32], c: usize) -> (f32, f32) {
        let inv_std = self.inv_std(stats, c);
        let scale = gamma[c] * inv_std;
        (scale, beta[c] - stats[c] * scale)
    }

    fn inv_std(&self, stats: &[f32], c: usize) -> f32 {
        1.0 / (stats[self.channels + c] as f64 + self.epsilon).sqrt() as f32
    }
}

/// `avg_pool(relu(gamma * (x - mean) / sqrt(var + eps) + beta))` with `stats` from
/// [`channel_stats`]: `[B, C, H / kh, W / kw]`.
pub(crate) fn forward(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    stats: &[f32],
    s: &NormShape,
) -> Vec<f32> {
    let (oh, ow) = s.pooled();
    let [kh, kw] = s.pool;
    let inv_area = 1.0 / (kh * kw) as f32;
    let mut out = vec![0f32; s.batch * s.channels * oh * ow];
    if oh * ow == 0 {
        return out;
    }
    out.par_chunks_mut(oh * ow)
        .zip(x.par_chunks(s.h * s.w))
        .enumerate()
        .for_each(|(i, (o, xs))| {
            let (scale, shift) = s.affine(gamma, beta, stats, i % s.channels);
            if kh == 1 && kw == 1 {
                for (o, &v) in o.iter_mut().zip(xs) {
                    *o = (v * scale + shift).max(0.0);
                }
                return;
            }
            let mut rect = vec![0f32; ow * kw];
            for (r, orow) in o.chunks_exact_mut(ow).enumerate() {
                for dr in 0..kh {
                    let xrow = &xs[(r * kh + dr) * s.w..][..ow * kw];
                    for (t, &a) in rect.iter_mut().zip(xrow) {
                        *t = (a * scale + shift).max(0.0);
                    }
                    match kw {
                        1 => add_windows::<1>(&rect, orow),
                        2 => add_windows::<2>(&rect, orow),
                        3 => add_windows::<3>(&rect, orow),
                        _ => {
                            for (v, win) in orow.iter_mut().zip(rect.chunks_exact(kw)) {
                                *v += win.iter().sum::<f32>();
                            }
                        }
                    }
                }
                for v in orow.iter_mut() {
                    *v *= inv_area;
                }
            }
        });
    out
}

/// `out[j] += sum(rect[j * K .. (j + 1) * K])` (a window size known at compile time unrolls).
fn add_windows<const K: usize>(rect: &[f32], out: &mut [f32]) {
    for (v, win) in out.iter_mut().zip(rect.chunks_exact(K)) {
        *v += win.iter().sum::<f32>();
    }
}

/// `out[j * K .. (j + 1) * K] = g[j] * scale`.
fn spread<const K: usize>(g: &[f32], scale: f32, out: &mut [f32]) {
    for (win, &v) in out.chunks_exact_mut(K).zip(g) {
        win.fill(v * scale);
    }
}

/// The gradient reaching the batch-norm output along input row `r` of one plane: the pooled
/// gradient spread over its window, where the ReLU passed (zero in the rows and columns the
/// floor mode dropped).
#[allow(clippy::too_many_arguments)]
fn rectified_row(
    xrow: &[f32],
    gplane: &[f32],
    r: usize,
    s: &NormShape,
    scale: f32,
    shift: f32,
    out: &mut [f32],
) {
    let (oh, ow) = s.pooled();
    let [kh, kw] = s.pool;
    if r >= oh * kh || ow == 0 {
        out.fill(0.0);
        return;
    }
    let inv_area = 1.0 / (kh * kw) as f32;
    let grow = &gplane[(r / kh) * ow..][..ow];
    let (inside, dropped) = out.split_at_mut(ow * kw);
    dropped.fill(0.0);
    match kw {
        1 => spread::<1>(grow, inv_area, inside),
        2 => spread::<2>(grow, inv_area, inside),
        3 => spread::<3>(grow, inv_area, inside),
        _ => {
            for (win, &v) in inside.chunks_exact_mut(kw).zip(grow) {
                win.fill(v * inv_area);
            }
        }
    }
    for (o, &v) in inside.iter_mut().zip(xrow) {
        *o = if v * scale + shift > 0.0 { *o } else { 0.0 };
    }
}

/// Gradients of [`forward`] (the batch statistics differentiated as functions of `x`):
/// `(x, gamma, beta)`. `grad` is the gradient of the pooled output.
pub(crate) fn backward(
    x: &[f32],
    grad: &[f32],
    gamma: &[f32],
    beta: &[f32],
    stats: &[f32],
    s: &NormShape,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (oh, ow) = s.pooled();
    let (plane, pplane) = (s.h * s.w, oh * ow);
    if plane == 0 {
        return (Vec::new(), vec![0.0; s.channels], vec![0.0; s.channels]);
    }
    let n = (s.batch * plane).max(1) as f32;
    // Pass 1, per channel: the rectified gradient g, written into `dx`, and the sums of g and
    // of g times x_hat.
    let mut dx = vec![0f32; x.len()];
    let mut by_channel: Vec<Vec<(usize, &mut [f32])>> =
        (0..s.channels).map(|_| Vec::new()).collect();
    for (i, d) in dx.chunks_mut(plane).enumerate() {
        by_channel[i % s.channels].push((i, d));
    }
    let sums: Vec<(f32, f32)> = by_channel
        .into_par_iter()
        .enumerate()
        .map(|(c, planes)| {
            let (scale, shift) = s.affine(gamma, beta, stats, c);
            let (mean, is) = (stats[c], s.inv_std(stats, c));
            let (mut sg, mut sgx) = (0f64, 0f64);
            for (i, d) in planes {
                let (xs, gp) = (&x[i * plane..][..plane], &grad[i * pplane..][..pplane]);
                let (mut a, mut gx) = (0f64, 0f64);
                for (r, (g, xrow)) in d
                    .chunks_exact_mut(s.w)
                    .zip(xs.chunks_exact(s.w))
                    .enumerate()
                {
                    rectified_row(xrow, gp, r, s, scale, shift, g);
                    a += lane_sum(g, g, |gv, _| gv) as f64;
                    gx += lane_sum(g, xrow, |gv, xv| gv * xv) as f64;
                }
                // sum(g * x_hat) = inv_std * (sum(g * x) - mean * sum(g))
                sg += a;
                sgx += is as f64 * (gx - mean as f64 * a);
            }
            (sg as f32, sgx as f32)
        })
        .collect();
    // Pass 2, in place: dx = gamma * inv_std * (g - mean(g) - x_hat * mean(g * x_hat)).
    dx.par_chunks_mut(plane)
        .zip(x.par_chunks(plane))
        .enumerate()
        .for_each(|(i, (d, xs))| {
            let c = i % s.channels;
            let (mean, is) = (stats[c], s.inv_std(stats, c));
            let k = gamma[c] * is;
            let (mg, mgx) = (sums[c].0 / n, sums[c].1 / n);
            for (dv, &xv) in d.iter_mut().zip(xs) {
                *dv = k * (*dv - mg - (xv - mean) * is * mgx);
            }
        });
    let dgamma = sums.iter().map(|s| s.1).collect();
    let dbeta = sums.iter().map(|s| s.0).collect();
    (dx, dgamma, dbeta)
}
