//! Tone tracks: where a cycle's wheeze tone lies on the code grid, so that the prior can be told.
//!
//! A wheeze is a narrow band sustained over hundreds of milliseconds: on the code grid, the
//! same few frequency rows carrying "tone" codes column after column. The prior with only a
//! cycle plan (see `plan_tokens`) had to decide, code by code, to start a tone
//! and then to keep it at the same row; on the demo corpus it rarely did, and generated
//! wheezes had hardly more tonality than normal cycles. A *tone track* makes the decision
//! explicit, the way the cycle plan made the cycle's length explicit:
//!
//! - [`column_peaks`] measures, in each code column of a dB log-Mel, the most prominent Mel
//!   bin of the tonal band: the column's mean spectrum minus its running median over
//!   [`TONE_MEDIAN`] bins (as the tonality statistic of `analysis::detail` does per frame).
//! - [`tone_track`] keeps the columns whose peak rises at least [`TONE_THRESHOLD_DB`] above
//!   its neighbourhood: the tone's Mel bin per column, or none.
//! - [`tone_tokens`] gives every code position a token: 0 where its column has no tone,
//!   otherwise 1 + the position's row offset from the tone's row, clamped to
//!   `±`[`TONE_HALF_WIDTH`] (so the rows below and above the tone each get one token).
//! - [`combine`] folds the tone tokens into the cycle plan's tokens: `cycle + cycle_tokens *
//!   tone`, which a prior with [`PriorConfig::tone_tokens`](crate::PriorConfig::tone_tokens) splits again.
//!
//! Training takes the tracks from the training cycles (at every placement). Generation draws
//! a training cycle of the class, takes its length and its track, places it at random, and
//! moves the track by a random [`TONE_JITTER_BINS`] Mel bins up or down, so that the tones of
//! generated wheezes lie where real ones do without repeating any one cycle's.

use crate::analysis::window::{median, window};
use crate::{Error, Result};

/// A tone track: per code column, the Mel bin of its tone, or `None`.
pub type ToneTrack = Vec<Option<usize>>;

/// A column's peak must rise this many dB above the running median over frequency to count
/// as a tone. On the demo corpus's training cycles (seed 0), it passes 4% of the normal
/// cycles' columns and 20% of the wheeze cycles' (16% of "both"); 7% of the normal cycles
/// and 47% of the wheeze cycles hold at least two tone columns.
pub const TONE_THRESHOLD_DB: f32 = 6.0;

/// Mel bins of the running median over frequency.
pub const TONE_MEDIAN: usize = 7;

/// Code rows each side of the tone's row that get their own offset token.
pub const TONE_HALF_WIDTH: usize = 3;

/// Tone tokens: 0 (no tone in the column) and one per row offset in
/// `-TONE_HALF_WIDTH..=TONE_HALF_WIDTH`.
pub const TONE_TOKENS: usize = 2 * TONE_HALF_WIDTH + 2;

/// Largest random move, in Mel bins, of a drawn tone track at generation.
pub const TONE_JITTER_BINS: i64 = 3;

/// The Mel bins searched for tones: `n_mels / 16 .. 11 n_mels / 16` (as
/// `analysis::detail`'s tonality: about 150 Hz to 2 kHz with the default front end).
pub fn tonal_band(n_mels: usize) -> std::ops::Range<usize> {
    (n_mels / 16)..(n_mels * 11 / 16).max(n_mels / 16 + 1)
}

/// Frames per code column of an `n_frames`-frame example on a grid of `columns` columns.
pub fn frames_per_column(n_frames: usize, columns: usize) -> usize {
    n_frames.div_ceil(columns.max(1)).max(1)
}

/// The most prominent Mel bin of the tonal band in each of `columns` code columns of `db`
/// (`[n_mels][n_frames]`, dB), with its prominence in dB: the column's mean spectrum minus its
/// running median over [`TONE_MEDIAN`] bins. A column beyond the frames gets `(band start,
/// 0.0)`.
///
/// # Errors
/// When `db` does not hold `n_mels x n_frames` values.
pub fn column_peaks(
    db: &[f32],
    n_mels: usize,
    n_frames: usize,
    columns: usize,
) -> Result<Vec<(usize, f32)>> {
    if n_mels == 0 || n_frames == 0 || db.len() != n_mels * n_frames {
        return Err(Error::Shape {
            what: "log-Mel for a tone track",
            expected: vec![n_mels, n_frames],
            actual: vec![db.len()],
        });
    }
    let per = frames_per_column(n_frames, columns);
    let band = tonal_band(n_mels);
    let mut spectrum = vec![0f32; n_mels];
    let mut buf = Vec::with_capacity(TONE_MEDIAN);
    Ok((0..columns)
        .map(|c| {
            let frames = (c * per).min(n_frames)..((c + 1) * per).min(n_frames);
            if frames.is_empty() {
                return (band.start, 0.0);
            }
            for (m, s) in spectrum.iter_mut().enumerate() {
                let row = &db[m * n_frames..(m + 1) * n_frames];
                *s = row[frames.clone()].iter().sum::<f32>() / frames.len() as f32;
            }
            let mut best = (band.start, f32::NEG_INFINITY);
            for m in band.clone() {
                buf.clear();
                buf.extend_from_slice(&spectrum[window(m, TONE_MEDIAN, n_mels)]);
                let prominence = spectrum[m] - median(&mut buf);
                if prominence > best.1 {
                    best = (m, prominence);
                }
            }
            best
        })
        .collect())
}

/// The tone track of `db`: per code column, the Mel bin of its tone, or `None` where its peak
/// ([`column_peaks`]) stays below `threshold_db`.
///
/// # Errors
/// As [`column_peaks`].
pub fn tone_track(
    db: &[f32],
    n_mels: usize,
    n_frames: usize,
    columns: usize,
    threshold_db: f32,
) -> Result<ToneTrack> {
    Ok(column_peaks(db, n_mels, n_frames, columns)?
        .into_iter()
        .map(|(bin, p)| (p >= threshold_db).then_some(bin))
        .collect())
}

/// The tone token of every position of a `seq_len`-code sequence over `track.len()` time
/// columns (raster order, time outer, frequency rows inner, row 0 the lowest): 0 where the
/// column has no tone, otherwise `1 + TONE_HALF_WIDTH + clamp(row - tone_row)`, with the
/// tone's row its Mel bin divided by the Mel bins per row (`n_mels / rows`).
pub fn tone_tokens(track: &[Option<usize>], n_mels: usize, seq_len: usize) -> Vec<usize> {
    let columns = track.len().max(1);
    let rows = (seq_len / columns).max(1);
    let bins_per_row = (n_mels / rows).max(1);
    let h = TONE_HALF_WIDTH as i64;
    (0..seq_len)
        .map(|i| {
            let (col, row) = (i / rows, i % rows);
            match track.get(col).copied().flatten() {
                None => 0,
                Some(bin) => {
                    let offset = (row as i64 - (bin / bins_per_row) as i64).clamp(-h, h);
                    (1 + h + offset) as usize
                }
            }
        })
        .collect()
}

/// The cycle plan's tokens with tone tokens folded in: `cycle[i] + cycle_tokens * tone[i]`.
pub fn combine(cycle: &[usize], tone: &[usize], cycle_tokens: usize) -> Vec<usize> {
    cycle
        .iter()
        .zip(tone)
        .map(|(&c, &t)| c + cycle_tokens * t)
        .collect()
}

/// The plan tokens of a sequence of `seq_len` codes over `columns` time columns whose cycle
/// occupies the columns `cycle` (`plan_tokens`), with the tone tokens of
/// `track` folded in ([`tone_tokens`], [`combine`]) unless `track` is empty (a prior without
/// a tone plan). What training and generation both tell the prior.
pub fn plan(
    columns: usize,
    seq_len: usize,
    cycle: std::ops::Range<usize>,
    track: &[Option<usize>],
    n_mels: usize,
) -> Vec<usize> {
    let cycle = crate::plan::cycle::plan_tokens(columns, seq_len, cycle);
    if track.is_empty() {
        cycle
    } else {
        combine(&cycle, &tone_tokens(track, n_mels, seq_len), columns + 2)
    }
}

/// `track` moved `shift` columns later (earlier when negative); columns moved in from outside
/// have no tone.
pub fn shift_track(track: &[Option<usize>], shift: i64) -> ToneTrack {
    let n = track.len() as i64;
    (0..n)
        .map(|c| {
            let from = c - shift;
            if (0..n).contains(&from) {
                track[from as usize]
            } else {
                None
            }
        })
        .collect()
}

/// `track` with every tone moved `bins` Mel bins (up when positive) and kept inside
/// [`tonal_band`].
pub fn transpose_track(track: &[Option<usize>], bins: i64, n_mels: usize) -> ToneTrack {
    let band = tonal_band(n_mels);
    track
        .iter()
        .map(|t| {
            t.map(|b| (b as i64 + bins).clamp(band.start as i64, band.end as i64 - 1) as usize)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flat -40 dB spectrogram with a 12 dB tone at `bin` over `frames`.
    fn with_tone(m: usize, f: usize, bin: usize, frames: std::ops::Range<usize>) -> Vec<f32> {
        let mut db = vec![-40f32; m * f];
        for t in frames {
            db[bin * f + t] += 12.0;
        }
        db
    }

    #[test]
    fn a_tone_is_found_in_its_columns_only() {
        let (m, f) = (32, 64);
        let db = with_tone(32, 64, 10, 16..40);
        let track = tone_track(&db, m, f, 8, TONE_THRESHOLD_DB).unwrap();
        // Columns of 8 frames: 2, 3, 4 hold the tone fully (12 dB), none elsewhere.
        assert_eq!(
            track,
            vec![None, None, Some(10), Some(10), Some(10), None, None, None]
        );
        let peaks = column_peaks(&db, m, f, 8).unwrap();
        assert!((peaks[3].1 - 12.0).abs() < 1e-4);
        // A tone outside the tonal band (bin 30 of 32) is not searched for.
        let high = with_tone(32, 64, 30, 0..64);
        assert!(
            tone_track(&high, m, f, 8, TONE_THRESHOLD_DB)
                .unwrap()
                .iter()
                .all(Option::is_none)
        );
        assert!(column_peaks(&db[1..], m, f, 8).is_err());
    }

    #[test]
    fn tokens_by_hand() {
        // 2 columns of 8 rows over 16 Mel bins (2 bins per row); a tone at bin 7 (row 3) in
        // column 1 only.
        let tokens = tone_tokens(&[None, Some(7)], 16, 16);
        assert_eq!(&tokens[..8], &[0; 8]);
        // Rows 0..8 against row 3: offsets -3..=4, clamped to 3, plus 1 + 3.
        assert_eq!(&tokens[8..], &[1, 2, 3, 4, 5, 6, 7, 7]);
        assert_eq!(combine(&[1, 2], &[0, 3], 5), vec![1, 17]);
        // The whole plan: cycle in column 1 of 2 (tokens 0 then 1, 4 cycle tokens), tone as
        // above; without a track, the cycle plan alone.
        let full = plan(2, 16, 1..2, &[None, Some(7)], 16);
        assert_eq!(&full[..8], &[0; 8]);
        assert_eq!(full[8], 1 + 4);
        assert_eq!(full[15], 1 + 4 * 7);
        assert_eq!(
            plan(2, 16, 1..2, &[], 16),
            crate::plan::cycle::plan_tokens(2, 16, 1..2)
        );
    }

    #[test]
    fn shifting_and_transposing() {
        let t = [None, Some(4), Some(5)];
        assert_eq!(shift_track(&t, 1), vec![None, None, Some(4)]);
        assert_eq!(shift_track(&t, -1), vec![Some(4), Some(5), None]);
        // 64 bins: band 4..44.
        assert_eq!(transpose_track(&t, -3, 64), vec![None, Some(4), Some(4)]);
        assert_eq!(transpose_track(&t, 2, 64), vec![None, Some(6), Some(7)]);
    }
}
