//! The verdict: does augmentation help here? Arms (c) and (e) are each compared with arm (b),
//! the same recipe without generated data. When the arms' test predictions were paired item
//! by item ([`crate::PairedComparison`]), the difference in ICBHI score is judged by its
//! patient-bootstrap 95% interval; otherwise against the seed-to-seed spread.

use crate::arm::Arm;
use crate::paired::{PairedComparison, comparison_of};
use crate::results::ArmSummary;

/// One sentence per augmented arm that was run, comparing its ICBHI score with arm (b)'s.
///
/// With a paired comparison of the arm (`paired`), the difference counts as real only when
/// its 95% interval over test patients excludes 0 and, with several seeds, so does the
/// t-interval of the per-seed differences (a patient interval holds the seeds fixed). Without one, it counts as real only when it
/// exceeds the combined spread `sqrt(sd_arm² + sd_b²)` (sample standard deviations over
/// seeds); with a single seed there is no spread and the sentence says so. Starts with
/// `Verdict: `.
pub fn verdict(summary: &[ArmSummary], paired: &[PairedComparison]) -> String {
    let get = |arm| summary.iter().find(|s| s.arm == arm);
    let Some(base) = get(Arm::MixupSupcon) else {
        return "Verdict: arm (b) was not run, so the effect of augmentation cannot be judged."
            .to_string();
    };
    let mut lines = Vec::new();
    for arm in [Arm::Augmented, Arm::Gated] {
        let Some(s) = get(arm) else { continue };
        if let Some(p) = comparison_of(paired, arm)
            && let Some([lo, hi]) = p.score.ci95
        {
            let seeds_agree = p.score.seed_ci95.is_none_or(|[l, h]| l > 0.0 || h < 0.0);
            let judgement = if (lo > 0.0 || hi < 0.0) && !seeds_agree {
                "it excludes 0, but the seeds disagree: not a consistent effect here"
            } else if lo > 0.0 {
                "above 0: augmentation helped here"
            } else if hi < 0.0 {
                "below 0: augmentation hurt here"
            } else {
                "it includes 0: no measurable effect here"
            };
            let seeds = match p.score.seed_ci95 {
                None => format!("{} seed", p.seeds.len()),
                Some([l, h]) => format!(
                    "mean of {} seeds; over seeds, t 95% interval [{:+.1}, {:+.1}]",
                    p.seeds.len(),
                    100.0 * l,
                    100.0 * h
                ),
            };
            lines.push(format!(
                "Arm ({}) {} vs (b): ICBHI score {:+.1} points ({seeds}), paired 95% interval \
                 over {} test patients [{:+.1}, {:+.1}], {judgement}.",
                arm.letter(),
                arm.description(),
                100.0 * p.score.difference,
                p.score.n_patients,
                100.0 * lo,
                100.0 * hi,
            ));
            continue;
        }
        let diff = s.score.mean - base.score.mean;
        let noise = (s.score.sd.powi(2) + base.score.sd.powi(2)).sqrt();
        let (spread, judgement) = if noise == 0.0 {
            (
                String::new(),
                if diff > 0.0 {
                    "higher, on a single seed (no spread to judge it against)"
                } else {
                    "not higher, on a single seed"
                },
            )
        } else {
            (
                format!(" (spread {:.1})", 100.0 * noise),
                if diff > noise {
                    "higher by more than the seed-to-seed spread: augmentation helped here"
                } else if diff < -noise {
                    "lower by more than the seed-to-seed spread: augmentation hurt here"
                } else {
                    "within the seed-to-seed spread: no measurable effect here"
                },
            )
        };
        lines.push(format!(
            "Arm ({}) {} vs (b): ICBHI score {:+.1} points{spread}, {judgement}.",
            arm.letter(),
            arm.description(),
            100.0 * diff,
        ));
    }
    if lines.is_empty() {
        return "Verdict: no augmented arm was run.".to_string();
    }
    format!("Verdict: {}", lines.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Spread;

    /// A summary of `arm` whose ICBHI score has the given mean and sd (other metrics 0).
    fn arm(arm: Arm, mean: f64, sd: f64) -> ArmSummary {
        let zero = Spread { mean: 0.0, sd: 0.0 };
        ArmSummary {
            arm,
            description: arm.description().to_string(),
            specificity: zero,
            sensitivity: zero,
            score: Spread { mean, sd },
            macro_f1: zero,
            recall: Vec::new(),
        }
    }

    // In every case below the combined spread is sqrt(0.03² + 0.04²) = 0.05, 5 points.

    #[test]
    fn clearly_better_is_augmentation_helped() {
        let v = verdict(
            &[
                arm(Arm::MixupSupcon, 0.50, 0.03),
                arm(Arm::Augmented, 0.60, 0.04),
            ],
            &[],
        );
        assert_eq!(
            v,
            "Verdict: Arm (c) Balanced Mixup + SupCon + generated corpus vs (b): ICBHI score \
             +10.0 points (spread 5.0), higher by more than the seed-to-seed spread: \
             augmentation helped here."
        );
    }

    #[test]
    fn clearly_worse_is_augmentation_hurt() {
        let v = verdict(
            &[
                arm(Arm::MixupSupcon, 0.50, 0.03),
                arm(Arm::Augmented, 0.40, 0.04),
            ],
            &[],
        );
        assert_eq!(
            v,
            "Verdict: Arm (c) Balanced Mixup + SupCon + generated corpus vs (b): ICBHI score \
             -10.0 points (spread 5.0), lower by more than the seed-to-seed spread: \
             augmentation hurt here."
        );
    }

    #[test]
    fn within_the_spread_is_no_measurable_effect() {
        for (score, shown) in [(0.52, "+2.0"), (0.47, "-3.0")] {
            let v = verdict(
                &[
                    arm(Arm::MixupSupcon, 0.50, 0.03),
                    arm(Arm::Augmented, score, 0.04),
                ],
                &[],
            );
            assert_eq!(
                v,
                format!(
                    "Verdict: Arm (c) Balanced Mixup + SupCon + generated corpus vs (b): ICBHI \
                     score {shown} points (spread 5.0), within the seed-to-seed spread: no \
                     measurable effect here."
                )
            );
        }
    }

    #[test]
    fn a_single_seed_has_no_spread_to_judge_against() {
        let v = verdict(
            &[
                arm(Arm::Plain, 0.9, 0.0),
                arm(Arm::MixupSupcon, 0.50, 0.0),
                arm(Arm::Augmented, 0.55, 0.0),
                arm(Arm::Gated, 0.50, 0.0),
            ],
            &[],
        );
        assert_eq!(
            v,
            "Verdict: Arm (c) Balanced Mixup + SupCon + generated corpus vs (b): ICBHI score \
             +5.0 points, higher, on a single seed (no spread to judge it against). Arm (e) \
             Balanced Mixup + SupCon + gated generated corpus vs (b): ICBHI score +0.0 points, \
             not higher, on a single seed."
        );
    }

    #[test]
    fn gated_arm_alone_is_judged() {
        let v = verdict(
            &[
                arm(Arm::MixupSupcon, 0.50, 0.03),
                arm(Arm::Gated, 0.60, 0.04),
            ],
            &[],
        );
        assert!(
            v.starts_with("Verdict: Arm (e) Balanced Mixup + SupCon + gated generated corpus"),
            "{v}"
        );
        assert!(v.ends_with("augmentation helped here."), "{v}");
    }

    #[test]
    fn missing_arms_are_said_so() {
        assert_eq!(
            verdict(&[arm(Arm::Augmented, 0.6, 0.0)], &[]),
            "Verdict: arm (b) was not run, so the effect of augmentation cannot be judged."
        );
        assert_eq!(
            verdict(
                &[arm(Arm::Plain, 0.4, 0.0), arm(Arm::MixupSupcon, 0.5, 0.0)],
                &[]
            ),
            "Verdict: no augmented arm was run."
        );
        assert_eq!(
            verdict(&[], &[]),
            "Verdict: arm (b) was not run, so the effect of augmentation cannot be judged."
        );
    }

    fn paired(arm: Arm, difference: f64, ci: [f64; 2], seeds: [f64; 2]) -> PairedComparison {
        PairedComparison {
            arm,
            baseline: Arm::MixupSupcon,
            seeds: vec![0, 1, 2, 3, 4],
            score: auscult_classifier::metrics::PairedDifference {
                difference,
                per_pair: vec![difference; 5],
                per_pair_ci95: vec![None; 5],
                ci95: Some(ci),
                seed_ci95: Some(seeds),
                resamples: 2000,
                n_patients: 11,
            },
            recall_difference: Vec::new(),
        }
    }

    #[test]
    fn a_paired_interval_decides_over_the_spread() {
        let summary = [
            arm(Arm::MixupSupcon, 0.50, 0.03),
            arm(Arm::Augmented, 0.52, 0.04),
            arm(Arm::Gated, 0.49, 0.04),
        ];
        let v = verdict(
            &summary,
            &[
                paired(Arm::Augmented, 0.02, [0.005, 0.035], [0.01, 0.03]),
                paired(Arm::Gated, -0.01, [-0.04, 0.02], [-0.03, 0.01]),
            ],
        );
        assert_eq!(
            v,
            "Verdict: Arm (c) Balanced Mixup + SupCon + generated corpus vs (b): ICBHI score \
             +2.0 points (mean of 5 seeds; over seeds, t 95% interval [+1.0, +3.0]), paired \
             95% interval over 11 test patients [+0.5, +3.5], above 0: augmentation helped \
             here. Arm (e) Balanced Mixup + SupCon + gated generated corpus vs (b): ICBHI score \
             -1.0 points (mean of 5 seeds; over seeds, t 95% interval [-3.0, +1.0]), paired 95% \
             interval over 11 test patients [-4.0, +2.0], it includes 0: no measurable effect \
             here."
        );
        let hurt = verdict(
            &summary,
            &[paired(
                Arm::Augmented,
                -0.05,
                [-0.08, -0.01],
                [-0.07, -0.03],
            )],
        );
        assert!(hurt.contains("below 0: augmentation hurt here."), "{hurt}");
        // (e) had no paired comparison: judged against the spread.
        assert!(
            hurt.ends_with("within the seed-to-seed spread: no measurable effect here."),
            "{hurt}"
        );
    }
}
