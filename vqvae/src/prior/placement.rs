//! Where each training cycle sits in its silence: the code grids of its placements, encoded
//! once before training, and the one each epoch trains on.

use std::ops::Range;

use auscult_experiment::epoch_rng;
use rand::seq::IndexedRandom;

use crate::Result;
use crate::data::LogMel;
use crate::plan::tone::ToneTrack;
use crate::vqvae::model::VqVaeModel;

/// Random stream of the placement each epoch trains on (seeded per epoch, so that a resumed
/// run picks what an uninterrupted one would).
const PICK_STREAM: u64 = 11;

/// One training sequence: its codes and, for a prior that takes one, its cycle plan.
#[derive(Debug, Clone)]
pub(crate) struct Sequence {
    /// Code indices, raster order.
    pub(crate) codes: Vec<usize>,
    /// Plan tokens, one per code (empty without a plan).
    pub(crate) plan: Vec<usize>,
}

/// A code grid with the frames of its cycle and its tone track.
pub(crate) struct Placed {
    /// The code grid.
    pub(crate) codes: Vec<usize>,
    /// The frames of its cycle.
    pub(crate) span: Range<usize>,
    /// Its tone track.
    pub(crate) track: ToneTrack,
}

/// Sets each training example to the placement epoch `epoch` trains on (seeded by the run's
/// seed and the epoch alone); nothing without placements.
pub(crate) fn place(
    train: &mut [(usize, Sequence)],
    placements: &[Vec<Sequence>],
    seed: u64,
    epoch: usize,
) {
    if placements.is_empty() {
        return;
    }
    let mut pick = epoch_rng(seed, PICK_STREAM, epoch as u64);
    for (example, choices) in train.iter_mut().zip(placements) {
        if let Some(seq) = choices.choose(&mut pick) {
            example.1.clone_from(seq);
        }
    }
}

/// The code grids of each training cycle at `placements` positions in its silence, with the
/// cycle's frames and tone track (`track_of` the moved log-Mel): the first as cut (`codes`,
/// `tracks`), the others moved by seeded random shifts within `shift_range`
/// and encoded. Empty when `placements < 2` or the examples are not zero-padded; a cycle
/// without silence around it keeps only its own grid.
#[allow(clippy::too_many_arguments)]
pub(crate) fn placed_codes(
    vq: &VqVaeModel,
    train_db: &[LogMel],
    train_spans: &[Range<usize>],
    codes: &[Vec<usize>],
    tracks: &[ToneTrack],
    track_of: &dyn Fn(&[f32]) -> Result<ToneTrack>,
    placements: usize,
    mut rng: rand_chacha::ChaCha8Rng,
) -> Result<Vec<Vec<Placed>>> {
    if placements < 2 || !crate::plan::cycle::is_zero_padded(&vq.config.examples) {
        return Ok(Vec::new());
    }
    let (m, f) = (vq.config.model.n_mels, vq.config.model.n_frames);
    let mut out: Vec<Vec<Placed>> = codes
        .iter()
        .zip(train_spans)
        .zip(tracks)
        .map(|((c, span), track)| {
            vec![Placed {
                codes: c.clone(),
                span: span.clone(),
                track: track.clone(),
            }]
        })
        .collect();
    let mut spans = Vec::new();
    let mut moved = Vec::new();
    let mut owner = Vec::new();
    for (i, (x, span)) in train_db.iter().zip(train_spans).enumerate() {
        // A cycle with no silence around it (`frame_span` gave all frames) stays put.
        if span.len() >= f {
            continue;
        }
        // The shifts that keep it inside (as `crate::plan::cycle::shift_range`).
        let (lo, hi) = (-(span.start as i64), (f - span.end) as i64);
        for _ in 1..placements {
            let shift = rand::Rng::random_range(&mut rng, lo..=hi) as isize;
            spans
                .push((span.start as isize + shift) as usize..(span.end as isize + shift) as usize);
            moved.push(LogMel {
                data: crate::plan::cycle::shift_frames(&x.data, m, f, shift),
                label: x.label,
            });
            owner.push(i);
        }
    }
    let moved_tracks: Vec<ToneTrack> = moved
        .iter()
        .map(|x| track_of(&x.data))
        .collect::<Result<_>>()?;
    for (((i, codes), span), track) in owner
        .into_iter()
        .zip(vq.encode(&moved)?)
        .zip(spans)
        .zip(moved_tracks)
    {
        out[i].push(Placed { codes, span, track });
    }
    Ok(out)
}
