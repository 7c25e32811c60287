//! The metadata files: the official train/test split, the diagnoses and the demographics, in
//! the challenge's and in Kaggle's variants.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::layout::SPLIT_FILE;
use crate::error::{Error, Result};

/// Side of the official ICBHI split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IcbhiSplit {
    /// Training set (60 %).
    Train,
    /// Test set (40 %).
    Test,
}

impl IcbhiSplit {
    /// `train` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Test => "test",
        }
    }
}

/// Parses `ICBHI_challenge_train_test.txt`: `<recording stem><TAB>train|test` per line, CRLF.
pub fn parse_official_split(text: &str, path: &Path) -> Result<BTreeMap<String, IcbhiSplit>> {
    let mut out = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let split = match fields.as_slice() {
            [_, "train"] => IcbhiSplit::Train,
            [_, "test"] => IcbhiSplit::Test,
            _ => {
                return Err(Error::Metadata {
                    path: path.to_path_buf(),
                    line: i + 1,
                    reason: format!(
                        "`{line}` is not `<recording name><TAB>train|test` (the format of {SPLIT_FILE})"
                    ),
                });
            }
        };
        out.insert(fields[0].to_string(), split);
    }
    Ok(out)
}

/// Parses a diagnosis file: `patient<TAB>diagnosis` (official) or `patient,diagnosis`
/// (Kaggle's header-less `patient_diagnosis.csv`).
pub fn parse_diagnosis(text: &str, path: &Path) -> Result<BTreeMap<u32, String>> {
    let mut out = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.splitn(2, ['\t', ',']);
        let patient = parts.next().unwrap_or("").trim();
        let diagnosis = parts.next().unwrap_or("").trim();
        match (patient.parse::<u32>(), diagnosis.is_empty()) {
            (Ok(p), false) => {
                out.insert(p, diagnosis.to_string());
            }
            _ => {
                return Err(Error::Metadata {
                    path: path.to_path_buf(),
                    line: i + 1,
                    reason: format!(
                        "`{line}` is not `patient<TAB>diagnosis` or `patient,diagnosis`"
                    ),
                });
            }
        }
    }
    Ok(out)
}

/// Sex as recorded in the demographic file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sex {
    /// `F`.
    Female,
    /// `M`.
    Male,
}

/// One patient's demographics; `NA` in the file is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Demographics {
    /// Age in years (may be fractional: 0.25).
    pub age_years: Option<f32>,
    /// Sex.
    pub sex: Option<Sex>,
    /// Body-mass index of adults, kg/m².
    pub adult_bmi: Option<f32>,
    /// Weight of children, kg.
    pub child_weight_kg: Option<f32>,
    /// Height of children, cm.
    pub child_height_cm: Option<f32>,
}

/// Parses a demographic file: `patient age sex adult_bmi child_weight child_height`, tab
/// (official) or space (Kaggle) separated, `NA` for missing values.
pub fn parse_demographics(text: &str, path: &Path) -> Result<BTreeMap<u32, Demographics>> {
    let mut out = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |reason: String| Error::Metadata {
            path: path.to_path_buf(),
            line: i + 1,
            reason,
        };
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 6 {
            return Err(bad(format!(
                "{} fields instead of 6 (patient, age, sex, adult BMI, child weight, child height)",
                f.len()
            )));
        }
        let patient = f[0]
            .parse::<u32>()
            .map_err(|_| bad(format!("patient `{}` is not a number", f[0])))?;
        let num = |s: &str, what: &str| -> Result<Option<f32>> {
            if s == "NA" {
                Ok(None)
            } else {
                s.parse::<f32>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .map(Some)
                    .ok_or_else(|| bad(format!("{what} `{s}` is neither a number nor NA")))
            }
        };
        let sex = match f[2] {
            "F" => Some(Sex::Female),
            "M" => Some(Sex::Male),
            "NA" => None,
            other => return Err(bad(format!("sex `{other}` is not F, M or NA"))),
        };
        out.insert(
            patient,
            Demographics {
                age_years: num(f[1], "age")?,
                sex,
                adult_bmi: num(f[3], "adult BMI")?,
                child_weight_kg: num(f[4], "child weight")?,
                child_height_cm: num(f[5], "child height")?,
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_files_parse_in_both_variants() {
        let p = Path::new("m.txt");
        let s = parse_official_split(
            "101_1b1_Al_sc_Meditron\ttest\r\n103_2b2_Ar_mc_LittC2SE\ttrain\r\n",
            p,
        )
        .unwrap();
        assert_eq!(s["101_1b1_Al_sc_Meditron"], IcbhiSplit::Test);
        assert_eq!(s["103_2b2_Ar_mc_LittC2SE"], IcbhiSplit::Train);
        assert!(
            parse_official_split("a\tvalid\r\n", p)
                .unwrap_err()
                .to_string()
                .contains("line 1")
        );

        let d1 = parse_diagnosis("101\tURTI\n102\tHealthy\n", p).unwrap();
        let d2 = parse_diagnosis("101,URTI\r\n102,Healthy", p).unwrap();
        assert_eq!(d1, d2);
        assert_eq!(d1[&102], "Healthy");
        assert!(parse_diagnosis("x,URTI\n", p).is_err());

        let a =
            parse_demographics("101\t3\tF\tNA\t19\t99\r\n103\t0.25\tM\t33\tNA\tNA\r\n", p).unwrap();
        let b = parse_demographics("101 3 F NA 19 99\r\n103 0.25 M 33 NA NA\r\n", p).unwrap();
        assert_eq!(a, b);
        assert_eq!(a[&103].age_years, Some(0.25));
        assert_eq!(a[&101].adult_bmi, None);
        assert_eq!(a[&101].child_height_cm, Some(99.0));
        assert_eq!(a[&101].sex, Some(Sex::Female));
        let e = parse_demographics("101 3 F NA 19\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("5 fields"), "{e}");
    }
}
