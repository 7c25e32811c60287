//! One breathing cycle per example: the generator models the cycle, the repetition is added.
//!
//! The classifier's front end pads every cycle shorter than the example by *repeating* it
//! (Patch-Mix CL's convention), so a real example is one cycle tiled two or three times. An
//! autoregressive prior that had to learn that repetition from a few hundred examples did not:
//! its samples drifted after the first cycle and never repeated. The VQ-VAE therefore learns
//! examples cut with *zero* padding (the cycle centred in silence, [`CyclePadding::Zero`]), the
//! prior learns one cycle framed by silence, and [`as_presented`] turns such a spectrogram
//! into the repeat-padded example the classifier sees: it finds the cycle between the silent
//! frames and tiles it from the first frame on. Real training examples pass through the same
//! function wherever they are compared with generated ones (reference statistics, texture).

use std::ops::Range;

use auscult_datasets::{CyclePadding, ExampleConfig};

use crate::data::LogMel;

/// A frame counts as silent when its mean over the Mel bins lies less than this many dB above
/// the quietest frame's (zero padding sits at the `top_db` floor, a cycle's quiet frames
/// 15-30 dB above it; the decoder renders silence within a few dB of the floor, though single
/// pixels overshoot, which is why frame means and not pixels set the floor).
pub const SILENCE_MARGIN_DB: f32 = 10.0;

/// The frames between the leading and the trailing silent frames of a dB spectrogram
/// `[n_mels][n_frames]`, or `None` when no frame is silent at either end (a cycle as long as
/// the example) or fewer than two frames are not silent.
pub fn cycle_span(db: &[f32], n_mels: usize, n_frames: usize) -> Option<Range<usize>> {
    if n_mels == 0 || n_frames == 0 || db.len() != n_mels * n_frames {
        return None;
    }
    let means: Vec<f32> = (0..n_frames)
        .map(|t| (0..n_mels).map(|m| db[m * n_frames + t]).sum::<f32>() / n_mels as f32)
        .collect();
    let floor = means.iter().copied().fold(f32::INFINITY, f32::min);
    let loud: Vec<bool> = means
        .iter()
        .map(|&mean| mean >= floor + SILENCE_MARGIN_DB)
        .collect();
    let start = loud.iter().position(|&l| l)?;
    let end = n_frames - loud.iter().rev().position(|&l| l)?;
    if end - start < 2 || (start == 0 && end == n_frames) {
        return None;
    }
    Some(start..end)
}

/// The frames `span` of `db` (`[n_mels][n_frames]`) tiled from frame 0 until `n_frames`
/// frames are filled, as repeat padding does to the waveform.
pub fn tile(db: &[f32], n_mels: usize, n_frames: usize, span: Range<usize>) -> Vec<f32> {
    let len = span.len().max(1);
    let mut out = vec![0f32; n_mels * n_frames];
    for m in 0..n_mels {
        let row = &db[m * n_frames..(m + 1) * n_frames];
        for (t, v) in out[m * n_frames..(m + 1) * n_frames].iter_mut().enumerate() {
            *v = row[span.start + t % len];
        }
    }
    out
}

/// The shifts, in frames (positive: later), that keep the cycle of a zero-padded example
/// inside it: from minus its leading to plus its trailing silent frames. `None` where
/// [`cycle_span`] finds no cycle in silence.
pub fn shift_range(
    db: &[f32],
    n_mels: usize,
    n_frames: usize,
) -> Option<std::ops::RangeInclusive<isize>> {
    let span = cycle_span(db, n_mels, n_frames)?;
    Some(-(span.start as isize)..=(n_frames - span.end) as isize)
}

/// `db` (`[n_mels][n_frames]`) with its frames moved `shift` frames later (earlier when
/// negative), wrapping around. Within [`shift_range`] only silence wraps, so the cycle moves
/// through its silence unchanged: the same example, placed differently on the code grid.
pub fn shift_frames(db: &[f32], n_mels: usize, n_frames: usize, shift: isize) -> Vec<f32> {
    let mut out = vec![0f32; db.len()];
    if n_frames == 0 {
        return out;
    }
    let s = shift.rem_euclid(n_frames as isize) as usize;
    for m in 0..n_mels.min(db.len() / n_frames) {
        let row = &db[m * n_frames..(m + 1) * n_frames];
        let dst = &mut out[m * n_frames..(m + 1) * n_frames];
        dst[s..].copy_from_slice(&row[..n_frames - s]);
        dst[..s].copy_from_slice(&row[n_frames - s..]);
    }
    out
}

/// Whether examples cut with `examples` hold one cycle in silence, which [`as_presented`]
/// turns into repeat-padded ones.
pub fn is_zero_padded(examples: &ExampleConfig) -> bool {
    examples.pad == CyclePadding::Zero
}

/// The example as the classifier's repeat-padded front end presents it: for zero-padded
/// examples, the cycle between the silent frames tiled over the whole length; otherwise, and
/// when no silence frames the cycle, `db` unchanged. `db` is `[n_mels][n_frames]` in dB.
pub fn as_presented(
    db: &[f32],
    n_mels: usize,
    n_frames: usize,
    examples: &ExampleConfig,
) -> Vec<f32> {
    if !is_zero_padded(examples) {
        return db.to_vec();
    }
    match cycle_span(db, n_mels, n_frames) {
        Some(span) => tile(db, n_mels, n_frames, span),
        None => db.to_vec(),
    }
}

/// Real examples and their reconstructions (or any spectrograms aligned with them) as
/// presented: each pair tiled over the span found in the real example, which is exact where
/// the reconstruction's silence is only approximately silent. Both dB `[n_mels][n_frames]`.
pub fn present_pairs(
    real: &[LogMel],
    modelled: &[Vec<f32>],
    n_mels: usize,
    n_frames: usize,
    examples: &ExampleConfig,
) -> (Vec<LogMel>, Vec<Vec<f32>>) {
    real.iter()
        .zip(modelled)
        .map(|(x, y)| {
            let span = is_zero_padded(examples)
                .then(|| cycle_span(&x.data, n_mels, n_frames))
                .flatten();
            match span {
                Some(span) => (
                    LogMel {
                        data: tile(&x.data, n_mels, n_frames, span.clone()),
                        label: x.label,
                    },
                    tile(y, n_mels, n_frames, span),
                ),
                None => (x.clone(), y.clone()),
            }
        })
        .unzip()
}

/// Real examples as presented (see [`as_presented`]).
pub fn present_all(
    real: &[LogMel],
    n_mels: usize,
    n_frames: usize,
    examples: &ExampleConfig,
) -> Vec<LogMel> {
    real.iter()
        .map(|x| LogMel {
            data: as_presented(&x.data, n_mels, n_frames, examples),
            label: x.label,
        })
        .collect()
}

/// The example config the classifier's front end uses for what [`as_presented`] returns:
/// `examples` with repeat padding.
pub fn presented_examples(examples: &ExampleConfig) -> ExampleConfig {
    ExampleConfig {
        pad: CyclePadding::Repeat,
        ..examples.clone()
    }
}

/// The plan tokens of one sequence of `seq_len` codes over `columns` time columns (raster
/// order, time outer) whose cycle occupies the columns `cycle`: token 0 for the columns before
/// the cycle, `columns + 1` for those after it, and within it the number of cycle columns
/// left, this one included (`cycle.end - column`). Position `i` (which predicts code `i`)
/// carries the token of code `i`'s column, so the prior always knows how much of the cycle
/// remains. An empty or out-of-range `cycle` is clamped to the grid.
pub fn plan_tokens(columns: usize, seq_len: usize, cycle: std::ops::Range<usize>) -> Vec<usize> {
    let per = seq_len / columns.max(1);
    let end = cycle.end.min(columns);
    let start = cycle.start.min(end);
    (0..seq_len)
        .map(|i| {
            let col = i / per.max(1);
            if col < start {
                0
            } else if col >= end {
                columns + 1
            } else {
                end - col
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use auscult_audio::{MelConfig, MelSpectrogram};
    use auscult_datasets::{default_examples, default_mel, fit_cycle};

    /// A 1.5 s noisy "cycle" at 8 kHz with an envelope.
    fn cycle() -> Vec<f32> {
        let sr = 8000.0;
        let mut state = 12345u32;
        (0..12_000)
            .map(|i| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                let t = i as f32 / sr;
                let env = (std::f32::consts::PI * t / 1.5).sin().max(0.05);
                0.3 * env * noise + 0.1 * (2.0 * std::f32::consts::PI * 400.0 * t).sin()
            })
            .collect()
    }

    fn log_mel(samples: &[f32], mel: &MelConfig) -> Vec<f32> {
        MelSpectrogram::new(mel).unwrap().compute(samples).data
    }

    #[test]
    fn finds_the_cycle_in_zero_padding_and_tiles_it_like_repeat_padding() {
        let mel = default_mel();
        let zero = ExampleConfig {
            pad: CyclePadding::Zero,
            ..default_examples()
        };
        let repeat = presented_examples(&zero);
        assert_eq!(repeat.pad, CyclePadding::Repeat);
        let c = cycle();
        let z = log_mel(&fit_cycle(&c, &zero), &mel);
        let r = log_mel(&fit_cycle(&c, &repeat), &mel);
        let (m, f) = (mel.n_mels, z.len() / mel.n_mels);
        // 1.5 s centred in 4 s: 1.25 s of silence, about 39 frames, on each side.
        let span = cycle_span(&z, m, f).expect("a span");
        assert!(
            (36..=41).contains(&span.start) && (f - 41..=f - 36).contains(&span.end),
            "{span:?} of {f}"
        );
        let tiled = as_presented(&z, m, f, &zero);
        // Against the real repeat-padded example: the cycle (46.9 hops) does not repeat on
        // the hop grid, so each repetition's frames see other slices of the noise (the
        // periodogram's texture, a few dB per pixel), but the band profile matches.
        let mae = tiled
            .iter()
            .zip(&r)
            .map(|(a, b)| (a - b).abs())
            .sum::<f32>()
            / r.len() as f32;
        let mae_zero = z.iter().zip(&r).map(|(a, b)| (a - b).abs()).sum::<f32>() / r.len() as f32;
        assert!(
            mae < 4.0 && mae_zero > 10.0,
            "tiled {mae} dB, zero {mae_zero} dB"
        );
        let profile = |x: &[f32]| -> Vec<f32> {
            x.chunks(f)
                .map(|row| row.iter().sum::<f32>() / f as f32)
                .collect()
        };
        let worst = profile(&tiled)
            .iter()
            .zip(profile(&r))
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1.5, "band profile off by {worst} dB");
        // The tiled example starts with the cycle and repeats it with its period.
        let len = span.len();
        for mm in [5, 30] {
            assert_eq!(tiled[mm * f], z[mm * f + span.start]);
            assert_eq!(tiled[mm * f + len], tiled[mm * f]);
        }
        // Repeat-padded examples pass unchanged. A cycle as long as the example has no
        // silence; at most its faded first and last frames are taken for silence.
        assert_eq!(as_presented(&r, m, f, &repeat), r);
        let long: Vec<f32> = c.iter().chain(&c).chain(&c).copied().collect();
        let full = log_mel(&fit_cycle(&long, &zero), &mel);
        if let Some(span) = cycle_span(&full, m, f) {
            assert!(span.start <= 2 && span.end >= f - 2, "{span:?} of {f}");
        }
    }

    #[test]
    fn shifting_moves_the_cycle_through_its_silence() {
        // 2 bins x 8 frames: silence (-80) around a 3-frame cycle at frames 2..5.
        let mut db = vec![-80.0f32; 16];
        for m in 0..2 {
            for t in 2..5 {
                db[m * 8 + t] = (10 * m + t) as f32;
            }
        }
        assert_eq!(cycle_span(&db, 2, 8), Some(2..5));
        assert_eq!(shift_range(&db, 2, 8), Some(-2..=3));
        let later = shift_frames(&db, 2, 8, 3);
        assert_eq!(cycle_span(&later, 2, 8), Some(5..8));
        assert_eq!(&later[13..16], &db[10..13]);
        let earlier = shift_frames(&db, 2, 8, -2);
        assert_eq!(&earlier[0..3], &db[2..5]);
        // The same cycle either way, once presented.
        let z = ExampleConfig {
            pad: CyclePadding::Zero,
            ..default_examples()
        };
        assert_eq!(as_presented(&later, 2, 8, &z), as_presented(&db, 2, 8, &z));
        assert_eq!(shift_frames(&db, 2, 8, 8), db);
    }

    #[test]
    fn silence_only_and_bad_shapes_give_no_span() {
        assert_eq!(cycle_span(&[0.0; 20], 4, 5), None);
        assert_eq!(cycle_span(&[0.0; 19], 4, 5), None);
        // One loud frame is too short to be a cycle.
        let mut db = vec![-80.0f32; 20];
        for m in 0..4 {
            db[m * 5 + 2] = 0.0;
        }
        assert_eq!(cycle_span(&db, 4, 5), None);
        for m in 0..4 {
            db[m * 5 + 3] = 0.0;
        }
        assert_eq!(cycle_span(&db, 4, 5), Some(2..4));
        let t = tile(&db, 4, 5, 2..4);
        assert_eq!(&t[..5], &[0.0; 5]);
    }

    #[test]
    fn plan_tokens_by_hand() {
        // 4 columns of 2 codes; the cycle in columns 1..3.
        assert_eq!(plan_tokens(4, 8, 1..3), vec![0, 0, 2, 2, 1, 1, 5, 5]);
        // A cycle over the whole grid counts down from 4; out-of-range ends are clamped.
        assert_eq!(plan_tokens(4, 4, 0..9), vec![4, 3, 2, 1]);
        let (start, end) = (3, 2);
        assert_eq!(plan_tokens(4, 4, start..end), vec![0, 0, 5, 5]);
    }
}
