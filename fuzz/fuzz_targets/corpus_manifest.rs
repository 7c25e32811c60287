//! Bytes as a generated corpus's `manifest.json` (beside a few fixed `.npy` files) through
//! `GeneratedCorpus::open` and, when it opens, `load`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = auscult_fuzz::scratch_dir("corpus_manifest");
    let _ = auscult_datasets::fuzz::corpus_manifest(data, dir);
});
