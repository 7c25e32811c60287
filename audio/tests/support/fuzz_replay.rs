//! The replay harness of the fuzz regression tests (`audio/tests/fuzz_regressions.rs`,
//! `datasets/tests/fuzz_regressions.rs`, which include this file): the saved inputs of
//! `testdata/fuzz/<target>/`, what each file's name says it must return, and a runner that
//! gives every input a thread of its own and a minute.
#![allow(dead_code)] // not every test file uses every item

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// The inputs in `testdata/fuzz/<target>`, failing plainly when the folder is missing.
pub fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
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
pub enum Expect {
    Ok,
    Err,
    Either,
}

pub fn expectation(name: &str) -> Expect {
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
pub type Body = fn(&[u8], &Path) -> (String, Result<(), String>);

/// Runs `body(bytes, scratch folder)` on every input of `target` in a thread of its own (a
/// hang fails the test after 60 s). `body` returns what an error must contain (the file it
/// wrote) with its outcome (`Err` holding the error's message).
pub fn replay(target: &str, body: Body) -> usize {
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
