//! Inference from a run directory: rebuild the model from `config.json`, load its weights and
//! normalisation, and classify examples, spectrograms, generated corpora or whole recordings
//! (per annotated cycle, or in windows of the training length).
//!
//! Files: `predict` (probabilities of normalised features, in batches), `classifier` (the
//! loaded [`Classifier`] and its decision on one row of probabilities), `recording` (a
//! recording per cycle or window), `participant` (a Coswara participant folder), `evaluation`
//! (metrics on labelled examples, per device and sample rate), `corpus` (the quality gate of
//! a generated corpus).

mod classifier;
mod corpus;
mod evaluation;
mod participant;
mod predict;
mod recording;

pub(crate) use classifier::decide;
pub use classifier::{ClassProbabilities, Classifier};
pub use corpus::{SampleQuality, corpus_class_probability};
pub(crate) use evaluation::source_rates;
pub use evaluation::{EvalOptions, Evaluation, evaluate, evaluate_probabilities, evaluate_with};
pub use participant::{Participant, Skipped, SoundResult};
pub use predict::predict_probabilities;
pub use recording::{Recording, Segment, Summary};
