//! Replays the saved fuzz inputs of `testdata/fuzz/<target>/` (crashers and timeouts the
//! fuzzers found, plus a few seeds; its README says which is which) through the functions the
//! cargo-fuzz targets call, `auscult_audio::fuzz::*`. Each must return, `Ok` or `Err`, without
//! panicking and within a minute. A file's name says what it must return:
//!
//! - `ok-*`: `Ok` (a valid file);
//! - `err-*`, `crash-*`, `oom-*`: an `Err` whose message names the file (the crashers found
//!   so far are all damaged files);
//! - anything else (seeds, `slow-unit-*` and `timeout-*` inputs, which may be valid): either.
//!
//! Like libFuzzer's `-malloc_limit_mb`, this test binary's allocator refuses any single
//! allocation over [`MAX_ALLOCATION`] (the process then aborts with "memory allocation of N
//! bytes failed"), so that an input that once made a reader allocate what its header merely
//! declares (the `oom-*` files) fails here too.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// The allocator below is the only unsafe code: a pass-through to the system allocator.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use auscult_audio::fuzz;

/// Largest single allocation the readers may make on these small inputs.
const MAX_ALLOCATION: usize = 512 << 20;

/// The system allocator, refusing allocations over [`MAX_ALLOCATION`].
struct Capped;

// SAFETY: every call is forwarded unchanged to `System`, or refused with a null pointer,
// which `GlobalAlloc` allows for any request.
unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` and `layout` come from this allocator, that is from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` and `layout` come from this allocator, that is from `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Capped = Capped;

/// `testdata/fuzz/<target>`, failing plainly when missing.
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
/// hang fails the test after 60 s). `body` returns the name of the file it wrote with its
/// outcome (`Err` holding the error's message).
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
        let (file, result) = outcome.unwrap_or_else(|()| panic!("{target}/{name}: panicked"));
        match (expectation(name), result) {
            (Expect::Ok | Expect::Either, Ok(())) | (Expect::Either, Err(_)) => {}
            (Expect::Ok, Err(e)) => panic!("{target}/{name} should be read: {e}"),
            (Expect::Err, Ok(())) => panic!("{target}/{name} should be rejected"),
            (Expect::Err, Err(e)) => {
                assert!(
                    e.contains(&file),
                    "{target}/{name}: the error does not name {file}: {e}"
                );
            }
        }
    }
    inputs.len()
}

/// Symphonia panicked inside `decode_file` (caught and reported as an error): a bug too.
fn no_caught_panic(target: &str, e: String) -> String {
    assert!(
        !e.contains("decoder failed"),
        "{target}: Symphonia panicked (caught): {e}"
    );
    e
}

#[test]
fn wav_decode_inputs_return_without_panicking() {
    let n = replay("wav_decode", |bytes, dir| {
        let result = fuzz::wav_decode(bytes, dir)
            .map(drop)
            .map_err(|e| no_caught_panic("wav_decode", e.to_string()));
        ("x.wav".into(), result)
    });
    assert!(n >= 1);
}

#[test]
fn audio_any_inputs_return_without_panicking() {
    let n = replay("audio_any", |bytes, dir| {
        let (path, result) = fuzz::audio_any(bytes, dir);
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let result = result
            .map(drop)
            .map_err(|e| no_caught_panic("audio_any", e.to_string()));
        (file, result)
    });
    assert!(n >= 1);
}

#[test]
fn npy_inputs_return_without_panicking() {
    let n = replay("npy", |bytes, dir| {
        let result = fuzz::npy(bytes, dir).map(drop).map_err(|e| e.to_string());
        ("x.npy".into(), result)
    });
    assert!(n >= 1);
}

#[test]
fn audio_any_extension_follows_the_first_byte() {
    assert_eq!(
        [0u8, 1, 2, 3, 4, 255].map(fuzz::extension_for),
        ["flac", "mp3", "ogg", "wav", "flac", "wav"]
    );
    let dir = tempfile::tempdir().unwrap();
    let (path, result) = fuzz::audio_any(&[], dir.path());
    assert_eq!(path, dir.path().join("x.wav"));
    assert!(result.unwrap_err().to_string().contains("x.wav"));
}
