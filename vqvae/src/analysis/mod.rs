//! Measurements on log-Mel spectrograms: the detail statistics (tonality and transientness)
//! and the small windowed helpers they and the tone tracks share.

pub(crate) mod detail;
pub(crate) mod window;
