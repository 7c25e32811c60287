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

#[path = "support/fuzz_replay.rs"]
mod fuzz_replay;
use fuzz_replay::replay;

#[global_allocator]
static ALLOCATOR: Capped = Capped;

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
