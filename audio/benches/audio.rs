//! Throughput of the audio front end, in samples per second, so that results read as
//! "x realtime" (divide by the sample rate). Run with `cargo bench -p auscult-audio`.
//!
//! - decode: 60 s of 44.1 kHz 16-bit mono WAV from disk (page cache warm);
//! - wav_decoder: the same file through the fast WAV path and through Symphonia alone
//!   (`cargo bench -p auscult-audio --bench audio -- wav_decoder`);
//! - resample: 60 s at 44.1 kHz to 16 kHz;
//! - log-Mel: 60 s at 16 kHz, n_fft 1024, hop 160, 128 Mels, librosa dB (top_db 80);
//! - Kaldi fbank: 60 s at 16 kHz with the AST preset.

use std::hint::black_box;
use std::time::Duration;

use auscult_audio::{
    LogScale, MelConfig, MelSpectrogram, WavFormat, bench, decode_file, resample, write_wav,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// A deterministic test signal: two tones plus xorshift noise, amplitude below 0.9.
fn signal(n: usize, rate: f32) -> Vec<f32> {
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let noise = (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            let t = i as f32 / rate;
            0.4 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
                + 0.2 * (2.0 * std::f32::consts::PI * 3100.0 * t).sin()
                + 0.1 * noise
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let wav = dir.path().join("60s_44k1_16bit.wav");
    let x44 = signal(60 * 44_100, 44_100.0);
    write_wav(&wav, &x44, 44_100, WavFormat::Int16).expect("write bench WAV");

    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(x44.len() as u64));
    g.bench_function("wav_44k1_16bit_60s", |b| {
        b.iter(|| decode_file(black_box(&wav)).expect("decode"))
    });
    g.finish();

    // Why `decode_file` keeps its own WAV parser: the same file through the fast PCM path and
    // through Symphonia (which `decode_file` falls back to for everything else).
    let mut g = c.benchmark_group("wav_decoder");
    g.throughput(Throughput::Elements(x44.len() as u64));
    g.bench_function("fast_path_44k1_16bit_60s", |b| {
        b.iter(|| bench::decode_wav_fast(black_box(&wav)).expect("decode"))
    });
    g.bench_function("symphonia_44k1_16bit_60s", |b| {
        b.iter(|| bench::decode_symphonia(black_box(&wav)).expect("decode"))
    });
    g.finish();

    let mut g = c.benchmark_group("resample");
    g.throughput(Throughput::Elements(x44.len() as u64));
    g.bench_function("44k1_to_16k_60s", |b| {
        b.iter(|| resample(black_box(&x44), 44_100, 16_000).expect("resample"))
    });
    g.finish();

    let x16 = signal(60 * 16_000, 16_000.0);
    let cfg = MelConfig {
        n_fft: 1024,
        win_length: 1024,
        hop_length: 160,
        n_mels: 128,
        log: LogScale::LIBROSA_DB,
        ..MelConfig::librosa(16_000)
    };
    let mut mel = MelSpectrogram::new(&cfg).expect("plan");
    let mut kaldi = MelSpectrogram::new(&MelConfig::kaldi(16_000)).expect("plan");
    let mut g = c.benchmark_group("log_mel");
    g.throughput(Throughput::Elements(x16.len() as u64));
    g.bench_function("librosa_db_16k_nfft1024_hop160_128mels_60s", |b| {
        b.iter(|| mel.compute(black_box(&x16)))
    });
    g.bench_function("kaldi_fbank_16k_128mels_60s", |b| {
        b.iter(|| kaldi.compute(black_box(&x16)))
    });
    // Reference point (the "bare realfft STFT loop"): window, real FFT and |X|^2 per
    // frame, no Mel, no log, no padding. Its ratio to log-Mel is steadier than either number
    // on a busy machine.
    let mut planner = realfft::RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(1024);
    let window: Vec<f32> = (0..1024)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / 1024.0).cos())
        .collect();
    let mut frame = fft.make_input_vec();
    let mut spec = fft.make_output_vec();
    let mut scratch = fft.make_scratch_vec();
    let mut power = vec![0.0f32; 513];
    g.bench_function("bare_realfft_stft_power_16k_nfft1024_hop160_60s", |b| {
        b.iter(|| {
            let x = black_box(&x16);
            let mut acc = 0.0f32;
            for start in (0..=x.len() - 1024).step_by(160) {
                for ((f, &s), &w) in frame.iter_mut().zip(&x[start..start + 1024]).zip(&window) {
                    *f = s * w;
                }
                fft.process_with_scratch(&mut frame, &mut spec, &mut scratch)
                    .expect("fft");
                for (p, c) in power.iter_mut().zip(&spec) {
                    *p = c.norm_sqr();
                }
                acc += power[7];
            }
            acc
        })
    });
    g.finish();
}

criterion_group! {
    name = audio;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = benches
}
criterion_main!(audio);
