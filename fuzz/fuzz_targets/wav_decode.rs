//! WAV bytes through the whole decode path: `decode_file` (the fast RIFF parser, or Symphonia),
//! then at most 3 s resampled to 8 kHz and a log-Mel; and the header probe that
//! `auscult inspect` uses (`read_wav_header`: `auscult_audio::read_header`, the same RIFF parser, then the decoder).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = auscult_fuzz::scratch_dir("wav_decode");
    let _ = auscult_audio::fuzz::wav_decode(data, dir);
    let _ = auscult_datasets::read_wav_header(&dir.join("x.wav"));
});
