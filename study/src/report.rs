//! The Markdown report (`report.md`): setup, data, results table and verdict, the generated
//! corpus and its gate, figures, per-seed numbers, and the command of every step.
//!
//! Its text is a contract like `report.json`'s shape: the docs quote it and scripts grep it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::figures::Figures;
use crate::results::{SeedResult, StudyReport};
use crate::setup::Setup;
use crate::table::{paired_table, results_table};

/// The report of `report`, run as `setup` says. `inspection` is what
/// `auscult dataset inspect --json` printed (its `recordings`, `patients`, `classes` and
/// `splits` are quoted; no Data section without it); `figures` are linked as they are.
pub fn markdown(
    setup: &Setup,
    report: &StudyReport,
    inspection: Option<&serde_json::Value>,
    figures: &Figures,
) -> String {
    let budget = &setup.budget;
    let mut m = String::new();
    let _ = writeln!(m, "# {}\n", setup.title);
    let _ = writeln!(
        m,
        "Data: `{}`{}.{} Seeds: {}. Device: {}. Budget: classifier {} epochs per arm, VQ-VAE {} epochs, prior {} epochs. Total time {:.0} s.\n",
        report.data.display(),
        if report.synthetic {
            format!(
                " (synthetic ICBHI layout, {} patients, written by `auscult synth`)",
                budget.patients
            )
        } else {
            String::new()
        },
        if report.split == "official" {
            String::new()
        } else {
            format!(
                " Split: `{}`, a fold of the training patients: \"test\" below is the held-out fold.",
                report.split
            )
        },
        report
            .seeds
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        setup.device,
        budget.classifier_epochs,
        budget.vqvae_epochs,
        budget.prior_epochs,
        report.seconds
    );
    let a = &setup.augmentation;
    let _ = writeln!(
        m,
        "Generation: temperature {}, top-k {}, top-p {}, guidance {}, {}, corpus up to {} per class, augment ratio {}{}. Gate threshold {}{}.\n",
        a.temperature,
        if a.top_k > 0 {
            a.top_k.to_string()
        } else {
            "off".to_string()
        },
        a.top_p.map_or("off".to_string(), |p| p.to_string()),
        a.guidance.map_or("off".to_string(), |w| w.to_string()),
        match (a.no_texture, a.match_envelope) {
            (true, false) => "decoder means (no texture)",
            (false, false) => "decoder texture on",
            (true, true) => "decoder means (no texture), class envelopes matched",
            (false, true) => "decoder texture on, class envelopes matched",
        },
        a.target
            .map_or("the majority count".to_string(), |t| t.to_string()),
        a.augment_ratio.map_or("all".to_string(), |r| r.to_string()),
        a.generator_from.as_ref().map_or(String::new(), |d| format!(
            ", VQ-VAE and prior reused from `{}`",
            d.display()
        )),
        a.gate_threshold,
        if a.gate_relative {
            " times the median probability of the class's real validation cycles"
        } else {
            ""
        }
    );
    if let Some(i) = inspection {
        let _ = writeln!(m, "## Data\n");
        let _ = writeln!(
            m,
            "{} recordings, {} patients. Cycles per class: `{}`. {}: `{}`.\n",
            i["recordings"],
            i["patients"],
            i["classes"],
            if report.split == "official" {
                "Per split"
            } else {
                "Per split of the dataset (the study's folds divide its training part)"
            },
            i["splits"]
        );
    }
    let _ = writeln!(m, "## Results on the test patients\n");
    let _ = writeln!(m, "{}\n", results_table(report));
    let paired = paired_table(report);
    if !paired.is_empty() {
        let _ = writeln!(m, "### Paired differences\n");
        let _ = writeln!(m, "{paired}\n");
    }
    let _ = writeln!(m, "{}\n", report.verdict);
    if report.synthetic {
        let _ = writeln!(
            m,
            "These numbers come from the synthetic corpus: they show that every step works and how the arms compare on it, not how they compare on ICBHI 2017. Run `auscult study --data ICBHI_ROOT` for that.\n"
        );
    }
    if let Some(first) = report.per_seed.first()
        && !first.generated.is_empty()
    {
        let _ = writeln!(m, "## Generated corpus\n");
        let _ = writeln!(
            m,
            "Samples generated per class (seed {}): `{:?}`.\n",
            first.seed, first.generated
        );
        if !report.gate_keep_share.is_empty() {
            let _ = writeln!(
                m,
                "Share kept by the quality gate (p >= {}{} under arm (a)'s model), over all seeds: {}.\n",
                a.gate_threshold,
                if a.gate_relative {
                    " x the class's real validation median"
                } else {
                    ""
                },
                report
                    .gate_keep_share
                    .iter()
                    .map(|(c, f)| format!("{c} {:.0}%", 100.0 * f))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let generated = per_seed_probabilities(report, |r| &r.gate_mean_probability);
        if !generated.is_empty() {
            let _ = writeln!(
                m,
                "Mean probability arm (a)'s model gives generated samples for their conditioned class: {generated}.\n"
            );
        }
        let real = per_seed_probabilities(report, |r| &r.real_mean_probability);
        if !real.is_empty() {
            let _ = writeln!(
                m,
                "For comparison, the mean probability the same model gives real test cycles for their own class: {real}.\n"
            );
        }
        let quality = quality_table(report);
        if !quality.is_empty() {
            let _ = writeln!(m, "{quality}\n");
        }
        if let Some(sheet) = &figures.contact_sheet {
            let _ = writeln!(m, "![generated samples]({sheet})\n");
        }
    }
    if !figures.confusion.is_empty() {
        let _ = writeln!(m, "## Confusion matrices (first seed)\n");
        for (name, path) in &figures.confusion {
            let _ = writeln!(m, "{name}\n\n![{name}]({path})\n");
        }
    }
    if !figures.curves.is_empty() {
        let _ = writeln!(m, "## Training curves (first seed)\n");
        for (name, path) in &figures.curves {
            let _ = writeln!(m, "{name}\n\n![{name}]({path})\n");
        }
    }
    let _ = writeln!(m, "## Per seed\n");
    let _ = writeln!(
        m,
        "| seed | arm | Sp % | Se % | Score % | 95% CI of score | macro-F1 % |"
    );
    let _ = writeln!(m, "|---|---|---|---|---|---|---|");
    for r in &report.per_seed {
        for (arm, e) in &r.arms {
            let ci = e.metrics.score_ci95.map_or("-".to_string(), |[lo, hi]| {
                format!("{:.1}-{:.1}", 100.0 * lo, 100.0 * hi)
            });
            let _ = writeln!(
                m,
                "| {} | ({}) {} | {:.1} | {:.1} | {:.1} | {} | {:.1} |",
                r.seed,
                arm.letter(),
                arm.name(),
                100.0 * e.metrics.specificity,
                100.0 * e.metrics.sensitivity,
                100.0 * e.metrics.score,
                ci,
                100.0 * e.metrics.macro_f1
            );
        }
    }
    let _ = writeln!(m, "\n## Reproduce\n");
    let _ = writeln!(
        m,
        "Each step below is the exact command that ran (from the directory the study was started in), with its wall-clock time.\n"
    );
    let _ = writeln!(m, "```sh");
    for step in &report.steps {
        let _ = writeln!(
            m,
            "# {} ({:.1} s)\n{}",
            step.name, step.seconds, step.command
        );
    }
    let _ = writeln!(m, "```");
    m
}

/// `seed 0: both 0.12, crackle 0.30; seed 1: ...` for a per-class map of each seed (empty
/// when no seed has one).
fn per_seed_probabilities(
    report: &StudyReport,
    map: impl Fn(&SeedResult) -> &BTreeMap<String, f64>,
) -> String {
    report
        .per_seed
        .iter()
        .filter(|r| !map(r).is_empty())
        .map(|r| {
            let classes = map(r)
                .iter()
                .map(|(c, p)| format!("{c} {p:.2}"))
                .collect::<Vec<_>>()
                .join(", ");
            format!("seed {}: {classes}", r.seed)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The generated corpus seen through arm (b)'s classifier, per class: the means over the
/// seeds of the Fréchet distance to the real test cycles, its real-halves floor, their ratio,
/// each seed's ratio, the ratio at matched sizes (of the generated and of the real training
/// cycles), the same with the real cycles halved by patient, and the class's mean probability
/// on generated and on real cycles.
/// Empty when no seed measured it.
fn quality_table(report: &StudyReport) -> String {
    let mut by_class: BTreeMap<&str, Vec<&auscult_classifier::ClassQuality>> = BTreeMap::new();
    for r in &report.per_seed {
        for q in &r.quality {
            by_class.entry(q.class.as_str()).or_default().push(q);
        }
    }
    if by_class.is_empty() {
        return String::new();
    }
    let mean = |v: &[&auscult_classifier::ClassQuality],
                f: &dyn Fn(&auscult_classifier::ClassQuality) -> Option<f64>| {
        let values: Vec<f64> = v.iter().filter_map(|q| f(q)).collect();
        if values.is_empty() {
            "-".to_string()
        } else {
            format!("{:.2}", values.iter().sum::<f64>() / values.len() as f64)
        }
    };
    let mut t = String::from(
        "Through arm (b)'s classifier (trained on real data only), against the real test cycles (`auscult quality`; means over the seeds):\n\n\
         | class | Fréchet distance | real-halves floor | ratio | ratio per seed | ratio at matched sizes | the same for real training cycles | ratio, halves by patient | real training cycles, by patient | p(class) generated | p(class) real |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (class, v) in &by_class {
        let per_seed = v
            .iter()
            .map(|q| {
                q.frechet_ratio
                    .map_or("-".to_string(), |r| format!("{r:.2}"))
            })
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            t,
            "| {class} | {} | {} | {} | {per_seed} | {} | {} | {} | {} | {} | {} |",
            mean(v, &|q| q.frechet),
            mean(v, &|q| q.frechet_real_halves),
            mean(v, &|q| q.frechet_ratio),
            mean(v, &|q| q.frechet_ratio_matched),
            mean(v, &|q| q.train_ratio_matched),
            mean(v, &|q| q.frechet_ratio_patients),
            mean(v, &|q| q.train_ratio_patients),
            mean(v, &|q| q.p_class_generated),
            mean(v, &|q| q.p_class_real),
        );
    }
    t.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::arm::Arm;
    use crate::fixtures::{evaluation, seed_result};
    use crate::results::{ArmSummary, Step};
    use crate::setup::{Augmentation, Budget};
    use crate::stats::Spread;

    fn setup() -> Setup {
        Setup {
            title: "T".to_string(),
            device: "cpu".to_string(),
            budget: Budget::QUICK,
            augmentation: Augmentation {
                temperature: 0.8,
                top_k: 32,
                top_p: Some(0.9),
                guidance: None,
                no_texture: true,
                match_envelope: false,
                target: Some(20),
                augment_ratio: Some(0.5),
                generator_from: Some(PathBuf::from("old")),
                gate_threshold: 0.2,
                gate_relative: true,
            },
        }
    }

    fn report() -> StudyReport {
        let mut first = seed_result(0, &[(Arm::Plain, evaluation(0.8, 0.4, 0.5, &[0.9]))]);
        first.generated = BTreeMap::from([("crackle".to_string(), 4), ("normal".to_string(), 0)]);
        first.gate_mean_probability = BTreeMap::from([("crackle".to_string(), 0.456)]);
        first.real_mean_probability = BTreeMap::from([("crackle".to_string(), 0.5)]);
        let mut second = seed_result(1, &[(Arm::Plain, evaluation(0.6, 0.4, 0.3, &[0.7]))]);
        let quality =
            |frechet: f64, floor: f64, ratio: Option<f64>| auscult_classifier::ClassQuality {
                class: "crackle".to_string(),
                n_generated: 4,
                n_real: 6,
                frechet: Some(frechet),
                frechet_real_halves: Some(floor),
                frechet_ratio: ratio,
                frechet_matched: ratio.map(|r| r + 1.0),
                frechet_floor_matched: ratio.map(|_| 1.0),
                frechet_ratio_matched: ratio.map(|r| r + 1.0),
                train_ratio_matched: ratio.map(|_| 1.5),
                frechet_ratio_patients: ratio.map(|_| 1.25),
                train_ratio_patients: ratio.map(|_| 0.75),
                p_class_generated: Some(0.25),
                p_class_real: Some(0.5),
            };
        first.quality = vec![quality(6.0, 2.0, Some(3.0))];
        second.quality = vec![quality(4.0, 4.0, None)];
        StudyReport {
            data: PathBuf::from("out/synth"),
            synthetic: true,
            split: "official".to_string(),
            seeds: vec![0, 1],
            per_seed: vec![first, second],
            summary: vec![ArmSummary {
                arm: Arm::Plain,
                description: Arm::Plain.description().to_string(),
                specificity: Spread { mean: 0.7, sd: 0.1 },
                sensitivity: Spread { mean: 0.4, sd: 0.0 },
                score: Spread {
                    mean: 0.55,
                    sd: 0.05,
                },
                macro_f1: Spread { mean: 0.4, sd: 0.1 },
                recall: vec![("normal".to_string(), Spread { mean: 0.8, sd: 0.1 })],
            }],
            paired: Vec::new(),
            gate_keep_share: BTreeMap::from([("crackle".to_string(), 0.5)]),
            verdict: "Verdict: no augmented arm was run.".to_string(),
            steps: vec![Step {
                name: "seed 0: train".to_string(),
                command: "auscult train --out x".to_string(),
                seconds: 1.26,
            }],
            seconds: 12.4,
        }
    }

    fn inspection() -> serde_json::Value {
        serde_json::json!({
            "recordings": 10,
            "patients": 4,
            "classes": {"normal": 5},
            "splits": {"train": 3},
        })
    }

    #[test]
    fn full_report() {
        let inspection = inspection();
        let figures = Figures {
            confusion: vec![(
                "(a) plain".to_string(),
                "figures/confusion-a-plain-seed0.png".to_string(),
            )],
            curves: vec![(
                "(a) plain".to_string(),
                "seed-0/a-plain/curves.png".to_string(),
            )],
            contact_sheet: Some("seed-0/generated/contact_sheet.png".to_string()),
        };
        let expected = r#"# T

Data: `out/synth` (synthetic ICBHI layout, 12 patients, written by `auscult synth`). Seeds: 0, 1. Device: cpu. Budget: classifier 3 epochs per arm, VQ-VAE 3 epochs, prior 3 epochs. Total time 12 s.

Generation: temperature 0.8, top-k 32, top-p 0.9, guidance off, decoder means (no texture), corpus up to 20 per class, augment ratio 0.5, VQ-VAE and prior reused from `old`. Gate threshold 0.2 times the median probability of the class's real validation cycles.

## Data

10 recordings, 4 patients. Cycles per class: `{"normal":5}`. Per split: `{"train":3}`.

## Results on the test patients

| arm | Sp % | Se % | Score % | macro-F1 % | recall normal % |
|---|---|---|---|---|---|
| (a) cross-entropy, instance sampling | 70.0 ± 10.0 | 40.0 ± 0.0 | 55.0 ± 5.0 | 40.0 ± 10.0 | 80.0 ± 10.0 |

Mean ± sample standard deviation over 2 seed(s) (0, 1), test patients only.

Verdict: no augmented arm was run.

These numbers come from the synthetic corpus: they show that every step works and how the arms compare on it, not how they compare on ICBHI 2017. Run `auscult study --data ICBHI_ROOT` for that.

## Generated corpus

Samples generated per class (seed 0): `{"crackle": 4, "normal": 0}`.

Share kept by the quality gate (p >= 0.2 x the class's real validation median under arm (a)'s model), over all seeds: crackle 50%.

Mean probability arm (a)'s model gives generated samples for their conditioned class: seed 0: crackle 0.46.

For comparison, the mean probability the same model gives real test cycles for their own class: seed 0: crackle 0.50.

Through arm (b)'s classifier (trained on real data only), against the real test cycles (`auscult quality`; means over the seeds):

| class | Fréchet distance | real-halves floor | ratio | ratio per seed | ratio at matched sizes | the same for real training cycles | ratio, halves by patient | real training cycles, by patient | p(class) generated | p(class) real |
|---|---|---|---|---|---|---|---|---|---|---|
| crackle | 5.00 | 3.00 | 3.00 | 3.00, - | 4.00 | 1.50 | 1.25 | 0.75 | 0.25 | 0.50 |

![generated samples](seed-0/generated/contact_sheet.png)

## Confusion matrices (first seed)

(a) plain

![(a) plain](figures/confusion-a-plain-seed0.png)

## Training curves (first seed)

(a) plain

![(a) plain](seed-0/a-plain/curves.png)

## Per seed

| seed | arm | Sp % | Se % | Score % | 95% CI of score | macro-F1 % |
|---|---|---|---|---|---|---|
| 0 | (a) plain | 80.0 | 40.0 | 60.0 | 25.0-75.0 | 50.0 |
| 1 | (a) plain | 60.0 | 40.0 | 50.0 | 25.0-75.0 | 30.0 |

## Reproduce

Each step below is the exact command that ran (from the directory the study was started in), with its wall-clock time.

```sh
# seed 0: train (1.3 s)
auscult train --out x
```
"#;
        assert_eq!(
            markdown(&setup(), &report(), Some(&inspection), &figures),
            expected
        );
    }

    #[test]
    fn sections_without_content_are_left_out() {
        let mut setup = setup();
        setup.augmentation = Augmentation {
            temperature: 1.0,
            top_k: 0,
            top_p: None,
            guidance: Some(2.5),
            no_texture: false,
            match_envelope: false,
            target: None,
            augment_ratio: None,
            generator_from: None,
            gate_threshold: 0.5,
            gate_relative: false,
        };
        let mut report = report();
        report.synthetic = false;
        report.data = PathBuf::from("/data/icbhi");
        report.per_seed[0].generated.clear();
        report.steps.clear();
        let md = markdown(&setup, &report, None, &Figures::default());
        assert!(md.starts_with(
            "# T\n\nData: `/data/icbhi`. Seeds: 0, 1. Device: cpu. Budget: classifier 3 epochs \
             per arm, VQ-VAE 3 epochs, prior 3 epochs. Total time 12 s.\n\nGeneration: \
             temperature 1, top-k off, top-p off, guidance 2.5, decoder texture on, corpus up to \
             the majority count per class, augment ratio all. Gate threshold 0.5.\n\n## Results \
             on the test patients\n\n"
        ));
        for absent in [
            "## Data",
            "synthetic corpus",
            "## Generated corpus",
            "## Confusion",
            "## Training curves",
        ] {
            assert!(!md.contains(absent), "{absent} in\n{md}");
        }
        assert!(md.ends_with("with its wall-clock time.\n\n```sh\n```\n"));
    }

    #[test]
    fn a_fold_study_says_its_test_part_is_the_held_out_fold() {
        let mut report = report();
        report.synthetic = false;
        report.data = PathBuf::from("/data/icbhi");
        report.split = "cv:4:1:0".to_string();
        let md = markdown(&setup(), &report, Some(&inspection()), &Figures::default());
        assert!(md.starts_with(
            "# T\n\nData: `/data/icbhi`. Split: `cv:4:1:0`, a fold of the training patients: \
             \"test\" below is the held-out fold. Seeds: 0, 1."
        ));
        // The counts are the dataset's own split, not the fold's.
        assert!(md.contains(
            "Per split of the dataset (the study's folds divide its training part): `{\"train\":3}`."
        ));
    }
}
