//! Fits the decoder's texture (`texture.json`, see `auscult_vqvae::texture`) for a VQ-VAE
//! directory trained before VQ-VAE runs wrote one, on the training split of a data set loaded
//! with the model's own example config; prints each class's residual spread.
//!
//! `cargo run --release -p auscult-vqvae --example fit_texture -- VQVAE_DIR DATA_ROOT [VAL_FRACTION] [SEED]`
//! (for a prior directory, pass `PRIOR_DIR/vqvae`; `VAL_FRACTION` and `SEED` must be those
//! the VQ-VAE was trained with, so that the training split is the same: 0.1 and 0 by default)

use std::path::Path;

use auscult_datasets::{LoadOptions, SplitSpec, load_examples};
use auscult_vqvae::{TEXTURE_FILE, Texture, VqVaeModel, log_mels};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        return Err("usage: fit_texture VQVAE_DIR DATA_ROOT [VAL_FRACTION] [SEED]".into());
    }
    let dir = Path::new(&args[1]);
    let val_fraction: f32 = args.get(3).map_or(Ok(0.1), |s| s.parse())?;
    let seed: u64 = args.get(4).map_or(Ok(0), |s| s.parse())?;
    let model = VqVaeModel::load(dir, &burn::tensor::Device::flex())?;
    let opts = LoadOptions {
        examples: model.config.examples.clone(),
        split: SplitSpec::Official,
        val_fraction,
        seed,
        ..LoadOptions::default()
    };
    let data = load_examples(Path::new(&args[2]), &opts)?;
    let train = log_mels(&data.train, &model.config.mel, &model.config.examples)?;
    let recon = model.reconstruct(&train)?;
    let (m, f) = (model.config.model.n_mels, model.config.model.n_frames);
    // As the classifier sees them (zero-padded cycles tiled), as `train_vqvae` fits it.
    let (train, recon) =
        auscult_vqvae::cycle::present_pairs(&train, &recon, m, f, &model.config.examples);
    let texture = Texture::fit(
        &model.config.classes,
        &train,
        &recon,
        m,
        f,
        model.config.texture_shrinkage,
    )?;
    for t in texture.classes.iter().flatten() {
        let mean_std = t.std_db.iter().sum::<f32>() / t.std_db.len() as f32;
        println!(
            "{:>8}: {} examples, residual std {:.2} dB (mean over bins), lag-1 autocorrelation {:.2}",
            t.class, t.examples, mean_std, t.rho
        );
    }
    auscult_experiment::write_json_atomic(dir.join(TEXTURE_FILE), &texture)?;
    println!("wrote {}", dir.join(TEXTURE_FILE).display());
    Ok(())
}
