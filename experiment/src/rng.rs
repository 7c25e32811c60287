//! Seeded random streams: every random choice of a run derives from `--seed`.

use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::{Error, Result};

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

/// A generator for one `epoch` of a per-epoch purpose (`stream`) of the run seeded `seed`.
///
/// The key of the generator holds `seed` and `epoch` side by side, so no two
/// `(seed, epoch)` pairs share numbers (with `seed + epoch`, seed 0's epoch 2 drew what seed
/// 1's epoch 1 drew, and a study over consecutive seeds was not over independent seeds).
pub fn epoch_rng(seed: u64, stream: u64, epoch: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&epoch.to_le_bytes());
    // Marks the key as a per-epoch one, apart from every `seeded_rng` key.
    key[16..24].copy_from_slice(b"epochrng");
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(stream);
    rng
}

/// Rebuilds the stream `(seed, stream)` at a position saved by [`rng_position`].
///
/// # Errors
/// [`Error::CheckpointManifest`] naming `state_file` when the position is not a number (a
/// damaged or foreign state): continuing on a restarted stream would silently break
/// reproducibility.
pub fn restore_rng(
    seed: u64,
    stream: u64,
    position: &str,
    state_file: &Path,
) -> Result<ChaCha8Rng> {
    let pos = position
        .parse::<u128>()
        .map_err(|_| Error::CheckpointManifest {
            path: state_file.to_path_buf(),
            reason: format!(
                "random stream {stream} has position {position:?}, which is not a number"
            ),
        })?;
    let mut rng = seeded_rng(seed, stream);
    rng.set_word_pos(pos);
    Ok(rng)
}

/// The stream `(seed, stream)` where a checkpoint left it: at the position saved for it in
/// `saved` (a checkpoint state's `rng_positions`), or at its start when none was saved (a new
/// run, or a stream the checkpoint did not record).
///
/// # Errors
/// As [`restore_rng`].
pub fn resume_rng(
    seed: u64,
    stream: u64,
    saved: &[(u64, String)],
    state_file: &Path,
) -> Result<ChaCha8Rng> {
    match saved.iter().find(|(s, _)| *s == stream) {
        Some((_, position)) => restore_rng(seed, stream, position, state_file),
        None => Ok(seeded_rng(seed, stream)),
    }
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
        let mut restored = restore_rng(3, 5, &pos, Path::new("checkpoint.json")).unwrap();
        assert_eq!(restored.random::<u64>(), next);
        let e = restore_rng(3, 5, "12x", Path::new("checkpoint.json")).unwrap_err();
        assert!(e.to_string().contains("checkpoint.json"), "{e}");
    }

    #[test]
    fn resumed_stream_is_the_saved_one_or_starts_afresh() {
        let mut r = seeded_rng(3, 5);
        let _: u64 = r.random();
        let saved = vec![(5, rng_position(&r)), (6, "0".to_string())];
        let next: u64 = r.random();
        let file = Path::new("checkpoint.json");
        assert_eq!(
            resume_rng(3, 5, &saved, file).unwrap().random::<u64>(),
            next
        );
        // A stream the checkpoint did not record starts at its beginning.
        let fresh: u64 = seeded_rng(3, 7).random();
        assert_eq!(
            resume_rng(3, 7, &saved, file).unwrap().random::<u64>(),
            fresh
        );
        let bad = vec![(5, "x".to_string())];
        assert!(resume_rng(3, 5, &bad, file).is_err());
    }

    #[test]
    fn epoch_streams_of_consecutive_seeds_differ() {
        let first = |seed, epoch| epoch_rng(seed, 4, epoch).random::<u64>();
        // seed 0 epoch 2 against seed 1 epoch 1: once the same numbers, now not.
        assert_ne!(first(0, 2), first(1, 1));
        assert_ne!(first(0, 1), first(1, 0));
        assert_eq!(first(5, 3), first(5, 3));
        assert_ne!(first(5, 3), epoch_rng(5, 5, 3).random::<u64>());
        assert_ne!(first(5, 3), seeded_rng(5, 4).random::<u64>());
    }
}
