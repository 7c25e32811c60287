//! The report's figures: a confusion matrix per arm of the first seed (drawn here), and links
//! to the figures other steps already wrote (each arm's training curves, the generated
//! corpus's contact sheet).
//!
//! Their file names are the writing crates' constants: [`auscult_classifier::files::CURVES`]
//! in a classifier run, [`auscult_datasets::CONTACT_SHEET_FILE`] in a generated corpus.

use std::path::Path;

use auscult_classifier::files::CURVES;
use auscult_datasets::CONTACT_SHEET_FILE;

use crate::error::{Error, Result};
use crate::layout;
use crate::results::StudyReport;

/// Figures the report links to: pairs of a caption (`(a) plain`) and a path relative to the
/// output directory, with `/` separators.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    /// Confusion matrix of each arm on the first seed's test patients (drawn into
    /// [`layout::FIGURES_DIR`]).
    pub confusion: Vec<(String, String)>,
    /// Training curves of each arm's first-seed run, where the run drew them.
    pub curves: Vec<(String, String)>,
    /// The first seed's generated corpus's contact sheet, where there is one.
    pub contact_sheet: Option<String>,
}

/// Draws the confusion matrices of the first seed's arms into `out/figures` and finds the
/// figures of the runs below `out`. A report without seeds has no figures (and nothing is
/// created).
///
/// # Errors
///
/// When the figures folder cannot be created or a matrix cannot be drawn (the error names the
/// file).
pub fn draw_figures(out: &Path, report: &StudyReport) -> Result<Figures> {
    let mut figures = Figures::default();
    let Some(first) = report.per_seed.first() else {
        return Ok(figures);
    };
    let fig_dir = out.join(layout::FIGURES_DIR);
    std::fs::create_dir_all(&fig_dir).map_err(|source| Error::CreateDir {
        path: fig_dir.clone(),
        source,
    })?;
    for (arm, evaluation) in &first.arms {
        let name = layout::confusion_figure(*arm, first.seed);
        let path = fig_dir.join(&name);
        auscult_plot::confusion_png(
            &path,
            &format!(
                "({}) {} - test patients, seed {}",
                arm.letter(),
                arm.description(),
                first.seed
            ),
            &evaluation.metrics.confusion,
            &evaluation.metrics.classes,
        )
        .map_err(|source| Error::Figure { path, source })?;
        let caption = format!("({}) {}", arm.letter(), arm.name());
        figures
            .confusion
            .push((caption.clone(), format!("{}/{name}", layout::FIGURES_DIR)));
        let run = layout::arm_run(first.seed, *arm);
        if out.join(&run).join(CURVES).exists() {
            figures.curves.push((caption, format!("{run}/{CURVES}")));
        }
    }
    if let Some(corpus) = &first.corpus
        && corpus.join(CONTACT_SHEET_FILE).exists()
    {
        let rel = corpus
            .strip_prefix(out)
            .unwrap_or(corpus)
            .join(CONTACT_SHEET_FILE);
        figures.contact_sheet = Some(rel.display().to_string());
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::arm::Arm;
    use crate::fixtures::{evaluation, seed_result};

    fn report(per_seed: Vec<crate::results::SeedResult>) -> StudyReport {
        StudyReport {
            data: "data".into(),
            synthetic: true,
            split: "official".to_string(),
            seeds: per_seed.iter().map(|r| r.seed).collect(),
            per_seed,
            summary: Vec::new(),
            paired: Vec::new(),
            gate_keep_share: BTreeMap::new(),
            verdict: String::new(),
            steps: Vec::new(),
            seconds: 0.0,
        }
    }

    #[test]
    fn draws_confusions_and_links_the_runs_figures() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let mut first = seed_result(
            3,
            &[
                (Arm::Plain, evaluation(0.5, 0.5, 0.5, &[0.5, 0.5])),
                (Arm::Augmented, evaluation(0.5, 0.5, 0.5, &[0.5, 0.5])),
            ],
        );
        let corpus = out.join("seed-3").join("generated");
        std::fs::create_dir_all(&corpus).unwrap();
        std::fs::write(corpus.join(CONTACT_SHEET_FILE), b"png").unwrap();
        first.corpus = Some(corpus);
        // Only arm (a)'s run drew its curves.
        let run = out.join("seed-3").join("a-plain");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join(CURVES), b"png").unwrap();

        let figures = draw_figures(out, &report(vec![first, seed_result(4, &[])])).unwrap();
        assert_eq!(
            figures,
            Figures {
                confusion: vec![
                    (
                        "(a) plain".to_string(),
                        "figures/confusion-a-plain-seed3.png".to_string()
                    ),
                    (
                        "(c) augmented".to_string(),
                        "figures/confusion-c-augmented-seed3.png".to_string()
                    ),
                ],
                curves: vec![(
                    "(a) plain".to_string(),
                    "seed-3/a-plain/curves.png".to_string()
                )],
                contact_sheet: Some("seed-3/generated/contact_sheet.png".to_string()),
            }
        );
        for (_, path) in &figures.confusion {
            assert!(out.join(path).is_file(), "{path}");
        }
    }

    #[test]
    fn no_seed_no_figures() {
        let dir = tempfile::tempdir().unwrap();
        let figures = draw_figures(dir.path(), &report(Vec::new())).unwrap();
        assert_eq!(figures, Figures::default());
        assert!(!dir.path().join(layout::FIGURES_DIR).exists());
    }
}
