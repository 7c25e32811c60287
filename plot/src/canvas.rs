//! Rendering into an RGB buffer and writing it as a PNG, atomically.

use std::path::Path;

use plotters::coord::Shift;
use plotters::drawing::DrawingAreaErrorKind;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::font;

/// The largest width or height, in pixels, a figure may have.
pub const MAX_SIDE_PX: u32 = 16_384;

/// The drawing area every figure draws on.
pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// A plotters failure, turned into [`Error::Draw`] once the output path is known.
#[derive(Debug)]
pub(crate) struct DrawError(pub(crate) String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        DrawError(e.to_string())
    }
}

/// Result of a drawing closure.
pub(crate) type DrawResult = std::result::Result<(), DrawError>;

/// Checks that `path` names a `.png` file.
pub(crate) fn check_png_path(path: &Path) -> Result<()> {
    let is_png = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    let has_name = path.file_name().is_some();
    if is_png && has_name {
        Ok(())
    } else {
        Err(Error::NotPng {
            path: path.to_path_buf(),
        })
    }
}

/// Checks a figure size against [`MAX_SIDE_PX`] and converts it to `u32`.
pub(crate) fn check_size(width: u64, height: u64) -> Result<(u32, u32)> {
    let max = u64::from(MAX_SIDE_PX);
    if width == 0 || height == 0 || width > max || height > max {
        return Err(Error::TooLarge {
            width,
            height,
            max: MAX_SIDE_PX,
        });
    }
    Ok((width as u32, height as u32))
}

/// Draws a `size` (width, height) px figure on a white background with `draw`, then writes
/// it to `path` as an 8-bit RGB PNG through a temporary file in the same folder.
pub(crate) fn render_png<F>(path: &Path, size: (u32, u32), draw: F) -> Result<()>
where
    F: FnOnce(&Area<'_>) -> DrawResult,
{
    check_png_path(path)?;
    let (width, height) = check_size(u64::from(size.0), u64::from(size.1))?;
    font::ensure_registered()?;

    let mut buffer = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(DrawError::from)
            .and_then(|()| draw(&root));
        let presented = drawn.and_then(|()| root.present().map_err(DrawError::from));
        presented.map_err(|DrawError(message)| Error::Draw {
            path: path.to_path_buf(),
            message,
        })?;
    }
    write_png_atomic(path, width, height, &buffer)
}

/// Encodes `rgb` (row-major, 3 bytes per pixel) as a PNG and writes it to `path` with the
/// workspace's atomic write ([`auscult_audio::write_atomic`]: a temporary sibling, synced,
/// then renamed).
fn write_png_atomic(path: &Path, width: u32, height: u32, rgb: &[u8]) -> Result<()> {
    let enc_err = |source| Error::Encode {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(enc_err)?;
        writer.write_image_data(rgb).map_err(enc_err)?;
        writer.finish().map_err(enc_err)?;
    }
    auscult_audio::write_atomic(path, &bytes).map_err(|e| match e {
        auscult_audio::Error::Io { path, source } => Error::Io { path, source },
        other => Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(other.to_string()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_path_check() {
        assert!(check_png_path(Path::new("a/b.png")).is_ok());
        assert!(check_png_path(Path::new("b.PNG")).is_ok());
        assert!(matches!(
            check_png_path(Path::new("b.jpg")),
            Err(Error::NotPng { .. })
        ));
        assert!(matches!(
            check_png_path(Path::new("b")),
            Err(Error::NotPng { .. })
        ));
    }

    #[test]
    fn size_limits() {
        assert_eq!(check_size(10, 20).unwrap(), (10, 20));
        assert!(matches!(check_size(0, 20), Err(Error::TooLarge { .. })));
        assert!(matches!(
            check_size(20_000, 20),
            Err(Error::TooLarge { .. })
        ));
    }

    #[test]
    fn writes_atomically_without_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("x.png");
        render_png(&path, (30, 20), |area| {
            area.fill(&RED)?;
            Ok(())
        })
        .unwrap();
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("x.png")]);
        let decoder = png::Decoder::new(std::fs::File::open(&path).unwrap());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (30, 20));
        assert_eq!(&buf[..3], &[255, 0, 0]);
    }
}
