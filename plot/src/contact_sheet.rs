//! A grid of small labelled spectrogram tiles.

use std::path::Path;

use plotters::prelude::*;

use crate::canvas::{Area, DrawResult, check_size, render_png};
use crate::colormap::{ColorMap, MISSING, Normalizer};
use crate::error::{Error, Result};
use crate::font::fit_text;
use crate::heatmap;
use crate::text::{TextStyle, draw_text};

const MARGIN: u64 = 12;
const TITLE_H: u64 = 44;
const CELL_W: u64 = 220;
const LABEL_H: u64 = 22;
const IMAGE_H: u64 = 120;
const GAP: u64 = 12;

/// One tile of a contact sheet: a small spectrogram and its caption.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    /// Caption drawn above the tile (a class name, an example id); shortened with an
    /// ellipsis when wider than the tile.
    pub label: String,
    /// Row-major `[n_bins][n_frames]`, bin 0 at the bottom.
    pub data: Vec<f32>,
    /// Number of frequency bins (rows).
    pub n_bins: usize,
    /// Number of frames (columns).
    pub n_frames: usize,
}

/// Size in pixels, (width, height), of a contact sheet of `n_tiles` tiles in `columns` columns.
///
/// Each cell is 220 x 142 px (caption 22 px, image 120 px); the sheet has as many columns as
/// tiles when there are fewer tiles than `columns`.
///
/// # Errors
/// [`Error::InvalidOption`] when `columns` is 0, [`Error::Empty`] when `n_tiles` is 0,
/// [`Error::TooLarge`] when a side would exceed [`crate::MAX_SIDE_PX`].
pub fn contact_sheet_size(n_tiles: usize, columns: usize) -> Result<(u32, u32)> {
    if columns == 0 {
        return Err(Error::InvalidOption {
            name: "columns",
            value: "0".into(),
            reason: "a contact sheet needs at least one column",
        });
    }
    if n_tiles == 0 {
        return Err(Error::Empty {
            what: "tiles",
            hint: "pass at least one tile",
        });
    }
    let cols = columns.min(n_tiles) as u64;
    let rows = n_tiles.div_ceil(columns) as u64;
    let width = 2 * MARGIN + cols * CELL_W + (cols - 1) * GAP;
    let height = TITLE_H + rows * (LABEL_H + IMAGE_H) + (rows - 1) * GAP + MARGIN;
    check_size(width, height)
}

/// Draws `tiles` as a grid with `columns` columns under `title`, as a PNG at `path`.
///
/// Tiles are placed row by row; each is stretched to fill its cell whatever its shape, and
/// coloured with magma between its own finite minimum and maximum. A tile with no values is
/// drawn as an empty grey box. Size: [`contact_sheet_size`].
///
/// # Errors
/// [`Error::DataShape`] naming the tile whose `data.len() != n_bins * n_frames`, the errors
/// of [`contact_sheet_size`], [`Error::NotPng`], and I/O errors naming the file.
pub fn contact_sheet_png(path: &Path, title: &str, tiles: &[Tile], columns: usize) -> Result<()> {
    let size = contact_sheet_size(tiles.len(), columns)?;
    for (i, tile) in tiles.iter().enumerate() {
        let expected = tile.n_bins.checked_mul(tile.n_frames);
        if expected != Some(tile.data.len()) {
            return Err(Error::DataShape {
                what: format!("tile {i} ({:?})", tile.label),
                n_bins: tile.n_bins,
                n_frames: tile.n_frames,
                expected: expected.unwrap_or(usize::MAX),
                actual: tile.data.len(),
            });
        }
    }
    render_png(path, size, |root| draw(root, title, tiles, columns))
}

fn draw(root: &Area<'_>, title: &str, tiles: &[Tile], columns: usize) -> DrawResult {
    let (width, _) = root.dim_in_pixel();
    let title = fit_text(title, 22.0, width as f32 - 2.0 * MARGIN as f32);
    draw_text(
        root,
        &title,
        (width as i32 / 2, TITLE_H as i32 / 2),
        TextStyle::new(22.0),
    )?;
    let label_size = 14.0;
    for (i, tile) in tiles.iter().enumerate() {
        let (row, col) = ((i / columns) as u64, (i % columns) as u64);
        let x = MARGIN + col * (CELL_W + GAP);
        let y = TITLE_H + row * (LABEL_H + IMAGE_H + GAP);
        let caption = fit_text(&tile.label, label_size, CELL_W as f32 - 4.0);
        let at = ((x + CELL_W / 2) as i32, (y + LABEL_H / 2) as i32);
        draw_text(root, &caption, at, TextStyle::new(label_size))?;

        let image = root.clone().shrink(
            (x as u32, (y + LABEL_H) as u32),
            (CELL_W as u32, IMAGE_H as u32),
        );
        if tile.data.is_empty() {
            image.fill(&MISSING.mix(0.35))?;
            let (w, h) = image.dim_in_pixel();
            draw_text(
                &image,
                "no data",
                (w as i32 / 2, h as i32 / 2),
                TextStyle::new(14.0).color(MISSING),
            )?;
        } else {
            let norm = Normalizer::from_data(&tile.data);
            heatmap::paint(
                &image,
                &tile.data,
                tile.n_bins,
                tile.n_frames,
                &norm,
                ColorMap::Magma,
            )?;
            if !norm.any_finite {
                let (w, h) = image.dim_in_pixel();
                let style = TextStyle::new(14.0).color(RGBColor(255, 255, 255));
                draw_text(
                    &image,
                    "no finite values",
                    (w as i32 / 2, h as i32 / 2),
                    style,
                )?;
            }
        }
        let (w, h) = image.dim_in_pixel();
        image.draw(&Rectangle::new(
            [(0, 0), (w as i32 - 1, h as i32 - 1)],
            BLACK.mix(0.6).stroke_width(1),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_size_follows_the_grid() {
        assert_eq!(contact_sheet_size(1, 4).unwrap(), (244, 198));
        assert_eq!(contact_sheet_size(5, 2).unwrap(), (476, 198 + 2 * 154));
        assert_eq!(
            contact_sheet_size(4, 4).unwrap(),
            contact_sheet_size(4, 9).unwrap()
        );
        assert!(matches!(contact_sheet_size(0, 4), Err(Error::Empty { .. })));
        assert!(matches!(
            contact_sheet_size(3, 0),
            Err(Error::InvalidOption {
                name: "columns",
                ..
            })
        ));
        assert!(matches!(
            contact_sheet_size(100_000, 1),
            Err(Error::TooLarge { .. })
        ));
    }
}
