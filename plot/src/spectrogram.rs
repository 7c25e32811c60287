//! One spectrogram as a heat map with time and frequency axes and a colour bar.

use std::path::Path;

use plotters::prelude::*;

use crate::axes::{Side, TICK, hidden_labels, label_x_axis, label_y_axis};
use crate::canvas::{Area, DrawResult, render_png};
use crate::colormap::{ColorMap, Normalizer};
use crate::error::{Error, Result};
use crate::font::fit_text;
use crate::heatmap;
use crate::scale::{FrequencyAxis, LinearAxis, format_tick};
use crate::text::{TextStyle, draw_text};

/// Size of a [`spectrogram_png`] figure, (width, height) in pixels.
pub const SPECTROGRAM_SIZE: (u32, u32) = (1000, 400);

/// How to label a spectrogram drawn by [`spectrogram_png`].
#[derive(Debug, Clone, PartialEq)]
pub struct SpectrogramPlot {
    /// Title above the figure (may be empty).
    pub title: String,
    /// Hop between frames, in seconds (hop_length / sample_rate); must be > 0.
    pub seconds_per_frame: f32,
    /// Frequency of the bottom edge of bin 0, in Hz (>= 0).
    pub f_min_hz: f32,
    /// Frequency of the top edge of the last bin, in Hz (> `f_min_hz`).
    pub f_max_hz: f32,
    /// `true` when bins are evenly spaced in Mel (Slaney), so Hz ticks are placed on the Mel
    /// scale; `false` for linearly spaced bins (a plain STFT).
    pub mel: bool,
    /// Label of the colour bar, e.g. "log-Mel power (dB)".
    pub colorbar_label: String,
}

/// Draws a spectrogram as a [`SPECTROGRAM_SIZE`] PNG at `path`.
///
/// # Shapes
/// `data` is row-major `[n_bins][n_frames]` (bin-major, like `auscult_audio::Spectrogram`),
/// bin 0 drawn at the bottom. Colours span the finite minimum to maximum with the magma map;
/// NaN draws grey, -inf/+inf the lowest/highest colour, a constant array the middle colour.
///
/// # Errors
/// [`Error::DataShape`] when `data.len() != n_bins * n_frames`, [`Error::Empty`] for zero
/// bins or frames, [`Error::InvalidOption`] for a non-positive frame step or a bad frequency
/// range, [`Error::NotPng`] unless `path` ends in `.png`, and I/O errors naming the file.
/// The file is written atomically.
pub fn spectrogram_png(
    path: &Path,
    data: &[f32],
    n_bins: usize,
    n_frames: usize,
    opts: &SpectrogramPlot,
) -> Result<()> {
    heatmap::check_shape(|| "spectrogram data".to_string(), data, n_bins, n_frames)?;
    check_options(opts)?;
    let norm = Normalizer::from_data(data);
    render_png(path, SPECTROGRAM_SIZE, |root| {
        draw(root, data, n_bins, n_frames, opts, &norm)
    })
}

fn check_options(opts: &SpectrogramPlot) -> Result<()> {
    let spf = opts.seconds_per_frame;
    if !(spf.is_finite() && spf > 0.0) {
        return Err(Error::InvalidOption {
            name: "seconds_per_frame",
            value: spf.to_string(),
            reason: "must be a positive number of seconds (hop_length / sample_rate)",
        });
    }
    let (lo, hi) = (opts.f_min_hz, opts.f_max_hz);
    if !(lo.is_finite() && lo >= 0.0) {
        return Err(Error::InvalidOption {
            name: "f_min_hz",
            value: lo.to_string(),
            reason: "must be a finite frequency >= 0 Hz",
        });
    }
    if !(hi.is_finite() && hi > lo) {
        return Err(Error::InvalidOption {
            name: "f_max_hz",
            value: hi.to_string(),
            reason: "must be a finite frequency above f_min_hz (use sample_rate / 2 when unset)",
        });
    }
    Ok(())
}

const TITLE_H: u32 = 40;
const MARGIN_TOP: u32 = 6;
const X_AREA: u32 = 48;
const Y_AREA: u32 = 72;
const BAR_W: u32 = 112;
const BAR_LABEL_AREA: u32 = 74;

fn draw(
    root: &Area<'_>,
    data: &[f32],
    n_bins: usize,
    n_frames: usize,
    opts: &SpectrogramPlot,
    norm: &Normalizer,
) -> DrawResult {
    let (width, _) = root.dim_in_pixel();
    let title = fit_text(&opts.title, 22.0, width as f32 - 20.0);
    draw_text(
        root,
        &title,
        (width as i32 / 2, TITLE_H as i32 / 2),
        TextStyle::new(22.0),
    )?;
    let area = root.margin(TITLE_H, 0, 0, 0);
    let (main, bar) = area.split_horizontally(width.saturating_sub(BAR_W));

    let duration = n_frames as f64 * f64::from(opts.seconds_per_frame);
    let time = LinearAxis::new(0.0, duration);
    let freq = FrequencyAxis::new(f64::from(opts.f_min_hz), f64::from(opts.f_max_hz), opts.mel);
    let mut chart = ChartBuilder::on(&main)
        .margin_top(MARGIN_TOP)
        .margin_bottom(6)
        .margin_left(8)
        .margin_right(10)
        .x_label_area_size(X_AREA)
        .y_label_area_size(Y_AREA)
        .build_cartesian_2d(time, freq)?;
    heatmap::paint(
        &chart.plotting_area().strip_coord_spec(),
        data,
        n_bins,
        n_frames,
        norm,
        ColorMap::Magma,
    )?;
    let (n_x, n_y) = (12, 9);
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(n_x)
        .y_labels(n_y)
        .set_all_tick_mark_size(TICK)
        .label_style(hidden_labels())
        .draw()?;
    let plot = chart.plotting_area().get_pixel_range();
    let x_ticks: Vec<(i32, String)> = time
        .ticks(n_x)
        .into_iter()
        .map(|t| (chart.backend_coord(&(t, 0.0)).0, format_tick(t)))
        .collect();
    let y_ticks: Vec<(i32, String)> = freq
        .ticks(n_y)
        .into_iter()
        .map(|hz| (chart.backend_coord(&(0.0, hz)).1, format_tick(hz)))
        .collect();
    if !norm.any_finite {
        let centre = (
            (plot.0.start + plot.0.end) / 2,
            (plot.1.start + plot.1.end) / 2,
        );
        draw_text(
            root,
            "no finite values",
            centre,
            TextStyle::new(18.0).color(RGBColor(255, 255, 255)),
        )?;
    }
    label_x_axis(root, &plot, &x_ticks, "Time (s)", X_AREA as i32)?;
    let y_title = if opts.mel {
        "Frequency (Hz, Mel scale)"
    } else {
        "Frequency (Hz)"
    };
    label_y_axis(root, &plot, &y_ticks, y_title, Y_AREA as i32, Side::Left)?;

    draw_colorbar(root, &bar, norm, &opts.colorbar_label)
}

/// A vertical colour bar for `norm` with its axis and label, vertically aligned with the
/// main plot drawn beside it (same top margin, bottom margin = x label area + margin).
fn draw_colorbar(root: &Area<'_>, area: &Area<'_>, norm: &Normalizer, label: &str) -> DrawResult {
    let values = LinearAxis::new(f64::from(norm.low), f64::from(norm.high));
    let mut chart = ChartBuilder::on(area)
        .margin_top(MARGIN_TOP)
        .margin_bottom(6 + X_AREA)
        .margin_left(4)
        .margin_right(4)
        .right_y_label_area_size(BAR_LABEL_AREA)
        .build_cartesian_2d(LinearAxis::new(0.0, 1.0), values)?;
    let plot_area = chart.plotting_area().strip_coord_spec();
    let (w, h) = plot_area.dim_in_pixel();
    for y in 0..h {
        let t = if h > 1 {
            1.0 - y as f32 / (h - 1) as f32
        } else {
            0.5
        };
        let color = ColorMap::Magma.at(t);
        for x in 0..w {
            plot_area.draw_pixel((x as i32, y as i32), &color)?;
        }
    }
    let n_y = 8;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .x_labels(0)
        .y_labels(n_y)
        .set_all_tick_mark_size(TICK)
        .label_style(hidden_labels())
        .draw()?;
    let plot = chart.plotting_area().get_pixel_range();
    let ticks: Vec<(i32, String)> = values
        .ticks(n_y)
        .into_iter()
        .map(|v| (chart.backend_coord(&(0.0, v)).1, format_tick(v)))
        .collect();
    label_y_axis(
        root,
        &plot,
        &ticks,
        label,
        BAR_LABEL_AREA as i32,
        Side::Right,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> SpectrogramPlot {
        SpectrogramPlot {
            title: "t".into(),
            seconds_per_frame: 0.01,
            f_min_hz: 0.0,
            f_max_hz: 8000.0,
            mel: true,
            colorbar_label: "dB".into(),
        }
    }

    #[test]
    fn bad_options_are_rejected_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.png");
        let data = [0.0f32; 6];
        for (field, o) in [
            (
                "seconds_per_frame",
                SpectrogramPlot {
                    seconds_per_frame: 0.0,
                    ..opts()
                },
            ),
            (
                "f_min_hz",
                SpectrogramPlot {
                    f_min_hz: f32::NAN,
                    ..opts()
                },
            ),
            (
                "f_max_hz",
                SpectrogramPlot {
                    f_max_hz: 0.0,
                    ..opts()
                },
            ),
        ] {
            match spectrogram_png(&path, &data, 2, 3, &o) {
                Err(Error::InvalidOption { name, .. }) => assert_eq!(name, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        assert!(!path.exists());
    }
}
