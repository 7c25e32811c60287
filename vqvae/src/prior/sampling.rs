//! Sampling code grids from the prior: temperature, top-k and top-p (nucleus) filtering, one
//! seeded generator per sample (so a sample depends only on its own seed, not on the batch it
//! was drawn in), with or without the key/value cache.

use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::prior::network::{KvCache, Prior};
use crate::retired::Retired;
use crate::{Error, Result};

/// How to turn the prior's logits into a code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SamplingConfig {
    /// Divides the logits; 1 samples the model's distribution, lower is more conservative,
    /// 0 is greedy (argmax).
    pub temperature: f32,
    /// Keep only the `k` most likely codes.
    pub top_k: Option<usize>,
    /// Keep the smallest set of most likely codes whose probability reaches `p`.
    pub top_p: Option<f32>,
    /// Removed: classifier-free guidance (it did not help); read as null from older requests.
    #[doc(hidden)]
    #[serde(
        rename = "guidance",
        deserialize_with = "Retired::null",
        skip_serializing
    )]
    pub retired_guidance: Retired,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        Self {
            temperature: 1.0,
            top_k: None,
            top_p: None,
            retired_guidance: Retired,
        }
    }
}

impl SamplingConfig {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(Error::config(
                "temperature",
                format!("must be a finite number >= 0, got {}", self.temperature),
            ));
        }
        if self.top_k == Some(0) {
            return Err(Error::config("top_k", "must be at least 1"));
        }
        if let Some(p) = self.top_p
            && !(p > 0.0 && p <= 1.0)
        {
            return Err(Error::config(
                "top_p",
                format!("must lie in (0, 1], got {p}"),
            ));
        }
        Ok(())
    }

    /// Draws one index from `logits` (one row) with `rng`.
    pub fn sample(&self, logits: &[f32], rng: &mut ChaCha8Rng) -> usize {
        let u: f64 = rng.random();
        self.pick(logits, u)
    }

    /// The index that the uniform draw `u` in `[0, 1)` selects after filtering.
    fn pick(&self, logits: &[f32], u: f64) -> usize {
        if logits.is_empty() {
            return 0;
        }
        // Order by decreasing logit, ties by index, so that filtering is deterministic.
        let mut order: Vec<usize> = (0..logits.len()).collect();
        order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
        if self.temperature == 0.0 {
            return order[0];
        }
        let t = f64::from(self.temperature);
        let max = f64::from(logits[order[0]]);
        let mut probs: Vec<f64> = order
            .iter()
            .map(|&i| ((f64::from(logits[i]) - max) / t).exp())
            .collect();
        let mut keep = probs.len();
        if let Some(k) = self.top_k {
            keep = keep.min(k);
        }
        let total: f64 = probs[..keep].iter().sum();
        if let Some(p) = self.top_p {
            let mut acc = 0.0;
            for (i, q) in probs[..keep].iter().enumerate() {
                acc += q / total;
                if acc >= f64::from(p) {
                    keep = i + 1;
                    break;
                }
            }
        }
        probs.truncate(keep);
        let total: f64 = probs.iter().sum();
        let target = u * total;
        let mut acc = 0.0;
        for (i, q) in probs.iter().enumerate() {
            acc += q;
            if target < acc {
                return order[i];
            }
        }
        order[keep - 1]
    }
}

/// Samples one code grid per entry of `classes`, the `i`-th drawn with a generator seeded by
/// `seeds[i]`.
///
/// With `use_cache` each position costs one step of the Transformer over the cached keys and
/// values; without it every position recomputes the whole prefix (kept as the reference the
/// cache is tested and benchmarked against). Both give the same codes for the same seeds.
///
/// Returns `classes.len()` sequences of `prior.seq_len()` codes, in raster order.
pub fn sample_codes(
    prior: &Prior,
    classes: &[usize],
    seeds: &[u64],
    cfg: &SamplingConfig,
    use_cache: bool,
    device: &Device,
) -> Result<Vec<Vec<usize>>> {
    sample_codes_planned(prior, classes, &[], seeds, cfg, use_cache, device)
}

/// [`sample_codes`] for a prior that takes a cycle plan (`plan_tokens`):
/// `plans[i]` (`seq_len` tokens) tells sequence `i` where its cycle lies. `plans` must be
/// empty for a prior without a plan, and given for one with.
pub fn sample_codes_planned(
    prior: &Prior,
    classes: &[usize],
    plans: &[Vec<usize>],
    seeds: &[u64],
    cfg: &SamplingConfig,
    use_cache: bool,
    device: &Device,
) -> Result<Vec<Vec<usize>>> {
    cfg.validate()?;
    let columns = prior.plan_columns();
    if (columns > 0) == plans.is_empty() {
        return Err(Error::config(
            "plan",
            if columns > 0 {
                "this prior was trained with a cycle plan and needs one per sample".to_string()
            } else {
                "this prior was trained without a cycle plan; sample it without one".to_string()
            },
        ));
    }
    if !plans.is_empty()
        && (plans.len() != classes.len()
            || plans.iter().any(|p| {
                p.len() != prior.seq_len() || p.iter().any(|&t| t >= prior.plan_vocabulary())
            }))
    {
        return Err(Error::Shape {
            what: "cycle plans",
            expected: vec![classes.len(), prior.seq_len()],
            actual: vec![plans.len(), plans.first().map_or(0, Vec::len)],
        });
    }
    if classes.len() != seeds.len() {
        return Err(Error::Shape {
            what: "sampling seeds",
            expected: vec![classes.len()],
            actual: vec![seeds.len()],
        });
    }
    let b = classes.len();
    if b == 0 {
        return Ok(Vec::new());
    }
    let rows = b;
    let n = prior.seq_len();
    let mut rngs: Vec<ChaCha8Rng> = seeds
        .iter()
        .map(|&s| auscult_experiment::seeded_rng(s, SAMPLING_STREAM))
        .collect();
    let class_ids: Vec<i64> = classes.iter().map(|&c| c as i64).collect();
    let class_t = Tensor::<1, Int>::from_data(TensorData::new(class_ids, [rows]), device);
    // Row r follows the plan of sequence r.
    let plan_at = |t: usize| -> Option<Tensor<1, Int>> {
        (!plans.is_empty()).then(|| {
            let col: Vec<i64> = (0..rows).map(|r| plans[r][t] as i64).collect();
            Tensor::<1, Int>::from_data(TensorData::new(col, [rows]), device)
        })
    };
    let plan_all = (!plans.is_empty()).then(|| {
        let flat: Vec<i64> = (0..rows)
            .flat_map(|r| plans[r].iter().map(|&x| x as i64))
            .collect();
        Tensor::<2, Int>::from_data(TensorData::new(flat, [rows, n]), device)
    });
    // Row r of the model's batch continues sequence r.
    let seq_of = |r: usize| r;
    let mut out: Vec<Vec<usize>> = vec![Vec::with_capacity(n); b];
    let mut cache = KvCache::default();
    for t in 0..n {
        let logits = if use_cache {
            let prev = (t > 0).then(|| {
                let last: Vec<i64> = (0..rows).map(|r| out[seq_of(r)][t - 1] as i64).collect();
                Tensor::<1, Int>::from_data(TensorData::new(last, [rows]), device)
            });
            prior.step(class_t.clone(), prev, plan_at(t), &mut cache)
        } else {
            let prefix = (t > 0).then(|| {
                let flat: Vec<i64> = (0..rows)
                    .flat_map(|r| out[seq_of(r)].iter().map(|&c| c as i64))
                    .collect();
                Tensor::<2, Int>::from_data(TensorData::new(flat, [rows, t]), device)
            });
            let all = prior.forward(class_t.clone(), prefix, plan_all.clone(), None);
            let [_, _, v] = all.dims();
            all.slice([0..rows, t..t + 1, 0..v]).reshape([rows, v])
        };
        let [_, v] = logits.dims();
        let values: Vec<f32> = logits.try_into_vec_as::<f32>().map_err(Error::tensor)?;
        for (row, (seq, rng)) in out.iter_mut().zip(rngs.iter_mut()).enumerate() {
            seq.push(cfg.sample(&values[row * v..(row + 1) * v], rng));
        }
    }
    Ok(out)
}

/// Random stream used for sampling (see [`auscult_experiment::seeded_rng`]).
const SAMPLING_STREAM: u64 = 7;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prior::network::PriorConfig;

    #[test]
    fn filters_by_hand() {
        let logits = [0.0f32, 2.0, 1.0, -1.0];
        let greedy = SamplingConfig {
            temperature: 0.0,
            ..Default::default()
        };
        assert_eq!(greedy.pick(&logits, 0.99), 1);
        let top1 = SamplingConfig {
            top_k: Some(1),
            ..Default::default()
        };
        for u in [0.0, 0.5, 0.999] {
            assert_eq!(top1.pick(&logits, u), 1);
        }
        // softmax(2, 1, 0, -1) = (0.644, 0.237, 0.087, 0.032): top-p 0.8 keeps {1, 2}.
        let nucleus = SamplingConfig {
            top_p: Some(0.8),
            ..Default::default()
        };
        let p1 = 1.0 / (1.0 + (-1f64).exp()); // 0.731 within the kept pair
        assert_eq!(nucleus.pick(&logits, p1 - 1e-3), 1);
        assert_eq!(nucleus.pick(&logits, p1 + 1e-3), 2);
        assert_eq!(nucleus.pick(&logits, 0.9999), 2);
        let plain = SamplingConfig::default();
        assert_eq!(plain.pick(&logits, 0.999), 3);
        assert!(
            SamplingConfig {
                top_p: Some(1.5),
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            SamplingConfig {
                temperature: -1.0,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
    }

    /// A tiny prior over 12 codes of 11 values, 2 classes.
    fn tiny_prior() -> PriorConfig {
        PriorConfig {
            vocab_size: 11,
            num_classes: 2,
            seq_len: 12,
            d_model: 16,
            n_heads: 2,
            n_layers: 2,
            d_ff: 32,
            dropout: 0.0,
            plan_columns: 0,
            tone_tokens: 0,
            ..PriorConfig::default()
        }
    }

    #[test]
    fn same_seed_same_codes_with_and_without_cache() {
        let device = Device::flex();
        let cfg = tiny_prior();
        let prior = cfg.init(&device).unwrap();
        let sc = SamplingConfig {
            temperature: 1.0,
            top_k: Some(8),
            top_p: Some(0.95),
            ..SamplingConfig::default()
        };
        let classes = [0, 1, 1];
        let seeds = [10, 11, 12];
        let a = sample_codes(&prior, &classes, &seeds, &sc, true, &device).unwrap();
        let b = sample_codes(&prior, &classes, &seeds, &sc, true, &device).unwrap();
        let c = sample_codes(&prior, &classes, &seeds, &sc, false, &device).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a[0].len(), 12);
        // A sample depends on its own seed only, not on its batch.
        let alone = sample_codes(&prior, &[1], &[12], &sc, true, &device).unwrap();
        assert_eq!(alone[0], a[2]);
        // Different seeds differ.
        assert_ne!(a[1], a[2]);
    }

    #[test]
    fn planned_sampling_is_cached_like_uncached_and_checks_its_plans() {
        let device = Device::flex();
        let cfg = PriorConfig {
            plan_columns: 4,
            ..tiny_prior()
        };
        let prior = cfg.init(&device).unwrap();
        let sc = SamplingConfig::default();
        let plans = vec![
            crate::plan::cycle::plan_tokens(4, 12, 1..3),
            crate::plan::cycle::plan_tokens(4, 12, 0..4),
        ];
        let run = |plans: &[Vec<usize>], cache: bool| {
            sample_codes_planned(&prior, &[0, 1], plans, &[5, 6], &sc, cache, &device)
        };
        let a = run(&plans, true).unwrap();
        assert_eq!(a, run(&plans, false).unwrap());
        assert_eq!(a[0].len(), 12);
        // The plan matters: the same seeds under another plan give other codes.
        let other = vec![plans[1].clone(), plans[0].clone()];
        assert_ne!(a, run(&other, true).unwrap());
        // A planned prior needs plans; a plan-less one takes none; plans must fit.
        assert!(run(&[], true).is_err());
        assert!(run(&plans[..1], true).is_err());
        let plain = tiny_prior().init(&device).unwrap();
        assert!(
            sample_codes_planned(&plain, &[0, 1], &plans, &[5, 6], &sc, true, &device).is_err()
        );
    }

    #[test]
    fn older_requests_with_guidance_null_still_read() {
        let old: SamplingConfig =
            serde_json::from_str(r#"{"temperature": 0.8, "guidance": null}"#).unwrap();
        assert_eq!(old.temperature, 0.8);
        assert_eq!(
            serde_json::to_value(&old).unwrap(),
            serde_json::json!({"temperature": 0.800000011920929, "top_k": null, "top_p": null})
        );
        let err = serde_json::from_str::<SamplingConfig>(r#"{"guidance": 2.0}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("guidance"), "{err}");
        assert!(serde_json::from_str::<SamplingConfig>(r#"{"temprature": 1.0}"#).is_err());
    }
}
