//! The classifier network: a CNN of the PANNs CNN6/CNN10 family over log-Mel features.
//!
//! ```text
//! [B, 1, mels, frames]
//!   -> blocks: (conv k x k, no bias -> BatchNorm -> ReLU) x convs_per_block -> 2x2 average pool
//!   -> mean over the Mel axis -> mean + max over time         = embedding [B, C_last]
//!   -> dropout -> linear                                       = logits    [B, classes]
//! embedding -> linear -> ReLU -> linear -> L2 normalisation    = projection [B, projection_dim]
//! ```
//!
//! Sizes ([`CnnConfig`] presets):
//! - `small` (default): 4 blocks of 8-16-32-64 channels, one 3x3 conv each: about 28k
//!   parameters, about 7M multiply-adds per 64 x 126 input; sized for training on 2 CPU cores
//!   in minutes (the demo trains it three times).
//! - `medium`: 4 blocks of 16-32-64-128, one 3x3 conv each: about 111k parameters, 28M
//!   multiply-adds per input (2.4x slower to train on the CPU than `small`).
//! - `cnn6`: 4 blocks of 64-128-256-512, one 5x5 conv each (PANNs CNN6 without its 512-unit
//!   FC): about 4.3M parameters; for a GPU.
//! - `cnn10`: 4 blocks of 64-128-256-512, two 3x3 convs each (PANNs CNN10's backbone):
//!   about 4.7M parameters; the size to train on full ICBHI on a GPU.
//!
//! Weights are initialised from the run's seed with our own ChaCha stream (He-uniform convs,
//! Glorot-uniform linears, zero biases), so a run is reproducible even when other threads use
//! burn's global random generator; dropout masks come from the training loop's stream too.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, BatchNormConfig, Linear, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;

use crate::Error;
pub use crate::kernels::avg_pool;
use crate::kernels::{self, pool_factors};

/// Architecture of the classifier (saved in the run's `config.json`).
#[derive(Config, Debug, PartialEq)]
pub struct CnnConfig {
    /// Output channels of each block (the number of blocks is its length).
    #[config(default = "vec![8, 16, 32, 64]")]
    pub channels: Vec<usize>,
    /// Convolutions per block (1 as in CNN6, 2 as in CNN10).
    #[config(default = 1)]
    pub convs_per_block: usize,
    /// Square kernel size (odd; padded to keep the size).
    #[config(default = 3)]
    pub kernel_size: usize,
    /// Average-pooling factor after each block, `[mel, time]` (skipped on an axis shorter than it).
    #[config(default = "[2, 2]")]
    pub pool: [usize; 2],
    /// Dropout probability before the classification head.
    #[config(default = 0.2)]
    pub dropout: f64,
    /// Hidden and output size of the projection head used by the contrastive loss.
    #[config(default = 32)]
    pub projection_dim: usize,
}

impl Default for CnnConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl CnnConfig {
    /// The default CPU-sized model (8-16-32-64, one 3x3 conv per block).
    pub fn small() -> Self {
        Self::new()
    }

    /// A wider CPU model (16-32-64-128, one 3x3 conv per block).
    pub fn medium() -> Self {
        Self::new()
            .with_channels(vec![16, 32, 64, 128])
            .with_projection_dim(64)
    }

    /// PANNs CNN6-like: 64-128-256-512, one 5x5 conv per block.
    pub fn cnn6() -> Self {
        Self::new()
            .with_channels(vec![64, 128, 256, 512])
            .with_kernel_size(5)
            .with_dropout(0.2)
            .with_projection_dim(128)
    }

    /// PANNs CNN10-like: 64-128-256-512, two 3x3 convs per block.
    pub fn cnn10() -> Self {
        Self::new()
            .with_channels(vec![64, 128, 256, 512])
            .with_convs_per_block(2)
            .with_dropout(0.2)
            .with_projection_dim(128)
    }

    /// A preset by name: `small`, `medium`, `cnn6` or `cnn10`.
    pub fn preset(name: &str) -> crate::Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "small" | "default" => Ok(Self::small()),
            "medium" => Ok(Self::medium()),
            "cnn6" => Ok(Self::cnn6()),
            "cnn10" => Ok(Self::cnn10()),
            other => Err(Error::config(
                "model",
                format!("`{other}` is not a preset; use small, medium, cnn6 or cnn10"),
            )),
        }
    }

    /// Checks the sizes.
    pub fn validate(&self) -> crate::Result<()> {
        if self.channels.is_empty() || self.channels.contains(&0) {
            return Err(Error::config(
                "model.channels",
                "must list at least one non-zero width",
            ));
        }
        if self.convs_per_block == 0 {
            return Err(Error::config("model.convs_per_block", "must be at least 1"));
        }
        if self.kernel_size == 0 || self.kernel_size.is_multiple_of(2) {
            return Err(Error::config(
                "model.kernel_size",
                "must be odd (3, 5, ...)",
            ));
        }
        if self.pool.contains(&0) {
            return Err(Error::config("model.pool", "factors must be at least 1"));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::config("model.dropout", "must be in [0, 1)"));
        }
        if self.projection_dim == 0 {
            return Err(Error::config("model.projection_dim", "must be at least 1"));
        }
        Ok(())
    }

    /// Width of the embedding (the last block's channels).
    pub fn embedding_dim(&self) -> usize {
        self.channels.last().copied().unwrap_or(0)
    }

    /// Builds the network for `n_classes` classes on `device`, weights drawn from `rng`.
    pub fn init(
        &self,
        n_classes: usize,
        device: &Device,
        rng: &mut impl Rng,
    ) -> crate::Result<Cnn> {
        self.validate()?;
        if n_classes < 2 {
            return Err(Error::config(
                "classes",
                format!("need at least 2 classes, got {n_classes}"),
            ));
        }
        let mut blocks = Vec::with_capacity(self.channels.len());
        let mut c_in = 1;
        for &c_out in &self.channels {
            let mut convs = Vec::new();
            let mut norms = Vec::new();
            for j in 0..self.convs_per_block {
                let cin = if j == 0 { c_in } else { c_out };
                convs.push(conv(cin, c_out, self.kernel_size, device, rng));
                norms.push(BatchNormConfig::new(c_out).init(device));
            }
            blocks.push(ConvBlock {
                convs,
                norms,
                pool: self.pool,
            });
            c_in = c_out;
        }
        let d = self.embedding_dim();
        let p = self.projection_dim;
        Ok(Cnn {
            blocks,
            head: linear(d, n_classes, device, rng),
            proj_hidden: linear(d, p, device, rng),
            proj_out: linear(p, p, device, rng),
            dropout: self.dropout,
        })
    }
}

fn uniform(n: usize, bound: f64, rng: &mut impl Rng) -> Vec<f32> {
    (0..n)
        .map(|_| rng.random_range(-bound..bound) as f32)
        .collect()
}

fn conv(c_in: usize, c_out: usize, k: usize, device: &Device, rng: &mut impl Rng) -> Conv2d {
    let fan_in = c_in * k * k;
    let bound = (6.0 / fan_in as f64).sqrt();
    let w = uniform(c_out * fan_in, bound, rng);
    let p = k / 2;
    Conv2d {
        weight: Param::from_tensor(Tensor::from_data(
            TensorData::new(w, [c_out, c_in, k, k]),
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

fn linear(d_in: usize, d_out: usize, device: &Device, rng: &mut impl Rng) -> Linear {
    let bound = (6.0 / (d_in + d_out) as f64).sqrt();
    let w = uniform(d_in * d_out, bound, rng);
    Linear {
        weight: Param::from_tensor(Tensor::from_data(TensorData::new(w, [d_in, d_out]), device)),
        bias: Some(Param::from_tensor(Tensor::zeros([d_out], device))),
    }
}

/// One block: (conv -> BatchNorm -> ReLU) repeated, then average pooling.
#[derive(Module, Debug)]
pub struct ConvBlock {
    convs: Vec<Conv2d>,
    norms: Vec<BatchNorm>,
    pool: [usize; 2],
}

impl ConvBlock {
    /// `[B, C_in, H, W] -> [B, C_out, H / pool, W / pool]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut x = x;
        let last = self.convs.len().saturating_sub(1);
        for (j, (conv, norm)) in self.convs.iter().zip(&self.norms).enumerate() {
            x = kernels::conv2d(conv, x);
            if j == last {
                // The last BatchNorm -> ReLU is fused with the pooling after it.
                let [_, _, h, w] = x.dims();
                return kernels::batch_norm_relu_pool(norm, x, pool_factors([h, w], self.pool));
            }
            x = kernels::batch_norm_relu(norm, x);
        }
        avg_pool(x, self.pool)
    }
}

/// The classifier network (see the module docs).
#[derive(Module, Debug)]
pub struct Cnn {
    blocks: Vec<ConvBlock>,
    head: Linear,
    proj_hidden: Linear,
    proj_out: Linear,
    dropout: f64,
}

/// What one forward pass returns.
#[derive(Debug, Clone)]
pub struct CnnOutput {
    /// Class logits, `[B, classes]`.
    pub logits: Tensor<2>,
    /// L2-normalised projections, `[B, projection_dim]` (only when asked for).
    pub projection: Option<Tensor<2>>,
    /// The embedding the heads read, `[B, C_last]` (before dropout).
    pub embedding: Tensor<2>,
}

impl Cnn {
    /// The embedding: blocks, mean over Mel bins, mean + max over time.
    ///
    /// # Shapes
    /// - `x`: `[B, 1, mels, frames]` (normalised log-Mel)
    /// - output: `[B, C_last]`
    pub fn embed(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = x;
        for block in &self.blocks {
            x = block.forward(x);
        }
        let [b, c, _, t] = x.dims();
        let x: Tensor<3> = x.mean_dim(2).reshape([b, c, t]);
        let pooled = x.clone().mean_dim(2) + x.max_dim(2);
        pooled.reshape([b, c])
    }

    /// Logits (and, when `with_projection`, the contrastive projections). `dropout_mask`
    /// (`[B, C_last]`, entries 0 or `1 / (1 - p)`) applies dropout; pass `None` at inference.
    ///
    /// # Shapes
    /// - `x`: `[B, 1, mels, frames]`
    pub fn forward(
        &self,
        x: Tensor<4>,
        dropout_mask: Option<Tensor<2>>,
        with_projection: bool,
    ) -> CnnOutput {
        let emb = self.embed(x);
        let projection = with_projection.then(|| {
            let h = relu(self.proj_hidden.forward(emb.clone()));
            l2_normalise(self.proj_out.forward(h))
        });
        let dropped = match dropout_mask {
            Some(mask) => emb.clone() * mask,
            None => emb.clone(),
        };
        CnnOutput {
            logits: self.head.forward(dropped),
            projection,
            embedding: emb,
        }
    }

    /// The dropout probability the model was built with.
    pub fn dropout(&self) -> f64 {
        self.dropout
    }

    /// Width of the embedding.
    pub fn embedding_dim(&self) -> usize {
        self.head.weight.val().dims()[0]
    }
}

/// The recording-chain adversary of domain-adversarial training (Ganin and Lempitsky 2015):
/// embedding -> linear -> ReLU -> linear = chain logits, behind a gradient reversal layer.
/// Used in training only; it is not part of the saved classifier.
#[derive(Module, Debug)]
pub struct ChainAdversary {
    hidden: Linear,
    out: Linear,
}

impl ChainAdversary {
    /// A head from `embedding_dim` features to `n_chains` logits, weights drawn from `rng`.
    pub fn init(
        embedding_dim: usize,
        n_chains: usize,
        device: &Device,
        rng: &mut impl Rng,
    ) -> Self {
        Self {
            hidden: linear(embedding_dim, embedding_dim, device, rng),
            out: linear(embedding_dim, n_chains.max(1), device, rng),
        }
    }

    /// Number of chains (outputs).
    pub fn n_chains(&self) -> usize {
        self.out.weight.val().dims()[1]
    }

    /// Chain logits of `embedding`. The forward value passes unchanged; the gradient that
    /// flows back into `embedding` is multiplied by `-weight`, so minimising the adversary's
    /// loss trains the head to find the chain and the network to hide it.
    ///
    /// # Shapes
    /// - `embedding`: `[B, C_last]`; output `[B, n_chains]`
    pub fn forward(&self, embedding: Tensor<2>, weight: f32) -> Tensor<2> {
        let reversed = embedding.clone().detach() * (1.0 + weight) - embedding * weight;
        self.out.forward(relu(self.hidden.forward(reversed)))
    }
}

/// Rows divided by their L2 norm (`eps` 1e-12 as PyTorch's `F.normalize`).
pub fn l2_normalise(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().square().sum_dim(1).sqrt().clamp_min(1e-12);
    x / norm
}

/// A dropout mask `[rows, cols]` with entries 0 (probability `p`) or `1 / (1 - p)`.
pub fn dropout_mask(rows: usize, cols: usize, p: f64, rng: &mut impl Rng) -> Vec<f32> {
    let keep = (1.0 / (1.0 - p)) as f32;
    (0..rows * cols)
        .map(|_| if rng.random::<f64>() < p { 0.0 } else { keep })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use auscult_experiment::seeded_rng;

    #[test]
    fn shapes_parameter_counts_and_normalised_projection() {
        let device = Device::flex();
        let cfg = CnnConfig::medium();
        let model = cfg.init(4, &device, &mut seeded_rng(0, 0)).unwrap();
        // convs: 9*(1*16 + 16*32 + 32*64 + 64*128) = 96,912 ; BatchNorm gamma, beta and the
        // two running statistics 4*240 = 960 ; head 128*4+4 ; projection 128*64+64 + 64*64+64
        let want = 96_912 + 960 + 516 + 8_256 + 4_160;
        assert_eq!(model.num_params(), want);
        // small: convs 9*(8 + 8*16 + 16*32 + 32*64) = 24,264 ; BatchNorm 4*120 ; head 64*4+4 ;
        // projection 64*32+32 + 32*32+32
        let small = CnnConfig::small()
            .init(4, &device, &mut seeded_rng(0, 0))
            .unwrap();
        assert_eq!(small.num_params(), 24_264 + 480 + 260 + 2_080 + 1_056);
        let x = Tensor::<4>::random(
            [3, 1, 64, 126],
            burn::tensor::Distribution::Default,
            &device,
        );
        let out = model.forward(x, None, true);
        assert_eq!(out.logits.dims(), [3, 4]);
        let p = out.projection.unwrap();
        assert_eq!(p.dims(), [3, 64]);
        let norms = p
            .square()
            .sum_dim(1)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert!(norms.iter().all(|n| (n - 1.0).abs() < 1e-4), "{norms:?}");
    }

    #[test]
    fn tiny_inputs_and_presets() {
        let device = Device::flex();
        let model = CnnConfig::new()
            .with_channels(vec![4, 8, 8, 8, 8])
            .init(2, &device, &mut seeded_rng(0, 0))
            .unwrap();
        // 8 x 8 input: pooling stops once an axis reaches 1.
        let x = Tensor::<4>::zeros([2, 1, 8, 8], &device);
        assert_eq!(model.forward(x, None, false).logits.dims(), [2, 2]);
        assert!(CnnConfig::preset("cnn10").unwrap().validate().is_ok());
        assert!(CnnConfig::preset("resnet").is_err());
        assert!(CnnConfig::new().with_kernel_size(4).validate().is_err());
        assert!(
            CnnConfig::new()
                .init(1, &device, &mut seeded_rng(0, 0))
                .is_err()
        );
    }

    #[test]
    fn the_adversary_reverses_and_scales_the_gradient_into_the_embedding() {
        let device = Device::flex().autodiff();
        let head = ChainAdversary::init(6, 3, &device, &mut seeded_rng(4, 0));
        assert_eq!(head.n_chains(), 3);
        let emb = Tensor::<2>::random([5, 6], burn::tensor::Distribution::Default, &device)
            .require_grad();
        let plain = head.out.forward(relu(head.hidden.forward(emb.clone())));
        let reversed = head.forward(emb.clone(), 0.5);
        // The same logits either way ...
        let (a, b): (Vec<f32>, Vec<f32>) = (
            plain.clone().into_data().try_to_vec().unwrap(),
            reversed.clone().into_data().try_to_vec().unwrap(),
        );
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-5));
        // ... but the gradient reaching the embedding is -0.5 times the plain one, while the
        // head's own weights get the plain gradient.
        let g_plain = plain.sum().backward();
        let g_rev = reversed.sum().backward();
        let grad = |g: &burn::tensor::Gradients| -> Vec<f32> {
            emb.grad(g).unwrap().into_data().try_to_vec().unwrap()
        };
        let (dp, dr) = (grad(&g_plain), grad(&g_rev));
        assert!(dp.iter().any(|v| v.abs() > 1e-4));
        for (p, r) in dp.iter().zip(&dr) {
            assert!((r + 0.5 * p).abs() < 1e-5, "{r} != -0.5 * {p}");
        }
        let w = |g: &burn::tensor::Gradients| -> Vec<f32> {
            head.out
                .weight
                .val()
                .grad(g)
                .unwrap()
                .into_data()
                .try_to_vec()
                .unwrap()
        };
        let (wp, wr) = (w(&g_plain), w(&g_rev));
        assert!(wp.iter().zip(&wr).all(|(p, r)| (p - r).abs() < 1e-4));
    }

    #[test]
    fn same_seed_same_weights() {
        let device = Device::flex();
        let x = Tensor::<4>::ones([2, 1, 16, 16], &device);
        let a = CnnConfig::new()
            .with_channels(vec![4, 8])
            .init(3, &device, &mut seeded_rng(9, 0))
            .unwrap();
        let b = CnnConfig::new()
            .with_channels(vec![4, 8])
            .init(3, &device, &mut seeded_rng(9, 0))
            .unwrap();
        let ya = a.valid().forward(x.clone(), None, false).logits.into_data();
        let yb = b.valid().forward(x, None, false).logits.into_data();
        assert_eq!(ya, yb);
    }
}
