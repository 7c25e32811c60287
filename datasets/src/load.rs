//! Turning a dataset into labelled, fixed-length examples split by patient.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::coswara::{CoswaraDatabase, CoswaraOptions};
use crate::error::{Error, Result};
use crate::folder::FolderCorpus;
use crate::format::Format;
use crate::icbhi::{IcbhiDatabase, IcbhiSplit, SPLIT_FILE};
use crate::item::{Example, ExampleConfig, fit_cycle, slice_cycle};
use crate::label::CycleLabel;
use crate::problem::Problem;
use crate::split::{SplitSpec, assign_groups};

/// How to load a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoadOptions {
    /// The format, or `None` to detect it.
    pub format: Option<Format>,
    /// How examples are cut (rate, length, padding, fade).
    pub examples: ExampleConfig,
    /// Train/test split.
    pub split: SplitSpec,
    /// Share of the training PATIENTS moved to validation (stratified, seeded); 0 for none
    /// (the default, as in the official ICBHI protocol).
    pub val_fraction: f32,
    /// Seed of the validation carve-out.
    pub seed: u64,
    /// Coswara label mapping and sound kinds.
    pub coswara: CoswaraOptions,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            format: None,
            examples: ExampleConfig::default(),
            split: SplitSpec::Official,
            val_fraction: 0.0,
            seed: 0,
            coswara: CoswaraOptions::default(),
        }
    }
}

impl LoadOptions {
    /// Checks every setting.
    pub fn validate(&self) -> Result<()> {
        self.examples.validate()?;
        self.split.validate()?;
        if !(self.val_fraction.is_finite() && (0.0..1.0).contains(&self.val_fraction)) {
            return Err(Error::InvalidConfig {
                field: "val_fraction",
                reason: format!("{}; use 0 <= fraction < 1 (e.g. 0.1)", self.val_fraction),
            });
        }
        self.coswara.validate()
    }
}

/// Labelled examples split into training, validation and test sets.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExampleSet {
    /// Class names in label-index order.
    pub classes: Vec<String>,
    /// Training examples.
    pub train: Vec<Example>,
    /// Validation examples (from training patients; empty when `val_fraction` is 0).
    pub val: Vec<Example>,
    /// Test examples.
    pub test: Vec<Example>,
    /// Problems found in the dataset (none of them fatal).
    pub problems: Vec<Problem>,
}

impl ExampleSet {
    /// Examples per class of one subset, in class-index order.
    pub fn class_counts(examples: &[Example], n_classes: usize) -> Vec<usize> {
        let mut counts = vec![0; n_classes];
        for e in examples {
            if let Some(c) = counts.get_mut(e.label) {
                *c += 1;
            }
        }
        counts
    }

    /// Total number of examples.
    pub fn len(&self) -> usize {
        self.train.len() + self.val.len() + self.test.len()
    }

    /// Whether there is no example at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Train,
    Val,
    Test,
}

#[derive(Debug, Clone)]
struct Segment {
    id: String,
    label: usize,
    /// `None`: the whole file.
    span: Option<(f64, f64)>,
}

#[derive(Debug, Clone)]
struct Job {
    path: PathBuf,
    patient: String,
    side: Option<Side>,
    segments: Vec<Segment>,
}

fn official_unavailable(format: Format) -> Error {
    Error::SplitUnavailable {
        reason: format!(
            "{format} datasets have no official split; use folds (e.g. --split fold:5:0) or all"
        ),
    }
}

fn icbhi_jobs(root: &Path, opts: &LoadOptions) -> Result<(Vec<String>, Vec<Job>, Vec<Problem>)> {
    let db = IcbhiDatabase::open(root)?;
    if opts.split == SplitSpec::Official && db.split_file.is_none() {
        return Err(Error::SplitUnavailable {
            reason: format!(
                "{}: no {SPLIT_FILE} found, so the official split is unavailable; put the file next to \
                 the recordings, or use folds (e.g. --split fold:5:0) or all",
                root.display()
            ),
        });
    }
    let mut jobs = Vec::new();
    for rec in &db.recordings {
        if !rec.is_usable() {
            continue;
        }
        let stem = rec.name.stem();
        let side = match opts.split {
            SplitSpec::Official => match rec.split {
                Some(IcbhiSplit::Train) => Some(Side::Train),
                Some(IcbhiSplit::Test) => Some(Side::Test),
                None => continue,
            },
            SplitSpec::Cv { .. } if db.split_file.is_some() => match rec.split {
                Some(IcbhiSplit::Train) => None,
                _ => continue,
            },
            SplitSpec::All => Some(Side::Train),
            SplitSpec::Fold { .. } | SplitSpec::Cv { .. } => None,
        };
        jobs.push(Job {
            path: rec.wav.clone(),
            patient: rec.patient_id(),
            side,
            segments: rec
                .cycles
                .iter()
                .enumerate()
                .map(|(i, c)| Segment {
                    id: format!("{stem}_c{i:02}"),
                    label: c.label().index(),
                    span: Some((c.start_s, c.end_s)),
                })
                .collect(),
        });
    }
    Ok((CycleLabel::class_names(), jobs, db.problems))
}

/// Every labelled Coswara participant with its label, in id order: what Coswara's folds and
/// validation carve-out are drawn over, so that a participant lands in the same part
/// whichever sounds are used (and whichever of its files are unusable).
fn coswara_participants(root: &Path, opts: &LoadOptions) -> Result<Vec<(String, usize)>> {
    let db = CoswaraDatabase::open(root)?;
    let mut out: Vec<(String, usize)> = db
        .participants
        .iter()
        .filter_map(|p| opts.coswara.label_of(p).map(|l| (p.id.clone(), l)))
        .collect();
    out.sort();
    Ok(out)
}

fn coswara_jobs(root: &Path, opts: &LoadOptions) -> Result<(Vec<String>, Vec<Job>, Vec<Problem>)> {
    if opts.split == SplitSpec::Official {
        return Err(official_unavailable(Format::Coswara));
    }
    let db = CoswaraDatabase::open(root)?;
    let side = (opts.split == SplitSpec::All).then_some(Side::Train);
    let mut jobs = Vec::new();
    for f in &db.files {
        if !f.is_usable() || !opts.coswara.sounds.contains(&f.kind) {
            continue;
        }
        let p = &db.participants[f.participant];
        let Some(label) = opts.coswara.label_of(p) else {
            continue;
        };
        jobs.push(Job {
            path: f.path.clone(),
            patient: p.id.clone(),
            side,
            segments: vec![Segment {
                id: format!("{}/{}", p.id, f.kind.name()),
                label,
                span: None,
            }],
        });
    }
    Ok((opts.coswara.classes(), jobs, db.problems))
}

fn folder_jobs(root: &Path, opts: &LoadOptions) -> Result<(Vec<String>, Vec<Job>, Vec<Problem>)> {
    let corpus = FolderCorpus::open(root)?;
    if opts.split == SplitSpec::Official && !corpus.has_splits {
        return Err(Error::SplitUnavailable {
            reason: format!(
                "{}: a folder corpus has an official split only with train/ and test/ (and optionally \
                 val/) folders holding the class folders; use folds (e.g. --split fold:5:0) or all",
                root.display()
            ),
        });
    }
    let mut jobs = Vec::new();
    for f in corpus.files.iter().filter(|f| f.is_usable()) {
        let id = corpus.file_id(f);
        let side = match opts.split {
            SplitSpec::Official => match f.split.as_deref() {
                Some("train") => Some(Side::Train),
                Some("val") => Some(Side::Val),
                Some("test") => Some(Side::Test),
                _ => continue,
            },
            SplitSpec::Cv { .. } if corpus.has_splits => match f.split.as_deref() {
                Some("train" | "val") => None,
                _ => continue,
            },
            SplitSpec::All => Some(Side::Train),
            SplitSpec::Fold { .. } | SplitSpec::Cv { .. } => None,
        };
        jobs.push(Job {
            path: f.path.clone(),
            patient: id.clone(),
            side,
            segments: vec![Segment {
                id,
                label: f.class,
                span: None,
            }],
        });
    }
    Ok((corpus.classes.clone(), jobs, corpus.problems))
}

/// Per-patient class counts of the jobs for which `keep` holds, in first-seen patient order.
fn patient_counts(
    jobs: &[Job],
    n_classes: usize,
    keep: impl Fn(&Job) -> bool,
) -> (Vec<String>, Vec<Vec<usize>>) {
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut names = Vec::new();
    let mut counts: Vec<Vec<usize>> = Vec::new();
    for job in jobs.iter().filter(|j| keep(j)) {
        let i = *index.entry(job.patient.as_str()).or_insert_with(|| {
            names.push(job.patient.clone());
            counts.push(vec![0; n_classes]);
            names.len() - 1
        });
        for s in &job.segments {
            if let Some(c) = counts[i].get_mut(s.label) {
                *c += 1;
            }
        }
    }
    (names, counts)
}

fn decode_job(
    job: &Job,
    cfg: &ExampleConfig,
) -> std::result::Result<(Vec<Example>, Vec<Problem>), Problem> {
    let decoded = auscult_audio::decode_file(&job.path)
        .map_err(|e| Problem::new(&job.path, format!("could not decode: {e}; skipped")))?;
    let samples =
        auscult_audio::resample(&decoded.samples, decoded.sample_rate, cfg.sample_rate)
            .map_err(|e| Problem::new(&job.path, format!("could not resample: {e}; skipped")))?;
    let duration = samples.len() as f64 / f64::from(cfg.sample_rate);
    let mut examples = Vec::with_capacity(job.segments.len());
    let mut problems = Vec::new();
    for s in &job.segments {
        let (start_s, end_s) = s.span.unwrap_or((0.0, duration));
        let cut = slice_cycle(&samples, cfg.sample_rate, start_s, end_s);
        if cut.is_empty() {
            problems.push(Problem::new(
                &job.path,
                format!("cycle {} ({start_s}-{end_s} s) lies past the end of the audio ({duration:.3} s); skipped", s.id),
            ));
            continue;
        }
        examples.push(Example {
            id: s.id.clone(),
            patient: job.patient.clone(),
            label: s.label,
            samples: fit_cycle(cut, cfg),
            sample_rate: cfg.sample_rate,
            source: job.path.clone(),
            start_s,
            end_s,
        });
    }
    Ok((examples, problems))
}

/// Loads the dataset at `root` as fixed-length labelled examples, split by patient.
///
/// Recordings are decoded and resampled in parallel (rayon); the result does not depend on
/// the number of threads. Damaged files become [`Problem`]s; the call fails only when the
/// folder is not a dataset, the split is unavailable, or no example is usable.
pub fn load_examples(root: &Path, opts: &LoadOptions) -> Result<ExampleSet> {
    opts.validate()?;
    let format = match opts.format {
        Some(f) => f,
        None => Format::detect(root)?,
    };
    let (classes, mut jobs, mut problems) = match format {
        Format::Icbhi => icbhi_jobs(root, opts)?,
        Format::Coswara => coswara_jobs(root, opts)?,
        Format::Folder => folder_jobs(root, opts)?,
        Format::Corpus => {
            return Err(Error::Corpus {
                path: root.to_path_buf(),
                reason: "a generated corpus holds log-Mel spectrograms, not audio; read it with \
                         GeneratedCorpus::open (auscult train --augment DIR)"
                    .into(),
            });
        }
    };
    let n_classes = classes.len();
    // Coswara participants count once each, whatever sounds they contribute.
    let participants = match format {
        Format::Coswara => Some(coswara_participants(root, opts)?),
        _ => None,
    };
    let one_each = |keep: &dyn Fn(&str) -> bool| -> (Vec<String>, Vec<Vec<usize>>) {
        participants
            .iter()
            .flatten()
            .filter(|(id, _)| keep(id))
            .map(|(id, l)| {
                let mut c = vec![0; n_classes];
                c[*l] = 1;
                (id.clone(), c)
            })
            .unzip()
    };

    // Patients of the test fold (all of them, with or without a usable example).
    let mut test_patients = std::collections::BTreeSet::new();
    if let Some((k, index, seed)) = opts.split.folds() {
        let (names, counts) = if participants.is_some() {
            one_each(&|_| true)
        } else {
            patient_counts(&jobs, n_classes, |_| true)
        };
        let bins = assign_groups(&counts, &vec![1.0; k], seed);
        for (name, &b) in names.iter().zip(&bins) {
            if b == index {
                test_patients.insert(name.clone());
            }
        }
        let fold: BTreeMap<&str, usize> = names.iter().map(String::as_str).zip(bins).collect();
        for job in &mut jobs {
            let b = fold.get(job.patient.as_str()).copied().unwrap_or(0);
            job.side = Some(if b == index { Side::Test } else { Side::Train });
        }
    }
    let has_val = jobs.iter().any(|j| j.side == Some(Side::Val));
    if opts.val_fraction > 0.0 && !has_val {
        let (names, counts) = if participants.is_some() {
            // Every training participant of Coswara, usable files or not, so that the
            // carve-out does not depend on the sounds.
            one_each(&|id| !test_patients.contains(id))
        } else {
            patient_counts(&jobs, n_classes, |j| j.side == Some(Side::Train))
        };
        let f = f64::from(opts.val_fraction);
        let bins = assign_groups(&counts, &[1.0 - f, f], opts.seed ^ 0x5641_4c49_4441_5445);
        let val: BTreeMap<&str, usize> = names.iter().map(String::as_str).zip(bins).collect();
        for job in &mut jobs {
            if job.side == Some(Side::Train) && val.get(job.patient.as_str()) == Some(&1) {
                job.side = Some(Side::Val);
            }
        }
    }

    let results: Vec<_> = jobs
        .par_iter()
        .map(|job| decode_job(job, &opts.examples))
        .collect();
    let mut set = ExampleSet {
        classes,
        ..ExampleSet::default()
    };
    for (job, result) in jobs.iter().zip(results) {
        match result {
            Ok((examples, mut p)) => {
                problems.append(&mut p);
                let target = match job.side {
                    Some(Side::Train) => &mut set.train,
                    Some(Side::Val) => &mut set.val,
                    Some(Side::Test) => &mut set.test,
                    None => continue,
                };
                target.extend(examples);
            }
            Err(p) => problems.push(p),
        }
    }
    set.problems = problems;
    if set.is_empty() {
        let first: Vec<String> = set
            .problems
            .iter()
            .take(3)
            .map(ToString::to_string)
            .collect();
        return Err(Error::NoExamples {
            path: root.to_path_buf(),
            reason: if first.is_empty() {
                "nothing matched the selected classes, sounds and split".into()
            } else {
                first.join("; ")
            },
        });
    }
    Ok(set)
}
