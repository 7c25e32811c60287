//! How recordings become labelled examples ([`CoswaraOptions`]): the class mapping, the
//! sounds used and the target.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::participants::CoswaraParticipant;
use super::sound::SoundKind;
use super::target::{COVID_STATUSES, CoswaraTarget};
use crate::error::{Error, Result};

/// How Coswara recordings become labelled examples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CoswaraOptions {
    /// `covid_status` -> class name; statuses not listed are excluded. Classes are the
    /// distinct class names, sorted. Default: the usual binary task, `positive_mild`,
    /// `positive_moderate`, `positive_asymp` -> `positive` and `healthy` -> `healthy`.
    pub labels: BTreeMap<String, String>,
    /// Sounds used as examples (each file one example). Default: the two breathing and the
    /// two cough recordings.
    pub sounds: Vec<SoundKind>,
    /// What participants are labelled with (default: COVID-19 status through `labels`).
    pub target: CoswaraTarget,
}

impl Default for CoswaraOptions {
    fn default() -> Self {
        let labels = [
            ("healthy", "healthy"),
            ("positive_mild", "positive"),
            ("positive_moderate", "positive"),
            ("positive_asymp", "positive"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        Self {
            labels,
            sounds: vec![
                SoundKind::BreathingDeep,
                SoundKind::BreathingShallow,
                SoundKind::CoughHeavy,
                SoundKind::CoughShallow,
            ],
            target: CoswaraTarget::Covid,
        }
    }
}

impl CoswaraOptions {
    /// The class names: for the COVID target the distinct names of `labels`, sorted
    /// (`["healthy", "positive"]` by default); for the others the negative class, then the
    /// positive one.
    pub fn classes(&self) -> Vec<String> {
        match &self.target {
            CoswaraTarget::Covid => self
                .labels
                .values()
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            CoswaraTarget::Symptomatic => vec!["asymptomatic".into(), "symptomatic".into()],
            CoswaraTarget::RespiratoryCondition => {
                vec!["none".into(), "respiratory-condition".into()]
            }
            CoswaraTarget::Flag(c) => vec![format!("no-{c}"), c.clone()],
        }
    }

    /// The class index of a participant, or `None` when the participant is left out: an
    /// excluded or unknown `covid_status` for the COVID target, no row in the CSV for the
    /// others.
    pub fn label_of(&self, participant: &CoswaraParticipant) -> Option<usize> {
        match &self.target {
            CoswaraTarget::Covid => participant
                .covid_status
                .as_deref()
                .and_then(|s| self.class_of(s)),
            target => {
                let flags = participant.flags.as_ref()?;
                Some(usize::from(
                    target.columns().iter().any(|c| flags.contains(*c)),
                ))
            }
        }
    }

    /// The class index of a `covid_status`, or `None` when the status is excluded.
    pub fn class_of(&self, covid_status: &str) -> Option<usize> {
        let name = self.labels.get(covid_status.trim())?;
        self.classes().iter().position(|c| c == name)
    }

    /// Checks that at least one status and one sound are selected.
    pub fn validate(&self) -> Result<()> {
        if self.labels.is_empty() {
            return Err(Error::InvalidConfig {
                field: "coswara.labels",
                reason: format!(
                    "no covid_status is mapped to a class; map some of {}",
                    COVID_STATUSES.join(", ")
                ),
            });
        }
        if self.sounds.is_empty() {
            return Err(Error::InvalidConfig {
                field: "coswara.sounds",
                reason: "no sound kind selected; pick e.g. breathing-deep or cough-heavy".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::combined_csv::read_combined_csv;
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn sound_kinds_and_default_labels() {
        assert_eq!(
            "breathing-deep".parse::<SoundKind>(),
            Ok(SoundKind::BreathingDeep)
        );
        assert_eq!("vowel-o.wav".parse::<SoundKind>(), Ok(SoundKind::VowelO));
        assert!("humming".parse::<SoundKind>().is_err());
        let o = CoswaraOptions::default();
        assert_eq!(o.classes(), ["healthy", "positive"]);
        assert_eq!(o.class_of("positive_asymp"), Some(1));
        assert_eq!(o.class_of("healthy"), Some(0));
        assert_eq!(o.class_of("recovered_full"), None);
        assert_eq!(o.class_of("under_validation"), None);
        o.validate().unwrap();
        let json = serde_json::to_value(&o).unwrap();
        assert_eq!(json["sounds"][0], "breathing-deep");
    }

    #[test]
    fn targets_read_the_true_false_columns() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("combined_data.csv");
        std::fs::write(
            &p,
            "id,covid_status,cough,asthma,fever,smoker\n\
             A,healthy,True,,,True\n\
             B,positive_mild,,,,\n\
             C,healthy,,True,,\n\
             D,recovered_full,,,true,\n",
        )
        .unwrap();
        let rows = read_combined_csv(&p).unwrap();
        assert_eq!(
            rows["A"].flags,
            BTreeSet::from(["cough".to_string(), "smoker".to_string()])
        );
        let participant = |id: &str| CoswaraParticipant {
            id: id.into(),
            date: "20200413".into(),
            dir: PathBuf::new(),
            covid_status: rows.get(id).map(|r| r.covid_status.clone()),
            flags: rows.get(id).map(|r| r.flags.clone()),
        };
        let [a, b, c, d, e] = ["A", "B", "C", "D", "E"].map(participant);
        let label = |target: &str, who: &CoswaraParticipant| {
            let o = CoswaraOptions {
                target: target.parse().unwrap(),
                ..CoswaraOptions::default()
            };
            o.label_of(who)
        };
        // COVID: healthy 0, positive 1, recovered excluded, unknown excluded.
        assert_eq!(
            [&a, &b, &c, &d, &e].map(|p| label("covid", p)),
            [Some(0), Some(1), Some(0), None, None]
        );
        // Symptomatic: cough (A) and fever (D, lower-case true); smoking is no symptom.
        assert_eq!(
            [&a, &b, &c, &d, &e].map(|p| label("symptomatic", p)),
            [Some(1), Some(0), Some(0), Some(1), None]
        );
        assert_eq!(
            [&a, &b, &c, &d, &e].map(|p| label("respiratory-condition", p)),
            [Some(0), Some(0), Some(1), Some(0), None]
        );
        assert_eq!(label("smoker", &a), Some(1));
        let o = CoswaraOptions {
            target: "asthma".parse().unwrap(),
            ..CoswaraOptions::default()
        };
        assert_eq!(o.classes(), ["no-asthma", "asthma"]);
        assert!(
            "height"
                .parse::<CoswaraTarget>()
                .unwrap_err()
                .contains("asthma")
        );
        let json = serde_json::to_string(&o).unwrap();
        assert!(json.contains("\"target\":\"asthma\""), "{json}");
        let back: CoswaraOptions = serde_json::from_str(&json).unwrap();
        assert_eq!(back, o);
    }
}
