//! Planning a synthetic database: patients (diagnosis, device, demographics, voice),
//! their recordings, and the class of every cycle.

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::icbhi::{AcquisitionMode, ChestLocation, Demographics, Device, RecordingName, Sex};
use crate::label::CycleLabel;
use crate::synthetic::signal::{gauss, uniform};
use crate::synthetic::{SynthConfig, allocate, stream_rng};

/// Diagnosis, share of ICBHI's 126 patients, crackle and wheeze propensity, severity (0..1).
const DIAGNOSES: [(&str, f64, f64, f64, f64); 8] = [
    ("COPD", 64.0, 1.0, 0.6, 0.85),
    ("Healthy", 26.0, 0.02, 0.015, 0.0),
    ("URTI", 14.0, 0.12, 0.08, 0.15),
    ("Bronchiectasis", 7.0, 0.9, 0.2, 0.8),
    ("Pneumonia", 6.0, 0.8, 0.15, 0.7),
    ("Bronchiolitis", 6.0, 0.5, 0.5, 0.5),
    ("LRTI", 2.0, 0.4, 0.2, 0.5),
    ("Asthma", 1.0, 0.1, 0.9, 0.6),
];

/// Devices and their number of recordings in the real database.
pub(super) const DEVICES: [(Device, f64); 4] = [
    (Device::AkgC417L, 646.0),
    (Device::Meditron, 127.0),
    (Device::LittC2SE, 87.0),
    (Device::Litt3200, 60.0),
];

/// Acoustic traits of one patient, drawn once.
#[derive(Debug, Clone)]
pub(super) struct Voice {
    pub(super) tilt_db_per_octave: f64,
    pub(super) level_dbfs: f64,
    pub(super) insp_fraction: f64,
    pub(super) exp_darkness: f64,
    pub(super) heart_rate_bpm: f64,
    pub(super) heart_gain: f64,
    pub(super) crackle_freq_hz: f64,
    pub(super) crackle_ms: (f64, f64),
    pub(super) crackle_rel: f64,
    pub(super) crackle_count: f64,
    pub(super) wheeze_f0_hz: f64,
    pub(super) wheeze_harmonics: usize,
    pub(super) wheeze_rolloff: f64,
    pub(super) wheeze_level_db: f64,
    pub(super) hum: Option<(f64, f64)>,
    pub(super) clicks_per_s: f64,
    pub(super) beeps_per_s: f64,
}

/// One synthetic patient: diagnosis, propensities, device, demographics and voice.
#[derive(Debug, Clone)]
pub(super) struct Patient {
    pub(super) number: u32,
    pub(super) diagnosis: &'static str,
    pub(super) crackle_w: f64,
    pub(super) wheeze_w: f64,
    pub(super) device: Device,
    pub(super) bits: u16,
    pub(super) upconverted: bool,
    pub(super) demographics: Demographics,
    pub(super) voice: Voice,
}

/// One planned recording: its patient (index), name and cycle labels.
#[derive(Debug, Clone)]
pub(super) struct RecordingPlan {
    pub(super) patient: usize,
    pub(super) name: RecordingName,
    pub(super) labels: Vec<CycleLabel>,
}

fn log_uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    (uniform(rng, lo.ln(), hi.ln())).exp()
}

fn draw_voice(rng: &mut ChaCha8Rng, severity: f64) -> Voice {
    let child_like = rng.random_bool(0.2);
    Voice {
        tilt_db_per_octave: 0.6 * gauss(rng),
        level_dbfs: -28.0 + 14.0 * severity + 3.0 * gauss(rng),
        insp_fraction: uniform(rng, 0.33, 0.45),
        exp_darkness: uniform(rng, 0.5, 2.5),
        heart_rate_bpm: if child_like {
            uniform(rng, 90.0, 130.0)
        } else {
            uniform(rng, 58.0, 95.0)
        },
        heart_gain: uniform(rng, 0.05, 0.4),
        crackle_freq_hz: log_uniform(rng, 150.0, 750.0),
        crackle_ms: {
            let a = uniform(rng, 5.0, 15.0);
            (a, (a + uniform(rng, 3.0, 10.0)).min(25.0))
        },
        crackle_rel: uniform(rng, 0.25, 1.8),
        crackle_count: uniform(rng, 3.0, 10.0),
        wheeze_f0_hz: log_uniform(rng, 120.0, 700.0),
        wheeze_harmonics: rng.random_range(1..=4),
        wheeze_rolloff: uniform(rng, 0.8, 2.0),
        wheeze_level_db: uniform(rng, -40.0, -12.0),
        hum: rng.random_bool(0.2).then(|| {
            (
                if rng.random_bool(0.5) { 50.0 } else { 60.0 },
                uniform(rng, -30.0, -18.0),
            )
        }),
        clicks_per_s: if rng.random_bool(0.3) {
            uniform(rng, 0.05, 0.4)
        } else {
            0.0
        },
        beeps_per_s: if rng.random_bool(0.25) {
            uniform(rng, 0.2, 0.6)
        } else {
            0.0
        },
    }
}

fn draw_demographics(rng: &mut ChaCha8Rng, diagnosis: &str) -> Demographics {
    let child_share = match diagnosis {
        "Bronchiolitis" => 1.0,
        "URTI" | "Healthy" => 0.5,
        "LRTI" | "Asthma" => 0.3,
        _ => 0.0,
    };
    let child = rng.random_bool(child_share);
    let sex = Some(if rng.random_bool(0.5) {
        Sex::Female
    } else {
        Sex::Male
    });
    if child {
        let age = if diagnosis == "Bronchiolitis" {
            (rng.random_range(1..=12) as f32) * 0.25
        } else {
            rng.random_range(1..=16) as f32
        };
        let height = (75.0 + 6.0 * age + 4.0 * gauss(rng) as f32).round();
        let weight =
            ((height / 100.0).powi(2) * (16.0 + 1.5 * gauss(rng) as f32) * 10.0).round() / 10.0;
        Demographics {
            age_years: Some(age),
            sex,
            adult_bmi: None,
            child_weight_kg: Some(weight),
            child_height_cm: Some(height),
        }
    } else {
        let age = match diagnosis {
            "COPD" => rng.random_range(55..=88),
            "Healthy" | "URTI" => rng.random_range(18..=45),
            _ => rng.random_range(25..=85),
        } as f32;
        Demographics {
            age_years: Some(age),
            sex,
            adult_bmi: Some(
                ((25.0 + 4.0 * gauss(rng)).clamp(16.0, 42.0) * 100.0).round() as f32 / 100.0,
            ),
            child_weight_kg: None,
            child_height_cm: None,
        }
    }
}

/// Draws the patients: diagnoses and devices in ICBHI's proportions, then each patient's
/// propensities, bit depth, demographics and voice.
pub(super) fn plan_patients(cfg: &SynthConfig) -> Vec<Patient> {
    let mut rng = stream_rng(cfg.seed, 0);
    let n = cfg.patients;
    let mut diagnoses: Vec<usize> = allocate(n, &DIAGNOSES.map(|d| d.1), false)
        .into_iter()
        .enumerate()
        .flat_map(|(i, c)| std::iter::repeat_n(i, c))
        .collect();
    diagnoses.shuffle(&mut rng);
    let mut devices: Vec<Device> = allocate(n, &DEVICES.map(|d| d.1), true)
        .into_iter()
        .enumerate()
        .flat_map(|(i, c)| std::iter::repeat_n(DEVICES[i].0, c))
        .collect();
    devices.shuffle(&mut rng);
    let mut meditrons = 0;
    (0..n)
        .map(|i| {
            let mut prng = stream_rng(cfg.seed, 1 + i as u64);
            let (diagnosis, _, cw, ww, severity) = DIAGNOSES[diagnoses[i]];
            let factor = (0.7 * gauss(&mut prng)).exp();
            let severity = (severity + 0.1 * gauss(&mut prng)).clamp(0.0, 1.0);
            let device = devices[i];
            // 44.1 kHz files are 24-bit, except about half the Meditron ones (16-bit), as in ICBHI.
            let (bits, upconverted) = match device {
                Device::Litt3200 => (16, false),
                Device::Meditron => {
                    meditrons += 1;
                    if meditrons % 2 == 1 {
                        (16, false)
                    } else {
                        (24, true)
                    }
                }
                _ => (24, false),
            };
            Patient {
                number: 101 + i as u32,
                diagnosis,
                crackle_w: (cw * factor).max(1e-3),
                wheeze_w: (ww * (0.7 * gauss(&mut prng)).exp()).max(1e-3),
                device,
                bits,
                upconverted,
                demographics: draw_demographics(&mut prng, diagnosis),
                voice: draw_voice(&mut prng, severity),
            }
        })
        .collect()
}

/// Plans 1-2 recordings per patient (chest locations, single or multichannel) with their
/// cycle counts; every cycle starts normal.
pub(super) fn plan_recordings(cfg: &SynthConfig, patients: &[Patient]) -> Vec<RecordingPlan> {
    let mut rng = stream_rng(cfg.seed, u64::from(u32::MAX));
    let mut plans = Vec::new();
    for (p, patient) in patients.iter().enumerate() {
        let n_rec = rng.random_range(cfg.recordings_per_patient[0]..=cfg.recordings_per_patient[1]);
        let mut locations = ChestLocation::ALL.to_vec();
        locations.shuffle(&mut rng);
        let multichannel = n_rec > 1 && patient.device == Device::AkgC417L && rng.random_bool(0.6);
        for j in 0..n_rec {
            let (index, mode) = if multichannel {
                ("1b1".to_string(), AcquisitionMode::MultiChannel)
            } else {
                (format!("{}b1", j + 1), AcquisitionMode::SingleChannel)
            };
            let n_cycles =
                rng.random_range(cfg.cycles_per_recording[0]..=cfg.cycles_per_recording[1]);
            plans.push(RecordingPlan {
                patient: p,
                name: RecordingName {
                    patient: patient.number,
                    index,
                    location: locations[j % locations.len()],
                    mode,
                    device: patient.device,
                },
                labels: vec![CycleLabel::Normal; n_cycles],
            });
        }
    }
    plans
}

/// Assigns exact class quotas (`round(N * share)`) to cycles, each drawn without replacement
/// with probability proportional to the patient's propensity (Efraimidis-Spirakis keys):
/// `both` first, then `wheeze`, then `crackle`; the rest stay normal.
pub(super) fn assign_labels(cfg: &SynthConfig, patients: &[Patient], plans: &mut [RecordingPlan]) {
    let mut rng = stream_rng(cfg.seed, u64::from(u32::MAX) + 1);
    let slots: Vec<(usize, usize)> = plans
        .iter()
        .enumerate()
        .flat_map(|(r, plan)| (0..plan.labels.len()).map(move |c| (r, c)))
        .collect();
    let total = slots.len();
    let sum: f64 = cfg.class_mix.iter().sum();
    let quota = |k: usize| ((cfg.class_mix[k] / sum) * total as f64).round() as usize;
    let mut free: Vec<bool> = vec![true; total];
    for label in [CycleLabel::Both, CycleLabel::Wheeze, CycleLabel::Crackle] {
        let mut keys: Vec<(f64, usize)> = slots
            .iter()
            .enumerate()
            .filter(|(i, _)| free[*i])
            .map(|(i, &(r, _))| {
                let p = &patients[plans[r].patient];
                let w = match label {
                    CycleLabel::Both => p.crackle_w * p.wheeze_w,
                    CycleLabel::Wheeze => p.wheeze_w,
                    _ => p.crackle_w,
                };
                let u: f64 = rng.random::<f64>().max(1e-300);
                (u.ln() / w, i)
            })
            .collect();
        keys.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for &(_, i) in keys.iter().take(quota(label.index())) {
            free[i] = false;
            let (r, c) = slots[i];
            plans[r].labels[c] = label;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_meet_the_quotas_and_follow_the_patients() {
        let cfg = SynthConfig::icbhi(3);
        let patients = plan_patients(&cfg);
        let mut plans = plan_recordings(&cfg, &patients);
        assign_labels(&cfg, &patients, &mut plans);
        let mut counts = [0usize; 4];
        let mut healthy_abnormal = 0;
        for p in &plans {
            for l in &p.labels {
                counts[l.index()] += 1;
                if patients[p.patient].diagnosis == "Healthy" && *l != CycleLabel::Normal {
                    healthy_abnormal += 1;
                }
            }
        }
        let total: usize = counts.iter().sum();
        for (k, share) in cfg.class_mix.iter().enumerate() {
            assert_eq!(
                counts[k],
                if k == 0 {
                    counts[0]
                } else {
                    (share * total as f64).round() as usize
                }
            );
        }
        assert!(
            healthy_abnormal * 20 < total,
            "{healthy_abnormal} abnormal cycles from healthy patients"
        );
        // Diagnoses and devices follow ICBHI's mix.
        assert_eq!(
            patients.iter().filter(|p| p.diagnosis == "COPD").count(),
            20
        );
        for d in Device::ALL {
            assert!(patients.iter().any(|p| p.device == d), "{d:?}");
        }
    }
}
