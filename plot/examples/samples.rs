//! Renders one example of every figure into a folder, for looking at:
//! `cargo run -p auscult-plot --example samples -- /tmp/plot-samples`

use std::path::PathBuf;

use auscult_plot::{
    Panel, Series, SpectrogramPlot, Tile, confusion_png, contact_sheet_png, curves_png, hz_to_mel,
    mel_to_hz, spectrogram_png,
};

/// A deterministic pseudo-random number in [0, 1) (xorshift; no dependency needed).
struct Noise(u64);
impl Noise {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// A synthetic breathing log-Mel spectrogram in dB: breath noise, a wheeze tone, crackles.
fn breath(n_bins: usize, n_frames: usize, seed: u64, wheeze: bool, crackles: bool) -> Vec<f32> {
    let mut noise = Noise(seed | 1);
    let f_max = 8000.0;
    let mel_max = hz_to_mel(f_max);
    let mut data = vec![0.0f32; n_bins * n_frames];
    for b in 0..n_bins {
        let hz = mel_to_hz(mel_max * (b as f64 + 0.5) / n_bins as f64) as f32;
        for t in 0..n_frames {
            let phase = t as f32 / n_frames as f32 * 3.0 * std::f32::consts::TAU;
            let envelope = phase.sin().max(0.0);
            let tilt = -(hz / 900.0);
            let mut db = -75.0 + 40.0 * envelope + 8.0 * tilt.max(-4.0) + 6.0 * noise.next();
            if wheeze && envelope > 0.3 {
                let f0 = 400.0 + 150.0 * (t as f32 / n_frames as f32);
                for h in 1..4 {
                    let d = (hz - f0 * h as f32).abs() / (25.0 + hz * 0.03);
                    db += 30.0 / h as f32 * (-d * d).exp();
                }
            }
            if crackles && t % 23 == 5 && envelope > 0.2 {
                db += 25.0;
            }
            data[b * n_frames + t] = db.min(0.0);
        }
    }
    data
}

fn main() -> Result<(), auscult_plot::Error> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "/tmp/plot-samples".into()),
    );

    let (n_bins, n_frames) = (128, 500);
    let opts = SpectrogramPlot {
        title: "ICBHI 101_1b1_Al_sc_Meditron, cycle 3 (wheeze + crackle)".into(),
        seconds_per_frame: 0.016,
        f_min_hz: 0.0,
        f_max_hz: 8000.0,
        mel: true,
        colorbar_label: "log-Mel power (dB)".into(),
    };
    spectrogram_png(
        &dir.join("spectrogram.png"),
        &breath(n_bins, n_frames, 7, true, true),
        n_bins,
        n_frames,
        &opts,
    )?;

    let classes = ["normal", "crackle", "wheeze", "both"];
    let tiles: Vec<Tile> = (0..8)
        .map(|i| {
            let class = classes[i % 4];
            let (n_bins, n_frames) = if i == 7 { (64, 250) } else { (128, 500) };
            let data = breath(
                n_bins,
                n_frames,
                100 + i as u64,
                class == "wheeze" || class == "both",
                class == "crackle" || class == "both",
            );
            Tile {
                label: format!("{class} #{}", i / 4 + 1),
                data,
                n_bins,
                n_frames,
            }
        })
        .collect();
    contact_sheet_png(
        &dir.join("contact_sheet.png"),
        "VQ-VAE samples per class (epoch 40)",
        &tiles,
        4,
    )?;

    let names: Vec<String> = classes.iter().map(|s| s.to_string()).collect();
    let matrix = vec![
        vec![1294, 208, 73, 4],
        vec![276, 341, 18, 14],
        vec![120, 22, 222, 21],
        vec![38, 60, 15, 30],
    ];
    confusion_png(
        &dir.join("confusion.png"),
        "ICBHI official test split",
        &matrix,
        &names,
    )?;

    let curve = |f: &dyn Fn(f64) -> f64| {
        (0..60)
            .map(|e| (f64::from(e), f(f64::from(e))))
            .collect::<Vec<_>>()
    };
    let panels = vec![
        Panel {
            title: "loss".into(),
            x_label: "epoch".into(),
            y_label: "cross-entropy".into(),
            series: vec![
                Series {
                    name: "train".into(),
                    points: curve(&|e| 1.3 * (-e / 12.0).exp() + 0.25 + 0.02 * (e * 1.7).sin()),
                },
                Series {
                    name: "val".into(),
                    points: curve(&|e| 1.2 * (-e / 10.0).exp() + 0.45 + 0.004 * e),
                },
            ],
        },
        Panel {
            title: "validation metrics".into(),
            x_label: "epoch".into(),
            y_label: "score".into(),
            series: vec![
                Series {
                    name: "sensitivity".into(),
                    points: curve(&|e| 0.45 * (1.0 - (-e / 15.0).exp())),
                },
                Series {
                    name: "specificity".into(),
                    points: curve(&|e| 0.55 + 0.25 * (1.0 - (-e / 8.0).exp())),
                },
                Series {
                    name: "ICBHI score".into(),
                    points: curve(&|e| 0.3 + 0.32 * (1.0 - (-e / 11.0).exp())),
                },
            ],
        },
    ];
    curves_png(
        &dir.join("curves.png"),
        "classifier training (fold 0)",
        &panels,
    )?;
    println!("wrote figures to {}", dir.display());
    Ok(())
}
