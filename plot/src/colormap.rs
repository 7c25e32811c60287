//! Perceptual colour maps as small lookup tables, linearly interpolated.

use plotters::style::RGBColor;

/// Magma (matplotlib, CC0: BIDS/colormap), sampled at entries 0, 16, ..., 240, 255 of the
/// 256-entry table. Each row: position in [0, 1], then r, g, b in [0, 1].
const MAGMA: [[f32; 4]; 17] = [
    [0.0 / 255.0, 0.001462, 0.000466, 0.013866],
    [16.0 / 255.0, 0.039608, 0.031090, 0.133515],
    [32.0 / 255.0, 0.113094, 0.065492, 0.276784],
    [48.0 / 255.0, 0.211718, 0.061992, 0.418647],
    [64.0 / 255.0, 0.316654, 0.071690, 0.485380],
    [80.0 / 255.0, 0.414709, 0.110431, 0.504662],
    [96.0 / 255.0, 0.512831, 0.148179, 0.507648],
    [112.0 / 255.0, 0.613617, 0.181811, 0.498536],
    [128.0 / 255.0, 0.716387, 0.214982, 0.475290],
    [144.0 / 255.0, 0.816914, 0.255895, 0.436461],
    [160.0 / 255.0, 0.904281, 0.319610, 0.388137],
    [176.0 / 255.0, 0.960949, 0.418323, 0.359630],
    [192.0 / 255.0, 0.986700, 0.535582, 0.382210],
    [208.0 / 255.0, 0.996096, 0.653659, 0.446213],
    [224.0 / 255.0, 0.996898, 0.769591, 0.534892],
    [240.0 / 255.0, 0.992440, 0.884330, 0.640099],
    [1.0, 0.987053, 0.991438, 0.749504],
];

/// A white-to-blue sequential map (after ColorBrewer "Blues"), for confusion matrices.
const BLUES: [[f32; 4]; 5] = [
    [0.00, 0.969, 0.984, 1.000],
    [0.25, 0.776, 0.859, 0.937],
    [0.50, 0.420, 0.682, 0.839],
    [0.75, 0.129, 0.443, 0.710],
    [1.00, 0.031, 0.188, 0.420],
];

/// Colour for values that are NaN (drawn as a neutral grey, distinct from any magma colour).
pub(crate) const MISSING: RGBColor = RGBColor(128, 128, 128);

/// The colour maps this crate draws with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColorMap {
    /// Dark purple (low) to pale yellow (high).
    Magma,
    /// Near white (low) to dark blue (high).
    Blues,
}

impl ColorMap {
    /// Colour at `t` in [0, 1]; values outside are clamped, NaN gives [`MISSING`].
    pub(crate) fn at(self, t: f32) -> RGBColor {
        if t.is_nan() {
            return MISSING;
        }
        let table: &[[f32; 4]] = match self {
            ColorMap::Magma => &MAGMA,
            ColorMap::Blues => &BLUES,
        };
        lerp_table(table, t.clamp(0.0, 1.0))
    }
}

fn lerp_table(table: &[[f32; 4]], t: f32) -> RGBColor {
    let upper = table
        .iter()
        .position(|row| row[0] >= t)
        .unwrap_or(table.len() - 1)
        .max(1);
    let (a, b) = (table[upper - 1], table[upper]);
    let span = b[0] - a[0];
    let w = if span > 0.0 {
        ((t - a[0]) / span).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let channel = |i: usize| {
        ((a[i] + (b[i] - a[i]) * w) * 255.0)
            .round()
            .clamp(0.0, 255.0) as u8
    };
    RGBColor(channel(1), channel(2), channel(3))
}

/// Maps values to [0, 1] between the finite minimum and maximum of a data set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Normalizer {
    /// Value drawn with the lowest colour.
    pub(crate) low: f32,
    /// Value drawn with the highest colour.
    pub(crate) high: f32,
    /// `false` when the data had no finite value at all.
    pub(crate) any_finite: bool,
}

impl Normalizer {
    /// Spans the finite values of `data`. A constant array gets a range of width
    /// `max(1, |v| / 1000)` centred on its value (so it draws in the middle colour); no finite values gives `0..1`.
    pub(crate) fn from_data(data: &[f32]) -> Self {
        let (mut low, mut high) = (f32::INFINITY, f32::NEG_INFINITY);
        for &v in data.iter().filter(|v| v.is_finite()) {
            low = low.min(v);
            high = high.max(v);
        }
        if low > high {
            return Normalizer {
                low: 0.0,
                high: 1.0,
                any_finite: false,
            };
        }
        let range = f64::from(high) - f64::from(low);
        let scale = f64::from(low.abs().max(high.abs()).max(1.0));
        if range <= f64::from(f32::EPSILON) * scale {
            let mid = low / 2.0 + high / 2.0;
            let half = (mid.abs() * 1e-3).max(0.5);
            return Normalizer {
                low: mid - half,
                high: mid + half,
                any_finite: true,
            };
        }
        Normalizer {
            low,
            high,
            any_finite: true,
        }
    }

    /// Position of `v` in [0, 1]: -inf maps to 0, +inf to 1, NaN stays NaN.
    pub(crate) fn unit(&self, v: f32) -> f32 {
        if v.is_nan() {
            return f32::NAN;
        }
        let t = (f64::from(v) - f64::from(self.low)) / (f64::from(self.high) - f64::from(self.low));
        t.clamp(0.0, 1.0) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magma_endpoints_and_middle() {
        assert_eq!(ColorMap::Magma.at(0.0), RGBColor(0, 0, 4));
        assert_eq!(ColorMap::Magma.at(1.0), RGBColor(252, 253, 191));
        // matplotlib: magma(128) = #b73779
        assert_eq!(ColorMap::Magma.at(128.0 / 255.0), RGBColor(183, 55, 121));
        assert_eq!(ColorMap::Magma.at(-3.0), ColorMap::Magma.at(0.0));
        assert_eq!(ColorMap::Magma.at(7.0), ColorMap::Magma.at(1.0));
        assert_eq!(ColorMap::Magma.at(f32::NAN), MISSING);
    }

    #[test]
    fn magma_gets_brighter() {
        let luma = |c: RGBColor| {
            0.2126 * f32::from(c.0) + 0.7152 * f32::from(c.1) + 0.0722 * f32::from(c.2)
        };
        let mut prev = -1.0;
        for i in 0..=100 {
            let l = luma(ColorMap::Magma.at(i as f32 / 100.0));
            assert!(l >= prev, "luma not monotone at {i}");
            prev = l;
        }
    }

    #[test]
    fn blues_endpoints() {
        assert_eq!(ColorMap::Blues.at(0.0), RGBColor(247, 251, 255));
        assert_eq!(ColorMap::Blues.at(1.0), RGBColor(8, 48, 107));
    }

    #[test]
    fn normalizer_handles_degenerate_data() {
        let n = Normalizer::from_data(&[f32::NAN, -2.0, f32::NEG_INFINITY, 6.0]);
        assert_eq!((n.low, n.high, n.any_finite), (-2.0, 6.0, true));
        assert_eq!(n.unit(2.0), 0.5);
        assert_eq!(n.unit(f32::NEG_INFINITY), 0.0);
        assert_eq!(n.unit(f32::INFINITY), 1.0);
        assert!(n.unit(f32::NAN).is_nan());

        let c = Normalizer::from_data(&[3.0; 5]);
        assert_eq!((c.low, c.high), (2.5, 3.5));
        assert_eq!(c.unit(3.0), 0.5);

        let none = Normalizer::from_data(&[f32::NAN]);
        assert!(!none.any_finite);
        let empty = Normalizer::from_data(&[]);
        assert!(!empty.any_finite);

        let big = Normalizer::from_data(&[1e30; 3]);
        assert_eq!(big.unit(1e30), 0.5);

        let huge = Normalizer::from_data(&[f32::MIN, f32::MAX]);
        assert_eq!(huge.unit(0.0), 0.5);
    }
}
