//! Bytes as Coswara's `combined_data.csv` through `read_combined_csv`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = auscult_datasets::fuzz::coswara_csv(data, auscult_fuzz::scratch_dir("coswara_csv"));
});
