//! Text through every ICBHI metadata parser (cycle annotations, official split, diagnosis,
//! demographics) and the recording-name parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = auscult_datasets::fuzz::icbhi_text(data);
});
