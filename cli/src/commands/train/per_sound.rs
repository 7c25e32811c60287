//! `train --per-sound`: a model per Coswara sound, then one decision threshold and the
//! metrics of the participants' fused predictions.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use auscult_classifier::{Level, TrainReport};
use auscult_datasets::Format;
use serde::Serialize;

use super::args::Args;
use super::config::coswara_options;
use super::new_run::train_new;
use crate::output::{BarProgress, print_json};

/// The report of `train --per-sound` (`report.json` in the ensemble directory).
#[derive(Debug, Serialize)]
struct EnsembleReport {
    run_dir: PathBuf,
    classes: Vec<String>,
    level: Level,
    decision: auscult_classifier::DecisionRule,
    val: Option<auscult_classifier::Metrics>,
    test: Option<auscult_classifier::Metrics>,
    members: Vec<TrainReport>,
}

/// `train --per-sound`: a model per sound, then the fused decision rule and metrics.
pub(super) fn train_per_sound(
    args: &Args,
    root: &Path,
    out: &Path,
    progress: &BarProgress,
) -> anyhow::Result<()> {
    use auscult_classifier::binary::{DecisionRule, fuse_by_patient, positive_class};
    use auscult_classifier::ensemble::combine;
    use auscult_classifier::{Classifier, EnsembleSpec, MemberSpec, Metrics};

    let format = args.format.or_else(|| Format::detect(root).ok());
    let Some(options) = coswara_options(args, format)? else {
        bail!("--per-sound applies to Coswara datasets only");
    };
    if out.join(auscult_classifier::files::ENSEMBLE).exists() {
        bail!(
            "{} already holds an ensemble; choose another --out",
            out.display()
        );
    }
    let mut members = Vec::new();
    let mut reports = Vec::new();
    // (val, test) participants of each member, fused over the member's files.
    let mut val = Vec::new();
    let mut test = Vec::new();
    for &kind in &options.sounds {
        if !args.json {
            eprintln!("member {}", kind.name());
        }
        let dir = out.join(kind.name());
        let (report, data) = train_new(args, root, &dir, Some(kind), progress)?;
        let clf = Classifier::load(&dir)?;
        for (examples, into) in [(&data.val, &mut val), (&data.test, &mut test)] {
            if examples.is_empty() {
                continue;
            }
            let probs = clf.predict_examples(examples)?;
            let truth: Vec<usize> = examples.iter().map(|e| e.label).collect();
            let patients: Vec<String> = examples.iter().map(|e| e.patient.clone()).collect();
            into.push(fuse_by_patient(&truth, &probs, &patients)?);
        }
        members.push(MemberSpec {
            dir: PathBuf::from(kind.name()),
            sounds: vec![kind],
        });
        reports.push(report);
    }
    let classes = reports
        .first()
        .map(|r| r.classes.clone())
        .context("no sound to train on")?;
    let Some(pos) = positive_class(&classes) else {
        bail!(
            "--per-sound needs a two-class target; the classes are {}",
            classes.join(", ")
        );
    };
    let (val, test) = (combine(&val)?, combine(&test)?);
    let binary = |f: &auscult_classifier::binary::Fused| -> (Vec<f64>, Vec<bool>) {
        (
            f.probabilities.iter().map(|p| f64::from(p[pos])).collect(),
            f.truth.iter().map(|&t| t == pos).collect(),
        )
    };
    let (scores, truth) = binary(&val);
    let decision = DecisionRule::choose(&classes[pos], &scores, &truth, Level::Participant);
    let seed = args.seed.unwrap_or(0);
    let metrics = |f: &auscult_classifier::binary::Fused| -> anyhow::Result<Option<Metrics>> {
        if f.truth.is_empty() {
            return Ok(None);
        }
        Ok(Some(Metrics::compute_full(
            &classes,
            &f.truth,
            &f.probabilities,
            Some(&f.patients),
            auscult_classifier::metrics::BootstrapOptions {
                resamples: 1000,
                seed,
            },
            Some(decision.threshold),
        )?))
    };
    let report = EnsembleReport {
        run_dir: out.to_path_buf(),
        classes: classes.clone(),
        level: Level::Participant,
        decision: decision.clone(),
        val: metrics(&val)?,
        test: metrics(&test)?,
        members: reports,
    };
    let (scores, truth) = binary(&test);
    auscult_classifier::binary::roc_png(
        &out.join(auscult_classifier::files::ROC),
        &format!(
            "ROC of {} (test, {} participants, a model per sound, AUC {:.3})",
            classes[pos],
            scores.len(),
            report
                .test
                .as_ref()
                .and_then(|m| m.roc_auc)
                .unwrap_or(f64::NAN)
        ),
        &scores,
        &truth,
    )?;
    auscult_experiment::write_json_atomic(
        out.join(auscult_classifier::files::DECISION),
        &decision,
    )?;
    auscult_experiment::write_json_atomic(out.join(auscult_classifier::files::REPORT), &report)?;
    // Written last: an ensemble directory is complete once ensemble.json exists.
    auscult_experiment::write_json_atomic(
        out.join(auscult_classifier::files::ENSEMBLE),
        &EnsembleSpec { members },
    )?;
    if args.json {
        return print_json(&report);
    }
    println!(
        "ensemble        {} ({} models, one per sound)",
        out.display(),
        report.members.len()
    );
    println!(
        "threshold       P({}) >= {:.3} ({} on {} validation participants)",
        decision.positive_class, decision.threshold, decision.criterion, decision.n
    );
    for (name, m) in [("validation", &report.val), ("test", &report.test)] {
        if let Some(m) = m {
            println!(
                "{name:<15} participants {}  ROC-AUC {}  Sp {:.3}  Se {:.3}  Score {:.3}",
                m.n,
                m.roc_auc.map_or("-".into(), |a| format!("{a:.3}")),
                m.specificity,
                m.sensitivity,
                m.score
            );
        }
    }
    Ok(())
}
