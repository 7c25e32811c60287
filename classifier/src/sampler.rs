//! Seeded batch samplers: instance sampling (a shuffled pass over the data), class-balanced
//! sampling (class uniform, then an item of it uniformly, with replacement), naive
//! oversampling (duplicating minority-class items up to the majority count), and
//! group-decorrelated variants of the first two that make a nuisance variable (the recording
//! device) independent of the label in what the model sees.

use std::collections::BTreeMap;

use rand::Rng;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::seq::SliceRandom;

use crate::{Error, Result};

/// One epoch of instance sampling: a seeded permutation of `0..n` cut into batches of
/// `batch_size`. A last batch of a single item is dropped (batch normalisation needs two).
pub fn instance_batches(n: usize, batch_size: usize, rng: &mut impl Rng) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    order
        .chunks(batch_size.max(1))
        .filter(|c| c.len() > 1)
        .map(|c| c.to_vec())
        .collect()
}

/// Item weights that make `groups` (e.g. the recording device) independent of `labels`
/// while keeping both marginals: `w_i = P(g_i) P(c_i) / P(g_i, c_i)`, so a weighted draw
/// picks group `g` and class `c` together with probability `P(g) P(c)`.
///
/// In ICBHI's training split the Littmann 3200 recordings are 73% abnormal while the other
/// devices are 31% abnormal: drawn by these weights, every device is 33% abnormal and the
/// device's sound no longer predicts the label. Both slices must have the same length.
pub fn decorrelation_weights(labels: &[usize], groups: &[usize]) -> Vec<f64> {
    let n = labels.len() as f64;
    let mut by_class: BTreeMap<usize, f64> = BTreeMap::new();
    let mut by_group: BTreeMap<usize, f64> = BTreeMap::new();
    let mut by_cell: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    for (&c, &g) in labels.iter().zip(groups) {
        *by_class.entry(c).or_default() += 1.0;
        *by_group.entry(g).or_default() += 1.0;
        *by_cell.entry((g, c)).or_default() += 1.0;
    }
    labels
        .iter()
        .zip(groups)
        .map(|(c, g)| by_group[g] * by_class[c] / (n * by_cell[&(*g, *c)]))
        .collect()
}

/// One epoch of weighted instance sampling: `n` draws with replacement, item `i` with
/// probability proportional to `weights[i]`, cut into batches like [`instance_batches`].
pub fn weighted_batches(
    weights: &WeightedIndex<f64>,
    n: usize,
    batch_size: usize,
    rng: &mut impl Rng,
) -> Vec<Vec<usize>> {
    let order: Vec<usize> = (0..n).map(|_| weights.sample(rng)).collect();
    order
        .chunks(batch_size.max(1))
        .filter(|c| c.len() > 1)
        .map(|c| c.to_vec())
        .collect()
}

/// The weighted-index distribution of `weights`, with an error naming the problem.
pub fn weighted_index(weights: &[f64]) -> Result<WeightedIndex<f64>> {
    WeightedIndex::new(weights)
        .map_err(|e| Error::data(format!("cannot sample training items by weight: {e}")))
}

/// Class-balanced sampling: each draw picks a class uniformly among the classes present,
/// then one of its items, uniformly or (with [`BalancedSampler::with_groups`]) so that
/// every group keeps its overall share within each class (with replacement).
#[derive(Debug, Clone)]
pub struct BalancedSampler {
    by_class: Vec<Vec<usize>>,
    /// Within-class item weights, when groups are decorrelated from classes.
    within: Option<Vec<WeightedIndex<f64>>>,
}

impl BalancedSampler {
    /// A sampler over items with these labels (labels below `n_classes`).
    pub fn new(labels: &[usize], n_classes: usize) -> Result<Self> {
        let mut by_class = vec![Vec::new(); n_classes];
        for (i, &l) in labels.iter().enumerate() {
            by_class
                .get_mut(l)
                .ok_or(Error::Label {
                    label: l,
                    n_classes,
                })?
                .push(i);
        }
        by_class.retain(|c| !c.is_empty());
        if by_class.is_empty() {
            return Err(Error::data(
                "class-balanced sampling needs at least one training example",
            ));
        }
        Ok(Self {
            by_class,
            within: None,
        })
    }

    /// Class-balanced sampling in which, within each class, group `g` is drawn with its
    /// overall share `P(g)` rather than its share in that class: item `i` of class `c` weighs
    /// `P(g_i) / n(g_i, c)`. A group absent from a class cannot be drawn there; the others'
    /// weights are renormalised.
    pub fn with_groups(labels: &[usize], groups: &[usize], n_classes: usize) -> Result<Self> {
        if labels.len() != groups.len() {
            return Err(Error::data(format!(
                "{} labels but {} group ids",
                labels.len(),
                groups.len()
            )));
        }
        let mut sampler = Self::new(labels, n_classes)?;
        let mut by_group: BTreeMap<usize, f64> = BTreeMap::new();
        let mut by_cell: BTreeMap<(usize, usize), f64> = BTreeMap::new();
        for (&c, &g) in labels.iter().zip(groups) {
            *by_group.entry(g).or_default() += 1.0;
            *by_cell.entry((g, c)).or_default() += 1.0;
        }
        let within = sampler
            .by_class
            .iter()
            .map(|items| {
                let w: Vec<f64> = items
                    .iter()
                    .map(|&i| by_group[&groups[i]] / by_cell[&(groups[i], labels[i])])
                    .collect();
                weighted_index(&w)
            })
            .collect::<Result<Vec<_>>>()?;
        sampler.within = Some(within);
        Ok(sampler)
    }

    /// Draws `size` item indices.
    pub fn batch(&self, size: usize, rng: &mut impl Rng) -> Vec<usize> {
        (0..size)
            .map(|_| {
                let k = rng.random_range(0..self.by_class.len());
                let class = &self.by_class[k];
                match &self.within {
                    Some(w) => class[w[k].sample(rng)],
                    None => class[rng.random_range(0..class.len())],
                }
            })
            .collect()
    }
}

/// Naive oversampling: every item once, plus seeded duplicates of the items of each smaller
/// class until it has as many as the largest (whole copies first, then a random remainder
/// without replacement). Returns item indices.
pub fn oversample(labels: &[usize], n_classes: usize, rng: &mut impl Rng) -> Result<Vec<usize>> {
    let mut by_class = vec![Vec::new(); n_classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class
            .get_mut(l)
            .ok_or(Error::Label {
                label: l,
                n_classes,
            })?
            .push(i);
    }
    let target = by_class.iter().map(Vec::len).max().unwrap_or(0);
    let mut out: Vec<usize> = (0..labels.len()).collect();
    for items in by_class.iter().filter(|c| !c.is_empty()) {
        let missing = target - items.len();
        for _ in 0..missing / items.len() {
            out.extend_from_slice(items);
        }
        let mut rest = items.clone();
        rest.shuffle(rng);
        out.extend_from_slice(&rest[..missing % items.len()]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use auscult_experiment::seeded_rng;

    #[test]
    fn instance_batches_cover_every_item_once_and_are_seeded() {
        let b = instance_batches(10, 4, &mut seeded_rng(1, 0));
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 4, 2]);
        let mut all: Vec<usize> = b.concat();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_eq!(b, instance_batches(10, 4, &mut seeded_rng(1, 0)));
        assert_ne!(b, instance_batches(10, 4, &mut seeded_rng(2, 0)));
        // A single leftover item is dropped.
        assert_eq!(instance_batches(9, 4, &mut seeded_rng(1, 0)).len(), 2);
    }

    #[test]
    fn balanced_sampler_draws_classes_uniformly() {
        // 90 items of class 0, 9 of class 1, 1 of class 3 (class 2 absent).
        let mut labels = vec![0; 90];
        labels.extend(vec![1; 9]);
        labels.push(3);
        let s = BalancedSampler::new(&labels, 4).unwrap();
        let mut rng = seeded_rng(5, 0);
        let mut counts = [0usize; 4];
        let draws = s.batch(30000, &mut rng);
        for i in draws {
            counts[labels[i]] += 1;
        }
        assert_eq!(counts[2], 0);
        for c in [0, 1, 3] {
            assert!(
                (counts[c] as f64 / 30000.0 - 1.0 / 3.0).abs() < 0.015,
                "{counts:?}"
            );
        }
        assert!(BalancedSampler::new(&[], 2).is_err());
        assert!(BalancedSampler::new(&[5], 2).is_err());
    }

    #[test]
    fn decorrelation_makes_group_independent_of_label() {
        // Group 1 (a "device") is 80% class 1; group 0 is 10% class 1.
        let mut labels = vec![0; 90];
        labels.extend(vec![1; 10]);
        let mut groups = vec![0; 100];
        labels.extend([0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
        groups.extend(vec![1; 10]);
        let w = decorrelation_weights(&labels, &groups);
        let total: f64 = w.iter().sum();
        // Marginals kept: the weights sum to n and each class keeps its share.
        assert!((total - 110.0).abs() < 1e-9);
        let mut cell = [[0.0f64; 2]; 2];
        for ((&c, &g), &wi) in labels.iter().zip(&groups).zip(&w) {
            cell[g][c] += wi / total;
        }
        let p_c1 = 18.0 / 110.0;
        let p_g1 = 10.0 / 110.0;
        assert!((cell[1][1] - p_g1 * p_c1).abs() < 1e-12, "{cell:?}");
        assert!((cell[0][1] - (1.0 - p_g1) * p_c1).abs() < 1e-12, "{cell:?}");
        // Drawn: group 1 is abnormal at the overall rate, not at 80%.
        let idx = weighted_index(&w).unwrap();
        let draws = weighted_batches(&idx, 40000, 40000, &mut seeded_rng(3, 0)).concat();
        let (g1, g1c1) = draws.iter().fold((0, 0), |(a, b), &i| {
            (
                a + groups[i],
                b + (groups[i] == 1 && labels[i] == 1) as usize,
            )
        });
        assert!((g1c1 as f64 / g1 as f64 - p_c1).abs() < 0.03, "{g1c1}/{g1}");

        // Class-balanced with groups: within class 1, group 1 is drawn at P(g1), not 8/18.
        let s = BalancedSampler::with_groups(&labels, &groups, 2).unwrap();
        let draws = s.batch(40000, &mut seeded_rng(4, 0));
        let c1: Vec<usize> = draws.into_iter().filter(|&i| labels[i] == 1).collect();
        let share = c1.iter().filter(|&&i| groups[i] == 1).count() as f64 / c1.len() as f64;
        assert!((share - p_g1).abs() < 0.02, "{share}");
        assert!(BalancedSampler::with_groups(&labels, &groups[1..], 2).is_err());
    }

    #[test]
    fn oversampling_equalises_class_counts() {
        let labels = [0, 0, 0, 0, 0, 0, 0, 1, 1, 2];
        let idx = oversample(&labels, 3, &mut seeded_rng(0, 0)).unwrap();
        let mut counts = [0; 3];
        for &i in &idx {
            counts[labels[i]] += 1;
        }
        assert_eq!(counts, [7, 7, 7]);
        // Class 1's two items: 3 whole extra copies + 1 of the two at random -> 4 and 3.
        let c1: Vec<usize> = idx.iter().filter(|&&i| labels[i] == 1).copied().collect();
        let n7 = c1.iter().filter(|&&i| i == 7).count();
        assert!(n7 == 3 || n7 == 4, "{c1:?}");
    }
}
