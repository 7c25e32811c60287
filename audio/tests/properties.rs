//! Property tests of the audio front end's contracts: the resampler's output length, the
//! frame count of a (log-)Mel spectrogram, and the `.npy` round trip.

#![allow(clippy::unwrap_used)]

use auscult_audio::{
    MelConfig, MelSpectrogram, read_npy_f32, resample, resampled_len, write_npy_f32,
};
use proptest::prelude::*;

/// A seeded, bounded signal of `n` samples (values in [-1, 1]).
fn signal(n: usize, seed: u32) -> Vec<f32> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x as f32 / u32::MAX as f32) * 2.0 - 1.0
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any pair of rates from 1 kHz to 48 kHz: `ceil(n * to / from)` finite samples, and the
    /// rates equal give the input back.
    #[test]
    fn resampling_returns_the_promised_length(
        from in 1_000u32..48_000,
        to in 1_000u32..48_000,
        n in 0usize..4_000,
        seed: u32,
    ) {
        let x = signal(n, seed);
        let y = resample(&x, from, to).unwrap();
        prop_assert_eq!(y.len(), resampled_len(n, from, to));
        prop_assert!(y.iter().all(|v| v.is_finite()));
        prop_assert_eq!(resample(&x, from, from).unwrap(), x);
    }

    /// A centred spectrogram has `1 + n / hop` frames, an uncentred one
    /// `1 + (n - n_fft) / hop` (none shorter than a frame), each of `n_mels` finite values.
    #[test]
    fn spectrogram_frame_counts_follow_the_formula(
        log_n_fft in 6u32..10,
        hop in 16usize..400,
        n_mels in 4usize..40,
        n in 0usize..6_000,
        center: bool,
        seed: u32,
    ) {
        let n_fft = 1usize << log_n_fft;
        let mut cfg = MelConfig::librosa(8_000);
        cfg.n_fft = n_fft;
        cfg.win_length = n_fft;
        cfg.hop_length = hop;
        cfg.n_mels = n_mels;
        cfg.center = center;
        let spec = MelSpectrogram::new(&cfg).unwrap().compute(&signal(n, seed));
        let expected = if center {
            1 + n / hop
        } else if n >= n_fft {
            1 + (n - n_fft) / hop
        } else {
            0
        };
        prop_assert_eq!(spec.n_frames, expected);
        prop_assert_eq!(spec.n_bins, n_mels);
        prop_assert_eq!(spec.data.len(), n_mels * expected);
        prop_assert!(spec.data.iter().all(|v| v.is_finite()));
    }

    /// What `write_npy_f32` writes, `read_npy_f32` reads back bit for bit, with its shape.
    #[test]
    fn npy_round_trips(
        shape in proptest::collection::vec(0usize..6, 0..4),
        values in proptest::collection::vec(any::<f32>(), 0..200),
    ) {
        let len: usize = shape.iter().product();
        let data: Vec<f32> = (0..len).map(|i| values.get(i).copied().unwrap_or(i as f32)).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        write_npy_f32(&path, &data, &shape).unwrap();
        let (back, back_shape) = read_npy_f32(&path).unwrap();
        prop_assert_eq!(back_shape, shape);
        prop_assert_eq!(
            back.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            data.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }
}
