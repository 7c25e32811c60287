//! The prior: a decoder-only Transformer over VQ-VAE code indices.
//!
//! Pre-norm blocks (`x + attn(LN(x))`, `x + mlp(LN(x))`), causal multi-head self-attention (a
//! fused kernel on the CPU; keys and values cached while sampling), learned positional
//! embeddings over the code grid flattened in raster order, and the class as a prefix token:
//! position 0 holds the class embedding and predicts code 0; position `i > 0` holds code `i - 1`
//! and predicts code `i`. The loss is the cross-entropy of the next code.

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::kernels::{attend, causal_attention, gelu, split_heads};
use crate::retired::Retired;
use crate::{Error, Result};

/// Architecture of the prior (saved in the prior's `config.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PriorConfig {
    /// Number of codes K (filled in from the VQ-VAE).
    pub vocab_size: usize,
    /// Number of classes (filled in from the VQ-VAE).
    pub num_classes: usize,
    /// Codes per example (filled in from the VQ-VAE's grid).
    pub seq_len: usize,
    /// Width of the residual stream.
    pub d_model: usize,
    /// Attention heads (must divide `d_model`).
    pub n_heads: usize,
    /// Transformer blocks.
    pub n_layers: usize,
    /// Hidden width of the feed-forward layers.
    pub d_ff: usize,
    /// Dropout probability on the residual branches and embeddings while training.
    pub dropout: f64,
    /// Time columns of the code grid over which the prior is told where the breathing cycle
    /// lies (its *plan*, see `plan_tokens`), or 0 for no plan (also what configs written
    /// before this field existed read as). With cycles centred in silence (see
    /// `plan::cycle`) a prior without a plan rarely ended its cycles: it had to decide the
    /// length one code at a time, and ran on into the silence.
    #[serde(default)]
    pub plan_columns: usize,
    /// Tone tokens folded into the plan (see `plan::tone`), or 0 for none (also what
    /// configs written before this field existed read as). A plan token is then
    /// `cycle + (plan_columns + 2) * tone`, and the prior adds a learned embedding of each
    /// part. Needs `plan_columns > 0`.
    #[serde(default)]
    pub tone_tokens: usize,
    /// Removed: class dropout for classifier-free guidance (on the demo corpus 0.1 cost 0.06
    /// bits/code and guidance up to 3 did not measurably sharpen the samples). Older configs
    /// read as 0; a prior trained with it cannot be loaded.
    #[doc(hidden)]
    #[serde(
        rename = "class_dropout",
        deserialize_with = "Retired::zero",
        skip_serializing
    )]
    pub retired_class_dropout: Retired,
}

impl Default for PriorConfig {
    fn default() -> Self {
        Self {
            vocab_size: 256,
            num_classes: 4,
            seq_len: 256,
            d_model: 128,
            n_heads: 4,
            n_layers: 3,
            d_ff: 512,
            dropout: 0.1,
            plan_columns: 0,
            tone_tokens: 0,
            retired_class_dropout: Retired,
        }
    }
}

impl PriorConfig {
    /// A larger prior for a GPU: d_model 256, 8 heads, 6 layers.
    pub fn gpu() -> Self {
        Self {
            d_model: 256,
            n_heads: 8,
            n_layers: 6,
            d_ff: 1024,
            ..Self::default()
        }
    }

    /// Checks that the sizes are usable.
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("vocab_size", self.vocab_size),
            ("num_classes", self.num_classes),
            ("seq_len", self.seq_len),
            ("d_model", self.d_model),
            ("n_heads", self.n_heads),
            ("d_ff", self.d_ff),
        ] {
            if v == 0 {
                return Err(Error::config(field, "must be at least 1"));
            }
        }
        if !self.d_model.is_multiple_of(self.n_heads) {
            return Err(Error::config(
                "n_heads",
                format!(
                    "must divide d_model ({}), got {}",
                    self.d_model, self.n_heads
                ),
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::config("dropout", "must lie in [0, 1)"));
        }
        if self.plan_columns > 0 && !self.seq_len.is_multiple_of(self.plan_columns) {
            return Err(Error::config(
                "plan_columns",
                format!(
                    "must divide seq_len ({}), got {}",
                    self.seq_len, self.plan_columns
                ),
            ));
        }
        if self.tone_tokens > 0 && self.plan_columns == 0 {
            return Err(Error::config(
                "tone_tokens",
                "a tone plan needs a cycle plan (plan_columns > 0)",
            ));
        }
        Ok(())
    }

    /// Builds the prior on `device`.
    pub fn init(&self, device: &Device) -> Result<Prior> {
        self.validate()?;
        let d = self.d_model;
        Ok(Prior {
            code_embedding: EmbeddingConfig::new(self.vocab_size, d).init(device),
            class_embedding: EmbeddingConfig::new(self.num_classes, d).init(device),
            position: EmbeddingConfig::new(self.seq_len, d).init(device),
            plan: (self.plan_columns > 0)
                .then(|| EmbeddingConfig::new(self.plan_columns + 2, d).init(device)),
            plan_columns: self.plan_columns,
            tone: (self.tone_tokens > 0 && self.plan_columns > 0)
                .then(|| EmbeddingConfig::new(self.tone_tokens, d).init(device)),
            blocks: (0..self.n_layers)
                .map(|_| PriorBlock {
                    norm1: LayerNormConfig::new(d).init(device),
                    attention: CausalSelfAttention {
                        qkv: LinearConfig::new(d, 3 * d).init(device),
                        output: LinearConfig::new(d, d).init(device),
                        n_heads: self.n_heads,
                    },
                    norm2: LayerNormConfig::new(d).init(device),
                    ff1: LinearConfig::new(d, self.d_ff).init(device),
                    ff2: LinearConfig::new(self.d_ff, d).init(device),
                })
                .collect(),
            norm: LayerNormConfig::new(d).init(device),
            head: LinearConfig::new(d, self.vocab_size).init(device),
            seq_len: self.seq_len,
            num_classes: self.num_classes,
        })
    }
}

/// Dropout with masks drawn from a seeded host generator, so that training is reproducible
/// whatever else runs in the process.
#[derive(Debug, Clone)]
pub struct DropoutRng {
    /// Probability of zeroing an activation.
    pub prob: f64,
    /// The generator the masks come from.
    pub rng: ChaCha8Rng,
}

impl DropoutRng {
    fn apply(&mut self, x: Tensor<3>) -> Tensor<3> {
        if self.prob <= 0.0 {
            return x;
        }
        let dims = x.dims();
        let n = dims.iter().product::<usize>();
        let keep = 1.0 - self.prob;
        let scale = (1.0 / keep) as f32;
        let mask: Vec<f32> = (0..n)
            .map(|_| {
                if self.rng.random::<f64>() < keep {
                    scale
                } else {
                    0.0
                }
            })
            .collect();
        let device = x.device();
        x * Tensor::<3>::from_data(TensorData::new(mask, dims), &device)
    }
}

/// Causal multi-head self-attention with an optional key/value cache.
#[derive(Module, Debug)]
pub struct CausalSelfAttention {
    qkv: Linear,
    output: Linear,
    n_heads: usize,
}

impl CausalSelfAttention {
    /// Attention over the whole sequence, position `i` attending to positions `j <= i` (on
    /// `flex` a fused kernel with a hand-written backward pass, burn's operations elsewhere).
    ///
    /// # Shapes
    /// `x`: `[batch, time, d_model]` in and out.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let qkv = self.qkv.forward(x);
        self.output.forward(causal_attention(qkv, self.n_heads))
    }

    /// Attention of one new position over the cached keys and values plus its own, appending
    /// its key and value to `cache`.
    ///
    /// # Shapes
    /// `x`: `[batch, 1, d_model]` in and out.
    pub fn forward_cached(
        &self,
        x: Tensor<3>,
        cache: &mut Option<(Tensor<4>, Tensor<4>)>,
    ) -> Tensor<3> {
        let (q, k, v) = split_heads(self.qkv.forward(x), self.n_heads);
        let (k, v) = match cache.take() {
            Some((pk, pv)) => (Tensor::cat(vec![pk, k], 2), Tensor::cat(vec![pv, v], 2)),
            None => (k, v),
        };
        *cache = Some((k.clone(), v.clone()));
        self.output.forward(attend(q, k, v, None))
    }
}

/// One pre-norm Transformer block.
#[derive(Module, Debug)]
pub struct PriorBlock {
    norm1: LayerNorm,
    attention: CausalSelfAttention,
    norm2: LayerNorm,
    ff1: Linear,
    ff2: Linear,
}

impl PriorBlock {
    fn mlp(&self, x: Tensor<3>) -> Tensor<3> {
        self.ff2
            .forward(gelu(self.ff1.forward(self.norm2.forward(x))))
    }

    fn forward(&self, x: Tensor<3>, dropout: &mut Option<&mut DropoutRng>) -> Tensor<3> {
        let mut h = self.attention.forward(self.norm1.forward(x.clone()));
        if let Some(d) = dropout.as_deref_mut() {
            h = d.apply(h);
        }
        let x = x + h;
        let mut h = self.mlp(x.clone());
        if let Some(d) = dropout.as_deref_mut() {
            h = d.apply(h);
        }
        x + h
    }

    fn forward_cached(
        &self,
        x: Tensor<3>,
        cache: &mut Option<(Tensor<4>, Tensor<4>)>,
    ) -> Tensor<3> {
        let x = x.clone() + self.attention.forward_cached(self.norm1.forward(x), cache);
        x.clone() + self.mlp(x)
    }
}

/// The autoregressive prior over code grids.
#[derive(Module, Debug)]
pub struct Prior {
    code_embedding: Embedding,
    class_embedding: Embedding,
    position: Embedding,
    plan: Option<Embedding>,
    plan_columns: usize,
    tone: Option<Embedding>,
    blocks: Vec<PriorBlock>,
    norm: LayerNorm,
    head: Linear,
    seq_len: usize,
    num_classes: usize,
}

/// Keys and values of every layer for the positions generated so far.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    layers: Vec<Option<(Tensor<4>, Tensor<4>)>>,
    position: usize,
}

impl KvCache {
    /// Positions already processed.
    pub fn len(&self) -> usize {
        self.position
    }

    /// Whether nothing has been processed yet.
    pub fn is_empty(&self) -> bool {
        self.position == 0
    }
}

impl Prior {
    /// Codes per sequence.
    pub fn seq_len(&self) -> usize {
        self.seq_len
    }

    /// Time columns of the cycle plan, 0 when the prior takes none (see `plan_tokens`).
    pub fn plan_columns(&self) -> usize {
        if self.plan.is_some() {
            self.plan_columns
        } else {
            0
        }
    }

    /// Tone tokens of the plan ([`PriorConfig::tone_tokens`]), 0 when the prior takes none.
    pub fn tone_tokens(&self) -> usize {
        match (&self.plan, &self.tone) {
            (Some(_), Some(tone)) => tone.weight.dims()[0],
            _ => 0,
        }
    }

    /// How many distinct plan tokens the prior embeds (0 without a plan): the cycle plan's
    /// `plan_columns + 2`, times the tone tokens when it takes those.
    pub fn plan_vocabulary(&self) -> usize {
        match &self.plan {
            None => 0,
            Some(_) => (self.plan_columns + 2) * self.tone_tokens().max(1),
        }
    }

    /// The plan's embedding (`[batch, t, d_model]`) of plan tokens `[batch, t]`: the cycle
    /// part's, plus the tone part's when the prior takes one; `None` without a plan.
    fn plan_embedding(&self, plan: Tensor<2, Int>) -> Option<Tensor<3>> {
        let emb = self.plan.as_ref()?;
        Some(match &self.tone {
            Some(tone) => {
                let cycle_tokens = (self.plan_columns + 2) as i64;
                emb.forward(plan.clone().remainder_scalar(cycle_tokens))
                    + tone.forward(plan.div_scalar(cycle_tokens))
            }
            None => emb.forward(plan),
        })
    }

    /// Input embeddings: the class token followed by the given codes, plus positions and,
    /// when the prior takes one, the plan (`[batch, >= t]`, only the first `t` used).
    fn embed(
        &self,
        classes: Tensor<1, Int>,
        codes: Option<Tensor<2, Int>>,
        plan: Option<Tensor<2, Int>>,
    ) -> Tensor<3> {
        let [b] = classes.dims();
        let class = self.class_embedding.forward(classes.reshape([b, 1]));
        let x = match codes {
            Some(codes) if codes.dims()[1] > 0 => {
                Tensor::cat(vec![class, self.code_embedding.forward(codes)], 1)
            }
            _ => class,
        };
        let [_, t, d] = x.dims();
        let pos = self
            .position
            .weight
            .val()
            .slice([0..t, 0..d])
            .reshape([1, t, d]);
        match plan.and_then(|p| self.plan_embedding(p.slice([0..b, 0..t]))) {
            Some(p) => x + pos + p,
            None => x + pos,
        }
    }

    /// Logits of the next code at every position.
    ///
    /// # Shapes
    /// - `classes`: `[batch]`
    /// - `codes`: `[batch, t]` with `t < seq_len` (the codes seen so far; `None` or `t = 0` for
    ///   the class token alone)
    /// - `plan`: `[batch, seq_len]` plan tokens (`plan_tokens`); needed by a prior with
    ///   [`PriorConfig::plan_columns`] > 0 (without it, it sees no plan), ignored otherwise
    /// - returns `[batch, t + 1, vocab_size]`: row `i` predicts code `i`.
    pub fn forward(
        &self,
        classes: Tensor<1, Int>,
        codes: Option<Tensor<2, Int>>,
        plan: Option<Tensor<2, Int>>,
        mut dropout: Option<&mut DropoutRng>,
    ) -> Tensor<3> {
        let mut x = self.embed(classes, codes, plan);
        if let Some(d) = dropout.as_deref_mut() {
            x = d.apply(x);
        }
        for block in &self.blocks {
            x = block.forward(x, &mut dropout);
        }
        self.head.forward(self.norm.forward(x))
    }

    /// Mean cross-entropy (nats per code) of full code sequences.
    ///
    /// # Shapes
    /// `classes`: `[batch]`; `codes` and `plan`: `[batch, seq_len]`. Returns a one-element
    /// tensor.
    pub fn loss(
        &self,
        classes: Tensor<1, Int>,
        codes: Tensor<2, Int>,
        plan: Option<Tensor<2, Int>>,
        dropout: Option<&mut DropoutRng>,
    ) -> Tensor<1> {
        let [b, n] = codes.dims();
        let inputs = codes.clone().slice([0..b, 0..n - 1]);
        let logits = self.forward(classes, Some(inputs), plan, dropout);
        cross_entropy(logits, codes)
    }

    /// Processes one position with the cache: the class token when the cache is empty,
    /// otherwise `codes` (the code chosen at the previous position). Returns the logits of the
    /// next code.
    ///
    /// # Shapes
    /// `classes`: `[batch]`; `codes`: `[batch]`; `plan`: `[batch]`, the plan token of this
    /// position (see [`Prior::forward`]); returns `[batch, vocab_size]`.
    pub fn step(
        &self,
        classes: Tensor<1, Int>,
        codes: Option<Tensor<1, Int>>,
        plan: Option<Tensor<1, Int>>,
        cache: &mut KvCache,
    ) -> Tensor<2> {
        let [b] = classes.dims();
        let t = cache.position;
        let mut x = match codes {
            Some(c) if t > 0 => self.code_embedding.forward(c.reshape([b, 1])),
            _ => self.class_embedding.forward(classes.reshape([b, 1])),
        };
        let [_, _, d] = x.dims();
        x = x + self
            .position
            .weight
            .val()
            .slice([t..t + 1, 0..d])
            .reshape([1, 1, d]);
        if let Some(p) = plan.and_then(|p| self.plan_embedding(p.reshape([b, 1]))) {
            x = x + p;
        }
        if cache.layers.len() != self.blocks.len() {
            cache.layers = vec![None; self.blocks.len()];
        }
        for (block, layer) in self.blocks.iter().zip(cache.layers.iter_mut()) {
            x = block.forward_cached(x, layer);
        }
        cache.position += 1;
        let logits = self.head.forward(self.norm.forward(x));
        let [_, _, v] = logits.dims();
        logits.reshape([b, v])
    }
}

/// Mean cross-entropy of `logits` against integer `targets`.
///
/// # Shapes
/// `logits`: `[batch, n, classes]`; `targets`: `[batch, n]`; returns `[1]`.
pub fn cross_entropy(logits: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<1> {
    let [b, n] = targets.dims();
    let logp = log_softmax(logits, 2);
    let picked = logp.gather(2, targets.reshape([b, n, 1]));
    picked.mean().neg()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::cycle::plan_tokens;

    fn tiny() -> PriorConfig {
        PriorConfig {
            vocab_size: 7,
            num_classes: 3,
            seq_len: 10,
            d_model: 16,
            n_heads: 2,
            n_layers: 2,
            d_ff: 32,
            dropout: 0.0,
            plan_columns: 0,
            tone_tokens: 0,
            retired_class_dropout: Retired,
        }
    }

    #[test]
    fn cross_entropy_by_hand() {
        let device = Device::flex();
        // logits [1, 2, 3]: rows (0, 0, 0) and (1, 2, 3); targets 0 and 2.
        let logits = Tensor::<3>::from_data(
            TensorData::new(vec![0f32, 0., 0., 1., 2., 3.], [1, 2, 3]),
            &device,
        );
        let targets = Tensor::<2, Int>::from_ints([[0, 2]], &device);
        let got: f32 = cross_entropy(logits, targets).into_scalar();
        let l1 = (3f64).ln();
        let l2 = -(3.0 - (1f64.exp() + 2f64.exp() + 3f64.exp()).ln());
        assert!((got as f64 - (l1 + l2) / 2.0).abs() < 1e-5, "{got}");
    }

    #[test]
    fn causal_future_codes_do_not_change_past_logits() {
        let device = Device::flex();
        let prior = tiny().init(&device).unwrap();
        let classes = Tensor::<1, Int>::from_ints([1], &device);
        let a = Tensor::<2, Int>::from_ints([[1, 2, 3, 4, 5]], &device);
        let b = Tensor::<2, Int>::from_ints([[1, 2, 3, 6, 0]], &device);
        let la: Vec<f32> = prior
            .forward(classes.clone(), Some(a), None, None)
            .slice([0..1, 0..4])
            .try_into_vec_as::<f32>()
            .unwrap();
        let lb: Vec<f32> = prior
            .forward(classes, Some(b), None, None)
            .slice([0..1, 0..4])
            .try_into_vec_as::<f32>()
            .unwrap();
        for (x, y) in la.iter().zip(&lb) {
            assert!((x - y).abs() < 1e-5);
        }
    }

    #[test]
    fn a_planned_prior_follows_its_plan() {
        let device = Device::flex();
        let cfg = PriorConfig {
            plan_columns: 5,
            ..tiny()
        };
        let prior = cfg.init(&device).unwrap();
        assert_eq!(prior.plan_columns(), 5);
        assert_eq!(tiny().init(&device).unwrap().plan_columns(), 0);
        let bad = PriorConfig {
            plan_columns: 3,
            ..tiny()
        };
        assert!(bad.validate().is_err(), "3 columns cannot divide 10 codes");
        let classes = Tensor::<1, Int>::from_ints([1], &device);
        let codes = || Some(Tensor::<2, Int>::from_ints([[1, 2, 3]], &device));
        let plan = |p: Vec<usize>| {
            let v: Vec<i64> = p.into_iter().map(|x| x as i64).collect();
            Some(Tensor::<2, Int>::from_data(
                TensorData::new(v, [1, 10]),
                &device,
            ))
        };
        let run = |p| -> Vec<f32> {
            prior
                .forward(classes.clone(), codes(), p, None)
                .try_into_vec_as::<f32>()
                .unwrap()
        };
        let a = run(plan(plan_tokens(5, 10, 0..5)));
        let b = run(plan(plan_tokens(5, 10, 1..3)));
        assert!(a.iter().zip(&b).any(|(x, y)| (x - y).abs() > 1e-4));
        // Only the first t + 1 plan tokens matter: a later change leaves the logits alone.
        let mut late = plan_tokens(5, 10, 0..5);
        late[9] = 6;
        assert_eq!(run(plan(late)), a);
    }

    #[test]
    fn a_toned_prior_follows_the_tone_part_of_its_plan() {
        let device = Device::flex();
        let cfg = PriorConfig {
            plan_columns: 5,
            tone_tokens: 3,
            ..tiny()
        };
        let prior = cfg.init(&device).unwrap();
        assert_eq!((prior.tone_tokens(), prior.plan_vocabulary()), (3, 21));
        assert_eq!(tiny().init(&device).unwrap().plan_vocabulary(), 0);
        let no_cycle_plan = PriorConfig {
            tone_tokens: 3,
            ..tiny()
        };
        assert!(no_cycle_plan.validate().is_err());
        let classes = Tensor::<1, Int>::from_ints([1], &device);
        let run = |p: Vec<usize>| -> Vec<f32> {
            let v: Vec<i64> = p.into_iter().map(|x| x as i64).collect();
            let plan = Tensor::<2, Int>::from_data(TensorData::new(v, [1, 10]), &device);
            let codes = Tensor::<2, Int>::from_ints([[1, 2, 3]], &device);
            prior
                .forward(classes.clone(), Some(codes), Some(plan), None)
                .try_into_vec_as::<f32>()
                .unwrap()
        };
        let cycle = plan_tokens(5, 10, 0..5);
        let plain = run(cycle.clone());
        // A tone at position 1 changes the logits from position 1 on, not at position 0.
        let toned = run(crate::plan::tone::combine(
            &cycle,
            &[0, 2, 0, 0, 0, 0, 0, 0, 0, 0],
            7,
        ));
        let v = 7;
        assert_eq!(&plain[..v], &toned[..v]);
        assert!(
            plain[v..2 * v]
                .iter()
                .zip(&toned[v..2 * v])
                .any(|(x, y)| (x - y).abs() > 1e-4)
        );
    }

    #[test]
    fn cached_steps_match_full_forward() {
        for (plan_columns, tone_tokens) in [(0, 0), (5, 0), (5, 3)] {
            cached_steps_match(PriorConfig {
                plan_columns,
                tone_tokens,
                ..tiny()
            });
        }
    }

    fn cached_steps_match(cfg: PriorConfig) {
        let device = Device::flex();
        let prior = cfg.init(&device).unwrap();
        let classes = Tensor::<1, Int>::from_ints([0, 2], &device);
        let codes = [[3i64, 1, 4, 1, 5, 2], [6, 5, 0, 2, 1, 1]];
        let mut plans = [plan_tokens(5, 10, 1..4), plan_tokens(5, 10, 0..5)];
        if cfg.tone_tokens > 0 {
            // Tones in a few positions: tone token 2 in the first sequence's second column,
            // 1 and 2 in the second's third.
            plans[0] = crate::plan::tone::combine(&plans[0], &[0, 0, 2, 2, 0, 0, 0, 0, 0, 0], 7);
            plans[1] = crate::plan::tone::combine(&plans[1], &[0, 0, 0, 0, 1, 2, 0, 0, 0, 0], 7);
        }
        let plan_t = (cfg.plan_columns > 0).then(|| {
            let v: Vec<i64> = plans.iter().flatten().map(|&x| x as i64).collect();
            Tensor::<2, Int>::from_data(TensorData::new(v, [2, 10]), &device)
        });
        let full: Vec<f32> = prior
            .forward(
                classes.clone(),
                Some(Tensor::<2, Int>::from_ints(codes, &device)),
                plan_t,
                None,
            )
            .try_into_vec_as::<f32>()
            .unwrap(); // [2, 7, 7]
        let mut cache = KvCache::default();
        for t in 0..7 {
            let prev = (t > 0)
                .then(|| Tensor::<1, Int>::from_ints([codes[0][t - 1], codes[1][t - 1]], &device));
            let plan = (cfg.plan_columns > 0).then(|| {
                Tensor::<1, Int>::from_ints([plans[0][t] as i64, plans[1][t] as i64], &device)
            });
            let step: Vec<f32> = prior
                .step(classes.clone(), prev, plan, &mut cache)
                .try_into_vec_as::<f32>()
                .unwrap();
            for row in 0..2 {
                for v in 0..7 {
                    let f = full[row * 49 + t * 7 + v];
                    let s = step[row * 7 + v];
                    assert!((f - s).abs() < 1e-4, "t {t} row {row}: {f} vs {s}");
                }
            }
        }
        assert_eq!(cache.len(), 7);
    }

    #[test]
    fn older_configs_with_class_dropout_zero_still_read() {
        let mut old = serde_json::to_value(tiny()).unwrap();
        old["class_dropout"] = serde_json::json!(0.0);
        let read: PriorConfig = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(read, tiny());
        assert!(
            serde_json::to_value(&read)
                .unwrap()
                .get("class_dropout")
                .is_none()
        );
        // A prior trained with class dropout has a class embedding this version cannot build.
        old["class_dropout"] = serde_json::json!(0.2);
        let err = serde_json::from_value::<PriorConfig>(old)
            .unwrap_err()
            .to_string();
        assert!(err.contains("class_dropout"), "{err}");
    }
}
