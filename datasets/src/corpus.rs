//! Generated augmentation corpora: `manifest.json` plus one float32 `.npy` log-Mel
//! spectrogram (`[n_mels, frames]`, C order) per sample.
//!
//! `auscult generate` writes them with [`CorpusWriter`]; training reads them back with
//! [`GeneratedCorpus`]. Both sides share [`CorpusManifest`], so the schema cannot drift.
//! The manifest is written last and atomically: a corpus without one is incomplete.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use auscult_audio::Spectrogram;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::files;

/// File name of the manifest inside a corpus folder.
pub const MANIFEST_FILE: &str = "manifest.json";
/// File name of the contact sheet (a grid of sample spectrograms) that `auscult generate`
/// writes beside the manifest; absent when the corpus is empty.
pub const CONTACT_SHEET_FILE: &str = "contact_sheet.png";
/// The manifest schema this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// How the samples were generated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorInfo {
    /// SHA-256 (hex) of the VQ-VAE weights file.
    pub model_hash: String,
    /// SHA-256 (hex) of the prior's weights file.
    pub prior_hash: String,
    /// Sampling temperature.
    pub temperature: f32,
    /// Top-k cut-off, when used.
    pub top_k: Option<usize>,
    /// Nucleus (top-p) cut-off, when used.
    pub top_p: Option<f32>,
    /// Classifier-free guidance scale, when used.
    #[serde(default)]
    pub guidance: Option<f32>,
    /// Base seed of the generation run.
    pub seed: u64,
    /// Whether each sample is a draw from the decoder's Gaussian (its mean plus the class's
    /// fitted texture) rather than the decoder's mean.
    #[serde(default)]
    pub texture: bool,
    /// Whether each class's mean spectral envelope was matched to its real training cycles'
    /// (`generate --match-envelope`).
    #[serde(default)]
    pub envelope_matched: bool,
    /// Program and version, e.g. `auscult 0.1.0`.
    pub created_by: String,
}

/// One generated sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorpusSample {
    /// File name of the `.npy`, relative to the corpus folder.
    pub file: String,
    /// Class name (one of [`CorpusManifest::classes`]).
    pub class: String,
    /// Seed that generated this sample.
    pub seed: u64,
}

/// The `manifest.json` of a generated corpus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorpusManifest {
    /// Schema version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// All class names of the task, in class-index order.
    pub classes: Vec<String>,
    /// Generator model and sampling settings.
    pub generator: GeneratorInfo,
    /// The `auscult_audio::MelConfig` of the spectrograms, as JSON.
    pub mel: serde_json::Value,
    /// The [`crate::ExampleConfig`] of the examples the generator learned from, as JSON.
    pub examples: serde_json::Value,
    /// The samples, in writing order.
    pub samples: Vec<CorpusSample>,
}

impl CorpusManifest {
    /// A header with no samples yet, at the current schema version.
    pub fn new(
        classes: Vec<String>,
        generator: GeneratorInfo,
        mel: serde_json::Value,
        examples: serde_json::Value,
    ) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            classes,
            generator,
            mel,
            examples,
            samples: Vec::new(),
        }
    }

    /// Number of samples per class name (every class present, possibly 0).
    pub fn class_counts(&self) -> BTreeMap<String, usize> {
        let mut counts: BTreeMap<String, usize> =
            self.classes.iter().map(|c| (c.clone(), 0)).collect();
        for s in &self.samples {
            *counts.entry(s.class.clone()).or_default() += 1;
        }
        counts
    }
}

/// Writes a generated corpus sample by sample; [`CorpusWriter::finish`] writes the manifest.
#[derive(Debug)]
pub struct CorpusWriter {
    dir: PathBuf,
    manifest: CorpusManifest,
}

fn file_safe(class: &str) -> String {
    class
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl CorpusWriter {
    /// Creates `dir` (and parents) for a new corpus described by `header` (its samples must be
    /// empty). Fails when `dir` already holds a `manifest.json`.
    pub fn create(dir: &Path, header: CorpusManifest) -> Result<Self> {
        if !header.samples.is_empty() {
            return Err(Error::InvalidConfig {
                field: "samples",
                reason: "a new corpus header must have no samples; add them with CorpusWriter::add"
                    .into(),
            });
        }
        if header.classes.is_empty() {
            return Err(Error::InvalidConfig {
                field: "classes",
                reason: "a corpus needs at least one class".into(),
            });
        }
        files::create_dir_all(dir)?;
        if dir.join(MANIFEST_FILE).exists() {
            return Err(Error::OutputNotEmpty {
                path: dir.to_path_buf(),
            });
        }
        let manifest = CorpusManifest {
            schema_version: SCHEMA_VERSION,
            ..header
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    /// Writes one log-Mel spectrogram of class `class` as `NNNNNN_<class>.npy`
    /// (shape `[n_bins, n_frames]`) and records it. Returns the file's path.
    pub fn add(&mut self, class: &str, spec: &Spectrogram, seed: u64) -> Result<PathBuf> {
        if !self.manifest.classes.iter().any(|c| c == class) {
            return Err(Error::InvalidConfig {
                field: "class",
                reason: format!(
                    "`{class}` is not one of the corpus classes ({})",
                    self.manifest.classes.join(", ")
                ),
            });
        }
        if spec.data.len() != spec.n_bins * spec.n_frames || spec.data.is_empty() {
            return Err(Error::InvalidConfig {
                field: "spectrogram",
                reason: format!(
                    "{} values do not make a non-empty {} x {} spectrogram",
                    spec.data.len(),
                    spec.n_bins,
                    spec.n_frames
                ),
            });
        }
        let file = format!(
            "{:06}_{}.npy",
            self.manifest.samples.len(),
            file_safe(class)
        );
        let path = self.dir.join(&file);
        auscult_audio::write_npy_f32(&path, &spec.data, &[spec.n_bins, spec.n_frames])
            .map_err(|e| Error::audio(&path, e))?;
        self.manifest.samples.push(CorpusSample {
            file,
            class: class.to_string(),
            seed,
        });
        Ok(path)
    }

    /// Number of samples written so far.
    pub fn len(&self) -> usize {
        self.manifest.samples.len()
    }

    /// Whether no sample was written yet.
    pub fn is_empty(&self) -> bool {
        self.manifest.samples.is_empty()
    }

    /// Writes `manifest.json` atomically and returns the manifest.
    pub fn finish(self) -> Result<CorpusManifest> {
        let path = self.dir.join(MANIFEST_FILE);
        let json = serde_json::to_vec_pretty(&self.manifest).map_err(|e| Error::Json {
            path: path.clone(),
            source: e,
        })?;
        files::write_atomic(&path, &json)?;
        Ok(self.manifest)
    }
}

/// A generated corpus opened for reading.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedCorpus {
    /// The corpus folder.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: CorpusManifest,
}

impl GeneratedCorpus {
    /// Reads and checks `dir/manifest.json`: schema version, known classes, plain file names
    /// that exist.
    pub fn open(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE);
        if !path.is_file() {
            return Err(Error::Corpus {
                path: dir.to_path_buf(),
                reason: format!(
                    "no {MANIFEST_FILE}: not a generated corpus, or its generation did not finish"
                ),
            });
        }
        let text = files::read_text(&path)?;
        let version: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Json {
            path: path.clone(),
            source: e,
        })?;
        let found = version
            .get("schema_version")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        if found != u64::from(SCHEMA_VERSION) {
            return Err(Error::SchemaVersion {
                path,
                found: u32::try_from(found).unwrap_or(u32::MAX),
                supported: SCHEMA_VERSION,
            });
        }
        let manifest: CorpusManifest =
            serde_json::from_value(version).map_err(|e| Error::Json {
                path: path.clone(),
                source: e,
            })?;
        let classes: BTreeSet<&String> = manifest.classes.iter().collect();
        for s in &manifest.samples {
            if !classes.contains(&s.class) {
                return Err(Error::Corpus {
                    path: path.clone(),
                    reason: format!(
                        "sample {} has class `{}`, which is not among the classes",
                        s.file, s.class
                    ),
                });
            }
            let plain = Path::new(&s.file)
                .file_name()
                .is_some_and(|n| n == std::ffi::OsStr::new(&s.file));
            if !plain {
                return Err(Error::Corpus {
                    path: path.clone(),
                    reason: format!("sample file `{}` is not a plain file name", s.file),
                });
            }
            if !dir.join(&s.file).is_file() {
                return Err(Error::Corpus {
                    path: dir.join(&s.file),
                    reason: "listed in the manifest but missing".into(),
                });
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    /// Reads every sample: `(class name, spectrogram [n_mels, frames])`, in manifest order.
    pub fn load(&self) -> Result<Vec<(String, Spectrogram)>> {
        self.manifest
            .samples
            .iter()
            .map(|s| {
                let path = self.dir.join(&s.file);
                let (data, shape) =
                    auscult_audio::read_npy_f32(&path).map_err(|e| Error::audio(&path, e))?;
                match shape.as_slice() {
                    &[n_bins, n_frames] if n_bins * n_frames == data.len() && !data.is_empty() => {
                        Ok((
                            s.class.clone(),
                            Spectrogram {
                                data,
                                n_bins,
                                n_frames,
                            },
                        ))
                    }
                    _ => Err(Error::Corpus {
                        path,
                        reason: format!(
                            "shape {shape:?} is not a non-empty [n_mels, frames] array"
                        ),
                    }),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> CorpusManifest {
        CorpusManifest::new(
            vec![
                "normal".into(),
                "crackle".into(),
                "wheeze".into(),
                "both".into(),
            ],
            GeneratorInfo {
                model_hash: "ab".into(),
                prior_hash: "cd".into(),
                temperature: 0.9,
                top_k: Some(32),
                top_p: None,
                seed: 5,
                texture: false,
                guidance: None,
                envelope_matched: false,
                created_by: "auscult 0.1.0".into(),
            },
            serde_json::json!({"n_mels": 4}),
            serde_json::to_value(crate::ExampleConfig::default()).unwrap(),
        )
    }

    fn spec(v: f32) -> Spectrogram {
        Spectrogram {
            data: (0..12).map(|i| v + i as f32).collect(),
            n_bins: 4,
            n_frames: 3,
        }
    }

    #[test]
    fn written_corpus_reads_back_identically() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("gen");
        let mut w = CorpusWriter::create(&out, header()).unwrap();
        w.add("wheeze", &spec(1.0), 11).unwrap();
        w.add("both", &spec(-3.0), 12).unwrap();
        assert!(w.add("rattle", &spec(0.0), 1).is_err());
        assert_eq!(w.len(), 2);
        // Without a manifest the corpus is incomplete.
        assert!(GeneratedCorpus::open(&out).is_err());
        let m = w.finish().unwrap();
        assert_eq!(m.samples[0].file, "000000_wheeze.npy");
        assert_eq!(m.class_counts()["both"], 1);
        assert_eq!(m.class_counts()["normal"], 0);

        let c = GeneratedCorpus::open(&out).unwrap();
        assert_eq!(c.manifest, m);
        let items = c.load().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].0, "both");
        assert_eq!(items[1].1.data, spec(-3.0).data);
        assert_eq!((items[1].1.n_bins, items[1].1.n_frames), (4, 3));
        assert!(CorpusWriter::create(&out, header()).is_err());
    }

    #[test]
    fn bad_manifests_are_rejected_with_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let mut w = CorpusWriter::create(out, header()).unwrap();
        w.add("normal", &spec(0.0), 1).unwrap();
        let m = w.finish().unwrap();
        let mpath = out.join(MANIFEST_FILE);

        let mut v = serde_json::to_value(&m).unwrap();
        v["schema_version"] = 99.into();
        std::fs::write(&mpath, v.to_string()).unwrap();
        let e = GeneratedCorpus::open(out).unwrap_err().to_string();
        assert!(e.contains("schema version 99"), "{e}");

        let mut v = serde_json::to_value(&m).unwrap();
        v["samples"][0]["file"] = "../x.npy".into();
        std::fs::write(&mpath, v.to_string()).unwrap();
        assert!(
            GeneratedCorpus::open(out)
                .unwrap_err()
                .to_string()
                .contains("plain file name")
        );

        let mut v = serde_json::to_value(&m).unwrap();
        v["samples"][0]["file"] = "gone.npy".into();
        std::fs::write(&mpath, v.to_string()).unwrap();
        assert!(
            GeneratedCorpus::open(out)
                .unwrap_err()
                .to_string()
                .contains("missing")
        );
    }
}
