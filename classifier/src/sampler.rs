//! Seeded batch samplers: instance sampling (a shuffled pass over the data), class-balanced
//! sampling (class uniform, then an item of it uniformly, with replacement) and naive
//! oversampling (duplicating minority-class items up to the majority count).

use rand::Rng;
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

/// Class-balanced sampling: each draw picks a class uniformly among the classes present,
/// then one of its items uniformly (with replacement).
#[derive(Debug, Clone)]
pub struct BalancedSampler {
    by_class: Vec<Vec<usize>>,
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
        Ok(Self { by_class })
    }

    /// Draws `size` item indices.
    pub fn batch(&self, size: usize, rng: &mut impl Rng) -> Vec<usize> {
        (0..size)
            .map(|_| {
                let class = &self.by_class[rng.random_range(0..self.by_class.len())];
                class[rng.random_range(0..class.len())]
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
