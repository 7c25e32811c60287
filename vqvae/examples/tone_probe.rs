//! Tone statistics of a data set's cycles as the VQ-VAE sees them: per class, the share of
//! cycle columns whose peak prominence ([`auscult_vqvae::tone::column_peaks`]) passes several
//! thresholds, and the share of cycles with at least two tone columns. Optionally the same for
//! a generated corpus's `.npy` files (tiled examples: all columns count).
//!
//! `cargo run --release -p auscult-vqvae --example tone_probe -- VQVAE_DIR DATA_ROOT [CORPUS_DIR]`

use std::path::Path;

use auscult_vqvae::VqVaeModel;
use auscult_vqvae::tone::{TONE_THRESHOLD_DB, column_peaks, tone_track};
use burn::tensor::Device;

mod common;

const THRESHOLDS: [f32; 5] = [3.0, 4.0, 5.0, 6.0, 8.0];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        return Err("usage: tone_probe VQVAE_DIR DATA_ROOT [CORPUS_DIR]".into());
    }
    let vq = VqVaeModel::load(Path::new(&args[1]), &Device::flex())?;
    let (train, _) = common::split_log_mels(&vq, Path::new(&args[2]))?;
    let (m, f) = (vq.config.model.n_mels, vq.config.model.n_frames);
    let columns = vq.config.model.grid()[1];
    let per = f.div_ceil(columns);
    let classes = vq.classes().to_vec();
    let report = |name: &str, items: Vec<(usize, Vec<(usize, f32)>)>| {
        println!(
            "{name}: share of cycle columns with a peak >= T dB; cycles with >= 2 tone columns at {TONE_THRESHOLD_DB} dB"
        );
        for (c, class) in classes.iter().enumerate() {
            let mine: Vec<&Vec<(usize, f32)>> = items
                .iter()
                .filter(|(l, _)| *l == c)
                .map(|(_, p)| p)
                .collect();
            if mine.is_empty() {
                continue;
            }
            let cols: Vec<f32> = mine.iter().flat_map(|p| p.iter().map(|x| x.1)).collect();
            let shares: Vec<String> = THRESHOLDS
                .iter()
                .map(|&t| {
                    let n = cols.iter().filter(|&&p| p >= t).count();
                    format!("{t}: {:.2}", n as f64 / cols.len().max(1) as f64)
                })
                .collect();
            let toned = mine
                .iter()
                .filter(|p| p.iter().filter(|x| x.1 >= TONE_THRESHOLD_DB).count() >= 2)
                .count();
            println!(
                "  {class:8} n={:4}  {}  toned cycles {:.2}",
                mine.len(),
                shares.join("  "),
                toned as f64 / mine.len() as f64
            );
        }
    };
    let mut items = Vec::new();
    for x in &train {
        let span = auscult_vqvae::cycle::cycle_span(&x.data, m, f).unwrap_or(0..f);
        let peaks = column_peaks(&x.data, m, f, columns)?;
        let inside: Vec<(usize, f32)> = peaks
            .into_iter()
            .enumerate()
            .filter(|(c, _)| c * per >= span.start && (c + 1) * per <= span.end)
            .map(|(_, p)| p)
            .collect();
        items.push((x.label, inside));
    }
    report("training cycles (whole columns inside the cycle)", items);
    // Reconstructions: how many of the training cycles' tone columns the VQ-VAE's decoder
    // mean renders (the ceiling for generated samples).
    let codes = vq.encode(&train)?;
    let labels: Vec<usize> = train.iter().map(|x| x.label).collect();
    let means = vq.decode(&codes, &labels)?;
    let mut per_class = vec![auscult_vqvae::ToneAdherence::default(); classes.len()];
    for ((x, mean), &c) in train.iter().zip(&means).zip(&labels) {
        let want = tone_track(&x.data, m, f, columns, TONE_THRESHOLD_DB)?;
        let got = tone_track(mean, m, f, columns, TONE_THRESHOLD_DB)?;
        per_class[c].add(&want, &got);
    }
    println!("reconstructions of the training cycles: tone columns rendered");
    for (c, a) in per_class.iter().enumerate() {
        println!(
            "  {:8} {} of {} ({:.0}%), unplanned {} of {}",
            classes[c],
            a.rendered_columns,
            a.planned_columns,
            100.0 * a.rendered_columns as f64 / a.planned_columns.max(1) as f64,
            a.unplanned_columns,
            a.toneless_columns
        );
    }
    if let Some(dir) = args.get(3) {
        let mut items = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_none_or(|e| e != "npy") {
                continue;
            }
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let Some(c) = classes
                .iter()
                .position(|c| stem.ends_with(&format!("_{c}")))
            else {
                continue;
            };
            let (db, _) = auscult_audio::read_npy_f32(&path)?;
            items.push((c, column_peaks(&db, m, f, columns)?));
        }
        report("generated samples (all columns)", items);
    }
    Ok(())
}
