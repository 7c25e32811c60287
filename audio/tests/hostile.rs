//! Every file of the hostile corpus decodes (the valid oddities) or gives an error that names
//! the file; none panics (not even inside Symphonia, where a panic would be caught and
//! reported as "the decoder failed"), none hangs.

use std::sync::mpsc;
use std::time::Duration;

use auscult_audio::{MelConfig, MelSpectrogram, decode_file, hostile, resample};

#[test]
fn hostile_corpus_errors_name_the_file_and_nothing_panics() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = hostile::write_corpus(dir.path()).unwrap();
    assert!(corpus.len() >= 20);
    for file in corpus {
        let path = file.path.clone();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let result = std::panic::catch_unwind(|| {
                decode_file(&path).map(|d| {
                    // The rest of the front end on what decoded.
                    let x = resample(&d.samples, d.sample_rate, 4000).unwrap();
                    let mut mel = MelSpectrogram::new(&MelConfig {
                        n_fft: 256,
                        win_length: 256,
                        hop_length: 64,
                        n_mels: 32,
                        ..MelConfig::librosa(4000)
                    })
                    .unwrap();
                    (d.info.channels, mel.compute(&x).n_frames)
                })
            });
            let _ = tx.send(result.map_err(|_| ()));
        });
        let name = file.path.file_name().unwrap().to_string_lossy().to_string();
        let outcome = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("{name} ({}): no answer within 60 s", file.what));
        let result = outcome.unwrap_or_else(|()| panic!("{name} ({}): panicked", file.what));
        match (file.valid, result) {
            (true, Ok((channels, frames))) => {
                assert!(
                    channels >= 1 && frames >= 1,
                    "{name}: {channels} ch, {frames} frames"
                );
            }
            (true, Err(e)) => panic!("{name} ({}) should decode: {e}", file.what),
            (false, Ok(_)) => panic!("{name} ({}) should be rejected", file.what),
            (false, Err(e)) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(&name),
                    "{name}: the error does not name it: {msg}"
                );
                assert!(
                    !msg.contains("decoder failed"),
                    "{name}: Symphonia panicked (caught): {msg}"
                );
            }
        }
    }
}

#[test]
fn header_errors_say_which_field() {
    let dir = tempfile::tempdir().unwrap();
    hostile::write_corpus(dir.path()).unwrap();
    for (name, field) in [
        ("rate-zero.wav", "sample rate = 0 Hz"),
        ("rate-huge.wav", "sample rate = 4294967295 Hz"),
        ("channels-zero.wav", "channels = 0"),
        ("bits-zero.wav", "bits per sample = 0"),
    ] {
        let e = decode_file(dir.path().join(name)).unwrap_err().to_string();
        assert!(e.contains(field), "{name}: {e}");
    }
}

#[test]
fn resampler_refuses_ratios_that_would_need_huge_ffts() {
    let x = vec![0.0f32; 100];
    // 1048583 is prime: 1048583:16000 cannot be reduced.
    let e = resample(&x, 1_048_583, 16_000).unwrap_err().to_string();
    assert!(e.contains("finer than the resampler supports"), "{e}");
    assert_eq!(resample(&x, 1_000_003, 4000).unwrap().len(), 1);
}
