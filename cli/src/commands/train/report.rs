//! The report `auscult train` prints when it is not asked for JSON.

use auscult_classifier::TrainReport;

/// Prints the report of a run.
pub(super) fn print_report(r: &TrainReport) {
    println!("run directory   {}", r.run_dir.display());
    println!(
        "examples        {} train (+{} generated), {} validation, {} test",
        r.n_train, r.n_generated, r.n_val, r.n_test
    );
    println!(
        "epochs          {}{} ({} steps{})",
        r.epochs,
        if r.stopped_early {
            ", stopped early"
        } else {
            ""
        },
        r.steps,
        r.steps_per_second
            .map(|s| format!(", {s:.2} steps/s"))
            .unwrap_or_default()
    );
    if let (Some(a), Some(b)) = (r.first_train_loss, r.last_train_loss) {
        println!("train loss      {a:.4} -> {b:.4}");
    }
    let binary = r.classes.len() == 2;
    if let (Some(e), Some(s)) = (r.best_epoch, r.best_val_score) {
        let what = if binary { "ROC-AUC" } else { "ICBHI score" };
        println!("best epoch      {e} (validation {what} of single items {s:.3})");
    }
    if r.level == auscult_classifier::Level::Participant {
        println!("scored per      participant (mean of each participant's probabilities)");
    }
    if let Some(d) = &r.decision {
        println!(
            "threshold       P({}) >= {:.3} ({} on {} validation {}s)",
            d.positive_class,
            d.threshold,
            d.criterion,
            d.n,
            d.level.name()
        );
    }
    for (name, m) in [("validation", &r.val), ("test", &r.test)] {
        if let Some(m) = m {
            let ci = m
                .score_ci95
                .map(|[lo, hi]| {
                    let unit = m.bootstrap_unit.map_or("items", |u| u.plural());
                    format!(" [95% CI {lo:.3}-{hi:.3}, resampling {unit}]")
                })
                .unwrap_or_default();
            let auc = m
                .roc_auc
                .map(|a| format!("  ROC-AUC {a:.3}"))
                .unwrap_or_default();
            println!(
                "{name:<15} Sp {:.3}  Se {:.3}  Score {:.3}{ci}  accuracy {:.3}  macro-F1 {:.3}{auc}",
                m.specificity, m.sensitivity, m.score, m.accuracy, m.macro_f1
            );
        }
    }
}
