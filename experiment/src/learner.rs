//! The epoch loop every model trains with: one [`Learner`] owns epochs, validation-based
//! selection of the best epoch, early stopping, the metrics log, checkpoints and resume; a
//! model supplies only what is its own through [`EpochStep`] (its training epoch, its
//! validation, its metrics line and the files of its checkpoint).
//!
//! The order of one epoch, which makes a crash at any point recoverable:
//! 1. [`EpochStep::train_epoch`] then [`EpochStep::validate`];
//! 2. the best-so-far bookkeeping (a higher validation score is better; without validation
//!    every epoch is the best);
//! 3. the epoch's line is appended to `metrics.jsonl`;
//! 4. the checkpoint is written ([`EpochStep::save`]) and committed with the loop's state,
//!    then [`EpochStep::publish`] copies what inference reads to the top of the run directory.
//!
//! A crash between 3 and 4 leaves a line that the resume drops and logs again
//! ([`MetricsLog::open_truncated`]).

use std::path::Path;

use serde::Serialize;

use crate::{Checkpoint, CheckpointWriter, MetricsLog, Progress, RunDir, Start, TrainingState};

/// What a model supplies to the [`Learner`].
pub trait EpochStep {
    /// The line of `metrics.jsonl` for one epoch.
    type Record: Serialize;
    /// The model's error type; the loop's own errors (files, checkpoints) convert into it.
    type Error: From<crate::Error>;

    /// Trains one epoch (`epoch` counts from 1); advances `state.step` by the optimiser steps
    /// it takes.
    fn train_epoch(
        &mut self,
        epoch: usize,
        state: &mut TrainingState,
        progress: &dyn Progress,
    ) -> Result<(), Self::Error>;

    /// Validates after the epoch: the score that selects the best epoch and drives early
    /// stopping (higher is better), or `None` when there is nothing to validate on.
    fn validate(&mut self, epoch: usize) -> Result<Option<f64>, Self::Error>;

    /// The metrics line of the epoch just trained and validated; `best` says whether it is
    /// the best epoch so far.
    fn record(
        &mut self,
        epoch: usize,
        state: &TrainingState,
        best: bool,
        progress: &dyn Progress,
    ) -> Self::Record;

    /// Positions of the model's random streams, saved with the checkpoint.
    fn rng_positions(&self) -> Vec<(u64, String)>;

    /// Writes the epoch's files into the checkpoint being built; `best` as in
    /// [`EpochStep::record`], `previous` the last committed checkpoint (to keep its copy of
    /// the best weights).
    fn save(
        &self,
        saving: &mut CheckpointWriter,
        best: bool,
        previous: Option<&Checkpoint>,
    ) -> Result<(), Self::Error>;

    /// Copies what inference reads from a committed checkpoint to the top of the run
    /// directory (also called on resume: a run killed between commit and publishing left
    /// older copies there).
    fn publish(&self, checkpoint: &Checkpoint, run: &RunDir) -> Result<(), Self::Error>;
}

/// The epoch loop (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Learner {
    /// Epochs in all (a resumed run continues to this count).
    pub epochs: usize,
    /// Stop after this many epochs without a better validation score (`None`: never).
    pub patience: Option<usize>,
}

/// Where a run starts, as [`Learner::start`] finds it.
#[derive(Debug, Clone)]
pub struct Resumption {
    /// A new run, a resumed one or one started again.
    pub start: Start,
    /// The committed checkpoint to continue from (its weights are the model's to load).
    pub checkpoint: Option<Checkpoint>,
    /// The loop's state: the checkpoint's, or a fresh one.
    pub state: TrainingState,
}

impl Resumption {
    /// Opens `metrics.jsonl` at `path` for appending, dropping the lines of epochs after the
    /// checkpoint (they were not saved and are logged again).
    pub fn open_log(&self, path: impl AsRef<Path>) -> crate::Result<MetricsLog> {
        MetricsLog::open_truncated(path, self.state.epoch)
    }
}

impl Learner {
    /// Finds where the run in `run` starts: its committed checkpoint when `resume` is set and
    /// there is one; a new run otherwise. Says so through `progress` when resuming found no
    /// committed checkpoint.
    pub fn start(run: &RunDir, resume: bool, progress: &dyn Progress) -> crate::Result<Resumption> {
        let (start, checkpoint) = run.resume_point(resume)?;
        if start == Start::Restarted {
            progress.message(&format!(
                "{} has no committed checkpoint: training from the first epoch",
                run.path().display()
            ));
        }
        let state = checkpoint
            .as_ref()
            .map(|c| c.state().clone())
            .unwrap_or_default();
        Ok(Resumption {
            start,
            checkpoint,
            state,
        })
    }

    /// Runs the epochs left after `state.epoch` (until `epochs`, or early stopping), logging
    /// each to `log` and checkpointing it in `run`; `checkpoint` is the last committed one.
    /// Returns the final state.
    pub fn fit<S: EpochStep>(
        &self,
        step: &mut S,
        run: &RunDir,
        mut state: TrainingState,
        mut checkpoint: Option<Checkpoint>,
        log: &mut MetricsLog,
        progress: &dyn Progress,
    ) -> Result<TrainingState, S::Error> {
        while state.epoch < self.epochs && !state.stopped_early {
            let epoch = state.epoch + 1;
            step.train_epoch(epoch, &mut state, progress)?;
            let best = match step.validate(epoch)? {
                Some(score) => {
                    if state.best_score.is_none_or(|b| score > b) {
                        state.best_score = Some(score);
                        state.best_epoch = Some(epoch);
                        state.epochs_without_improvement = 0;
                        true
                    } else {
                        state.epochs_without_improvement += 1;
                        false
                    }
                }
                None => {
                    state.best_epoch = Some(epoch);
                    true
                }
            };
            let record = step.record(epoch, &state, best, progress);
            log.append(&record)?;
            state.epoch = epoch;
            state.rng_positions = step.rng_positions();
            if self
                .patience
                .is_some_and(|p| state.epochs_without_improvement >= p)
            {
                state.stopped_early = true;
            }
            let mut saving = run.begin_checkpoint(epoch)?;
            step.save(&mut saving, best, checkpoint.as_ref())?;
            let saved = saving.commit(&state)?;
            step.publish(&saved, run)?;
            checkpoint = Some(saved);
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NoProgress, read_json, read_metrics};
    use serde::Deserialize;

    /// A model with one parameter that follows a scripted validation curve.
    struct Toy {
        weight: f64,
        scores: Vec<Option<f64>>,
        last_score: Option<f64>,
        trained: Vec<usize>,
    }

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Line {
        epoch: usize,
        step: usize,
        weight: f64,
        val: Option<f64>,
        best: bool,
    }

    impl EpochStep for Toy {
        type Record = Line;
        type Error = crate::Error;

        fn train_epoch(
            &mut self,
            epoch: usize,
            state: &mut TrainingState,
            _: &dyn Progress,
        ) -> crate::Result<()> {
            self.weight += epoch as f64;
            state.step += 3;
            self.trained.push(epoch);
            Ok(())
        }

        fn validate(&mut self, epoch: usize) -> crate::Result<Option<f64>> {
            self.last_score = self.scores.get(epoch - 1).copied().flatten();
            Ok(self.last_score)
        }

        fn record(
            &mut self,
            epoch: usize,
            state: &TrainingState,
            best: bool,
            _: &dyn Progress,
        ) -> Line {
            Line {
                epoch,
                step: state.step,
                weight: self.weight,
                val: self.last_score,
                best,
            }
        }

        fn rng_positions(&self) -> Vec<(u64, String)> {
            vec![(7, format!("{}", self.weight))]
        }

        fn save(
            &self,
            saving: &mut CheckpointWriter,
            best: bool,
            previous: Option<&Checkpoint>,
        ) -> crate::Result<()> {
            saving.save_json("model.json", &self.weight)?;
            match previous {
                Some(p) if !best => saving.keep("best.json", p),
                _ => saving.save_same_as("best.json", "model.json"),
            }
        }

        fn publish(&self, checkpoint: &Checkpoint, run: &RunDir) -> crate::Result<()> {
            for name in ["model.json", "best.json"] {
                checkpoint.publish(name, run.file(name))?;
            }
            Ok(())
        }
    }

    fn toy(scores: &[Option<f64>]) -> Toy {
        Toy {
            weight: 0.0,
            scores: scores.to_vec(),
            last_score: None,
            trained: Vec::new(),
        }
    }

    /// Trains `toy` in a new run directory under `dir` for `epochs`.
    fn fit_new(dir: &Path, toy: &mut Toy, learner: Learner) -> TrainingState {
        let run = RunDir::create(dir, false).unwrap();
        run.save_json("config.json", &"toy").unwrap();
        let r = Learner::start(&run, false, &NoProgress).unwrap();
        let mut log = r.open_log(run.file("metrics.jsonl")).unwrap();
        learner
            .fit(toy, &run, r.state, r.checkpoint, &mut log, &NoProgress)
            .unwrap()
    }

    #[test]
    fn runs_every_epoch_and_keeps_the_best_weights() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let scores = [Some(0.1), Some(0.5), Some(0.3), Some(0.4)];
        let mut t = toy(&scores);
        let learner = Learner {
            epochs: 4,
            patience: None,
        };
        let state = fit_new(&dir, &mut t, learner);
        assert_eq!(t.trained, [1, 2, 3, 4]);
        assert_eq!(state.epoch, 4);
        assert_eq!(state.step, 12);
        assert_eq!(state.best_epoch, Some(2));
        assert_eq!(state.best_score, Some(0.5));
        assert_eq!(state.epochs_without_improvement, 2);
        assert!(!state.stopped_early);
        assert_eq!(state.rng_positions, vec![(7, "10".to_string())]);
        // Weights after epochs 1..4 are 1, 3, 6, 10; the best (epoch 2) is 3.
        let last: f64 = read_json(dir.join("model.json")).unwrap();
        let best: f64 = read_json(dir.join("best.json")).unwrap();
        assert_eq!((last, best), (10.0, 3.0));
        let lines = read_metrics(dir.join("metrics.jsonl")).unwrap();
        let best_flags: Vec<bool> = lines.iter().map(|l| l["best"] == true).collect();
        assert_eq!(best_flags, [true, true, false, false]);
    }

    #[test]
    fn early_stopping_after_patience_epochs_without_improvement() {
        let tmp = tempfile::tempdir().unwrap();
        let scores = [Some(0.5), Some(0.4), Some(0.5), Some(0.9), Some(1.0)];
        let mut t = toy(&scores);
        let learner = Learner {
            epochs: 5,
            patience: Some(2),
        };
        let state = fit_new(&tmp.path().join("run"), &mut t, learner);
        // Epoch 3 ties epoch 1's score, which is no improvement.
        assert_eq!(t.trained, [1, 2, 3]);
        assert!(state.stopped_early);
        assert_eq!(state.best_epoch, Some(1));
    }

    #[test]
    fn without_validation_every_epoch_is_the_best() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let mut t = toy(&[]);
        let learner = Learner {
            epochs: 3,
            patience: Some(1),
        };
        let state = fit_new(&dir, &mut t, learner);
        assert_eq!(t.trained, [1, 2, 3]);
        assert_eq!(state.best_epoch, Some(3));
        assert_eq!(state.best_score, None);
        let best: f64 = read_json(dir.join("best.json")).unwrap();
        assert_eq!(best, 6.0);
    }

    #[test]
    fn a_resumed_run_ends_as_an_uninterrupted_one() {
        let tmp = tempfile::tempdir().unwrap();
        let scores = [Some(0.2), Some(0.6), Some(0.1), Some(0.7), Some(0.3)];
        let learner = Learner {
            epochs: 5,
            patience: None,
        };
        let whole_dir = tmp.path().join("whole");
        let whole = fit_new(&whole_dir, &mut toy(&scores), learner);

        // Two epochs, then a stop; resume to five with the weights the checkpoint holds.
        let dir = tmp.path().join("halves");
        let mut first = toy(&scores);
        fit_new(
            &dir,
            &mut first,
            Learner {
                epochs: 2,
                ..learner
            },
        );
        let run = RunDir::create(&dir, true).unwrap();
        let r = Learner::start(&run, true, &NoProgress).unwrap();
        assert_eq!(r.start, Start::Resumed { epoch: 2 });
        let checkpoint = r.checkpoint.clone().unwrap();
        let mut second = toy(&scores);
        second.weight = read_json(checkpoint.file("model.json")).unwrap();
        let mut log = r.open_log(run.file("metrics.jsonl")).unwrap();
        let state = learner
            .fit(
                &mut second,
                &run,
                r.state,
                r.checkpoint,
                &mut log,
                &NoProgress,
            )
            .unwrap();
        assert_eq!(second.trained, [3, 4, 5]);
        assert_eq!(state, whole);
        for name in ["model.json", "best.json", "metrics.jsonl"] {
            assert_eq!(
                std::fs::read(dir.join(name)).unwrap(),
                std::fs::read(whole_dir.join(name)).unwrap(),
                "{name}"
            );
        }
    }

    #[test]
    fn resuming_without_a_committed_checkpoint_starts_again() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        RunDir::create(&dir, false)
            .unwrap()
            .save_json("config.json", &"toy")
            .unwrap();
        let run = RunDir::create(&dir, true).unwrap();
        let r = Learner::start(&run, true, &NoProgress).unwrap();
        assert_eq!(r.start, Start::Restarted);
        assert!(r.checkpoint.is_none());
        assert_eq!(r.state, TrainingState::default());
    }
}
