//! CPU kernels for the prior's training hot path, plugged into burn as a backend extension
//! (`#[backend_extension]`) with hand-written backward passes: the causal attention below and
//! GELU ([`gelu`], burn's values bit for bit on all threads; see `gelu.rs`).
//!
//! Profiling a prior training step (batch 16, 513 positions, 4 heads, 3 layers) on burn 0.22.1's
//! `flex` backend showed the time in the composed attention: every `[B, H, T, T]` tensor
//! (scores, scaled scores, masked scores, softmax's passes and their gradients, 67 MB each) was
//! allocated anew and page-faulted in, the masked upper triangle went through `exp` (the mask
//! value -1e9 down glibc's underflow slow path), and the heads were split and merged with
//! layout copies. [`causal_attention`] computes the same function from the fused query/key/value
//! projection in blocks of query rows that stay in cache (see [`attention`]), skipping the
//! masked triangle and keeping only one log-sum-exp per row for the backward pass.
//!
//! It runs on `flex` with `f32` tensors, with or without autodiff; on any other backend or dtype
//! (the Vulkan GPU path) [`causal_attention`] composes the same attention from burn's own
//! operations ([`attend`]), so the model stays generic over the device. The tests compare values
//! and gradients with that composition.

mod attention;
mod gelu;

use std::borrow::Cow;

use burn::backend::TensorMetadata;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::ModuleOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, DispatchDevice, Flex, backend_extension};
use burn::tensor::activation::softmax;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, DType, Shape, Tensor, TensorData};

use attention::AttnShape;

/// The operations this kernel provides, per backend.
#[backend_extension(Flex, Autodiff)]
pub(crate) trait PriorKernels: Backend {
    /// Causal multi-head self-attention from the fused projection: `qkv` holds the queries,
    /// keys and values side by side (`[.., 0..D]`, `[.., D..2D]`, `[.., 2D..3D]`), head `h`
    /// in columns `h * D / H .. (h + 1) * D / H` of each; position `i` attends to `j <= i`
    /// with scores scaled by `1 / sqrt(D / H)`. The output has the heads concatenated in the
    /// same order. The `flex` kernel computes in `f32`.
    ///
    /// # Shapes
    /// `qkv` `[B, T, 3 * D]` -> `[B, T, D]`
    ///
    /// # Panics
    /// When `qkv` is not of rank 3 or `3 * n_heads` does not divide its last dimension:
    /// [`causal_attention`] checks this before calling.
    fn causal_attention(qkv: FloatTensor<Self>, n_heads: usize) -> FloatTensor<Self>;

    /// GELU (`x * Phi(x)`, the exact form with `erf`), the same values as burn's `gelu` on
    /// `flex` bit for bit, computed on all the rayon threads. The `flex` kernel computes in
    /// `f32`.
    fn fused_gelu(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

fn flex_tensor(data: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, shape.into()))
}

/// `t` as contiguous `f32` storage starting at its first element (copied only when needed).
fn contiguous_f32(t: FlexTensor) -> FlexTensor {
    if t.dtype() != DType::F32 {
        return FlexTensor::from_data(t.into_data().convert::<f32>());
    }
    if t.is_contiguous() && t.layout().start_offset() == 0 {
        t
    } else {
        flex_tensor(f32_values(&t).into_owned(), t.shape())
    }
}

/// The values of an `f32` tensor in row-major order (borrowed when already contiguous).
fn f32_values(t: &FlexTensor) -> Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(v) => Cow::Borrowed(v),
        None => Cow::Owned(
            t.to_contiguous()
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .unwrap_or_default(),
        ),
    }
}

fn attn_shape(qkv: &FlexTensor, n_heads: usize) -> AttnShape {
    match AttnShape::new(qkv.shape().as_slice(), n_heads) {
        Some(s) => s,
        None => panic!(
            "causal_attention: qkv {:?} is not [batch, time, 3 * d_model] with d_model divisible \
             by {n_heads} heads",
            qkv.shape()
        ),
    }
}

/// The kernel's forward pass: output `[B, T, D]` and the row log-sum-exps, from a contiguous
/// `f32` projection. `None` only if `qkv` is not that (see [`contiguous_f32`]).
fn flex_forward(qkv: &FlexTensor, s: &AttnShape) -> Option<(FlexTensor, Vec<f32>)> {
    let (out, lse) = attention::forward(qkv, s)?;
    Some((flex_tensor(out, [s.batch, s.time, s.d_model()]), lse))
}

/// burn-flex's own attention (causal flag), for inputs the kernel's forward declines.
fn flex_reference(qkv: &FlexTensor, s: &AttnShape) -> FlexTensor {
    let (b, t, h, dk) = (s.batch, s.time, s.heads, s.head_dim);
    // [B, T, 3, H, dk] -> [3, B, H, T, dk]
    let split = qkv
        .reshape(Shape::new([b, t, 3, h, dk]))
        .permute(&[2, 0, 3, 1, 4]);
    let part = |i: usize| split.narrow(0, i, 1).reshape(Shape::new([b, h, t, dk]));
    let options = AttentionModuleOptions {
        scale: None,
        softcap: None,
        is_causal: true,
    };
    let out = Flex::attention(part(0), part(1), part(2), None, None, options);
    out.permute(&[0, 2, 1, 3])
        .reshape(Shape::new([b, t, s.d_model()]))
}

impl PriorKernels for Flex {
    fn causal_attention(qkv: FlexTensor, n_heads: usize) -> FlexTensor {
        let s = attn_shape(&qkv, n_heads);
        let qkv = contiguous_f32(qkv);
        match flex_forward(&qkv, &s) {
            Some((out, _)) => out,
            None => flex_reference(&qkv, &s),
        }
    }

    fn fused_gelu(x: FlexTensor) -> FlexTensor {
        let x = contiguous_f32(x);
        flex_tensor(gelu::values(&f32_values(&x)), x.shape())
    }
}

#[derive(Debug)]
struct GeluBackward;

impl Backward<Flex, 1> for GeluBackward {
    /// The input (contiguous `f32`) and `Phi(x)` per value.
    type State = (FlexTensor, Vec<f32>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let Some(node) = node else { return };
        let (x, cdf) = ops.state;
        let grad = contiguous_f32(grad);
        let dx = gelu::backward(&f32_values(&x), &cdf, &f32_values(&grad));
        grads.register::<Flex>(node.id, flex_tensor(dx, x.shape()));
    }
}

#[derive(Debug)]
struct CausalAttentionBackward;

impl Backward<Flex, 1> for CausalAttentionBackward {
    /// The projection (contiguous `f32`), the output, the row log-sum-exps, the sizes.
    type State = (FlexTensor, FlexTensor, Vec<f32>, AttnShape);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let Some(node) = node else { return };
        let (qkv, out, lse, s) = ops.state;
        let grad = contiguous_f32(grad);
        let dqkv = attention::backward(&qkv, &f32_values(&out), &lse, &grad, &s);
        match dqkv {
            Some(g) => grads.register::<Flex>(node.id, flex_tensor(g, qkv.shape())),
            // The forward pass saved contiguous `f32` tensors of these sizes and `grad` was made
            // so: this cannot happen.
            None => panic!("causal_attention backward: inconsistent saved state for {s:?}"),
        }
    }
}

impl<C: CheckpointStrategy> PriorKernels for Autodiff<Flex, C> {
    fn causal_attention(qkv: FloatTensor<Self>, n_heads: usize) -> FloatTensor<Self> {
        match CausalAttentionBackward
            .prepare::<C>([qkv.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let x = contiguous_f32(qkv.into_primitive());
                let s = attn_shape(&x, n_heads);
                match flex_forward(&x, &s) {
                    Some((out, lse)) => prep.finish((x, out.clone(), lse, s), out),
                    // `x` was made contiguous `f32` above: this cannot happen.
                    None => panic!("causal_attention: projection {s:?} not contiguous f32"),
                }
            }
            OpsKind::UnTracked(prep) => prep.finish(<Flex as PriorKernels>::causal_attention(
                qkv.into_primitive(),
                n_heads,
            )),
        }
    }

    fn fused_gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match GeluBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let x = contiguous_f32(x.into_primitive());
                let (out, cdf) = gelu::forward(&f32_values(&x));
                let out = flex_tensor(out, x.shape());
                prep.finish((x, cdf), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(<Flex as PriorKernels>::fused_gelu(x.into_primitive()))
            }
        }
    }
}

/// Whether `t` lives on the `flex` backend (with or without autodiff) as `f32`.
fn on_flex_f32<const D: usize>(t: &Tensor<D>) -> bool {
    t.dtype() == DType::F32 && matches!(t.device().inner().as_dispatch(), DispatchDevice::Flex(_))
}

/// Splits `[B, T, D]` into heads `[B, H, T, D / H]`.
fn heads(x: Tensor<3>, n_heads: usize) -> Tensor<4> {
    let [b, t, d] = x.dims();
    x.reshape([b, t, n_heads, d / n_heads]).swap_dims(1, 2)
}

/// Queries, keys and values `[B, H, T, D / H]` from the fused projection `[B, T, 3 * D]`.
pub(crate) fn split_heads(qkv: Tensor<3>, n_heads: usize) -> (Tensor<4>, Tensor<4>, Tensor<4>) {
    let [b, t, c] = qkv.dims();
    let d = c / 3;
    let q = qkv.clone().slice([0..b, 0..t, 0..d]);
    let k = qkv.clone().slice([0..b, 0..t, d..2 * d]);
    let v = qkv.slice([0..b, 0..t, 2 * d..3 * d]);
    (heads(q, n_heads), heads(k, n_heads), heads(v, n_heads))
}

/// Scaled dot-product attention composed from burn's operations, heads concatenated.
///
/// # Shapes
/// `q` `[B, H, Tq, dk]`, `k` and `v` `[B, H, Tk, dk]`, `mask` `[B, H, Tq, Tk]` (true where
/// attention is forbidden) -> `[B, Tq, H * dk]`
pub(crate) fn attend(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    mask: Option<Tensor<4, Bool>>,
) -> Tensor<3> {
    let [b, h, t, dk] = q.dims();
    let scale = 1.0 / (dk as f64).sqrt();
    let mut scores = q.matmul(k.swap_dims(2, 3)) * scale;
    if let Some(mask) = mask {
        // -inf rather than a large negative number: exp takes its fast path, and every row
        // keeps its diagonal, so no row is all -inf.
        scores = scores.mask_fill(mask, f32::NEG_INFINITY);
    }
    let weights = softmax(scores, 3);
    weights.matmul(v).swap_dims(1, 2).reshape([b, t, h * dk])
}

/// [`causal_attention`] composed from burn's operations (the fallback and the tests' reference).
fn composed_causal_attention(qkv: Tensor<3>, n_heads: usize) -> Tensor<3> {
    let (q, k, v) = split_heads(qkv, n_heads);
    let [b, h, t, _] = q.dims();
    let mask = Tensor::<2, Bool>::tril_mask([t, t], 0, &q.device())
        .reshape([1, 1, t, t])
        .expand([b, h, t, t]);
    attend(q, k, v, Some(mask))
}

/// Causal multi-head self-attention from the fused query/key/value projection (see
/// [`PriorKernels::causal_attention`] for the layout): the fused kernel on `flex` with `f32`,
/// burn's operations ([`attend`] with a causal mask) elsewhere.
///
/// # Shapes
/// `qkv` `[B, T, 3 * D]` -> `[B, T, D]`
pub(crate) fn causal_attention(qkv: Tensor<3>, n_heads: usize) -> Tensor<3> {
    let fits = AttnShape::new(&qkv.dims(), n_heads).is_some();
    if !fits || !on_flex_f32(&qkv) {
        return composed_causal_attention(qkv, n_heads);
    }
    Tensor::from_dispatch(<Dispatch as PriorKernels>::causal_attention(
        qkv.into_dispatch(),
        n_heads,
    ))
}

/// GELU, exact (`erf`) form: on `flex` with `f32` the kernel above (burn's values bit for bit,
/// on all the rayon threads, with a cheaper backward pass), burn's `gelu` elsewhere.
pub(crate) fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !on_flex_f32(&x) {
        return burn::tensor::activation::gelu(x);
    }
    Tensor::from_dispatch(<Dispatch as PriorKernels>::fused_gelu(x.into_dispatch()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution};

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap()
    }

    /// Largest absolute difference relative to the largest absolute reference value.
    fn rel_diff<const D: usize>(ours: Tensor<D>, reference: Tensor<D>) -> f32 {
        let (a, b) = (values(ours), values(reference));
        assert_eq!(a.len(), b.len());
        let scale = b.iter().fold(0f32, |m, x| m.max(x.abs())).max(1e-6);
        a.iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
            / scale
    }

    /// (batch, time, heads, head width): one position, odd lengths, several blocks of query
    /// rows (the last one short), several heads and batch items.
    const SHAPES: [(usize, usize, usize, usize); 5] = [
        (1, 1, 1, 4),
        (2, 7, 2, 3),
        (3, 37, 4, 8),
        (2, 65, 1, 5),
        (2, 139, 3, 16),
    ];

    #[test]
    fn kernel_matches_composition_forward_and_gradient() {
        let device = Device::flex().autodiff();
        for (b, t, h, dk) in SHAPES {
            let qkv =
                Tensor::<3>::random([b, t, 3 * h * dk], Distribution::Normal(0.0, 1.5), &device)
                    .require_grad();
            assert!(on_flex_f32(&qkv));
            let ours = causal_attention(qkv.clone(), h);
            let reference = composed_causal_attention(qkv.clone(), h);
            assert_eq!(ours.dims(), [b, t, h * dk]);
            let fwd = rel_diff(ours.clone(), reference.clone());
            assert!(
                fwd < 1e-5,
                "forward differs by {fwd} for {:?}",
                (b, t, h, dk)
            );
            let upstream =
                Tensor::<3>::random(ours.dims(), Distribution::Normal(0.0, 1.0), &device);
            let g1 = (ours * upstream.clone()).sum().backward();
            let g2 = (reference * upstream).sum().backward();
            let (d1, d2) = (qkv.grad(&g1).unwrap(), qkv.grad(&g2).unwrap());
            let bwd = rel_diff(d1, d2);
            assert!(
                bwd < 1e-4,
                "gradient differs by {bwd} for {:?}",
                (b, t, h, dk)
            );
        }
    }

    #[test]
    fn kernel_matches_composition_without_autodiff() {
        let device = Device::flex();
        for (b, t, h, dk) in SHAPES {
            let qkv =
                Tensor::<3>::random([b, t, 3 * h * dk], Distribution::Normal(0.0, 1.5), &device);
            let ours = causal_attention(qkv.clone(), h);
            let reference = composed_causal_attention(qkv, h);
            let d = rel_diff(ours, reference);
            assert!(d < 1e-5, "forward differs by {d} for {:?}", (b, t, h, dk));
        }
    }

    /// A strided input (a slice of a wider tensor) is read correctly.
    #[test]
    fn kernel_reads_strided_projections() {
        let device = Device::flex();
        let wide = Tensor::<3>::random([2, 9, 20], Distribution::Normal(0.0, 1.0), &device);
        let qkv = wide.slice([0..2, 0..9, 2..14]);
        let d = rel_diff(
            causal_attention(qkv.clone(), 2),
            composed_causal_attention(qkv, 2),
        );
        assert!(d < 1e-5, "forward differs by {d}");
    }

    /// Changing a later position leaves the earlier outputs exactly as they were, and changes
    /// the later ones.
    #[test]
    fn kernel_is_causal() {
        let device = Device::flex();
        let (t, c) = (70, 12);
        let a = Tensor::<3>::random([1, t, c], Distribution::Normal(0.0, 1.0), &device);
        let b = a.clone().slice_assign(
            [0..1, 50..51, 0..c],
            Tensor::random([1, 1, c], Distribution::Normal(0.0, 1.0), &device),
        );
        let (oa, ob) = (
            values(causal_attention(a, 2)),
            values(causal_attention(b, 2)),
        );
        let d = c / 3;
        assert_eq!(oa[..50 * d], ob[..50 * d]);
        assert_ne!(oa[50 * d..], ob[50 * d..]);
    }

    /// The GELU kernel gives burn's values and gradients bit for bit, on a strided input too.
    #[test]
    fn gelu_is_burns_gelu_exactly() {
        let device = Device::flex().autodiff();
        let wide = Tensor::<3>::random([3, 50, 300], Distribution::Normal(0.0, 2.0), &device);
        let x = wide.slice([0..3, 0..50, 7..257]).require_grad();
        let ours = gelu(x.clone());
        let theirs = burn::tensor::activation::gelu(x.clone());
        assert_eq!(values(ours.clone()), values(theirs.clone()));
        let upstream = Tensor::<3>::random(ours.dims(), Distribution::Normal(0.0, 1.0), &device);
        let g1 = (ours * upstream.clone()).sum().backward();
        let g2 = (theirs * upstream).sum().backward();
        assert_eq!(values(x.grad(&g1).unwrap()), values(x.grad(&g2).unwrap()));
        let plain =
            Tensor::<2>::random([40, 1000], Distribution::Normal(0.0, 3.0), &Device::flex());
        assert_eq!(
            values(gelu(plain.clone())),
            values(burn::tensor::activation::gelu(plain))
        );
    }

    /// The reference path burn-flex takes for inputs the kernel declines agrees too.
    #[test]
    fn flex_reference_agrees() {
        let device = Device::flex();
        let qkv = Tensor::<3>::random([2, 11, 18], Distribution::Normal(0.0, 1.0), &device);
        let reference = composed_causal_attention(qkv.clone(), 3);
        let prim = FlexTensor::from_data(qkv.to_data());
        let s = attn_shape(&prim, 3);
        let theirs = Tensor::<3>::from_data(flex_reference(&prim, &s).into_data(), &device);
        let d = rel_diff(theirs, reference);
        assert!(d < 1e-5, "burn-flex attention differs by {d}");
    }
}
