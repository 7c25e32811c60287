//! PNG figures for auscult: spectrograms, contact sheets of spectrogram tiles, confusion
//! matrices and training curves.
//!
//! Drawn with plotters into an RGB buffer and written atomically (temporary file, then
//! rename). Text uses the embedded DejaVu Sans font through plotters' ab_glyph backend, so no
//! system font or fontconfig is needed.
//!
//! ```no_run
//! use auscult_plot::{SpectrogramPlot, spectrogram_png};
//!
//! // 64 Mel bins x 100 frames, row-major [n_bins][n_frames], bin 0 at the bottom.
//! let data: Vec<f32> = (0..64 * 100).map(|i| ((i % 100) as f32 * 0.1).sin()).collect();
//! let opts = SpectrogramPlot {
//!     title: "log-Mel spectrogram".into(),
//!     seconds_per_frame: 0.016,
//!     f_min_hz: 0.0,
//!     f_max_hz: 8000.0,
//!     mel: true,
//!     colorbar_label: "dB".into(),
//! };
//! spectrogram_png(std::path::Path::new("spec.png"), &data, 64, 100, &opts)?;
//! # Ok::<(), auscult_plot::Error>(())
//! ```

mod axes;
mod canvas;
mod colormap;
mod confusion;
mod contact_sheet;
mod curves;
mod error;
mod font;
mod heatmap;
mod scale;
mod spectrogram;
mod text;

pub use canvas::MAX_SIDE_PX;
pub use confusion::{confusion_png, confusion_size};
pub use contact_sheet::{Tile, contact_sheet_png, contact_sheet_size};
pub use curves::{Panel, Series, curves_png, curves_size};
pub use error::{Error, Result};
pub use scale::{hz_to_mel, mel_to_hz};
pub use spectrogram::{SPECTROGRAM_SIZE, SpectrogramPlot, spectrogram_png};
