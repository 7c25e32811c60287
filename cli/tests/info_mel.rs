//! `auscult info` and `auscult mel` end to end: real fixtures, golden parity, folders with
//! bad files.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use auscult_audio::read_npy_f32;
use predicates::prelude::*;

/// `testdata/<rel>` of the repository (or `$<var>`), failing plainly when it is missing.
fn testdata(var: &str, rel: &str) -> PathBuf {
    let dir = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata")
            .join(rel)
    });
    assert!(
        dir.is_dir(),
        "test data is missing: looked in {} (it ships in the repository's testdata/{rel}; set \
         {var} to use another copy)",
        dir.display()
    );
    dir
}

fn fixtures() -> PathBuf {
    testdata("AUSCULT_FIXTURES", "fixtures/real")
}

fn golden() -> PathBuf {
    testdata("AUSCULT_GOLDEN", "golden")
}

fn auscult() -> Command {
    Command::cargo_bin("auscult").unwrap()
}

const HEADER_ONLY: &str = "coswara/20200413/TRK6gUseEUS7dbF0soG80W1uLm53/vowel-a.wav";

#[test]
fn info_json_reports_every_file_and_fails_on_unreadable_ones() {
    let db = fixtures().join("icbhi/ICBHI_final_database");
    let out = auscult()
        .arg("info")
        .arg("--json")
        .arg(db.join("102_1b1_Ar_sc_Meditron.wav"))
        .arg(db.join("130_1p3_Ll_mc_AKGC417L.wav"))
        .arg(db.join("104_1b1_Al_sc_Litt3200.wav"))
        .arg(fixtures().join(HEADER_ONLY))
        .assert()
        .failure()
        .code(1)
        .stderr(predicate::str::contains(
            "Error: 1 of 4 files could not be read",
        ))
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let a = v.as_array().unwrap();
    assert_eq!(a.len(), 4);
    let meditron = &a[0];
    assert_eq!(meditron["codec"], "pcm_s16le");
    assert_eq!(meditron["sample_rate"], 44_100);
    assert_eq!(meditron["channels"], 1);
    assert_eq!(meditron["bits_per_sample"], 16);
    assert_eq!(meditron["frames"], 882_000);
    assert_eq!(meditron["duration_s"], 20.0);
    assert_eq!(meditron["clipped_samples"], 0);
    assert!(meditron["peak"].as_f64().unwrap() > 0.05 && meditron["peak"].as_f64().unwrap() < 1.0);
    assert_eq!(a[1]["bits_per_sample"], 24);
    assert_eq!(a[1]["clipped_samples"], 12_470);
    assert_eq!(a[2]["sample_rate"], 4000);
    assert_eq!(a[2]["frames"], 63_424);
    assert!(
        a[2]["path"]
            .as_str()
            .unwrap()
            .ends_with("104_1b1_Al_sc_Litt3200.wav")
    );
    let err = a[3]["error"].as_str().unwrap();
    assert!(
        err.contains("no audio samples") && a[3]["path"].as_str().unwrap().ends_with("vowel-a.wav")
    );
}

#[test]
fn info_text_for_a_good_file() {
    let p = fixtures().join("coswara/20200413/iq8oYXczSjPuJoVS7DBpkGNMC2p1/cough-heavy.wav");
    auscult().arg("info").arg(p).assert().success().stdout(
        predicate::str::contains("48000 Hz").and(predicate::str::contains("233472 frames")),
    );
}

/// Max |a - b| overall and where `b` is within 60 dB of its maximum.
fn db_errors(ours: &[f32], gold: &[f32]) -> (f32, f32) {
    let top = gold.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    ours.iter()
        .zip(gold)
        .fold((0.0f32, 0.0f32), |(all, near), (&a, &b)| {
            let d = (a - b).abs();
            (all.max(d), if b >= top - 60.0 { near.max(d) } else { near })
        })
}

#[test]
fn mel_reproduces_librosa_golden() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("chirp.npy");
    auscult()
        .arg("mel")
        .arg(golden().join("wav/chirp_100_4000_16k.wav"))
        .args([
            "--preset", "librosa", "--n-fft", "1024", "--hop", "160", "--n-mels", "128", "--db",
        ])
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let (ours, shape) = read_npy_f32(&out).unwrap();
    // librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=16000, n_fft=1024,
    //     hop_length=160, n_mels=128, fmin=0.0, fmax=8000.0), ref=1.0, amin=1e-10, top_db=80.0)
    let (gold, gold_shape) = read_npy_f32(
        &golden().join("librosa/chirp_100_4000_16k__nfft1024_hop160_mels128_fmin0.db.npy"),
    )
    .unwrap();
    assert_eq!(shape, gold_shape);
    let (all, near) = db_errors(&ours, &gold);
    assert!(
        all <= 5e-3 && near <= 5e-4,
        "max error {all} dB, within 60 dB of max {near} dB"
    );
}

#[test]
fn mel_kaldi_preset_matches_ast_fbank_in_mel_by_frame_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("k.npy");
    auscult()
        .arg("mel")
        .arg(golden().join("wav/chirp_100_4000_16k.wav"))
        .args(["--preset", "kaldi", "-o"])
        .arg(&out)
        .assert()
        .success();
    let (ours, shape) = read_npy_f32(&out).unwrap();
    let (gold, gold_shape) =
        read_npy_f32(&golden().join("kaldi/chirp_100_4000_16k__fbank_AST_convention.npy")).unwrap();
    assert_eq!(shape, gold_shape); // [128, frames], Kaldi's own layout transposed
    let worst = ours
        .iter()
        .zip(&gold)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= 0.02, "max |ln difference| {worst}");
}

#[test]
fn mel_png_and_resampling() {
    let tmp = tempfile::tempdir().unwrap();
    let png = tmp.path().join("s.png");
    auscult()
        .arg("mel")
        .arg(fixtures().join("icbhi/ICBHI_final_database/104_1b1_Al_sc_Litt3200.wav"))
        .args([
            "--sr", "16000", "--n-fft", "1024", "--hop", "160", "--db", "-o",
        ])
        .arg(&png)
        .assert()
        .success()
        .stdout(predicate::str::contains("at 16000 Hz"));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");

    // 15.856 s at 4 kHz resampled to 16 kHz: 253 696 samples -> 1 + 253696 / 160 frames.
    let npy = tmp.path().join("s.npy");
    auscult()
        .arg("mel")
        .arg(fixtures().join("icbhi/ICBHI_final_database/104_1b1_Al_sc_Litt3200.wav"))
        .args([
            "--sr", "16000", "--n-fft", "1024", "--hop", "160", "--n-mels", "64", "-o",
        ])
        .arg(&npy)
        .assert()
        .success();
    let (_, shape) = read_npy_f32(&npy).unwrap();
    assert_eq!(shape, vec![64, 1 + 253_696 / 160]);
}

#[test]
fn mel_folder_skips_bad_files_and_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(input.join("sub")).unwrap();
    std::fs::copy(golden().join("wav/sine_1k_16k.wav"), input.join("sine.wav")).unwrap();
    std::fs::copy(
        golden().join("wav/chirp_100_4000_16k.wav"),
        input.join("sub/chirp.wav"),
    )
    .unwrap();
    std::fs::copy(fixtures().join(HEADER_ONLY), input.join("empty.wav")).unwrap();
    std::fs::write(input.join("garbage.wav"), b"not audio").unwrap();
    let out = tmp.path().join("out");
    auscult()
        .arg("mel")
        .arg(&input)
        .args([
            "--n-fft", "1024", "--hop", "160", "--n-mels", "64", "--db", "-o",
        ])
        .arg(&out)
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("empty.wav")
                .and(predicate::str::contains("no audio samples"))
                .and(predicate::str::contains("garbage.wav"))
                .and(predicate::str::contains("2 of 4 inputs failed")),
        );
    let (_, shape) = read_npy_f32(&out.join("sine.npy")).unwrap();
    assert_eq!(shape, vec![64, 101]);
    let (_, shape) = read_npy_f32(&out.join("sub/chirp.npy")).unwrap();
    assert_eq!(shape, vec![64, 201]);
    assert!(!out.join("empty.npy").exists());

    // Bad flags are reported plainly.
    auscult()
        .arg("mel")
        .arg(input.join("sine.wav"))
        .args(["--fmax", "9000", "-o"])
        .arg(tmp.path().join("x.npy"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("f_max"));
}

/// `info` and `mel` over the hostile corpus (generated, see `auscult_audio::hostile`) plus good
/// files: no panic (exit 101) and no "panicked" anywhere, every bad file named with its
/// problem, every good file written.
#[test]
fn hostile_corpus_is_reported_file_by_file_and_good_files_are_written() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let corpus = auscult_audio::hostile::write_corpus(&input).unwrap();
    let (good, bad): (Vec<_>, Vec<_>) = corpus.iter().partition(|f| f.valid);
    let name = |f: &auscult_audio::hostile::HostileFile| {
        f.path.file_name().unwrap().to_string_lossy().to_string()
    };

    let info = auscult()
        .arg("info")
        .arg("--json")
        .args(corpus.iter().map(|f| &f.path))
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&info.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    let entries: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), corpus.len());
    for (f, e) in corpus.iter().zip(entries) {
        assert_eq!(e["path"].as_str().unwrap(), f.path.display().to_string());
        if f.valid {
            assert!(e["codec"].is_string(), "{}: {e}", name(f));
        } else {
            let error = e["error"].as_str().unwrap_or_default();
            assert!(error.contains(&name(f)), "{}: {e}", name(f));
        }
    }

    let out = tmp.path().join("out");
    let mel = auscult()
        .arg("mel")
        .arg(&input)
        .args([
            "--sr", "4000", "--n-fft", "256", "--hop", "64", "--n-mels", "32", "-o",
        ])
        .arg(&out)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&mel.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    for f in &bad {
        assert!(
            stderr.contains(&name(f)),
            "mel does not name {}: {stderr}",
            name(f)
        );
    }
    assert!(
        stderr.contains(&format!("{} of {} inputs failed", bad.len(), corpus.len())),
        "{stderr}"
    );
    for f in &good {
        let npy = out.join(name(f)).with_extension("npy");
        let (_, shape) = read_npy_f32(&npy).unwrap();
        assert_eq!(shape[0], 32, "{}", npy.display());
    }
}
