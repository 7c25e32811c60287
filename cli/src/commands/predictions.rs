//! Per-item predictions as CSV: what `auscult evaluate --predictions FILE.csv` writes and what
//! `auscult study` reads back to pair its arms item by item.
//!
//! Columns: `id` (the example's id: `<recording>_c<cycle>` for ICBHI cycles), `patient`,
//! `device` (ICBHI device code, empty elsewhere), `source` (the audio file), `start_s`,
//! `end_s`, `truth` and `predicted` (class names; the prediction is the one the metrics
//! score), then `p_<class>` per class.

use std::path::Path;

use anyhow::{Context, bail};
use auscult_classifier::metrics::predicted_classes;
use auscult_datasets::Example;
use auscult_study::ItemPredictions;

/// Writes one row per example (atomically: a temporary file renamed into place).
pub(crate) fn write(
    path: &Path,
    classes: &[String],
    examples: &[Example],
    probabilities: &[Vec<f32>],
    threshold: Option<f64>,
) -> anyhow::Result<()> {
    let predicted = predicted_classes(classes, probabilities, threshold)?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = [
        "id",
        "patient",
        "device",
        "source",
        "start_s",
        "end_s",
        "truth",
        "predicted",
    ]
    .map(String::from)
    .to_vec();
    header.extend(classes.iter().map(|c| format!("p_{c}")));
    w.write_record(&header)?;
    for ((e, &p), probs) in examples.iter().zip(&predicted).zip(probabilities) {
        let mut row = vec![
            e.id.clone(),
            e.patient.clone(),
            e.device().map_or(String::new(), |d| d.code().to_string()),
            e.source.display().to_string(),
            format!("{}", e.start_s),
            format!("{}", e.end_s),
            classes[e.label].clone(),
            classes[p].clone(),
        ];
        row.extend(probs.iter().map(|v| format!("{v}")));
        w.write_record(&row)?;
    }
    let bytes = w
        .into_inner()
        .context("cannot finish the predictions CSV")?;
    auscult_experiment::write_atomic(path, &bytes)?;
    Ok(())
}

/// Reads a file written by [`write`], mapping class names to their index in `classes`.
pub(crate) fn read(path: &Path, classes: &[String]) -> anyhow::Result<ItemPredictions> {
    let mut r = csv::Reader::from_path(path)
        .with_context(|| format!("cannot read the predictions {}", path.display()))?;
    let header = r.headers()?.clone();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("{}: no `{name}` column", path.display()))
    };
    let [id, patient, truth, predicted] = [
        column("id")?,
        column("patient")?,
        column("truth")?,
        column("predicted")?,
    ];
    let index = |name: &str, line: u64| {
        classes.iter().position(|c| c == name).with_context(|| {
            format!(
                "{} line {line}: class `{name}` is not one of {}",
                path.display(),
                classes.join(", ")
            )
        })
    };
    let mut out = ItemPredictions::default();
    for record in r.records() {
        let record = record.with_context(|| format!("{}: malformed row", path.display()))?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or_default();
        out.ids.push(field(id).to_string());
        out.patients.push(field(patient).to_string());
        out.truth.push(index(field(truth), line)?);
        out.predicted.push(index(field(predicted), line)?);
    }
    if out.ids.is_empty() {
        bail!("{}: no predictions", path.display());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(id: &str, patient: &str, label: usize) -> Example {
        Example {
            id: id.to_string(),
            patient: patient.to_string(),
            label,
            samples: Vec::new(),
            sample_rate: 4000,
            source: format!("/data/{}.wav", id.trim_end_matches("_c0")).into(),
            start_s: 0.5,
            end_s: 2.25,
        }
    }

    #[test]
    fn predictions_read_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv");
        let classes: Vec<String> = ["normal", "crackle", "wheeze"].map(String::from).to_vec();
        let examples = [
            example("101_1b1_Al_sc_Meditron_c0", "101", 0),
            example("a,quoted \"id\"", "102", 2),
        ];
        let probs = vec![vec![0.2, 0.7, 0.1], vec![0.1, 0.1, 0.8]];
        write(&path, &classes, &examples, &probs, None).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(
            "id,patient,device,source,start_s,end_s,truth,predicted,p_normal,p_crackle,p_wheeze\n\
             101_1b1_Al_sc_Meditron_c0,101,Meditron,"
        ), "{text}");
        let back = read(&path, &classes).unwrap();
        assert_eq!(back.ids, ["101_1b1_Al_sc_Meditron_c0", "a,quoted \"id\""]);
        assert_eq!(back.patients, ["101", "102"]);
        assert_eq!(back.truth, [0, 2]);
        assert_eq!(back.predicted, [1, 2]);
    }

    #[test]
    fn an_unknown_class_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv");
        std::fs::write(&path, "id,patient,truth,predicted\nx,1,normal,squeak\n").unwrap();
        let classes: Vec<String> = ["normal", "crackle"].map(String::from).to_vec();
        let err = format!("{:#}", read(&path, &classes).unwrap_err());
        assert!(
            err.contains("p.csv line 2") && err.contains("`squeak`"),
            "{err}"
        );
    }
}
