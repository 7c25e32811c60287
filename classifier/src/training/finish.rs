//! The end of a run: the best weights scored on the validation and test splits, a binary
//! task's decision threshold (`decision.json`) and ROC curve, the training curves, the
//! confusion matrix, and the [`TrainReport`].

use std::path::Path;

use auscult_experiment::{RunDir, Start, TrainingState, load_module, read_metrics, seeded_rng};
use burn::module::Module;
use burn::tensor::Device;

use super::prepare::Prepared;
use super::record::{EpochRecord, TrainReport};
use super::streams::STREAM_INIT;
use super::validation::Scored;
use crate::binary::{DecisionRule, positive_class};
use crate::config::TrainConfig;
use crate::files;
use crate::{Error, Result};

/// Scores the run's best weights (the last ones where none is best) and writes the decision,
/// the plots and the curves; returns the report (the caller sets [`TrainReport::start`] and
/// saves it).
pub(super) fn finish(
    cfg: &TrainConfig,
    run: &RunDir,
    p: &Prepared,
    state: &TrainingState,
    base: &Device,
    train_time: f64,
    steps_here: usize,
) -> Result<TrainReport> {
    let n_classes = p.classes.len();
    let weights = if run.file(files::BEST).exists() {
        run.file(files::BEST)
    } else {
        run.file(files::MODEL)
    };
    let model = cfg
        .model
        .init(n_classes, base, &mut seeded_rng(cfg.seed, STREAM_INIT))?;
    let model = load_module(model, weights)?.valid();
    let val = Scored::new(&model, &p.val, &p.val_patients, cfg.level, base)?;
    let test = Scored::new(&model, &p.test, &p.test_patients, cfg.level, base)?;
    let positive = positive_class(&p.classes);
    let decision = match (positive, &val) {
        (Some(pos), Some(v)) => {
            let (scores, truth) = v.binary(pos);
            Some(DecisionRule::choose(
                &p.classes[pos],
                &scores,
                &truth,
                cfg.level,
            ))
        }
        (Some(pos), None) => Some(DecisionRule::choose(&p.classes[pos], &[], &[], cfg.level)),
        _ => None,
    };
    if let Some(d) = &decision {
        auscult_experiment::write_json_atomic(run.file(files::DECISION), d)?;
    }
    let threshold = decision.as_ref().map(|d| d.threshold);
    let metrics = |s: &Option<Scored>| {
        s.as_ref()
            .map(|s| s.metrics(&p.classes, cfg.bootstrap, cfg.seed, threshold))
            .transpose()
    };
    let (val_m, test_m) = (metrics(&val)?, metrics(&test)?);
    if let (Some(pos), Some((s, split))) = (
        positive,
        test.as_ref()
            .map(|s| (s, "test"))
            .or(val.as_ref().map(|s| (s, "validation"))),
    ) {
        let (scores, truth) = s.binary(pos);
        let auc = crate::binary::roc_auc(&scores, &truth).unwrap_or(f64::NAN);
        let title = format!(
            "ROC of {} ({split}, {} {}s, AUC {auc:.3})",
            p.classes[pos],
            scores.len(),
            cfg.level.name()
        );
        crate::binary::roc_png(&run.file(files::ROC), &title, &scores, &truth)?;
    }
    let (val, test) = (val_m, test_m);

    let history: Vec<EpochRecord> = read_metrics(run.file(files::METRICS))?
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect();
    draw_curves(&run.file(files::CURVES), &history)?;
    if let Some((m, split)) = test
        .as_ref()
        .map(|m| (m, "test"))
        .or(val.as_ref().map(|m| (m, "validation")))
    {
        let path = run.file(files::CONFUSION);
        let title = format!(
            "Confusion matrix ({split}, n = {}, ICBHI score {:.3})",
            m.n, m.score
        );
        auscult_plot::confusion_png(&path, &title, &m.confusion, &p.classes).map_err(|e| {
            Error::Plot {
                path: path.clone(),
                reason: e.to_string(),
            }
        })?;
    }
    let report = TrainReport {
        run_dir: run.path().to_path_buf(),
        classes: p.classes.clone(),
        n_train: p.n_real,
        n_generated: p.train.len() - p.n_real,
        n_val: p.val.len(),
        n_test: p.test.len(),
        epochs: state.epoch,
        steps: state.step,
        best_epoch: state.best_epoch,
        best_val_score: state.best_score,
        stopped_early: state.stopped_early,
        first_train_loss: history.first().map(|r| r.train_loss),
        last_train_loss: history.last().map(|r| r.train_loss),
        steps_per_second: (train_time > 0.0 && steps_here > 0)
            .then(|| steps_here as f64 / train_time),
        val,
        test,
        level: cfg.level,
        decision,
        start: Start::New,
    };
    Ok(report)
}

fn draw_curves(path: &Path, history: &[EpochRecord]) -> Result<()> {
    if history.is_empty() {
        return Ok(());
    }
    let series = |name: &str, f: &dyn Fn(&EpochRecord) -> Option<f64>| auscult_plot::Series {
        name: name.to_string(),
        points: history
            .iter()
            .filter_map(|r| f(r).map(|y| (r.epoch as f64, y)))
            .collect(),
    };
    let mut loss = vec![
        series("train (total)", &|r| Some(r.train_loss)),
        series("train (class)", &|r| Some(r.train_class_loss)),
    ];
    if history.iter().any(|r| r.train_supcon_loss != 0.0) {
        loss.push(series("train (SupCon)", &|r| Some(r.train_supcon_loss)));
    }
    let mut panels = vec![auscult_plot::Panel {
        title: "loss".into(),
        x_label: "epoch".into(),
        y_label: "loss".into(),
        series: loss,
    }];
    if history.iter().any(|r| r.val_score.is_some()) {
        panels[0]
            .series
            .push(series("validation (CE)", &|r| r.val_loss));
        panels.push(auscult_plot::Panel {
            title: "validation".into(),
            x_label: "epoch".into(),
            y_label: "fraction".into(),
            series: vec![
                series("ICBHI score", &|r| r.val_score),
                series("sensitivity", &|r| r.val_sensitivity),
                series("specificity", &|r| r.val_specificity),
                series("macro-F1", &|r| r.val_macro_f1),
            ],
        });
        if history.iter().any(|r| r.val_roc_auc.is_some()) {
            panels[1].series.push(series("ROC-AUC", &|r| r.val_roc_auc));
        }
    }
    auscult_plot::curves_png(path, "Classifier training", &panels).map_err(|e| Error::Plot {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}
