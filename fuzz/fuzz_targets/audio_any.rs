//! Any audio file: the first byte picks the extension (flac, mp3, ogg, wav), the rest is the
//! file, decoded and sent through the log-Mel front end.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = auscult_audio::fuzz::audio_any(data, auscult_fuzz::scratch_dir("audio_any"));
});
