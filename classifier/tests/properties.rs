//! Property tests of the ICBHI metrics against the confusion matrix they come from: for any
//! labels and (tie-free) probabilities, specificity, sensitivity, score, accuracy and per-class
//! recall are the textbook ratios of the argmax confusion matrix.

#![allow(clippy::unwrap_used)]

use auscult_classifier::Metrics;
use auscult_classifier::metrics::BootstrapOptions;
use proptest::prelude::*;

const CLASSES: [&str; 4] = ["normal", "crackle", "wheeze", "both"];

/// Items as (truth, the class given the highest probability, a seed for the other values).
fn items() -> impl Strategy<Value = Vec<(usize, usize, u32)>> {
    proptest::collection::vec((0usize..4, 0usize..4, any::<u32>()), 1..300)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn icbhi_metrics_are_the_ratios_of_the_confusion_matrix(items in items()) {
        let classes: Vec<String> = CLASSES.iter().map(|c| c.to_string()).collect();
        let truth: Vec<usize> = items.iter().map(|i| i.0).collect();
        // The chosen class gets 0.7, the others distinct smaller values: no ties.
        let probabilities: Vec<Vec<f32>> = items
            .iter()
            .map(|&(_, top, seed)| {
                (0..4)
                    .map(|c| {
                        if c == top {
                            0.7
                        } else {
                            0.05 + 0.01 * ((seed as usize + c) % 4) as f32 + 0.001 * c as f32
                        }
                    })
                    .collect()
            })
            .collect();
        let m = Metrics::compute(
            &classes,
            &truth,
            &probabilities,
            BootstrapOptions { resamples: 0, seed: 0 },
        )
        .unwrap();
        let mut c = [[0u64; 4]; 4];
        for &(t, p, _) in &items {
            c[t][p] += 1;
        }
        let row = |i: usize| c[i].iter().sum::<u64>();
        prop_assert_eq!(&m.confusion, &c.iter().map(|r| r.to_vec()).collect::<Vec<_>>());
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let sp = ratio(c[0][0], row(0));
        let se = ratio(c[1][1] + c[2][2] + c[3][3], row(1) + row(2) + row(3));
        prop_assert!((m.specificity - sp).abs() < 1e-12, "{} {}", m.specificity, sp);
        prop_assert!((m.sensitivity - se).abs() < 1e-12, "{} {}", m.sensitivity, se);
        prop_assert!((m.score - (sp + se) / 2.0).abs() < 1e-12);
        let trace: u64 = (0..4).map(|i| c[i][i]).sum();
        prop_assert!((m.accuracy - ratio(trace, items.len() as u64)).abs() < 1e-12);
        prop_assert_eq!(m.n, items.len() as u64);
        for (k, pc) in m.per_class.iter().enumerate() {
            if row(k) > 0 {
                prop_assert!((pc.recall - ratio(c[k][k], row(k))).abs() < 1e-12);
            }
        }
    }
}
