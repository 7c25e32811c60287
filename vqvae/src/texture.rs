//! The decoder's texture: a per-class Gaussian model of what the decoder's conditional mean
//! leaves out.
//!
//! The VQ-VAE is trained with a squared error, that is as a Gaussian likelihood
//! `p(x | z, c) = N(mu(z, c), Sigma)` whose mean the decoder predicts. Decoding a code grid
//! returns that mean: a smooth spectrogram without the noise texture real log-Mels have (the
//! periodogram's fluctuations, which alone give a normal cycle about 2 dB of "tonality") and
//! without the details the codes are too coarse for (one-frame crackle clicks). Sampling
//! `x ~ p(x | z, c)` instead of taking its mean needs `Sigma`; this module fits it per class
//! on the training split's residuals `x - mu(z(x), c)` in dB after training:
//!
//! - a mean residual per Mel bin (the decoder's bias),
//! - the full `n_mels x n_mels` covariance of a residual frame, shrunk towards its diagonal
//!   (off-diagonal terms times `1 - shrinkage`): broadband events such as crackle clicks make
//!   the residuals of all bins rise together, which a diagonal model would lose,
//! - one lag-1 autocorrelation over time per class (the STFT's overlapping windows correlate
//!   neighbouring frames), giving a first-order autoregressive process whose stationary
//!   covariance is exactly the fitted one.
//!
//! At generation ([`generate()`](crate::generate()), unless `texture` is off) each decoded sample gets one
//! draw of its class's process, seeded by the sample's own seed. The model is Gaussian: it
//! reproduces the residuals' variance and correlations, not their heavy tails.

use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::data::LogMel;
use crate::{Error, Result};

/// File of a VQ-VAE run directory holding its [`Texture`].
pub const TEXTURE_FILE: &str = "texture.json";

/// Random stream of texture draws (independent of the prior's sampling stream).
const TEXTURE_STREAM: u64 = 11;

/// Fewest examples of a class from which its texture is fitted (otherwise none).
pub const MIN_TEXTURE_EXAMPLES: usize = 2;

/// Largest lag-1 autocorrelation kept (a process closer to 1 barely varies in time).
const MAX_RHO: f64 = 0.95;

/// Default shrinkage of the off-diagonal covariance terms.
pub const DEFAULT_SHRINKAGE: f32 = 0.1;

/// The texture model of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassTexture {
    /// Class name.
    pub class: String,
    /// Training examples it was fitted on.
    pub examples: usize,
    /// Mean residual per Mel bin, dB, `[n_mels]`.
    pub mean_db: Vec<f32>,
    /// Standard deviation of the residual per Mel bin, dB, `[n_mels]` (before shrinkage, which
    /// leaves the diagonal unchanged).
    pub std_db: Vec<f32>,
    /// Lag-1 autocorrelation of the residual over time, in `[0, 0.95]`.
    pub rho: f32,
    /// Lower-triangular Cholesky factor of the shrunk frame covariance, dB,
    /// `[n_mels * n_mels]` row-major.
    pub cholesky: Vec<f32>,
}

/// Per-class texture models of a VQ-VAE (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Texture {
    /// Mel bins.
    pub n_mels: usize,
    /// Shrinkage of the off-diagonal covariance terms used in the fit.
    pub shrinkage: f32,
    /// Split the residuals came from (`train`).
    pub split: String,
    /// One entry per class, in class order; `None` when the class had fewer than
    /// `MIN_TEXTURE_EXAMPLES` (2) examples.
    pub classes: Vec<Option<ClassTexture>>,
}

impl Texture {
    /// Fits the texture of each class on the residuals `real - decoded` (both dB,
    /// `[n_mels][n_frames]` row-major, paired in order).
    pub fn fit(
        classes: &[String],
        real: &[LogMel],
        decoded: &[Vec<f32>],
        n_mels: usize,
        n_frames: usize,
        shrinkage: f32,
    ) -> Result<Self> {
        if !(0.0..=1.0).contains(&shrinkage) {
            return Err(Error::config("texture shrinkage", "must be within [0, 1]"));
        }
        if real.len() != decoded.len() {
            return Err(Error::Shape {
                what: "texture residual pairs",
                expected: vec![real.len()],
                actual: vec![decoded.len()],
            });
        }
        let size = n_mels * n_frames;
        if let Some(bad) = real
            .iter()
            .map(|x| x.data.len())
            .chain(decoded.iter().map(Vec::len))
            .find(|&l| l != size)
        {
            return Err(Error::Shape {
                what: "texture spectrogram",
                expected: vec![n_mels, n_frames],
                actual: vec![bad],
            });
        }
        let mut out = Vec::with_capacity(classes.len());
        for (c, name) in classes.iter().enumerate() {
            let residuals: Vec<Vec<f64>> = real
                .iter()
                .zip(decoded)
                .filter(|(x, _)| x.label == c)
                .map(|(x, d)| {
                    x.data
                        .iter()
                        .zip(d)
                        .map(|(a, b)| f64::from(a - b))
                        .collect()
                })
                .collect();
            out.push(if residuals.len() < MIN_TEXTURE_EXAMPLES || n_frames < 2 {
                None
            } else {
                Some(fit_class(name, &residuals, n_mels, n_frames, shrinkage)?)
            });
        }
        Ok(Self {
            n_mels,
            shrinkage,
            split: "train".to_string(),
            classes: out,
        })
    }

    /// Checks the model against a VQ-VAE with `n_mels` bins and `classes`.
    pub fn validate(&self, n_mels: usize, classes: &[String]) -> Result<()> {
        let bad = |reason: String| Err(Error::config("texture", reason));
        if self.n_mels != n_mels || self.classes.len() != classes.len() {
            return bad(format!(
                "fitted for {} Mel bins and {} classes, the model has {} and {}",
                self.n_mels,
                self.classes.len(),
                n_mels,
                classes.len()
            ));
        }
        for (t, name) in self.classes.iter().zip(classes) {
            let Some(t) = t else { continue };
            if &t.class != name
                || t.mean_db.len() != n_mels
                || t.std_db.len() != n_mels
                || t.cholesky.len() != n_mels * n_mels
                || !(0.0..=1.0).contains(&t.rho)
                || t.cholesky.iter().chain(&t.mean_db).any(|v| !v.is_finite())
            {
                return bad(format!("the entry of class {name} is malformed"));
            }
        }
        Ok(())
    }

    /// One draw of class `class`'s texture for a spectrogram of `n_frames` frames, dB,
    /// `[n_mels][n_frames]` row-major, from `seed`; `None` when the class has no model.
    pub fn sample(&self, class: usize, seed: u64, n_frames: usize) -> Option<Vec<f32>> {
        let t = self.classes.get(class)?.as_ref()?;
        let m = self.n_mels;
        let mut rng = auscult_experiment::seeded_rng(seed, TEXTURE_STREAM);
        let rho = f64::from(t.rho);
        let innovation = (1.0 - rho * rho).max(0.0).sqrt();
        let mut e = vec![0f64; m];
        let mut z = vec![0f64; m];
        let mut eps = vec![0f64; m];
        let mut out = vec![0f32; m * n_frames];
        for frame in 0..n_frames {
            for v in eps.iter_mut() {
                *v = rng.sample(StandardNormal);
            }
            for (i, zi) in z.iter_mut().enumerate() {
                let row = &t.cholesky[i * m..i * m + i + 1];
                *zi = row.iter().zip(&eps).map(|(l, x)| f64::from(*l) * x).sum();
            }
            for (i, ei) in e.iter_mut().enumerate() {
                *ei = if frame == 0 {
                    z[i]
                } else {
                    rho * *ei + innovation * z[i]
                };
                out[i * n_frames + frame] = t.mean_db[i] + *ei as f32;
            }
        }
        Some(out)
    }
}

/// Fits one class's model on its residuals (`[n_mels][n_frames]` each).
fn fit_class(
    name: &str,
    residuals: &[Vec<f64>],
    m: usize,
    f: usize,
    shrinkage: f32,
) -> Result<ClassTexture> {
    let frames = (residuals.len() * f) as f64;
    let mut mean = vec![0f64; m];
    for r in residuals {
        for (b, mb) in mean.iter_mut().enumerate() {
            *mb += r[b * f..(b + 1) * f].iter().sum::<f64>();
        }
    }
    for mb in &mut mean {
        *mb /= frames;
    }
    let mut cov = vec![0f64; m * m];
    let (mut lag_num, mut lag_den) = (0f64, 0f64);
    let mut frame = vec![0f64; m];
    for r in residuals {
        for t in 0..f {
            for (b, v) in frame.iter_mut().enumerate() {
                *v = r[b * f + t] - mean[b];
            }
            for i in 0..m {
                let fi = frame[i];
                for j in 0..=i {
                    cov[i * m + j] += fi * frame[j];
                }
            }
        }
        for (b, mb) in mean.iter().enumerate() {
            let row = &r[b * f..(b + 1) * f];
            for t in 0..f {
                let d = row[t] - mb;
                lag_den += d * d;
                if t + 1 < f {
                    lag_num += d * (row[t + 1] - mb);
                }
            }
        }
    }
    let denom = (frames - 1.0).max(1.0);
    for i in 0..m {
        for j in 0..=i {
            let v = cov[i * m + j] / denom;
            cov[i * m + j] = v;
            cov[j * m + i] = v;
        }
    }
    let std: Vec<f32> = (0..m).map(|i| cov[i * m + i].sqrt() as f32).collect();
    let keep = 1.0 - f64::from(shrinkage);
    for i in 0..m {
        for j in 0..m {
            if i != j {
                cov[i * m + j] *= keep;
            }
        }
    }
    let rho = if lag_den > 0.0 {
        (lag_num / lag_den).clamp(0.0, MAX_RHO)
    } else {
        0.0
    };
    let cholesky = cholesky_jittered(&cov, m).ok_or_else(|| {
        Error::config(
            "texture",
            format!("the residual covariance of class {name} is degenerate"),
        )
    })?;
    Ok(ClassTexture {
        class: name.to_string(),
        examples: residuals.len(),
        mean_db: mean.iter().map(|&v| v as f32).collect(),
        std_db: std,
        rho: rho as f32,
        cholesky: cholesky.iter().map(|&v| v as f32).collect(),
    })
}

/// Lower-triangular Cholesky factor of the symmetric `m x m` matrix `a`, adding a growing
/// multiple of its mean diagonal until it is positive definite; `None` if it never is.
fn cholesky_jittered(a: &[f64], m: usize) -> Option<Vec<f64>> {
    let scale = ((0..m).map(|i| a[i * m + i]).sum::<f64>() / m.max(1) as f64).max(1e-12);
    let mut jitter = 1e-9 * scale;
    for _ in 0..8 {
        if let Some(l) = cholesky(a, m, jitter) {
            return Some(l);
        }
        jitter *= 100.0;
    }
    None
}

/// Cholesky factor of `a + jitter * I`, or `None` when that is not positive definite.
fn cholesky(a: &[f64], m: usize, jitter: f64) -> Option<Vec<f64>> {
    let mut l = vec![0f64; m * m];
    for i in 0..m {
        for j in 0..=i {
            let mut s = a[i * m + j] + if i == j { jitter } else { 0.0 };
            for k in 0..j {
                s -= l[i * m + k] * l[j * m + k];
            }
            if i == j {
                if !(s > 0.0 && s.is_finite()) {
                    return None;
                }
                l[i * m + i] = s.sqrt();
            } else {
                l[i * m + j] = s / l[j * m + j];
            }
        }
    }
    Some(l)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Real spectrograms = a smooth "decoded" part plus an AR(1) texture whose frames have
    /// a known covariance; the fit must recover the mean, the per-bin spread, the
    /// correlation between bins and the lag-1 autocorrelation, and its draws must have them.
    #[test]
    fn fit_recovers_a_known_process_and_draws_reproduce_it() {
        let (m, f, n) = (4, 64, 200);
        // Frame covariance: std 1, 2, 3, 1 dB; bins 0 and 1 correlated 0.8 (a "broadband" pair).
        let sd = [1.0f64, 2.0, 3.0, 1.0];
        let corr = |i: usize, j: usize| match (i.min(j), i.max(j)) {
            (a, b) if a == b => 1.0,
            (0, 1) => 0.8,
            _ => 0.0,
        };
        let cov: Vec<f64> = (0..m * m)
            .map(|k| sd[k / m] * sd[k % m] * corr(k / m, k % m))
            .collect();
        let l = cholesky(&cov, m, 0.0).unwrap();
        let truth = ClassTexture {
            class: "x".into(),
            examples: 0,
            mean_db: vec![0.5, 0.0, -1.0, 0.0],
            std_db: sd.iter().map(|&v| v as f32).collect(),
            rho: 0.6,
            cholesky: l.iter().map(|&v| v as f32).collect(),
        };
        let gen_model = Texture {
            n_mels: m,
            shrinkage: 0.0,
            split: "train".into(),
            classes: vec![Some(truth.clone())],
        };
        let mut real = Vec::new();
        let mut decoded = Vec::new();
        for i in 0..n {
            let smooth: Vec<f32> = (0..m * f).map(|k| (k % f) as f32 * 0.1 - 30.0).collect();
            let noise = gen_model.sample(0, i as u64, f).unwrap();
            real.push(LogMel {
                data: smooth.iter().zip(&noise).map(|(a, b)| a + b).collect(),
                label: 0,
            });
            decoded.push(smooth);
        }
        let fitted = Texture::fit(&["x".to_string()], &real, &decoded, m, f, 0.0).unwrap();
        let t = fitted.classes[0].as_ref().unwrap();
        assert_eq!(t.examples, n);
        for b in 0..m {
            assert!(
                (t.mean_db[b] - truth.mean_db[b]).abs() < 0.15,
                "{:?}",
                t.mean_db
            );
            assert!(
                (t.std_db[b] / truth.std_db[b] - 1.0).abs() < 0.05,
                "{:?}",
                t.std_db
            );
        }
        assert!((t.rho - 0.6).abs() < 0.03, "rho {}", t.rho);
        // Correlation of bins 0 and 1 from the fitted factor.
        let row = |i: usize| &t.cholesky[i * m..i * m + m];
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let c01 = dot(row(0), row(1)) / (dot(row(0), row(0)) * dot(row(1), row(1))).sqrt();
        let c23 = dot(row(2), row(3)) / (dot(row(2), row(2)) * dot(row(3), row(3))).sqrt();
        assert!((c01 - 0.8).abs() < 0.05, "corr 0-1 {c01}");
        assert!(c23.abs() < 0.05, "corr 2-3 {c23}");
        // Same seed, same draw; another seed, another.
        assert_eq!(fitted.sample(0, 5, f), fitted.sample(0, 5, f));
        assert_ne!(fitted.sample(0, 5, f), fitted.sample(0, 6, f));
        fitted.validate(m, &["x".to_string()]).unwrap();
        assert!(fitted.validate(m + 1, &["x".to_string()]).is_err());
    }

    #[test]
    fn rare_classes_get_no_texture_and_shrinkage_only_touches_off_diagonals() {
        let (m, f) = (3, 8);
        let ex = |label: usize, v: f32| LogMel {
            data: (0..m * f).map(|k| v * ((k * 7 % 5) as f32 - 2.0)).collect(),
            label,
        };
        let real = vec![ex(0, 1.0), ex(0, 2.0), ex(0, -1.5), ex(1, 1.0)];
        let decoded = vec![vec![0f32; m * f]; 4];
        let classes = ["a".to_string(), "b".to_string()];
        let plain = Texture::fit(&classes, &real, &decoded, m, f, 0.0).unwrap();
        let shrunk = Texture::fit(&classes, &real, &decoded, m, f, 0.5).unwrap();
        assert!(plain.classes[1].is_none() && shrunk.sample(1, 0, f).is_none());
        let (p, s) = (
            plain.classes[0].as_ref().unwrap(),
            shrunk.classes[0].as_ref().unwrap(),
        );
        assert_eq!(p.std_db, s.std_db);
        // Diagonal of L L^T is unchanged by the shrinkage; the off-diagonal halves.
        let cov = |t: &ClassTexture, i: usize, j: usize| {
            (0..m)
                .map(|k| t.cholesky[i * m + k] * t.cholesky[j * m + k])
                .sum::<f32>()
        };
        for i in 0..m {
            assert!((cov(p, i, i) - cov(s, i, i)).abs() < 1e-3 * cov(p, i, i));
        }
        assert!((cov(s, 0, 1) - 0.5 * cov(p, 0, 1)).abs() < 1e-3 * cov(p, 0, 0));
        assert!(Texture::fit(&classes, &real, &decoded, m, f, 1.5).is_err());
        assert!(Texture::fit(&classes, &real, &decoded[..3], m, f, 0.0).is_err());
    }
}
