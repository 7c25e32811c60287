//! Trains a VQ-VAE and a prior with given configurations on a data set, generates a balanced
//! corpus, and prints the detail statistics (tonality, transientness; see
//! `auscult_vqvae::detail`) of real, reconstructed and generated spectrograms per class, with
//! wall and CPU times: the experiments behind the README's detail table.
//!
//! `cargo run --release -p auscult-vqvae --example detail_run -- OUT DATA_ROOT VQ.json|- PRIOR.json|-|skip|eval [TEMPERATURE] [TOP_K]`
//! (`eval`: only measure the VQ-VAE's last checkpoint, also while it trains)
//!
//! A stage whose directory already holds a report is not trained again.

use std::path::{Path, PathBuf};
use std::time::Instant;

use auscult_datasets::{LoadOptions, SplitSpec, load_examples};
use auscult_experiment::{NoProgress, read_metrics};
use auscult_vqvae::{
    ClassCounts, GenerateRequest, PriorTrainConfig, SamplingConfig, VqVaeModel, VqVaeReport,
    VqVaeTrainConfig, class_detail_stats, default_examples, generate, log_mels, train_prior,
    train_vqvae,
};

/// User + system CPU seconds of this process so far (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn read<T: serde::de::DeserializeOwned + Default>(
    arg: &str,
) -> Result<T, Box<dyn std::error::Error>> {
    if arg == "-" {
        return Ok(T::default());
    }
    Ok(serde_json::from_str(&std::fs::read_to_string(arg)?)?)
}

/// A report to print while a run is still training (evaluating its last checkpoint).
fn placeholder(dir: &Path) -> VqVaeReport {
    VqVaeReport {
        dir: dir.to_path_buf(),
        epochs: 0,
        steps: 0,
        seconds: 0.0,
        steps_per_s: 0.0,
        eval_split: "checkpoint".to_string(),
        eval_examples: 0,
        reconstruction_mse: f64::NAN,
        reconstruction_mae_db: f64::NAN,
        reconstruction_rmse_db: f64::NAN,
        codes_used: 0,
        codebook_size: 0,
        perplexity: f64::NAN,
        grid: [0, 0],
        reconstructions_png: PathBuf::new(),
        detail: Vec::new(),
        start: Default::default(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        return Err(
            "usage: detail_run OUT DATA_ROOT VQ.json|- PRIOR.json|-|skip [T] [TOP_K]".into(),
        );
    }
    let out = PathBuf::from(&args[1]);
    let root = Path::new(&args[2]);
    let vq_cfg: VqVaeTrainConfig = read(&args[3])?;
    let temperature: f32 = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let top_k: Option<usize> = args.get(6).and_then(|s| s.parse().ok()).filter(|&k| k > 0);
    let opts = LoadOptions {
        examples: default_examples(),
        split: SplitSpec::Official,
        val_fraction: 0.1,
        seed: vq_cfg.seed,
        ..LoadOptions::default()
    };
    let data = load_examples(root, &opts)?;

    let vq_dir = out.join("vq");
    let report_path = vq_dir.join("report.json");
    let eval_only = args[4] == "eval";
    let vq: VqVaeReport = if eval_only {
        std::fs::read_to_string(&report_path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_else(|| placeholder(&vq_dir))
    } else if report_path.exists() {
        serde_json::from_str(&std::fs::read_to_string(&report_path)?)?
    } else {
        let (t, c) = (Instant::now(), cpu_seconds());
        let r = train_vqvae(&vq_cfg, &data, &vq_dir, &NoProgress)?;
        println!(
            "VQ-VAE: {} steps, {:.0} s wall, {:.0} s CPU",
            r.steps,
            t.elapsed().as_secs_f64(),
            cpu_seconds() - c
        );
        r
    };
    for m in read_metrics(vq_dir.join("metrics.jsonl"))? {
        println!(
            "  vq epoch {:>2}: recon {:.3} val {:.3} ({:.2} dB) ppl {:.0} used {} s {:.1}",
            m["epoch"],
            m["train_reconstruction"].as_f64().unwrap_or(f64::NAN),
            m["val_reconstruction"].as_f64().unwrap_or(f64::NAN),
            m["val_mae_db"].as_f64().unwrap_or(f64::NAN),
            m["train_perplexity"].as_f64().unwrap_or(f64::NAN),
            m["train_codes_used"],
            m["seconds"].as_f64().unwrap_or(f64::NAN),
        );
    }
    println!(
        "VQ-VAE on {}: {:.2} dB MAE, MSE {:.3}, {} codes, perplexity {:.0}",
        vq.eval_split,
        vq.reconstruction_mae_db,
        vq.reconstruction_mse,
        vq.codes_used,
        vq.perplexity
    );
    // Reconstructions of the training split, measured here so that runs made before the
    // report carried detail statistics can be compared too.
    let model = VqVaeModel::load(&vq_dir, &burn::tensor::Device::flex())?;
    let train_db = log_mels(&data.train, &model.config.mel, &model.config.examples)?;
    let recon = model.reconstruct(&train_db)?;
    let (m, f) = (model.config.model.n_mels, model.config.model.n_frames);
    let k = data.classes.len();
    let real = class_detail_stats(
        train_db.iter().map(|x| (x.label, x.data.as_slice())),
        k,
        m,
        f,
    );
    let rec = class_detail_stats(
        train_db
            .iter()
            .zip(&recon)
            .map(|(x, r)| (x.label, r.as_slice())),
        k,
        m,
        f,
    );
    for (c, name) in data.classes.iter().enumerate() {
        let (r, g) = (real[c].unwrap_or_default(), rec[c].unwrap_or_default());
        println!(
            "  {name:>8} (train): tonality real {:.2} recon {:.2} | transientness real {:.2} recon {:.2}",
            r.tonality_db, g.tonality_db, r.transientness_db, g.transientness_db
        );
    }
    if args[4] == "skip" || eval_only {
        return Ok(());
    }
    let prior_cfg: PriorTrainConfig = read(&args[4])?;
    let prior_dir = out.join("prior");
    if !prior_dir.join("report.json").exists() {
        let (t, c) = (Instant::now(), cpu_seconds());
        let r = train_prior(&vq_dir, &prior_cfg, &data, &prior_dir, &NoProgress)?;
        println!(
            "prior: {} epochs, {:.3} bits/code, {:.0} s wall, {:.0} s CPU",
            r.epochs,
            r.bits_per_code,
            t.elapsed().as_secs_f64(),
            cpu_seconds() - c
        );
    }
    let corpus = out.join(format!("corpus-t{temperature}-k{}", top_k.unwrap_or(0)));
    if corpus.exists() {
        std::fs::remove_dir_all(&corpus)?;
    }
    let request = GenerateRequest {
        counts: ClassCounts::Balance { target: None },
        sampling: SamplingConfig {
            temperature,
            top_k,
            top_p: None,
            guidance: None,
        },
        seed: 3,
        ..GenerateRequest::default()
    };
    let (t, c) = (Instant::now(), cpu_seconds());
    let g = generate(&prior_dir, &request, &corpus, &NoProgress)?;
    println!(
        "generated {} in {:.0} s wall, {:.0} s CPU; nn ratio {:.2}, near copies {}",
        g.samples,
        t.elapsed().as_secs_f64(),
        cpu_seconds() - c,
        g.quality.nearest_neighbour.ratio,
        g.quality.nearest_neighbour.near_copies
    );
    for q in &g.quality.per_class {
        let (r, s) = (
            q.real_detail.unwrap_or_default(),
            q.generated_detail.unwrap_or_default(),
        );
        println!(
            "  {:>8} (gen {:>3}): tonality real {:.2} gen {:.2} | transientness real {:.2} gen {:.2}",
            q.class,
            q.generated,
            r.tonality_db,
            s.tonality_db,
            r.transientness_db,
            s.transientness_db
        );
    }
    Ok(())
}
