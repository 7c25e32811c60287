//! The quality gate of a generated corpus: the probability a classifier gives each sample's
//! conditioned class.

use std::path::Path;

use auscult_audio::Spectrogram;
use auscult_datasets::GeneratedCorpus;
use serde::{Deserialize, Serialize};

use super::classifier::Classifier;
use crate::metrics::argmax;
use crate::{Error, Result};

/// The quality gate of a generated sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleQuality {
    /// The sample's `.npy` file (relative to the corpus directory).
    pub file: String,
    /// The class it was generated for.
    pub class: String,
    /// The classifier's probability of that class.
    pub probability: f32,
    /// The classifier's most probable class.
    pub predicted: String,
}

/// For every sample of `corpus`, the probability the classifier in `model_dir` gives to the
/// class the sample was conditioned on (so samples can be kept above a threshold). The corpus
/// must use the classifier's front end and classes.
pub fn corpus_class_probability(
    model_dir: &Path,
    corpus: &GeneratedCorpus,
) -> Result<Vec<SampleQuality>> {
    let clf = Classifier::load(model_dir)?;
    let cfg = &clf.config().train;
    crate::data::check_front_end(corpus, &cfg.mel, &cfg.examples)?;
    let loaded = corpus.load()?;
    let specs: Vec<Spectrogram> = loaded.iter().map(|(_, s)| s.clone()).collect();
    let probs = clf.predict_spectrograms(&specs)?;
    let classes = clf.classes();
    loaded
        .iter()
        .zip(&probs)
        .zip(&corpus.manifest.samples)
        .map(|(((class, _), p), sample)| {
            let c = Error::class_index(classes, class)?;
            Ok(SampleQuality {
                file: sample.file.clone(),
                class: class.clone(),
                probability: p[c],
                predicted: classes[argmax(p)].clone(),
            })
        })
        .collect()
}
