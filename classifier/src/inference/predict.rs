//! Class probabilities of normalised features, in batches.

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};

use crate::model::Cnn;

/// Items per forward pass at inference.
pub(super) const BATCH: usize = 64;

/// Class probabilities of normalised features (`[items, n_bins, n_frames]`), in batches.
pub fn predict_probabilities(
    model: &Cnn,
    data: &[f32],
    n_bins: usize,
    n_frames: usize,
    device: &Device,
) -> Vec<Vec<f32>> {
    let item_len = n_bins * n_frames;
    let mut out = Vec::new();
    if item_len == 0 {
        return out;
    }
    for chunk in data.chunks(BATCH * item_len) {
        let b = chunk.len() / item_len;
        let x = Tensor::<4>::from_data(
            TensorData::new(chunk.to_vec(), [b, 1, n_bins, n_frames]),
            device,
        );
        let probs = softmax(model.forward(x, None, false).logits, 1);
        let k = probs.dims()[1];
        let flat: Vec<f32> = probs.into_data().try_to_vec().unwrap_or_default();
        out.extend(flat.chunks(k.max(1)).map(<[f32]>::to_vec));
    }
    out
}
