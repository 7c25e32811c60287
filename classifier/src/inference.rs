//! Inference from a run directory: rebuild the model from `config.json`, load its weights and
//! normalisation, and classify examples, spectrograms, generated corpora or whole recordings
//! (per annotated cycle, or in windows of the training length).

use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::{Path, PathBuf};

use auscult_audio::{MelSpectrogram, Spectrogram, decode_file, resample};
use auscult_datasets::{
    Example, GeneratedCorpus, SoundKind, fit_cycle, read_annotations, read_wav_header, slice_cycle,
};
use auscult_experiment::{DeviceChoice, RunDir, device, load_module, seeded_rng};
use burn::module::Module;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};

use crate::binary::{DecisionRule, Level, fuse_by_patient, positive_class};
use crate::config::ModelConfig;
use crate::data::{FeatureSet, Normalization, compute_features};
use crate::files;
use crate::metrics::{
    BootstrapOptions, GroupMetrics, Metrics, argmax, group_metrics, normal_class,
};
use crate::model::Cnn;
use crate::{Error, Result};

/// Items per forward pass at inference.
const BATCH: usize = 64;

/// Class probabilities of normalised features (`[items, n_bins, n_frames]`), in batches.
pub fn predict_probabilities(
    model: &Cnn,
    data: &[f32],
    n_bins: usize,
    n_frames: usize,
    device: &Device,
) -> Vec<Vec<f32>> {
    let item_len = n_bins * n_frames;
    let mut out = Vec::new();
    if item_len == 0 {
        return out;
    }
    for chunk in data.chunks(BATCH * item_len) {
        let b = chunk.len() / item_len;
        let x = Tensor::<4>::from_data(
            TensorData::new(chunk.to_vec(), [b, 1, n_bins, n_frames]),
            device,
        );
        let probs = softmax(model.forward(x, None, false).logits, 1);
        let k = probs.dims()[1];
        let flat: Vec<f32> = probs.into_data().try_to_vec().unwrap_or_default();
        out.extend(flat.chunks(k.max(1)).map(<[f32]>::to_vec));
    }
    out
}

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

    /// Class probabilities of raw (un-normalised dB log-Mel) features.
    pub fn predict_features(&self, set: &FeatureSet) -> Result<Vec<Vec<f32>>> {
        if set.is_empty() {
            return Ok(Vec::new());
        }
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
        self.norm.apply(&mut data, set.n_frames);
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
        self.norm.apply(&mut data, set.n_frames);
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
        self.predict_features(&set)
    }

    /// Class probabilities of fixed-length clips at the model's sample rate.
    pub fn predict_clips(&mut self, clips: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
        let mut set = FeatureSet::empty(self.config.n_bins, self.config.n_frames);
        for (i, clip) in clips.iter().enumerate() {
            let spec = self.front_end.compute(clip);
            set.push(&spec, 0, &format!("clip {i}"))?;
        }
        self.predict_features(&set)
    }

    /// Classifies one recording: per cycle when `annotations` names an ICBHI annotation file,
    /// otherwise in consecutive windows of the training length (the last, shorter one padded
    /// as cycles are; a tail under a quarter of a window is dropped unless it is the only one).
    pub fn classify_file(&mut self, path: &Path, annotations: Option<&Path>) -> Result<Recording> {
        let decoded = decode_file(path)?;
        let sr = self.config.train.examples.sample_rate;
        let samples = resample(&decoded.samples, decoded.sample_rate, sr)?;
        let ex = &self.config.train.examples;
        let duration = samples.len() as f64 / sr as f64;
        let (segments, annotated): (Vec<(f64, f64)>, bool) = match annotations {
            Some(ann) => (
                read_annotations(ann)?
                    .iter()
                    .map(|c| (c.start_s, c.end_s))
                    .collect(),
                true,
            ),
            None => {
                let len = ex.length_s as f64;
                let mut w = Vec::new();
                let mut start = 0.0;
                while start < duration {
                    let end = (start + len).min(duration);
                    if w.is_empty() || end - start >= 0.25 * len {
                        w.push((start, end));
                    }
                    start += len;
                }
                (w, false)
            }
        };
        let clips: Vec<Vec<f32>> = segments
            .iter()
            .map(|&(s, e)| fit_cycle(slice_cycle(&samples, sr, s, e), ex))
            .collect();
        let probs = self.predict_clips(&clips)?;
        let classes = self.classes().to_vec();
        let segs: Vec<Segment> = segments
            .iter()
            .zip(&probs)
            .map(|(&(start_s, end_s), p)| Segment {
                start_s,
                end_s,
                label: classes[self.decide(p)].clone(),
                probabilities: ClassProbabilities::new(&classes, p),
            })
            .collect();
        let summary = Summary::new(&classes, &probs, self.decision.as_ref());
        Ok(Recording {
            path: path.to_path_buf(),
            duration_s: duration,
            source_sample_rate: decoded.sample_rate,
            cycles: annotated.then(|| segs.clone()),
            windows: (!annotated).then_some(segs),
            summary,
        })
    }
}

impl Classifier {
    /// Classifies one Coswara participant folder: each of `sounds` found in `dir`
    /// (`<sound>.wav`) is cut as training cut whole files (resampled, faded, brought to the
    /// training length), and the participant's probabilities are the mean of the files'. Files
    /// that are missing, header-only or unreadable are listed in `skipped`.
    ///
    /// # Errors
    /// When `dir` is not a folder or none of `sounds` could be classified.
    pub fn classify_participant(
        &mut self,
        dir: &Path,
        sounds: &[SoundKind],
    ) -> Result<Participant> {
        if !dir.is_dir() {
            return Err(Error::data(format!(
                "{}: not a participant folder",
                dir.display()
            )));
        }
        let sr = self.config.train.examples.sample_rate;
        let mut clips = Vec::new();
        let mut found = Vec::new();
        let mut skipped = Vec::new();
        for &kind in sounds {
            let path = dir.join(kind.file_name());
            if !path.is_file() {
                skipped.push(Skipped {
                    sound: kind.name().into(),
                    reason: "no such file".into(),
                });
                continue;
            }
            let clip = decode_file(&path).map_err(Error::from).and_then(|d| {
                if d.samples.is_empty() {
                    return Err(Error::data("no samples (header-only WAV)"));
                }
                Ok(resample(&d.samples, d.sample_rate, sr)?)
            });
            match clip {
                Ok(samples) => {
                    clips.push(fit_cycle(&samples, &self.config.train.examples));
                    found.push((kind, path));
                }
                Err(e) => skipped.push(Skipped {
                    sound: kind.name().into(),
                    reason: e.to_string(),
                }),
            }
        }
        if clips.is_empty() {
            return Err(Error::data(format!(
                "{}: none of the sounds {} could be classified ({})",
                dir.display(),
                sounds
                    .iter()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                skipped
                    .iter()
                    .map(|s| format!("{}: {}", s.sound, s.reason))
                    .collect::<Vec<_>>()
                    .join("; ")
            )));
        }
        let probs = self.predict_clips(&clips)?;
        let classes = self.classes().to_vec();
        let mut mean = vec![0f32; classes.len()];
        for p in &probs {
            for (m, v) in mean.iter_mut().zip(p) {
                *m += v / probs.len() as f32;
            }
        }
        Ok(Participant {
            participant: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            path: dir.to_path_buf(),
            sounds: found
                .into_iter()
                .zip(&probs)
                .map(|((kind, path), p)| SoundResult {
                    sound: kind.name().into(),
                    path,
                    label: classes[self.decide(p)].clone(),
                    probabilities: ClassProbabilities::new(&classes, p),
                })
                .collect(),
            skipped,
            label: classes[self.decide(&mean)].clone(),
            probabilities: ClassProbabilities::new(&classes, &mean),
            threshold: self.decision.as_ref().map(|d| d.threshold),
        })
    }
}

/// One sound of a classified participant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SoundResult {
    /// The sound kind (`cough-heavy`).
    pub sound: String,
    /// The file.
    pub path: PathBuf,
    /// Its own decision.
    pub label: String,
    /// Its class probabilities.
    pub probabilities: ClassProbabilities,
}

/// A sound of a participant that was not classified, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    /// The sound kind.
    pub sound: String,
    /// Why it was skipped.
    pub reason: String,
}

/// A participant classified from the fusion of its sounds (`auscult classify` on a Coswara
/// participant folder).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Participant {
    /// The participant id (the folder name).
    pub participant: String,
    /// The folder.
    pub path: PathBuf,
    /// The sounds classified.
    pub sounds: Vec<SoundResult>,
    /// The sounds asked for that were not.
    pub skipped: Vec<Skipped>,
    /// The decision on the fused probabilities.
    pub label: String,
    /// The mean of the sounds' class probabilities.
    pub probabilities: ClassProbabilities,
    /// The decision threshold of a binary model on its positive class, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
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

/// One classified cycle or window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    /// Start in the recording, seconds.
    pub start_s: f64,
    /// End in the recording, seconds.
    pub end_s: f64,
    /// Most probable class.
    pub label: String,
    /// Probability of each class.
    pub probabilities: ClassProbabilities,
}

/// Recording-level summary of its segments.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Number of segments classified.
    pub segments: usize,
    /// Segments predicted as each class.
    pub counts: ClassProbabilities,
    /// Mean of the segments' probabilities.
    pub mean_probabilities: ClassProbabilities,
    /// The class of the mean probabilities (through the decision threshold of a binary model,
    /// else the most probable).
    pub label: String,
    /// Segments predicted as any class other than the normal one.
    pub abnormal_segments: usize,
}

impl Summary {
    fn new(classes: &[String], probs: &[Vec<f32>], decision: Option<&DecisionRule>) -> Self {
        let k = classes.len();
        let mut counts = vec![0f32; k];
        let mut mean = vec![0f32; k];
        for p in probs {
            counts[decide(classes, decision, p)] += 1.0;
            for (m, v) in mean.iter_mut().zip(p) {
                *m += v / probs.len() as f32;
            }
        }
        let normal = normal_class(classes);
        Self {
            segments: probs.len(),
            abnormal_segments: probs
                .iter()
                .filter(|p| decide(classes, decision, p) != normal)
                .count(),
            label: classes
                .get(decide(classes, decision, &mean))
                .cloned()
                .unwrap_or_default(),
            counts: ClassProbabilities::new(classes, &counts),
            mean_probabilities: ClassProbabilities::new(classes, &mean),
        }
    }
}

/// The classification of one recording (`auscult classify --json` prints an array of these).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recording {
    /// The file.
    pub path: PathBuf,
    /// Its duration in seconds.
    pub duration_s: f64,
    /// Its sample rate before resampling.
    pub source_sample_rate: u32,
    /// Per-cycle results when annotations were used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycles: Option<Vec<Segment>>,
    /// Per-window results otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub windows: Option<Vec<Segment>>,
    /// Recording-level summary.
    pub summary: Summary,
}

/// An evaluation of a trained model on labelled examples (what `auscult evaluate --json`
/// prints: the [`Metrics`] fields at the top level, plus the model directory, the level, and
/// the metrics per recording device and per source sample rate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The run directory evaluated.
    pub model_dir: PathBuf,
    /// What the metrics count: items, or participants (each the mean of its items'
    /// probabilities).
    #[serde(default)]
    pub level: Level,
    /// The metrics.
    #[serde(flatten)]
    pub metrics: Metrics,
    /// At the participant level, the same metrics over the single items (files) too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_metrics: Option<Metrics>,
    /// The metrics of each recording device, in device-code order (`unknown` last for
    /// examples whose file name names no ICBHI device); empty, and left out of the JSON, when
    /// no example's does (and at the participant level).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by_device: Vec<GroupMetrics>,
    /// The metrics of each sample rate of the source files, in Hz order (`unknown` last for
    /// sources whose header cannot be read); empty, and left out of the JSON, when no
    /// source's can (and at the participant level).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by_sample_rate: Vec<GroupMetrics>,
}

/// Options of [`evaluate_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EvalOptions {
    /// The bootstrap of the intervals.
    pub bootstrap: BootstrapOptions,
    /// The unit scored (`None`: the model's, from its training config).
    pub level: Option<Level>,
}

impl From<BootstrapOptions> for EvalOptions {
    fn from(bootstrap: BootstrapOptions) -> Self {
        Self {
            bootstrap,
            level: None,
        }
    }
}

/// A grouping key that may be unknown; known values sort first, in their own order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Key<T> {
    Known(T),
    Unknown,
}

impl<T> From<Option<T>> for Key<T> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Unknown, Self::Known)
    }
}

impl<T: Display> Display for Key<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Known(v) => v.fmt(f),
            Self::Unknown => f.write_str("unknown"),
        }
    }
}

/// The sample rate in the header of every example's source file (each file read once);
/// `None` where it cannot be read.
pub(crate) fn source_rates(examples: &[Example]) -> Vec<Option<u32>> {
    let mut rates: BTreeMap<&Path, Option<u32>> = BTreeMap::new();
    examples
        .iter()
        .map(|e| {
            *rates
                .entry(e.source.as_path())
                .or_insert_with(|| read_wav_header(&e.source).ok().map(|h| h.sample_rate))
        })
        .collect()
}

/// Evaluates the model in `model_dir` on `examples` (labels index the model's classes; cut with
/// the model's example config) with 1000-resample patient-bootstrap intervals.
pub fn evaluate(model_dir: &Path, examples: &[Example]) -> Result<Evaluation> {
    let clf = Classifier::load(model_dir)?;
    evaluate_with(&clf, examples, BootstrapOptions::default())
}

/// Evaluates a loaded classifier: the metrics over all `examples` and per device and source
/// sample rate, the intervals resampling patients ([`Example::patient`]); at the participant
/// level, the metrics of the participants' fused predictions and of the items. A binary
/// model's decision threshold (`decision.json`) makes its predictions.
pub fn evaluate_with(
    clf: &Classifier,
    examples: &[Example],
    options: impl Into<EvalOptions>,
) -> Result<Evaluation> {
    let EvalOptions { bootstrap, level } = options.into();
    let level = level.unwrap_or(clf.config().train.level);
    let threshold = clf.decision().map(|d| d.threshold);
    if examples.is_empty() {
        return Err(Error::data(
            "nothing to evaluate: the chosen split has no examples",
        ));
    }
    let n_classes = clf.classes().len();
    if let Some(e) = examples.iter().find(|e| e.label >= n_classes) {
        return Err(Error::Label {
            label: e.label,
            n_classes,
        });
    }
    let probs = clf.predict_examples(examples)?;
    let truth: Vec<usize> = examples.iter().map(|e| e.label).collect();
    let patients: Vec<String> = examples.iter().map(|e| e.patient.clone()).collect();
    let classes = clf.classes();
    let devices: Vec<Key<&str>> = examples
        .iter()
        .map(|e| Key::from(e.device().map(|d| d.code())))
        .collect();
    let rates: Vec<Key<u32>> = source_rates(examples).into_iter().map(Key::from).collect();
    let by = Grouping {
        classes,
        truth: &truth,
        probabilities: &probs,
        patients: &patients,
        bootstrap,
        threshold,
    };
    let items = Metrics::compute_full(
        classes,
        &truth,
        &probs,
        Some(&patients),
        bootstrap,
        threshold,
    )?;
    Ok(match level {
        Level::Item => Evaluation {
            model_dir: clf.dir().to_path_buf(),
            level,
            metrics: items,
            item_metrics: None,
            by_device: by.metrics(&devices)?,
            by_sample_rate: by.metrics(&rates)?,
        },
        Level::Participant => {
            let f = fuse_by_patient(&truth, &probs, &patients)?;
            Evaluation {
                model_dir: clf.dir().to_path_buf(),
                level,
                metrics: Metrics::compute_full(
                    classes,
                    &f.truth,
                    &f.probabilities,
                    Some(&f.patients),
                    bootstrap,
                    threshold,
                )?,
                item_metrics: Some(items),
                by_device: Vec::new(),
                by_sample_rate: Vec::new(),
            }
        }
    })
}

/// What [`evaluate_with`] breaks down by device and by sample rate.
struct Grouping<'a> {
    classes: &'a [String],
    truth: &'a [usize],
    probabilities: &'a [Vec<f32>],
    patients: &'a [String],
    bootstrap: BootstrapOptions,
    threshold: Option<f64>,
}

impl Grouping<'_> {
    /// The metrics of each group of `keys`; none when every key is unknown.
    fn metrics<T: Ord + Display>(&self, keys: &[Key<T>]) -> Result<Vec<GroupMetrics>> {
        if keys.iter().all(|k| matches!(k, Key::Unknown)) {
            return Ok(Vec::new());
        }
        group_metrics(
            self.classes,
            self.truth,
            self.probabilities,
            keys,
            Some(self.patients),
            self.bootstrap,
            self.threshold,
        )
    }
}

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
            let c = classes
                .iter()
                .position(|k| k == class)
                .ok_or_else(|| Error::UnknownClass {
                    class: class.clone(),
                    known: classes.join(", "),
                })?;
            Ok(SampleQuality {
                file: sample.file.clone(),
                class: class.clone(),
                probability: p[c],
                predicted: classes[argmax(p)].clone(),
            })
        })
        .collect()
}
