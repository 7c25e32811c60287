//! Two statistics of fine spectro-temporal detail in a dB log-Mel spectrogram, to check that
//! reconstructions and generated samples carry their class's detail and not only its envelope:
//!
//! - **tonality** (dB): how far narrow sustained bands rise above their spectral neighbourhood.
//!   The spectrogram is first averaged over 9 frames (a wheeze lasts hundreds of milliseconds,
//!   noise texture changes every frame); in each frame, the residual after a 7-bin running
//!   median over frequency is taken, and its maximum over the Mel bins from `n_mels / 16` to
//!   `11 n_mels / 16` (about 150 Hz to 2 kHz with the default front end: where wheeze tones
//!   and their first harmonics lie, away from the upper band edge that resampled 4 kHz
//!   recordings leave) is the frame's peak prominence. The statistic is the mean over frames.
//!   Wheezes (tones with harmonics) raise it.
//! - **transientness** (dB): how much single frames stand out of their time neighbourhood
//!   across the spectrum. In each frame, the positive residual after a 5-frame running median
//!   over time is averaged over Mel bins; the statistic is the 95th percentile over frames.
//!   Crackles (short broadband clicks) raise it; the breathing envelope, being slow, does not.
//!
//! - **toned** (0 or 1): whether at least [`TONED_WINDOWS`] of the spectrogram's 8-frame
//!   windows hold a tone, a peak at least `TONE_THRESHOLD_DB` above its
//!   neighbourhood over frequency (`tone_track`). Its mean over a set is the
//!   share of examples with a tone: on the demo corpus about half of the real wheeze cycles,
//!   a few percent of the normal ones. Mean tonality mixes how many examples carry a tone
//!   with how strong it is, and also rises with blotchy noise; this counts tones.
//!
//! All are differences of dB values, so they do not depend on the overall level.

use serde::{Deserialize, Serialize};

use crate::analysis::window::{median, window};

/// Detail statistics of one spectrogram, or their mean over a set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DetailStats {
    /// Mean over frames of the largest prominence of a Mel bin (in the tonal band) above the
    /// 7-bin running median of the 9-frame-smoothed spectrum, dB.
    pub tonality_db: f64,
    /// 95th percentile over frames of the mean positive rise of the Mel bins above their 5-frame
    /// running median over time, dB.
    pub transientness_db: f64,
    /// 1 when the spectrogram holds a tone (see the module documentation), else 0; over a set,
    /// the share of examples that do. 0 in statistics written before it existed.
    #[serde(default)]
    pub toned: f64,
}

/// Frames of the windows in which [`DetailStats::toned`] looks for tones (a code column of
/// the default VQ-VAE).
pub const TONED_WINDOW: usize = 8;
/// Windows that must hold a tone for a spectrogram to count as toned.
pub const TONED_WINDOWS: usize = 2;

/// Frames of the time smoothing before measuring tonality.
const TONAL_SMOOTH: usize = 9;
/// Mel bins of the running median over frequency.
const TONAL_MEDIAN: usize = 7;
/// Frames of the running median over time.
const TRANSIENT_MEDIAN: usize = 5;
/// Percentile over frames of the transientness.
const TRANSIENT_PERCENTILE: f64 = 0.95;

/// Detail statistics of `db` (`[n_mels][n_frames]`, row-major, dB). Returns zeros when the
/// shape does not fit.
pub fn detail_stats(db: &[f32], n_mels: usize, n_frames: usize) -> DetailStats {
    if n_mels == 0 || n_frames == 0 || db.len() != n_mels * n_frames {
        return DetailStats::default();
    }
    let at = |f: usize, t: usize| db[f * n_frames + t];

    // Tonality: smooth over time, then peak prominence over frequency per frame.
    let mut smooth = vec![0f32; db.len()];
    for f in 0..n_mels {
        for t in 0..n_frames {
            let r = window(t, TONAL_SMOOTH, n_frames);
            let len = r.len() as f32;
            smooth[f * n_frames + t] = r.map(|u| at(f, u)).sum::<f32>() / len;
        }
    }
    let mut buf = Vec::with_capacity(TONAL_MEDIAN.max(TRANSIENT_MEDIAN));
    let mut tonal_sum = 0f64;
    let band = crate::plan::tone::tonal_band(n_mels);
    for t in 0..n_frames {
        let mut peak = f32::NEG_INFINITY;
        for f in band.clone() {
            buf.clear();
            buf.extend(window(f, TONAL_MEDIAN, n_mels).map(|g| smooth[g * n_frames + t]));
            let prominence = smooth[f * n_frames + t] - median(&mut buf);
            peak = peak.max(prominence);
        }
        tonal_sum += f64::from(peak);
    }

    // Transientness: mean positive rise above the running median over time, per frame.
    let mut rise = vec![0f64; n_frames];
    for f in 0..n_mels {
        for (t, r) in rise.iter_mut().enumerate() {
            buf.clear();
            buf.extend(window(t, TRANSIENT_MEDIAN, n_frames).map(|u| at(f, u)));
            *r += f64::from((at(f, t) - median(&mut buf)).max(0.0));
        }
    }
    rise.iter_mut().for_each(|r| *r /= n_mels as f64);
    rise.sort_unstable_by(f64::total_cmp);
    let idx = ((n_frames - 1) as f64 * TRANSIENT_PERCENTILE).round() as usize;

    let windows = n_frames.div_ceil(TONED_WINDOW);
    let toned = crate::plan::tone::tone_track(
        db,
        n_mels,
        n_frames,
        windows,
        crate::plan::tone::TONE_THRESHOLD_DB,
    )
    .map_or(0, |t| t.iter().flatten().count());

    DetailStats {
        tonality_db: tonal_sum / n_frames as f64,
        transientness_db: rise[idx.min(n_frames - 1)],
        toned: if toned >= TONED_WINDOWS { 1.0 } else { 0.0 },
    }
}

/// Mean detail statistics per class of `(class, dB log-Mel)` pairs: `[classes]`, `None` for a
/// class without examples.
pub fn class_detail_stats<'a>(
    data: impl IntoIterator<Item = (usize, &'a [f32])>,
    classes: usize,
    n_mels: usize,
    n_frames: usize,
) -> Vec<Option<DetailStats>> {
    let mut sums = vec![(DetailStats::default(), 0usize); classes];
    for (c, x) in data {
        if let Some((s, n)) = sums.get_mut(c) {
            let d = detail_stats(x, n_mels, n_frames);
            s.tonality_db += d.tonality_db;
            s.transientness_db += d.transientness_db;
            s.toned += d.toned;
            *n += 1;
        }
    }
    sums.into_iter()
        .map(|(s, n)| {
            let n = n as f64;
            (n > 0.0).then(|| DetailStats {
                tonality_db: s.tonality_db / n,
                transientness_db: s.transientness_db / n,
                toned: s.toned / n,
            })
        })
        .collect()
}

/// The `n x n` running-mean matrix `A` over windows of `w` (clipped at the ends):
/// `(x A)[t] = mean of x[u]` for `u` in the window around `t`; row-major, `A[u][t]`.
pub fn running_mean_matrix(n: usize, w: usize) -> Vec<f32> {
    let mut a = vec![0f32; n * n];
    for t in 0..n {
        let r = window(t, w, n);
        let v = 1.0 / r.len() as f32;
        for u in r {
            a[u * n + t] = v;
        }
    }
    a
}

/// `I - A` for the running mean `A` of [`running_mean_matrix`]: the residual after removing
/// the local mean (a high-pass filter).
pub fn high_pass_matrix(n: usize, w: usize) -> Vec<f32> {
    let mut a = running_mean_matrix(n, w);
    a.iter_mut().for_each(|v| *v = -*v);
    for t in 0..n {
        a[t * n + t] += 1.0;
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Flat 0 dB background with a deterministic +-1 dB texture.
    fn background(m: usize, f: usize) -> Vec<f32> {
        (0..m * f)
            .map(|i| ((i * 7919 % 13) as f32 - 6.0) / 6.0)
            .collect()
    }

    #[test]
    fn a_tone_raises_tonality_and_a_click_raises_transientness() {
        let (m, f) = (32, 60);
        let base = background(m, f);
        let b = detail_stats(&base, m, f);

        let mut tone = base.clone();
        for t in 0..f {
            tone[10 * f + t] += 20.0;
        }
        let d = detail_stats(&tone, m, f);
        // The tone's bin rises 20 dB above a median of background values.
        assert!(d.tonality_db > b.tonality_db + 15.0, "{b:?} {d:?}");
        assert_eq!((b.toned, d.toned), (0.0, 1.0));
        // A tone in one 8-frame window only is not enough.
        let mut short = base.clone();
        for t in 8..16 {
            short[10 * f + t] += 20.0;
        }
        assert_eq!(detail_stats(&short, m, f).toned, 0.0);
        // A steady tone is not a transient.
        assert!(
            (d.transientness_db - b.transientness_db).abs() < 1.0,
            "{b:?} {d:?}"
        );

        let mut clicks = base.clone();
        for t in [10, 25, 40, 55] {
            for bin in 0..m {
                clicks[bin * f + t] += 15.0;
            }
        }
        let c = detail_stats(&clicks, m, f);
        assert!(
            c.transientness_db > b.transientness_db + 10.0,
            "{b:?} {c:?}"
        );
        // Broadband clicks carry no narrow band.
        assert!(c.tonality_db < b.tonality_db + 2.0, "{b:?} {c:?}");
    }

    #[test]
    fn filter_matrices_by_hand() {
        // n = 4, w = 3: out[t] = mean of x over [t-1, t+1] clipped.
        let a = running_mean_matrix(4, 3);
        let x = [1.0f32, 2.0, 3.0, 10.0];
        let y: Vec<f32> = (0..4)
            .map(|t| (0..4).map(|u| x[u] * a[u * 4 + t]).sum())
            .collect();
        let want = [1.5, 2.0, 5.0, 6.5];
        for (g, w) in y.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{y:?}");
        }
        // The high-pass removes constants and keeps x - mean.
        let h = high_pass_matrix(4, 3);
        for t in 0..4 {
            let c: f32 = (0..4).map(|u| 7.0 * h[u * 4 + t]).sum();
            assert!(c.abs() < 1e-5);
            let r: f32 = (0..4).map(|u| x[u] * h[u * 4 + t]).sum();
            assert!((r - (x[t] - want[t])).abs() < 1e-5);
        }
    }

    #[test]
    fn class_means_and_bad_shapes() {
        let (m, f) = (8, 10);
        let a = vec![0f32; m * f];
        let mut b = vec![0f32; m * f];
        b[3 * f + 4] = 8.0;
        let stats = class_detail_stats(
            [(0usize, a.as_slice()), (0, b.as_slice()), (2, a.as_slice())],
            3,
            m,
            f,
        );
        assert!(stats[1].is_none());
        let s0 = stats[0].unwrap();
        let sb = detail_stats(&b, m, f);
        assert!((s0.tonality_db - 0.5 * sb.tonality_db).abs() < 1e-9);
        let mut toned = vec![0f32; m * f];
        (0..f).for_each(|t| toned[3 * f + t] = 10.0);
        let shares = class_detail_stats([(0usize, a.as_slice()), (0, toned.as_slice())], 1, m, f);
        assert_eq!(shares[0].unwrap().toned, 0.5);
        assert_eq!(stats[2].unwrap(), DetailStats::default());
        assert_eq!(detail_stats(&a, m, f + 1), DetailStats::default());
    }
}
