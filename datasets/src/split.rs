//! Patient-disjoint splits: the official ICBHI split, seeded stratified folds, and the
//! validation carve-out from training patients.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which examples go to training and which to test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SplitSpec {
    /// The dataset's own split: ICBHI's `ICBHI_challenge_train_test.txt` (60/40,
    /// patient-disjoint), or `train/`, `val/`, `test/` folders of a folder corpus.
    #[default]
    Official,
    /// `k` patient-disjoint folds, stratified by class as far as patients allow; fold `index`
    /// is the test set, the others train. The same `seed` gives the same folds.
    Fold {
        /// Number of folds (>= 2).
        k: usize,
        /// The test fold (< k).
        index: usize,
        /// Seed of the fold assignment.
        seed: u64,
    },
    /// Cross-validation on the dataset's own training patients: the official test split is
    /// left out entirely, and `k` patient-disjoint folds are drawn from the training patients
    /// as [`SplitSpec::Fold`] draws them from all; fold `index` is the test set. This is the
    /// split for choosing settings without looking at the official test split. A dataset
    /// without an official split uses all its patients.
    Cv {
        /// Number of folds (>= 2).
        k: usize,
        /// The held-out fold (< k).
        index: usize,
        /// Seed of the fold assignment.
        seed: u64,
    },
    /// Everything is training data (test is empty).
    All,
}

impl SplitSpec {
    /// The folds `(k, index, seed)` of a [`SplitSpec::Fold`] or [`SplitSpec::Cv`] split.
    pub fn folds(&self) -> Option<(usize, usize, u64)> {
        match *self {
            Self::Fold { k, index, seed } | Self::Cv { k, index, seed } => Some((k, index, seed)),
            Self::Official | Self::All => None,
        }
    }

    /// Checks `k >= 2` and `index < k` for folds.
    pub fn validate(&self) -> Result<()> {
        if let Some((k, index, _)) = self.folds() {
            if k < 2 {
                return Err(Error::InvalidConfig {
                    field: "split.k",
                    reason: format!("{k} folds; use at least 2"),
                });
            }
            if index >= k {
                return Err(Error::InvalidConfig {
                    field: "split.index",
                    reason: format!("fold {index} does not exist; use 0..{k}"),
                });
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for SplitSpec {
    /// The form [`SplitSpec::from_str`](std::str::FromStr) reads: `official`, `all`,
    /// `fold:K:INDEX:SEED`, `cv:K:INDEX:SEED`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Official => f.write_str("official"),
            Self::All => f.write_str("all"),
            Self::Fold { k, index, seed } => write!(f, "fold:{k}:{index}:{seed}"),
            Self::Cv { k, index, seed } => write!(f, "cv:{k}:{index}:{seed}"),
        }
    }
}

impl std::str::FromStr for SplitSpec {
    type Err = String;

    /// Parses `official`, `all`, `fold:K:INDEX[:SEED]` or `cv:K:INDEX[:SEED]` (seed 0 when
    /// omitted).
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        let err = || {
            format!(
                "unknown split `{s}`: expected official, all, fold:K:INDEX[:SEED] or cv:K:INDEX[:SEED]"
            )
        };
        match s.as_str() {
            "official" => Ok(Self::Official),
            "all" => Ok(Self::All),
            _ => {
                let parts: Vec<&str> = s.split(':').collect();
                if !(parts.len() == 3 || parts.len() == 4) || !matches!(parts[0], "fold" | "cv") {
                    return Err(err());
                }
                let k = parts[1].parse().map_err(|_| err())?;
                let index = parts[2].parse().map_err(|_| err())?;
                let seed = match parts.get(3) {
                    Some(x) => x.parse().map_err(|_| err())?,
                    None => 0,
                };
                let spec = if parts[0] == "cv" {
                    Self::Cv { k, index, seed }
                } else {
                    Self::Fold { k, index, seed }
                };
                spec.validate().map_err(|e| e.to_string())?;
                Ok(spec)
            }
        }
    }
}

/// Assigns groups (patients) to bins with target `fractions`, keeping every class's share in
/// each bin close to the bin's fraction as far as whole groups allow.
///
/// `counts[g][c]` is the number of items of class `c` in group `g`. Groups are visited
/// largest first (ties broken by a `seed`ed shuffle) and each goes to the bin whose placement
/// minimises the squared relative deviation from the targets, summed over bins and classes,
/// plus the same for the number of groups per bin. A bin with a positive fraction that ends
/// up empty takes the smallest group of the fullest bin, when that bin has more than one.
/// Returns the bin of each group; the same inputs and seed always give the same answer.
pub fn assign_groups(counts: &[Vec<usize>], fractions: &[f64], seed: u64) -> Vec<usize> {
    let n_bins = fractions.len();
    if n_bins == 0 || counts.is_empty() {
        return vec![0; counts.len()];
    }
    let n_classes = counts.iter().map(Vec::len).max().unwrap_or(0);
    let sum_f: f64 = fractions.iter().map(|f| f.max(0.0)).sum();
    let frac: Vec<f64> = fractions
        .iter()
        .map(|f| {
            if sum_f > 0.0 {
                f.max(0.0) / sum_f
            } else {
                1.0 / n_bins as f64
            }
        })
        .collect();
    let mut totals = vec![0usize; n_classes];
    for g in counts {
        for (c, &n) in g.iter().enumerate() {
            totals[c] += n;
        }
    }
    let n_groups = counts.len();

    let mut order: Vec<usize> = (0..n_groups).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    order.shuffle(&mut rng);
    // Rare-class content first, then size: the hardest groups to balance are placed first.
    let weight = |g: usize| -> f64 {
        counts[g]
            .iter()
            .enumerate()
            .map(|(c, &n)| n as f64 / totals[c].max(1) as f64)
            .sum()
    };
    order.sort_by(|&a, &b| weight(b).total_cmp(&weight(a)));

    let mut bin_counts = vec![vec![0usize; n_classes]; n_bins];
    let mut bin_groups = vec![0usize; n_bins];
    let mut assignment = vec![0usize; n_groups];
    let cost = |bin_counts: &[Vec<usize>], bin_groups: &[usize]| -> f64 {
        let mut e = 0.0;
        for b in 0..n_bins {
            for c in 0..n_classes {
                let t = totals[c].max(1) as f64;
                let d = (bin_counts[b][c] as f64 - frac[b] * totals[c] as f64) / t;
                e += d * d;
            }
            let d = (bin_groups[b] as f64 - frac[b] * n_groups as f64) / n_groups as f64;
            e += d * d;
        }
        e
    };
    for &g in &order {
        let mut best = (f64::INFINITY, 0usize);
        for b in 0..n_bins {
            for (c, &n) in counts[g].iter().enumerate() {
                bin_counts[b][c] += n;
            }
            bin_groups[b] += 1;
            let e = cost(&bin_counts, &bin_groups);
            for (c, &n) in counts[g].iter().enumerate() {
                bin_counts[b][c] -= n;
            }
            bin_groups[b] -= 1;
            if e < best.0 - 1e-12 {
                best = (e, b);
            }
        }
        let b = best.1;
        for (c, &n) in counts[g].iter().enumerate() {
            bin_counts[b][c] += n;
        }
        bin_groups[b] += 1;
        assignment[g] = b;
    }
    // No bin that should hold data stays empty while another has groups to spare.
    for b in 0..n_bins {
        if frac[b] <= 0.0 || bin_groups[b] > 0 {
            continue;
        }
        let Some(donor) = (0..n_bins)
            .filter(|&d| bin_groups[d] > 1)
            .max_by_key(|&d| bin_groups[d])
        else {
            continue;
        };
        let smallest = (0..n_groups)
            .filter(|&g| assignment[g] == donor)
            .min_by_key(|&g| (counts[g].iter().sum::<usize>(), g));
        if let Some(g) = smallest {
            assignment[g] = b;
            bin_groups[donor] -= 1;
            bin_groups[b] += 1;
        }
    }
    assignment
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_specs_parse_and_validate() {
        for s in ["official", "all", "fold:5:0:7", "cv:4:3:0"] {
            assert_eq!(s.parse::<SplitSpec>().unwrap().to_string(), s);
        }
        assert_eq!("official".parse::<SplitSpec>(), Ok(SplitSpec::Official));
        assert_eq!("ALL".parse::<SplitSpec>(), Ok(SplitSpec::All));
        assert_eq!(
            "fold:5:2:7".parse::<SplitSpec>(),
            Ok(SplitSpec::Fold {
                k: 5,
                index: 2,
                seed: 7
            })
        );
        assert_eq!(
            "fold:5:0".parse::<SplitSpec>(),
            Ok(SplitSpec::Fold {
                k: 5,
                index: 0,
                seed: 0
            })
        );
        assert_eq!(
            "cv:4:3:9".parse::<SplitSpec>(),
            Ok(SplitSpec::Cv {
                k: 4,
                index: 3,
                seed: 9
            })
        );
        assert_eq!(
            "cv:4:1".parse::<SplitSpec>().map(|s| s.folds()),
            Ok(Some((4, 1, 0)))
        );
        assert!("cv:4:4".parse::<SplitSpec>().is_err());
        assert_eq!(SplitSpec::Official.folds(), None);
        assert!("fold:5:5".parse::<SplitSpec>().is_err());
        assert!("fold:1:0".parse::<SplitSpec>().is_err());
        assert!("random".parse::<SplitSpec>().is_err());
        let json = serde_json::to_string(&SplitSpec::Fold {
            k: 5,
            index: 1,
            seed: 3,
        })
        .unwrap();
        assert_eq!(json, r#"{"kind":"fold","k":5,"index":1,"seed":3}"#);
    }

    #[test]
    fn folds_are_deterministic_balanced_and_stratified() {
        // 40 patients; a quarter carry the rare class.
        let counts: Vec<Vec<usize>> = (0..40)
            .map(|i| {
                vec![
                    3 + i % 5,
                    (i % 3 == 0) as usize * 4,
                    (i % 4 == 1) as usize * 2,
                ]
            })
            .collect();
        let a = assign_groups(&counts, &[0.2; 5], 11);
        assert_eq!(a, assign_groups(&counts, &[0.2; 5], 11));
        assert_ne!(a, assign_groups(&counts, &[0.2; 5], 12));
        for fold in 0..5 {
            let members: Vec<usize> = (0..40).filter(|&g| a[g] == fold).collect();
            assert!(
                (7..=9).contains(&members.len()),
                "fold {fold}: {}",
                members.len()
            );
            for c in 0..3 {
                let total: usize = counts.iter().map(|g| g[c]).sum();
                let here: usize = members.iter().map(|&g| counts[g][c]).sum();
                let share = here as f64 / total as f64;
                assert!((share - 0.2).abs() < 0.06, "fold {fold} class {c}: {share}");
            }
        }
    }

    #[test]
    fn a_small_validation_bin_is_never_left_empty() {
        let counts = vec![vec![10, 0], vec![9, 1], vec![30, 5]];
        let a = assign_groups(&counts, &[0.95, 0.05], 0);
        assert_eq!(a.iter().filter(|&&b| b == 1).count(), 1);
        assert_eq!(assign_groups(&[vec![3]], &[0.9, 0.1], 0), vec![0]);
        assert!(assign_groups(&[], &[0.5, 0.5], 0).is_empty());
    }
}
