//! The random streams of a run (`seeded_rng(seed, stream)`), one per kind of draw, and the
//! positions of those the epoch loop advances, saved with every checkpoint so that a resumed
//! run draws what the uninterrupted one would have.

use std::path::Path;

use auscult_experiment::{resume_rng, rng_position};
use rand_chacha::ChaCha8Rng;

use crate::Result;

// Random streams of a run (seeded_rng(seed, stream)).
pub(super) const STREAM_INIT: u64 = 0;
const STREAM_ORDER: u64 = 1;
const STREAM_BALANCED: u64 = 2;
const STREAM_LAMBDA: u64 = 3;
const STREAM_SPEC_AUGMENT: u64 = 4;
const STREAM_DROPOUT: u64 = 5;
pub(super) const STREAM_AUGMENT_SELECT: u64 = 6;
pub(super) const STREAM_OVERSAMPLE: u64 = 7;
pub(super) const STREAM_ADVERSARY_INIT: u64 = 8;
const SAVED_STREAMS: [u64; 5] = [
    STREAM_ORDER,
    STREAM_BALANCED,
    STREAM_LAMBDA,
    STREAM_SPEC_AUGMENT,
    STREAM_DROPOUT,
];

/// The streams the epoch loop draws from.
pub(super) struct Streams {
    pub(super) order: ChaCha8Rng,
    pub(super) balanced: ChaCha8Rng,
    pub(super) lambda: ChaCha8Rng,
    pub(super) spec_augment: ChaCha8Rng,
    pub(super) dropout: ChaCha8Rng,
}

impl Streams {
    /// The streams at the positions `saved` in `state_file` (from the start where none is).
    pub(super) fn new(seed: u64, saved: &[(u64, String)], state_file: &Path) -> Result<Self> {
        let get = |stream: u64| resume_rng(seed, stream, saved, state_file);
        Ok(Self {
            order: get(STREAM_ORDER)?,
            balanced: get(STREAM_BALANCED)?,
            lambda: get(STREAM_LAMBDA)?,
            spec_augment: get(STREAM_SPEC_AUGMENT)?,
            dropout: get(STREAM_DROPOUT)?,
        })
    }

    /// The position of every stream, for the checkpoint.
    pub(super) fn positions(&self) -> Vec<(u64, String)> {
        let all = [
            &self.order,
            &self.balanced,
            &self.lambda,
            &self.spec_augment,
            &self.dropout,
        ];
        SAVED_STREAMS
            .iter()
            .zip(all)
            .map(|(&s, r)| (s, rng_position(r)))
            .collect()
    }
}
