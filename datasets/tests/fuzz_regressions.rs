//! Replays the saved fuzz inputs of `testdata/fuzz/<target>/` (crashers and timeouts the
//! fuzzers found, plus a few seeds; its README says which is which) through the functions the
//! cargo-fuzz targets call, `auscult_datasets::fuzz::*`. Each must return, `Ok` or `Err`,
//! without panicking and within a minute. A file's name says what it must return:
//!
//! - `ok-*`: `Ok` (a valid file);
//! - `err-*`, `crash-*`, `oom-*`: an `Err` whose message names the file (the crashers found
//!   so far are all damaged files);
//! - anything else (seeds, `slow-unit-*` and `timeout-*` inputs, which may be valid): either.
//!
//! The ICBHI text parsers are told they read `fuzz-input.txt`: every error of theirs must
//! name it and the line, whatever the file's name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use auscult_datasets::fuzz;

#[path = "../../audio/tests/support/fuzz_replay.rs"]
mod fuzz_replay;
use fuzz_replay::{inputs, replay};

#[test]
fn icbhi_text_inputs_return_without_panicking() {
    let inputs = inputs("icbhi_text");
    for (name, bytes) in &inputs {
        let bytes = bytes.clone();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let outcome = std::panic::catch_unwind(|| {
                fuzz::icbhi_text(&bytes)
                    .into_iter()
                    .map(|(parser, r)| (parser, r.map_err(|e| e.to_string())))
                    .collect::<Vec<_>>()
            });
            let _ = tx.send(outcome.map_err(|_| ()));
        });
        let outcomes = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("icbhi_text/{name}: no answer within 60 s"))
            .unwrap_or_else(|()| panic!("icbhi_text/{name}: panicked"));
        for (parser, result) in outcomes {
            match result {
                Err(e) if parser == "recording name" => assert!(
                    e.contains("is not an ICBHI 2017 recording name"),
                    "icbhi_text/{name}: {parser}: {e}"
                ),
                Err(e) => assert!(
                    e.contains(&format!("{} line ", fuzz::TEXT_PATH)),
                    "icbhi_text/{name}: the {parser} error does not name the file and line: {e}"
                ),
                Ok(()) => {}
            }
        }
    }
    assert!(!inputs.is_empty());
}

#[test]
fn coswara_csv_inputs_return_without_panicking() {
    let n = replay("coswara_csv", |bytes, dir| {
        let result = fuzz::coswara_csv(bytes, dir)
            .map(drop)
            .map_err(|e| e.to_string());
        ("combined_data.csv".into(), result)
    });
    assert!(n >= 1);
}

#[test]
fn corpus_manifest_inputs_return_without_panicking() {
    let n = replay("corpus_manifest", |bytes, dir| {
        let result = fuzz::corpus_manifest(bytes, dir)
            .map(drop)
            .map_err(|e| e.to_string());
        // The manifest, a listed `.npy` or the corpus folder: all inside the scratch folder.
        (dir.display().to_string(), result)
    });
    assert!(n >= 1);
}

#[test]
fn the_corpus_beside_a_fuzzed_manifest_is_what_the_seeds_expect() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/fuzz/corpus_manifest/ok-one-sample.json"),
    )
    .unwrap();
    assert_eq!(fuzz::corpus_manifest(&manifest, dir.path()).unwrap(), 1);
    for name in fuzz::CORPUS_FILES {
        assert!(dir.path().join(name).is_file(), "{name}");
    }
}
