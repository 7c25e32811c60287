//! Host-side data for the VQ-VAE: per-Mel-bin normalisation, padding to the code grid, batches.

use auscult_audio::{BinStats, BinStatsAccumulator};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::{Error, Result};

/// One example's log-Mel spectrogram in dB, row-major `[n_mels][n_frames]`, with its class.
#[derive(Debug, Clone, PartialEq)]
pub struct LogMel {
    /// Values in dB, `n_mels * n_frames` of them.
    pub data: Vec<f32>,
    /// Class index.
    pub label: usize,
}

/// Per-Mel-bin mean and standard deviation (dB) of the training split, stored with the model
/// (the workspace's one per-bin normaliser, [`BinStats`]).
pub type Normalizer = BinStats;

/// Fits the [`Normalizer`] of `examples` (each `[n_mels][n_frames]`).
pub fn fit_normalizer(examples: &[LogMel], n_mels: usize, n_frames: usize) -> Result<Normalizer> {
    let mut acc = BinStatsAccumulator::new(n_mels, n_frames);
    for ex in examples {
        check_shape(&ex.data, n_mels, n_frames)?;
        acc.add(&ex.data);
    }
    acc.finish().ok_or_else(|| Error::NoData {
        reason: "no training examples to compute the normalisation from".to_string(),
    })
}

/// Errors unless `data` holds `n_mels * n_frames` values.
pub(crate) fn check_shape(data: &[f32], n_mels: usize, n_frames: usize) -> Result<()> {
    if data.len() != n_mels * n_frames {
        return Err(Error::Shape {
            what: "log-Mel spectrogram",
            expected: vec![n_mels, n_frames],
            actual: vec![data.len() / n_frames.max(1), n_frames],
        });
    }
    Ok(())
}

/// A batch for the VQ-VAE.
#[derive(Debug, Clone)]
pub struct VqBatch {
    /// Normalised log-Mel, right-padded with zeros: `[batch, 1, n_mels, padded_frames]`.
    pub inputs: Tensor<4>,
    /// The unpadded targets: `[batch, 1, n_mels, n_frames]`.
    pub targets: Tensor<4>,
    /// Class indices: `[batch]`.
    pub classes: Tensor<1, Int>,
    /// Class indices on the host.
    pub labels: Vec<usize>,
}

/// Builds a batch from already normalised examples.
pub fn vq_batch(
    examples: &[&LogMel],
    n_mels: usize,
    n_frames: usize,
    padded_frames: usize,
    device: &Device,
) -> Result<VqBatch> {
    let b = examples.len();
    let mut padded = vec![0f32; b * n_mels * padded_frames];
    let mut targets = Vec::with_capacity(b * n_mels * n_frames);
    for (i, ex) in examples.iter().enumerate() {
        check_shape(&ex.data, n_mels, n_frames)?;
        for (bin, row) in ex.data.chunks_exact(n_frames).enumerate() {
            let start = (i * n_mels + bin) * padded_frames;
            padded[start..start + n_frames].copy_from_slice(row);
        }
        targets.extend_from_slice(&ex.data);
    }
    let labels: Vec<usize> = examples.iter().map(|e| e.label).collect();
    Ok(VqBatch {
        inputs: Tensor::from_data(
            TensorData::new(padded, [b, 1, n_mels, padded_frames]),
            device,
        ),
        targets: Tensor::from_data(TensorData::new(targets, [b, 1, n_mels, n_frames]), device),
        classes: Tensor::from_data(
            TensorData::new(labels.iter().map(|&l| l as i64).collect::<Vec<_>>(), [b]),
            device,
        ),
        labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normaliser_by_hand_and_round_trip() {
        // Two examples, 2 bins x 2 frames: bin 0 values {1, 3, 5, 7}, bin 1 all 2.
        let a = LogMel {
            data: vec![1.0, 3.0, 2.0, 2.0],
            label: 0,
        };
        let b = LogMel {
            data: vec![5.0, 7.0, 2.0, 2.0],
            label: 1,
        };
        let n = fit_normalizer(&[a.clone(), b], 2, 2).unwrap();
        assert!((n.mean[0] - 4.0).abs() < 1e-6 && (n.mean[1] - 2.0).abs() < 1e-6);
        assert!((n.std[0] - 5f32.sqrt()).abs() < 1e-5, "{:?}", n.std);
        assert!((n.std[1] - 1e-3).abs() < 1e-9);
        let mut x = a.data.clone();
        n.normalise(&mut x);
        assert!((x[0] + 3.0 / 5f32.sqrt()).abs() < 1e-5);
        n.denormalise(&mut x);
        for (p, q) in x.iter().zip(&a.data) {
            assert!((p - q).abs() < 1e-4);
        }
    }

    #[test]
    fn batch_pads_on_the_right() {
        let device = Device::flex();
        let a = LogMel {
            data: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            label: 2,
        };
        let batch = vq_batch(&[&a], 2, 3, 4, &device).unwrap();
        let x: Vec<f32> = batch.inputs.try_into_vec_as::<f32>().unwrap();
        assert_eq!(x, vec![1.0, 2.0, 3.0, 0.0, 4.0, 5.0, 6.0, 0.0]);
        assert_eq!(batch.labels, vec![2]);
        let bad = LogMel {
            data: vec![1.0],
            label: 0,
        };
        assert!(vq_batch(&[&bad], 2, 3, 4, &device).is_err());
    }
}
