//! The embedded font: registered with plotters' ab_glyph text backend, and parsed once for
//! this crate's own text drawing and measuring (see [`crate::text`]).
//!
//! plotters is built without its system-font (`ttf`) feature, so text works on machines without
//! fontconfig or any installed font.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, ScaleFont};
use plotters::style::{FontStyle, register_font};

use crate::error::{Error, Result};

/// DejaVu Sans (Bitstream Vera licence, see plot/assets).
static DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// The family name registered with plotters (also plotters' default family).
pub(crate) const FAMILY: &str = "sans-serif";

/// The parsed font, or `None` if the embedded bytes could not be parsed.
pub(crate) fn font() -> Option<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(DEJAVU_SANS).ok())
        .as_ref()
}

/// Registers the embedded font with plotters under [`FAMILY`] (once) and checks that it parses.
pub(crate) fn ensure_registered() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok =
        *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok && font().is_some() {
        Ok(())
    } else {
        Err(Error::Font)
    }
}

/// Advance width in pixels of `text` at `size` px (line height, ascent - descent), with kerning.
pub(crate) fn text_width(text: &str, size: f32) -> f32 {
    let Some(font) = font() else { return 0.0 };
    let scaled = font.as_scaled(size);
    let mut width = 0.0;
    let mut prev = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            width += scaled.kern(p, id);
        }
        width += scaled.h_advance(id);
        prev = Some(id);
    }
    width
}

/// `text` shortened with a trailing ellipsis so that it is at most `max_width` px wide at
/// `size` px (returned unchanged when it fits).
pub(crate) fn fit_text(text: &str, size: f32, max_width: f32) -> String {
    if text_width(text, size) <= max_width {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    for keep in (0..chars.len()).rev() {
        let candidate: String = chars[..keep]
            .iter()
            .chain(std::iter::once(&'\u{2026}'))
            .collect();
        if text_width(&candidate, size) <= max_width {
            return candidate;
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::style::IntoFont;

    #[test]
    fn registered_font_measures_text_in_plotters_and_here() {
        ensure_registered().unwrap();
        let plotters_font = (FAMILY, 20.0).into_font();
        let (w_short, h) = plotters_font.box_size("i").unwrap();
        let (w_long, _) = plotters_font.box_size("wheeze crackle").unwrap();
        assert!(h > 5, "text height {h}");
        assert!(w_long > 5 * w_short, "{w_long} vs {w_short}");
        let own = text_width("wheeze crackle", 20.0);
        assert!((own - w_long as f32).abs() <= 2.0, "{own} vs {w_long}");
    }

    #[test]
    fn fit_text_truncates_with_ellipsis() {
        assert_eq!(fit_text("wheeze", 14.0, 500.0), "wheeze");
        let short = fit_text("a very long class name indeed", 14.0, 60.0);
        assert!(
            short.ends_with('\u{2026}') && short.chars().count() < 12,
            "{short}"
        );
        assert!(text_width(&short, 14.0) <= 60.0);
        assert_eq!(fit_text("wheeze", 14.0, 0.0), "");
    }
}
