//! What to generate: the class counts, sampling settings and seeds of a request.

use auscult_experiment::DeviceChoice;
use serde::{Deserialize, Serialize};

use crate::prior::sampling::SamplingConfig;
use crate::{Error, Result};

/// How many samples of which class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassCounts {
    /// Exactly these counts of these classes (names as the model knows them).
    PerClass(Vec<(String, usize)>),
    /// For every class with fewer training examples than `target` (the majority class's
    /// count when `None`), enough samples to reach it.
    Balance {
        /// Count to reach per class.
        target: Option<usize>,
    },
}

/// What to generate and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenerateRequest {
    /// Which classes, how many.
    pub counts: ClassCounts,
    /// Temperature, top-k, top-p.
    pub sampling: SamplingConfig,
    /// Base seed; each sample's own seed (in the manifest) is derived from it.
    pub seed: u64,
    /// Also render each sample to `wav/<name>.wav` with Griffin-Lim.
    pub wav: bool,
    /// Griffin-Lim iterations for the WAV renderings.
    pub griffin_lim_iters: usize,
    /// Samples drawn together.
    pub batch_size: usize,
    /// Where to compute.
    pub device: DeviceChoice,
    /// Samples per class on the contact sheet.
    pub sheet_per_class: usize,
    /// Draw each sample from the decoder's fitted Gaussian (its mean plus one draw of the
    /// class's texture, see [`Texture`](crate::Texture)) rather than returning the smooth mean. Has no
    /// effect when the VQ-VAE has no `texture.json`.
    pub texture: bool,
    /// Match each generated class's mean spectral envelope to its real training cycles': once
    /// the whole corpus is drawn, add to every sample of a class, per Mel band, the real
    /// training cycles' mean dB minus the mean dB of the class's generated samples (clamped to
    /// each sample's own dB range). A class with fewer than
    /// [`ENVELOPE_SAMPLES`](crate::ENVELOPE_SAMPLES) samples is measured on calibration
    /// samples of fixed seeds as well.
    pub match_envelope: bool,
}

impl Default for GenerateRequest {
    fn default() -> Self {
        Self {
            counts: ClassCounts::Balance { target: None },
            sampling: SamplingConfig::default(),
            seed: 0,
            wav: false,
            griffin_lim_iters: 32,
            batch_size: 32,
            device: DeviceChoice::Cpu,
            sheet_per_class: 8,
            texture: true,
            match_envelope: false,
        }
    }
}

/// SplitMix64: a well-mixed 64-bit hash, to derive per-sample seeds.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The seed of sample `index` of class `class` in a run with base seed `seed`.
pub fn sample_seed(seed: u64, class: usize, index: usize) -> u64 {
    splitmix64(seed ^ splitmix64(((class as u64) << 40) ^ index as u64))
}

/// Resolves `counts` to a count per class index.
pub fn resolve_counts(
    counts: &ClassCounts,
    classes: &[String],
    train_counts: &[usize],
) -> Result<Vec<usize>> {
    let mut out = vec![0usize; classes.len()];
    match counts {
        ClassCounts::PerClass(list) => {
            for (name, n) in list {
                let i =
                    classes
                        .iter()
                        .position(|c| c == name)
                        .ok_or_else(|| Error::UnknownClass {
                            class: name.clone(),
                            valid: classes.to_vec(),
                        })?;
                out[i] += n;
            }
        }
        ClassCounts::Balance { target } => {
            let target = target.unwrap_or_else(|| train_counts.iter().copied().max().unwrap_or(0));
            for (o, &have) in out.iter_mut().zip(train_counts) {
                *o = target.saturating_sub(have);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_resolve_and_unknown_class_lists_valid_ones() {
        let classes: Vec<String> = ["normal", "crackle", "wheeze", "both"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let train = [100, 40, 20, 5];
        let got = resolve_counts(&ClassCounts::Balance { target: None }, &classes, &train).unwrap();
        assert_eq!(got, vec![0, 60, 80, 95]);
        let got =
            resolve_counts(&ClassCounts::Balance { target: Some(30) }, &classes, &train).unwrap();
        assert_eq!(got, vec![0, 0, 10, 25]);
        let got = resolve_counts(
            &ClassCounts::PerClass(vec![("wheeze".into(), 3)]),
            &classes,
            &train,
        )
        .unwrap();
        assert_eq!(got, vec![0, 0, 3, 0]);
        let err = resolve_counts(
            &ClassCounts::PerClass(vec![("stridor".into(), 3)]),
            &classes,
            &train,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("stridor") && err.contains("normal, crackle, wheeze, both"),
            "{err}"
        );
    }

    #[test]
    fn seeds_differ_per_sample_and_class() {
        let mut seen = std::collections::HashSet::new();
        for c in 0..4 {
            for i in 0..100 {
                assert!(seen.insert(sample_seed(7, c, i)));
            }
        }
        assert_eq!(sample_seed(7, 1, 2), sample_seed(7, 1, 2));
        assert_ne!(sample_seed(7, 1, 2), sample_seed(8, 1, 2));
    }
}
