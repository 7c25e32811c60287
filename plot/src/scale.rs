//! Axis scales: the frequency axis (linear or Slaney Mel) and tick formatting.

use std::ops::Range;

use auscult_audio::MelScale;

use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};

/// Hz to Mel, Slaney's formula (librosa's default, `htk=False`), as the audio crate's filter
/// banks use it: linear below 1 kHz (200/3 Hz per Mel), logarithmic above.
pub fn hz_to_mel(hz: f64) -> f64 {
    auscult_audio::hz_to_mel(hz, MelScale::Slaney)
}

/// Mel to Hz, the inverse of [`hz_to_mel`].
pub fn mel_to_hz(mel: f64) -> f64 {
    auscult_audio::mel_to_hz(mel, MelScale::Slaney)
}

/// A frequency axis in Hz, drawn linearly in Hz or in Slaney Mel.
///
/// Values are Hz; ticks fall on round frequencies (500, 1000, 2000, ...).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FrequencyAxis {
    f_min: f64,
    f_max: f64,
    mel: bool,
}

impl FrequencyAxis {
    /// `f_min < f_max`, both finite and `f_min >= 0` (checked by the caller).
    pub(crate) fn new(f_min: f64, f_max: f64, mel: bool) -> Self {
        FrequencyAxis { f_min, f_max, mel }
    }

    fn warp(&self, hz: f64) -> f64 {
        if self.mel { hz_to_mel(hz) } else { hz }
    }

    /// Position of `hz` along the axis, 0 at `f_min` and 1 at `f_max`.
    pub(crate) fn position(&self, hz: f64) -> f64 {
        let (lo, hi) = (self.warp(self.f_min), self.warp(self.f_max));
        (self.warp(hz) - lo) / (hi - lo)
    }

    /// Round frequencies inside the range, at least `1 / max_points` of the axis apart.
    pub(crate) fn ticks(&self, max_points: usize) -> Vec<f64> {
        if max_points == 0 {
            return Vec::new();
        }
        if !self.mel {
            return linear_ticks(self.f_min, self.f_max, max_points);
        }
        const TIERS: [&[f64]; 4] = [
            &[0.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0, 32000.0],
            &[250.0, 750.0, 1500.0, 3000.0, 6000.0, 12000.0, 24000.0],
            &[
                100.0, 200.0, 300.0, 400.0, 600.0, 700.0, 800.0, 900.0, 5000.0, 10000.0, 20000.0,
            ],
            &[50.0, 150.0, 2500.0, 3500.0, 7000.0, 14000.0],
        ];
        let min_gap = 1.0 / max_points as f64 - 1e-9;
        let eps = (self.f_max - self.f_min) * 1e-9;
        let mut picked: Vec<(f64, f64)> = Vec::new(); // (position, hz)
        for tier in TIERS {
            for &hz in tier {
                if hz < self.f_min - eps || hz > self.f_max + eps {
                    continue;
                }
                let p = self.position(hz);
                if picked.iter().all(|&(q, _)| (p - q).abs() >= min_gap) {
                    picked.push((p, hz));
                }
            }
        }
        if picked.len() < 2 {
            return linear_ticks(self.f_min, self.f_max, max_points);
        }
        picked.sort_by(|a, b| a.0.total_cmp(&b.0));
        picked.into_iter().map(|(_, hz)| hz).collect()
    }
}

impl Ranged for FrequencyAxis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let p = self.position(*value);
        let px = f64::from(limit.0) + f64::from(limit.1 - limit.0) * p;
        px.round().clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Light grid lines reuse the bold (labelled) positions.
        self.ticks(hint.bold_points())
    }

    fn range(&self) -> Range<f64> {
        self.f_min..self.f_max
    }
}

impl ValueFormatter<f64> for FrequencyAxis {
    fn format_ext(&self, value: &f64) -> String {
        format_tick(*value)
    }
}

/// A linear axis whose ticks are [`linear_ticks`], so labels drawn by this crate line up
/// with the tick marks plotters draws.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LinearAxis {
    low: f64,
    high: f64,
}

impl LinearAxis {
    /// `low < high`, both finite (checked by the caller).
    pub(crate) fn new(low: f64, high: f64) -> Self {
        LinearAxis { low, high }
    }

    /// Up to `max_points` round ticks inside the range.
    pub(crate) fn ticks(&self, max_points: usize) -> Vec<f64> {
        linear_ticks(self.low, self.high, max_points)
    }
}

impl Ranged for LinearAxis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let p = (value - self.low) / (self.high - self.low);
        let px = f64::from(limit.0) + f64::from(limit.1 - limit.0) * p;
        px.round().clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        self.ticks(hint.bold_points())
    }

    fn range(&self) -> Range<f64> {
        self.low..self.high
    }
}

impl ValueFormatter<f64> for LinearAxis {
    fn format_ext(&self, value: &f64) -> String {
        format_tick(*value)
    }
}

/// Up to `max_points` ticks at multiples of a round step (1, 2, 2.5 or 5 times a power of 10).
pub(crate) fn linear_ticks(low: f64, high: f64, max_points: usize) -> Vec<f64> {
    if !(low.is_finite() && high.is_finite()) || high <= low || max_points == 0 {
        return Vec::new();
    }
    let rough = (high - low) / max_points as f64;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= rough)
        .unwrap_or(10.0 * magnitude);
    let first = (low / step).ceil() as i64;
    let last = (high / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// Short tick label: integers without decimals, otherwise up to 4 decimals with trailing
/// zeros removed, scientific notation for very small or very large magnitudes.
pub(crate) fn format_tick(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e6).contains(&a) {
        return format!("{v:.1e}");
    }
    if v == v.round() {
        return format!("{}", v.round() as i64);
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_mel_matches_librosa() {
        // python: librosa.hz_to_mel([0, 500, 1000, 8000]) -> [0, 7.5, 15, 45.245640471924965]
        assert_eq!(hz_to_mel(0.0), 0.0);
        assert!((hz_to_mel(500.0) - 7.5).abs() < 1e-12);
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(8000.0) - 45.245640471924965).abs() < 1e-9);
        for hz in [0.0, 37.0, 999.0, 1000.0, 4321.0, 22050.0] {
            assert!(
                (mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9 * hz.max(1.0),
                "{hz}"
            );
        }
    }

    #[test]
    fn mel_ticks_are_round_ordered_and_spaced() {
        let axis = FrequencyAxis::new(0.0, 8000.0, true);
        let ticks = axis.ticks(8);
        assert!(ticks.len() >= 5, "{ticks:?}");
        assert!(
            ticks.contains(&0.0) && ticks.contains(&1000.0) && ticks.contains(&8000.0),
            "{ticks:?}"
        );
        for w in ticks.windows(2) {
            assert!(
                axis.position(w[1]) - axis.position(w[0]) >= 1.0 / 8.0 - 1e-9,
                "{ticks:?}"
            );
        }
        // Mel spreads low frequencies: 1 kHz is a third of the way up to 8 kHz.
        assert!((axis.position(1000.0) - 15.0 / 45.245640471924965).abs() < 1e-12);
    }

    #[test]
    fn narrow_mel_range_falls_back_to_linear_ticks() {
        let ticks = FrequencyAxis::new(3100.0, 3400.0, true).ticks(6);
        assert!(ticks.len() >= 2, "{ticks:?}");
        assert!(ticks.iter().all(|&t| (3100.0..=3400.0).contains(&t)));
    }

    #[test]
    fn linear_ticks_use_round_steps() {
        assert_eq!(
            linear_ticks(0.0, 10.0, 5),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(linear_ticks(0.0, 1.0, 4), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert!(linear_ticks(1.0, 1.0, 4).is_empty());
        assert!(linear_ticks(0.0, f64::NAN, 4).is_empty());
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(format_tick(1000.0), "1000");
        assert_eq!(format_tick(0.25), "0.25");
        assert_eq!(format_tick(0.1 + 0.2), "0.3");
        assert_eq!(format_tick(-0.00001), "-1.0e-5");
        assert_eq!(format_tick(-0.0), "0");
    }
}
