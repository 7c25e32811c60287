//! auscult-vqvae: a class-conditional VQ-VAE over log-Mel spectrograms of respiratory cycles,
//! with an autoregressive Transformer prior that samples new spectrograms of a chosen class
//! (after C2GA, Ma et al. 2026), to rebalance training data.
//!
//! ```no_run
//! use std::path::Path;
//! use auscult_datasets::{LoadOptions, load_examples};
//! use auscult_experiment::NoProgress;
//! use auscult_vqvae::{
//!     ClassCounts, GenerateRequest, PriorTrainConfig, VqVaeTrainConfig, default_examples,
//!     generate, train_prior, train_vqvae,
//! };
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let opts = LoadOptions { examples: default_examples(), val_fraction: 0.1, ..Default::default() };
//! let data = load_examples(Path::new("data/icbhi"), &opts)?;
//! let vq = train_vqvae(&VqVaeTrainConfig::default(), &data, Path::new("runs/vq"), &NoProgress)?;
//! println!("reconstruction error {:.2} dB, perplexity {:.1}", vq.reconstruction_mae_db, vq.perplexity);
//! let prior = train_prior(Path::new("runs/vq"), &PriorTrainConfig::default(), &data, Path::new("runs/prior"), &NoProgress)?;
//! println!("{:.3} bits per code", prior.bits_per_code);
//! let request = GenerateRequest { counts: ClassCounts::Balance { target: None }, ..Default::default() };
//! let corpus = generate(Path::new("runs/prior"), &request, Path::new("runs/corpus"), &NoProgress)?;
//! println!("{} samples in {}", corpus.samples, corpus.dir.display());
//! # Ok(()) }
//! ```
//!
//! # Design
//!
//! **Input.** The shared front end ([`default_mel`]): 4 s at 8 kHz, 64 Mel bins x 126 frames
//! of dB log-Mel, normalised per Mel bin with the training split's mean and standard deviation
//! (stored with the model), right-padded with zeros to 128 frames. Unlike the classifier, which
//! repeats a short cycle until 4 s are filled, the VQ-VAE learns each cycle *centred in
//! silence* (zero padding, the `plan::cycle` module): the prior then models one breathing cycle, and generation
//! finds the cycle between the silent frames and tiles it, so that samples repeat exactly as
//! real repeat-padded examples do. (A prior trained on repeat-padded examples never learnt the
//! repetition: its samples drifted after the first cycle.) Reference statistics, the texture
//! and the normalisation are computed on the training examples tiled the same way.
//!
//! **Encoder** (`vqvae::network`, [`VqVaeConfig`]): three strided convolutions (kernel 2s, strides
//! `[2,2] [1,2] [1,2]` in (frequency, time), 32 then 64 channels), two residual blocks, and a
//! 1x1 projection to the code dimension D = 32. Layout: 64 x 128 -> a grid of
//! **32 (frequency) x 16 (time) = 512 codes**, two Mel bins by eight frames each (a 16 x 16
//! grid, four bins per code, kept the breathing envelope but not the wheeze tones within the
//! demo's budget). Raster order, used by the prior, is time outer, frequency inner: all 32
//! frequency codes of the first time step, then the next.
//!
//! **Quantiser** (`vqvae::quantizer`, [`Codebook`]): K = 512 codes, nearest neighbour, straight-through gradient,
//! commitment loss beta = 0.25, codebook updated by exponential moving averages (decay 0.95,
//! so that it keeps up with the encoder over a few hundred steps; Laplace-smoothed counts),
//! initialised from the first batch's encodings; any code whose
//! moving-average count per step falls below 1 is restarted from one of the batch encodings
//! worst served by the codebook (top tenth by quantisation error), so that free codes go to
//! rare patterns rather than to another copy of the commonest patch. Usage and perplexity are
//! logged per epoch.
//!
//! **Class conditioning** (decoder, `vqvae::network`): the code grid carries local acoustic
//! detail, the class carries the global character, in two ways:
//! 1. *FiLM*: a learned class embedding (16) drives a per-channel scale and shift
//!    `h * (1 + gamma) + beta` after every residual block and every upsampling stage;
//! 2. *class prototypes* ([`ClassPrototypes`], `vqvae::prototypes`): the encoder's first-stage features
//!    (32 channels x 32 frequency rows) averaged over time are averaged per class over the
//!    training set, stored with the model, and a learned 1x1 projection of the requested
//!    class's prototype is added, broadcast over time, to the decoder's features at that
//!    stage's resolution: tokens decoupled from global class prototypes, as in C2GA. While
//!    training they follow moving averages of the batches (decay 0.95); after the last epoch
//!    they are recomputed exactly with the final encoder.
//!
//! **Decoder**: the mirror image (transposed convolutions), output in the normalised log-Mel
//! domain, cropped to 126 frames; converted back to dB for corpora. Loss: MSE + commitment,
//! plus optional detail terms ([`DetailLoss`]): the squared reconstruction error after fixed
//! filters that pass sustained narrow bands (wheeze tones) or short broadband events (crackle
//! clicks) and little of the pixel-to-pixel noise texture.
//!
//! **Texture** ([`Texture`]): decoding returns the decoder's conditional mean, which is smooth:
//! it has neither the noise texture of real log-Mels nor the one-frame clicks the 8-frame codes
//! cannot carry. After training, the residuals `x - decode(encode(x))` of the training split
//! are fitted per class with a Gaussian (mean and full covariance over the Mel bins of a frame,
//! shrunk towards the diagonal, and one lag-1 autocorrelation over time), written to
//! `texture.json`; `generate` adds one seeded draw of the class's process to each decoded
//! sample, that is it samples the decoder's Gaussian likelihood instead of returning its mean
//! (`--no-texture` returns the mean).
//!
//! **Detail statistics** ([`DetailStats`], `analysis::detail`): tonality (prominence of narrow sustained bands) and
//! transientness (single frames standing out of their time neighbourhood), in dB, per class,
//! for real, reconstructed (VQ-VAE report) and generated (quality report) spectrograms.
//! Convolutions use He initialisation (burn's default gain stalls the first epochs on a
//! plateau at the mean), except the output layer.
//!
//! **Prior** ([`Prior`], `prior::network`): decoder-only Transformer, pre-norm, causal multi-head self-attention
//! (on the CPU a fused kernel with a hand-written backward pass that skips the masked triangle
//! and never stores the `T x T` attention matrices; composed from burn's operations elsewhere
//! and when sampling with keys/values cached), learned positional embeddings over the 512 raster
//! positions, the class as a prefix token, GELU MLP, dropout from a seeded host generator;
//! trained with cross-entropy, reported in bits per code. Defaults: d_model 128, 4 heads,
//! 3 layers, MLP 512. Each position also carries a *cycle plan* token (`plan_tokens` in `prior::network`:
//! before the cycle, columns of it left, after it), so the prior knows where the cycle it
//! writes ends; it trains on 8 placements of every cycle in its silence (one per epoch), and
//! generation draws a cycle length from the class's training cycles and places it at random.
//!
//! **Sampling** ([`SamplingConfig`], `prior::sampling`): temperature, top-k, top-p; each sample has its own seed (recorded
//! in the corpus manifest) and depends only on it; with the key/value cache one code costs one
//! Transformer step. Cached and uncached sampling give the same codes.
//!
//! Presets for a GPU: [`VqVaeTrainConfig::gpu`] (64/128 channels, 3 residual blocks, 512 x 64
//! codebook) and [`PriorTrainConfig::gpu`] (d_model 256, 8 heads, 6 layers).

mod analysis;
mod data;
mod error;
mod features;
mod generate;
mod kernels;
mod plan;
mod prior;
mod provenance;
mod retired;
mod step;
mod texture;
mod vqvae;

pub use analysis::detail::DetailStats;
pub use data::{LogMel, Normalizer, VqBatch, vq_batch};
pub use error::{Error, Result};
pub use features::{default_examples, default_mel, log_mels};
pub use generate::corpus::{ENVELOPE_SAMPLES, GenerateReport, generate};
pub use generate::quality::{
    ClassQuality, CodebookQuality, NearestNeighbour, QualityReport, ToneAdherence,
};
pub use generate::request::{ClassCounts, GenerateRequest, sample_seed};
pub use plan::tone::{TONE_TOKENS, ToneTrack, tone_tokens};
pub use prior::config::PriorTrainConfig;
pub use prior::model::{PlannedCycle, PriorModel};
pub use prior::network::{KvCache, Prior, PriorConfig};
pub use prior::reference::Reference;
pub use prior::sampling::{SamplingConfig, sample_codes};
pub use prior::step::{PriorBatch, PriorTrainer};
pub use prior::training::{PriorEpochMetrics, PriorReport, train_prior};
pub use texture::{ClassTexture, TEXTURE_FILE, Texture};
pub use vqvae::config::VqVaeTrainConfig;
pub use vqvae::model::{MODEL_FILE, PROVENANCE_FILE, VqState, VqVaeModel};
pub use vqvae::network::{VqVae, VqVaeConfig};
pub use vqvae::prototypes::ClassPrototypes;
pub use vqvae::quantizer::{CodeUsage, Codebook, QuantizerConfig};
pub use vqvae::report::{ClassDetail, VqEpochMetrics, VqVaeReport};
pub use vqvae::step::{DetailLoss, VqStepStats, VqVaeTrainer};
pub use vqvae::training::train_vqvae;
