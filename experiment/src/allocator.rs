//! The allocator auscult's binaries and benchmarks run with, and its one setting.
//!
//! A training step allocates and frees the same large tensor buffers (tens of MB) again and
//! again. glibc malloc hands them back to the OS and page-faults them in again on the next
//! step; mimalloc keeps them, but by default still purges memory left unused for a second, and
//! a step frees buffers whose next use comes later than that (a prior step on 2 cores takes
//! about 0.7 s). [`retain_freed_memory`] turns the purge off: freed memory stays with the
//! process for reuse, so the peak resident size stays at its peak until the process ends.

use std::ffi::{c_int, c_long};

pub use mimalloc::MiMalloc;

/// Index of `mi_option_purge_delay` in mimalloc's `mi_option_e` (`mimalloc.h`, the same in its
/// v2 and v3 series).
const MI_OPTION_PURGE_DELAY: c_int = 15;

#[allow(unsafe_code)]
unsafe extern "C" {
    fn mi_option_set(option: c_int, value: c_long);
    fn mi_option_get(option: c_int) -> c_long;
}

/// Tells mimalloc never to return freed memory to the OS (`purge_delay = -1`). Call it first
/// thing in `main` of a binary whose global allocator is [`MiMalloc`]; it changes only when
/// memory goes back to the OS, never what is computed. Measured on the 2-core machine (5
/// December 2026, criterion): a prior training step 0.76 -> 0.64 s, a VQ-VAE step 0.38 ->
/// 0.34 s, page faults over 8 s of prior steps 17,885 -> 648.
#[allow(unsafe_code)]
pub fn retain_freed_memory() {
    // SAFETY: `mi_option_set` only stores an integer in mimalloc's option table; it may be
    // called at any time from any thread, and -1 is the documented "never purge" value.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

/// mimalloc's current purge delay in milliseconds (-1: never), for tests and diagnostics.
#[allow(unsafe_code)]
// `c_long` is `i64` here but 32 bits on Windows.
#[allow(clippy::useless_conversion)]
pub fn purge_delay_ms() -> i64 {
    // SAFETY: reads an integer from mimalloc's option table; callable at any time.
    i64::from(unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_index_is_the_purge_delay() {
        // mimalloc v3's default purge delay is 1000 ms (v2: 10 ms); no other option has
        // either default, so this fails if the index named another option. An explicit
        // MIMALLOC_PURGE_DELAY in the environment overrides the default.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            let default = purge_delay_ms();
            assert!(
                default == 1000 || default == 10,
                "option 15 reads {default}"
            );
        }
        retain_freed_memory();
        assert_eq!(purge_delay_ms(), -1);
    }
}
