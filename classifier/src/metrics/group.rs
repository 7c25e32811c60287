//! The metrics of the items sharing one value of a grouping key (per device, per source
//! sample rate).

use std::collections::BTreeMap;
use std::fmt::Display;

use serde::{Deserialize, Serialize};

use super::bootstrap::BootstrapOptions;
use super::confusion::ClassMetrics;
use super::score::{Metrics, predictions};
use crate::{Error, Result};

/// The metrics of the items sharing one value of a grouping key: one recording device, one
/// source sample rate (what `auscult evaluate` reports as `by_device` and `by_sample_rate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupMetrics {
    /// The key's value (a device code such as `Litt3200`, a rate in Hz such as `4000`, or
    /// `unknown`).
    pub group: String,
    /// Number of items in the group.
    pub n: u64,
    /// Number of distinct patients in the group, when known.
    pub n_patients: Option<u64>,
    /// ICBHI specificity of the group.
    pub specificity: f64,
    /// ICBHI sensitivity of the group.
    pub sensitivity: f64,
    /// ICBHI score of the group.
    pub score: f64,
    /// Bootstrap 95% interval of the group's score (resampling as [`Metrics::bootstrap_unit`]
    /// says, within the group), if computed.
    pub score_ci95: Option<[f64; 2]>,
    /// Per-class precision, recall, F1 and support within the group.
    pub per_class: Vec<ClassMetrics>,
    /// Confusion matrix of the group, `confusion[truth][prediction]`.
    pub confusion: Vec<Vec<u64>>,
}

/// The metrics of each group of items, items grouped by `keys[i]` (item `i`'s key), groups in
/// key order. `patients`, when given, makes each group's interval resample patients, as
/// [`Metrics::compute_with_patients`] does; the arguments are otherwise those of
/// [`Metrics::compute`].
pub fn group_metrics<K: Ord + Display>(
    classes: &[String],
    truth: &[usize],
    probabilities: &[Vec<f32>],
    keys: &[K],
    patients: Option<&[String]>,
    bootstrap: BootstrapOptions,
    threshold: Option<f64>,
) -> Result<Vec<GroupMetrics>> {
    predictions(classes, truth, probabilities, threshold)?;
    for (what, len) in [
        ("group keys for the true labels", keys.len()),
        (
            "patients for the true labels",
            patients.map_or(truth.len(), <[String]>::len),
        ),
    ] {
        if len != truth.len() {
            return Err(Error::Length {
                what,
                expected: truth.len(),
                actual: len,
            });
        }
    }
    let mut groups: BTreeMap<&K, Vec<usize>> = BTreeMap::new();
    for (i, k) in keys.iter().enumerate() {
        groups.entry(k).or_default().push(i);
    }
    groups
        .into_iter()
        .map(|(key, items)| {
            let truth: Vec<usize> = items.iter().map(|&i| truth[i]).collect();
            let probs: Vec<Vec<f32>> = items.iter().map(|&i| probabilities[i].clone()).collect();
            let patients: Option<Vec<String>> =
                patients.map(|p| items.iter().map(|&i| p[i].clone()).collect());
            let m = Metrics::compute_full(
                classes,
                &truth,
                &probs,
                patients.as_deref(),
                bootstrap,
                threshold,
            )?;
            Ok(GroupMetrics {
                group: key.to_string(),
                n: m.n,
                n_patients: m.n_patients,
                specificity: m.specificity,
                sensitivity: m.sensitivity,
                score: m.score,
                score_ci95: m.score_ci95,
                per_class: m.per_class,
                confusion: m.confusion,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::test_support::{names, one_hot};

    #[test]
    fn group_metrics_on_a_hand_made_case() {
        let classes = names(&["normal", "crackle", "wheeze"]);
        // item: device, rate, truth, prediction, patient
        let items = [
            ("Litt3200", 4000u32, 0, 0, "a"),
            ("Litt3200", 4000, 0, 1, "a"),
            ("Litt3200", 4000, 1, 1, "a"),
            ("Meditron", 44100, 0, 0, "b"),
            ("Meditron", 44100, 2, 0, "b"),
            ("Meditron", 4000, 2, 2, "c"),
            ("AKGC417L", 44100, 1, 1, "d"),
        ];
        let devices: Vec<String> = items.iter().map(|i| i.0.to_string()).collect();
        let rates: Vec<u32> = items.iter().map(|i| i.1).collect();
        let truth: Vec<usize> = items.iter().map(|i| i.2).collect();
        let probs = one_hot(&items.iter().map(|i| i.3).collect::<Vec<_>>(), 3);
        let patients: Vec<String> = items.iter().map(|i| i.4.to_string()).collect();
        let opts = BootstrapOptions {
            resamples: 50,
            seed: 1,
        };
        let g = group_metrics(
            &classes,
            &truth,
            &probs,
            &devices,
            Some(&patients),
            opts,
            None,
        )
        .unwrap();
        let got: Vec<(&str, u64, Option<u64>)> = g
            .iter()
            .map(|m| (m.group.as_str(), m.n, m.n_patients))
            .collect();
        assert_eq!(
            got,
            [
                ("AKGC417L", 1, Some(1)),
                ("Litt3200", 3, Some(1)),
                ("Meditron", 3, Some(2))
            ]
        );
        // AKGC417L: no normal item -> Sp 0; Se 1/1.
        assert_eq!(
            (g[0].specificity, g[0].sensitivity, g[0].score),
            (0.0, 1.0, 0.5)
        );
        // Litt3200: Sp 1/2, Se 1/1; recall normal 1/2, crackle 1, wheeze 0 (no support).
        assert_eq!(
            (g[1].specificity, g[1].sensitivity, g[1].score),
            (0.5, 1.0, 0.75)
        );
        let recall: Vec<f64> = g[1].per_class.iter().map(|c| c.recall).collect();
        assert_eq!(recall, [0.5, 1.0, 0.0]);
        assert_eq!(
            g[1].confusion,
            vec![vec![1, 1, 0], vec![0, 1, 0], vec![0, 0, 0]]
        );
        // Meditron: Sp 1/1, Se 1/2; wheeze recall 1/2.
        assert_eq!(
            (g[2].specificity, g[2].sensitivity, g[2].score),
            (1.0, 0.5, 0.75)
        );
        assert_eq!(g[2].per_class[2].recall, 0.5);
        assert!(g.iter().all(|m| m.score_ci95.is_some()));

        // Rates sort as numbers (4000 before 44100); without patients, no patient count.
        let g = group_metrics(&classes, &truth, &probs, &rates, None, opts, None).unwrap();
        let got: Vec<(&str, u64, Option<u64>)> = g
            .iter()
            .map(|m| (m.group.as_str(), m.n, m.n_patients))
            .collect();
        assert_eq!(got, [("4000", 4, None), ("44100", 3, None)]);
        // 4000: normal 1/2 right, abnormal 2/2 -> 0.75 ; 44100: 1/1, 1/2 -> 0.75.
        assert_eq!((g[0].specificity, g[0].sensitivity), (0.5, 1.0));
        assert_eq!((g[1].specificity, g[1].sensitivity), (1.0, 0.5));

        assert!(group_metrics(&classes, &truth, &probs, &rates[1..], None, opts, None).is_err());
        assert!(
            group_metrics(
                &classes,
                &truth,
                &probs,
                &rates,
                Some(&patients[1..]),
                opts,
                None
            )
            .is_err()
        );
    }
}
