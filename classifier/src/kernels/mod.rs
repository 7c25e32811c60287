//! CPU kernels for the classifier's training hot path, plugged into burn as a backend
//! extension (`#[backend_extension]`) with hand-written backward passes.
//!
//! Profiling a training step of the `small` and `medium` models on burn 0.22.1's `flex` backend
//! (see the crate README) showed the time in its convolution (NHWC conversions and a weight
//! gradient computed as a convolution with the output gradient as kernel), in layout copies,
//! and in the composed batch normalisation and pooling (a dozen passes over each activation,
//! several of them transposing copies). These kernels compute the same functions:
//! - [`conv2d`]: stride-1, zero-padded 2D convolution without bias: im2col + one batched gemm
//!   (burn-flex's); the input gradient is the same convolution of the output gradient with the
//!   flipped kernel, the weight gradient one batched gemm with the im2col matrix;
//! - [`batch_norm_relu_pool`]: training-mode batch normalisation with the batch statistics,
//!   the ReLU after it and the non-overlapping average pooling after that, fused: one pass for
//!   the statistics, one for the pooled output, two backward; neither the normalised nor the
//!   rectified activation is stored. The running statistics are updated exactly as burn's
//!   `BatchNorm` does;
//! - [`avg_pool`]: the pooling alone (one pass each way).
//!
//! They run on `flex` with `f32` tensors (the batch normalisation in inference too, with the
//! running statistics); on any other backend or dtype (the Vulkan GPU path), and for a frozen
//! batch norm on an autodiff device, the public functions fall back to burn's own
//! `conv2d`, `BatchNorm`, `relu` and [`avg_pool`], so the model stays generic over
//! the device. The tests compare values and gradients with burn's own operations.

mod conv;
mod norm;
mod pool;

use std::borrow::Cow;

use burn::backend::TensorMetadata;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::{FloatTensorOps, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, DispatchDevice, Flex, backend_extension};
use burn::nn::BatchNorm;
use burn::nn::conv::Conv2d;
use burn::tensor::activation::relu;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Shape, Tensor, TensorData};

use conv::ConvShape;

/// The operations these kernels provide, per backend.
#[backend_extension(Flex, Autodiff)]
pub trait CnnKernels: Backend {
    /// Stride-1 convolution without bias, zero padding `padding` on every side.
    ///
    /// # Shapes
    /// `x` `[B, C_in, H, W]`, `weight` `[C_out, C_in, K, K]` -> `[B, C_out, H + 2p - K + 1, ..]`
    fn conv2d_stride1(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        padding: usize,
    ) -> FloatTensor<Self>;

    /// Per-channel batch mean and biased variance of `x` `[B, C, H, W]`: `[2, C]`, not
    /// differentiated.
    fn channel_stats(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `avg_pool(relu(gamma * (x - mean) / sqrt(var + epsilon) + beta), [kh, kw])` with `stats`
    /// from [`channel_stats`](CnnKernels::channel_stats) of the same `x` (`[1, 1]`: no
    /// pooling); the backward pass differentiates through the statistics as functions of `x`
    /// (batch normalisation's full gradient). Computed in `f32`.
    ///
    /// # Shapes
    /// `x` `[B, C, H, W]`, `gamma`, `beta` `[C]`, `stats` `[2, C]` -> `[B, C, H / kh, W / kw]`
    fn batch_norm_relu_pool(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        stats: FloatTensor<Self>,
        epsilon: f64,
        kh: usize,
        kw: usize,
    ) -> FloatTensor<Self>;

    /// Non-overlapping average pooling, window and stride `[kh, kw]`, floor mode.
    ///
    /// # Shapes
    /// `x` `[B, C, H, W]` -> `[B, C, H / kh, W / kw]`
    fn avg_pool_non_overlapping(x: FloatTensor<Self>, kh: usize, kw: usize) -> FloatTensor<Self>;
}

fn conv_options(padding: usize) -> ConvOptions<2> {
    ConvOptions::new([1, 1], [padding, padding], [1, 1], 1)
}

/// `flex` forward of [`CnnKernels::conv2d_stride1`]; burn's own kernel for shapes ours skips.
fn flex_conv(x: FlexTensor, weight: FlexTensor, padding: usize) -> FlexTensor {
    let fast = ConvShape::new(x.shape().as_slice(), weight.shape().as_slice(), padding)
        .zip(conv::contiguous(&x))
        .zip(conv::contiguous(&weight));
    match fast {
        Some(((s, xc), wc)) => match xc.as_slice::<f32>() {
            Some(xs) => conv::forward(xs, &wc, &s),
            None => Flex::conv2d(x, weight, None, conv_options(padding)),
        },
        None => Flex::conv2d(x, weight, None, conv_options(padding)),
    }
}

fn flex_tensor(data: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, shape.into()))
}

/// `[B, C, plane]` sizes of a `[B, C, ...]` tensor.
fn nc_plane(shape: &Shape) -> (usize, usize, usize) {
    let dims = shape.as_slice();
    let batch = dims.first().copied().unwrap_or(1);
    let channels = dims.get(1).copied().unwrap_or(1);
    let plane = dims.iter().skip(2).product();
    (batch, channels, plane)
}

fn flex_stats(x: &FlexTensor) -> Option<FlexTensor> {
    let xc = conv::contiguous(x)?;
    let (batch, channels, plane) = nc_plane(&x.shape());
    let stats = norm::channel_stats(xc.as_slice::<f32>()?, batch, channels, plane);
    Some(flex_tensor(stats, [2, channels]))
}

/// The values of `t` as contiguous `f32` (borrowed when they already are).
fn f32_values(t: &FlexTensor) -> Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(v) => Cow::Borrowed(v),
        None => Cow::Owned(
            t.clone()
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .unwrap_or_default(),
        ),
    }
}

/// The [`norm::NormShape`] of a `[B, C, H, W]` input.
fn norm_shape(x: &FlexTensor, epsilon: f64, pool: [usize; 2]) -> norm::NormShape {
    let dims = x.shape();
    let d = |i: usize| dims.as_slice().get(i).copied().unwrap_or(1);
    norm::NormShape {
        batch: d(0),
        channels: d(1),
        h: d(2),
        w: d(3),
        pool: [pool[0].max(1), pool[1].max(1)],
        epsilon,
    }
}

fn flex_norm_relu_pool(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    stats: &FlexTensor,
    epsilon: f64,
    pool: [usize; 2],
) -> FlexTensor {
    let s = norm_shape(x, epsilon, pool);
    let out = norm::forward(
        &f32_values(x),
        &f32_values(gamma),
        &f32_values(beta),
        &f32_values(stats),
        &s,
    );
    let (oh, ow) = s.pooled();
    flex_tensor(out, [s.batch, s.channels, oh, ow])
}

/// `[B * C, H, W]` sizes of a 4D shape.
fn planes_hw(shape: &Shape) -> Option<(usize, usize, usize)> {
    match shape.as_slice() {
        &[b, c, h, w] => Some((b * c, h, w)),
        _ => None,
    }
}

fn flex_pool(x: &FlexTensor, k: [usize; 2]) -> Option<FlexTensor> {
    let (planes, h, w) = planes_hw(&x.shape())?;
    let xc = conv::contiguous(x)?;
    let out = pool::forward(xc.as_slice::<f32>()?, planes, h, w, k);
    let dims = x.shape();
    let dims = dims.as_slice();
    Some(flex_tensor(out, [dims[0], dims[1], h / k[0], w / k[1]]))
}

impl CnnKernels for Flex {
    fn avg_pool_non_overlapping(x: FlexTensor, kh: usize, kw: usize) -> FlexTensor {
        match flex_pool(&x, [kh, kw]) {
            Some(y) => y,
            None => Flex::avg_pool2d(x, [kh, kw], [kh, kw], [0, 0], true, false),
        }
    }

    fn conv2d_stride1(x: FlexTensor, weight: FlexTensor, padding: usize) -> FlexTensor {
        flex_conv(x, weight, padding)
    }

    fn channel_stats(x: FlexTensor) -> FlexTensor {
        match flex_stats(&x) {
            Some(s) => s,
            None => {
                // Rare dtypes: the same statistics from burn's ops.
                let shape = x.shape();
                let (_, channels, _) = nc_plane(&shape);
                let n = shape.num_elements() / channels.max(1);
                let flat =
                    Flex::float_reshape(Flex::float_swap_dims(x, 0, 1), Shape::new([channels, n]));
                let mean = Flex::float_mean_dim(flat.clone(), 1);
                let centred = Flex::float_sub(flat, mean.clone());
                let var = Flex::float_mean_dim(Flex::float_mul(centred.clone(), centred), 1);
                let both = Flex::float_cat(vec![mean, var], 1);
                Flex::float_reshape(Flex::float_swap_dims(both, 0, 1), Shape::new([2, channels]))
            }
        }
    }

    fn batch_norm_relu_pool(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        stats: FlexTensor,
        epsilon: f64,
        kh: usize,
        kw: usize,
    ) -> FlexTensor {
        flex_norm_relu_pool(&x, &gamma, &beta, &stats, epsilon, [kh, kw])
    }
}

#[derive(Debug)]
struct Conv2dStride1Backward;

impl Backward<Flex, 2> for Conv2dStride1Backward {
    type State = (FlexTensor, FlexTensor, usize);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, weight, padding) = ops.state;
        let fast = ConvShape::new(x.shape().as_slice(), weight.shape().as_slice(), padding)
            .zip(conv::contiguous(&x))
            .zip(conv::contiguous(&weight))
            .zip(conv::contiguous(&grad));
        let Some((((s, xc), wc), gc)) = fast else {
            let options = conv_options(padding);
            if let Some(node) = node_x {
                let g = Flex::conv2d_x_backward(
                    x.clone(),
                    weight.clone(),
                    grad.clone(),
                    options.clone(),
                );
                grads.register::<Flex>(node.id, g);
            }
            if let Some(node) = node_w {
                grads.register::<Flex>(
                    node.id,
                    Flex::conv2d_weight_backward(x, weight, grad, options),
                );
            }
            return;
        };
        if let Some(node) = node_x {
            let g = match (gc.as_slice::<f32>(), wc.as_slice::<f32>()) {
                (Some(g), Some(w)) => conv::input_grad(g, w, &s),
                _ => None,
            };
            let g = g.unwrap_or_else(|| {
                Flex::conv2d_x_backward(
                    x.clone(),
                    weight.clone(),
                    grad.clone(),
                    conv_options(padding),
                )
            });
            grads.register::<Flex>(node.id, g);
        }
        if let Some(node) = node_w {
            let g = xc
                .as_slice::<f32>()
                .and_then(|xs| conv::weight_grad(xs, gc.clone(), &s))
                .unwrap_or_else(|| {
                    Flex::conv2d_weight_backward(x, weight, grad, conv_options(padding))
                });
            grads.register::<Flex>(node.id, g);
        }
    }
}

#[derive(Debug)]
struct BatchNormReluPoolBackward;

impl Backward<Flex, 3> for BatchNormReluPoolBackward {
    /// `x`, `gamma`, `beta`, the statistics, epsilon, the pooling window.
    type State = (
        FlexTensor,
        FlexTensor,
        FlexTensor,
        FlexTensor,
        f64,
        [usize; 2],
    );

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, gamma, beta, stats, epsilon, pool) = ops.state;
        let s = norm_shape(&x, epsilon, pool);
        let (dx, dgamma, dbeta) = norm::backward(
            &f32_values(&x),
            &f32_values(&grad),
            &f32_values(&gamma),
            &f32_values(&beta),
            &f32_values(&stats),
            &s,
        );
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, flex_tensor(dx, x.shape()));
        }
        if let Some(node) = node_gamma {
            grads.register::<Flex>(node.id, flex_tensor(dgamma, [s.channels]));
        }
        if let Some(node) = node_beta {
            grads.register::<Flex>(node.id, flex_tensor(dbeta, [s.channels]));
        }
    }
}

#[derive(Debug)]
struct AvgPoolBackward;

impl Backward<Flex, 1> for AvgPoolBackward {
    /// The input, the window.
    type State = (FlexTensor, [usize; 2]);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let Some(node) = node else { return };
        let (x, k) = ops.state;
        let shape = x.shape();
        let fast = planes_hw(&shape).and_then(|(planes, h, w)| {
            let gc = conv::contiguous(&grad)?;
            Some(pool::backward(gc.as_slice::<f32>()?, planes, h, w, k))
        });
        let dx = match fast {
            Some(dx) => flex_tensor(dx, shape),
            None => Flex::avg_pool2d_backward(x, grad, k, k, [0, 0], true, false),
        };
        grads.register::<Flex>(node.id, dx);
    }
}

impl<C: CheckpointStrategy> CnnKernels for Autodiff<Flex, C> {
    fn avg_pool_non_overlapping(x: FloatTensor<Self>, kh: usize, kw: usize) -> FloatTensor<Self> {
        match AvgPoolBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let x = x.into_primitive();
                let y = <Flex as CnnKernels>::avg_pool_non_overlapping(x.clone(), kh, kw);
                // Backward needs only the shape, but keeping `x` costs nothing: the layer
                // before saved it for its own backward step.
                prep.finish((x, [kh, kw]), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(
                <Flex as CnnKernels>::avg_pool_non_overlapping(x.into_primitive(), kh, kw),
            ),
        }
    }

    fn conv2d_stride1(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        padding: usize,
    ) -> FloatTensor<Self> {
        match Conv2dStride1Backward
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (x, w) = (x.into_primitive(), weight.into_primitive());
                let out = flex_conv(x.clone(), w.clone(), padding);
                prep.finish((x, w, padding), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(flex_conv(
                x.into_primitive(),
                weight.into_primitive(),
                padding,
            )),
        }
    }

    fn channel_stats(x: FloatTensor<Self>) -> FloatTensor<Self> {
        // `flex` has one device.
        let stats = <Flex as CnnKernels>::channel_stats(x.into_primitive());
        Self::float_from_data(stats.into_data(), &Default::default())
    }

    fn batch_norm_relu_pool(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        stats: FloatTensor<Self>,
        epsilon: f64,
        kh: usize,
        kw: usize,
    ) -> FloatTensor<Self> {
        let pool = [kh, kw];
        match BatchNormReluPoolBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (x, g, b, s) = (
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    stats.into_primitive(),
                );
                let y = flex_norm_relu_pool(&x, &g, &b, &s, epsilon, pool);
                prep.finish((x, g, b, s, epsilon, pool), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(flex_norm_relu_pool(
                &x.into_primitive(),
                &gamma.into_primitive(),
                &beta.into_primitive(),
                &stats.into_primitive(),
                epsilon,
                pool,
            )),
        }
    }
}

/// Whether `t` lives on the `flex` backend (with or without autodiff) as `f32`.
fn on_flex_f32<const D: usize>(t: &Tensor<D>) -> bool {
    t.dtype() == DType::F32 && matches!(t.device().inner().as_dispatch(), DispatchDevice::Flex(_))
}

/// A stride-1, bias-free [`Conv2d`] with symmetric explicit padding (what the classifier
/// builds): our kernel on `flex`, burn's `conv2d` elsewhere.
///
/// # Shapes
/// `x` `[B, C_in, H, W]` -> `[B, C_out, H + 2p - K + 1, W + 2p - K + 1]`
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let [pt, pl, pb, pr] = match conv.padding {
        burn::nn::PaddingConfig2d::Explicit(a, b, c, d) => [a, b, c, d],
        _ => return conv.forward(x),
    };
    let plain = conv.bias.is_none()
        && conv.stride == [1, 1]
        && conv.dilation == [1, 1]
        && conv.groups == 1
        && pt == pl
        && pt == pb
        && pt == pr;
    if !plain || !on_flex_f32(&x) {
        return conv.forward(x);
    }
    let out = <Dispatch as CnnKernels>::conv2d_stride1(
        x.into_dispatch(),
        conv.weight.val().into_dispatch(),
        pt,
    );
    Tensor::from_dispatch(out)
}

/// Non-overlapping average pooling by `k = [kh, kw]` (floor mode) with our kernel on `flex`,
/// `None` elsewhere (the caller composes it from burn's operations).
///
/// # Shapes
/// `x` `[B, C, H, W]` -> `[B, C, H / kh, W / kw]`
pub fn avg_pool_flex(x: Tensor<4>, k: [usize; 2]) -> Option<Tensor<4>> {
    let [_, _, h, w] = x.dims();
    if !on_flex_f32(&x) || k.contains(&0) || k[0] > h || k[1] > w {
        return None;
    }
    Some(Tensor::from_dispatch(
        <Dispatch as CnnKernels>::avg_pool_non_overlapping(x.into_dispatch(), k[0], k[1]),
    ))
}

/// The pooling factors [`avg_pool`] applies to an `[h, w]` map: `k`, except 1 on an axis
/// shorter than its factor.
pub(crate) fn pool_factors([h, w]: [usize; 2], k: [usize; 2]) -> [usize; 2] {
    let kh = if k[0] <= h { k[0].max(1) } else { 1 };
    let kw = if k[1] <= w { k[1].max(1) } else { 1 };
    [kh, kw]
}

/// Non-overlapping average pooling by `k = [kh, kw]` (floor mode: a remainder row or column is
/// dropped, as PyTorch's `avg_pool2d`); an axis shorter than its factor is not pooled.
///
/// On `flex` this is our one-pass kernel ([`avg_pool_flex`]); elsewhere a reshape and two
/// means, which on `flex` was already several times faster than burn's `avg_pool2d` (see the
/// README's profile).
pub fn avg_pool(x: Tensor<4>, k: [usize; 2]) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    let [kh, kw] = pool_factors([h, w], k);
    if kh == 1 && kw == 1 {
        return x;
    }
    let x = match avg_pool_flex(x.clone(), [kh, kw]) {
        Some(pooled) => return pooled,
        None => x,
    };
    let (oh, ow) = (h / kh, w / kw);
    let x = if oh * kh != h || ow * kw != w {
        x.slice([0..b, 0..c, 0..oh * kh, 0..ow * kw])
    } else {
        x
    };
    let x: Tensor<6> = x.reshape([b, c, oh, kh, ow, kw]);
    x.mean_dim(5).mean_dim(3).reshape([b, c, oh, ow])
}

/// `relu(norm.forward(x))`: see [`batch_norm_relu_pool`] (without pooling).
///
/// # Shapes
/// `x` `[B, C, H, W]` -> same
pub fn batch_norm_relu(norm: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    batch_norm_relu_pool(norm, x, [1, 1])
}

/// `avg_pool(relu(norm.forward(x)), pool)` (non-overlapping windows `pool = [kh, kw]`, floor
/// mode; `[1, 1]` for none). On `flex`: in training (an autodiff device, the layer not frozen)
/// one fused kernel with the batch statistics, which also updates the running statistics as
/// burn's `BatchNorm` does; in inference (no autodiff) the same fused forward with the running
/// statistics. Otherwise (other backends, a frozen layer on an autodiff device) burn's
/// `BatchNorm` and `relu`, then [`avg_pool`].
///
/// # Shapes
/// `x` `[B, C, H, W]` -> `[B, C, H / kh, W / kw]`
pub fn batch_norm_relu_pool(norm: &BatchNorm, x: Tensor<4>, pool: [usize; 2]) -> Tensor<4> {
    let [kh, kw] = [pool[0].max(1), pool[1].max(1)];
    let [_, _, h, w] = x.dims();
    let fast = x.device().is_autodiff()
        && norm.training.is_enabled()
        && on_flex_f32(&x)
        && kh <= h
        && kw <= w;
    if !fast {
        let inference = !x.device().is_autodiff() && on_flex_f32(&x) && kh <= h && kw <= w;
        if inference {
            // The same fused forward with the running statistics (nothing to differentiate).
            let channels = norm.gamma.shape().num_elements();
            let stats = Tensor::cat(vec![norm.running_mean.value(), norm.running_var.value()], 0)
                .reshape([2, channels]);
            return Tensor::from_dispatch(<Dispatch as CnnKernels>::batch_norm_relu_pool(
                x.into_dispatch(),
                norm.gamma.val().into_dispatch(),
                norm.beta.val().into_dispatch(),
                stats.into_dispatch(),
                norm.epsilon,
                kh,
                kw,
            ));
        }
        return avg_pool(relu(norm.forward(x)), [kh, kw]);
    }
    let device = x.device();
    let stats: Tensor<2> = Tensor::from_dispatch(<Dispatch as CnnKernels>::channel_stats(
        x.clone().detach().into_dispatch(),
    ));
    let y = Tensor::from_dispatch(<Dispatch as CnnKernels>::batch_norm_relu_pool(
        x.into_dispatch(),
        norm.gamma.val().into_dispatch(),
        norm.beta.val().into_dispatch(),
        stats.clone().into_dispatch(),
        norm.epsilon,
        kh,
        kw,
    ));
    let channels = norm.gamma.shape().num_elements();
    let mean: Tensor<1> = stats.clone().slice([0..1, 0..channels]).reshape([channels]);
    let var: Tensor<1> = stats.slice([1..2, 0..channels]).reshape([channels]);
    let m = norm.momentum;
    let running_mean = norm.running_mean.value_sync().to_device(&device);
    let running_var = norm.running_var.value_sync().to_device(&device);
    norm.running_mean
        .update((running_mean.mul_scalar(1.0 - m) + mean.mul_scalar(m)).detach());
    norm.running_var
        .update((running_var.mul_scalar(1.0 - m) + var.mul_scalar(m)).detach());
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::{Module, Param};
    use burn::nn::BatchNormConfig;
    use burn::nn::PaddingConfig2d;
    use burn::tensor::module::avg_pool2d;
    use burn::tensor::ops::AvgPoolOptions;
    use burn::tensor::{Device, Distribution};

    fn max_abs_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
        let a = a.into_data().try_to_vec::<f32>().unwrap();
        let b = b.into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    fn conv_layer(c_in: usize, c_out: usize, k: usize, p: usize, device: &Device) -> Conv2d {
        Conv2d {
            weight: Param::from_tensor(Tensor::random(
                [c_out, c_in, k, k],
                Distribution::Normal(0.0, 0.5),
                device,
            )),
            bias: None,
            stride: [1, 1],
            kernel_size: [k, k],
            dilation: [1, 1],
            groups: 1,
            padding: PaddingConfig2d::Explicit(p, p, p, p),
        }
    }

    /// Forward values and both gradients against burn's own `Conv2d`, for 3x3 and 5x5 kernels,
    /// "same" and smaller padding, and odd sizes (including an input narrower than the kernel).
    #[test]
    fn conv2d_matches_burn_forward_and_gradients() {
        let device = Device::flex().autodiff();
        for &(b, ci, co, h, w, k, p) in &[
            (3, 1, 4, 9, 13, 3, 1),
            (2, 5, 6, 7, 6, 3, 1),
            (2, 3, 2, 8, 5, 5, 2),
            (1, 2, 3, 6, 7, 3, 0),
            (2, 2, 3, 1, 4, 3, 1),
        ] {
            let conv = conv_layer(ci, co, k, p, &device);
            let x = Tensor::<4>::random([b, ci, h, w], Distribution::Normal(0.0, 1.0), &device)
                .require_grad();
            let upstream = Tensor::<4>::random(
                [b, co, h + 2 * p + 1 - k, w + 2 * p + 1 - k],
                Distribution::Normal(0.0, 1.0),
                &device,
            );
            let ours = conv2d(&conv, x.clone());
            let theirs = conv.forward(x.clone());
            assert_eq!(ours.dims(), theirs.dims());
            let fwd = max_abs_diff(ours.clone(), theirs.clone());
            assert!(
                fwd < 1e-4,
                "forward differs by {fwd} for {:?}",
                (b, ci, co, h, w, k, p)
            );
            let g1 = (ours * upstream.clone()).sum().backward();
            let g2 = (theirs * upstream).sum().backward();
            let dx = max_abs_diff(x.grad(&g1).unwrap(), x.grad(&g2).unwrap());
            let dw = max_abs_diff(
                conv.weight.val().grad(&g1).unwrap(),
                conv.weight.val().grad(&g2).unwrap(),
            );
            assert!(dx < 1e-4 && dw < 1e-3, "grads differ: x {dx}, w {dw}");
        }
    }

    /// Forward values and input gradient against burn's `avg_pool2d` (floor mode drops the odd
    /// last row and column), through `model::avg_pool` as the model calls it.
    #[test]
    fn avg_pool_matches_burn() {
        let device = Device::flex().autodiff();
        for (shape, k) in [
            ([2, 3, 8, 6], [2, 2]),
            ([1, 2, 7, 9], [2, 2]),
            ([2, 1, 6, 5], [3, 1]),
        ] {
            let x =
                Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device).require_grad();
            let ours = avg_pool_flex(x.clone(), k).unwrap();
            let theirs = avg_pool2d(x.clone(), AvgPoolOptions::new(k).with_stride(k));
            assert_eq!(ours.dims(), theirs.dims());
            assert_eq!(avg_pool(x.clone(), k).dims(), theirs.dims());
            let upstream = Tensor::<4>::random(ours.dims(), Distribution::Default, &device);
            assert!(max_abs_diff(ours.clone(), theirs.clone()) < 1e-6);
            let g1 = (ours * upstream.clone()).sum().backward();
            let g2 = (theirs * upstream).sum().backward();
            assert!(max_abs_diff(x.grad(&g1).unwrap(), x.grad(&g2).unwrap()) < 1e-6);
        }
    }

    /// Output, gradients of x, gamma and beta, and the running statistics against burn's
    /// `BatchNorm`, `relu` and `avg_pool2d`, without pooling and with pooling windows that
    /// leave a remainder (floor mode).
    #[test]
    fn batch_norm_relu_pool_matches_burn() {
        let device = Device::flex().autodiff();
        let shape = [4, 3, 7, 9];
        // Two layers with the same parameters (a clone would share the running statistics).
        let layer = || {
            let mut norm = BatchNormConfig::new(3).init(&device);
            norm.gamma = Param::from_tensor(Tensor::from_floats([1.5, -0.5, 0.8], &device));
            norm.beta = Param::from_tensor(Tensor::from_floats([0.1, 0.2, -0.3], &device));
            norm
        };
        for pool in [[1, 1], [2, 2], [2, 3]] {
            let (norm, reference) = (layer(), layer());
            let x = (Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device) * 2.0
                + 0.5)
                .detach()
                .require_grad();
            let ours = batch_norm_relu_pool(&norm, x.clone(), pool);
            let theirs = avg_pool2d(
                relu(reference.forward(x.clone())),
                AvgPoolOptions::new(pool).with_stride(pool),
            );
            assert_eq!(ours.dims(), theirs.dims());
            let upstream =
                Tensor::<4>::random(ours.dims(), Distribution::Normal(0.0, 1.0), &device);
            assert!(max_abs_diff(ours.clone(), theirs.clone()) < 1e-5);
            let g1 = (ours * upstream.clone()).sum().backward();
            let g2 = (theirs * upstream).sum().backward();
            let d = max_abs_diff(x.grad(&g1).unwrap(), x.grad(&g2).unwrap());
            assert!(d < 1e-4, "input gradient differs by {d} with pool {pool:?}");
            for (a, b) in [
                (&norm.gamma, &reference.gamma),
                (&norm.beta, &reference.beta),
            ] {
                let d = max_abs_diff(a.val().grad(&g1).unwrap(), b.val().grad(&g2).unwrap());
                assert!(
                    d < 1e-4,
                    "parameter gradient differs by {d} with pool {pool:?}"
                );
            }
            let d = max_abs_diff(norm.running_mean.value(), reference.running_mean.value());
            assert!(d < 1e-6, "running mean differs by {d}");
            let d = max_abs_diff(norm.running_var.value(), reference.running_var.value());
            assert!(d < 1e-6, "running variance differs by {d}");
            // Inference (no autodiff) takes the fused forward with the running statistics and
            // agrees with burn's. Outputs reach about 10 in magnitude, where one f32 ulp is
            // about 1e-6 and the two paths round in a different order: hence 1e-5, as above.
            let xi = x.inner();
            let n = norm.valid();
            let want = avg_pool2d(
                relu(n.forward(xi.clone())),
                AvgPoolOptions::new(pool).with_stride(pool),
            );
            let d = max_abs_diff(batch_norm_relu_pool(&n, xi, pool), want);
            assert!(
                d < 1e-5,
                "inference output differs by {d} with pool {pool:?}"
            );
        }
    }
}
