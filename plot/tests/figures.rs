//! Every figure writes a PNG of the documented size with real content, and bad input is
//! refused with an error instead of a panic or a file.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns may unwrap

use std::collections::HashSet;
use std::fs::File;
use std::path::Path;

use auscult_plot::{
    Error, Panel, SPECTROGRAM_SIZE, Series, SpectrogramPlot, Tile, confusion_png, confusion_size,
    contact_sheet_png, contact_sheet_size, curves_png, curves_size, spectrogram_png,
};

/// Decodes `path` and returns (width, height, RGB bytes).
fn decode(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn distinct_colors(rgb: &[u8]) -> usize {
    rgb.chunks_exact(3)
        .map(|p| (p[0], p[1], p[2]))
        .collect::<HashSet<_>>()
        .len()
}

/// Asserts a PNG of `size` that is far from one flat colour.
fn assert_figure(path: &Path, size: (u32, u32)) -> Vec<u8> {
    let (w, h, rgb) = decode(path);
    assert_eq!((w, h), size, "{path:?}");
    let n = distinct_colors(&rgb);
    assert!(n > 20, "{path:?} has only {n} colours");
    rgb
}

fn spec_opts(title: &str) -> SpectrogramPlot {
    SpectrogramPlot {
        title: title.into(),
        seconds_per_frame: 0.016,
        f_min_hz: 0.0,
        f_max_hz: 8000.0,
        mel: true,
        colorbar_label: "log-Mel power (dB)".into(),
    }
}

fn ramp(n_bins: usize, n_frames: usize) -> Vec<f32> {
    (0..n_bins * n_frames)
        .map(|i| ((i / n_frames) as f32 * 0.3 + (i % n_frames) as f32 * 0.05).sin())
        .collect()
}

#[test]
fn spectrogram_writes_expected_png() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.png");
    spectrogram_png(&path, &ramp(64, 120), 64, 120, &spec_opts("spectrogram")).unwrap();
    assert_figure(&path, SPECTROGRAM_SIZE);

    let linear = dir.path().join("linear.png");
    let opts = SpectrogramPlot {
        mel: false,
        ..spec_opts("linear")
    };
    spectrogram_png(&linear, &ramp(257, 30), 257, 30, &opts).unwrap();
    assert_figure(&linear, SPECTROGRAM_SIZE);
}

#[test]
fn spectrogram_text_is_rendered() {
    // Same data, different titles: the embedded font must put different pixels in the title band.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
    let data = ramp(8, 8);
    spectrogram_png(&a, &data, 8, 8, &spec_opts("AAAA")).unwrap();
    spectrogram_png(&b, &data, 8, 8, &spec_opts("WWWW")).unwrap();
    let (_, _, ra) = decode(&a);
    let (_, _, rb) = decode(&b);
    let band = 1000 * 3 * 36;
    assert_ne!(ra[..band], rb[..band], "title text made no difference");
    assert!(ra[..band].iter().any(|&v| v < 100), "no dark title pixels");
    assert_eq!(ra[band..], rb[band..], "only the title should differ");
}

#[test]
fn spectrogram_degenerate_data_draws() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, Vec<f32>, usize, usize); 4] = [
        ("nan", vec![f32::NAN; 40 * 10], 40, 10),
        ("constant", vec![-20.0; 40 * 10], 40, 10),
        ("single_frame", (0..40).map(|i| i as f32).collect(), 40, 1),
        (
            "mixed",
            vec![f32::NEG_INFINITY, 1.0, f32::NAN, f32::INFINITY, 2.0, 3.0],
            2,
            3,
        ),
    ];
    for (name, data, bins, frames) in cases {
        let path = dir.path().join(format!("{name}.png"));
        spectrogram_png(&path, &data, bins, frames, &spec_opts(name)).unwrap();
        let (w, h, _) = decode(&path);
        assert_eq!((w, h), SPECTROGRAM_SIZE, "{name}");
    }
}

#[test]
fn spectrogram_shape_mismatch_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.png");
    let err = spectrogram_png(&path, &[0.0; 10], 4, 3, &spec_opts("x")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::DataShape {
                expected: 12,
                actual: 10,
                ..
            }
        ),
        "{err:?}"
    );
    let empty = spectrogram_png(&path, &[], 0, 3, &spec_opts("x")).unwrap_err();
    assert!(matches!(empty, Error::Empty { .. }), "{empty:?}");
    let not_png =
        spectrogram_png(&dir.path().join("x.jpg"), &[0.0; 4], 2, 2, &spec_opts("x")).unwrap_err();
    assert!(matches!(not_png, Error::NotPng { .. }), "{not_png:?}");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing should be written"
    );
}

fn tiles() -> Vec<Tile> {
    let names = [
        "normal",
        "crackle",
        "wheeze",
        "both",
        "a rather long class label",
    ];
    names
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let (n_bins, n_frames) = (16 + 16 * k, 20 + 30 * k);
            Tile {
                label: (*name).into(),
                data: ramp(n_bins, n_frames),
                n_bins,
                n_frames,
            }
        })
        .collect()
}

#[test]
fn contact_sheet_writes_expected_png() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sheet.png");
    let mut tiles = tiles();
    tiles.push(Tile {
        label: "empty".into(),
        data: vec![],
        n_bins: 0,
        n_frames: 7,
    });
    tiles.push(Tile {
        label: "constant".into(),
        data: vec![1.0; 6],
        n_bins: 3,
        n_frames: 2,
    });
    contact_sheet_png(&path, "examples per class", &tiles, 3).unwrap();
    assert_figure(&path, contact_sheet_size(tiles.len(), 3).unwrap());
}

#[test]
fn contact_sheet_bad_tile_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sheet.png");
    let mut tiles = tiles();
    tiles[2].n_frames += 1;
    let err = contact_sheet_png(&path, "t", &tiles, 2).unwrap_err();
    assert!(err.to_string().contains("tile 2 (\"wheeze\")"), "{err}");
    assert!(matches!(
        contact_sheet_png(&path, "t", &[], 2),
        Err(Error::Empty { .. })
    ));
    assert!(matches!(
        contact_sheet_png(&path, "t", &tiles[..1], 0),
        Err(Error::InvalidOption { .. })
    ));
    assert!(!path.exists());
}

fn classes() -> Vec<String> {
    ["normal", "crackle", "wheeze", "both"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn confusion_writes_expected_png() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("confusion.png");
    let m = vec![
        vec![120, 10, 5, 1],
        vec![20, 40, 3, 2],
        vec![8, 2, 30, 4],
        vec![0, 0, 0, 0],
    ];
    confusion_png(&path, "test confusion", &m, &classes()).unwrap();
    assert_figure(&path, confusion_size(4).unwrap());

    let many: Vec<String> = (0..9).map(|i| format!("class number {i}")).collect();
    let m9: Vec<Vec<u64>> = (0..9)
        .map(|i| {
            (0..9)
                .map(|j| if i == j { 50 } else { (i + j) as u64 })
                .collect()
        })
        .collect();
    let path9 = dir.path().join("confusion9.png");
    confusion_png(&path9, "nine", &m9, &many).unwrap();
    assert_figure(&path9, confusion_size(9).unwrap());
}

#[test]
fn confusion_shape_mismatch_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.png");
    let short_row = vec![
        vec![1, 2, 3, 4],
        vec![1, 2, 3],
        vec![1, 2, 3, 4],
        vec![1, 2, 3, 4],
    ];
    assert!(matches!(
        confusion_png(&path, "t", &short_row, &classes()),
        Err(Error::MatrixRow {
            row: 1,
            expected: 4,
            actual: 3
        })
    ));
    assert!(matches!(
        confusion_png(&path, "t", &short_row[..2], &classes()),
        Err(Error::MatrixRows {
            expected: 4,
            actual: 2
        })
    ));
    assert!(matches!(
        confusion_png(&path, "t", &[], &[]),
        Err(Error::Empty { .. })
    ));
    assert!(!path.exists());
}

#[test]
fn curves_writes_expected_png() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("curves.png");
    let loss = |scale: f64| {
        (0..50)
            .map(|e| (f64::from(e), scale * (-f64::from(e) / 15.0).exp() + 0.1))
            .collect()
    };
    let panels = vec![
        Panel {
            title: "loss".into(),
            x_label: "epoch".into(),
            y_label: "cross-entropy".into(),
            series: vec![
                Series {
                    name: "train".into(),
                    points: loss(1.0),
                },
                Series {
                    name: "val".into(),
                    points: loss(1.2),
                },
            ],
        },
        Panel {
            title: "score".into(),
            x_label: "epoch".into(),
            y_label: "ICBHI score".into(),
            series: vec![Series {
                name: "val".into(),
                points: vec![(0.0, 0.4), (1.0, f64::NAN), (2.0, 0.5)],
            }],
        },
        Panel {
            title: "empty".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: vec![],
        },
        Panel {
            title: "one point".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: vec![Series {
                name: "only".into(),
                points: vec![(3.0, 3.0)],
            }],
        },
    ];
    curves_png(&path, "training", &panels).unwrap();
    assert_figure(&path, curves_size(4).unwrap());
    assert!(matches!(
        curves_png(&path, "t", &[]),
        Err(Error::Empty { .. })
    ));
}
