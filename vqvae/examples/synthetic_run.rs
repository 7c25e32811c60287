//! Trains the VQ-VAE and the prior on a synthetic ICBHI corpus and generates a balanced corpus,
//! printing what each stage reached: the numbers quoted in the crate's README.
//!
//! `cargo run --release -p auscult-vqvae --example synthetic_run -- OUT_DIR [PATIENTS]
//! [VQ_EPOCHS] [PRIOR_EPOCHS]`

use std::path::PathBuf;

use auscult_datasets::{LoadOptions, SplitSpec, SynthConfig, load_examples, synth_icbhi};
use auscult_experiment::{NoProgress, read_metrics};
use auscult_vqvae::{
    ClassCounts, GenerateRequest, Normalizer, PriorTrainConfig, VqVaeTrainConfig, default_examples,
    default_mel, generate, log_mels, train_prior, train_vqvae,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let out = PathBuf::from(
        args.get(1)
            .map(String::as_str)
            .unwrap_or("target/synthetic_run"),
    );
    let patients: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(40);
    let vq_epochs: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(8);
    let prior_epochs: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(8);
    let root = out.join("icbhi");
    if !root.exists() {
        synth_icbhi(
            &root,
            &SynthConfig {
                patients,
                ..SynthConfig::icbhi(7)
            },
        )?;
    }
    let opts = LoadOptions {
        examples: default_examples(),
        split: SplitSpec::Official,
        val_fraction: 0.15,
        seed: 1,
        ..LoadOptions::default()
    };
    let data = load_examples(&root, &opts)?;
    println!(
        "data: {} train, {} val, {} test; classes {:?}",
        data.train.len(),
        data.val.len(),
        data.test.len(),
        data.classes
    );

    // How much of the normalised log-Mel variance a 16 x 16 grid of local means explains.
    let mel = default_mel();
    let feats = log_mels(&data.train, &mel, &default_examples())?;
    let norm = Normalizer::fit(&feats, 64, 126)?;
    let (mut se, mut n) = (0f64, 0usize);
    for x in &feats {
        let mut d = x.data.clone();
        norm.normalise(&mut d);
        for bf in 0..16 {
            for bt in 0..16 {
                let cells: Vec<(usize, usize)> = (bf * 4..bf * 4 + 4)
                    .flat_map(|f| (bt * 8..(bt * 8 + 8).min(126)).map(move |t| (f, t)))
                    .collect();
                if cells.is_empty() {
                    continue;
                }
                let mean =
                    cells.iter().map(|&(f, t)| d[f * 126 + t]).sum::<f32>() / cells.len() as f32;
                for &(f, t) in &cells {
                    se += f64::from(d[f * 126 + t] - mean).powi(2);
                    n += 1;
                }
            }
        }
    }
    println!(
        "oracle: MSE of 4x8 block means (normalised) = {:.3}",
        se / n as f64
    );

    let vq_dir = out.join("vq");
    let vq_cfg = VqVaeTrainConfig {
        epochs: vq_epochs,
        resume: vq_dir.join("state.json").exists(),
        ..VqVaeTrainConfig::default()
    };
    let vq = train_vqvae(&vq_cfg, &data, &vq_dir, &NoProgress)?;
    for m in read_metrics(vq_dir.join("metrics.jsonl"))? {
        println!(
            "vq epoch {:>2}: recon {:.3} val {:.3} ({:.2} dB MAE) ppl {:.1} used {} restarts {} steps/s {:.2}",
            m["epoch"],
            m["train_reconstruction"].as_f64().unwrap_or(f64::NAN),
            m["val_reconstruction"].as_f64().unwrap_or(f64::NAN),
            m["val_mae_db"].as_f64().unwrap_or(f64::NAN),
            m["train_perplexity"].as_f64().unwrap_or(f64::NAN),
            m["train_codes_used"],
            m["restarted"],
            m["steps_per_s"].as_f64().unwrap_or(f64::NAN)
        );
    }
    println!("{}", serde_json::to_string_pretty(&vq)?);

    let prior_dir = out.join("prior");
    let prior_cfg = PriorTrainConfig {
        epochs: prior_epochs,
        resume: prior_dir.join("state.json").exists(),
        ..PriorTrainConfig::default()
    };
    let prior = train_prior(&vq_dir, &prior_cfg, &data, &prior_dir, &NoProgress)?;
    for m in read_metrics(prior_dir.join("metrics.jsonl"))? {
        println!(
            "prior epoch {:>2}: train {:.3} bits/code, val {:.3} bits/code, steps/s {:.2}",
            m["epoch"],
            m["train_bits_per_code"].as_f64().unwrap_or(f64::NAN),
            m["val_bits_per_code"].as_f64().unwrap_or(f64::NAN),
            m["steps_per_s"].as_f64().unwrap_or(f64::NAN)
        );
    }
    println!("{}", serde_json::to_string_pretty(&prior)?);

    let corpus = out.join(format!("corpus-{}", std::process::id()));
    let request = GenerateRequest {
        counts: ClassCounts::Balance { target: None },
        seed: 3,
        ..GenerateRequest::default()
    };
    let generated = generate(&prior_dir, &request, &corpus, &NoProgress)?;
    println!("{}", serde_json::to_string_pretty(&generated)?);
    Ok(())
}
