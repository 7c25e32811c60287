//! Coswara (IISc Bangalore): breathing, cough and voice recordings with COVID-19 status.
//!
//! The root holds `combined_data.csv` (or a truncated copy named `combined_data*.csv`) and
//! participant folders `YYYYMMDD/<participant id>/<sound>.wav`, possibly below
//! `Extracted_data/`. Each participant folder holds up to nine sounds and a `metadata.json`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::files::{self, WavHeader};
use crate::problem::Problem;

/// Name of the metadata table at the root of the Coswara repository.
pub const COMBINED_CSV: &str = "combined_data.csv";
/// Folder into which the Coswara archives are often extracted.
pub const EXTRACTED_DIR: &str = "Extracted_data";

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

/// One of the nine Coswara recordings of a participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SoundKind {
    /// `breathing-deep.wav`.
    BreathingDeep,
    /// `breathing-shallow.wav`.
    BreathingShallow,
    /// `cough-heavy.wav`.
    CoughHeavy,
    /// `cough-shallow.wav`.
    CoughShallow,
    /// `counting-fast.wav`.
    CountingFast,
    /// `counting-normal.wav`.
    CountingNormal,
    /// `vowel-a.wav`.
    VowelA,
    /// `vowel-e.wav`.
    VowelE,
    /// `vowel-o.wav`.
    VowelO,
}

impl SoundKind {
    /// All nine kinds.
    pub const ALL: [SoundKind; 9] = [
        Self::BreathingDeep,
        Self::BreathingShallow,
        Self::CoughHeavy,
        Self::CoughShallow,
        Self::CountingFast,
        Self::CountingNormal,
        Self::VowelA,
        Self::VowelE,
        Self::VowelO,
    ];

    /// The kebab-case name (`breathing-deep`), also the file stem.
    pub fn name(self) -> &'static str {
        match self {
            Self::BreathingDeep => "breathing-deep",
            Self::BreathingShallow => "breathing-shallow",
            Self::CoughHeavy => "cough-heavy",
            Self::CoughShallow => "cough-shallow",
            Self::CountingFast => "counting-fast",
            Self::CountingNormal => "counting-normal",
            Self::VowelA => "vowel-a",
            Self::VowelE => "vowel-e",
            Self::VowelO => "vowel-o",
        }
    }

    /// The file name (`breathing-deep.wav`).
    pub fn file_name(self) -> String {
        format!("{}.wav", self.name())
    }
}

impl std::str::FromStr for SoundKind {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let s = s.trim().trim_end_matches(".wav");
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "unknown Coswara sound `{s}`: expected one of {}",
                    Self::ALL.map(|k| k.name()).join(", ")
                )
            })
    }
}

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

/// The fields of a `combined_data.csv` row that auscult uses.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct CoswaraRow {
    /// `covid_status`.
    pub covid_status: String,
    /// `a`: age in years, when present.
    pub age: Option<f32>,
    /// `g`: gender, when present.
    pub gender: Option<String>,
    /// `record_date`, when present.
    pub record_date: Option<String>,
    /// The [`FLAG_COLUMNS`] present in the table whose value is `True`.
    pub flags: BTreeSet<String>,
}

/// Reads `combined_data.csv`: needs the columns `id` and `covid_status`; `a`, `g` and
/// `record_date` are read when present. Fields are trimmed (quoted fields may hold commas).
pub fn read_combined_csv(path: &Path) -> Result<BTreeMap<String, CoswaraRow>> {
    let csv_err = |source| Error::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(csv_err)?;
    let headers = reader.headers().map_err(csv_err)?.clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let need = |name: &str| {
        column(name).ok_or_else(|| Error::MissingColumn {
            path: path.to_path_buf(),
            column: name.into(),
            found: headers.iter().collect::<Vec<_>>().join(", "),
        })
    };
    let id_col = need("id")?;
    let status_col = need("covid_status")?;
    let (age_col, gender_col, date_col) = (column("a"), column("g"), column("record_date"));
    let flag_cols: Vec<(&str, usize)> = FLAG_COLUMNS
        .iter()
        .filter_map(|&c| column(c).map(|i| (c, i)))
        .collect();
    let mut out = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(csv_err)?;
        let get = |c: Option<usize>| {
            c.and_then(|c| record.get(c))
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let Some(id) = get(Some(id_col)) else {
            continue;
        };
        out.entry(id).or_insert(CoswaraRow {
            covid_status: get(Some(status_col)).unwrap_or_default(),
            age: get(age_col).and_then(|a| a.parse().ok()),
            gender: get(gender_col),
            record_date: get(date_col),
            flags: flag_cols
                .iter()
                .filter(|(_, i)| {
                    record
                        .get(*i)
                        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
                })
                .map(|(c, _)| (*c).to_string())
                .collect(),
        });
    }
    Ok(out)
}

/// One participant folder.
#[derive(Debug, Clone, PartialEq)]
pub struct CoswaraParticipant {
    /// Participant id (the folder name).
    pub id: String,
    /// Recording date folder (`YYYYMMDD`).
    pub date: String,
    /// The participant's folder.
    pub dir: PathBuf,
    /// `covid_status` from the CSV, else from `metadata.json`; `None` when neither has it.
    pub covid_status: Option<String>,
    /// The True/False columns that are True in the participant's CSV row; `None` when the
    /// CSV has no row for the participant.
    pub flags: Option<BTreeSet<String>>,
}

/// One sound file of a participant.
#[derive(Debug, Clone, PartialEq)]
pub struct CoswaraFile {
    /// Index into [`CoswaraDatabase::participants`].
    pub participant: usize,
    /// Which sound.
    pub kind: SoundKind,
    /// The file.
    pub path: PathBuf,
    /// Header facts; `None` when unreadable.
    pub header: Option<WavHeader>,
}

impl CoswaraFile {
    /// Whether the file holds samples (readable and more than zero frames).
    pub fn is_usable(&self) -> bool {
        self.header.is_some_and(|h| h.frames > 0)
    }
}

/// A discovered copy of Coswara.
#[derive(Debug, Clone)]
pub struct CoswaraDatabase {
    /// The folder given by the user.
    pub root: PathBuf,
    /// The metadata table used, when found.
    pub csv: Option<PathBuf>,
    /// Participants, sorted by date then id.
    pub participants: Vec<CoswaraParticipant>,
    /// Sound files, in participant order then [`SoundKind::ALL`] order.
    pub files: Vec<CoswaraFile>,
    /// Number of header-only (zero-frame) WAVs, which are skipped.
    pub empty_files: usize,
    /// Everything odd found, none of it fatal.
    pub problems: Vec<Problem>,
}

fn is_date_dir(p: &Path) -> bool {
    p.is_dir()
        && p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.len() == 8 && n.chars().all(|c| c.is_ascii_digit()))
}

/// The `combined_data*.csv` at the root, preferring the exact name.
pub fn find_combined_csv(root: &Path) -> Option<PathBuf> {
    let exact = root.join(COMBINED_CSV);
    if exact.is_file() {
        return Some(exact);
    }
    files::sorted_entries(root).ok()?.into_iter().find(|p| {
        p.is_file()
            && files::has_extension(p, "csv")
            && p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("combined_data"))
    })
}

/// The `YYYYMMDD` folders under the root or under `Extracted_data/`.
pub fn find_date_dirs(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for base in [root.to_path_buf(), root.join(EXTRACTED_DIR)] {
        if !base.is_dir() {
            continue;
        }
        for d in files::sorted_subdirs(&base).unwrap_or_default() {
            if !is_date_dir(&d) {
                continue;
            }
            // `tar -x` into a folder of the same name gives 20200413/20200413/<id>/.
            let inner = d.join(d.file_name().unwrap_or_default());
            out.push(if is_date_dir(&inner) { inner } else { d });
        }
    }
    out
}

fn metadata_status(dir: &Path) -> Option<String> {
    let text = files::read_text(&dir.join("metadata.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("covid_status")?
        .as_str()
        .map(|s| s.trim().to_string())
}

impl CoswaraDatabase {
    /// Discovers the participants under `root`, reads the CSV and every WAV header.
    pub fn open(root: &Path) -> Result<Self> {
        let mut problems = Vec::new();
        let csv = find_combined_csv(root);
        let rows = match &csv {
            Some(p) => read_combined_csv(p)?,
            None => {
                problems.push(Problem::new(
                    root,
                    format!(
                        "no {COMBINED_CSV} found; covid_status is taken from each participant's metadata.json"
                    ),
                ));
                BTreeMap::new()
            }
        };
        let date_dirs = find_date_dirs(root);
        if date_dirs.is_empty() {
            return Err(Error::NotADataset {
                path: root.to_path_buf(),
                expected: format!(
                    "expected Coswara participant folders YYYYMMDD/<id>/*.wav (or {EXTRACTED_DIR}/YYYYMMDD/<id>/)"
                ),
            });
        }
        let mut participants = Vec::new();
        let mut out_files = Vec::new();
        let mut empty_files = 0;
        let mut seen = BTreeSet::new();
        for date_dir in &date_dirs {
            let date = files::stem_of(date_dir);
            for dir in files::sorted_subdirs(date_dir)? {
                let id = dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if !seen.insert(id.clone()) {
                    problems.push(Problem::new(
                        &dir,
                        format!("participant {id} appears twice; this copy is skipped"),
                    ));
                    continue;
                }
                let covid_status = rows
                    .get(&id)
                    .map(|r| r.covid_status.clone())
                    .filter(|s| !s.is_empty())
                    .or_else(|| metadata_status(&dir));
                if covid_status.is_none() {
                    problems.push(Problem::new(
                        &dir,
                        "unknown participant: no covid_status in the CSV or metadata.json; its files are not labelled",
                    ));
                }
                let index = participants.len();
                let mut any = false;
                for kind in SoundKind::ALL {
                    let path = dir.join(kind.file_name());
                    if !path.is_file() {
                        continue;
                    }
                    any = true;
                    let header = match files::read_wav_header(&path) {
                        Ok(h) => {
                            if h.frames == 0 {
                                empty_files += 1;
                                problems.push(Problem::new(
                                    &path,
                                    "zero frames (header-only WAV); skipped",
                                ));
                            }
                            Some(h)
                        }
                        Err(e) => {
                            problems.push(Problem::new(
                                &path,
                                format!("unreadable audio: {e}; skipped"),
                            ));
                            None
                        }
                    };
                    out_files.push(CoswaraFile {
                        participant: index,
                        kind,
                        path,
                        header,
                    });
                }
                if !any {
                    problems.push(Problem::new(
                        &dir,
                        "participant folder holds no Coswara sound file",
                    ));
                }
                participants.push(CoswaraParticipant {
                    flags: rows.get(&id).map(|r| r.flags.clone()),
                    id,
                    date: date.clone(),
                    dir,
                    covid_status,
                });
            }
        }
        if participants.is_empty() {
            return Err(Error::NotADataset {
                path: root.to_path_buf(),
                expected: "the Coswara date folders hold no participant folder".into(),
            });
        }
        Ok(Self {
            root: root.to_path_buf(),
            csv,
            participants,
            files: out_files,
            empty_files,
            problems,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn csv_with_quotes_and_a_missing_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("combined_data.csv");
        std::fs::write(
            &p,
            "id,a,covid_status,record_date,g,l_l\n\
             A1,28,healthy,2020-04-23,male,\"Bengaluru, Urban\"\n\
             B2,31,positive_mild ,2020-05-01,female,Udaipur \n",
        )
        .unwrap();
        let rows = read_combined_csv(&p).unwrap();
        assert_eq!(rows["B2"].covid_status, "positive_mild");
        assert_eq!(rows["A1"].age, Some(28.0));
        assert_eq!(rows["A1"].gender.as_deref(), Some("male"));
        assert!(rows["A1"].flags.is_empty());

        std::fs::write(&p, "id,a,g\nA1,28,male\n").unwrap();
        let e = read_combined_csv(&p).unwrap_err().to_string();
        assert!(
            e.contains("combined_data.csv") && e.contains("covid_status"),
            "{e}"
        );

        std::fs::write(&p, "id,covid_status\nA1,healthy,extra\n").unwrap();
        let e = read_combined_csv(&p).unwrap_err().to_string();
        assert!(
            e.contains("combined_data.csv") && e.contains("malformed CSV"),
            "{e}"
        );
    }
}
