//! How close generated spectrograms are to real ones, seen through a classifier trained on real
//! data only: per class, the Fréchet distance between the classifier's embeddings of generated
//! samples and of real examples (FID's formula on this task's own network), the same distance
//! between two random halves of the real examples as its floor (and between two halves of
//! the real examples' *patients*, a floor that does not share patients between its sides), and
//! the classifier's mean probability of the class on generated samples against real examples.

use auscult_audio::Spectrogram;
use auscult_datasets::{Example, GeneratedCorpus};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::data::{FeatureSet, compute_features};
use crate::inference::Classifier;
use crate::{Error, Result};

/// The Fréchet distance between Gaussians fitted to two sets of vectors:
/// `|mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))`, covariances with `n - 1`;
/// `None` when either set has fewer than two vectors or the widths differ.
pub fn frechet_distance(a: &[Vec<f32>], b: &[Vec<f32>]) -> Option<f64> {
    let d = a.first()?.len();
    if a.len() < 2 || b.len() < 2 || a.iter().chain(b).any(|v| v.len() != d) {
        return None;
    }
    let (mu_a, s_a) = moments(a, d);
    let (mu_b, s_b) = moments(b, d);
    let mean_term: f64 = mu_a.iter().zip(&mu_b).map(|(x, y)| (x - y).powi(2)).sum();
    // Tr((S_a S_b)^(1/2)) = Tr((R S_b R)^(1/2)) with R = S_a^(1/2), a symmetric PSD matrix.
    let r = sym_sqrt(&s_a, d);
    let m = matmul(&matmul(&r, &s_b, d), &r, d);
    let (eig, _) = jacobi_eigen(&m, d);
    let tr_sqrt: f64 = eig.iter().map(|&l| l.max(0.0).sqrt()).sum();
    let trace = |s: &[f64]| (0..d).map(|i| s[i * d + i]).sum::<f64>();
    Some((mean_term + trace(&s_a) + trace(&s_b) - 2.0 * tr_sqrt).max(0.0))
}

/// Mean and covariance (`n - 1`) of row vectors, the covariance row-major `d x d`.
fn moments(x: &[Vec<f32>], d: usize) -> (Vec<f64>, Vec<f64>) {
    let n = x.len() as f64;
    let mut mu = vec![0.0; d];
    for v in x {
        for (m, &e) in mu.iter_mut().zip(v) {
            *m += f64::from(e) / n;
        }
    }
    let mut s = vec![0.0; d * d];
    for v in x {
        for i in 0..d {
            let di = f64::from(v[i]) - mu[i];
            for j in i..d {
                s[i * d + j] += di * (f64::from(v[j]) - mu[j]);
            }
        }
    }
    for i in 0..d {
        for j in i..d {
            let c = s[i * d + j] / (n - 1.0);
            s[i * d + j] = c;
            s[j * d + i] = c;
        }
    }
    (mu, s)
}

fn matmul(a: &[f64], b: &[f64], d: usize) -> Vec<f64> {
    let mut out = vec![0.0; d * d];
    for i in 0..d {
        for k in 0..d {
            let aik = a[i * d + k];
            if aik == 0.0 {
                continue;
            }
            for j in 0..d {
                out[i * d + j] += aik * b[k * d + j];
            }
        }
    }
    out
}

/// The square root of a symmetric positive semi-definite matrix (negative eigenvalues, from
/// rounding, taken as 0).
fn sym_sqrt(s: &[f64], d: usize) -> Vec<f64> {
    let (eig, vecs) = jacobi_eigen(s, d);
    let mut out = vec![0.0; d * d];
    for (k, &l) in eig.iter().enumerate() {
        let r = l.max(0.0).sqrt();
        for i in 0..d {
            let vik = vecs[i * d + k] * r;
            for j in 0..d {
                out[i * d + j] += vik * vecs[j * d + k];
            }
        }
    }
    out
}

/// Eigenvalues and eigenvectors (columns of the row-major `d x d` result) of a symmetric
/// matrix, by cyclic Jacobi rotations until the off-diagonal mass is negligible.
fn jacobi_eigen(s: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = s.to_vec();
    let mut v = vec![0.0; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * d + j].powi(2))
            .sum();
        if off <= 1e-22 * scale {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let sn = t * c;
                for k in 0..d {
                    let (akp, akq) = (a[k * d + p], a[k * d + q]);
                    a[k * d + p] = c * akp - sn * akq;
                    a[k * d + q] = sn * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[p * d + k], a[q * d + k]);
                    a[p * d + k] = c * apk - sn * aqk;
                    a[q * d + k] = sn * apk + c * aqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - sn * vkq;
                    v[k * d + q] = sn * vkp + c * vkq;
                }
            }
        }
    }
    ((0..d).map(|i| a[i * d + i]).collect(), v)
}

/// The classifier's view of one class of a generated corpus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassQuality {
    /// The class.
    pub class: String,
    /// Generated samples of the class.
    pub n_generated: usize,
    /// Real examples of the class.
    pub n_real: usize,
    /// Fréchet distance between the embeddings of generated samples and real examples.
    pub frechet: Option<f64>,
    /// The same between two random halves of the real examples (seeded): the floor that
    /// sampling noise alone reaches (with half as many real examples on each side).
    pub frechet_real_halves: Option<f64>,
    /// `frechet / frechet_real_halves`.
    pub frechet_ratio: Option<f64>,
    /// The distance at matched sizes: mean over [`MATCHED_SPLITS`] random splits of the real
    /// examples into halves A and B of the distance from A to as many random generated samples
    /// as B holds. The Fréchet distance grows as its sets shrink (a covariance of fewer vectors
    /// than dimensions is rank deficient), so only at equal sizes is it on the footing of the
    /// floor below.
    #[serde(default)]
    pub frechet_matched: Option<f64>,
    /// The floor at matched sizes: mean over the same splits of the distance from A to B.
    #[serde(default)]
    pub frechet_floor_matched: Option<f64>,
    /// `frechet_matched / frechet_floor_matched`: about 1 when the generated samples are
    /// distributed as the real examples are.
    #[serde(default)]
    pub frechet_ratio_matched: Option<f64>,
    /// The same ratio at matched sizes with the class's real *training* examples in place of
    /// the generated samples: what a generator that reproduced its training examples exactly
    /// would score, so the part of the distance that is the shift from the training patients
    /// to the others; `None` without training examples of the class.
    #[serde(default)]
    pub train_ratio_matched: Option<f64>,
    /// The matched ratio with the real examples split by *patient* (see
    /// [`patient_matched_frechet`]): the floor is then the distance between cycles of
    /// different patients, as the distance from generated samples (made from other, training
    /// patients) is. About 1 when the generated samples are as close to one group of patients
    /// as another group of real patients is; `None` with fewer than two patients of the class.
    #[serde(default)]
    pub frechet_ratio_patients: Option<f64>,
    /// The same with the class's real training examples in place of the generated samples.
    #[serde(default)]
    pub train_ratio_patients: Option<f64>,
    /// Mean probability the classifier gives the class on its generated samples.
    pub p_class_generated: Option<f64>,
    /// Mean probability the classifier gives the class on its real examples.
    pub p_class_real: Option<f64>,
}

/// One row of floats per item.
type Rows = Vec<Vec<f32>>;

/// Random splits of the real examples averaged by the size-matched comparison.
pub const MATCHED_SPLITS: usize = 20;

/// The size-matched Fréchet comparison of `generated` with `real`: for each of `splits`
/// random splits of `real` into halves A and B, the distance from A to `|B|` random generated
/// vectors and from A to B; returns the means of both. `None` when a half would hold fewer
/// than two vectors or fewer than two vectors were generated.
pub fn matched_frechet(
    generated: &[Vec<f32>],
    real: &[Vec<f32>],
    splits: usize,
    rng: &mut impl rand::Rng,
) -> Option<(f64, f64)> {
    if real.len() < 4 || generated.len() < 2 || splits == 0 {
        return None;
    }
    let mut real_idx: Vec<usize> = (0..real.len()).collect();
    let mut gen_idx: Vec<usize> = (0..generated.len()).collect();
    let (mut to_generated, mut floor) = (0.0, 0.0);
    for _ in 0..splits {
        real_idx.shuffle(rng);
        gen_idx.shuffle(rng);
        let (a, b) = real_idx.split_at(real.len() / 2);
        let rows = |e: &[Vec<f32>], idx: &[usize]| -> Vec<Vec<f32>> {
            idx.iter().map(|&i| e[i].clone()).collect()
        };
        let a = rows(real, a);
        let g = rows(generated, &gen_idx[..b.len().min(gen_idx.len())]);
        to_generated += frechet_distance(&a, &g)?;
        floor += frechet_distance(&a, &rows(real, b))?;
    }
    Some((to_generated / splits as f64, floor / splits as f64))
}

/// [`matched_frechet`] with the real vectors split by patient (`patients[i]` is row `i`'s):
/// for each of `splits` random orders of the patients, each patient in turn joins the half
/// with fewer vectors so far, so the halves A and B share no patient and are as even as the
/// patients allow; then the distance from A to `|B|` random generated vectors and from A to B.
/// Returns the means over the splits where both halves hold at least two vectors; `None` with
/// fewer than two patients, when no split has two vectors a side, or with fewer than two
/// generated vectors.
pub fn patient_matched_frechet(
    generated: &[Vec<f32>],
    real: &[Vec<f32>],
    patients: &[&str],
    splits: usize,
    rng: &mut impl rand::Rng,
) -> Option<(f64, f64)> {
    let mut ids: Vec<&str> = patients.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() < 2 || generated.len() < 2 || patients.len() != real.len() {
        return None;
    }
    let mut gen_idx: Vec<usize> = (0..generated.len()).collect();
    let rows = |e: &[Vec<f32>], idx: &[usize]| -> Vec<Vec<f32>> {
        idx.iter().map(|&i| e[i].clone()).collect()
    };
    let (mut to_generated, mut floor, mut used) = (0.0, 0.0, 0usize);
    for _ in 0..splits {
        ids.shuffle(rng);
        gen_idx.shuffle(rng);
        let (mut a, mut b): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
        for id in &ids {
            let half = if a.len() <= b.len() { &mut a } else { &mut b };
            half.extend((0..real.len()).filter(|&i| patients[i] == *id));
        }
        if a.len() < 2 || b.len() < 2 {
            continue;
        }
        let a_rows = rows(real, &a);
        let g = rows(generated, &gen_idx[..b.len().min(gen_idx.len())]);
        to_generated += frechet_distance(&a_rows, &g)?;
        floor += frechet_distance(&a_rows, &rows(real, &b))?;
        used += 1;
    }
    if used == 0 {
        return None;
    }
    Some((to_generated / used as f64, floor / used as f64))
}

/// Embeddings and class probabilities of raw features.
fn embed_and_predict(clf: &Classifier, set: &FeatureSet) -> Result<(Rows, Rows)> {
    Ok((clf.embed_features(set)?, clf.predict_features(set)?))
}

/// Measures every class of `corpus` against the `real` examples (labels indexing the model's
/// classes) through the classifier `clf`, which should have been trained on real data only.
/// `train` (the generator's and classifier's training examples, or none) gives each class's
/// [`ClassQuality::train_ratio_matched`].
///
/// # Errors
/// When the corpus was made with another front end than the classifier's, or a class of the
/// corpus is not the classifier's.
pub fn classifier_quality(
    clf: &Classifier,
    corpus: &GeneratedCorpus,
    real: &[Example],
    train: &[Example],
    seed: u64,
) -> Result<Vec<ClassQuality>> {
    let cfg = &clf.config().train;
    crate::data::check_front_end(corpus, &cfg.mel, &cfg.examples)?;
    let classes = clf.classes().to_vec();
    let loaded = corpus.load()?;
    let mut generated = FeatureSet::empty(clf.config().n_bins, clf.config().n_frames);
    let mut gen_labels = Vec::with_capacity(loaded.len());
    for (i, (class, spec)) in loaded.iter().enumerate() {
        let c = Error::class_index(&classes, class)?;
        let spec: &Spectrogram = spec;
        generated.push(spec, c, &format!("generated sample {i}"))?;
        gen_labels.push(c);
    }
    let (gen_emb, gen_p) = embed_and_predict(clf, &generated)?;
    let real_set = compute_features(real, &cfg.mel)?;
    let (real_emb, real_p) = embed_and_predict(clf, &real_set)?;
    let train_emb = if train.is_empty() {
        Vec::new()
    } else {
        clf.embed_features(&compute_features(train, &cfg.mel)?)?
    };
    let mut train_rng = auscult_experiment::seeded_rng(seed, 0xF1F);
    let mut rng = auscult_experiment::seeded_rng(seed, 0xF1D);
    let mut matched_rng = auscult_experiment::seeded_rng(seed, 0xF1E);
    let mut patient_rng = auscult_experiment::seeded_rng(seed, 0xF20);
    let mut patient_train_rng = auscult_experiment::seeded_rng(seed, 0xF21);
    let mean_p = |p: &[Vec<f32>], idx: &[usize], c: usize| {
        (!idx.is_empty())
            .then(|| idx.iter().map(|&i| f64::from(p[i][c])).sum::<f64>() / idx.len() as f64)
    };
    Ok(classes
        .iter()
        .enumerate()
        .filter(|(c, _)| gen_labels.contains(c))
        .map(|(c, class)| {
            let g: Vec<usize> = (0..gen_labels.len())
                .filter(|&i| gen_labels[i] == c)
                .collect();
            let mut r: Vec<usize> = (0..real.len()).filter(|&i| real[i].label == c).collect();
            let rows = |e: &[Vec<f32>], idx: &[usize]| -> Vec<Vec<f32>> {
                idx.iter().map(|&i| e[i].clone()).collect()
            };
            let (gen_rows, real_rows) = (rows(&gen_emb, &g), rows(&real_emb, &r));
            let frechet = frechet_distance(&gen_rows, &real_rows);
            let matched = matched_frechet(&gen_rows, &real_rows, MATCHED_SPLITS, &mut matched_rng);
            let t: Vec<usize> = (0..train.len()).filter(|&i| train[i].label == c).collect();
            let train_rows = rows(&train_emb, &t);
            let from_train =
                matched_frechet(&train_rows, &real_rows, MATCHED_SPLITS, &mut train_rng);
            let patients: Vec<&str> = r.iter().map(|&i| real[i].patient.as_str()).collect();
            let by_patient = patient_matched_frechet(
                &gen_rows,
                &real_rows,
                &patients,
                MATCHED_SPLITS,
                &mut patient_rng,
            );
            let train_by_patient = patient_matched_frechet(
                &train_rows,
                &real_rows,
                &patients,
                MATCHED_SPLITS,
                &mut patient_train_rng,
            );
            let p_real = mean_p(&real_p, &r, c);
            r.shuffle(&mut rng);
            let (h1, h2) = r.split_at(r.len() / 2);
            let floor = frechet_distance(&rows(&real_emb, h1), &rows(&real_emb, h2));
            ClassQuality {
                class: class.clone(),
                n_generated: g.len(),
                n_real: r.len(),
                frechet,
                frechet_real_halves: floor,
                frechet_ratio: frechet.zip(floor).map(|(f, h)| f / h.max(1e-12)),
                frechet_matched: matched.map(|(f, _)| f),
                frechet_floor_matched: matched.map(|(_, h)| h),
                frechet_ratio_matched: matched.map(|(f, h)| f / h.max(1e-12)),
                train_ratio_matched: from_train.map(|(f, h)| f / h.max(1e-12)),
                frechet_ratio_patients: by_patient.map(|(f, h)| f / h.max(1e-12)),
                train_ratio_patients: train_by_patient.map(|(f, h)| f / h.max(1e-12)),
                p_class_generated: mean_p(&gen_p, &g, c),
                p_class_real: p_real,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaussian(n: usize, d: usize, shift: f32, scale: f32, seed: u64) -> Vec<Vec<f32>> {
        use rand::Rng;
        let mut rng = auscult_experiment::seeded_rng(seed, 0);
        (0..n)
            .map(|_| {
                (0..d)
                    .map(|_| {
                        // Sum of 12 uniforms - 6: close to a standard normal.
                        let z: f32 = (0..12).map(|_| rng.random::<f32>()).sum::<f32>() - 6.0;
                        shift + scale * z
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn frechet_of_known_gaussians() {
        // 1-D: (mu_a - mu_b)^2 + (s_a - s_b)^2 exactly, with the sample moments.
        let a = vec![vec![0.0], vec![2.0]]; // mean 1, var 2
        let b = vec![vec![3.0], vec![3.0], vec![6.0], vec![6.0]]; // mean 4.5, var 3
        let fd = frechet_distance(&a, &b).unwrap();
        let expect = 3.5f64.powi(2) + (2f64.sqrt() - 3f64.sqrt()).powi(2);
        assert!((fd - expect).abs() < 1e-9, "{fd} vs {expect}");
        // Identical sets: 0. A shifted set: the squared shift (covariances equal).
        let x = gaussian(200, 4, 0.0, 1.0, 1);
        assert!(frechet_distance(&x, &x).unwrap() < 1e-6);
        let shifted: Vec<Vec<f32>> = x
            .iter()
            .map(|v| v.iter().map(|e| e + 2.0).collect())
            .collect();
        let fd = frechet_distance(&x, &shifted).unwrap();
        assert!((fd - 16.0).abs() < 1e-4, "{fd}");
        // Scaled by 3 with no shift: Tr(S + 9S - 2*3S) = 4 Tr(S) ~ 16 for 4 unit dimensions.
        let scaled: Vec<Vec<f32>> = x
            .iter()
            .map(|v| v.iter().map(|e| e * 3.0).collect())
            .collect();
        let (mu, s) = moments(&x, 4);
        let tr: f64 = (0..4).map(|i| s[i * 4 + i]).sum();
        let mean_sq: f64 = mu.iter().map(|m| (2.0 * m).powi(2)).sum();
        let fd = frechet_distance(&x, &scaled).unwrap();
        assert!((fd - (4.0 * tr + mean_sq)).abs() < 1e-6, "{fd}");
        // Too few vectors, or mismatched widths.
        assert!(frechet_distance(&a[..1], &b).is_none());
        assert!(frechet_distance(&a, &[vec![1.0, 2.0], vec![0.0, 1.0]]).is_none());
    }

    #[test]
    fn the_size_matched_ratio_is_near_one_for_the_same_distribution() {
        // 30 real vectors in 16 dimensions, 300 generated from the same distribution: the
        // distance of all 300 to all 30 is far below that of two halves of 15, so the plain
        // ratio calls identical distributions closer than real to real; matched sizes do not.
        let real = gaussian(30, 16, 0.0, 1.0, 2);
        let same = gaussian(300, 16, 0.0, 1.0, 3);
        let plain = frechet_distance(&same, &real).unwrap();
        let floor = frechet_distance(&real[..15], &real[15..]).unwrap();
        assert!(plain / floor < 0.8, "plain ratio {}", plain / floor);
        let mut rng = auscult_experiment::seeded_rng(0, 1);
        let (f, fl) = matched_frechet(&same, &real, MATCHED_SPLITS, &mut rng).unwrap();
        assert!((0.8..1.25).contains(&(f / fl)), "matched ratio {}", f / fl);
        // A shifted generator is told apart: the squared shift (16 x 0.25 = 4) adds to the
        // matched distance.
        let shifted = gaussian(300, 16, 0.5, 1.0, 3);
        let (f, fl) = matched_frechet(&shifted, &real, MATCHED_SPLITS, &mut rng).unwrap();
        assert!(f - fl > 2.5, "{f} vs floor {fl}");
        // Too few real vectors for two halves of two.
        assert!(matched_frechet(&same, &real[..3], 5, &mut rng).is_none());
    }

    #[test]
    fn the_patient_floor_counts_what_sets_patients_apart() {
        // Each patient's cycles sit in a tight cluster (sd 0.3) around the patient's own centre
        // (drawn from a unit Gaussian). Halves by cycle share every patient and sit close;
        // halves by patient do not. Six other patients from the same population, as a
        // generator trained on other patients at best produces, are far from the real cycles
        // next to the cycle floor but as far as one real half is from the other by patient.
        let d = 8;
        let cluster = |centres: &[Vec<f32>], seed: u64| -> Vec<Vec<f32>> {
            centres
                .iter()
                .enumerate()
                .flat_map(|(p, c)| {
                    gaussian(8, d, 0.0, 0.3, seed + p as u64)
                        .into_iter()
                        .map(|v| v.iter().zip(c).map(|(x, m)| x + m).collect::<Vec<f32>>())
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let real = cluster(&gaussian(6, d, 0.0, 1.0, 7), 10);
        let other = cluster(&gaussian(6, d, 0.0, 1.0, 8), 40);
        let names = ["p0", "p1", "p2", "p3", "p4", "p5"];
        let patients: Vec<&str> = names
            .iter()
            .flat_map(|n| std::iter::repeat_n(*n, 8))
            .collect();
        let mut rng = auscult_experiment::seeded_rng(0, 2);
        let (f, fl) = matched_frechet(&other, &real, MATCHED_SPLITS, &mut rng).unwrap();
        let (pf, pfl) =
            patient_matched_frechet(&other, &real, &patients, MATCHED_SPLITS, &mut rng).unwrap();
        assert!(pfl > 2.0 * fl, "patient floor {pfl} vs cycle floor {fl}");
        assert!(f / fl > 2.0, "cycle ratio {}", f / fl);
        assert!(
            (0.5..1.6).contains(&(pf / pfl)),
            "patient ratio {}",
            pf / pfl
        );
        // The real cycles' own patients again (fresh cycles): close on both floors.
        let same = cluster(&gaussian(6, d, 0.0, 1.0, 7), 70);
        let (pf, pfl) =
            patient_matched_frechet(&same, &real, &patients, MATCHED_SPLITS, &mut rng).unwrap();
        assert!(pf / pfl < 0.7, "same patients, patient ratio {}", pf / pfl);
        // One patient: no split without sharing it.
        assert!(patient_matched_frechet(&other, &real[..8], &patients[..8], 5, &mut rng).is_none());
        // Mismatched lengths are refused, not indexed out of bounds.
        assert!(patient_matched_frechet(&other, &real, &patients[..8], 5, &mut rng).is_none());
    }

    #[test]
    fn jacobi_recovers_a_known_spectrum() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
        let (mut e, _) = jacobi_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        e.sort_by(f64::total_cmp);
        assert!((e[0] - 1.0).abs() < 1e-12 && (e[1] - 3.0).abs() < 1e-12);
        let r = sym_sqrt(&[4.0, 0.0, 0.0, 9.0], 2);
        assert!((r[0] - 2.0).abs() < 1e-12 && (r[3] - 3.0).abs() < 1e-12 && r[1].abs() < 1e-12);
    }
}
