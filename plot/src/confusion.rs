//! An annotated confusion matrix: rows are true classes, columns predicted classes.

use std::path::Path;

use plotters::prelude::*;

use crate::canvas::{Area, DrawResult, check_size, render_png};
use crate::colormap::ColorMap;
use crate::error::{Error, Result};
use crate::font::fit_text;
use crate::text::{Align, TextStyle, draw_text};

const TOP: u64 = 66;
const LEFT: u64 = 170;
const RIGHT: u64 = 96;
const BOTTOM_FLAT: u64 = 70;
const BOTTOM_ROTATED: u64 = 160;
/// Above this many classes, column names are written vertically.
const MAX_FLAT_CLASSES: usize = 6;

fn cell_px(n: usize) -> u64 {
    if n <= 4 {
        110
    } else {
        (560 / n as u64).clamp(40, 110)
    }
}

fn bottom_px(n: usize) -> u64 {
    if n > MAX_FLAT_CLASSES {
        BOTTOM_ROTATED
    } else {
        BOTTOM_FLAT
    }
}

/// Size in pixels, (width, height), of a confusion matrix figure for `n_classes` classes.
///
/// Cells are 110 px for up to 4 classes, then `560 / n` px (at least 40).
///
/// # Errors
/// [`Error::Empty`] for 0 classes, [`Error::TooLarge`] past [`crate::MAX_SIDE_PX`].
pub fn confusion_size(n_classes: usize) -> Result<(u32, u32)> {
    if n_classes == 0 {
        return Err(Error::Empty {
            what: "class list",
            hint: "a confusion matrix needs at least one class",
        });
    }
    let grid = cell_px(n_classes).saturating_mul(n_classes as u64);
    check_size(LEFT + grid + RIGHT, TOP + grid + bottom_px(n_classes))
}

/// Draws the confusion `matrix` (`matrix[true][predicted]` = count) with class names on both
/// axes as a PNG at `path`.
///
/// Each cell shows its count and its share of the row (percent of that true class), and is
/// coloured by that share (white to blue). Row totals are written on the right, the overall
/// accuracy under the title. Rows with no examples show "-". Size: [`confusion_size`].
///
/// # Errors
/// [`Error::MatrixRows`] or [`Error::MatrixRow`] unless `matrix` is `classes.len() x classes.len()`, the errors of
/// [`confusion_size`], [`Error::NotPng`], and I/O errors naming the file.
pub fn confusion_png(
    path: &Path,
    title: &str,
    matrix: &[Vec<u64>],
    classes: &[String],
) -> Result<()> {
    let n = classes.len();
    let size = confusion_size(n)?;
    if matrix.len() != n {
        return Err(Error::MatrixRows {
            expected: n,
            actual: matrix.len(),
        });
    }
    if let Some((i, row)) = matrix.iter().enumerate().find(|(_, row)| row.len() != n) {
        return Err(Error::MatrixRow {
            row: i,
            expected: n,
            actual: row.len(),
        });
    }
    render_png(path, size, |root| draw(root, title, matrix, classes))
}

fn draw(root: &Area<'_>, title: &str, matrix: &[Vec<u64>], classes: &[String]) -> DrawResult {
    let n = classes.len();
    let cell = cell_px(n) as i32;
    let (left, top) = (LEFT as i32, TOP as i32);
    let grid = cell * n as i32;
    let (width, _) = root.dim_in_pixel();
    let grey = RGBColor(80, 80, 80);

    let row_totals: Vec<u64> = matrix.iter().map(|row| row.iter().sum()).collect();
    let total: u64 = row_totals.iter().sum();
    let correct: u64 = (0..n).map(|i| matrix[i][i]).sum();
    let title = fit_text(title, 22.0, width as f32 - 20.0);
    draw_text(root, &title, (width as i32 / 2, 20), TextStyle::new(22.0))?;
    let summary = if total > 0 {
        format!(
            "n = {total}, accuracy = {:.1}%",
            100.0 * correct as f64 / total as f64
        )
    } else {
        "n = 0".to_string()
    };
    draw_text(
        root,
        &summary,
        (width as i32 / 2, 46),
        TextStyle::new(14.0).color(grey),
    )?;

    let count_size = (cell as f32 * 0.2).clamp(11.0, 20.0);
    let pct_size = (count_size - 3.0).max(10.0);
    let max_text = cell as f32 - 4.0;
    for (i, row) in matrix.iter().enumerate() {
        for (j, &count) in row.iter().enumerate() {
            let (x0, y0) = (left + j as i32 * cell, top + i as i32 * cell);
            let share = (row_totals[i] > 0).then(|| count as f64 / row_totals[i] as f64);
            let color = ColorMap::Blues.at(share.unwrap_or(0.0) as f32);
            root.draw(&Rectangle::new(
                [(x0, y0), (x0 + cell, y0 + cell)],
                color.filled(),
            ))?;
            let ink = if share.unwrap_or(0.0) > 0.5 {
                WHITE
            } else {
                BLACK
            };
            let pct = share.map_or("-".to_string(), |s| format!("{:.1}%", 100.0 * s));
            let (cx, cy) = (x0 + cell / 2, y0 + cell / 2);
            let dy = (count_size * 0.55).round() as i32;
            let count_text = fit_text(&count.to_string(), count_size, max_text);
            draw_text(
                root,
                &count_text,
                (cx, cy - dy),
                TextStyle::new(count_size).color(ink),
            )?;
            draw_text(
                root,
                &fit_text(&pct, pct_size, max_text),
                (cx, cy + dy),
                TextStyle::new(pct_size).color(ink),
            )?;
        }
    }
    let grid_style = WHITE.stroke_width(1);
    for k in 1..n as i32 {
        root.draw(&PathElement::new(
            vec![(left + k * cell, top), (left + k * cell, top + grid)],
            grid_style,
        ))?;
        root.draw(&PathElement::new(
            vec![(left, top + k * cell), (left + grid, top + k * cell)],
            grid_style,
        ))?;
    }
    root.draw(&Rectangle::new(
        [(left, top), (left + grid, top + grid)],
        BLACK.mix(0.6).stroke_width(1),
    ))?;

    let name_size = 15.0;
    for (i, name) in classes.iter().enumerate() {
        let y = top + i as i32 * cell + cell / 2;
        let text = fit_text(name, name_size, LEFT as f32 - 46.0);
        draw_text(
            root,
            &text,
            (left - 8, y),
            TextStyle::new(name_size).anchor(Align::End, Align::Center),
        )?;
        let totals = format!("n = {}", row_totals[i]);
        let style = TextStyle::new(13.0)
            .color(grey)
            .anchor(Align::Start, Align::Center);
        draw_text(root, &totals, (left + grid + 8, y), style)?;
    }
    let bottom = top + grid;
    let rotated = n > MAX_FLAT_CLASSES;
    for (j, name) in classes.iter().enumerate() {
        let x = left + j as i32 * cell + cell / 2;
        if rotated {
            let text = fit_text(name, name_size, BOTTOM_ROTATED as f32 - 44.0);
            let style = TextStyle::new(name_size)
                .anchor(Align::End, Align::Center)
                .vertical();
            draw_text(root, &text, (x, bottom + 8), style)?;
        } else {
            let text = fit_text(name, name_size, max_text);
            draw_text(
                root,
                &text,
                (x, bottom + 8),
                TextStyle::new(name_size).anchor(Align::Center, Align::Start),
            )?;
        }
    }
    let axis_size = 16.0;
    let x_title_y = bottom + bottom_px(n) as i32 - 18;
    draw_text(
        root,
        "predicted",
        (left + grid / 2, x_title_y),
        TextStyle::new(axis_size),
    )?;
    draw_text(
        root,
        "true",
        (18, top + grid / 2),
        TextStyle::new(axis_size).vertical(),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_grows_with_classes() {
        assert_eq!(confusion_size(4).unwrap(), (170 + 440 + 96, 66 + 440 + 70));
        assert_eq!(
            confusion_size(10).unwrap(),
            (170 + 560 + 96, 66 + 560 + 160)
        );
        assert_eq!(confusion_size(100).unwrap().0, 170 + 4000 + 96);
        assert!(matches!(confusion_size(0), Err(Error::Empty { .. })));
        assert!(matches!(confusion_size(1000), Err(Error::TooLarge { .. })));
    }
}
