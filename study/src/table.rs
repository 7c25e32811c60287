//! The results table: one Markdown row per arm with mean ± sd of every metric, as printed on
//! stdout and written into `report.md`.

use std::fmt::Write as _;

use crate::results::StudyReport;

/// The Markdown table of `report.summary` (percent, mean ± sample sd over the seeds, or the
/// one seed's value alone: a spread of one value would read as "no spread"; one recall
/// column per class of the first arm, `-` where an arm lacks the class), followed by a blank
/// line and a sentence naming the seeds. No trailing newline.
pub fn results_table(report: &StudyReport) -> String {
    let one_seed = report.seeds.len() == 1;
    let cell = |s: &crate::stats::Spread| {
        if one_seed {
            format!("{:.1}", 100.0 * s.mean)
        } else {
            s.percent()
        }
    };
    let mut classes: Vec<String> = Vec::new();
    if let Some(first) = report.summary.first() {
        classes = first.recall.iter().map(|(c, _)| c.clone()).collect();
    }
    let mut t = String::new();
    let _ = write!(t, "| arm | Sp % | Se % | Score % | macro-F1 % |");
    for c in &classes {
        let _ = write!(t, " recall {c} % |");
    }
    t.push('\n');
    t.push_str("|---|---|---|---|---|");
    for _ in &classes {
        t.push_str("---|");
    }
    t.push('\n');
    for s in &report.summary {
        let _ = write!(
            t,
            "| ({}) {} | {} | {} | {} | {} |",
            s.arm.letter(),
            s.description,
            cell(&s.specificity),
            cell(&s.sensitivity),
            cell(&s.score),
            cell(&s.macro_f1)
        );
        for c in &classes {
            let cell = s
                .recall
                .iter()
                .find(|(k, _)| k == c)
                .map_or("-".to_string(), |(_, v)| cell(v));
            let _ = write!(t, " {cell} |");
        }
        t.push('\n');
    }
    let seeds = report
        .seeds
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if one_seed {
        let _ = write!(
            t,
            "\nOne seed ({seeds}), test patients only: no spread between seeds to show."
        );
    } else {
        let _ = write!(
            t,
            "\nMean ± sample standard deviation over {} seed(s) ({seeds}), test patients only.",
            report.seeds.len()
        );
    }
    t
}

/// The Markdown table of `report.paired`: for each arm against its baseline, the mean
/// paired score difference over the seeds with its patient-bootstrap 95% interval, each
/// seed's difference and interval, and the mean difference in recall per class (points).
/// Empty when nothing was paired. No trailing newline.
pub fn paired_table(report: &StudyReport) -> String {
    let Some(first) = report.paired.first() else {
        return String::new();
    };
    let points = |v: f64| format!("{:+.1}", 100.0 * v);
    let interval = |ci: Option<[f64; 2]>| {
        ci.map_or("-".to_string(), |[lo, hi]| {
            format!("[{}, {}]", points(lo), points(hi))
        })
    };
    let mut t = String::new();
    let _ = write!(
        t,
        "| arm vs baseline | Score difference, mean [95% CI, patients] | over seeds [t 95% CI] | per seed |"
    );
    for (c, _) in &first.recall_difference {
        let _ = write!(t, " recall {c} |");
    }
    t.push_str("\n|---|---|---|---|");
    for _ in &first.recall_difference {
        t.push_str("---|");
    }
    t.push('\n');
    for p in &report.paired {
        let per_seed = p
            .seeds
            .iter()
            .zip(p.score.per_pair.iter().zip(&p.score.per_pair_ci95))
            .map(|(s, (d, ci))| format!("{s}: {} {}", points(*d), interval(*ci)))
            .collect::<Vec<_>>()
            .join("; ");
        let _ = write!(
            t,
            "| ({}) vs ({}) | {} {} | {} | {per_seed} |",
            p.arm.letter(),
            p.baseline.letter(),
            points(p.score.difference),
            interval(p.score.ci95),
            interval(p.score.seed_ci95),
        );
        for (c, _) in &first.recall_difference {
            let cell = p
                .recall_difference
                .iter()
                .find(|(k, _)| k == c)
                .map_or("-".to_string(), |(_, v)| points(*v));
            let _ = write!(t, " {cell} |");
        }
        t.push('\n');
    }
    let _ = write!(
        t,
        "\nPaired on the same test cycles, in ICBHI score points (recall: percentage points, \
         mean over the seeds); patient intervals from {} resamples of the {} test patients, one \
         draw shared by both arms and every seed; the t interval is over the per-seed \
         differences.",
        first.score.resamples, first.score.n_patients
    );
    t
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::arm::Arm;
    use crate::results::ArmSummary;
    use crate::stats::Spread;

    fn spread(mean: f64, sd: f64) -> Spread {
        Spread { mean, sd }
    }

    fn report(summary: Vec<ArmSummary>, seeds: Vec<u64>) -> StudyReport {
        StudyReport {
            data: PathBuf::from("data"),
            synthetic: false,
            split: "official".to_string(),
            seeds,
            per_seed: Vec::new(),
            summary,
            paired: Vec::new(),
            gate_keep_share: BTreeMap::new(),
            verdict: String::new(),
            steps: Vec::new(),
            seconds: 0.0,
        }
    }

    #[test]
    fn table_has_one_row_per_arm_and_a_recall_column_per_class() {
        let summary = vec![
            ArmSummary {
                arm: Arm::Plain,
                description: Arm::Plain.description().to_string(),
                specificity: spread(0.8, 0.05),
                sensitivity: spread(0.25, 0.012),
                score: spread(0.525, 0.031),
                macro_f1: spread(0.4, 0.0),
                recall: vec![
                    ("normal".to_string(), spread(0.9, 0.01)),
                    ("wheeze".to_string(), spread(0.1, 0.02)),
                ],
            },
            ArmSummary {
                arm: Arm::Augmented,
                description: Arm::Augmented.description().to_string(),
                specificity: spread(0.7, 0.1),
                sensitivity: spread(0.5, 0.2),
                score: spread(0.6, 0.15),
                macro_f1: spread(0.55, 0.05),
                // No wheeze recall: the cell is `-`.
                recall: vec![("normal".to_string(), spread(0.75, 0.0))],
            },
        ];
        let expected = "\
| arm | Sp % | Se % | Score % | macro-F1 % | recall normal % | recall wheeze % |
|---|---|---|---|---|---|---|
| (a) cross-entropy, instance sampling | 80.0 ± 5.0 | 25.0 ± 1.2 | 52.5 ± 3.1 | 40.0 ± 0.0 | 90.0 ± 1.0 | 10.0 ± 2.0 |
| (c) Balanced Mixup + SupCon + generated corpus | 70.0 ± 10.0 | 50.0 ± 20.0 | 60.0 ± 15.0 | 55.0 ± 5.0 | 75.0 ± 0.0 | - |

Mean ± sample standard deviation over 2 seed(s) (0, 1), test patients only.";
        assert_eq!(results_table(&report(summary, vec![0, 1])), expected);
    }

    #[test]
    fn table_without_arms_has_only_the_header() {
        let expected = "\
| arm | Sp % | Se % | Score % | macro-F1 % |
|---|---|---|---|---|

One seed (7), test patients only: no spread between seeds to show.";
        assert_eq!(results_table(&report(Vec::new(), vec![7])), expected);
    }

    #[test]
    fn one_seed_shows_values_without_a_spread() {
        let summary = vec![ArmSummary {
            arm: Arm::Plain,
            description: Arm::Plain.description().to_string(),
            specificity: spread(0.662, 0.0),
            sensitivity: spread(0.486, 0.0),
            score: spread(0.574, 0.0),
            macro_f1: spread(0.321, 0.0),
            recall: vec![("normal".to_string(), spread(0.662, 0.0))],
        }];
        let expected = "\
| arm | Sp % | Se % | Score % | macro-F1 % | recall normal % |
|---|---|---|---|---|---|
| (a) cross-entropy, instance sampling | 66.2 | 48.6 | 57.4 | 32.1 | 66.2 |

One seed (0), test patients only: no spread between seeds to show.";
        assert_eq!(results_table(&report(summary, vec![0])), expected);
    }

    #[test]
    fn paired_table_shows_the_mean_each_seed_and_recall_differences() {
        let mut r = report(Vec::new(), vec![0, 1]);
        assert_eq!(paired_table(&r), "");
        r.paired = vec![crate::PairedComparison {
            arm: Arm::Augmented,
            baseline: Arm::MixupSupcon,
            seeds: vec![0, 1],
            score: auscult_classifier::metrics::PairedDifference {
                difference: 0.0125,
                per_pair: vec![0.03, -0.005],
                per_pair_ci95: vec![Some([0.01, 0.05]), None],
                ci95: Some([-0.01, 0.04]),
                seed_ci95: Some([-0.2, 0.225]),
                resamples: 2000,
                n_patients: 11,
            },
            recall_difference: vec![("normal".into(), -0.02), ("wheeze".into(), 0.1)],
        }];
        let expected = "\
| arm vs baseline | Score difference, mean [95% CI, patients] | over seeds [t 95% CI] | per seed | recall normal | recall wheeze |
|---|---|---|---|---|---|
| (c) vs (b) | +1.2 [-1.0, +4.0] | [-20.0, +22.5] | 0: +3.0 [+1.0, +5.0]; 1: -0.5 - | -2.0 | +10.0 |

Paired on the same test cycles, in ICBHI score points (recall: percentage points, mean over \
the seeds); patient intervals from 2000 resamples of the 11 test patients, one draw shared by \
both arms and every seed; the t interval is over the per-seed differences.";
        assert_eq!(paired_table(&r), expected);
    }
}
