//! Bootstrap 95% intervals (percentile method) of the ICBHI metrics, resampling items or
//! patients (a cluster bootstrap), and the percentile they are read with.

use std::collections::BTreeMap;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::confusion::ratio;
use crate::{Error, Result};

/// Options of [`Metrics::compute`](super::Metrics::compute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootstrapOptions {
    /// Number of bootstrap resamples (0 disables the interval).
    pub resamples: usize,
    /// Seed of the resampling.
    pub seed: u64,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        Self {
            resamples: 1000,
            seed: 0,
        }
    }
}

/// The unit a bootstrap draws with replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BootstrapUnit {
    /// Items (cycles), as if every item were independent.
    Item,
    /// Patients, each bringing all of its items (a cluster bootstrap).
    Patient,
}

impl BootstrapUnit {
    /// The unit's name in the plural, for reports (`patients`, `items`).
    pub fn plural(self) -> &'static str {
        match self {
            Self::Item => "items",
            Self::Patient => "patients",
        }
    }
}

/// The cluster (patient) index of every item, patients numbered in sorted-name order so that
/// the bootstrap does not depend on the order of the items; `None` gives every item its own
/// cluster. Returns the indices and the number of clusters.
pub(super) fn clusters(n_items: usize, patients: Option<&[String]>) -> Result<(Vec<usize>, usize)> {
    let Some(patients) = patients else {
        return Ok(((0..n_items).collect(), n_items));
    };
    if patients.len() != n_items {
        return Err(Error::Length {
            what: "patients for the true labels",
            expected: n_items,
            actual: patients.len(),
        });
    }
    let mut index: BTreeMap<&str, usize> = patients.iter().map(|p| (p.as_str(), 0)).collect();
    for (i, v) in index.values_mut().enumerate() {
        *v = i;
    }
    let k = index.len();
    Ok((patients.iter().map(|p| index[p.as_str()]).collect(), k))
}

/// Bootstrap 95% intervals (percentile method) of the ICBHI metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct IcbhiIntervals {
    pub(super) specificity: [f64; 2],
    pub(super) sensitivity: [f64; 2],
    pub(super) score: [f64; 2],
}

/// What the ICBHI metrics need of one cluster's items: the normal items and the correct ones,
/// the abnormal items and the exactly correct ones.
pub(super) type ClusterCounts = [u64; 4];

/// The [`ClusterCounts`] of every cluster (item `i` belongs to `cluster[i]`).
pub(super) fn cluster_counts(
    normal: usize,
    truth: &[usize],
    prediction: &[usize],
    cluster: &[usize],
    n_clusters: usize,
) -> Vec<ClusterCounts> {
    let mut counts = vec![[0u64; 4]; n_clusters];
    for ((&t, &p), &c) in truth.iter().zip(prediction).zip(cluster) {
        let base = if t == normal { 0 } else { 2 };
        counts[c][base] += 1;
        counts[c][base + 1] += u64::from(t == p);
    }
    counts
}

/// Percentile bootstrap of Sp, Se and the score: each resample draws `n_clusters` clusters
/// with replacement (item `i` belongs to `cluster[i]`) and pools all their items. With one
/// item per cluster this is the item bootstrap, draw for draw.
pub(super) fn bootstrap_icbhi(
    normal: usize,
    truth: &[usize],
    prediction: &[usize],
    cluster: &[usize],
    n_clusters: usize,
    opts: BootstrapOptions,
) -> IcbhiIntervals {
    let counts = cluster_counts(normal, truth, prediction, cluster, n_clusters);
    let mut rng = auscult_experiment::seeded_rng(opts.seed, 0xB007);
    let mut sp = Vec::with_capacity(opts.resamples);
    let mut se = Vec::with_capacity(opts.resamples);
    let mut sc = Vec::with_capacity(opts.resamples);
    for _ in 0..opts.resamples {
        let mut sum = [0u64; 4];
        for _ in 0..n_clusters {
            let c = &counts[rng.random_range(0..n_clusters)];
            for (s, v) in sum.iter_mut().zip(c) {
                *s += v;
            }
        }
        let (specificity, sensitivity) = (ratio(sum[1], sum[0]), ratio(sum[3], sum[2]));
        sp.push(specificity);
        se.push(sensitivity);
        sc.push((specificity + sensitivity) / 2.0);
    }
    let interval = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        [percentile(&v, 0.025), percentile(&v, 0.975)]
    };
    IcbhiIntervals {
        specificity: interval(sp),
        sensitivity: interval(se),
        score: interval(sc),
    }
}

/// Linear-interpolated percentile (numpy's default) of sorted values.
pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}
