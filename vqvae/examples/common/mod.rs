//! What the diagnostic examples share.

use std::path::Path;

use auscult_datasets::{LoadOptions, SplitSpec, load_examples};
use auscult_vqvae::{LogMel, VqVaeModel, log_mels};

/// The training and validation log-Mels of the data set at `root` (official split, 10% of
/// the training patients held out with seed 0, as the CLI's default), cut and computed with
/// the VQ-VAE's own front end.
pub fn split_log_mels(
    vq: &VqVaeModel,
    root: &Path,
) -> Result<(Vec<LogMel>, Vec<LogMel>), Box<dyn std::error::Error>> {
    let opts = LoadOptions {
        examples: vq.config.examples.clone(),
        split: SplitSpec::Official,
        val_fraction: 0.1,
        seed: 0,
        ..LoadOptions::default()
    };
    let data = load_examples(root, &opts)?;
    let train = log_mels(&data.train, &vq.config.mel, &vq.config.examples)?;
    let val = log_mels(&data.val, &vq.config.mel, &vq.config.examples)?;
    Ok((train, val))
}
