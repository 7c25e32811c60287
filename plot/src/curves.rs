//! Training curves: panels side by side, each with named series and a legend.

use std::path::Path;

use plotters::prelude::*;

use crate::axes::{PlotRect, Side, TICK, hidden_labels, label_x_axis, label_y_axis};
use crate::canvas::{Area, DrawResult, check_size, render_png};
use crate::error::{Error, Result};
use crate::font::{fit_text, text_width};
use crate::scale::{LinearAxis, format_tick};
use crate::text::{Align, TextStyle, draw_text};

const PANEL_W: u64 = 560;
const PANEL_H: u64 = 440;
const TITLE_H: u64 = 44;
/// Series with fewer points than this also get a dot on each point.
const MARKER_MAX_POINTS: usize = 30;
/// Points whose coordinates are larger than this in magnitude are skipped with the
/// non-finite ones (they would overflow the axis arithmetic).
const MAX_ABS: f64 = 1e300;

/// Tableau 10, the colours of successive series within a panel.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One named line: `(x, y)` points drawn in the given order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend entry ("train", "val"); series with an empty name get no legend entry.
    pub name: String,
    /// Points (x, y), e.g. (epoch, loss). Non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
}

/// One chart of a [`curves_png`] figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Caption above the chart ("loss", "ICBHI score").
    pub title: String,
    /// x axis description ("epoch", "step").
    pub x_label: String,
    /// y axis description.
    pub y_label: String,
    /// The lines, coloured in order from the Tableau 10 palette.
    pub series: Vec<Series>,
}

/// Size in pixels, (width, height), of a [`curves_png`] figure with `n_panels` panels:
/// 560 px wide per panel, 484 px high.
///
/// # Errors
/// [`Error::Empty`] for 0 panels, [`Error::TooLarge`] past [`crate::MAX_SIDE_PX`].
pub fn curves_size(n_panels: usize) -> Result<(u32, u32)> {
    if n_panels == 0 {
        return Err(Error::Empty {
            what: "panels",
            hint: "pass at least one panel",
        });
    }
    check_size(PANEL_W.saturating_mul(n_panels as u64), TITLE_H + PANEL_H)
}

/// Draws `panels` side by side under `title` as a PNG at `path`.
///
/// Axes span the finite points of each panel (y padded by 5%); a panel without any finite
/// point is drawn empty with "no data". The legend goes in the corner with the fewest points.
/// Size: [`curves_size`].
///
/// # Errors
/// The errors of [`curves_size`], [`Error::NotPng`], and I/O errors naming the file.
pub fn curves_png(path: &Path, title: &str, panels: &[Panel]) -> Result<()> {
    let size = curves_size(panels.len())?;
    render_png(path, size, |root| draw(root, title, panels))
}

fn draw(root: &Area<'_>, title: &str, panels: &[Panel]) -> DrawResult {
    let (width, _) = root.dim_in_pixel();
    let title = fit_text(title, 22.0, width as f32 - 20.0);
    draw_text(
        root,
        &title,
        (width as i32 / 2, TITLE_H as i32 / 2),
        TextStyle::new(22.0),
    )?;
    let body = root.margin(TITLE_H as u32, 0, 0, 0);
    for (panel, area) in panels.iter().zip(body.split_evenly((1, panels.len()))) {
        draw_panel(root, &area, panel)?;
    }
    Ok(())
}

fn finite_points(series: &Series) -> Vec<(f64, f64)> {
    series
        .points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite() && x.abs() <= MAX_ABS && y.abs() <= MAX_ABS)
        .collect()
}

/// `lo..hi` widened by `pad` of its span on each side; a (near) constant range becomes
/// `v ± max(0.5, |v| / 20)`.
fn padded(lo: f64, hi: f64, pad: f64) -> (f64, f64) {
    let span = hi - lo;
    if span <= f64::EPSILON * lo.abs().max(hi.abs()).max(1.0) {
        let mid = lo / 2.0 + hi / 2.0;
        let half = (mid.abs() / 20.0).max(0.5);
        return (mid - half, mid + half);
    }
    (lo - pad * span, hi + pad * span)
}

const CAPTION_SPACE: u32 = 36;
const X_AREA: u32 = 46;
const Y_AREA: u32 = 70;

fn draw_panel(root: &Area<'_>, area: &Area<'_>, panel: &Panel) -> DrawResult {
    let lines: Vec<Vec<(f64, f64)>> = panel.series.iter().map(finite_points).collect();
    let bounds =
        lines.iter().flatten().fold(
            None,
            |acc: Option<(f64, f64, f64, f64)>, &(x, y)| match acc {
                None => Some((x, x, y, y)),
                Some((x0, x1, y0, y1)) => Some((x0.min(x), x1.max(x), y0.min(y), y1.max(y))),
            },
        );
    let ((x0, x1), (y0, y1)) = match bounds {
        Some((x0, x1, y0, y1)) => (padded(x0, x1, 0.0), padded(y0, y1, 0.05)),
        None => ((0.0, 1.0), (0.0, 1.0)),
    };
    let (x_axis, y_axis) = (LinearAxis::new(x0, x1), LinearAxis::new(y0, y1));

    let mut chart = ChartBuilder::on(area)
        .margin_top(CAPTION_SPACE)
        .margin_bottom(8)
        .margin_left(8)
        .margin_right(16)
        .x_label_area_size(X_AREA)
        .y_label_area_size(Y_AREA)
        .build_cartesian_2d(x_axis, y_axis)?;
    let (n_x, n_y) = (8, 8);
    chart
        .configure_mesh()
        .x_labels(n_x)
        .y_labels(n_y)
        .bold_line_style(BLACK.mix(0.12))
        .light_line_style(TRANSPARENT)
        .set_all_tick_mark_size(TICK)
        .label_style(hidden_labels())
        .draw()?;
    let plot = chart.plotting_area().get_pixel_range();
    let x_ticks: Vec<(i32, String)> = x_axis
        .ticks(n_x)
        .into_iter()
        .map(|v| (chart.backend_coord(&(v, y0)).0, format_tick(v)))
        .collect();
    let y_ticks: Vec<(i32, String)> = y_axis
        .ticks(n_y)
        .into_iter()
        .map(|v| (chart.backend_coord(&(x0, v)).1, format_tick(v)))
        .collect();
    label_x_axis(root, &plot, &x_ticks, &panel.x_label, X_AREA as i32)?;
    label_y_axis(
        root,
        &plot,
        &y_ticks,
        &panel.y_label,
        Y_AREA as i32,
        Side::Left,
    )?;
    let centre_x = (plot.0.start + plot.0.end) / 2;
    let (area_w, _) = area.dim_in_pixel();
    let caption = fit_text(&panel.title, 18.0, area_w as f32 - 20.0);
    draw_text(
        root,
        &caption,
        (centre_x, plot.1.start - CAPTION_SPACE as i32 / 2),
        TextStyle::new(18.0),
    )?;

    if bounds.is_none() {
        let centre = (centre_x, (plot.1.start + plot.1.end) / 2);
        draw_text(
            root,
            "no data",
            centre,
            TextStyle::new(16.0).color(RGBColor(128, 128, 128)),
        )?;
    }

    let mut legend = Vec::new();
    for (k, (series, points)) in panel.series.iter().zip(&lines).enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        chart.draw_series(LineSeries::new(
            points.iter().copied(),
            color.stroke_width(2),
        ))?;
        if points.len() < MARKER_MAX_POINTS {
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
        }
        if !series.name.is_empty() {
            legend.push((series.name.as_str(), color));
        }
    }
    if !legend.is_empty() {
        let corner = legend_corner(&lines, (x0, x1), (y0, y1));
        draw_legend(root, &plot, &legend, corner)?;
    }
    Ok(())
}

/// A boxed legend of line samples and names inside `plot`, in `corner`.
fn draw_legend(
    root: &Area<'_>,
    plot: &PlotRect,
    entries: &[(&str, RGBColor)],
    corner: Corner,
) -> DrawResult {
    const SIZE: f32 = 13.0;
    const ROW_H: i32 = 19;
    const PAD: i32 = 7;
    const SAMPLE: i32 = 22;
    const INSET: i32 = 10;
    let names: Vec<String> = entries
        .iter()
        .map(|(name, _)| fit_text(name, SIZE, 200.0))
        .collect();
    let text_w = names
        .iter()
        .map(|n| text_width(n, SIZE).ceil() as i32)
        .max()
        .unwrap_or(0);
    let (w, h) = (
        PAD + SAMPLE + 6 + text_w + PAD,
        2 * PAD + ROW_H * entries.len() as i32 - 4,
    );
    let x = if corner.right {
        plot.0.end - INSET - w
    } else {
        plot.0.start + INSET
    };
    let y = if corner.upper {
        plot.1.start + INSET
    } else {
        plot.1.end - INSET - h
    };
    root.draw(&Rectangle::new(
        [(x, y), (x + w, y + h)],
        WHITE.mix(0.88).filled(),
    ))?;
    root.draw(&Rectangle::new(
        [(x, y), (x + w, y + h)],
        BLACK.mix(0.35).stroke_width(1),
    ))?;
    for (k, (name, (_, color))) in names.iter().zip(entries).enumerate() {
        let row_y = y + PAD + k as i32 * ROW_H + (ROW_H - 4) / 2;
        root.draw(&PathElement::new(
            vec![(x + PAD, row_y), (x + PAD + SAMPLE, row_y)],
            color.stroke_width(2),
        ))?;
        let style = TextStyle::new(SIZE).anchor(Align::Start, Align::Center);
        draw_text(root, name, (x + PAD + SAMPLE + 6, row_y), style)?;
    }
    Ok(())
}

/// A corner of the plot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Corner {
    right: bool,
    upper: bool,
}

/// The plot corner that the fewest points fall into (upper right first on ties).
fn legend_corner(lines: &[Vec<(f64, f64)>], (x0, x1): (f64, f64), (y0, y1): (f64, f64)) -> Corner {
    let corners = [
        Corner {
            right: true,
            upper: true,
        },
        Corner {
            right: true,
            upper: false,
        },
        Corner {
            right: false,
            upper: true,
        },
        Corner {
            right: false,
            upper: false,
        },
    ];
    let count = |c: Corner| {
        lines
            .iter()
            .flatten()
            .filter(|&&(x, y)| {
                let u = (x - x0) / (x1 - x0);
                let v = (y - y0) / (y1 - y0);
                let in_x = if c.right { u > 0.5 } else { u < 0.5 };
                let in_y = if c.upper { v > 0.6 } else { v < 0.4 };
                in_x && in_y
            })
            .count()
    };
    let mut best = (corners[0], usize::MAX);
    for c in corners {
        let n = count(c);
        if n < best.1 {
            best = (c, n);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_handles_constant_and_normal_ranges() {
        assert_eq!(padded(0.0, 10.0, 0.05), (-0.5, 10.5));
        assert_eq!(padded(3.0, 3.0, 0.05), (2.5, 3.5));
        assert_eq!(padded(100.0, 100.0, 0.0), (95.0, 105.0));
    }

    #[test]
    fn legend_avoids_the_data() {
        let falling: Vec<(f64, f64)> = (0..10)
            .map(|i| (f64::from(i), 10.0 - f64::from(i)))
            .collect();
        let rising: Vec<(f64, f64)> = (0..10).map(|i| (f64::from(i), f64::from(i))).collect();
        assert_eq!(
            legend_corner(&[falling], (0.0, 9.0), (0.0, 10.0)),
            Corner {
                right: true,
                upper: true
            }
        );
        assert_eq!(
            legend_corner(&[rising], (0.0, 9.0), (0.0, 9.0)),
            Corner {
                right: true,
                upper: false
            }
        );
    }

    #[test]
    fn non_finite_points_are_dropped() {
        let s = Series {
            name: "a".into(),
            points: vec![
                (0.0, 1.0),
                (1.0, f64::NAN),
                (f64::INFINITY, 2.0),
                (2.0, 1e301),
            ],
        };
        assert_eq!(finite_points(&s), vec![(0.0, 1.0)]);
    }

    #[test]
    fn size_per_panel() {
        assert_eq!(curves_size(2).unwrap(), (1120, 484));
        assert!(matches!(curves_size(0), Err(Error::Empty { .. })));
    }
}
