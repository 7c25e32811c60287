//! The synthetic ICBHI 2017 database.

use std::collections::BTreeMap;
use std::path::Path;

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use realfft::RealFftPlanner;

use super::signal::{
    self, BreathSpectrum, Wheeze, add_crackle, add_heart_sound, add_wheeze, db_to_amp,
    filter_in_place, gauss, rms, shaped_noise, uniform,
};
use super::{
    SynthConfig, SynthReport, allocate, format_number, prepare_output, stream_rng, write_report,
};
use crate::error::Result;
use crate::files;
use crate::format::Format;
use crate::icbhi::{
    AcquisitionMode, ChestLocation, DEMOGRAPHICS_FILE, DIAGNOSIS_FILE, Demographics, Device,
    IcbhiSplit, OFFICIAL_AUDIO_DIR, RecordingName, RespiratoryCycle, SPLIT_FILE, Sex,
    format_annotations,
};
use crate::label::CycleLabel;
use crate::split::assign_groups;

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
const DEVICES: [(Device, f64); 4] = [
    (Device::AkgC417L, 646.0),
    (Device::Meditron, 127.0),
    (Device::LittC2SE, 87.0),
    (Device::Litt3200, 60.0),
];

/// Log-normal cycle durations per class: (location in s, spread). The spreads are
/// ln(p75/p25)/1.349 of the real annotations (`annotations.cycle_duration_s` of
/// icbhi-statistics.json); the locations are chosen so that, after truncation to 1.5-6 s, the
/// medians equal the real ones (2.443, 2.629, 2.584, 2.904 s).
const CYCLE_DURATION: [(f64, f64); 4] =
    [(2.149, 0.48), (2.563, 0.355), (2.394, 0.46), (2.89, 0.344)];

/// Acoustic traits of one patient, drawn once.
#[derive(Debug, Clone)]
struct Voice {
    tilt_db_per_octave: f64,
    level_dbfs: f64,
    insp_fraction: f64,
    exp_darkness: f64,
    heart_rate_bpm: f64,
    heart_gain: f64,
    crackle_freq_hz: f64,
    crackle_ms: (f64, f64),
    crackle_rel: f64,
    crackle_count: f64,
    wheeze_f0_hz: f64,
    wheeze_harmonics: usize,
    wheeze_rolloff: f64,
    wheeze_level_db: f64,
    hum: Option<(f64, f64)>,
    clicks_per_s: f64,
    beeps_per_s: f64,
}

#[derive(Debug, Clone)]
struct Patient {
    number: u32,
    diagnosis: &'static str,
    crackle_w: f64,
    wheeze_w: f64,
    device: Device,
    bits: u16,
    upconverted: bool,
    demographics: Demographics,
    voice: Voice,
}

#[derive(Debug, Clone)]
struct RecordingPlan {
    patient: usize,
    name: RecordingName,
    labels: Vec<CycleLabel>,
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

fn plan_patients(cfg: &SynthConfig) -> Vec<Patient> {
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

fn plan_recordings(cfg: &SynthConfig, patients: &[Patient]) -> Vec<RecordingPlan> {
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
fn assign_labels(cfg: &SynthConfig, patients: &[Patient], plans: &mut [RecordingPlan]) {
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

/// One cycle's sample ranges.
#[derive(Debug, Clone, Copy)]
struct Timing {
    start: usize,
    insp_end: usize,
    exp_end: usize,
    end: usize,
    amp: f64,
}

fn smoothstep_log(f: f64, lo: f64, hi: f64) -> f64 {
    if f <= lo {
        0.0
    } else if f >= hi {
        1.0
    } else {
        let t = (f / lo).ln() / (hi / lo).ln();
        t * t * (3.0 - 2.0 * t)
    }
}

fn bump(f: f64, lo: f64, hi: f64) -> f64 {
    smoothstep_log(f, lo / 1.5, lo) * (1.0 - smoothstep_log(f, hi, hi * 1.5))
}

fn raw_colour_db(device: Device, f: f64) -> f64 {
    match device {
        Device::AkgC417L => {
            1.5 * smoothstep_log(f, 1000.0, 4000.0) - 3.0 * (1.0 - smoothstep_log(f, 25.0, 60.0))
        }
        Device::LittC2SE => 2.0 * bump(f, 100.0, 300.0) - 4.0 * smoothstep_log(f, 800.0, 2000.0),
        Device::Meditron => 2.0 * bump(f, 200.0, 800.0) - 2.0 * smoothstep_log(f, 2000.0, 5000.0),
        Device::Litt3200 => 3.0 * bump(f, 80.0, 400.0) - 10.0 * smoothstep_log(f, 800.0, 1800.0),
    }
}

/// Frequency response of a device in dB. The three 44.1 kHz devices are coloured relative to
/// their (recording-weighted) mean, so the corpus-average spectrum keeps the real profile.
fn colour_db(device: Device, f: f64) -> f64 {
    if device == Device::Litt3200 {
        return raw_colour_db(device, f);
    }
    let (mut mean, mut total) = (0.0, 0.0);
    for (d, w) in DEVICES {
        if d != Device::Litt3200 {
            mean += w * raw_colour_db(d, f);
            total += w;
        }
    }
    raw_colour_db(device, f) - mean / total
}

fn round_ms(t: f64) -> f64 {
    (t * 1000.0).round() / 1000.0
}

fn cycle_duration(rng: &mut ChaCha8Rng, label: CycleLabel) -> f64 {
    let (median, sigma) = CYCLE_DURATION[label.index()];
    for _ in 0..64 {
        let d = median * (sigma * gauss(rng)).exp();
        if (1.5..=6.0).contains(&d) {
            return d;
        }
    }
    median
}

/// Synthesises one recording: returns the samples at the device's rate and its cycles.
fn synth_recording(
    plan: &RecordingPlan,
    patient: &Patient,
    spectrum: &BreathSpectrum,
    rng: &mut ChaCha8Rng,
) -> (Vec<f32>, Vec<RespiratoryCycle>) {
    let v = &patient.voice;
    let device = patient.device;
    let sr = device.sample_rate();
    let sr_f = f64::from(sr);
    let to_samples = |t: f64| (t * sr_f).round() as usize;

    // Annotation times on a millisecond grid; 4 kHz recordings end exactly at the last cycle.
    let eof_exact = device == Device::Litt3200;
    let lead = if eof_exact {
        0.0
    } else {
        round_ms(uniform(rng, 0.05, 2.5))
    };
    let mut cycles = Vec::with_capacity(plan.labels.len());
    let mut t = lead;
    for &label in &plan.labels {
        let end = round_ms(t + cycle_duration(rng, label));
        cycles.push(RespiratoryCycle {
            start_s: t,
            end_s: end,
            crackles: label.has_crackles(),
            wheezes: label.has_wheezes(),
        });
        t = end;
    }
    let last_end = t;
    let tail = if eof_exact {
        0.0
    } else {
        round_ms(uniform(rng, 0.02, 0.9))
    };
    let n = to_samples(last_end + tail);

    // Breathing envelopes, with unannotated partial cycles before and after.
    let mut timings: Vec<Timing> = Vec::new();
    let make_timing = |start_s: f64, end_s: f64, rng: &mut ChaCha8Rng| {
        let d = end_s - start_s;
        let r = (v.insp_fraction + 0.03 * gauss(rng)).clamp(0.25, 0.55);
        Timing {
            start: to_samples(start_s.max(0.0)),
            insp_end: to_samples((start_s + r * d).max(0.0)),
            exp_end: to_samples((start_s + 0.92 * d).max(0.0)),
            end: to_samples(end_s.max(0.0)),
            amp: db_to_amp(1.5 * gauss(rng)),
        }
    };
    let before = make_timing(lead - 2.6, lead, rng);
    let annotated: Vec<Timing> = cycles
        .iter()
        .map(|c| make_timing(c.start_s, c.end_s, rng))
        .collect();
    let after = make_timing(last_end, last_end + 3.0, rng);
    timings.push(before);
    timings.extend(annotated.iter().copied());
    timings.push(after);

    let mut env_i = vec![0.0f32; n];
    let mut env_e = vec![0.0f32; n];
    let exp_gain = uniform(rng, 0.45, 0.8);
    for tm in &timings {
        for (k, slot) in env_i
            .iter_mut()
            .enumerate()
            .take(tm.insp_end.min(n))
            .skip(tm.start)
        {
            let u = (k - tm.start) as f64 / (tm.insp_end - tm.start).max(1) as f64;
            *slot = (tm.amp * (std::f64::consts::PI * u).sin()) as f32;
        }
        for (k, slot) in env_e
            .iter_mut()
            .enumerate()
            .take(tm.exp_end.min(n))
            .skip(tm.insp_end)
        {
            let u = (k - tm.insp_end) as f64 / (tm.exp_end - tm.insp_end).max(1) as f64;
            let s = (std::f64::consts::PI * u).sin();
            *slot = (tm.amp * exp_gain * s * s.sqrt()) as f32;
        }
    }

    let mut planner = RealFftPlanner::<f32>::new();
    let tilt = |f: f64| v.tilt_db_per_octave * (f.max(30.0) / 250.0).log2();
    let dark = |f: f64| v.exp_darkness * 0.5 * (f.max(300.0) / 300.0).log2();
    let base = |f: f64| spectrum.psd_db(f);
    // Expiration is darker than inspiration.
    let n_i = shaped_noise(rng, &mut planner, n, sr, |f| db_to_amp(base(f) + tilt(f)));
    let n_e = shaped_noise(rng, &mut planner, n, sr, |f| {
        db_to_amp(base(f) + tilt(f) - 2.0 * dark(f))
    });
    let floor = 0.05f32;
    let mut x: Vec<f32> = (0..n)
        .map(|k| (env_i[k] + floor) * n_i[k] + env_e[k] * n_e[k])
        .collect();

    let annotated_range = to_samples(lead).min(n)..to_samples(last_end).min(n);
    let overall = rms(&x[annotated_range.clone()]).max(1e-9);
    let cycle_rms: Vec<f64> = annotated
        .iter()
        .map(|tm| rms(&x[tm.start.min(n)..tm.end.min(n)]).max(1e-9))
        .collect();

    // Adventitious sounds. Annotators miss faint ones: a normal cycle of a patient prone to
    // crackles or wheezes sometimes carries a few faint crackles or a short faint wheeze.
    for ((c, tm), &crms) in cycles.iter().zip(&annotated).zip(&cycle_rms) {
        let faint_crackles = !c.crackles && rng.random_bool((0.5 * patient.crackle_w).min(0.2));
        let faint_wheeze = !c.wheezes && rng.random_bool((0.5 * patient.wheeze_w).min(0.15));
        if c.crackles || faint_crackles {
            let (count, gain) = if c.crackles {
                (
                    ((v.crackle_count * uniform(rng, 0.6, 1.4)).round() as usize).max(2),
                    1.0,
                )
            } else {
                (rng.random_range(1..=2), 0.3)
            };
            let fine = v.crackle_freq_hz >= 350.0;
            for _ in 0..count {
                let at = if fine || rng.random_bool(0.7) {
                    let (lo, hi) = if fine { (0.35, 0.97) } else { (0.0, 0.6) };
                    tm.start + ((tm.insp_end - tm.start) as f64 * uniform(rng, lo, hi)) as usize
                } else {
                    tm.insp_end
                        + ((tm.exp_end - tm.insp_end) as f64 * uniform(rng, 0.0, 0.5)) as usize
                };
                let dur = uniform(rng, v.crackle_ms.0, v.crackle_ms.1) / 1000.0;
                let freq = v.crackle_freq_hz * uniform(rng, 0.8, 1.25);
                let amp = gain * v.crackle_rel * crms * uniform(rng, 0.5, 1.5);
                let phase = uniform(rng, 0.0, 2.0 * std::f64::consts::PI);
                add_crackle(&mut x, sr, at, dur, freq, amp, phase);
            }
        }
        if c.wheezes || faint_wheeze {
            let (events, offset_db, span) = if c.wheezes {
                (if rng.random_bool(0.3) { 2 } else { 1 }, 0.0, (0.35, 0.9))
            } else {
                (1, -12.0, (0.15, 0.35))
            };
            for _ in 0..events {
                let expiratory = rng.random_bool(0.7);
                let (p0, p1) = if expiratory {
                    (tm.insp_end, tm.exp_end)
                } else {
                    (tm.start, tm.insp_end)
                };
                let phase_len = p1.saturating_sub(p0);
                let min_len = (0.12 * sr_f) as usize;
                let len = ((phase_len as f64 * uniform(rng, span.0, span.1)) as usize).max(min_len);
                let start =
                    p0 + ((phase_len.saturating_sub(len)) as f64 * rng.random::<f64>()) as usize;
                let f0_start = (v.wheeze_f0_hz * uniform(rng, 0.85, 1.15)).clamp(100.0, 1000.0);
                let f0_end = (f0_start * uniform(rng, 0.8, 1.25)).clamp(100.0, 1000.0);
                let w = Wheeze {
                    start,
                    len,
                    f0_start,
                    f0_end,
                    harmonics: v.wheeze_harmonics,
                    rolloff: v.wheeze_rolloff,
                    amp: crms * db_to_amp(v.wheeze_level_db + offset_db + uniform(rng, -4.0, 4.0)),
                    vibrato: (uniform(rng, 3.0, 8.0), uniform(rng, 0.0, 0.02)),
                };
                add_wheeze(&mut x, sr, &w);
            }
        }
    }

    // Heart sounds through the whole recording.
    let rr = 60.0 / v.heart_rate_bpm;
    let mut beat = uniform(rng, 0.0, rr);
    let heart_amp = v.heart_gain * overall;
    while beat < n as f64 / sr_f {
        let r = rr * (1.0 + 0.03 * gauss(rng));
        add_heart_sound(
            &mut x,
            sr,
            to_samples(beat),
            uniform(rng, 0.08, 0.12),
            uniform(rng, 30.0, 50.0),
            uniform(rng, 50.0, 90.0),
            heart_amp,
        );
        let s2 = beat + uniform(rng, 0.28, 0.34) * (r / 0.8).sqrt();
        add_heart_sound(
            &mut x,
            sr,
            to_samples(s2),
            uniform(rng, 0.06, 0.09),
            uniform(rng, 40.0, 60.0),
            uniform(rng, 70.0, 110.0),
            heart_amp * uniform(rng, 0.6, 0.9),
        );
        beat += r;
    }

    // Monitor beeps (steady tones, no glide) in some recordings: wheeze-like distractors.
    if v.beeps_per_s > 0.0 {
        let f = uniform(rng, 400.0, 1000.0);
        let mut tb = -(1.0 - rng.random::<f64>()).ln() / v.beeps_per_s;
        while tb < n as f64 / sr_f {
            let w = Wheeze {
                start: to_samples(tb),
                len: to_samples(uniform(rng, 0.1, 0.25)),
                f0_start: f,
                f0_end: f,
                harmonics: 1,
                rolloff: 1.0,
                amp: overall * db_to_amp(uniform(rng, -38.0, -22.0)),
                vibrato: (1.0, 0.0),
            };
            add_wheeze(&mut x, sr, &w);
            tb += -(1.0 - rng.random::<f64>()).ln() / v.beeps_per_s;
        }
    }

    // Mains hum and stethoscope handling clicks in some recordings.
    if let Some((f, level)) = v.hum {
        let a = overall * db_to_amp(level) * std::f64::consts::SQRT_2;
        for (k, s) in x.iter_mut().enumerate() {
            let ph = 2.0 * std::f64::consts::PI * f * k as f64 / sr_f;
            *s += (a * (ph.sin() + 0.5 * (2.0 * ph).sin() + 0.3 * (3.0 * ph).sin())) as f32;
        }
    }
    if v.clicks_per_s > 0.0 {
        let mut tc = -(1.0 - rng.random::<f64>()).ln() / v.clicks_per_s;
        while tc < n as f64 / sr_f {
            let dur = uniform(rng, 0.002, 0.006);
            add_crackle(
                &mut x,
                sr,
                to_samples(tc),
                dur,
                uniform(rng, 800.0, 1500.0),
                overall * uniform(rng, 1.0, 4.0),
                uniform(rng, 0.0, std::f64::consts::TAU),
            );
            tc += -(1.0 - rng.random::<f64>()).ln() / v.clicks_per_s;
        }
    }

    // Background noise at a varied SNR, slightly flatter than breathing.
    let snr_db = uniform(rng, 12.0, 30.0);
    let bg = shaped_noise(rng, &mut planner, n, sr, |f| {
        db_to_amp(base(f) + 0.5 * (f.max(250.0) / 250.0).log2())
    });
    let bg_amp = (overall * db_to_amp(-snr_db)) as f32;
    for (s, b) in x.iter_mut().zip(&bg) {
        *s += bg_amp * b;
    }

    // Device colouring and DC blocking.
    filter_in_place(&mut planner, &mut x, sr, |f| {
        let hp = (f * f / (f * f + 5.0 * 5.0)).sqrt();
        hp * db_to_amp(colour_db(device, f))
    });

    // Recording level (patient level plus a per-recording offset).
    let target = db_to_amp(v.level_dbfs + 1.5 * gauss(rng));
    let now = rms(&x[annotated_range]).max(1e-12);
    let g = (target / now) as f32;
    x.iter_mut().for_each(|s| *s *= g);
    (x, cycles)
}

/// Writes a synthetic ICBHI 2017 database into `out`.
///
/// Layout: `ICBHI_final_database/<name>.wav` + `<name>.txt` (4 kHz 16-bit for Litt3200,
/// 44.1 kHz 24-bit for AKGC417L and LittC2SE, 44.1 kHz 16-bit or up-converted 24-bit for
/// Meditron), `ICBHI_challenge_train_test.txt` (CRLF, patient-disjoint 60/40),
/// `ICBHI_Challenge_diagnosis.txt` (TAB, LF), `ICBHI_Challenge_demographic_information.txt`
/// (TAB, CRLF, `NA`), and `auscult-synth.json` with the config and the report.
///
/// Each recording is 1.5-6 s breathing cycles (log-normal durations per class from the real
/// statistics, millisecond annotation grid, unannotated head and tail except on 4 kHz files,
/// whose last cycle ends exactly at the end of the file). Breathing is noise whose spectrum
/// follows the real mean Mel profile of normal cycles, with inspiratory/expiratory envelopes,
/// per-patient spectral tilt and level. Crackles are 5-25 ms damped transients scattered
/// through the cycle (fine: late inspiratory, high; coarse: early, low); wheezes are gliding
/// harmonic tones of 100-1000 Hz lasting at least 120 ms, mostly expiratory. Heart sounds,
/// mains hum, handling clicks, background noise at 12-30 dB SNR and device colouring are
/// added. Diagnoses follow ICBHI's mix; crackle and wheeze propensities depend on the
/// diagnosis and the patient, and the class quotas are met exactly.
pub fn synth_icbhi(out: &Path, cfg: &SynthConfig) -> Result<SynthReport> {
    cfg.validate()?;
    prepare_output(out, cfg.overwrite)?;
    let audio_dir = out.join(OFFICIAL_AUDIO_DIR);
    files::create_dir_all(&audio_dir)?;

    let patients = plan_patients(cfg);
    let mut plans = plan_recordings(cfg, &patients);
    assign_labels(cfg, &patients, &mut plans);

    // Patient-disjoint split, stratified by class.
    let mut per_patient = vec![vec![0usize; 4]; patients.len()];
    for plan in &plans {
        for l in &plan.labels {
            per_patient[plan.patient][l.index()] += 1;
        }
    }
    let bins = assign_groups(
        &per_patient,
        &[1.0 - cfg.test_fraction, cfg.test_fraction],
        cfg.seed,
    );
    let split_of = |p: usize| {
        if bins[p] == 1 {
            IcbhiSplit::Test
        } else {
            IcbhiSplit::Train
        }
    };

    let spectrum = BreathSpectrum::design();
    let written: Vec<Result<(usize, f64)>> = plans
        .par_iter()
        .enumerate()
        .map(|(r, plan)| {
            let patient = &patients[plan.patient];
            let mut rng = stream_rng(cfg.seed, (1u64 << 40) + r as u64);
            let (samples, cycles) = synth_recording(plan, patient, &spectrum, &mut rng);
            let stem = plan.name.stem();
            signal::write_pcm_wav(
                &audio_dir.join(format!("{stem}.wav")),
                &samples,
                patient.device.sample_rate(),
                patient.bits,
                patient.upconverted,
            )?;
            files::write_atomic(
                &audio_dir.join(format!("{stem}.txt")),
                format_annotations(&cycles).as_bytes(),
            )?;
            Ok((
                samples.len(),
                samples.len() as f64 / f64::from(patient.device.sample_rate()),
            ))
        })
        .collect();
    let mut total_seconds = 0.0;
    for w in written {
        total_seconds += w?.1;
    }

    let mut diagnosis = String::new();
    let mut demographics = String::new();
    for p in &patients {
        diagnosis.push_str(&format!("{}\t{}\n", p.number, p.diagnosis));
        let d = &p.demographics;
        let num = |x: Option<f32>| x.map_or("NA".to_string(), |v| format_number(f64::from(v), 2));
        let sex = match d.sex {
            Some(Sex::Female) => "F",
            Some(Sex::Male) => "M",
            None => "NA",
        };
        demographics.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\r\n",
            p.number,
            num(d.age_years),
            sex,
            num(d.adult_bmi),
            num(d.child_weight_kg),
            num(d.child_height_cm)
        ));
    }
    files::write_atomic(&out.join(DIAGNOSIS_FILE), diagnosis.as_bytes())?;
    files::write_atomic(&out.join(DEMOGRAPHICS_FILE), demographics.as_bytes())?;

    let mut sorted: Vec<&RecordingPlan> = plans.iter().collect();
    sorted.sort_by_key(|p| p.name.stem());
    let mut split_text = String::new();
    for plan in &sorted {
        split_text.push_str(&format!(
            "{}\t{}\r\n",
            plan.name.stem(),
            split_of(plan.patient).name()
        ));
    }

    let mut report = SynthReport {
        format: Format::Icbhi,
        out: out.to_path_buf(),
        seed: cfg.seed,
        patients: patients.len(),
        recordings: plans.len(),
        classes: CycleLabel::ALL
            .iter()
            .map(|l| (l.name().to_string(), 0))
            .collect(),
        splits: BTreeMap::new(),
        sample_rates: BTreeMap::new(),
        bit_depths: BTreeMap::new(),
        devices: BTreeMap::new(),
        header_only_files: 0,
        total_seconds,
        config: cfg.clone(),
    };
    for plan in &plans {
        let patient = &patients[plan.patient];
        let split = report
            .splits
            .entry(split_of(plan.patient).name().to_string())
            .or_insert_with(|| {
                CycleLabel::ALL
                    .iter()
                    .map(|l| (l.name().to_string(), 0))
                    .collect()
            });
        for l in &plan.labels {
            *split.entry(l.name().to_string()).or_default() += 1;
            *report.classes.entry(l.name().to_string()).or_default() += 1;
        }
        *report
            .sample_rates
            .entry(patient.device.sample_rate())
            .or_default() += 1;
        *report
            .bit_depths
            .entry(u32::from(patient.bits))
            .or_default() += 1;
        *report
            .devices
            .entry(patient.device.code().to_string())
            .or_default() += 1;
    }
    write_report(out, &report)?;
    // The split file is written last: its presence marks a finished database.
    files::write_atomic(&out.join(SPLIT_FILE), split_text.as_bytes())?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycle_durations_have_the_real_medians_within_1_5_to_6_s() {
        let mut rng = stream_rng(1, 1);
        let real = [2.443, 2.629, 2.584, 2.904];
        for label in CycleLabel::ALL {
            let mut d: Vec<f64> = (0..4001).map(|_| cycle_duration(&mut rng, label)).collect();
            assert!(d.iter().all(|x| (1.5..=6.0).contains(x)));
            d.sort_by(f64::total_cmp);
            let m = d[2000];
            assert!((m / real[label.index()] - 1.0).abs() < 0.05, "{label}: {m}");
        }
    }

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

    #[test]
    fn device_colouring_averages_to_zero_over_the_44k_devices() {
        for f in [20.0, 100.0, 500.0, 2000.0, 7000.0] {
            let mean: f64 = DEVICES
                .iter()
                .filter(|(d, _)| *d != Device::Litt3200)
                .map(|(d, w)| w * colour_db(*d, f))
                .sum::<f64>()
                / 860.0;
            assert!(mean.abs() < 1e-9, "{f} Hz: {mean}");
        }
        assert!(colour_db(Device::Litt3200, 1900.0) < -9.0);
    }
}
