//! Runs a fixed number of training steps (batch 32, 64 x 126 inputs) of a preset, the same step
//! as the `train_step` benchmark, for profilers (`valgrind --tool=callgrind`, `perf`):
//!
//! ```sh
//! cargo build --release -p auscult-classifier --example train_steps
//! valgrind --tool=callgrind target/release/examples/train_steps small 3
//! ```
#![allow(clippy::unwrap_used)]

use auscult_classifier::CnnConfig;
use auscult_classifier::loss::soft_cross_entropy;
use auscult_classifier::supcon::supcon_loss;
use auscult_experiment::seeded_rng;
use burn::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Tensor, TensorData};

const B: usize = 32;
const CLASSES: usize = 4;

fn main() {
    let mut args = std::env::args().skip(1);
    let preset = args.next().unwrap_or_else(|| "small".into());
    let steps: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let device = Device::flex().autodiff();
    let cfg = CnnConfig::preset(&preset).unwrap();
    let mut model = cfg.init(CLASSES, &device, &mut seeded_rng(0, 0)).unwrap();
    let mut optim = AdamWConfig::new()
        .with_weight_decay(1e-3)
        .with_grad_clipping(Some(GradientClippingConfig::Norm(5.0)))
        .init();
    let x = Tensor::<4>::random([B, 1, 64, 126], Distribution::Normal(0.0, 1.0), &device);
    let labels: Vec<usize> = (0..B).map(|i| i % CLASSES).collect();
    let mut y = vec![0f32; B * CLASSES];
    for (i, &l) in labels.iter().enumerate() {
        y[i * CLASSES + l] = 1.0;
    }
    let y = Tensor::<2>::from_data(TensorData::new(y, [B, CLASSES]), &device);
    let started = std::time::Instant::now();
    for step in 0..steps {
        let t = std::time::Instant::now();
        let out = model.forward(x.clone(), None, true);
        let loss = soft_cross_entropy(out.logits, y.clone())
            + supcon_loss(out.projection.unwrap(), &labels, 0.07) * 0.5;
        let value: f32 = loss.clone().into_scalar();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-3, model, grads);
        eprintln!(
            "step {step}: loss {value:.5} in {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    eprintln!(
        "{preset}: {:.1} ms per step",
        started.elapsed().as_secs_f64() * 1e3 / steps as f64
    );
}
