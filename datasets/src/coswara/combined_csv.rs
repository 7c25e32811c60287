//! Reading `combined_data.csv`, the metadata table of the Coswara repository.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use super::target::FLAG_COLUMNS;
use crate::error::{Error, Result};

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

#[cfg(test)]
mod tests {
    use super::*;

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
