//! Everything prepared before a run's first step: the features of every split, the fitted
//! normalisation, the generated examples mixed in, the items of an epoch and the class
//! weights; and, for a new run, `config.json` and `provenance.json`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use auscult_datasets::{Example, ExampleSet, GeneratedCorpus};
use auscult_experiment::{Provenance, RunDir, seeded_rng};

use super::streams::{STREAM_AUGMENT_SELECT, STREAM_OVERSAMPLE};
use crate::config::{CONFIG_SCHEMA_VERSION, ModelConfig, TrainConfig};
use crate::data::{
    FeatureSet, Normalization, compute_features, load_augmentation, recording_groups,
};
use crate::files;
use crate::inference::source_rates;
use crate::loss::inverse_frequency_weights;
use crate::sampler::oversample;
use crate::{Error, Result};

/// The dataset roots of the generated corpora and every source file of `data` (each
/// recording once) and of `augment` (their manifests), sorted: what the provenance
/// fingerprints.
pub(super) fn data_sources(
    data: &ExampleSet,
    augment: &[GeneratedCorpus],
) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut sources: Vec<PathBuf> = data
        .train
        .iter()
        .chain(&data.val)
        .chain(&data.test)
        .map(|e| e.source.clone())
        .collect();
    sources.sort();
    sources.dedup();
    let mut roots: Vec<PathBuf> = augment.iter().map(|c| c.dir.clone()).collect();
    sources.extend(
        roots
            .iter()
            .map(|d| d.join(auscult_datasets::MANIFEST_FILE)),
    );
    roots.sort();
    (roots, sources)
}

/// The recording chain of each of `n_items` training items as a group id: the device in an
/// ICBHI file name and the source file's sample rate for the real examples (`real`, first),
/// one group for the generated items after them.
fn recording_chains(real: &[Example], n_items: usize) -> Vec<usize> {
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    real.iter()
        .zip(source_rates(real))
        .map(|(e, rate)| {
            let device = e.device().map_or("unknown", |d| d.code());
            format!("{device}@{}", rate.unwrap_or(0))
        })
        .chain(std::iter::repeat_with(|| "generated".to_string()))
        .take(n_items)
        .map(|key| {
            let next = ids.len();
            *ids.entry(key).or_insert(next)
        })
        .collect()
}

/// Everything prepared before the first step.
pub(super) struct Prepared {
    pub(super) classes: Vec<String>,
    pub(super) train: FeatureSet,
    pub(super) val: FeatureSet,
    pub(super) test: FeatureSet,
    /// Patient of every validation item (for patient-level bootstrap intervals).
    pub(super) val_patients: Vec<String>,
    /// Patient of every test item.
    pub(super) test_patients: Vec<String>,
    /// Indices into `train` forming one epoch of instance sampling (oversampled when asked).
    pub(super) epoch_items: Vec<usize>,
    /// Recording chain of every training item when `device_balance` or `device_adversarial`
    /// is on (empty otherwise).
    pub(super) groups: Vec<usize>,
    pub(super) n_real: usize,
    pub(super) class_weights: Vec<f32>,
}

/// Prepares a run in `run` (a run resumed `from_checkpoint` reads its normalisation back and
/// writes no config or provenance).
pub(super) fn prepare(
    cfg: &TrainConfig,
    data: &ExampleSet,
    augment: &[GeneratedCorpus],
    run: &RunDir,
    from_checkpoint: bool,
) -> Result<Prepared> {
    let n_classes = data.classes.len();
    if data.train.is_empty() {
        return Err(Error::data(
            "the training split is empty: check --data and --split (every patient may be in the test split)",
        ));
    }
    let mut train = compute_features(&data.train, &cfg.mel)?;
    let mut val = compute_features(&data.val, &cfg.mel)?;
    let mut test = compute_features(&data.test, &cfg.mel)?;
    let (n_bins, n_frames) = (train.n_bins, train.n_frames);
    for (set, name) in [(&mut val, "validation"), (&mut test, "test")] {
        if set.is_empty() {
            *set = FeatureSet::empty(n_bins, n_frames);
        } else if (set.n_bins, set.n_frames) != (n_bins, n_frames) {
            return Err(Error::data(format!(
                "{name} features are {} x {} but training features are {n_bins} x {n_frames}; load all splits with one example config",
                set.n_bins, set.n_frames
            )));
        }
    }
    let norm = if from_checkpoint {
        run.load_json::<Normalization>(files::NORMALIZATION)?
    } else {
        let recordings = recording_groups(&data.train);
        let norm = Normalization::fit_grouped(&train, cfg.item_norm, Some(&recordings))?;
        run.save_json(files::NORMALIZATION, &norm)?;
        norm
    };
    let n_real = train.len();
    let real_counts = train.class_counts(n_classes);
    if !augment.is_empty() {
        let mut rng = seeded_rng(cfg.seed, STREAM_AUGMENT_SELECT);
        let generated = load_augmentation(
            augment,
            &data.classes,
            (&cfg.mel, &cfg.examples),
            (n_bins, n_frames),
            &real_counts,
            cfg.augment_mix,
            &mut rng,
        )?;
        train.data.extend_from_slice(&generated.data);
        train.labels.extend_from_slice(&generated.labels);
    }
    // Generated items follow the real ones and have no recording (each is its own).
    for (set, examples) in [
        (&mut train, &data.train),
        (&mut val, &data.val),
        (&mut test, &data.test),
    ] {
        norm.apply_grouped(&mut set.data, n_frames, Some(&recording_groups(examples)));
    }
    let groups = if cfg.device_balance || cfg.device_adversarial > 0.0 {
        recording_chains(&data.train, train.len())
    } else {
        Vec::new()
    };
    let epoch_items = if cfg.oversample {
        oversample(
            &train.labels,
            n_classes,
            &mut seeded_rng(cfg.seed, STREAM_OVERSAMPLE),
        )?
    } else {
        (0..train.len()).collect()
    };
    if epoch_items.len() < 2 {
        return Err(Error::data("training needs at least 2 examples"));
    }
    let class_weights = inverse_frequency_weights(&train.class_counts(n_classes));
    if !from_checkpoint {
        let config = ModelConfig {
            schema_version: CONFIG_SCHEMA_VERSION,
            created_by: format!("auscult-classifier {}", env!("CARGO_PKG_VERSION")),
            classes: data.classes.clone(),
            n_bins,
            n_frames,
            train: cfg.clone(),
        };
        run.save_json(files::CONFIG, &config)?;
        let (roots, sources) = data_sources(data, augment);
        let provenance = Provenance::new(roots, &sources, cfg.seed)?;
        run.save_json(files::PROVENANCE, &provenance)?;
    }
    Ok(Prepared {
        classes: data.classes.clone(),
        train,
        val,
        test,
        val_patients: data.val.iter().map(|e| e.patient.clone()).collect(),
        test_patients: data.test.iter().map(|e| e.patient.clone()).collect(),
        epoch_items,
        groups,
        n_real,
        class_weights,
    })
}
