//! Logarithmic compression of power spectrograms: librosa's `power_to_db`, Kaldi's natural
//! log with a floor, and their inverses (for Griffin-Lim).

use serde::{Deserialize, Serialize};

/// How a power (or magnitude) Mel spectrogram is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LogScale {
    /// Linear values, no compression.
    None,
    /// librosa `power_to_db(S, ref=reference, amin, top_db)`:
    /// `10 log10(max(amin, S)) - 10 log10(max(amin, reference))`, then, with `top_db`,
    /// `max(D, max(D) - top_db)` with the maximum over the whole array.
    Db {
        /// Reference power (librosa `ref`, a number; 1.0 gives absolute dB).
        reference: f32,
        /// Smallest power considered (librosa `amin`, 1e-10).
        amin: f32,
        /// Dynamic range kept below the maximum in dB (librosa's 80), or no clipping.
        top_db: Option<f32>,
    },
    /// librosa `power_to_db(S, ref=np.max, amin, top_db)`: dB relative to the array's
    /// maximum (so the maximum is 0 dB).
    DbRefMax {
        /// Smallest power considered.
        amin: f32,
        /// Dynamic range kept below the maximum in dB.
        top_db: Option<f32>,
    },
    /// Natural log with a floor, `ln(max(S, floor))` (Kaldi fbank: floor = f32::EPSILON).
    Ln {
        /// Smallest value before the log.
        floor: f32,
    },
}

impl LogScale {
    /// librosa's default `power_to_db(ref=1.0, amin=1e-10, top_db=80.0)`.
    pub const LIBROSA_DB: LogScale = LogScale::Db {
        reference: 1.0,
        amin: 1e-10,
        top_db: Some(80.0),
    };
}

const DB_PER_LN: f32 = 10.0 / std::f32::consts::LN_10;

/// Natural log of a positive, normal, finite `x`, accurate to a few ulp, written so that
/// loops over slices vectorise (no branches, no libm call).
#[inline(always)]
pub(crate) fn ln_fast(x: f32) -> f32 {
    // Split x = m * 2^e with m in [sqrt(1/2), sqrt(2)).
    const SQRT_HALF_BITS: u32 = 0x3f35_04f3;
    let bits = x.to_bits();
    let e = (bits.wrapping_sub(SQRT_HALF_BITS) as i32) >> 23;
    let m = f32::from_bits(bits.wrapping_sub((e as u32) << 23));
    // ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let p = s2 * (2.0 / 3.0 + s2 * (2.0 / 5.0 + s2 * (2.0 / 7.0 + s2 * (2.0 / 9.0))));
    let e = e as f32;
    // ln 2 split in a high part exact in f32 products and a low correction.
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    e * LN2_HI + (2.0 * s + (s * p + e * LN2_LO))
}

/// Largest value of a slice (NEG_INFINITY when empty), vectorisable.
pub(crate) fn max_of(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            acc[k] = acc[k].max(c[k]);
        }
    }
    rest.iter()
        .chain(acc.iter())
        .fold(f32::NEG_INFINITY, |a, &b| a.max(b))
}

/// Applies `scale` to `data` in place.
pub fn apply_log(data: &mut [f32], scale: &LogScale) {
    log_pointwise(data, scale);
    log_finish(data, scale);
}

/// The element-wise part of `scale` (everything but what needs the whole array's maximum);
/// [`log_finish`] completes it. Split so that blocks can be compressed while in cache.
pub(crate) fn log_pointwise(data: &mut [f32], scale: &LogScale) {
    match *scale {
        LogScale::None => {}
        LogScale::Db {
            reference, amin, ..
        } => {
            let offset = DB_PER_LN * ln_fast(reference.max(amin));
            db_in_place(data, amin, offset);
        }
        LogScale::DbRefMax { amin, .. } => db_in_place(data, amin, 0.0),
        LogScale::Ln { floor } => {
            let floor = floor.max(f32::MIN_POSITIVE);
            for v in data.iter_mut() {
                *v = ln_fast(v.max(floor));
            }
        }
    }
}

/// The whole-array part of `scale`: `top_db` clipping, and the reference of `DbRefMax`.
pub(crate) fn log_finish(data: &mut [f32], scale: &LogScale) {
    match *scale {
        LogScale::Db {
            top_db: Some(top), ..
        } => {
            let floor = max_of(data) - top;
            for v in data.iter_mut() {
                *v = v.max(floor);
            }
        }
        LogScale::DbRefMax { top_db, .. } => {
            // 10 log10(max(amin, S)) - 10 log10(max(amin, max S)) = D1 - max(D1).
            let m = max_of(data);
            let floor = top_db.map_or(f32::NEG_INFINITY, |t| -t);
            for v in data.iter_mut() {
                *v = (*v - m).max(floor);
            }
        }
        _ => {}
    }
}

fn db_in_place(data: &mut [f32], amin: f32, offset: f32) {
    let amin = amin.max(f32::MIN_POSITIVE);
    for v in data.iter_mut() {
        *v = DB_PER_LN * ln_fast(v.max(amin)) - offset;
    }
}

/// Undoes `scale` in place (as far as it can be undone: values clipped by `top_db` or a
/// floor stay at the floor; `DbRefMax` comes back relative to the maximum).
pub fn undo_log(data: &mut [f32], scale: &LogScale) {
    match *scale {
        LogScale::None => {}
        LogScale::Db {
            reference, amin, ..
        } => {
            let r = reference.max(amin);
            for v in data.iter_mut() {
                *v = r * 10f32.powf(*v / 10.0);
            }
        }
        LogScale::DbRefMax { .. } => {
            for v in data.iter_mut() {
                *v = 10f32.powf(*v / 10.0);
            }
        }
        LogScale::Ln { .. } => {
            for v in data.iter_mut() {
                *v = v.exp();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_log_matches_libm() {
        let mut worst = 0.0f64;
        let mut x = 1e-30f32;
        while x < 1e30 {
            let exact = f64::from(x).ln();
            let err = (f64::from(ln_fast(x)) - exact).abs() / exact.abs().max(1.0);
            worst = worst.max(err);
            x *= 1.001_37;
        }
        assert!(worst < 5e-7, "relative error {worst}");
        assert_eq!(ln_fast(1.0), 0.0);
    }

    #[test]
    fn power_to_db_like_librosa() {
        // librosa.power_to_db(np.array([1.0, 1e-3, 1e-12, 100.0]), ref=1.0, amin=1e-10, top_db=80)
        // -> [0., -30., -60., 20.]  (-100 -> clipped at 20 - 80)
        let mut d = vec![1.0, 1e-3, 1e-12, 100.0];
        apply_log(&mut d, &LogScale::LIBROSA_DB);
        for (a, b) in d.iter().zip([0.0, -30.0, -60.0, 20.0]) {
            assert!((a - b).abs() < 1e-4, "{d:?}");
        }
        // ref=np.max, top_db=None -> [-20, -50, -120, 0]
        let mut d = vec![1.0, 1e-3, 1e-12, 100.0];
        apply_log(
            &mut d,
            &LogScale::DbRefMax {
                amin: 1e-10,
                top_db: None,
            },
        );
        for (a, b) in d.iter().zip([-20.0, -50.0, -120.0, 0.0]) {
            assert!((a - b).abs() < 1e-4, "{d:?}");
        }
        let mut d = vec![0.0, 1.0, std::f32::consts::E];
        apply_log(
            &mut d,
            &LogScale::Ln {
                floor: f32::EPSILON,
            },
        );
        assert!(
            (d[0] - f32::EPSILON.ln()).abs() < 1e-6 && d[1] == 0.0 && (d[2] - 1.0).abs() < 1e-6
        );
        undo_log(
            &mut d,
            &LogScale::Ln {
                floor: f32::EPSILON,
            },
        );
        assert!((d[2] - std::f32::consts::E).abs() < 1e-5);
    }
}
