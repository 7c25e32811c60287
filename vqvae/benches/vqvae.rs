//! Criterion benchmarks at the default (CPU) sizes: one VQ-VAE training step (batch 16,
//! 64 x 128 input), one prior training step (batch 16, 512 codes), and sampling 512-code grids
//! with and without the key/value cache. The `auscult` binary's allocator (mimalloc) is used
//! here too, so that the times are the ones users get.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use auscult_vqvae::{
    LogMel, PriorBatch, PriorConfig, PriorTrainer, QuantizerConfig, SamplingConfig, VqVaeConfig,
    VqVaeTrainer, sample_codes, vq_batch,
};
use burn::tensor::Device;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// The allocator of the `auscult` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 16;

fn training_steps(c: &mut Criterion) {
    auscult_experiment::allocator::retain_freed_memory();
    let device = Device::flex();
    let mut group = c.benchmark_group("training");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(BATCH as u64));

    let cfg = VqVaeConfig::default();
    let mut vq = VqVaeTrainer::new(cfg.clone(), QuantizerConfig::default(), 1, &device).unwrap();
    let data: Vec<LogMel> = (0..BATCH)
        .map(|i| LogMel {
            data: (0..cfg.n_mels * cfg.n_frames)
                .map(|j| ((j * 7 + i * 13) % 29) as f32 / 29.0 - 0.5)
                .collect(),
            label: i % 4,
        })
        .collect();
    let refs: Vec<&LogMel> = data.iter().collect();
    let batch = vq_batch(
        &refs,
        cfg.n_mels,
        cfg.n_frames,
        cfg.padded_frames(),
        vq.device(),
    )
    .unwrap();
    group.bench_function("vqvae_step_batch16", |b| {
        b.iter(|| black_box(vq.step(black_box(&batch), 1e-3).unwrap()))
    });

    let pcfg = prior_config();
    let mut prior = PriorTrainer::new(pcfg.clone(), 1, &device).unwrap();
    let seqs: Vec<Vec<usize>> = (0..BATCH)
        .map(|i| {
            (0..pcfg.seq_len)
                .map(|j| (i * 5 + j * 3) % pcfg.vocab_size)
                .collect()
        })
        .collect();
    let seq_refs: Vec<&[usize]> = seqs.iter().map(Vec::as_slice).collect();
    let classes: Vec<usize> = (0..BATCH).map(|i| i % 4).collect();
    let pbatch = PriorBatch::new(&classes, &seq_refs, prior.device()).unwrap();
    group.bench_function("prior_step_batch16", |b| {
        b.iter(|| black_box(prior.step(black_box(&pbatch), 1e-3).unwrap()))
    });
    group.finish();
}

/// The prior the default VQ-VAE gets: one position per code of its grid, one token per code.
fn prior_config() -> PriorConfig {
    let vq = VqVaeConfig::default();
    PriorConfig {
        seq_len: vq.codes_per_example(),
        vocab_size: vq.codebook_size,
        ..PriorConfig::default()
    }
}

fn sampling(c: &mut Criterion) {
    auscult_experiment::allocator::retain_freed_memory();
    let device = Device::flex();
    let cfg = prior_config();
    let prior = cfg.init(&device).unwrap();
    let sc = SamplingConfig {
        temperature: 1.0,
        top_k: Some(64),
        top_p: Some(0.95),
        ..SamplingConfig::default()
    };
    let mut group = c.benchmark_group(format!("sampling_{}_codes", cfg.seq_len));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for (name, batch, cache) in [
        ("cached_batch16", 16usize, true),
        ("cached_batch1", 1, true),
        ("uncached_batch1", 1, false),
    ] {
        let classes: Vec<usize> = (0..batch).map(|i| i % 4).collect();
        let seeds: Vec<u64> = (0..batch as u64).collect();
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                black_box(sample_codes(&prior, &classes, &seeds, &sc, cache, &device).unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, training_steps, sampling);
criterion_main!(benches);
