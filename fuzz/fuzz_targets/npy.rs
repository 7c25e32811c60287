//! `.npy` bytes through `read_npy_f32` (the reader of generated corpora and golden files).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = auscult_audio::fuzz::npy(data, auscult_fuzz::scratch_dir("npy"));
});
