//! Painting a bin-major `[n_bins][n_frames]` array into a pixel area.

use plotters::style::RGBColor;

use crate::canvas::{Area, DrawResult};
use crate::colormap::{ColorMap, Normalizer};
use crate::error::{Error, Result};

/// Checks `data.len() == n_bins * n_frames` and that the array is not empty.
pub(crate) fn check_shape(
    what: impl Fn() -> String,
    data: &[f32],
    n_bins: usize,
    n_frames: usize,
) -> Result<()> {
    let expected = n_bins.checked_mul(n_frames);
    if expected != Some(data.len()) {
        return Err(Error::DataShape {
            what: what(),
            n_bins,
            n_frames,
            expected: expected.unwrap_or(usize::MAX),
            actual: data.len(),
        });
    }
    if data.is_empty() {
        return Err(Error::Empty {
            what: "spectrogram data",
            hint: "n_bins and n_frames must both be at least 1",
        });
    }
    Ok(())
}

/// Fills all of `area` with `data` (row-major `[n_bins][n_frames]`, bin 0 at the bottom),
/// stretched to the area with nearest-neighbour sampling and coloured through `norm` and `cmap`.
///
/// The shape must already have been checked with [`check_shape`].
pub(crate) fn paint(
    area: &Area<'_>,
    data: &[f32],
    n_bins: usize,
    n_frames: usize,
    norm: &Normalizer,
    cmap: ColorMap,
) -> DrawResult {
    let (w, h) = area.dim_in_pixel();
    if w == 0 || h == 0 || n_bins == 0 || n_frames == 0 {
        return Ok(());
    }
    let frames: Vec<usize> = (0..w as usize)
        .map(|x| (x * n_frames / w as usize).min(n_frames - 1))
        .collect();
    let mut row: Vec<RGBColor> = Vec::with_capacity(w as usize);
    let mut last_bin = usize::MAX;
    for y in 0..h as usize {
        let from_bottom = h as usize - 1 - y;
        let bin = (from_bottom * n_bins / h as usize).min(n_bins - 1);
        if bin != last_bin {
            let values = &data[bin * n_frames..(bin + 1) * n_frames];
            row.clear();
            row.extend(frames.iter().map(|&f| cmap.at(norm.unit(values[f]))));
            last_bin = bin;
        }
        for (x, color) in row.iter().enumerate() {
            area.draw_pixel((x as i32, y as i32), color)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_errors_say_what_and_how() {
        let err = check_shape(|| "spectrogram data".into(), &[0.0; 5], 2, 3).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("5 values") && msg.contains("2 x 3 = 6"),
            "{msg}"
        );
        assert!(matches!(
            check_shape(|| "x".into(), &[], usize::MAX, 2),
            Err(Error::DataShape {
                expected: usize::MAX,
                ..
            })
        ));
        assert!(matches!(
            check_shape(|| "x".into(), &[], 0, 4),
            Err(Error::Empty { .. })
        ));
        assert!(check_shape(|| "x".into(), &[0.0; 6], 3, 2).is_ok());
    }
}
