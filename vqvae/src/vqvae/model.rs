//! A trained VQ-VAE ready for inference: the network, its codebook, class prototypes and
//! normalisation, loaded from a run directory.
//!
//! Files of a VQ-VAE run directory:
//! - `config.json`: the resolved [`VqVaeTrainConfig`] (architecture, quantiser, front end,
//!   class names, training settings);
//! - `model.bpk`: encoder and decoder weights (burnpack);
//! - `vq_state.json`: [`VqState`] (codebook with its moving averages, class prototypes,
//!   per-Mel-bin normalisation);
//! - `texture.json`: the decoder's per-class residual model ([`Texture`]), used when generating;
//! - `checkpoint.json` and `checkpoint-<epoch>/`: the checkpoint to `--resume` from (weights,
//!   optimiser, VQ state and the loop's state of the last complete epoch, committed as one set,
//!   see [`auscult_experiment::Checkpoint`]); `model.bpk` and `vq_state.json` above are published
//!   from it after each epoch;
//! - `metrics.jsonl`, `provenance.json`, `report.json`, `reconstructions.png`.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::data::{LogMel, Normalizer, vq_batch};
use crate::step::indices;
use crate::texture::{TEXTURE_FILE, Texture};
use crate::vqvae::config::VqVaeTrainConfig;
use crate::vqvae::network::{VqVae, VqVaeConfig};
use crate::vqvae::prototypes::ClassPrototypes;
use crate::vqvae::quantizer::Codebook;
use crate::{Error, Result};

/// Weights file of a model directory.
pub const MODEL_FILE: &str = "model.bpk";
/// Optimiser state of a checkpoint (inside its directory).
pub const OPTIMIZER_FILE: &str = "optimizer.bpk";
/// Codebook, prototypes and normalisation of a VQ-VAE.
pub const VQ_STATE_FILE: &str = "vq_state.json";
/// The resolved configuration of a run.
pub const CONFIG_FILE: &str = "config.json";
/// What made a run: program, data fingerprint, seed (see [`auscult_experiment::Provenance`]).
pub const PROVENANCE_FILE: &str = "provenance.json";

/// The VQ-VAE's state outside its trainable weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VqState {
    /// The EMA codebook.
    pub codebook: Codebook,
    /// Per-class prototypes fused into the decoder.
    pub prototypes: ClassPrototypes,
    /// Per-Mel-bin normalisation of the inputs (and of the decoder's outputs, inverted).
    pub normalizer: Normalizer,
    /// The moving-average prototypes training had reached, when `prototypes` holds the exact
    /// means computed after training (what `--resume` continues from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_prototypes: Option<ClassPrototypes>,
}

/// What one inference pass over a batch returns.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pass {
    /// Codes of each example, raster order.
    pub codes: Vec<Vec<usize>>,
    /// Reconstructions, normalised, cropped to `[n_mels][n_frames]` (empty unless decoded).
    pub reconstructions: Vec<Vec<f32>>,
    /// First-stage profiles, `[batch, channels, rows]` flattened.
    pub profiles: Vec<f32>,
}

/// The parts of a VQ-VAE an inference pass needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VqParts<'a> {
    /// The network (non-autodiff).
    pub model: &'a VqVae,
    /// Its architecture.
    pub config: &'a VqVaeConfig,
    /// The codebook.
    pub codebook: &'a Codebook,
    /// The class prototypes.
    pub prototypes: &'a ClassPrototypes,
}

/// Runs the encoder (and decoder when `decode`) over `data` (normalised) in batches of
/// `batch_size`.
pub(crate) fn run_pass(
    parts: VqParts<'_>,
    data: &[&LogMel],
    batch_size: usize,
    decode: bool,
    device: &Device,
) -> Result<Pass> {
    let VqParts {
        model,
        config,
        codebook,
        prototypes,
    } = parts;
    let mut out = Pass::default();
    let cb = codebook.tensor(device);
    let (m, f, fp) = (config.n_mels, config.n_frames, config.padded_frames());
    for chunk in data.chunks(batch_size.max(1)) {
        let batch = vq_batch(chunk, m, f, fp, device)?;
        let b = chunk.len();
        let n = config.codes_per_example();
        if decode {
            let protos = prototypes.tensor(&batch.labels, device);
            let fw = model.forward(batch.inputs, batch.classes, cb.clone(), protos);
            let codes = indices(fw.codes)?;
            out.codes.extend(codes.chunks(n).map(|c| c.to_vec()));
            let rec: Vec<f32> = fw
                .reconstruction
                .slice([0..b, 0..1, 0..m, 0..f])
                .try_into_vec_as::<f32>()
                .map_err(Error::tensor)?;
            out.reconstructions
                .extend(rec.chunks(m * f).map(|c| c.to_vec()));
            let p: Vec<f32> = fw
                .skip_profile
                .try_into_vec_as::<f32>()
                .map_err(Error::tensor)?;
            out.profiles.extend(p);
        } else {
            let (z, skip) = model.encoder.forward(batch.inputs);
            let rows = crate::vqvae::network::grid_to_rows(z);
            let codes = indices(crate::vqvae::quantizer::nearest_codes(rows, cb.clone()))?;
            out.codes.extend(codes.chunks(n).map(|c| c.to_vec()));
            let [sb, sc, sr, _] = skip.dims();
            let p: Vec<f32> = skip
                .mean_dim(3)
                .reshape([sb, sc, sr])
                .try_into_vec_as::<f32>()
                .map_err(Error::tensor)?;
            out.profiles.extend(p);
        }
    }
    Ok(out)
}

/// A trained VQ-VAE loaded for inference.
#[derive(Debug)]
pub struct VqVaeModel {
    /// The directory it was loaded from.
    pub dir: PathBuf,
    /// Its resolved training configuration (architecture, front end, classes).
    pub config: VqVaeTrainConfig,
    /// The network, on a non-autodiff device.
    pub model: VqVae,
    /// Codebook, prototypes, normalisation.
    pub state: VqState,
    /// The decoder's per-class texture (`texture.json`), when the run has one.
    pub texture: Option<Texture>,
    device: Device,
}

/// Examples per inference batch.
const INFERENCE_BATCH: usize = 32;

impl VqVaeModel {
    /// Loads the model in `dir` onto `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let config: VqVaeTrainConfig = auscult_experiment::read_json(dir.join(CONFIG_FILE))?;
        config.model.validate()?;
        let state: VqState = auscult_experiment::read_json(dir.join(VQ_STATE_FILE))?;
        state.codebook.validate()?;
        state.prototypes.validate(&config.model)?;
        if state.codebook.size != config.model.codebook_size
            || state.codebook.dim != config.model.code_dim
            || state.normalizer.mean.len() != config.model.n_mels
        {
            return Err(Error::Incompatible {
                path: dir.join(VQ_STATE_FILE),
                reason: "codebook or normalisation does not match config.json; was the directory \
                         assembled from two runs?"
                    .to_string(),
            });
        }
        let texture_path = dir.join(TEXTURE_FILE);
        let texture = if texture_path.is_file() {
            let t: Texture = auscult_experiment::read_json(&texture_path)?;
            t.validate(config.model.n_mels, &config.classes)
                .map_err(|e| Error::Incompatible {
                    path: texture_path.clone(),
                    reason: format!("{e}; was the directory assembled from two runs?"),
                })?;
            Some(t)
        } else {
            None
        };
        let model = config.model.init(device)?;
        let model = auscult_experiment::load_module(model, dir.join(MODEL_FILE))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
            model,
            state,
            texture,
            device: device.clone(),
        })
    }

    pub(crate) fn parts(&self) -> VqParts<'_> {
        VqParts {
            model: &self.model,
            config: &self.config.model,
            codebook: &self.state.codebook,
            prototypes: &self.state.prototypes,
        }
    }

    /// Class names, in index order.
    pub fn classes(&self) -> &[String] {
        &self.config.classes
    }

    /// The device it runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Normalises dB log-Mels (copies).
    pub fn normalise(&self, data: &[LogMel]) -> Vec<LogMel> {
        data.iter()
            .map(|x| {
                let mut d = x.data.clone();
                self.state.normalizer.normalise(&mut d);
                LogMel {
                    data: d,
                    label: x.label,
                }
            })
            .collect()
    }

    /// Code grids (raster order) of dB log-Mels `[n_mels][n_frames]`.
    pub fn encode(&self, data: &[LogMel]) -> Result<Vec<Vec<usize>>> {
        let norm = self.normalise(data);
        let refs: Vec<&LogMel> = norm.iter().collect();
        let pass = run_pass(self.parts(), &refs, INFERENCE_BATCH, false, &self.device)?;
        Ok(pass.codes)
    }

    /// Encodes and decodes dB log-Mels; returns dB reconstructions `[n_mels][n_frames]`.
    pub fn reconstruct(&self, data: &[LogMel]) -> Result<Vec<Vec<f32>>> {
        let norm = self.normalise(data);
        let refs: Vec<&LogMel> = norm.iter().collect();
        let pass = run_pass(self.parts(), &refs, INFERENCE_BATCH, true, &self.device)?;
        Ok(pass
            .reconstructions
            .into_iter()
            .map(|mut r| {
                self.state.normalizer.denormalise(&mut r);
                r
            })
            .collect())
    }

    /// Decodes code grids (raster order) of the given classes to dB log-Mels
    /// `[n_mels][n_frames]` (the padding frames are cropped).
    pub fn decode(&self, codes: &[Vec<usize>], classes: &[usize]) -> Result<Vec<Vec<f32>>> {
        let cfg = &self.config.model;
        let n = cfg.codes_per_example();
        if codes.len() != classes.len() {
            return Err(Error::Shape {
                what: "codes per class",
                expected: vec![classes.len()],
                actual: vec![codes.len()],
            });
        }
        if let Some(bad) = codes.iter().find(|c| c.len() != n) {
            return Err(Error::Shape {
                what: "code grid",
                expected: vec![n],
                actual: vec![bad.len()],
            });
        }
        if let Some(&bad) = classes.iter().find(|&&c| c >= cfg.num_classes) {
            return Err(Error::UnknownClass {
                class: format!("#{bad}"),
                valid: self.config.classes.clone(),
            });
        }
        let cb = self.state.codebook.tensor(&self.device);
        let (m, f) = (cfg.n_mels, cfg.n_frames);
        let mut out = Vec::with_capacity(codes.len());
        for (cc, cl) in codes
            .chunks(INFERENCE_BATCH)
            .zip(classes.chunks(INFERENCE_BATCH))
        {
            let b = cc.len();
            let flat: Vec<i64> = cc
                .iter()
                .flat_map(|c| c.iter().map(|&x| x.min(cfg.codebook_size - 1) as i64))
                .collect();
            let codes_t = Tensor::<2, Int>::from_data(TensorData::new(flat, [b, n]), &self.device);
            let classes_t = Tensor::<1, Int>::from_data(
                TensorData::new(cl.iter().map(|&c| c as i64).collect::<Vec<_>>(), [b]),
                &self.device,
            );
            let protos = self.state.prototypes.tensor(cl, &self.device);
            let rec: Vec<f32> = self
                .model
                .decode_codes(codes_t, classes_t, cb.clone(), protos, cfg.grid())
                .slice([0..b, 0..1, 0..m, 0..f])
                .try_into_vec_as::<f32>()
                .map_err(Error::tensor)?;
            for r in rec.chunks(m * f) {
                let mut r = r.to_vec();
                self.state.normalizer.denormalise(&mut r);
                out.push(r);
            }
        }
        Ok(out)
    }
}
