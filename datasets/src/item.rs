//! Labelled training examples and the conventions that turn a cycle into one.
//!
//! The defaults are Patch-Mix CL's (Bae et al., 2023), on which the published ICBHI numbers
//! depend: the recording is resampled to 16 kHz, each cycle is cut at
//! `[floor(start * sr), floor(end * sr))`, faded in and out linearly over `sr / 16` samples,
//! and brought to 8 s by tiling it (`repeat`) or by centring it in silence (`zero`); longer
//! cycles keep their first 8 s.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::icbhi::{Device, RecordingName};

/// How a cycle shorter than [`ExampleConfig::length_s`] is brought to the fixed length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CyclePadding {
    /// Tile the cycle until the length is reached, then cut; the end is faded out
    /// (Patch-Mix CL's `repeat`).
    #[default]
    Repeat,
    /// Centre the cycle in zeros (Patch-Mix CL's `zero`).
    Zero,
}

impl std::str::FromStr for CyclePadding {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "repeat" => Ok(Self::Repeat),
            "zero" => Ok(Self::Zero),
            _ => Err(format!("unknown padding `{s}`: expected repeat or zero")),
        }
    }
}

/// How examples are cut from recordings: target rate, fixed length, padding and fading.
///
/// Saved with every model so that inference cuts examples exactly as training did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExampleConfig {
    /// Rate every recording is resampled to before cutting, in Hz (default 16 000).
    pub sample_rate: u32,
    /// Fixed example length in seconds (default 8.0).
    pub length_s: f32,
    /// Padding of shorter cycles (default [`CyclePadding::Repeat`]).
    pub pad: CyclePadding,
    /// Linear fade in and out over `sample_rate / 16` samples of each cycle (default true).
    pub fade: bool,
}

impl Default for ExampleConfig {
    fn default() -> Self {
        Self::patch_mix()
    }
}

impl ExampleConfig {
    /// Patch-Mix CL's conventions: 16 kHz, 8 s, repeat padding, fade of sr/16 samples.
    pub fn patch_mix() -> Self {
        Self {
            sample_rate: 16_000,
            length_s: 8.0,
            pad: CyclePadding::Repeat,
            fade: true,
        }
    }

    /// Length of every example in samples: `round(length_s * sample_rate)`.
    pub fn length_samples(&self) -> usize {
        (f64::from(self.length_s) * f64::from(self.sample_rate)).round() as usize
    }

    /// Length of the linear fade in samples (`sample_rate / 16`), 0 when fading is off.
    pub fn fade_samples(&self) -> usize {
        if self.fade {
            (self.sample_rate / 16) as usize
        } else {
            0
        }
    }

    /// Checks that the rate and the length are usable.
    pub fn validate(&self) -> Result<()> {
        if !(1_000..=384_000).contains(&self.sample_rate) {
            return Err(Error::InvalidConfig {
                field: "sample_rate",
                reason: format!(
                    "{} Hz is out of range; use 1000..=384000 Hz (16000 is the ICBHI convention)",
                    self.sample_rate
                ),
            });
        }
        if !(self.length_s.is_finite() && self.length_s > 0.0 && self.length_s <= 600.0) {
            return Err(Error::InvalidConfig {
                field: "length_s",
                reason: format!(
                    "{} s is out of range; use a positive length up to 600 s (8 is the ICBHI convention)",
                    self.length_s
                ),
            });
        }
        Ok(())
    }
}

/// One labelled, fixed-length training example (a respiratory cycle or a whole file).
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Unique id: `<recording stem>_c<cycle index>` for ICBHI cycles, the file's relative path
    /// otherwise.
    pub id: String,
    /// The patient (participant) the example comes from; splits never separate a patient.
    pub patient: String,
    /// Class index into [`crate::ExampleSet::classes`].
    pub label: usize,
    /// Mono samples in [-1, 1], exactly [`ExampleConfig::length_samples`] long.
    pub samples: Vec<f32>,
    /// Rate of `samples` in Hz ([`ExampleConfig::sample_rate`]).
    pub sample_rate: u32,
    /// The audio file the example was cut from.
    pub source: PathBuf,
    /// Start of the cycle in the source, in seconds.
    pub start_s: f64,
    /// End of the cycle in the source, in seconds.
    pub end_s: f64,
}

impl Example {
    /// The recording device, when the source's file stem is an ICBHI recording name
    /// (`<patient>_<index>_<location>_<mode>_<device>`, e.g. `107_2b3_Al_mc_AKGC417L`);
    /// `None` for other datasets.
    pub fn device(&self) -> Option<Device> {
        let stem = self.source.file_stem()?.to_str()?;
        RecordingName::parse(stem).ok().map(|name| name.device)
    }
}

/// The samples of `[floor(start_s * sr), floor(end_s * sr))`, clamped to the recording.
///
/// Returns an empty slice when the cycle lies wholly past the end of the audio.
pub fn slice_cycle(samples: &[f32], sample_rate: u32, start_s: f64, end_s: f64) -> &[f32] {
    let sr = f64::from(sample_rate);
    let to_index = |t: f64| -> usize {
        if t.is_nan() || t <= 0.0 {
            0
        } else {
            ((t * sr).floor() as usize).min(samples.len())
        }
    };
    let start = to_index(start_s);
    let end = to_index(end_s).max(start);
    &samples[start..end]
}

/// Applies the fade, cut and padding of `cfg` to one cycle already at `cfg.sample_rate`.
///
/// The output has exactly `cfg.length_samples()` samples; an empty cycle gives silence.
/// Longer cycles keep their first `length` samples. The fade is linear, `linspace(0, 1, n)`
/// in and `linspace(1, 0, n)` out as torchaudio's `Fade`, with `n = min(sr / 16, len / 2)`.
pub fn fit_cycle(cycle: &[f32], cfg: &ExampleConfig) -> Vec<f32> {
    let target = cfg.length_samples();
    let mut cut: Vec<f32> = cycle[..cycle.len().min(target)].to_vec();
    if cut.is_empty() {
        return vec![0.0; target];
    }
    let fade = cfg.fade_samples().min(cut.len() / 2);
    fade_in(&mut cut, fade);
    fade_out(&mut cut, fade);
    if cut.len() == target {
        return cut;
    }
    match cfg.pad {
        CyclePadding::Repeat => {
            let mut out = Vec::with_capacity(target);
            while out.len() < target {
                let take = (target - out.len()).min(cut.len());
                out.extend_from_slice(&cut[..take]);
            }
            fade_out(&mut out, cfg.fade_samples().min(target / 2));
            out
        }
        CyclePadding::Zero => {
            let mut out = vec![0.0; target];
            let offset = (target - cut.len()) / 2;
            out[offset..offset + cut.len()].copy_from_slice(&cut);
            out
        }
    }
}

fn ramp(i: usize, n: usize) -> f32 {
    if n <= 1 {
        0.0
    } else {
        i as f32 / (n - 1) as f32
    }
}

fn fade_in(x: &mut [f32], n: usize) {
    for (i, v) in x.iter_mut().take(n).enumerate() {
        *v *= ramp(i, n);
    }
}

fn fade_out(x: &mut [f32], n: usize) {
    let len = x.len();
    for i in 0..n.min(len) {
        x[len - n + i] *= 1.0 - ramp(i, n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(sr: u32, length_s: f32, pad: CyclePadding, fade: bool) -> ExampleConfig {
        ExampleConfig {
            sample_rate: sr,
            length_s,
            pad,
            fade,
        }
    }

    #[test]
    fn defaults_are_patch_mix() {
        let c = ExampleConfig::default();
        assert_eq!(c.sample_rate, 16_000);
        assert_eq!(c.length_samples(), 128_000);
        assert_eq!(c.fade_samples(), 1000);
        assert_eq!(c.pad, CyclePadding::Repeat);
        c.validate().unwrap();
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["pad"], "repeat");
        let back: ExampleConfig = serde_json::from_str(r#"{"pad":"zero"}"#).unwrap();
        assert_eq!(back.pad, CyclePadding::Zero);
        assert_eq!(back.sample_rate, 16_000);
        assert!(cfg(0, 8.0, CyclePadding::Zero, true).validate().is_err());
        assert!(
            cfg(16_000, f32::NAN, CyclePadding::Zero, true)
                .validate()
                .is_err()
        );
    }

    #[test]
    fn slicing_truncates_like_patch_mix_and_clamps() {
        let x: Vec<f32> = (0..100).map(|i| i as f32).collect();
        // int(0.0105 * 1000) = 10, int(0.0309 * 1000) = 30
        let s = slice_cycle(&x, 1000, 0.0105, 0.0309);
        assert_eq!(s.first(), Some(&10.0));
        assert_eq!(s.len(), 20);
        // The last cycle may end exactly at the end of the file.
        assert_eq!(slice_cycle(&x, 1000, 0.09, 0.1).len(), 10);
        assert_eq!(slice_cycle(&x, 1000, 0.09, 0.2).len(), 10);
        assert!(slice_cycle(&x, 1000, 0.2, 0.3).is_empty());
        assert!(slice_cycle(&x, 1000, 0.05, 0.01).is_empty());
    }

    #[test]
    fn repeat_padding_tiles_faded_cycle_and_fades_the_end() {
        // sr 160 -> fade 10 samples; 1 s target = 160 samples; cycle of 50 ones.
        let c = cfg(160, 1.0, CyclePadding::Repeat, true);
        let out = fit_cycle(&[1.0; 50], &c);
        assert_eq!(out.len(), 160);
        assert_eq!(out[0], 0.0);
        assert!((out[9] - 1.0).abs() < 1e-6);
        assert!((out[5] - 5.0 / 9.0).abs() < 1e-6);
        assert!(out[40..49].windows(2).all(|w| w[1] <= w[0]));
        assert_eq!(out[49], 0.0);
        assert_eq!(out[50], 0.0); // second tile starts faded in
        assert_eq!(&out[60..90], &[1.0; 30][..]);
        assert_eq!(out[100], 0.0);
        assert_eq!(out[159], 0.0);
        // 150..160: the fourth tile's fade-in, multiplied by the final fade-out.
        assert!((out[155] - (5.0 / 9.0) * (4.0 / 9.0)).abs() < 1e-6);
    }

    #[test]
    fn zero_padding_centres_and_long_cycles_are_cut() {
        let c = cfg(100, 1.0, CyclePadding::Zero, false);
        let out = fit_cycle(&[1.0; 31], &c);
        assert_eq!(out.len(), 100);
        assert_eq!(out.iter().filter(|&&v| v == 1.0).count(), 31);
        // Offset (100 - 31) // 2 = 34, as Patch-Mix CL's `diff // 2`.
        assert_eq!(out[33], 0.0);
        assert_eq!(out[34], 1.0);
        assert_eq!(out[64], 1.0);
        assert_eq!(out[65], 0.0);

        let long: Vec<f32> = (0..250).map(|i| i as f32).collect();
        let out = fit_cycle(&long, &c);
        assert_eq!(out, long[..100].to_vec());
        assert_eq!(fit_cycle(&[], &c), vec![0.0; 100]);
        // A two-sample cycle gets one-sample fades: torchaudio's linspace(0, 1, 1) = [0] in,
        // 1 - [0] = [1] out, so only the first sample is silenced.
        let out = fit_cycle(&[1.0, 1.0], &cfg(100, 1.0, CyclePadding::Zero, true));
        assert_eq!(out.iter().sum::<f32>(), 1.0);
        assert_eq!(out[49..51], [0.0, 1.0]);
    }

    #[test]
    fn device_comes_from_an_icbhi_file_stem() {
        let example = |source: &str| Example {
            id: "x".into(),
            patient: "107".into(),
            label: 0,
            samples: Vec::new(),
            sample_rate: 16_000,
            source: PathBuf::from(source),
            start_s: 0.0,
            end_s: 1.0,
        };
        let device = |s: &str| example(s).device();
        assert_eq!(
            device("db/107_2b3_Al_mc_AKGC417L.wav"),
            Some(Device::AkgC417L)
        );
        assert_eq!(device("110_1p1_Ll_sc_Meditron.wav"), Some(Device::Meditron));
        assert_eq!(
            device("a/104_1b1_Al_sc_Litt3200.flac"),
            Some(Device::Litt3200)
        );
        assert_eq!(
            device("x/226_1b1_Pl_sc_LittC2SE.wav"),
            Some(Device::LittC2SE)
        );
        assert_eq!(device("20200413/abc/breathing-deep.wav"), None);
        assert_eq!(device("107_2b3_Al_mc_Unknown.wav"), None);
        assert_eq!(device(""), None);
    }
}
