//! Axis text: tick labels and axis titles drawn with [`crate::text`] next to the tick marks
//! that plotters draws (plotters' own labels are made transparent).

use std::ops::Range;

use plotters::style::{IntoFont, TRANSPARENT, TextStyle as PlottersTextStyle};

use crate::canvas::{Area, DrawResult};
use crate::font::FAMILY;
use crate::text::{Align, TextStyle, draw_text};

/// Length of plotters' tick marks, in pixels (pass to `set_all_tick_mark_size`).
pub(crate) const TICK: i32 = 5;
/// Tick label size, px.
pub(crate) const LABEL_SIZE: f32 = 14.0;
/// Axis title size, px.
pub(crate) const TITLE_SIZE: f32 = 15.0;

/// A plotters label style that lays out like text but draws nothing.
pub(crate) fn hidden_labels() -> PlottersTextStyle<'static> {
    (FAMILY, 12).into_font().color(&TRANSPARENT)
}

/// Which side of the plot a y axis is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Left,
    Right,
}

/// The plot rectangle in root pixels: (x range, y range), ends exclusive.
pub(crate) type PlotRect = (Range<i32>, Range<i32>);

/// Tick labels under the plot at pixel columns `ticks`, and `title` centred at the bottom of
/// the `label_area` px high area below the plot.
pub(crate) fn label_x_axis(
    root: &Area<'_>,
    plot: &PlotRect,
    ticks: &[(i32, String)],
    title: &str,
    label_area: i32,
) -> DrawResult {
    let bottom = plot.1.end;
    let style = TextStyle::new(LABEL_SIZE).anchor(Align::Center, Align::Start);
    for (x, text) in ticks {
        draw_text(root, text, (*x, bottom + TICK + 5), style)?;
    }
    let centre = (plot.0.start + plot.0.end) / 2;
    draw_text(
        root,
        title,
        (centre, bottom + label_area - 12),
        TextStyle::new(TITLE_SIZE),
    )
}

/// Tick labels beside the plot at pixel rows `ticks` on `side`, and `title` written upwards
/// at the outer edge of the `label_area` px wide area.
pub(crate) fn label_y_axis(
    root: &Area<'_>,
    plot: &PlotRect,
    ticks: &[(i32, String)],
    title: &str,
    label_area: i32,
    side: Side,
) -> DrawResult {
    let (x, along, title_x) = match side {
        Side::Left => (
            plot.0.start - TICK - 4,
            Align::End,
            plot.0.start - label_area + 12,
        ),
        Side::Right => (
            plot.0.end + TICK + 4,
            Align::Start,
            plot.0.end + label_area - 12,
        ),
    };
    let style = TextStyle::new(LABEL_SIZE).anchor(along, Align::Center);
    for (y, text) in ticks {
        draw_text(root, text, (x, *y), style)?;
    }
    let centre = (plot.1.start + plot.1.end) / 2;
    draw_text(
        root,
        title,
        (title_x, centre),
        TextStyle::new(TITLE_SIZE).vertical(),
    )
}
