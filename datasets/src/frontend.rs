//! The default front end shared by every auscult model (the VQ-VAE and the classifier must
//! agree on it, so that generated corpora fit the classifier): defined once, here.

use auscult_audio::{LogScale, MelConfig};

use crate::{CyclePadding, ExampleConfig};

/// The shared default example cut: 8 kHz, 4 s, repeat padding, fade (CPU-practical). Real
/// ICBHI work often uses [`ExampleConfig::patch_mix`].
pub fn default_examples() -> ExampleConfig {
    ExampleConfig {
        sample_rate: 8000,
        length_s: 4.0,
        pad: CyclePadding::Repeat,
        fade: true,
    }
}

/// The shared default log-Mel front end: librosa-style at 8 kHz, `n_fft` 512, hop 256, 64 Mel
/// bins from 50 to 4000 Hz, dB with reference 1, `amin` 1e-10, `top_db` 80: 64 x 126 per 4 s
/// example.
pub fn default_mel() -> MelConfig {
    let mut mel = MelConfig::librosa(8000);
    mel.n_fft = 512;
    mel.win_length = 512;
    mel.hop_length = 256;
    mel.n_mels = 64;
    mel.f_min = 50.0;
    mel.f_max = Some(4000.0);
    mel.log = LogScale::Db {
        reference: 1.0,
        amin: 1e-10,
        top_db: Some(80.0),
    };
    mel
}
