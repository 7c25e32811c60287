//! A model per Coswara sound kind, fused per participant: the mean over the members of each
//! member's participant probability (itself the mean over the participant's files of that
//! kind), decided with one threshold chosen on the validation participants.
//!
//! An ensemble directory holds `ensemble.json` ([`EnsembleSpec`]: each member's run directory,
//! relative to the ensemble's, and the sounds it was trained on), `decision.json`, and the
//! members' run directories.

use std::path::{Path, PathBuf};

use auscult_datasets::SoundKind;
use serde::{Deserialize, Serialize};

use crate::binary::{DecisionRule, Fused, average_rows, positive_class};
use crate::files;
use crate::inference::{ClassProbabilities, Classifier, Participant};
use crate::{Error, Result};

/// One member of an ensemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberSpec {
    /// The member's run directory, relative to the ensemble directory.
    pub dir: PathBuf,
    /// The sounds the member was trained on (and classifies).
    pub sounds: Vec<SoundKind>,
}

/// `ensemble.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsembleSpec {
    /// The members, in training order.
    pub members: Vec<MemberSpec>,
}

/// Whether `dir` holds an ensemble rather than a single model.
pub fn is_ensemble(dir: &Path) -> bool {
    dir.join(files::ENSEMBLE).is_file()
}

/// A loaded ensemble.
#[derive(Debug)]
pub struct Ensemble {
    dir: PathBuf,
    spec: EnsembleSpec,
    members: Vec<Classifier>,
    decision: Option<DecisionRule>,
}

impl Ensemble {
    /// Loads `ensemble.json`, every member, and `decision.json` when present; the members must
    /// share their classes.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(files::ENSEMBLE);
        let spec: EnsembleSpec = auscult_experiment::read_json(&path)?;
        if spec.members.is_empty() {
            return Err(Error::data(format!("{}: no members", path.display())));
        }
        let members = spec
            .members
            .iter()
            .map(|m| Classifier::load(&dir.join(&m.dir)))
            .collect::<Result<Vec<_>>>()?;
        if let Some(m) = members.iter().find(|m| m.classes() != members[0].classes()) {
            return Err(Error::data(format!(
                "{}: member {} has classes {} but {} has {}",
                path.display(),
                m.dir().display(),
                m.classes().join(", "),
                members[0].dir().display(),
                members[0].classes().join(", ")
            )));
        }
        let decision_path = dir.join(files::DECISION);
        let decision = if decision_path.is_file() {
            let d: DecisionRule = auscult_experiment::read_json(&decision_path)?;
            let classes = members[0].classes();
            if positive_class(classes).is_none_or(|p| classes[p] != d.positive_class) {
                return Err(Error::data(format!(
                    "{}: positive class `{}` is not the members' ({})",
                    decision_path.display(),
                    d.positive_class,
                    classes.join(", ")
                )));
            }
            Some(d)
        } else {
            None
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            spec,
            members,
            decision,
        })
    }

    /// The ensemble directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The members' class names.
    pub fn classes(&self) -> &[String] {
        self.members[0].classes()
    }

    /// The members with their specs.
    pub fn members(&self) -> impl Iterator<Item = (&MemberSpec, &Classifier)> {
        self.spec.members.iter().zip(&self.members)
    }

    /// The ensemble's decision rule.
    pub fn decision(&self) -> Option<&DecisionRule> {
        self.decision.as_ref()
    }

    /// Classifies a participant folder: every member classifies its sounds, the participant's
    /// probabilities are the mean of the members' that found a usable sound.
    ///
    /// # Errors
    /// When no member could classify any of its sounds.
    pub fn classify_participant(&mut self, dir: &Path) -> Result<Participant> {
        let mut results = Vec::new();
        let mut skipped = Vec::new();
        for (spec, member) in self.spec.members.iter().zip(self.members.iter_mut()) {
            match member.classify_participant(dir, &spec.sounds) {
                Ok(p) => results.push(p),
                Err(e) => skipped.extend(spec.sounds.iter().map(|k| crate::inference::Skipped {
                    sound: k.name().into(),
                    reason: e.to_string(),
                })),
            }
        }
        let Some(first) = results.first() else {
            return Err(Error::data(format!(
                "{}: no member of the ensemble could classify this participant ({})",
                dir.display(),
                skipped
                    .iter()
                    .map(|s| s.sound.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let classes = self.classes().to_vec();
        let mut mean = vec![0f32; classes.len()];
        for r in &results {
            for (m, (_, v)) in mean.iter_mut().zip(&r.probabilities.0) {
                *m += v / results.len() as f32;
            }
        }
        let label = crate::inference::decide(&classes, self.decision.as_ref(), &mean);
        Ok(Participant {
            participant: first.participant.clone(),
            path: dir.to_path_buf(),
            sounds: results.iter().flat_map(|r| r.sounds.clone()).collect(),
            skipped: results
                .iter()
                .flat_map(|r| r.skipped.clone())
                .chain(skipped)
                .collect(),
            label: classes[label].clone(),
            probabilities: ClassProbabilities::new(&classes, &mean),
            threshold: self.decision.as_ref().map(|d| d.threshold),
        })
    }
}

/// Combines the members' per-participant predictions: each participant's probabilities are the
/// mean over the members that scored it.
///
/// # Errors
/// When two members disagree on a participant's label.
pub fn combine(members: &[Fused]) -> Result<Fused> {
    average_rows(
        members.iter().flat_map(|m| {
            m.patients
                .iter()
                .zip(&m.truth)
                .zip(&m.probabilities)
                .zip(&m.counts)
                .map(|(((id, &t), p), &n)| (id.as_str(), t, p.as_slice(), n))
        }),
        |id, a, b| format!("participant {id} is labelled {a} by one member and {b} by another"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combining_members_averages_the_participants_they_scored() {
        let a = Fused {
            patients: vec!["p".into(), "q".into()],
            truth: vec![1, 0],
            probabilities: vec![vec![0.2, 0.8], vec![0.9, 0.1]],
            counts: vec![2, 2],
        };
        // Member b never saw q (no usable file of its kind).
        let b = Fused {
            patients: vec!["p".into()],
            truth: vec![1],
            probabilities: vec![vec![0.6, 0.4]],
            counts: vec![1],
        };
        let c = combine(&[a.clone(), b]).unwrap();
        assert_eq!(c.patients, ["p", "q"]);
        assert!((c.probabilities[0][1] - 0.6).abs() < 1e-6);
        assert!((c.probabilities[1][1] - 0.1).abs() < 1e-6);
        assert_eq!(c.counts, [3, 2]);
        let bad = Fused {
            truth: vec![0],
            ..a.clone()
        };
        let bad = Fused {
            patients: vec!["p".into()],
            probabilities: vec![vec![0.5, 0.5]],
            counts: vec![1],
            ..bad
        };
        assert!(combine(&[a, bad]).is_err());
    }
}
