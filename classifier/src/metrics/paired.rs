//! The difference in ICBHI score between two systems scored on the same items, with a
//! patient-level bootstrap interval: the comparison a study of training arms needs.
//!
//! Two arms evaluated on the same test patients are paired: a patient whose cycles are hard
//! for one is usually hard for the other. Resampling patients once per draw for both arms (and
//! for every seed, when several seeds compare the same two arms on the same items) keeps that
//! pairing, so the interval measures how much the *difference* depends on which patients were
//! tested, not how much each score does.

use serde::{Deserialize, Serialize};

use super::bootstrap::{BootstrapOptions, ClusterCounts, cluster_counts, clusters, percentile};
use super::confusion::ratio;
use crate::{Error, Result};

/// Predictions of two systems on the same items: `a` minus `b` is measured.
#[derive(Debug, Clone, Copy)]
pub struct PredictionPair<'a> {
    /// The first system's predicted class per item.
    pub a: &'a [usize],
    /// The second system's predicted class per item.
    pub b: &'a [usize],
}

/// ICBHI score of system A minus system B on the same items, averaged over one or more pairs
/// (e.g. one pair per seed), with a patient-bootstrap 95% interval of that mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedDifference {
    /// Mean over the pairs of `score(a) - score(b)` on all items (fractions, not points).
    pub difference: f64,
    /// Each pair's difference, in the order given.
    pub per_pair: Vec<f64>,
    /// Each pair's own percentile 95% interval (resampling patients for that pair alone);
    /// `None` without resamples.
    pub per_pair_ci95: Vec<Option<[f64; 2]>>,
    /// Percentile 95% interval of the mean difference: each resample draws the patients
    /// once, with replacement, and scores every pair's two systems on the same draw; `None`
    /// without resamples.
    pub ci95: Option<[f64; 2]>,
    /// Student-t 95% interval of the mean of `per_pair` (n - 1 degrees of freedom): how
    /// much the difference moves between pairs (seeds), which the patient bootstrap holds
    /// fixed; `None` with fewer than two pairs.
    #[serde(default)]
    pub seed_ci95: Option<[f64; 2]>,
    /// Number of bootstrap resamples.
    pub resamples: usize,
    /// Number of distinct patients.
    pub n_patients: usize,
}

/// The ICBHI score of summed counts.
fn score(sum: &ClusterCounts) -> f64 {
    (ratio(sum[1], sum[0]) + ratio(sum[3], sum[2])) / 2.0
}

/// The score of the patients in `draw` (indices, repeats allowed).
fn score_of(counts: &[ClusterCounts], draw: &[usize]) -> f64 {
    let mut sum = [0u64; 4];
    for &c in draw {
        for (s, v) in sum.iter_mut().zip(&counts[c]) {
            *s += v;
        }
    }
    score(&sum)
}

/// The two-sided 97.5% quantile of Student's t with `df` degrees of freedom (1.96 beyond 30).
fn t_quantile(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    T.get(df.wrapping_sub(1)).copied().unwrap_or(1.96)
}

/// Student-t 95% interval of the mean of `values`; `None` for fewer than two.
fn t_interval(values: &[f64]) -> Option<[f64; 2]> {
    let n = values.len();
    if n < 2 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = t_quantile(n - 1) * (var / n as f64).sqrt();
    Some([mean - half, mean + half])
}

/// Score of `a` minus score of `b` for every pair in `pairs`, all on the items of `truth`
/// whose patients are `patients`, and their mean, each with a percentile 95% interval from
/// `opts.resamples` patient resamples (the same patients drawn for both systems and, for the
/// mean, for every pair). `normal` is the index of the normal class. Errors when a length
/// disagrees with `truth` or there is no pair.
pub fn paired_score_difference(
    normal: usize,
    truth: &[usize],
    pairs: &[PredictionPair<'_>],
    patients: &[String],
    opts: BootstrapOptions,
) -> Result<PairedDifference> {
    if pairs.is_empty() {
        return Err(Error::data("a paired difference needs at least one pair"));
    }
    for p in pairs {
        for (side, what) in [
            (p.a, "predictions of system a"),
            (p.b, "predictions of system b"),
        ] {
            if side.len() != truth.len() {
                return Err(Error::Length {
                    what,
                    expected: truth.len(),
                    actual: side.len(),
                });
            }
        }
    }
    let (cluster, k) = clusters(truth.len(), Some(patients))?;
    let tables: Vec<(Vec<ClusterCounts>, Vec<ClusterCounts>)> = pairs
        .iter()
        .map(|p| {
            (
                cluster_counts(normal, truth, p.a, &cluster, k),
                cluster_counts(normal, truth, p.b, &cluster, k),
            )
        })
        .collect();
    let everyone: Vec<usize> = (0..k).collect();
    let difference_on = |draw: &[usize], (a, b): &(Vec<ClusterCounts>, Vec<ClusterCounts>)| {
        score_of(a, draw) - score_of(b, draw)
    };
    let per_pair: Vec<f64> = tables.iter().map(|t| difference_on(&everyone, t)).collect();
    let difference = per_pair.iter().sum::<f64>() / per_pair.len() as f64;

    let mut rng = auscult_experiment::seeded_rng(opts.seed, 0x9A12);
    let mut means = Vec::with_capacity(opts.resamples);
    let mut each = vec![Vec::with_capacity(opts.resamples); tables.len()];
    let mut draw = vec![0usize; k];
    for _ in 0..opts.resamples {
        for d in draw.iter_mut() {
            *d = rand::Rng::random_range(&mut rng, 0..k);
        }
        let mut total = 0.0;
        for (t, values) in tables.iter().zip(each.iter_mut()) {
            let d = difference_on(&draw, t);
            values.push(d);
            total += d;
        }
        means.push(total / tables.len() as f64);
    }
    let interval = |mut v: Vec<f64>| {
        (opts.resamples > 0 && k > 0).then(|| {
            v.sort_by(f64::total_cmp);
            [percentile(&v, 0.025), percentile(&v, 0.975)]
        })
    };
    Ok(PairedDifference {
        difference,
        seed_ci95: t_interval(&per_pair),
        per_pair,
        per_pair_ci95: each.into_iter().map(interval).collect(),
        ci95: interval(means),
        resamples: opts.resamples,
        n_patients: k,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patients(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    const OPTS: BootstrapOptions = BootstrapOptions {
        resamples: 500,
        seed: 7,
    };

    #[test]
    fn identical_systems_differ_by_exactly_zero() {
        let truth = [0, 1, 2, 0, 1, 0];
        let pred = [0, 1, 0, 1, 1, 0];
        let who = patients(&["p1", "p1", "p2", "p2", "p3", "p3"]);
        let d = paired_score_difference(
            0,
            &truth,
            &[PredictionPair { a: &pred, b: &pred }],
            &who,
            OPTS,
        )
        .unwrap();
        assert_eq!(d.difference, 0.0);
        assert_eq!(d.ci95, Some([0.0, 0.0]));
        assert_eq!(d.n_patients, 3);
    }

    #[test]
    fn a_perfect_system_beats_all_normal_by_half_its_sensitivity() {
        // Perfect: Sp 1, Se 1, score 1. All normal: Sp 1, Se 0, score 0.5.
        let truth = [0, 1, 2, 0, 1, 0, 2, 3];
        let all_normal = [0; 8];
        let who = patients(&["a", "a", "b", "b", "c", "c", "d", "d"]);
        let d = paired_score_difference(
            0,
            &truth,
            &[PredictionPair {
                a: &truth,
                b: &all_normal,
            }],
            &who,
            OPTS,
        )
        .unwrap();
        assert!((d.difference - 0.5).abs() < 1e-12);
        // Every resample holds some abnormal cycle or none: the difference is 0.5 or 0.
        let ci = d.ci95.unwrap();
        assert!(ci[0] >= 0.0 && ci[1] <= 0.5 && ci[1] > 0.0, "{ci:?}");
        assert_eq!(d.per_pair, vec![d.difference]);
        assert_eq!(d.seed_ci95, None, "one pair: no spread over pairs");
    }

    #[test]
    fn the_mean_over_pairs_is_bootstrapped_on_one_draw_of_patients() {
        let truth = [0, 1, 0, 2, 0, 1];
        let who = patients(&["a", "a", "b", "b", "c", "c"]);
        let a1 = [0, 1, 0, 2, 0, 1];
        let b1 = [0, 0, 0, 0, 0, 0];
        let a2 = [0, 0, 0, 0, 0, 0];
        let b2 = [0, 1, 0, 2, 0, 1];
        // The two pairs cancel exactly, on every draw of patients.
        let d = paired_score_difference(
            0,
            &truth,
            &[
                PredictionPair { a: &a1, b: &b1 },
                PredictionPair { a: &a2, b: &b2 },
            ],
            &who,
            OPTS,
        )
        .unwrap();
        assert_eq!(d.difference, 0.0);
        assert_eq!(d.per_pair, vec![0.5, -0.5]);
        assert_eq!(d.ci95, Some([0.0, 0.0]));
        assert_eq!(d.per_pair_ci95.len(), 2);
        // Over the pairs: mean 0, sd sqrt(0.5), t(1) = 12.706: 0 ± 12.706 * 0.5.
        let [lo, hi] = d.seed_ci95.unwrap();
        assert!(
            (hi - 6.353).abs() < 1e-9 && (lo + 6.353).abs() < 1e-9,
            "{lo} {hi}"
        );
    }

    #[test]
    fn the_order_of_the_items_does_not_matter() {
        let truth = [0, 1, 2, 0, 1, 0, 2, 3, 0, 1];
        let a = [0, 1, 1, 0, 1, 2, 2, 0, 0, 0];
        let b = [0, 0, 2, 1, 1, 0, 0, 3, 1, 1];
        let who = patients(&["a", "a", "b", "b", "c", "c", "d", "d", "e", "e"]);
        let d = paired_score_difference(0, &truth, &[PredictionPair { a: &a, b: &b }], &who, OPTS)
            .unwrap();
        let rev = |v: &[usize]| v.iter().rev().copied().collect::<Vec<_>>();
        let who_rev: Vec<String> = who.iter().rev().cloned().collect();
        let r = paired_score_difference(
            0,
            &rev(&truth),
            &[PredictionPair {
                a: &rev(&a),
                b: &rev(&b),
            }],
            &who_rev,
            OPTS,
        )
        .unwrap();
        assert_eq!(d, r);
    }

    #[test]
    fn mismatched_lengths_and_no_pairs_are_errors() {
        let truth = [0, 1];
        let who = patients(&["a", "b"]);
        assert!(paired_score_difference(0, &truth, &[], &who, OPTS).is_err());
        let short = [0];
        let err = paired_score_difference(
            0,
            &truth,
            &[PredictionPair {
                a: &short,
                b: &truth,
            }],
            &who,
            OPTS,
        )
        .unwrap_err();
        assert!(err.to_string().contains("system a"), "{err}");
    }
}
