//! Arm (e)'s quality gate: the per-class thresholds, and the share of generated samples it
//! kept over the seeds.
//!
//! Scoring the generated samples needs a trained model and is the caller's (the CLI runs
//! `auscult_classifier::corpus_class_probability`); what to keep given those probabilities is
//! decided here.

use std::collections::BTreeMap;

use crate::results::SeedResult;
use crate::stats::median;

/// The gate's threshold per class: `threshold` for every class of `reference`, or with
/// `relative`, `threshold` times the median of that class's `reference` probabilities (the
/// probabilities the gate's model gives real cycles of the class for their own class).
pub fn gate_thresholds(
    reference: &BTreeMap<String, Vec<f64>>,
    threshold: f32,
    relative: bool,
) -> BTreeMap<String, f64> {
    reference
        .iter()
        .map(|(c, probs)| {
            let scale = if relative { median(probs) } else { 1.0 };
            (c.clone(), f64::from(threshold) * scale)
        })
        .collect()
}

/// Share of generated samples the gate kept per class, pooled over the seeds that ran the gate
/// (kept / generated, in [0, 1]); classes of which nothing was generated are left out.
pub fn gate_share(per_seed: &[SeedResult]) -> BTreeMap<String, f64> {
    let mut generated: BTreeMap<String, usize> = BTreeMap::new();
    let mut kept: BTreeMap<String, usize> = BTreeMap::new();
    for r in per_seed.iter().filter(|r| !r.gate_kept.is_empty()) {
        for (c, n) in &r.generated {
            *generated.entry(c.clone()).or_default() += n;
        }
        for (c, n) in &r.gate_kept {
            *kept.entry(c.clone()).or_default() += n;
        }
    }
    generated
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(c, n)| {
            let k = kept.get(&c).copied().unwrap_or(0);
            (c, k as f64 / n as f64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::seed_result;

    fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
        pairs.iter().map(|&(c, n)| (c.to_string(), n)).collect()
    }

    #[test]
    fn gate_share_pools_the_seeds_that_ran_the_gate() {
        let mut a = seed_result(0, &[]);
        a.generated = counts(&[("crackle", 10), ("wheeze", 4), ("normal", 0)]);
        a.gate_kept = counts(&[("crackle", 5), ("wheeze", 1), ("normal", 0)]);
        let mut b = seed_result(1, &[]);
        b.generated = counts(&[("crackle", 10), ("wheeze", 4)]);
        b.gate_kept = counts(&[("crackle", 10)]);
        // No gate on this seed: its generated samples do not count.
        let mut c = seed_result(2, &[]);
        c.generated = counts(&[("crackle", 100)]);

        let share = gate_share(&[a, b, c]);
        // crackle (5 + 10) / 20; wheeze (1 + 0) / 8; normal: nothing generated.
        assert_eq!(
            share,
            BTreeMap::from([("crackle".to_string(), 0.75), ("wheeze".to_string(), 0.125)])
        );
    }

    #[test]
    fn gate_share_is_empty_without_a_gate() {
        let mut a = seed_result(0, &[]);
        a.generated = counts(&[("crackle", 10)]);
        assert!(gate_share(&[a]).is_empty());
        assert!(gate_share(&[]).is_empty());
    }

    #[test]
    fn thresholds_are_absolute_or_relative_to_the_real_median() {
        let reference = BTreeMap::from([
            ("crackle".to_string(), vec![0.2, 0.8, 0.4]),
            ("wheeze".to_string(), vec![0.1, 0.3]),
        ]);
        assert_eq!(
            gate_thresholds(&reference, 0.5, false),
            BTreeMap::from([("crackle".to_string(), 0.5), ("wheeze".to_string(), 0.5)])
        );
        // medians 0.4 and 0.2; 0.5 is exact in f32, so the products are exact too.
        let relative = gate_thresholds(&reference, 0.5, true);
        assert!((relative["crackle"] - 0.2).abs() < 1e-12, "{relative:?}");
        assert!((relative["wheeze"] - 0.1).abs() < 1e-12, "{relative:?}");
    }
}
