//! auscult-classifier: a respiratory-sound classifier (a CNN of the PANNs CNN6/CNN10 family on
//! log-Mel features) trained with Balanced Mixup and a supervised contrastive loss, with the
//! field's metrics, written with burn 0.22.
//!
//! ```no_run
//! use std::path::Path;
//! use auscult_classifier::{TrainConfig, train, evaluate};
//! use auscult_datasets::{LoadOptions, load_examples};
//! use auscult_experiment::NoProgress;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cfg = TrainConfig { epochs: 10, ..TrainConfig::default() };
//! let opts = LoadOptions { examples: cfg.examples.clone(), val_fraction: 0.2, ..LoadOptions::default() };
//! let data = load_examples(Path::new("ICBHI_final_database"), &opts)?;
//! let report = train(&cfg, &data, &[], Path::new("runs/cnn"), &NoProgress)?;
//! println!("best validation ICBHI score {:?}", report.best_val_score);
//! let eval = evaluate(Path::new("runs/cnn"), &data.test)?;
//! println!("test score {:.3}", eval.metrics.score);
//! # Ok(()) }
//! ```
//!
//! Modules: [`metrics`] (ICBHI score, F1, bootstrap), [`binary`] (ROC-AUC, PR-AUC, decision
//! thresholds and participant fusion of screening tasks), [`supcon`] and [`loss`] (the
//! losses), [`mixup`] and [`sampler`] (batch construction), [`model`] (the CNN), [`data`]
//! (features, normalisation, SpecAugment, generated corpora), [`config`], [`training`],
//! [`inference`], [`ensemble`] (a model per Coswara sound, fused), [`quality`] (generated data seen
//! through a real-data classifier: Fréchet distance of embeddings), [`files`] (the names inside a run directory).

pub mod binary;
pub mod config;
pub mod data;
pub mod ensemble;
mod error;
pub mod files;
pub mod inference;
pub mod kernels;
pub mod loss;
pub mod metrics;
pub mod mixup;
pub mod model;
pub mod quality;
pub mod sampler;
pub mod supcon;
pub mod training;

pub use binary::{DecisionRule, Level};
pub use config::{ModelConfig, Recipe, TrainConfig};
pub use data::{AugmentMix, FreqMixStyle, ItemNorm, SpecAugment, default_examples, default_mel};
pub use ensemble::{Ensemble, EnsembleSpec, MemberSpec, is_ensemble};
pub use error::{Error, Result};
pub use inference::{
    Classifier, EvalOptions, Evaluation, Participant, Recording, SampleQuality, Segment, Summary,
    corpus_class_probability, evaluate, evaluate_probabilities, evaluate_with,
};
pub use loss::ClassLoss;
pub use metrics::{BootstrapUnit, ConfusionMatrix, GroupMetrics, IcbhiScore, Metrics};
pub use mixup::MixupMode;
pub use model::{Cnn, CnnConfig};
pub use quality::{
    ClassQuality, MATCHED_SPLITS, classifier_quality, frechet_distance, matched_frechet,
    patient_matched_frechet,
};
pub use training::{EpochRecord, TrainReport, resume, train};
