//! The VQ-VAE network: a strided convolutional encoder, and a class-conditioned decoder that
//! mirrors it (FiLM from a class embedding after every block, plus a per-class prototype of the
//! encoder's first-stage features fused at that stage's resolution).
//!
//! The quantiser between them holds no trainable parameters (its codebook is updated by
//! exponential moving averages, see `vqvae::quantizer`), so it is not part of this module.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Architecture of the VQ-VAE (saved in the run's `config.json`).
///
/// The input is a normalised log-Mel spectrogram `[n_mels, n_frames]`, padded on the right with
/// zeros (the per-bin mean) to a multiple of the total time stride. Each entry of `strides`
/// is one downsampling stage `[frequency, time]` (1 or an even number). With the defaults
/// (64 Mel bins x 126 frames, strides `[2,2] [1,2] [1,2]`) the input is padded to 128 frames and
/// the code grid is 32 (frequency) x 16 (time) = 512 codes per example: two Mel bins per code,
/// so that a wheeze tone, one or two bins wide, is a property of a code rather than a detail
/// inside one (a 16 x 16 grid did not learn the tones within the demo's budget).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VqVaeConfig {
    /// Mel bins of the input (filled in from the front end).
    pub n_mels: usize,
    /// Frames of the input before padding (filled in from the front end).
    pub n_frames: usize,
    /// Number of classes the decoder is conditioned on (filled in from the data).
    pub num_classes: usize,
    /// Channels of the first stage and of all later stages.
    pub channels: [usize; 2],
    /// Residual blocks at the bottleneck, in the encoder and in the decoder.
    pub res_blocks: usize,
    /// Downsampling stages `[frequency stride, time stride]`; each stride is 1 or even.
    pub strides: Vec<[usize; 2]>,
    /// Number of codebook entries K.
    pub codebook_size: usize,
    /// Dimension D of each code vector.
    pub code_dim: usize,
    /// Size of the class embedding that drives the decoder's FiLM layers.
    pub class_embedding: usize,
}

impl Default for VqVaeConfig {
    fn default() -> Self {
        Self {
            n_mels: 64,
            n_frames: 126,
            num_classes: 4,
            channels: [32, 64],
            res_blocks: 2,
            strides: vec![[2, 2], [1, 2], [1, 2]],
            codebook_size: 512,
            code_dim: 32,
            class_embedding: 16,
        }
    }
}

impl VqVaeConfig {
    /// A larger model for a GPU: 64/128 channels, 3 residual blocks, 512 codes of dimension 64.
    pub fn gpu() -> Self {
        Self {
            channels: [64, 128],
            res_blocks: 3,
            codebook_size: 512,
            code_dim: 64,
            class_embedding: 32,
            ..Self::default()
        }
    }

    /// Checks that the sizes are usable and consistent.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("n_mels", self.n_mels),
            ("n_frames", self.n_frames),
            ("num_classes", self.num_classes),
            ("codebook_size", self.codebook_size),
            ("code_dim", self.code_dim),
            ("class_embedding", self.class_embedding),
        ];
        for (field, v) in positive {
            if v == 0 {
                return Err(Error::config(field, "must be at least 1"));
            }
        }
        if self.channels.iter().any(|&c| c < 4 || c % 2 != 0) {
            return Err(Error::config(
                "channels",
                format!("must be even and at least 4, got {:?}", self.channels),
            ));
        }
        if self.strides.is_empty() {
            return Err(Error::config(
                "strides",
                "needs at least one stage, e.g. [[2, 2]]",
            ));
        }
        for s in self.strides.iter().flatten() {
            if *s == 0 || (*s != 1 && *s % 2 != 0) {
                return Err(Error::config(
                    "strides",
                    format!("each stride must be 1 or even, got {:?}", self.strides),
                ));
            }
        }
        let [f, _] = self.total_stride();
        if !self.n_mels.is_multiple_of(f) {
            return Err(Error::config(
                "strides",
                format!(
                    "the product of frequency strides ({f}) must divide n_mels ({})",
                    self.n_mels
                ),
            ));
        }
        Ok(())
    }

    /// Product of the strides: `[frequency, time]`.
    pub fn total_stride(&self) -> [usize; 2] {
        self.strides
            .iter()
            .fold([1, 1], |acc, s| [acc[0] * s[0], acc[1] * s[1]])
    }

    /// Frames after right-padding to a multiple of the total time stride.
    pub fn padded_frames(&self) -> usize {
        let t = self.total_stride()[1];
        self.n_frames.div_ceil(t) * t
    }

    /// The code grid `[frequency, time]`.
    pub fn grid(&self) -> [usize; 2] {
        let [f, t] = self.total_stride();
        [self.n_mels / f, self.padded_frames() / t]
    }

    /// Codes per example (`grid[0] * grid[1]`), the prior's sequence length.
    pub fn codes_per_example(&self) -> usize {
        let [f, t] = self.grid();
        f * t
    }

    /// Shape `[channels, frequency rows]` of one class prototype: the first stage's features
    /// averaged over time.
    pub fn prototype_shape(&self) -> [usize; 2] {
        [self.channels[0], self.n_mels / self.strides[0][0]]
    }

    /// Output channels of stage `i`.
    fn stage_channels(&self, i: usize) -> usize {
        if i == 0 {
            self.channels[0]
        } else {
            self.channels[1]
        }
    }

    /// Builds the network on `device`.
    pub fn init(&self, device: &Device) -> Result<VqVae> {
        self.validate()?;
        let n = self.strides.len();
        let stages = (0..n)
            .map(|i| {
                let c_in = if i == 0 {
                    1
                } else {
                    self.stage_channels(i - 1)
                };
                down_conv(c_in, self.stage_channels(i), self.strides[i], device)
            })
            .collect();
        let c_last = self.stage_channels(n - 1);
        let encoder = Encoder {
            stages,
            res: (0..self.res_blocks)
                .map(|_| ResBlock::new(c_last, device))
                .collect(),
            to_code: Conv2dConfig::new([c_last, self.code_dim], [1, 1])
                .with_initializer(he())
                .init(device),
        };
        let e = self.class_embedding;
        let mut ups = Vec::with_capacity(n);
        let mut ups_film = Vec::with_capacity(n);
        for i in (0..n).rev() {
            let c_in = self.stage_channels(i);
            let c_out = if i == 0 {
                self.channels[0] / 2
            } else {
                self.stage_channels(i - 1)
            };
            ups.push(up_conv(c_in, c_out, self.strides[i], device));
            ups_film.push(LinearConfig::new(e, 2 * c_out).init(device));
        }
        let c0 = self.channels[0];
        let decoder = Decoder {
            from_code: Conv2dConfig::new([self.code_dim, c_last], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_initializer(he())
                .init(device),
            res: (0..self.res_blocks)
                .map(|_| ResBlock::new(c_last, device))
                .collect(),
            res_film: (0..self.res_blocks)
                .map(|_| LinearConfig::new(e, 2 * c_last).init(device))
                .collect(),
            ups,
            ups_film,
            class_embedding: EmbeddingConfig::new(self.num_classes, e).init(device),
            prototype: Conv2dConfig::new([c0, c0], [1, 1])
                .with_initializer(he())
                .init(device),
            // The output layer keeps burn's smaller default initialisation, so that the first
            // reconstructions start near the mean rather than at a large random scale.
            out: Conv2dConfig::new([c0 / 2, 1], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device),
        };
        Ok(VqVae { encoder, decoder })
    }
}

/// He (Kaiming) initialisation for layers followed by a ReLU: uniform with gain sqrt(2),
/// so that signals keep their scale through the network at the start of training (burn's
/// default gain of 1/sqrt(3) shrinks them layer after layer and stalls the first epochs).
fn he() -> Initializer {
    Initializer::KaimingUniform {
        gain: std::f64::consts::SQRT_2,
        fan_out_only: false,
    }
}

/// A downsampling convolution: kernel `2s` (3 where s = 1), stride `s`, padding `s/2` (1).
fn down_conv(c_in: usize, c_out: usize, stride: [usize; 2], device: &Device) -> Conv2d {
    let k = stride.map(|s| if s == 1 { 3 } else { 2 * s });
    let p = stride.map(|s| if s == 1 { 1 } else { s / 2 });
    Conv2dConfig::new([c_in, c_out], k)
        .with_stride(stride)
        .with_padding(PaddingConfig2d::Explicit(p[0], p[1], p[0], p[1]))
        .with_initializer(he())
        .init(device)
}

/// The transposed convolution that undoes [`down_conv`]: output = input x stride exactly.
fn up_conv(c_in: usize, c_out: usize, stride: [usize; 2], device: &Device) -> ConvTranspose2d {
    let k = stride.map(|s| if s == 1 { 3 } else { 2 * s });
    let p = stride.map(|s| if s == 1 { 1 } else { s / 2 });
    ConvTranspose2dConfig::new([c_in, c_out], k)
        .with_stride(stride)
        .with_padding(p)
        .with_initializer(he())
        .init(device)
}

/// A residual block `x + conv1x1(relu(conv3x3(relu(x))))` with a bottleneck of half the
/// channels (van den Oord et al., 2017).
#[derive(Module, Debug)]
pub struct ResBlock {
    conv1: Conv2d,
    conv2: Conv2d,
}

impl ResBlock {
    fn new(channels: usize, device: &Device) -> Self {
        Self {
            conv1: Conv2dConfig::new([channels, channels / 2], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_initializer(he())
                .init(device),
            conv2: Conv2dConfig::new([channels / 2, channels], [1, 1])
                .with_initializer(he())
                .init(device),
        }
    }

    /// # Shapes
    /// `[batch, channels, height, width]` in and out.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let h = self.conv1.forward(relu(x.clone()));
        x + self.conv2.forward(relu(h))
    }
}

/// The encoder: strided stages, residual blocks, then a 1x1 projection to the code dimension.
#[derive(Module, Debug)]
pub struct Encoder {
    stages: Vec<Conv2d>,
    res: Vec<ResBlock>,
    to_code: Conv2d,
}

impl Encoder {
    /// Encodes a batch.
    ///
    /// # Shapes
    /// - `x`: `[batch, 1, n_mels, padded_frames]`
    /// - returns `(z, skip)`: `z` is `[batch, code_dim, grid_f, grid_t]` (before quantisation);
    ///   `skip` is the first stage's output `[batch, channels[0], n_mels / s_f, frames / s_t]`.
    pub fn forward(&self, x: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let mut h = x;
        let mut skip = None;
        for (i, stage) in self.stages.iter().enumerate() {
            h = relu(stage.forward(h));
            if i == 0 {
                skip = Some(h.clone());
            }
        }
        for block in &self.res {
            h = block.forward(h);
        }
        let z = self.to_code.forward(relu(h.clone()));
        (z, skip.unwrap_or(h))
    }
}

/// The class-conditioned decoder.
#[derive(Module, Debug)]
pub struct Decoder {
    from_code: Conv2d,
    res: Vec<ResBlock>,
    res_film: Vec<Linear>,
    ups: Vec<ConvTranspose2d>,
    ups_film: Vec<Linear>,
    class_embedding: Embedding,
    prototype: Conv2d,
    out: Conv2d,
}

/// Feature-wise linear modulation: `h * (1 + gamma) + beta`, `[gamma, beta]` from the class
/// embedding.
fn film(h: Tensor<4>, film: &Linear, embedding: Tensor<2>) -> Tensor<4> {
    let [b, c, _, _] = h.dims();
    let gb = film.forward(embedding);
    let gamma = gb.clone().slice([0..b, 0..c]).reshape([b, c, 1, 1]);
    let beta = gb.slice([0..b, c..2 * c]).reshape([b, c, 1, 1]);
    h.clone() * gamma + h + beta
}

impl Decoder {
    /// Decodes quantised latents for the given classes.
    ///
    /// # Shapes
    /// - `zq`: `[batch, code_dim, grid_f, grid_t]`
    /// - `classes`: `[batch]` class indices
    /// - `prototypes`: `[batch, channels[0], n_mels / s_f, 1]`, each example's class prototype
    /// - returns `[batch, 1, n_mels, padded_frames]` in the normalised log-Mel domain
    pub fn forward(
        &self,
        zq: Tensor<4>,
        classes: Tensor<1, Int>,
        prototypes: Tensor<4>,
    ) -> Tensor<4> {
        let [b] = classes.dims();
        let emb3 = self.class_embedding.forward(classes.reshape([b, 1]));
        let [_, _, e] = emb3.dims();
        let emb = emb3.reshape([b, e]);
        let mut h = self.from_code.forward(zq);
        for (block, f) in self.res.iter().zip(&self.res_film) {
            h = film(block.forward(h), f, emb.clone());
        }
        let n = self.ups.len();
        for (j, (up, f)) in self.ups.iter().zip(&self.ups_film).enumerate() {
            if j == n - 1 {
                // At the first stage's resolution: fuse the class prototype, broadcast over time.
                let [_, c, rows, cols] = h.dims();
                let p = self
                    .prototype
                    .forward(prototypes.clone())
                    .expand([b, c, rows, cols]);
                h = h + p;
            }
            h = film(relu(up.forward(relu(h))), f, emb.clone());
        }
        self.out.forward(relu(h))
    }
}

/// The VQ-VAE's trainable parts: encoder and decoder.
#[derive(Module, Debug)]
pub struct VqVae {
    /// The encoder.
    pub encoder: Encoder,
    /// The class-conditioned decoder.
    pub decoder: Decoder,
}

/// What one pass of the VQ-VAE computed.
#[derive(Debug, Clone)]
pub struct VqForward {
    /// Decoder output `[batch, 1, n_mels, padded_frames]` (normalised log-Mel).
    pub reconstruction: Tensor<4>,
    /// Encodings before quantisation, one row per grid cell in raster order: `[batch * codes, D]`.
    pub encodings: Tensor<2>,
    /// The codebook entries they were snapped to (no gradient): `[batch * codes, D]`.
    pub quantized: Tensor<2>,
    /// Code index of each row: `[batch * codes]`.
    pub codes: Tensor<1, Int>,
    /// The first stage's features averaged over time (for the class prototypes):
    /// `[batch, channels[0], n_mels / s_f]`.
    pub skip_profile: Tensor<3>,
}

/// `[batch, D, grid_f, grid_t]` -> rows `[batch * grid_t * grid_f, D]` in raster order (time
/// outer, frequency inner: all frequency codes of one time step, then the next).
pub fn grid_to_rows(z: Tensor<4>) -> Tensor<2> {
    let [b, d, f, t] = z.dims();
    z.permute([0, 3, 2, 1]).reshape([b * t * f, d])
}

/// Inverse of [`grid_to_rows`].
pub fn rows_to_grid(rows: Tensor<2>, batch: usize, grid: [usize; 2]) -> Tensor<4> {
    let [_, d] = rows.dims();
    rows.reshape([batch, grid[1], grid[0], d])
        .permute([0, 3, 2, 1])
}

impl VqVae {
    /// Encodes, quantises against `codebook` (straight-through) and decodes.
    ///
    /// # Shapes
    /// - `inputs`: `[batch, 1, n_mels, padded_frames]`; `classes`: `[batch]`
    /// - `codebook`: `[K, D]`; `prototypes`: `[batch, channels[0], n_mels / s_f, 1]`
    pub fn forward(
        &self,
        inputs: Tensor<4>,
        classes: Tensor<1, Int>,
        codebook: Tensor<2>,
        prototypes: Tensor<4>,
    ) -> VqForward {
        let (z, skip) = self.encoder.forward(inputs);
        let [b, _, f, t] = z.dims();
        let rows = grid_to_rows(z);
        let codes = crate::vqvae::quantizer::nearest_codes(rows.clone().detach(), codebook.clone());
        let quantized = codebook.select(0, codes.clone()).detach();
        let straight_through = rows.clone() + (quantized.clone() - rows.clone()).detach();
        let zq = rows_to_grid(straight_through, b, [f, t]);
        let reconstruction = self.decoder.forward(zq, classes, prototypes);
        let skip_profile = skip.detach().mean_dim(3);
        let [sb, sc, sr, _] = skip_profile.dims();
        VqForward {
            reconstruction,
            encodings: rows,
            quantized,
            codes,
            skip_profile: skip_profile.reshape([sb, sc, sr]),
        }
    }

    /// Decodes code grids.
    ///
    /// # Shapes
    /// - `codes`: `[batch, grid_f * grid_t]` in raster order; `classes`: `[batch]`
    /// - returns `[batch, 1, n_mels, padded_frames]`
    pub fn decode_codes(
        &self,
        codes: Tensor<2, Int>,
        classes: Tensor<1, Int>,
        codebook: Tensor<2>,
        prototypes: Tensor<4>,
        grid: [usize; 2],
    ) -> Tensor<4> {
        let [b, n] = codes.dims();
        let rows = codebook.select(0, codes.reshape([b * n]));
        let zq = rows_to_grid(rows, b, grid);
        self.decoder.forward(zq, classes, prototypes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn default_layout_is_32_by_16() {
        let cfg = VqVaeConfig::default();
        cfg.validate().unwrap();
        assert_eq!(cfg.padded_frames(), 128);
        assert_eq!(cfg.grid(), [32, 16]);
        assert_eq!(cfg.codes_per_example(), 512);
        assert_eq!(cfg.prototype_shape(), [32, 32]);
    }

    #[test]
    fn rejects_bad_strides() {
        let cfg = VqVaeConfig {
            strides: vec![[3, 2]],
            ..VqVaeConfig::default()
        };
        assert!(cfg.validate().unwrap_err().to_string().contains("strides"));
        let cfg = VqVaeConfig {
            n_mels: 31,
            ..VqVaeConfig::default()
        };
        assert!(cfg.validate().is_err());
    }

    #[test]
    fn shapes_round_trip() {
        let device = Device::flex();
        let cfg = VqVaeConfig {
            n_mels: 16,
            n_frames: 30,
            num_classes: 3,
            channels: [8, 8],
            res_blocks: 1,
            codebook_size: 8,
            code_dim: 4,
            class_embedding: 4,
            strides: vec![[2, 2], [2, 2], [1, 2]],
        };
        let model = cfg.init(&device).unwrap();
        assert_eq!(cfg.padded_frames(), 32);
        let x = Tensor::<4>::zeros([2, 1, 16, 32], &device);
        let (z, skip) = model.encoder.forward(x);
        assert_eq!(z.dims(), [2, 4, 4, 4]);
        assert_eq!(skip.dims(), [2, 8, 8, 16]);
        let classes = Tensor::<1, Int>::from_ints([0, 2], &device);
        let protos = Tensor::<4>::zeros([2, 8, 8, 1], &device);
        let y = model.decoder.forward(z, classes, protos);
        assert_eq!(y.dims(), [2, 1, 16, 32]);
    }

    /// burn's transposed convolution against the definition, for the kernels and strides the
    /// decoder uses: out[y, x] += in[i, j] * w[ky, kx] at y = i*s0 - p0 + ky, x = j*s1 - p1 + kx.
    #[test]
    fn transposed_convolution_matches_definition() {
        use burn::module::Param;
        let device = Device::flex();
        for (stride, h, w) in [([1usize, 2usize], 5usize, 6usize), ([2, 2], 4, 5)] {
            let (cin, cout) = (2, 3);
            let conv = up_conv(cin, cout, stride, &device);
            let k = stride.map(|s| if s == 1 { 3 } else { 2 * s });
            let p = stride.map(|s| if s == 1 { 1 } else { s / 2 });
            let wn = cin * cout * k[0] * k[1];
            let weights: Vec<f32> = (0..wn)
                .map(|i| ((i * 37 % 17) as f32 - 8.0) / 8.0)
                .collect();
            let conv = ConvTranspose2d {
                weight: Param::from_tensor(Tensor::from_data(
                    TensorData::new(weights.clone(), [cin, cout, k[0], k[1]]),
                    &device,
                )),
                bias: None,
                ..conv
            };
            let input: Vec<f32> = (0..cin * h * w)
                .map(|i| ((i * 13 % 11) as f32 - 5.0) / 5.0)
                .collect();
            let x = Tensor::<4>::from_data(TensorData::new(input.clone(), [1, cin, h, w]), &device);
            let y = conv.forward(x);
            let [_, _, oh, ow] = y.dims();
            assert_eq!([oh, ow], [h * stride[0], w * stride[1]]);
            let got: Vec<f32> = y.try_into_vec_as::<f32>().unwrap();
            let mut want = vec![0f32; cout * oh * ow];
            for ci in 0..cin {
                for i in 0..h {
                    for j in 0..w {
                        for co in 0..cout {
                            for ky in 0..k[0] {
                                for kx in 0..k[1] {
                                    let yy = (i * stride[0] + ky) as isize - p[0] as isize;
                                    let xx = (j * stride[1] + kx) as isize - p[1] as isize;
                                    if yy < 0 || xx < 0 || yy >= oh as isize || xx >= ow as isize {
                                        continue;
                                    }
                                    want[(co * oh + yy as usize) * ow + xx as usize] += input
                                        [(ci * h + i) * w + j]
                                        * weights[((ci * cout + co) * k[0] + ky) * k[1] + kx];
                                }
                            }
                        }
                    }
                }
            }
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() < 1e-4, "stride {stride:?}: {a} vs {b}");
            }
        }
    }
}
