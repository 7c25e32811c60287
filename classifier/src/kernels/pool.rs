//! Non-overlapping average pooling (window = stride = `[kh, kw]`, floor mode) on `f32` slices in
//! NCHW layout, forward and backward, one pass each. burn's `mean_dim` backward, which the
//! composed formulation (`model::avg_pool`) goes through, allocates and fills a tensor of ones
//! and multiplies it, twice per pooling.

use rayon::prelude::*;

/// `[B * C, H, W] -> [B * C, H / kh, W / kw]`.
pub(crate) fn forward(x: &[f32], planes: usize, h: usize, w: usize, k: [usize; 2]) -> Vec<f32> {
    let (kh, kw) = (k[0], k[1]);
    let (oh, ow) = (h / kh, w / kw);
    let scale = 1.0 / (kh * kw) as f32;
    let mut out = vec![0f32; planes * oh * ow];
    if oh * ow == 0 {
        return out;
    }
    out.par_chunks_mut(oh * ow)
        .zip(x.par_chunks(h * w))
        .for_each(|(o, xs)| {
            for (i, orow) in o.chunks_exact_mut(ow).enumerate() {
                for r in 0..kh {
                    let xrow = &xs[(i * kh + r) * w..][..ow * kw];
                    for (v, win) in orow.iter_mut().zip(xrow.chunks_exact(kw)) {
                        *v += win.iter().sum::<f32>();
                    }
                }
                for v in orow.iter_mut() {
                    *v *= scale;
                }
            }
        });
    out
}

/// Gradient of [`forward`]: each input cell gets its window's output gradient over `kh * kw`
/// (zero for the rows and columns the floor mode dropped).
pub(crate) fn backward(grad: &[f32], planes: usize, h: usize, w: usize, k: [usize; 2]) -> Vec<f32> {
    let (kh, kw) = (k[0], k[1]);
    let (oh, ow) = (h / kh, w / kw);
    let scale = 1.0 / (kh * kw) as f32;
    let mut dx = vec![0f32; planes * h * w];
    if oh * ow == 0 {
        return dx;
    }
    dx.par_chunks_mut(h * w)
        .zip(grad.par_chunks(oh * ow))
        .for_each(|(d, g)| {
            for (i, grow) in g.chunks_exact(ow).enumerate() {
                for r in 0..kh {
                    let drow = &mut d[(i * kh + r) * w..][..ow * kw];
                    for (win, &v) in drow.chunks_exact_mut(kw).zip(grow) {
                        win.fill(v * scale);
                    }
                }
            }
        });
    dx
}
