//! One optimisation step of the prior, independent of where the data comes from (the epoch
//! loop, checkpoints and report are in the training module).

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::prior::network::{DropoutRng, Prior, PriorConfig};
use crate::step::{adam, init_seeded, scalar};
use crate::{Error, Result};

/// A batch for the prior.
#[derive(Debug, Clone)]
pub struct PriorBatch {
    /// Class indices `[batch]`.
    pub classes: Tensor<1, Int>,
    /// The same class indices on the host.
    pub labels: Vec<usize>,
    /// Code sequences `[batch, seq_len]`.
    pub codes: Tensor<2, Int>,
    /// Cycle plans `[batch, seq_len]` (`plan_tokens`), for a prior that
    /// takes one.
    pub plans: Option<Tensor<2, Int>>,
}

impl PriorBatch {
    /// Builds a batch from host sequences.
    pub fn new(classes: &[usize], codes: &[&[usize]], device: &Device) -> Result<Self> {
        let b = classes.len();
        let n = codes.first().map(|c| c.len()).unwrap_or(0);
        if codes.len() != b || codes.iter().any(|c| c.len() != n) || n < 2 {
            return Err(Error::Shape {
                what: "prior batch",
                expected: vec![b, n.max(2)],
                actual: vec![
                    codes.len(),
                    codes.iter().map(|c| c.len()).min().unwrap_or(0),
                ],
            });
        }
        let flat: Vec<i64> = codes
            .iter()
            .flat_map(|c| c.iter().map(|&x| x as i64))
            .collect();
        Ok(Self {
            classes: Tensor::from_data(
                TensorData::new(classes.iter().map(|&c| c as i64).collect::<Vec<_>>(), [b]),
                device,
            ),
            codes: Tensor::from_data(TensorData::new(flat, [b, n]), device),
            labels: classes.to_vec(),
            plans: None,
        })
    }

    /// Attaches one plan per sequence (each as long as the sequences).
    pub fn with_plans(mut self, plans: &[&[usize]], device: &Device) -> Result<Self> {
        let [b, n] = self.codes.dims();
        if plans.len() != b || plans.iter().any(|p| p.len() != n) {
            return Err(Error::Shape {
                what: "prior batch plans",
                expected: vec![b, n],
                actual: vec![plans.len(), plans.first().map_or(0, |p| p.len())],
            });
        }
        let flat: Vec<i64> = plans
            .iter()
            .flat_map(|p| p.iter().map(|&x| x as i64))
            .collect();
        self.plans = Some(Tensor::from_data(TensorData::new(flat, [b, n]), device));
        Ok(self)
    }
}

/// The prior with its optimiser and dropout stream.
pub struct PriorTrainer {
    /// Architecture.
    pub config: PriorConfig,
    /// The Transformer (on an autodiff device).
    pub model: Prior,
    /// Adam state.
    pub optimizer: ModuleOptimizer,
    /// Dropout masks' random stream.
    pub dropout: DropoutRng,
    device: Device,
}

/// Random stream of the prior's dropout masks.
const DROPOUT_STREAM: u64 = 5;

impl PriorTrainer {
    /// A fresh prior with weights drawn from `seed`, on `device` (autodiff is enabled here).
    pub fn new(config: PriorConfig, seed: u64, device: &Device) -> Result<Self> {
        let device = device.clone().autodiff();
        let model = init_seeded(seed, &device, || config.init(&device))?;
        Ok(Self {
            dropout: DropoutRng {
                prob: config.dropout,
                rng: auscult_experiment::seeded_rng(seed, DROPOUT_STREAM),
            },
            config,
            model,
            optimizer: adam(),
            device,
        })
    }

    /// The autodiff device batches must be built on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// One step at learning rate `lr`; returns the cross-entropy in nats per code.
    pub fn step(&mut self, batch: &PriorBatch, lr: f64) -> Result<f64> {
        let classes = batch.classes.clone();
        let loss = self.model.loss(
            classes,
            batch.codes.clone(),
            batch.plans.clone(),
            Some(&mut self.dropout),
        );
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        self.model = self.optimizer.step(lr, self.model.clone(), grads);
        scalar(loss.inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn prior_steps_lower_the_loss() {
        let device = Device::flex();
        let cfg = PriorConfig {
            vocab_size: 8,
            num_classes: 2,
            seq_len: 12,
            d_model: 16,
            n_heads: 2,
            n_layers: 2,
            d_ff: 32,
            dropout: 0.1,
            // Each sequence carries a cycle plan (4 columns of 3 codes), with tones in some.
            plan_columns: 4,
            tone_tokens: 2,
            ..PriorConfig::default()
        };
        let mut t = PriorTrainer::new(cfg, 7, &device).unwrap();
        // Class 0 counts up, class 1 counts down (mod 8) from a random start.
        let mut rng = auscult_experiment::seeded_rng(2, 0);
        let mut seqs = Vec::new();
        let mut classes = Vec::new();
        for i in 0..16 {
            let s0 = rng.random_range(0..8usize);
            let c = i % 2;
            seqs.push(
                (0..12)
                    .map(|j| {
                        if c == 0 {
                            (s0 + j) % 8
                        } else {
                            (s0 + 8 * 12 - j) % 8
                        }
                    })
                    .collect::<Vec<_>>(),
            );
            classes.push(c);
        }
        let refs: Vec<&[usize]> = seqs.iter().map(|s| s.as_slice()).collect();
        let plans: Vec<Vec<usize>> = (0..16)
            .map(|i| {
                let cycle = crate::plan::cycle::plan_tokens(4, 12, i % 3..4);
                let tone: Vec<usize> = (0..12).map(|j| usize::from(i % 2 == 0 && j > 6)).collect();
                crate::plan::tone::combine(&cycle, &tone, 6)
            })
            .collect();
        let plan_refs: Vec<&[usize]> = plans.iter().map(Vec::as_slice).collect();
        let batch = PriorBatch::new(&classes, &refs, t.device())
            .unwrap()
            .with_plans(&plan_refs, t.device())
            .unwrap();
        assert!(
            batch
                .clone()
                .with_plans(&plan_refs[..3], t.device())
                .is_err()
        );
        let losses: Vec<f64> = (0..60).map(|_| t.step(&batch, 5e-3).unwrap()).collect();
        assert!(losses[0] > 1.8, "{losses:?}");
        assert!(
            losses[59] < 0.6 * losses[0],
            "prior loss did not fall: {losses:?}"
        );
    }
}
