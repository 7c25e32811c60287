//! Prints the detail statistics ([`auscult_vqvae::detail`]) per class of a data set's training
//! split (real), and of generated corpora given after it.
//!
//! `cargo run --release -p auscult-vqvae --example detail_stats -- DATA_ROOT [CORPUS_DIR...]`

use std::path::PathBuf;

use auscult_datasets::{GeneratedCorpus, LoadOptions, SplitSpec, load_examples};
use auscult_vqvae::{DetailStats, default_examples, default_mel, detail_stats, log_mels};

fn summary(name: &str, rows: &[(String, DetailStats)], classes: &[String]) {
    for c in classes {
        let v: Vec<&DetailStats> = rows.iter().filter(|r| &r.0 == c).map(|r| &r.1).collect();
        if v.is_empty() {
            continue;
        }
        let n = v.len() as f64;
        let mut ton: Vec<f64> = v.iter().map(|d| d.tonality_db).collect();
        let mut tra: Vec<f64> = v.iter().map(|d| d.transientness_db).collect();
        ton.sort_by(f64::total_cmp);
        tra.sort_by(f64::total_cmp);
        let q = |x: &[f64], p: f64| x[((x.len() - 1) as f64 * p).round() as usize];
        println!(
            "{name:>10} {c:>8} n={:>4}  tonality {:5.2} dB (q25 {:5.2} q75 {:5.2})  transientness {:5.2} dB (q25 {:5.2} q75 {:5.2})",
            v.len(),
            ton.iter().sum::<f64>() / n,
            q(&ton, 0.25),
            q(&ton, 0.75),
            tra.iter().sum::<f64>() / n,
            q(&tra, 0.25),
            q(&tra, 0.75),
        );
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let root = PathBuf::from(
        args.get(1)
            .ok_or("usage: detail_stats DATA_ROOT [CORPUS...]")?,
    );
    let opts = LoadOptions {
        examples: default_examples(),
        split: SplitSpec::Official,
        val_fraction: 0.1,
        ..LoadOptions::default()
    };
    let data = load_examples(&root, &opts)?;
    let mel = default_mel();
    let feats = log_mels(&data.train, &mel, &default_examples())?;
    let n_frames = feats.first().map(|x| x.data.len() / 64).unwrap_or(126);
    let rows: Vec<(String, DetailStats)> = feats
        .iter()
        .map(|x| {
            (
                data.classes[x.label].clone(),
                detail_stats(&x.data, 64, n_frames),
            )
        })
        .collect();
    summary("real", &rows, &data.classes);
    for dir in args.iter().skip(2) {
        let corpus = GeneratedCorpus::open(&PathBuf::from(dir))?;
        let rows: Vec<(String, DetailStats)> = corpus
            .load()?
            .into_iter()
            .map(|(c, s)| (c, detail_stats(&s.data, s.n_bins, s.n_frames)))
            .collect();
        let name = PathBuf::from(dir)
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        summary(&name, &rows, &data.classes);
    }
    Ok(())
}
