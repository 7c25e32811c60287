//! A seeded, realistic synthetic generator writing the exact ICBHI 2017 and Coswara layouts.
//!
//! These machines cannot download the real datasets, so the demo and the tests read
//! synthetic copies through the real loaders. Signals are built to be acoustically plausible
//! (see [`synth_icbhi`]) and learnable from log-Mel spectrograms, but not trivially. The same
//! seed and config write byte-identical files.

mod coswara;
mod icbhi;
mod signal;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use self::coswara::synth_coswara;
pub use self::icbhi::synth_icbhi;
use crate::error::{Error, Result};
use crate::files;
use crate::format::Format;

/// File written at the root of a synthetic dataset with the config and the report.
pub const SYNTH_REPORT_FILE: &str = "auscult-synth.json";

/// Settings of the synthetic generator.
///
/// The defaults ([`SynthConfig::icbhi`]) give a corpus the demo trains on in minutes on two
/// cores; [`SynthConfig::quick`] gives tiny, short corpora for tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SynthConfig {
    /// Seed of everything; the same seed writes the same bytes.
    pub seed: u64,
    /// Number of patients (ICBHI) or participants (Coswara).
    pub patients: usize,
    /// Recordings per ICBHI patient, inclusive range.
    pub recordings_per_patient: [usize; 2],
    /// Respiratory cycles per ICBHI recording, inclusive range (the real median is 7).
    pub cycles_per_recording: [usize; 2],
    /// Target share of normal, crackle, wheeze and both cycles (ICBHI: 53/27/13/7 %).
    pub class_mix: [f64; 4],
    /// Share of ICBHI patients in the test split (official: 0.4).
    pub test_fraction: f64,
    /// Duration range of Coswara sounds in seconds (breathing is 1.5 times longer).
    pub coswara_seconds: [f64; 2],
    /// Number of header-only (zero-frame) Coswara WAVs, as found in the real archive.
    pub header_only: usize,
    /// Write into a folder that already holds files (same-named files are replaced).
    pub overwrite: bool,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self::icbhi(0)
    }
}

impl SynthConfig {
    /// Default ICBHI corpus: 40 patients, 1-2 recordings each, 4-10 cycles per recording
    /// (about 400 cycles, 60 recordings of about 20 s).
    pub fn icbhi(seed: u64) -> Self {
        Self {
            seed,
            patients: 40,
            recordings_per_patient: [1, 2],
            cycles_per_recording: [4, 10],
            class_mix: [0.53, 0.27, 0.13, 0.07],
            test_fraction: 0.4,
            coswara_seconds: [2.0, 5.0],
            header_only: 3,
            overwrite: false,
        }
    }

    /// Default Coswara corpus: 24 participants, nine sounds each of 2-5 s, 3 header-only files.
    pub fn coswara(seed: u64) -> Self {
        Self {
            patients: 24,
            ..Self::icbhi(seed)
        }
    }

    /// A tiny, fast corpus for tests: one recording of 2-3 cycles per patient, Coswara sounds
    /// of 0.5-1 s, 2 header-only files.
    pub fn quick(seed: u64, patients: usize) -> Self {
        Self {
            seed,
            patients,
            recordings_per_patient: [1, 1],
            cycles_per_recording: [2, 3],
            coswara_seconds: [0.5, 1.0],
            header_only: 2,
            ..Self::icbhi(seed)
        }
    }

    /// Checks ranges and shares.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &'static str, reason: String| Err(Error::InvalidConfig { field, reason });
        if self.patients == 0 || self.patients > 10_000 {
            return bad("patients", format!("{}; use 1..=10000", self.patients));
        }
        let [r0, r1] = self.recordings_per_patient;
        if r0 == 0 || r0 > r1 || r1 > 50 {
            return bad(
                "recordings_per_patient",
                format!("[{r0}, {r1}]; use 1 <= min <= max <= 50"),
            );
        }
        let [c0, c1] = self.cycles_per_recording;
        if c0 == 0 || c0 > c1 || c1 > 40 {
            return bad(
                "cycles_per_recording",
                format!("[{c0}, {c1}]; use 1 <= min <= max <= 40"),
            );
        }
        if self.class_mix.iter().any(|s| !(s.is_finite() && *s >= 0.0))
            || self.class_mix.iter().sum::<f64>() <= 0.0
        {
            return bad(
                "class_mix",
                format!("{:?}; use four non-negative shares", self.class_mix),
            );
        }
        if !(0.0..1.0).contains(&self.test_fraction) {
            return bad(
                "test_fraction",
                format!("{}; use 0 <= fraction < 1", self.test_fraction),
            );
        }
        let [s0, s1] = self.coswara_seconds;
        if !(s0 > 0.05 && s0 <= s1 && s1 <= 60.0) {
            return bad(
                "coswara_seconds",
                format!("[{s0}, {s1}]; use 0.05 < min <= max <= 60"),
            );
        }
        Ok(())
    }
}

/// What the generator wrote, in the terms `auscult dataset inspect` reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthReport {
    /// `icbhi` or `coswara`.
    pub format: Format,
    /// The output folder.
    pub out: PathBuf,
    /// The seed used.
    pub seed: u64,
    /// Patients (ICBHI) or participant folders (Coswara).
    pub patients: usize,
    /// Audio files written (Coswara: including header-only files).
    pub recordings: usize,
    /// ICBHI: cycles per class (`normal`, `crackle`, `wheeze`, `both`); Coswara: participants
    /// per `covid_status`.
    pub classes: BTreeMap<String, usize>,
    /// ICBHI: `train`/`test` -> class -> cycles. Coswara: empty (no official split).
    pub splits: BTreeMap<String, BTreeMap<String, usize>>,
    /// Sample rate (Hz) -> number of files.
    pub sample_rates: BTreeMap<u32, usize>,
    /// Bits per sample -> number of files.
    pub bit_depths: BTreeMap<u32, usize>,
    /// ICBHI device code -> recordings (Coswara: empty).
    pub devices: BTreeMap<String, usize>,
    /// Header-only WAVs written (Coswara).
    pub header_only_files: usize,
    /// Total audio duration in seconds.
    pub total_seconds: f64,
    /// The config used.
    pub config: SynthConfig,
}

/// A ChaCha8 stream for `(seed, stream)`; each patient and recording has its own, so files
/// can be made in parallel and still be byte-identical.
pub(crate) fn stream_rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// Creates `out`, refusing a folder that already holds files unless `overwrite`.
pub(crate) fn prepare_output(out: &Path, overwrite: bool) -> Result<()> {
    if out.is_dir() && !overwrite && !files::sorted_entries(out)?.is_empty() {
        return Err(Error::OutputNotEmpty {
            path: out.to_path_buf(),
        });
    }
    files::create_dir_all(out)
}

/// Splits `total` items over `weights` by largest remainders (deterministic; ties go to the
/// earlier weight). With `at_least_one`, every weight gets one item when `total` allows.
pub(crate) fn allocate(total: usize, weights: &[f64], at_least_one: bool) -> Vec<usize> {
    let sum: f64 = weights.iter().sum();
    let mut counts = vec![0usize; weights.len()];
    if weights.is_empty() || total == 0 || sum <= 0.0 {
        return counts;
    }
    let mut reserved = 0;
    if at_least_one && total >= weights.len() {
        counts.iter_mut().for_each(|c| *c = 1);
        reserved = weights.len();
    }
    let rest = total - reserved;
    let exact: Vec<f64> = weights.iter().map(|w| w / sum * rest as f64).collect();
    let mut assigned = 0;
    for (c, e) in counts.iter_mut().zip(&exact) {
        *c += e.floor() as usize;
        assigned += e.floor() as usize;
    }
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let ra = exact[a] - exact[a].floor();
        let rb = exact[b] - exact[b].floor();
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for &i in order.iter().take(rest - assigned) {
        counts[i] += 1;
    }
    counts
}

/// Writes the report (with the config) as `auscult-synth.json` in `out`; its `out` field is
/// `.` so that the file, like every other, does not depend on where the dataset was written.
pub(crate) fn write_report(out: &Path, report: &SynthReport) -> Result<()> {
    let path = out.join(SYNTH_REPORT_FILE);
    let relative = SynthReport {
        out: PathBuf::from("."),
        ..report.clone()
    };
    let json = serde_json::to_vec_pretty(&relative).map_err(|e| Error::Json {
        path: path.clone(),
        source: e,
    })?;
    files::write_atomic(&path, &json)
}

/// Formats a number with up to `decimals` decimals, trailing zeros removed.
pub(crate) fn format_number(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_remainder_allocation() {
        assert_eq!(
            allocate(10, &[0.53, 0.27, 0.13, 0.07], false),
            vec![5, 3, 1, 1]
        );
        assert_eq!(
            allocate(40, &[646.0, 87.0, 60.0, 127.0], true)
                .iter()
                .sum::<usize>(),
            40
        );
        assert_eq!(
            allocate(4, &[646.0, 87.0, 60.0, 127.0], true),
            vec![1, 1, 1, 1]
        );
        assert_eq!(
            allocate(3, &[646.0, 87.0, 60.0, 127.0], true),
            vec![2, 0, 0, 1]
        );
        assert_eq!(allocate(0, &[1.0], true), vec![0]);
    }

    #[test]
    fn configs_validate() {
        SynthConfig::icbhi(1).validate().unwrap();
        SynthConfig::coswara(1).validate().unwrap();
        SynthConfig::quick(1, 3).validate().unwrap();
        let mut c = SynthConfig::quick(1, 3);
        c.cycles_per_recording = [3, 2];
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("cycles_per_recording")
        );
        c = SynthConfig::quick(1, 0);
        assert!(c.validate().is_err());
        let back: SynthConfig = serde_json::from_str(r#"{"seed": 9, "patients": 5}"#).unwrap();
        assert_eq!(back.seed, 9);
        assert_eq!(back.cycles_per_recording, [4, 10]);
        assert_eq!(format_number(0.25, 2), "0.25");
        assert_eq!(format_number(70.0, 2), "70");
    }
}
