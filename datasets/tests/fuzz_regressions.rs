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

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use auscult_datasets::fuzz;

/// The inputs in `testdata/fuzz/<target>`, failing plainly when the folder is missing.
fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/fuzz")
        .join(target);
    assert!(
        dir.is_dir(),
        "the fuzz regression inputs are missing: looked in {} (they ship in the repository's \
         `testdata/fuzz`)",
        dir.display()
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: no inputs", dir.display());
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Ok,
    Err,
    Either,
}

fn expectation(name: &str) -> Expect {
    const BAD: [&str; 3] = ["err-", "crash-", "oom-"];
    if name.starts_with("ok-") {
        Expect::Ok
    } else if BAD.iter().any(|p| name.starts_with(p)) {
        Expect::Err
    } else {
        Expect::Either
    }
}

/// A target's body: (input bytes, scratch folder) -> (what an error must name, outcome with
/// the error's message).
type Body = fn(&[u8], &Path) -> (String, Result<(), String>);

/// Runs `body(bytes, scratch folder)` on every input of `target` in a thread of its own (a
/// hang fails the test after 60 s). `body` returns what an error must contain (the file it
/// wrote) with its outcome (`Err` holding the error's message).
fn replay(target: &str, body: Body) -> usize {
    let inputs = inputs(target);
    for (name, bytes) in &inputs {
        let (tx, rx) = mpsc::channel();
        let bytes = bytes.clone();
        std::thread::spawn(move || {
            let dir = tempfile::tempdir().unwrap();
            let outcome = std::panic::catch_unwind(|| body(&bytes, dir.path()));
            let _ = tx.send(outcome.map_err(|_| ()));
        });
        let outcome = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("{target}/{name}: no answer within 60 s"));
        let (needle, result) = outcome.unwrap_or_else(|()| panic!("{target}/{name}: panicked"));
        match (expectation(name), result) {
            (Expect::Ok | Expect::Either, Ok(())) | (Expect::Either, Err(_)) => {}
            (Expect::Ok, Err(e)) => panic!("{target}/{name} should be read: {e}"),
            (Expect::Err, Ok(())) => panic!("{target}/{name} should be rejected"),
            (Expect::Err, Err(e)) => assert!(
                e.contains(&needle),
                "{target}/{name}: the error does not name {needle}: {e}"
            ),
        }
    }
    inputs.len()
}

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
