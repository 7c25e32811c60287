//! The quality gate of arm (e): the generated samples that arm (a)'s model assigns to their
//! conditioned class, and the probabilities the same model gives real cycles.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use auscult_classifier::corpus_class_probability;
use auscult_datasets::{GeneratedCorpus, MANIFEST_FILE};
use auscult_study::layout;

use crate::commands::train::{DATA_FILE, DataSpec};

/// Writes the gated copy of `corpus` into `gated`: the samples `model` assigns to their
/// conditioned class with probability >= that class's threshold (a class without one keeps
/// nothing). Returns the kept count per class and the mean probability of the conditioned
/// class per class.
pub(super) fn gate_corpus(
    model: &Path,
    corpus: &Path,
    gated: &Path,
    thresholds: &BTreeMap<String, f64>,
) -> anyhow::Result<(BTreeMap<String, usize>, BTreeMap<String, f64>)> {
    let source = GeneratedCorpus::open(corpus)?;
    let quality = corpus_class_probability(model, &source)
        .with_context(|| format!("quality gate with {}", model.display()))?;
    if gated.exists() {
        std::fs::remove_dir_all(gated)
            .with_context(|| format!("cannot clear {}", gated.display()))?;
    }
    std::fs::create_dir_all(gated).with_context(|| format!("cannot create {}", gated.display()))?;
    let mut manifest = source.manifest.clone();
    let mut kept = BTreeMap::new();
    for class in &manifest.classes {
        kept.insert(class.clone(), 0);
    }
    let keep: std::collections::HashSet<&str> = quality
        .iter()
        .filter(|q| {
            thresholds
                .get(&q.class)
                .is_some_and(|&t| f64::from(q.probability) >= t)
        })
        .map(|q| q.file.as_str())
        .collect();
    manifest.samples.retain(|s| keep.contains(s.file.as_str()));
    for sample in &manifest.samples {
        std::fs::copy(source.dir.join(&sample.file), gated.join(&sample.file))
            .with_context(|| format!("cannot copy {}", sample.file))?;
        *kept.entry(sample.class.clone()).or_insert(0) += 1;
    }
    auscult_experiment::write_json_atomic(gated.join(MANIFEST_FILE), &manifest)?;
    auscult_experiment::write_json_atomic(gated.join(layout::GATE_FILE), &quality)?;
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for q in &quality {
        let e = sums.entry(q.class.clone()).or_default();
        e.0 += f64::from(q.probability);
        e.1 += 1;
    }
    let mean = sums
        .into_iter()
        .map(|(c, (sum, n))| (c, sum / n.max(1) as f64))
        .collect();
    Ok((kept, mean))
}

/// Probabilities a model gives real cycles for their own class, per class.
pub(super) struct RealProbabilities {
    /// On the validation cycles (training cycles when there are none): the gate's yardstick.
    pub(super) reference: BTreeMap<String, Vec<f64>>,
    /// On the test cycles: a diagnostic for the report only, it decides nothing.
    pub(super) test: BTreeMap<String, Vec<f64>>,
}

impl RealProbabilities {
    /// Runs `model` on the data it was trained on.
    pub(super) fn of(model: &Path) -> anyhow::Result<Self> {
        let clf = auscult_classifier::Classifier::load(model)
            .with_context(|| format!("loading the model in {}", model.display()))?;
        let spec: DataSpec = auscult_experiment::read_json(model.join(DATA_FILE))?;
        let data = spec.load(&clf.config().train)?;
        let own = |examples: &[auscult_datasets::Example]| -> anyhow::Result<_> {
            let probs = clf.predict_examples(examples)?;
            let mut by_class: BTreeMap<String, Vec<f64>> = BTreeMap::new();
            for (example, p) in examples.iter().zip(&probs) {
                if let (Some(class), Some(&q)) =
                    (clf.classes().get(example.label), p.get(example.label))
                {
                    by_class
                        .entry(class.clone())
                        .or_default()
                        .push(f64::from(q));
                }
            }
            Ok(by_class)
        };
        let reference = if data.val.is_empty() {
            own(&data.train)?
        } else {
            own(&data.val)?
        };
        Ok(Self {
            reference,
            test: own(&data.test)?,
        })
    }
}
