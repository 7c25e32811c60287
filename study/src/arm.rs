//! The study's training arms: what each trains, its letter in the report, and which arms a
//! request actually runs.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A training arm of the study. Every arm trains the same classifier recipe on the same data,
/// seed and budget; they differ only in the loss, the sampling and the generated data mixed in.
///
/// Serialized in kebab-case (`"mixup-supcon"`), as `report.json` names the arms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arm {
    /// (a) plain cross-entropy with instance sampling.
    Plain,
    /// (b) Balanced Mixup + SupCon.
    MixupSupcon,
    /// (c) (b) + the generated corpus.
    Augmented,
    /// (d) naive oversampling of minority classes.
    Oversample,
    /// (e) (c) with generated samples filtered by a quality gate.
    Gated,
}

impl Arm {
    /// Every arm, in report order.
    pub const ALL: [Arm; 5] = [
        Arm::Plain,
        Arm::MixupSupcon,
        Arm::Augmented,
        Arm::Oversample,
        Arm::Gated,
    ];

    /// The arm's letter in the and report's numbering (`'a'` to `'e'`).
    pub fn letter(self) -> char {
        match self {
            Arm::Plain => 'a',
            Arm::MixupSupcon => 'b',
            Arm::Augmented => 'c',
            Arm::Oversample => 'd',
            Arm::Gated => 'e',
        }
    }

    /// Short name used for directories and tables (`"mixup-supcon"`).
    pub fn name(self) -> &'static str {
        match self {
            Arm::Plain => "plain",
            Arm::MixupSupcon => "mixup-supcon",
            Arm::Augmented => "augmented",
            Arm::Oversample => "oversample",
            Arm::Gated => "gated",
        }
    }

    /// What the arm does, in words.
    pub fn description(self) -> &'static str {
        match self {
            Arm::Plain => "cross-entropy, instance sampling",
            Arm::MixupSupcon => "Balanced Mixup + SupCon",
            Arm::Augmented => "Balanced Mixup + SupCon + generated corpus",
            Arm::Oversample => "naive oversampling, cross-entropy",
            Arm::Gated => "Balanced Mixup + SupCon + gated generated corpus",
        }
    }

    /// Whether the arm trains on the generated corpus (so the generator must run first).
    pub fn needs_corpus(self) -> bool {
        matches!(self, Arm::Augmented | Arm::Gated)
    }
}

impl FromStr for Arm {
    type Err = Error;

    /// Parses a letter (`"c"`) or a name (`"augmented"`), ignoring case and surrounding
    /// whitespace.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        Arm::ALL
            .into_iter()
            .find(|a| s == a.name() || s.len() == 1 && s.starts_with(a.letter()))
            .ok_or(Error::UnknownArm { name: s })
    }
}

/// The arms a study runs for `requested`: in report order, each once, with (a) added when (e)
/// is asked for (the quality gate of arm (e) is arm (a)'s model).
pub fn arms_to_run(requested: &[Arm]) -> Vec<Arm> {
    let mut arms = requested.to_vec();
    arms.sort();
    arms.dedup();
    if arms.contains(&Arm::Gated) && !arms.contains(&Arm::Plain) {
        arms.insert(0, Arm::Plain);
    }
    arms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_and_names_parse_back_to_their_arm() {
        for arm in Arm::ALL {
            assert_eq!(arm.letter().to_string().parse::<Arm>().unwrap(), arm);
            assert_eq!(arm.name().parse::<Arm>().unwrap(), arm);
        }
        assert_eq!(" Mixup-SupCon ".parse::<Arm>().unwrap(), Arm::MixupSupcon);
        assert_eq!("E".parse::<Arm>().unwrap(), Arm::Gated);
    }

    #[test]
    fn unknown_arms_are_refused_with_the_accepted_names() {
        let err = " F ".parse::<Arm>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown arm `f`: expected a-e or plain, mixup-supcon, augmented, oversample, gated"
        );
        // A letter must be the whole name, not its start.
        assert!("plainer".parse::<Arm>().is_err());
        assert!("ab".parse::<Arm>().is_err());
    }

    #[test]
    fn arms_serialize_in_kebab_case() {
        assert_eq!(
            serde_json::to_string(&Arm::MixupSupcon).unwrap(),
            "\"mixup-supcon\""
        );
        for arm in Arm::ALL {
            assert_eq!(serde_json::to_value(arm).unwrap(), arm.name());
        }
    }

    #[test]
    fn arms_to_run_sorts_dedups_and_adds_the_gate_model() {
        assert_eq!(
            arms_to_run(&[Arm::Augmented, Arm::Plain, Arm::Augmented]),
            [Arm::Plain, Arm::Augmented]
        );
        assert_eq!(
            arms_to_run(&[Arm::Gated, Arm::MixupSupcon]),
            [Arm::Plain, Arm::MixupSupcon, Arm::Gated]
        );
        assert_eq!(arms_to_run(&[]), []);
    }

    #[test]
    fn only_the_augmented_arms_need_the_corpus() {
        let needing: Vec<Arm> = Arm::ALL.into_iter().filter(|a| a.needs_corpus()).collect();
        assert_eq!(needing, [Arm::Augmented, Arm::Gated]);
    }
}
