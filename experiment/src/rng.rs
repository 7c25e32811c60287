//! Seeded random streams: every random choice of a run derives from `--seed`.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A ChaCha8 generator for `seed`, on an independent `stream` (use one stream per purpose:
/// sampling order, mixup coefficients, augmentation, ...), so adding draws to one purpose does
/// not shift the others.
pub fn seeded_rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// The word position of a ChaCha stream, as a decimal string (for `state.json`).
pub fn rng_position(rng: &ChaCha8Rng) -> String {
    rng.get_word_pos().to_string()
}

/// Rebuilds the stream `(seed, stream)` at a position saved by [`rng_position`]; an unreadable
/// position restarts the stream.
pub fn restore_rng(seed: u64, stream: u64, position: &str) -> ChaCha8Rng {
    let mut rng = seeded_rng(seed, stream);
    if let Ok(pos) = position.parse::<u128>() {
        rng.set_word_pos(pos);
    }
    rng
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn same_seed_same_stream_same_numbers() {
        let a: Vec<u32> = (0..8)
            .map(|_| 0)
            .scan(seeded_rng(7, 1), |r, _: u32| Some(r.random()))
            .collect();
        let b: Vec<u32> = (0..8)
            .map(|_| 0)
            .scan(seeded_rng(7, 1), |r, _: u32| Some(r.random()))
            .collect();
        let c: Vec<u32> = (0..8)
            .map(|_| 0)
            .scan(seeded_rng(7, 2), |r, _: u32| Some(r.random()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn restored_stream_continues_where_it_stopped() {
        let mut r = seeded_rng(3, 5);
        let _: u64 = r.random();
        let pos = rng_position(&r);
        let next: u64 = r.random();
        let mut restored = restore_rng(3, 5, &pos);
        assert_eq!(restored.random::<u64>(), next);
    }
}
