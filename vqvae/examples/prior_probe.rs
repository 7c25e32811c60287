//! Diagnostics of a trained prior: per-time-step cross-entropy on training and validation
//! codes, a decode(encode(x)) check against reconstruct(x), and prefix completions (the first
//! columns of real code grids continued by the prior) drawn beside the originals.
//!
//! `cargo run --release -p auscult-vqvae --example prior_probe -- PRIOR_DIR DATA_ROOT OUT_PNG [PREFIX_COLUMNS]`

use std::path::Path;

use auscult_vqvae::{PriorModel, SamplingConfig};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;

mod common;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        return Err("usage: prior_probe PRIOR_DIR DATA_ROOT OUT_PNG [PREFIX_COLUMNS]".into());
    }
    let device = Device::flex();
    let pm = PriorModel::load(Path::new(&args[1]), &device)?;
    let prefix_cols: usize = args.get(4).map_or(Ok(4), |s| s.parse())?;
    let vq = &pm.vqvae;
    let (train, val) = common::split_log_mels(vq, Path::new(&args[2]))?;
    let [gf, gt] = vq.config.model.grid();
    let n = gf * gt;
    let (m, f) = (vq.config.model.n_mels, vq.config.model.n_frames);
    let columns = pm.prior.plan_columns();
    // The plan of a real example (for a prior that takes one): its cycle's columns.
    let plan_of = |x: &auscult_vqvae::LogMel| -> Vec<i64> {
        let span = auscult_vqvae::cycle::cycle_span(&x.data, m, f).unwrap_or(0..f);
        let per = f.div_ceil(columns.max(1));
        auscult_vqvae::prior::plan_tokens(columns, n, span.start / per..span.end.div_ceil(per))
            .into_iter()
            .map(|t| t as i64)
            .collect()
    };
    let plans_t = |ex: &[auscult_vqvae::LogMel]| {
        (columns > 0).then(|| {
            let flat: Vec<i64> = ex.iter().flat_map(plan_of).collect();
            Tensor::<2, Int>::from_data(TensorData::new(flat, [ex.len(), n]), &device)
        })
    };
    for (name, set) in [("train", &train), ("val", &val)] {
        let codes = vq.encode(set)?;
        let mut per_col = vec![0f64; gt];
        let mut count = 0usize;
        for (chunk, ex) in codes.chunks(16).zip(set.chunks(16)) {
            let b = chunk.len();
            let classes: Vec<i64> = ex.iter().map(|e| e.label as i64).collect();
            let flat: Vec<i64> = chunk
                .iter()
                .flat_map(|c| c[..n - 1].iter().map(|&x| x as i64))
                .collect();
            let logits = pm.prior.forward(
                Tensor::<1, Int>::from_data(TensorData::new(classes, [b]), &device),
                Some(Tensor::<2, Int>::from_data(
                    TensorData::new(flat, [b, n - 1]),
                    &device,
                )),
                plans_t(ex),
                None,
            );
            let v = pm.config.model.vocab_size;
            let lp: Vec<f32> = log_softmax(logits, 2).try_into_vec_as::<f32>()?;
            for (i, c) in chunk.iter().enumerate() {
                for (t, &code) in c.iter().enumerate() {
                    per_col[t / gf] -= f64::from(lp[(i * n + t) * v + code]);
                }
            }
            count += b;
        }
        let bits: Vec<String> = per_col
            .iter()
            .map(|s| format!("{:.2}", s / (count * gf) as f64 / std::f64::consts::LN_2))
            .collect();
        println!("{name}: bits/code per time column: {}", bits.join(" "));
    }
    // decode(encode(x)) against reconstruct(x).
    let few: Vec<_> = train.iter().take(4).cloned().collect();
    let codes = vq.encode(&few)?;
    let dec = vq.decode(&codes, &few.iter().map(|e| e.label).collect::<Vec<_>>())?;
    let rec = vq.reconstruct(&few)?;
    let diff = dec
        .iter()
        .flatten()
        .zip(rec.iter().flatten())
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    println!("max |decode(encode) - reconstruct| = {diff:.4} dB");

    // Prefix completions.
    let picks: Vec<usize> = (0..4)
        .flat_map(|c| {
            train
                .iter()
                .enumerate()
                .filter(move |(_, e)| e.label == c)
                .map(|(i, _)| i)
                .take(2)
        })
        .collect();
    let sel: Vec<_> = picks.iter().map(|&i| train[i].clone()).collect();
    let codes = vq.encode(&sel)?;
    let cfg = SamplingConfig::default();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let keep = prefix_cols * gf;
    let mut completed: Vec<Vec<usize>> = codes.iter().map(|c| c[..keep].to_vec()).collect();
    let b = sel.len();
    let classes: Vec<i64> = sel.iter().map(|e| e.label as i64).collect();
    let class_t = Tensor::<1, Int>::from_data(TensorData::new(classes, [b]), &device);
    for t in keep..n {
        let flat: Vec<i64> = completed
            .iter()
            .flat_map(|c| c.iter().map(|&x| x as i64))
            .collect();
        let logits = pm.prior.forward(
            class_t.clone(),
            Some(Tensor::<2, Int>::from_data(
                TensorData::new(flat, [b, t]),
                &device,
            )),
            plans_t(&sel),
            None,
        );
        let [_, _, v] = logits.dims();
        let last: Vec<f32> = logits
            .slice([0..b, t..t + 1, 0..v])
            .reshape([b, v])
            .try_into_vec_as::<f32>()?;
        for (i, c) in completed.iter_mut().enumerate() {
            c.push(cfg.sample(&last[i * v..(i + 1) * v], &mut rng));
        }
    }
    let labels: Vec<usize> = sel.iter().map(|e| e.label).collect();
    let dec = vq.decode(&completed, &labels)?;
    let rec = vq.reconstruct(&sel)?;
    let mut tiles = Vec::new();
    for i in 0..b {
        let name = &vq.config.classes[labels[i]];
        tiles.push(auscult_plot::Tile {
            label: format!("{name}: real"),
            data: sel[i].data.clone(),
            n_bins: m,
            n_frames: f,
        });
        tiles.push(auscult_plot::Tile {
            label: format!("{name}: reconstruction"),
            data: rec[i].clone(),
            n_bins: m,
            n_frames: f,
        });
        tiles.push(auscult_plot::Tile {
            label: format!("{name}: completed after {prefix_cols}"),
            data: dec[i].clone(),
            n_bins: m,
            n_frames: f,
        });
    }
    auscult_plot::contact_sheet_png(Path::new(&args[3]), "prefix completions", &tiles, 6)?;
    // Free samples, decoded, before any tiling.
    let cls: Vec<usize> = (0..16).map(|i| 1 + i % 3).collect();
    let seeds: Vec<u64> = (0..16).collect();
    let codes = if columns > 0 {
        let plans: Vec<Vec<usize>> = cls
            .iter()
            .zip(&seeds)
            .filter_map(|(&c, &s)| {
                pm.draw_cycle(c, &mut rand_chacha::ChaCha8Rng::seed_from_u64(s))
                    .map(|cycle| cycle.plan)
            })
            .collect();
        pm.sample_planned(&cls, &plans, &seeds, &SamplingConfig::default(), true)?
    } else {
        pm.sample(&cls, &seeds, &SamplingConfig::default(), true)?
    };
    let dec = vq.decode(&codes, &cls)?;
    let tiles: Vec<auscult_plot::Tile> = dec
        .into_iter()
        .zip(&cls)
        .map(|(d, &c)| auscult_plot::Tile {
            label: vq.config.classes[c].clone(),
            data: d,
            n_bins: m,
            n_frames: f,
        })
        .collect();
    let free = format!("{}-free.png", args[3].trim_end_matches(".png"));
    auscult_plot::contact_sheet_png(Path::new(&free), "free samples (decoder mean)", &tiles, 8)?;
    println!("wrote {}", args[3]);
    Ok(())
}
