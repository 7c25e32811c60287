//! Features for the classifier: log-Mel spectrograms made by the shared front end, per-Mel-bin
//! normalisation fitted on the training split, SpecAugment, and generated corpora mixed into
//! training.

use std::collections::BTreeMap;

use auscult_audio::{BinStats, BinStatsAccumulator, MelConfig, MelSpectrogram, Spectrogram};
use auscult_datasets::{Example, ExampleConfig, GeneratedCorpus};
use rand::Rng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The shared default front end, defined once in `auscult_datasets`.
pub use auscult_datasets::{default_examples, default_mel};

/// A set of equally shaped feature matrices with their labels, stored contiguously.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeatureSet {
    /// Mel bins per item.
    pub n_bins: usize,
    /// Frames per item.
    pub n_frames: usize,
    /// `[items, n_bins, n_frames]` row-major.
    pub data: Vec<f32>,
    /// Class index of each item.
    pub labels: Vec<usize>,
}

impl FeatureSet {
    /// An empty set of `n_bins x n_frames` items.
    pub fn empty(n_bins: usize, n_frames: usize) -> Self {
        Self {
            n_bins,
            n_frames,
            data: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// Values per item.
    pub fn item_len(&self) -> usize {
        self.n_bins * self.n_frames
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there is no item.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Item `i`'s values.
    pub fn item(&self, i: usize) -> &[f32] {
        let n = self.item_len();
        &self.data[i * n..(i + 1) * n]
    }

    /// Appends one item (checked against the set's shape; `what` names it in errors).
    pub fn push(&mut self, spec: &Spectrogram, label: usize, what: &str) -> Result<()> {
        if spec.n_bins != self.n_bins || spec.n_frames != self.n_frames {
            return Err(Error::Shape {
                what: what.to_string(),
                expected_bins: self.n_bins,
                expected_frames: self.n_frames,
                actual_bins: spec.n_bins,
                actual_frames: spec.n_frames,
            });
        }
        self.data.extend_from_slice(&spec.data);
        self.labels.push(label);
        Ok(())
    }

    /// Items per class (`n_classes` entries).
    pub fn class_counts(&self, n_classes: usize) -> Vec<usize> {
        let mut counts = vec![0; n_classes];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(l) {
                *c += 1;
            }
        }
        counts
    }

    /// Copies items `indices` into one contiguous `[indices.len(), item_len]` buffer.
    pub fn gather(&self, indices: &[usize]) -> Vec<f32> {
        let mut out = Vec::with_capacity(indices.len() * self.item_len());
        for &i in indices {
            out.extend_from_slice(self.item(i));
        }
        out
    }
}

/// Log-Mel features of `examples` with the front end `mel` (in parallel), checked to share one
/// shape. The examples must be at `mel.sample_rate`.
pub fn compute_features(examples: &[Example], mel: &MelConfig) -> Result<FeatureSet> {
    mel.validate()?;
    if let Some(e) = examples.iter().find(|e| e.sample_rate != mel.sample_rate) {
        return Err(Error::data(format!(
            "example {} is at {} Hz but the Mel front end expects {} Hz; load the data with the \
             model's example config (sample_rate {})",
            e.id, e.sample_rate, mel.sample_rate, mel.sample_rate
        )));
    }
    let chunk = examples
        .len()
        .div_ceil(rayon::current_num_threads().max(1))
        .max(1);
    let specs: Vec<Vec<Spectrogram>> = examples
        .par_chunks(chunk)
        .map(|part| -> Result<Vec<Spectrogram>> {
            let mut front = MelSpectrogram::new(mel)?;
            Ok(part.iter().map(|e| front.compute(&e.samples)).collect())
        })
        .collect::<Result<_>>()?;
    let mut iter = specs.iter().flatten();
    let Some(first) = iter.next() else {
        return Ok(FeatureSet::empty(mel.n_mels, 0));
    };
    let mut set = FeatureSet::empty(first.n_bins, first.n_frames);
    set.data.reserve(examples.len() * set.item_len());
    for (spec, e) in specs.iter().flatten().zip(examples) {
        set.push(spec, e.label, &e.id)?;
    }
    Ok(set)
}

/// Each example's recording as a group id (equal ids for examples cut from one source file),
/// for [`ItemNorm::Recording`].
pub fn recording_groups(examples: &[Example]) -> Vec<usize> {
    let mut ids: BTreeMap<&std::path::Path, usize> = BTreeMap::new();
    examples
        .iter()
        .map(|e| {
            let next = ids.len();
            *ids.entry(e.source.as_path()).or_insert(next)
        })
        .collect()
}

/// What is removed from each item on its own before the fitted per-bin normalisation.
///
/// ICBHI mixes stethoscopes whose gains and frequency responses differ (Littmann 3200 and
/// Meditron at 4 kHz, Meditron at 44.1 kHz); on a log scale both are additive, so subtracting an
/// item's own mean removes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ItemNorm {
    /// Nothing: absolute levels in dB.
    #[default]
    None,
    /// The item's mean over all bins and frames (its gain).
    Gain,
    /// Each bin's mean over the item's frames (its gain and spectral colour, as cepstral mean
    /// normalisation does).
    Spectrum,
    /// Each bin's mean and standard deviation over the item's frames (its gain, spectral
    /// colour and per-band noise level: mean and variance normalisation per utterance).
    Standardize,
    /// Each bin's mean over every frame of every item cut from the same recording (its
    /// stethoscope's gain and colour, kept apart from what differs between its cycles: a
    /// wheeze that fills one cycle is not subtracted from that cycle). An item whose
    /// recording is unknown (a generated spectrogram) loses its own mean, as with `Spectrum`.
    Recording,
}

impl std::str::FromStr for ItemNorm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(Self::None),
            "gain" => Ok(Self::Gain),
            "spectrum" => Ok(Self::Spectrum),
            "standardize" | "standardise" => Ok(Self::Standardize),
            "recording" => Ok(Self::Recording),
            other => Err(Error::config(
                "item_norm",
                format!("`{other}` is unknown; use none, gain, spectrum, standardize or recording"),
            )),
        }
    }
}

impl ItemNorm {
    /// Removes the statistics from every item of `data` (`[items, n_bins, n_frames]`) in
    /// place. `groups` names each item's recording (equal ids, same recording) for
    /// [`ItemNorm::Recording`]; without it every item is its own recording.
    pub fn apply_all(
        self,
        data: &mut [f32],
        n_bins: usize,
        n_frames: usize,
        groups: Option<&[usize]>,
    ) {
        let item_len = n_bins * n_frames;
        if item_len == 0 {
            return;
        }
        let (Self::Recording, Some(groups)) = (self, groups) else {
            data.chunks_mut(item_len)
                .for_each(|item| self.apply(item, n_frames));
            return;
        };
        // Per recording, each bin's mean over all its items' frames.
        let mut sums: BTreeMap<usize, (Vec<f64>, usize)> = BTreeMap::new();
        for (item, &g) in data.chunks(item_len).zip(groups) {
            let (sum, n) = sums.entry(g).or_insert_with(|| (vec![0.0; n_bins], 0));
            for (s, row) in sum.iter_mut().zip(item.chunks(n_frames)) {
                *s += row.iter().map(|&v| f64::from(v)).sum::<f64>();
            }
            *n += n_frames;
        }
        for (i, item) in data.chunks_mut(item_len).enumerate() {
            let Some((sum, n)) = groups.get(i).and_then(|g| sums.get(g)) else {
                // An item past the end of `groups`: its own recording.
                Self::Spectrum.apply(item, n_frames);
                continue;
            };
            for (row, s) in item.chunks_mut(n_frames).zip(sum) {
                let mean = (s / *n as f64) as f32;
                row.iter_mut().for_each(|v| *v -= mean);
            }
        }
    }

    /// Subtracts the means from one item (`[n_bins, n_frames]`, row-major) in place; an item
    /// alone is its own recording.
    pub fn apply(self, item: &mut [f32], n_frames: usize) {
        if n_frames == 0 || item.is_empty() {
            return;
        }
        match self {
            Self::None => {}
            Self::Gain => {
                let mean =
                    (item.iter().map(|&v| f64::from(v)).sum::<f64>() / item.len() as f64) as f32;
                item.iter_mut().for_each(|v| *v -= mean);
            }
            Self::Spectrum | Self::Recording => {
                for row in item.chunks_mut(n_frames) {
                    let mean =
                        (row.iter().map(|&v| f64::from(v)).sum::<f64>() / row.len() as f64) as f32;
                    row.iter_mut().for_each(|v| *v -= mean);
                }
            }
            Self::Standardize => {
                for row in item.chunks_mut(n_frames) {
                    let n = row.len() as f64;
                    let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
                    let var = row
                        .iter()
                        .map(|&v| (f64::from(v) - mean).powi(2))
                        .sum::<f64>()
                        / n;
                    // A floor keeps silent (constant) bins at zero instead of dividing by ~0.
                    let scale = 1.0 / var.sqrt().max(1e-3);
                    row.iter_mut()
                        .for_each(|v| *v = ((f64::from(*v) - mean) * scale) as f32);
                }
            }
        }
    }
}

/// Per-Mel-bin normalisation `(x - mean[bin]) / std[bin]`, fitted on the training split and
/// saved with the model (`normalization.json`), after the per-item [`ItemNorm`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    /// What each item loses on its own first (absent in files written before it existed:
    /// nothing).
    #[serde(default)]
    pub item: ItemNorm,
    /// Mean and standard deviation of each Mel bin over all training items and frames (dB;
    /// the spread floored at 1e-3 dB), after `item`.
    #[serde(flatten)]
    pub bins: BinStats,
}

impl Normalization {
    /// Fits the statistics on `set` (in f64) after removing `item` from each item.
    pub fn fit(set: &FeatureSet, item: ItemNorm) -> Result<Self> {
        Self::fit_grouped(set, item, None)
    }

    /// [`Normalization::fit`] with each item's recording (see [`ItemNorm::apply_all`]).
    pub fn fit_grouped(set: &FeatureSet, item: ItemNorm, groups: Option<&[usize]>) -> Result<Self> {
        let mut acc = BinStatsAccumulator::new(set.n_bins, set.n_frames);
        if let (ItemNorm::Recording, Some(_)) = (item, groups) {
            let mut data = set.data.clone();
            item.apply_all(&mut data, set.n_bins, set.n_frames, groups);
            data.chunks(set.item_len().max(1))
                .for_each(|it| acc.add(it));
        } else {
            let mut scratch = Vec::with_capacity(set.item_len());
            for i in 0..set.len() {
                scratch.clear();
                scratch.extend_from_slice(set.item(i));
                item.apply(&mut scratch, set.n_frames);
                acc.add(&scratch);
            }
        }
        let bins = acc.finish().ok_or_else(|| {
            Error::data("cannot fit the feature normalisation: the training split is empty")
        })?;
        Ok(Self { item, bins })
    }

    /// Normalises every item of `data` (`[items, bins, frames]`) in place.
    pub fn apply(&self, data: &mut [f32], n_frames: usize) {
        self.apply_grouped(data, n_frames, None);
    }

    /// [`Normalization::apply`] with each item's recording (see [`ItemNorm::apply_all`]).
    pub fn apply_grouped(&self, data: &mut [f32], n_frames: usize, groups: Option<&[usize]>) {
        let bins = self.bins.mean.len();
        if n_frames == 0 || bins == 0 {
            return;
        }
        self.item.apply_all(data, bins, n_frames, groups);
        for item in data.chunks_mut(bins * n_frames) {
            self.bins.normalise(item);
        }
    }
}

/// SpecAugment (Park et al. 2019) time and frequency masks, applied to normalised training
/// features only (masked values set to 0, the normalised mean).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecAugment {
    /// Number of frequency masks per item.
    pub freq_masks: usize,
    /// Maximum width of a frequency mask, in Mel bins (width uniform in `0..=max`).
    pub freq_width: usize,
    /// Number of time masks per item.
    pub time_masks: usize,
    /// Maximum width of a time mask, in frames.
    pub time_width: usize,
}

impl Default for SpecAugment {
    fn default() -> Self {
        Self {
            freq_masks: 2,
            freq_width: 8,
            time_masks: 2,
            time_width: 12,
        }
    }
}

impl SpecAugment {
    /// Masks one item (`[n_bins, n_frames]`) in place.
    pub fn apply(&self, item: &mut [f32], n_bins: usize, n_frames: usize, rng: &mut impl Rng) {
        for _ in 0..self.freq_masks {
            let w = rng.random_range(0..=self.freq_width.min(n_bins));
            let start = rng.random_range(0..=n_bins - w);
            for bin in start..start + w {
                item[bin * n_frames..(bin + 1) * n_frames].fill(0.0);
            }
        }
        for _ in 0..self.time_masks {
            let w = rng.random_range(0..=self.time_width.min(n_frames));
            let start = rng.random_range(0..=n_frames - w);
            for bin in 0..n_bins {
                item[bin * n_frames + start..bin * n_frames + start + w].fill(0.0);
            }
        }
    }
}

/// Freq-MixStyle (Schmid et al. 2022, the device-generalisation augmentation of DCASE
/// acoustic scene classification): with probability `p` per batch, each item's per-bin
/// statistics over time (mean and standard deviation) are replaced by a mix of its own and
/// those of another item of the batch, `lambda ~ Beta(alpha, alpha)` per item. The item keeps
/// its temporal structure (what the cycle sounds like) and takes on part of another
/// recording's spectral colour and per-band noise level (what the stethoscope sounds like).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreqMixStyle {
    /// Probability that a batch is restyled.
    pub p: f32,
    /// Beta parameter of the per-item mixing weight.
    pub alpha: f32,
}

impl Default for FreqMixStyle {
    fn default() -> Self {
        Self { p: 0.7, alpha: 0.4 }
    }
}

impl FreqMixStyle {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.p) {
            return Err(Error::config("freq_mixstyle.p", "must be in [0, 1]"));
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(Error::config("freq_mixstyle.alpha", "must be positive"));
        }
        Ok(())
    }

    /// Restyles a batch (`[items, n_bins, n_frames]` row-major) in place.
    pub fn apply(&self, x: &mut [f32], n_bins: usize, n_frames: usize, rng: &mut impl Rng) {
        let item_len = n_bins * n_frames;
        if item_len == 0 || x.len() < 2 * item_len || rng.random::<f32>() >= self.p {
            return;
        }
        let b = x.len() / item_len;
        let Ok(beta) = rand_distr::Beta::new(self.alpha, self.alpha) else {
            return;
        };
        // Per item and bin: mean and standard deviation over frames.
        let stats: Vec<(f32, f32)> = x
            .chunks(n_frames)
            .map(|row| {
                let n = row.len() as f32;
                let mean = row.iter().sum::<f32>() / n;
                let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
                (mean, (var + 1e-6).sqrt())
            })
            .collect();
        let mut perm: Vec<usize> = (0..b).collect();
        perm.shuffle(rng);
        for (i, &j) in perm.iter().enumerate() {
            let lambda: f32 = rand_distr::Distribution::sample(&beta, rng);
            for bin in 0..n_bins {
                let (m_i, s_i) = stats[i * n_bins + bin];
                let (m_j, s_j) = stats[j * n_bins + bin];
                let m = lambda * m_i + (1.0 - lambda) * m_j;
                let s = lambda * s_i + (1.0 - lambda) * s_j;
                let row =
                    &mut x[i * item_len + bin * n_frames..i * item_len + (bin + 1) * n_frames];
                row.iter_mut().for_each(|v| *v = (*v - m_i) / s_i * s + m);
            }
        }
    }
}

/// How much of the generated corpora goes into training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum AugmentMix {
    /// Every generated sample.
    #[default]
    All,
    /// `ratio x` the number of real training examples, drawn at random from the corpora.
    Ratio(f32),
    /// For each class, generated samples are added until the class has this many training
    /// examples (real + generated), as far as the corpora hold enough.
    PerClass(usize),
}

/// Checks that `corpus` was made with this front end (its manifest's `mel` and `examples`
/// equal ours).
pub fn check_front_end(
    corpus: &GeneratedCorpus,
    mel: &MelConfig,
    examples: &ExampleConfig,
) -> Result<()> {
    let ours_mel = serde_json::to_value(mel).map_err(|source| Error::Json {
        path: corpus.dir.join("manifest.json"),
        source,
    })?;
    let ours_ex = serde_json::to_value(examples).map_err(|source| Error::Json {
        path: corpus.dir.join("manifest.json"),
        source,
    })?;
    for (field, theirs, ours) in [
        ("mel", &corpus.manifest.mel, &ours_mel),
        ("examples", &corpus.manifest.examples, &ours_ex),
    ] {
        if !json_equal(theirs, ours) {
            return Err(Error::FrontEndMismatch {
                path: corpus.dir.clone(),
                field,
                corpus: theirs.to_string(),
                classifier: ours.to_string(),
            });
        }
    }
    Ok(())
}

/// JSON equality that treats numbers by value (so `4.0` and `4` agree, and f32 round trips).
fn json_equal(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y || ((x - y).abs() <= 1e-6 * x.abs().max(y.abs())),
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(u, v)| json_equal(u, v))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, u)| y.get(k).is_some_and(|v| json_equal(u, v)))
        }
        _ => a == b,
    }
}

/// Loads the generated corpora (checked against the front end and the classes) and returns the
/// selection `mix` asks for, given the real training set's class counts. Drawing is seeded.
/// `shape` is the training features' `(n_bins, n_frames)`.
pub fn load_augmentation(
    corpora: &[GeneratedCorpus],
    classes: &[String],
    (mel, examples): (&MelConfig, &ExampleConfig),
    (n_bins, n_frames): (usize, usize),
    real_counts: &[usize],
    mix: AugmentMix,
    rng: &mut impl Rng,
) -> Result<FeatureSet> {
    let mut all = FeatureSet::empty(n_bins, n_frames);
    for corpus in corpora {
        check_front_end(corpus, mel, examples)?;
        for (i, (class, spec)) in corpus.load()?.into_iter().enumerate() {
            let label = Error::class_index(classes, &class)?;
            let what = format!("{} sample {i}", corpus.dir.display());
            all.push(&spec, label, &what)?;
        }
    }
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.shuffle(rng);
    let chosen: Vec<usize> = match mix {
        AugmentMix::All => (0..all.len()).collect(),
        AugmentMix::Ratio(r) => {
            if !(r.is_finite() && r >= 0.0) {
                return Err(Error::config(
                    "augment_mix",
                    format!("ratio {r} must be >= 0"),
                ));
            }
            let n = ((r as f64) * real_counts.iter().sum::<usize>() as f64).round() as usize;
            order.into_iter().take(n.min(all.len())).collect()
        }
        AugmentMix::PerClass(target) => {
            let mut need: BTreeMap<usize, usize> = real_counts
                .iter()
                .enumerate()
                .map(|(c, &n)| (c, target.saturating_sub(n)))
                .collect();
            order
                .into_iter()
                .filter(|&i| match need.get_mut(&all.labels[i]) {
                    Some(n) if *n > 0 => {
                        *n -= 1;
                        true
                    }
                    _ => false,
                })
                .collect()
        }
    };
    let mut out = FeatureSet::empty(n_bins, n_frames);
    out.data = all.gather(&chosen);
    out.labels = chosen.iter().map(|&i| all.labels[i]).collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use auscult_experiment::seeded_rng;

    fn set(items: &[(&[f32], usize)], bins: usize, frames: usize) -> FeatureSet {
        let mut s = FeatureSet::empty(bins, frames);
        for (data, label) in items {
            s.push(
                &Spectrogram {
                    data: data.to_vec(),
                    n_bins: bins,
                    n_frames: frames,
                },
                *label,
                "test",
            )
            .unwrap();
        }
        s
    }

    #[test]
    fn normalisation_is_per_bin_over_items_and_frames() {
        // 2 bins x 2 frames, two items. bin 0 values: 1,3,5,7 -> mean 4, std sqrt(5)
        // bin 1 values: 10,10,10,10 -> mean 10, std floored at 1e-3.
        let s = set(
            &[(&[1.0, 3.0, 10.0, 10.0], 0), (&[5.0, 7.0, 10.0, 10.0], 1)],
            2,
            2,
        );
        let n = Normalization::fit(&s, ItemNorm::None).unwrap();
        assert!((n.bins.mean[0] - 4.0).abs() < 1e-6 && (n.bins.mean[1] - 10.0).abs() < 1e-6);
        assert!((n.bins.std[0] - 5f32.sqrt()).abs() < 1e-6);
        assert_eq!(n.bins.std[1], 1e-3);
        let mut d = s.data.clone();
        n.apply(&mut d, 2);
        assert!((d[0] - (1.0 - 4.0) / 5f32.sqrt()).abs() < 1e-6);
        assert_eq!(d[2], 0.0);
        assert!(Normalization::fit(&FeatureSet::empty(2, 2), ItemNorm::None).is_err());
    }

    #[test]
    fn item_norm_removes_gain_or_spectral_colour() {
        // One item, 2 bins x 2 frames: [[1, 3], [10, 14]].
        let item = [1.0, 3.0, 10.0, 14.0];
        let mut g = item;
        ItemNorm::Gain.apply(&mut g, 2); // mean 7
        assert_eq!(g, [-6.0, -4.0, 3.0, 7.0]);
        let mut sp = item;
        ItemNorm::Spectrum.apply(&mut sp, 2); // bin means 2 and 12
        assert_eq!(sp, [-1.0, 1.0, -2.0, 2.0]);
        let mut none = item;
        ItemNorm::None.apply(&mut none, 2);
        let mut st = vec![1.0, 3.0, 10.0, 10.0];
        ItemNorm::Standardize.apply(&mut st, 2); // bin 0: mean 2, sd 1; bin 1 constant
        assert_eq!(st, vec![-1.0, 1.0, 0.0, 0.0]);
        assert_eq!(
            "standardise".parse::<ItemNorm>().unwrap(),
            ItemNorm::Standardize
        );

        // Freq-MixStyle: p 0 leaves the batch alone; p 1 moves each bin's mean and spread
        // between the item's own and its partner's, and keeps the shape over time.
        let (bins, frames) = (3, 50);
        let mut rng = auscult_experiment::seeded_rng(9, 0);
        let batch: Vec<f32> = (0..2 * bins * frames)
            .map(|i| {
                let (item, t) = (i / (bins * frames), i % frames);
                (t as f32 * 0.7).sin() * (1.0 + 4.0 * item as f32) + 10.0 * item as f32
            })
            .collect();
        let mut x = batch.clone();
        FreqMixStyle { p: 0.0, alpha: 0.4 }.apply(&mut x, bins, frames, &mut rng);
        assert_eq!(x, batch);
        let row_mean = |r: &[f32]| r.iter().sum::<f32>() / r.len() as f32;
        let (lo, hi) = (
            row_mean(&batch[..frames]),
            row_mean(&batch[bins * frames..(bins + 1) * frames]),
        );
        let fms = FreqMixStyle { p: 1.0, alpha: 0.4 };
        let mut moved = false;
        for _ in 0..10 {
            let mut x = batch.clone();
            fms.apply(&mut x, bins, frames, &mut rng);
            for (row, orig) in x.chunks(frames).zip(batch.chunks(frames)) {
                let mean = row_mean(row);
                assert!(
                    (lo - 1e-3..hi + 1e-3).contains(&mean),
                    "{mean} not in {lo}..{hi}"
                );
                // Same temporal shape: perfectly correlated with the original row.
                let m0 = orig.iter().sum::<f32>() / frames as f32;
                let cov: f32 = row
                    .iter()
                    .zip(orig)
                    .map(|(a, b)| (a - mean) * (b - m0))
                    .sum();
                assert!(cov > 0.0);
                moved |= (mean - m0).abs() > 0.5;
            }
        }
        assert!(moved);
        assert!(FreqMixStyle { p: 1.5, alpha: 0.4 }.validate().is_err());
        assert!("cmvn".parse::<ItemNorm>().is_err());
        assert_eq!(none, item);
        // A device's colour (a constant per bin) is gone after Spectrum, in fit and apply.
        let coloured = [1.0 + 5.0, 3.0 + 5.0, 10.0 - 8.0, 14.0 - 8.0];
        let s = set(&[(&item, 0), (&coloured, 1)], 2, 2);
        let n = Normalization::fit(&s, ItemNorm::Spectrum).unwrap();
        assert_eq!(n.item, ItemNorm::Spectrum);
        let mut d = s.data.clone();
        n.apply(&mut d, 2);
        assert_eq!(d[..4], d[4..]);
        // Files written before the field existed read as no item normalisation.
        let old: Normalization = serde_json::from_str(r#"{"mean":[0.0],"std":[1.0]}"#).unwrap();
        assert_eq!(old.item, ItemNorm::None);
    }

    #[test]
    fn recording_norm_removes_the_recordings_mean_not_the_items() {
        // Two items of recording 0 (1 bin x 2 frames): [0, 2] and [4, 6], mean 3; one item of
        // recording 1: [10, 20], mean 15.
        let mut d = vec![0.0, 2.0, 4.0, 6.0, 10.0, 20.0];
        ItemNorm::Recording.apply_all(&mut d, 1, 2, Some(&[0, 0, 1]));
        assert_eq!(d, vec![-3.0, -1.0, 1.0, 3.0, -5.0, 5.0]);
        // Without recordings, or past their end, each item is its own recording.
        let mut d = vec![0.0, 2.0, 4.0, 6.0];
        ItemNorm::Recording.apply_all(&mut d, 1, 2, None);
        assert_eq!(d, vec![-1.0, 1.0, -1.0, 1.0]);
        let mut d = vec![0.0, 2.0, 4.0, 6.0];
        ItemNorm::Recording.apply_all(&mut d, 1, 2, Some(&[0]));
        assert_eq!(d, vec![-1.0, 1.0, -1.0, 1.0]);
        // Other norms ignore the groups.
        let mut d = vec![0.0, 2.0, 4.0, 6.0];
        ItemNorm::Spectrum.apply_all(&mut d, 1, 2, Some(&[0, 0]));
        assert_eq!(d, vec![-1.0, 1.0, -1.0, 1.0]);
        // Fit and apply agree: a recording's colour is gone, its items' differences stay.
        let s = set(
            &[(&[0.0, 2.0], 0), (&[4.0, 6.0], 1), (&[10.0, 20.0], 1)],
            1,
            2,
        );
        let n = Normalization::fit_grouped(&s, ItemNorm::Recording, Some(&[0, 0, 1])).unwrap();
        assert!(n.bins.mean[0].abs() < 1e-6);
        let mut d = s.data.clone();
        n.apply_grouped(&mut d, 2, Some(&[0, 0, 1]));
        assert!(d[0] < d[2] && d[1] < d[3]);
        assert_eq!(
            "Recording".parse::<ItemNorm>().unwrap(),
            ItemNorm::Recording
        );
    }

    #[test]
    fn shapes_are_checked() {
        let mut s = FeatureSet::empty(2, 2);
        let bad = Spectrogram {
            data: vec![0.0; 6],
            n_bins: 2,
            n_frames: 3,
        };
        let err = s.push(&bad, 0, "corpus x").unwrap_err().to_string();
        assert!(err.contains("corpus x") && err.contains("2 x 2"), "{err}");
    }

    #[test]
    fn spec_augment_masks_whole_rows_and_columns() {
        let aug = SpecAugment {
            freq_masks: 1,
            freq_width: 3,
            time_masks: 1,
            time_width: 4,
        };
        let (b, t) = (8, 10);
        let mut masked_any = false;
        let mut rng = seeded_rng(4, 0);
        for _ in 0..20 {
            let mut item = vec![1.0f32; b * t];
            aug.apply(&mut item, b, t, &mut rng);
            let zero_rows = (0..b)
                .filter(|&r| item[r * t..(r + 1) * t].iter().all(|&v| v == 0.0))
                .count();
            let zero_cols = (0..t)
                .filter(|&c| (0..b).all(|r| item[r * t + c] == 0.0))
                .count();
            assert!(zero_rows <= 3 && zero_cols <= 4 + usize::from(zero_rows == b) * t);
            // Every zero lies in a fully zero row or column.
            for r in 0..b {
                for c in 0..t {
                    if item[r * t + c] == 0.0 {
                        let row = item[r * t..(r + 1) * t].iter().all(|&v| v == 0.0);
                        let col = (0..b).all(|rr| item[rr * t + c] == 0.0);
                        assert!(row || col);
                    }
                }
            }
            masked_any |= zero_rows + zero_cols > 0;
        }
        assert!(masked_any);
    }

    #[test]
    fn json_equality_by_value() {
        let a: serde_json::Value = serde_json::json!({"x": 4.0, "y": [1, 2], "z": "a"});
        let b: serde_json::Value = serde_json::json!({"x": 4, "y": [1.0, 2.0], "z": "a"});
        assert!(json_equal(&a, &b));
        let c: serde_json::Value = serde_json::json!({"x": 4.5, "y": [1, 2], "z": "a"});
        assert!(!json_equal(&a, &c));
    }
}
