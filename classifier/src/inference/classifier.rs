//! A trained classifier loaded from its run directory (`config.json`, `normalization.json`,
//! `decision.json`, the weights), its predictions on features, spectrograms, examples and
//! clips, and its decision on one row of probabilities.

use std::path::{Path, PathBuf};

use auscult_audio::{MelSpectrogram, Spectrogram};
use auscult_datasets::Example;
use auscult_experiment::{DeviceChoice, RunDir, device, load_module, seeded_rng};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use serde::Serialize;
use serde::ser::SerializeMap;

use super::predict::{BATCH, predict_probabilities};
use crate::binary::{DecisionRule, positive_class};
use crate::config::ModelConfig;
use crate::data::{FeatureSet, Normalization, compute_features, recording_groups};
use crate::files;
use crate::metrics::argmax;
use crate::model::Cnn;
use crate::{Error, Result};

/// A trained classifier loaded from its run directory.
#[derive(Debug)]
pub struct Classifier {
    config: ModelConfig,
    decision: Option<DecisionRule>,
    norm: Normalization,
    model: Cnn,
    device: Device,
    front_end: MelSpectrogram,
    dir: PathBuf,
}

impl Classifier {
    /// Loads the run in `dir` on the CPU: `config.json`, `normalization.json`, then the weights
    /// (`best.bpk`, else `model.bpk`).
    pub fn load(dir: &Path) -> Result<Self> {
        Self::load_on(dir, DeviceChoice::Cpu)
    }

    /// Loads the run in `dir` on the chosen device.
    pub fn load_on(dir: &Path, choice: DeviceChoice) -> Result<Self> {
        let run = RunDir::open(dir)?;
        let config: ModelConfig = run.load_json(files::CONFIG)?;
        let config_path = run.file(files::CONFIG);
        config
            .train
            .validate()
            .map_err(|e| Error::data(format!("{}: {e}", config_path.display())))?;
        if config.classes.len() < 2
            || config.n_bins != config.train.mel.n_mels
            || config.n_frames == 0
        {
            return Err(Error::data(format!(
                "{}: {} classes, {} input bins for {} Mel bins and {} frames: not a classifier's configuration",
                config_path.display(),
                config.classes.len(),
                config.n_bins,
                config.train.mel.n_mels,
                config.n_frames
            )));
        }
        let norm: Normalization = run.load_json(files::NORMALIZATION)?;
        let bins = &norm.bins;
        if bins.mean.iter().chain(&bins.std).any(|v| !v.is_finite())
            || bins.std.iter().any(|&s| s <= 0.0)
        {
            return Err(Error::data(format!(
                "{}: holds a non-finite mean or a non-positive spread",
                run.file(files::NORMALIZATION).display()
            )));
        }
        if bins.mean.len() != config.n_bins || bins.std.len() != config.n_bins {
            return Err(Error::data(format!(
                "{}: normalisation has {} bins but the model expects {}; the run directory is inconsistent",
                run.file(files::NORMALIZATION).display(),
                bins.mean.len(),
                config.n_bins
            )));
        }
        let decision = if run.file(files::DECISION).exists() {
            let d: DecisionRule = run.load_json(files::DECISION)?;
            let pos = positive_class(&config.classes);
            if pos.is_none_or(|p| config.classes[p] != d.positive_class)
                || !(0.0..=1.0).contains(&d.threshold)
            {
                return Err(Error::data(format!(
                    "{}: positive class `{}` with threshold {} does not fit a model of classes {}",
                    run.file(files::DECISION).display(),
                    d.positive_class,
                    d.threshold,
                    config.classes.join(", ")
                )));
            }
            Some(d)
        } else {
            None
        };
        let device = device(choice)?;
        let weights = [files::BEST, files::MODEL]
            .iter()
            .map(|f| run.file(f))
            .find(|p| p.exists())
            .ok_or_else(|| {
                Error::data(format!(
                    "{} holds no weights (best.bpk or model.bpk): has training finished an epoch?",
                    dir.display()
                ))
            })?;
        let model =
            config
                .train
                .model
                .init(config.classes.len(), &device, &mut seeded_rng(0, 0))?;
        let model = load_module(model, weights)?.valid();
        let front_end = MelSpectrogram::new(&config.train.mel)?;
        Ok(Self {
            config,
            decision,
            norm,
            model,
            device,
            front_end,
            dir: dir.to_path_buf(),
        })
    }

    /// Class names in label order.
    pub fn classes(&self) -> &[String] {
        &self.config.classes
    }

    /// The run's saved configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A binary model's decision rule (`decision.json`), when training chose one.
    pub fn decision(&self) -> Option<&DecisionRule> {
        self.decision.as_ref()
    }

    /// The predicted class of one row of probabilities: the positive class of a binary model
    /// when its probability reaches the decision threshold, else the most probable class.
    pub fn decide(&self, probabilities: &[f32]) -> usize {
        decide(self.classes(), self.decision.as_ref(), probabilities)
    }

    /// `set`'s features normalised as in training (`groups`: each item's recording, see
    /// [`crate::ItemNorm::Recording`]), after checking their shape against the model's.
    fn normalised_input(&self, set: &FeatureSet, groups: Option<&[usize]>) -> Result<Vec<f32>> {
        if (set.n_bins, set.n_frames) != (self.config.n_bins, self.config.n_frames) {
            return Err(Error::Shape {
                what: "input".into(),
                expected_bins: self.config.n_bins,
                expected_frames: self.config.n_frames,
                actual_bins: set.n_bins,
                actual_frames: set.n_frames,
            });
        }
        let mut data = set.data.clone();
        self.norm.apply_grouped(&mut data, set.n_frames, groups);
        Ok(data)
    }

    /// Class probabilities of raw (un-normalised dB log-Mel) features, each item its own
    /// recording.
    pub fn predict_features(&self, set: &FeatureSet) -> Result<Vec<Vec<f32>>> {
        self.predict_grouped(set, None)
    }

    /// Class probabilities of raw features whose items come from the recordings `groups`
    /// names (equal ids, one recording).
    fn predict_grouped(&self, set: &FeatureSet, groups: Option<&[usize]>) -> Result<Vec<Vec<f32>>> {
        if set.is_empty() {
            return Ok(Vec::new());
        }
        let data = self.normalised_input(set, groups)?;
        Ok(predict_probabilities(
            &self.model,
            &data,
            set.n_bins,
            set.n_frames,
            &self.device,
        ))
    }

    /// The network's embeddings (the input of its classification head) of raw (un-normalised
    /// dB log-Mel) features, one row per item.
    pub fn embed_features(&self, set: &FeatureSet) -> Result<Vec<Vec<f32>>> {
        if set.is_empty() {
            return Ok(Vec::new());
        }
        let data = self.normalised_input(set, None)?;
        let item_len = set.n_bins * set.n_frames;
        let mut out = Vec::with_capacity(set.len());
        for chunk in data.chunks(BATCH * item_len) {
            let b = chunk.len() / item_len;
            let x = Tensor::<4>::from_data(
                TensorData::new(chunk.to_vec(), [b, 1, set.n_bins, set.n_frames]),
                &self.device,
            );
            let emb = self.model.embed(x);
            let k = emb.dims()[1];
            let flat: Vec<f32> = emb.into_data().try_to_vec().unwrap_or_default();
            out.extend(flat.chunks(k.max(1)).map(<[f32]>::to_vec));
        }
        Ok(out)
    }

    /// Class probabilities of raw dB log-Mel spectrograms (for example a generated corpus).
    pub fn predict_spectrograms(&self, specs: &[Spectrogram]) -> Result<Vec<Vec<f32>>> {
        let mut set = FeatureSet::empty(self.config.n_bins, self.config.n_frames);
        for (i, s) in specs.iter().enumerate() {
            set.push(s, 0, &format!("spectrogram {i}"))?;
        }
        self.predict_features(&set)
    }

    /// Class probabilities of examples cut with the model's example config.
    pub fn predict_examples(&self, examples: &[Example]) -> Result<Vec<Vec<f32>>> {
        let set = compute_features(examples, &self.config.train.mel)?;
        self.predict_grouped(&set, Some(&recording_groups(examples)))
    }

    /// Class probabilities of fixed-length clips at the model's sample rate, each clip from
    /// its own recording.
    pub fn predict_clips(&mut self, clips: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
        let set = self.clip_features(clips)?;
        self.predict_grouped(&set, None)
    }

    /// [`Classifier::predict_clips`] with each clip's recording (equal ids, one recording).
    pub fn predict_clips_grouped(
        &mut self,
        clips: &[Vec<f32>],
        groups: &[usize],
    ) -> Result<Vec<Vec<f32>>> {
        let set = self.clip_features(clips)?;
        self.predict_grouped(&set, Some(groups))
    }

    /// The raw features of fixed-length clips at the model's sample rate.
    fn clip_features(&mut self, clips: &[Vec<f32>]) -> Result<FeatureSet> {
        let mut set = FeatureSet::empty(self.config.n_bins, self.config.n_frames);
        for (i, clip) in clips.iter().enumerate() {
            let spec = self.front_end.compute(clip);
            set.push(&spec, 0, &format!("clip {i}"))?;
        }
        Ok(set)
    }
}

/// The class of one row of probabilities under an optional decision rule (see
/// [`Classifier::decide`]).
pub(crate) fn decide(classes: &[String], decision: Option<&DecisionRule>, p: &[f32]) -> usize {
    match (decision, positive_class(classes)) {
        (Some(d), Some(pos)) if p.len() == 2 => {
            if f64::from(p[pos]) >= d.threshold {
                pos
            } else {
                1 - pos
            }
        }
        _ => argmax(p),
    }
}

/// Class probabilities serialised as a JSON object in class order (`{"normal": 0.9, ...}`).
#[derive(Debug, Clone, PartialEq)]
pub struct ClassProbabilities(pub Vec<(String, f32)>);

impl ClassProbabilities {
    pub(crate) fn new(classes: &[String], p: &[f32]) -> Self {
        Self(classes.iter().cloned().zip(p.iter().copied()).collect())
    }
}

impl Serialize for ClassProbabilities {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}
