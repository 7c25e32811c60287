//! Drawing text with ab_glyph directly, glyphs placed at their sub-pixel positions.
//!
//! plotters 0.3.7's ab_glyph backend drops each glyph's left side bearing and truncates pen
//! positions, which leaves visible one-pixel gaps inside words at small sizes ("ep och").
//! All text in this crate is drawn here instead; plotters still draws lines, ticks and shapes.

use ab_glyph::{Font, ScaleFont, point};
use plotters::style::{Color, RGBColor};

use crate::canvas::{Area, DrawError, DrawResult};
use crate::font::{font, text_width};

/// DejaVu Sans cap height, in em.
const CAP_HEIGHT_EM: f32 = 0.729;

/// Where the anchor point sits along one direction of the text box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    /// Left edge (horizontal) or top (vertical: the top of capitals).
    Start,
    /// Middle of the advance (horizontal) or of the capitals (vertical).
    Center,
    /// Right edge (horizontal) or baseline (vertical).
    End,
}

/// Size, colour, anchor and direction of a piece of text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TextStyle {
    /// Line height (ascent - descent) in pixels.
    pub(crate) size: f32,
    /// Ink colour.
    pub(crate) color: RGBColor,
    /// Anchor along the reading direction.
    pub(crate) along: Align,
    /// Anchor across the reading direction.
    pub(crate) across: Align,
    /// `true`: rotated 90 degrees counter-clockwise (reads bottom to top).
    pub(crate) vertical: bool,
}

impl TextStyle {
    /// Black text of `size` px, anchored at its centre, horizontal.
    pub(crate) fn new(size: f32) -> Self {
        TextStyle {
            size,
            color: RGBColor(0, 0, 0),
            along: Align::Center,
            across: Align::Center,
            vertical: false,
        }
    }

    /// With ink `color`.
    pub(crate) fn color(self, color: RGBColor) -> Self {
        TextStyle { color, ..self }
    }

    /// With anchors `along` and `across` the reading direction.
    pub(crate) fn anchor(self, along: Align, across: Align) -> Self {
        TextStyle {
            along,
            across,
            ..self
        }
    }

    /// Rotated to read bottom to top.
    pub(crate) fn vertical(self) -> Self {
        TextStyle {
            vertical: true,
            ..self
        }
    }
}

/// Draws `text` on `area` with its anchor at `pos` (pixels of `area`).
pub(crate) fn draw_text(
    area: &Area<'_>,
    text: &str,
    pos: (i32, i32),
    style: TextStyle,
) -> DrawResult {
    if text.is_empty() || style.size.is_nan() || style.size <= 0.0 {
        return Ok(());
    }
    let font = font().ok_or_else(|| DrawError("the embedded font could not be parsed".into()))?;
    let scaled = font.as_scaled(style.size);
    let em = style.size * font.units_per_em().unwrap_or(2048.0) / font.height_unscaled().max(1.0);
    let width = text_width(text, style.size);
    let dx = match style.along {
        Align::Start => 0.0,
        Align::Center => -width / 2.0,
        Align::End => -width,
    };
    // Baseline offset below the anchor.
    let cap = CAP_HEIGHT_EM * em;
    let dy = match style.across {
        Align::Start => cap,
        Align::Center => cap / 2.0,
        Align::End => 0.0,
    };
    let (ox, oy) = (pos.0, pos.1);
    let mut pen = dx;
    let mut prev = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            pen += scaled.kern(p, id);
        }
        prev = Some(id);
        let glyph = id.with_scale_and_position(style.size, point(pen, dy));
        pen += scaled.h_advance(id);
        let Some(outline) = font.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outline.px_bounds();
        let (bx, by) = (bounds.min.x as i32, bounds.min.y as i32);
        let mut pixels = Vec::new();
        outline.draw(|x, y, coverage| {
            if coverage > 0.0 {
                pixels.push((bx + x as i32, by + y as i32, coverage.min(1.0)));
            }
        });
        for (lx, ly, coverage) in pixels {
            let (sx, sy) = if style.vertical {
                (ox + ly, oy - lx)
            } else {
                (ox + lx, oy + ly)
            };
            area.draw_pixel((sx, sy), &style.color.mix(f64::from(coverage)))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canvas::render_png;
    use plotters::style::WHITE;

    /// Bounding box of the non-white pixels of a rendered image.
    fn ink_box(text: &str, style: TextStyle) -> (usize, usize, usize, usize) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.png");
        render_png(&path, (200, 200), |area| {
            area.fill(&WHITE)?;
            draw_text(area, text, (100, 100), style)
        })
        .unwrap();
        let decoder = png::Decoder::new(std::fs::File::open(&path).unwrap());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        reader.next_frame(&mut buf).unwrap();
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        for (i, px) in buf.chunks_exact(3).enumerate() {
            if px[0] < 128 {
                let (x, y) = (i % 200, i / 200);
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
        (x0, y0, x1, y1)
    }

    #[test]
    fn centred_text_is_centred() {
        let (x0, y0, x1, y1) = ink_box("HHHH", TextStyle::new(30.0));
        assert!(((x0 + x1) as i32 - 200).abs() <= 4, "{x0}..{x1}");
        assert!(((y0 + y1) as i32 - 200).abs() <= 3, "{y0}..{y1}");
    }

    #[test]
    fn vertical_text_reads_upwards() {
        let (x0, y0, x1, y1) = ink_box(
            "HHHH",
            TextStyle::new(30.0)
                .anchor(Align::Start, Align::Center)
                .vertical(),
        );
        assert!(y1 - y0 > 3 * (x1 - x0), "box {x0},{y0} {x1},{y1}");
        assert!(
            y1 <= 101 && y0 < 60,
            "text should extend up from the anchor: {y0}..{y1}"
        );
    }
}
