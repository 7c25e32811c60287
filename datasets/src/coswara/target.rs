//! What a participant is labelled with ([`CoswaraTarget`]) and the `combined_data.csv`
//! columns and values behind the labels.

use serde::{Deserialize, Serialize};

/// The `covid_status` values found in Coswara.
pub const COVID_STATUSES: [&str; 8] = [
    "healthy",
    "positive_mild",
    "positive_moderate",
    "positive_asymp",
    "recovered_full",
    "resp_illness_not_identified",
    "no_resp_illness_exposed",
    "under_validation",
];

/// The True/False columns of `combined_data.csv` (its legend, `csv_labels_legend.json`):
/// symptoms, conditions and habits a participant reported. Each can be a `--target`.
pub const FLAG_COLUMNS: [&str; 18] = [
    "asthma",
    "bd",
    "cld",
    "cold",
    "cough",
    "diabetes",
    "diarrhoea",
    "fever",
    "ftg",
    "ht",
    "ihd",
    "loss_of_smell",
    "mp",
    "others_preexist",
    "others_resp",
    "pneumonia",
    "smoker",
    "st",
];

/// The symptom columns behind [`CoswaraTarget::Symptomatic`]: cough, cold, fever, diarrhoea,
/// loss of smell and taste, muscle pain, breathing difficulties, fatigue, sore throat.
pub const SYMPTOM_COLUMNS: [&str; 9] = [
    "cough",
    "cold",
    "fever",
    "diarrhoea",
    "loss_of_smell",
    "mp",
    "bd",
    "ftg",
    "st",
];

/// The columns behind [`CoswaraTarget::RespiratoryCondition`]: asthma, chronic lung disease,
/// pneumonia, other respiratory illness.
pub const RESPIRATORY_COLUMNS: [&str; 4] = ["asthma", "cld", "pneumonia", "others_resp"];

/// What a Coswara participant is labelled with.
///
/// Every target but [`CoswaraTarget::Covid`] is binary, read from the True/False columns of
/// `combined_data.csv` (a blank field is False, as in Coswara), with class 0 the negative one;
/// participants without a row in the CSV are left out.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum CoswaraTarget {
    /// `covid_status` through [`CoswaraOptions::labels`] (default: healthy vs positive).
    #[default]
    Covid,
    /// Any of the [`SYMPTOM_COLUMNS`]: classes `asymptomatic`, `symptomatic`.
    Symptomatic,
    /// Any of the [`RESPIRATORY_COLUMNS`]: classes `none`, `respiratory-condition`.
    RespiratoryCondition,
    /// One of the [`FLAG_COLUMNS`] (e.g. `asthma`): classes `no-<column>`, `<column>`.
    Flag(String),
}

impl CoswaraTarget {
    /// The target's name as `--target` takes it (`covid`, `symptomatic`, `asthma`, ...).
    pub fn name(&self) -> &str {
        match self {
            Self::Covid => "covid",
            Self::Symptomatic => "symptomatic",
            Self::RespiratoryCondition => "respiratory-condition",
            Self::Flag(c) => c,
        }
    }

    /// The columns whose True makes a participant positive (empty for [`Self::Covid`]).
    pub fn columns(&self) -> Vec<&str> {
        match self {
            Self::Covid => Vec::new(),
            Self::Symptomatic => SYMPTOM_COLUMNS.to_vec(),
            Self::RespiratoryCondition => RESPIRATORY_COLUMNS.to_vec(),
            Self::Flag(c) => vec![c.as_str()],
        }
    }
}

impl std::fmt::Display for CoswaraTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for CoswaraTarget {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let s = s.trim();
        match s.to_ascii_lowercase().as_str() {
            "covid" | "covid_status" => Ok(Self::Covid),
            "symptomatic" | "symptoms" => Ok(Self::Symptomatic),
            "respiratory-condition" | "respiratory" => Ok(Self::RespiratoryCondition),
            other => FLAG_COLUMNS
                .iter()
                .find(|c| **c == other)
                .map(|c| Self::Flag((*c).to_string()))
                .ok_or_else(|| {
                    format!(
                        "unknown Coswara target `{s}`: expected covid, symptomatic, \
                         respiratory-condition or a True/False column of combined_data.csv ({})",
                        FLAG_COLUMNS.join(", ")
                    )
                }),
        }
    }
}

impl From<CoswaraTarget> for String {
    fn from(t: CoswaraTarget) -> Self {
        t.name().to_string()
    }
}

impl TryFrom<String> for CoswaraTarget {
    type Error = String;

    fn try_from(s: String) -> std::result::Result<Self, Self::Error> {
        s.parse()
    }
}
