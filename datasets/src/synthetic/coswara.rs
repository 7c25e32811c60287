//! The synthetic Coswara database.

use std::collections::{BTreeMap, BTreeSet};
use std::f64::consts::PI;
use std::path::Path;

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use realfft::RealFftPlanner;

use super::signal::{self, BreathSpectrum, db_to_amp, gauss, rms, shaped_noise, uniform};
use super::{SynthConfig, SynthReport, allocate, prepare_output, stream_rng, write_report};
use crate::coswara::{COMBINED_CSV, COVID_STATUSES, SoundKind};
use crate::error::{Error, Result};
use crate::files;
use crate::format::Format;

/// Shares of the `covid_status` values (in [`COVID_STATUSES`] order), roughly Coswara's.
const STATUS_SHARES: [f64; 8] = [0.55, 0.15, 0.05, 0.07, 0.05, 0.05, 0.05, 0.03];
/// Sample rates and their shares among participants (Coswara 2020-04-13: mostly 48 kHz).
const RATES: [(u32, f64); 3] = [(48_000, 0.85), (44_100, 0.12), (16_000, 0.03)];
/// Date folders used, in order.
const DATES: [&str; 3] = ["20200413", "20200415", "20200502"];
/// The real `combined_data.csv` header (36 columns).
const CSV_HEADER: [&str; 36] = [
    "id",
    "a",
    "covid_status",
    "record_date",
    "ep",
    "g",
    "l_c",
    "l_l",
    "l_s",
    "rU",
    "smoker",
    "cold",
    "ht",
    "diabetes",
    "cough",
    "ctDate",
    "ctScan",
    "ctScore",
    "diarrhoea",
    "fever",
    "loss_of_smell",
    "mp",
    "testType",
    "test_date",
    "test_status",
    "um",
    "vacc",
    "bd",
    "others_resp",
    "ftg",
    "st",
    "ihd",
    "asthma",
    "others_preexist",
    "cld",
    "pneumonia",
];
/// Localities, some with commas (quoted in the CSV) or trailing spaces, as in the real file.
const PLACES: [(&str, &str); 6] = [
    ("Bengaluru, Urban", "Karnataka"),
    ("Udaipur ", "Rajasthan"),
    ("Anantapur", "Andhra Pradesh"),
    ("Pune", "Maharashtra"),
    ("Kochi, Ernakulam", "Kerala"),
    ("Chennai", "Tamil Nadu"),
];

#[derive(Debug, Clone)]
struct Participant {
    id: String,
    date: &'static str,
    status: &'static str,
    age: u32,
    female: bool,
    place: usize,
    rate: u32,
    f0: f64,
    positive: bool,
}

fn participant_id(rng: &mut ChaCha8Rng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..28)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// A harmonic voice with three formants, `f0` jittered; `breathiness` adds noise.
fn voice(
    rng: &mut ChaCha8Rng,
    n: usize,
    sr: u32,
    f0: f64,
    formants: [f64; 3],
    breathiness: f64,
    syllables: Option<(f64, f64)>,
) -> Vec<f32> {
    let sr_f = f64::from(sr);
    let mut x = vec![0.0f32; n];
    let n_harm = ((4500.0f64.min(0.45 * sr_f)) / f0) as usize;
    let amps: Vec<f64> = (1..=n_harm)
        .map(|h| {
            let f = f0 * h as f64;
            let env: f64 = formants
                .iter()
                .enumerate()
                .map(|(i, &fc)| (1.0 / (i + 1) as f64) / (1.0 + ((f - fc) / 90.0).powi(2)))
                .sum();
            env / (h as f64).sqrt()
        })
        .collect();
    let mut phases = vec![0.0f64; n_harm];
    let jitter_rate = uniform(rng, 4.0, 7.0);
    for (k, s) in x.iter_mut().enumerate() {
        let t = k as f64 / sr_f;
        let f = f0 * (1.0 + 0.015 * (2.0 * PI * jitter_rate * t).sin());
        let mut v = 0.0;
        for (h, ph) in phases.iter_mut().enumerate() {
            *ph += 2.0 * PI * f * (h + 1) as f64 / sr_f;
            v += amps[h] * ph.sin();
        }
        let env = match syllables {
            Some((rate, duty)) => {
                let u = (t * rate).fract();
                if u < duty { (PI * u / duty).sin() } else { 0.0 }
            }
            None => (PI * (k as f64 / n as f64)).sin().powf(0.3),
        };
        *s = (env * (v + breathiness * gauss(rng))) as f32;
    }
    x
}

fn synth_sound(
    p: &Participant,
    kind: SoundKind,
    seconds: f64,
    spectrum: &BreathSpectrum,
    rng: &mut ChaCha8Rng,
) -> Vec<f32> {
    let sr = p.rate;
    let sr_f = f64::from(sr);
    let n = (seconds * sr_f) as usize;
    let mut planner = RealFftPlanner::<f32>::new();
    let breathy = if p.positive { 0.35 } else { 0.12 };
    let mut x = match kind {
        SoundKind::BreathingDeep | SoundKind::BreathingShallow => {
            let noise = shaped_noise(rng, &mut planner, n, sr, |f| {
                db_to_amp(spectrum.psd_db(f.min(2500.0)) + 2.5 * (f.max(100.0) / 100.0).log2())
            });
            let period = if kind == SoundKind::BreathingDeep {
                uniform(rng, 2.5, 4.0)
            } else {
                uniform(rng, 1.2, 2.0)
            } * if p.positive { 0.8 } else { 1.0 };
            let mut out: Vec<f32> = noise
                .iter()
                .enumerate()
                .map(|(k, &v)| {
                    let u = (k as f64 / sr_f / period).fract();
                    let env = if u < 0.4 {
                        (PI * u / 0.4).sin()
                    } else if u < 0.9 {
                        0.6 * (PI * (u - 0.4) / 0.5).sin()
                    } else {
                        0.0
                    };
                    ((env + 0.03) * f64::from(v)) as f32
                })
                .collect();
            if p.positive {
                // Occasional crackle-like transients.
                for _ in 0..(seconds * 2.0) as usize {
                    let at = rng.random_range(0..n.max(1));
                    signal::add_crackle(
                        &mut out,
                        sr,
                        at,
                        uniform(rng, 0.005, 0.02),
                        uniform(rng, 200.0, 600.0),
                        1.5,
                        0.0,
                    );
                }
            }
            out
        }
        SoundKind::CoughHeavy | SoundKind::CoughShallow => {
            let noise = shaped_noise(rng, &mut planner, n, sr, |f| {
                let band = 1.0 / (1.0 + ((f - 900.0) / 1200.0).powi(2));
                let wet = if p.positive {
                    1.0 / (1.0 + ((f - 250.0) / 200.0).powi(2))
                } else {
                    0.0
                };
                band + wet
            });
            let coughs = rng.random_range(2..=4);
            let mut env = vec![0.0f64; n];
            for c in 0..coughs {
                let start =
                    ((c as f64 + uniform(rng, 0.1, 0.4)) / coughs as f64 * n as f64) as usize;
                let tau = uniform(rng, 0.06, 0.15) * if p.positive { 1.5 } else { 1.0 };
                let gain = if kind == SoundKind::CoughHeavy {
                    1.0
                } else {
                    0.5
                };
                for (k, e) in env.iter_mut().enumerate().skip(start) {
                    let t = (k - start) as f64 / sr_f;
                    if t > 6.0 * tau {
                        break;
                    }
                    *e += gain * (1.0 - (-t / 0.004).exp()) * (-t / tau).exp();
                }
            }
            noise
                .iter()
                .zip(&env)
                .map(|(&v, &e)| (f64::from(v) * e) as f32)
                .collect()
        }
        SoundKind::CountingFast | SoundKind::CountingNormal => {
            let rate = if kind == SoundKind::CountingFast {
                4.0
            } else {
                2.5
            };
            voice(
                rng,
                n,
                sr,
                p.f0,
                [600.0, 1400.0, 2500.0],
                breathy,
                Some((rate, 0.6)),
            )
        }
        SoundKind::VowelA => voice(rng, n, sr, p.f0, [730.0, 1090.0, 2440.0], breathy, None),
        SoundKind::VowelE => voice(rng, n, sr, p.f0, [530.0, 1840.0, 2480.0], breathy, None),
        SoundKind::VowelO => voice(rng, n, sr, p.f0, [570.0, 840.0, 2410.0], breathy, None),
    };
    // Room noise at 20-40 dB SNR, then a level between -30 and -14 dBFS.
    let room = shaped_noise(rng, &mut planner, n, sr, |f| 1.0 / (1.0 + f / 300.0));
    let level = rms(&x).max(1e-9) * db_to_amp(-uniform(rng, 20.0, 40.0));
    for (s, r) in x.iter_mut().zip(&room) {
        *s += (level * f64::from(*r)) as f32;
    }
    let g = db_to_amp(uniform(rng, -30.0, -14.0)) / rms(&x).max(1e-9);
    x.iter_mut().for_each(|s| *s = (f64::from(*s) * g) as f32);
    x
}

fn seconds_for(cfg: &SynthConfig, kind: SoundKind, rng: &mut ChaCha8Rng) -> f64 {
    let s = uniform(rng, cfg.coswara_seconds[0], cfg.coswara_seconds[1]);
    match kind {
        SoundKind::BreathingDeep | SoundKind::BreathingShallow => 1.5 * s,
        _ => s,
    }
}

fn csv_row(p: &Participant, rng: &mut ChaCha8Rng) -> Vec<String> {
    let (locality, state) = PLACES[p.place];
    let date = format!("{}-{}-{}", &p.date[..4], &p.date[4..6], &p.date[6..]);
    let flag = |rng: &mut ChaCha8Rng, prob: f64| {
        if rng.random_bool(prob) {
            "True".to_string()
        } else {
            String::new()
        }
    };
    let mut row: BTreeMap<&str, String> = BTreeMap::new();
    row.insert("id", p.id.clone());
    row.insert("a", p.age.to_string());
    row.insert("covid_status", p.status.to_string());
    row.insert("record_date", date);
    row.insert("ep", "y".into());
    row.insert("g", if p.female { "female" } else { "male" }.into());
    row.insert("l_c", "India".into());
    row.insert("l_l", locality.into());
    row.insert("l_s", state.into());
    row.insert("rU", "n".into());
    row.insert("smoker", flag(rng, 0.15));
    row.insert("cough", flag(rng, if p.positive { 0.6 } else { 0.1 }));
    row.insert("fever", flag(rng, if p.positive { 0.5 } else { 0.03 }));
    row.insert("asthma", flag(rng, 0.05));
    if p.positive {
        row.insert("test_status", "p".into());
    }
    CSV_HEADER
        .iter()
        .map(|h| row.get(h).cloned().unwrap_or_default())
        .collect()
}

/// Writes a synthetic Coswara database into `out`.
///
/// Layout: `combined_data.csv` (the real 36-column header, quoted localities with commas,
/// trailing spaces, rows for a few participants whose folders are elsewhere), and
/// `YYYYMMDD/<28-character id>/` folders with the nine sounds (16-bit mono PCM at 48, 44.1 or
/// 16 kHz) and `metadata.json`. `cfg.header_only` of the files are header-only WAVs with zero
/// frames, as in the real archive. Breathing is shaped noise in breath cycles, coughs are
/// noise bursts with sharp onsets and exponential decays, counting and vowels are formant-
/// filtered harmonic voices. Positive participants breathe faster with crackle-like
/// transients, cough wetter and longer, and sound breathier.
pub fn synth_coswara(out: &Path, cfg: &SynthConfig) -> Result<SynthReport> {
    cfg.validate()?;
    prepare_output(out, cfg.overwrite)?;
    let n = cfg.patients;
    let mut rng = stream_rng(cfg.seed, 0);
    let mut statuses: Vec<&'static str> = allocate(n, &STATUS_SHARES, false)
        .into_iter()
        .enumerate()
        .flat_map(|(i, c)| std::iter::repeat_n(COVID_STATUSES[i], c))
        .collect();
    statuses.shuffle(&mut rng);
    let mut rates: Vec<u32> = allocate(n, &RATES.map(|r| r.1), true)
        .into_iter()
        .enumerate()
        .flat_map(|(i, c)| std::iter::repeat_n(RATES[i].0, c))
        .collect();
    rates.shuffle(&mut rng);
    let mut ids = BTreeSet::new();
    let participants: Vec<Participant> = (0..n)
        .map(|i| {
            let mut id = participant_id(&mut rng);
            while !ids.insert(id.clone()) {
                id = participant_id(&mut rng);
            }
            let female = rng.random_bool(0.4);
            Participant {
                id,
                date: DATES[i * DATES.len() / n.max(1)],
                status: statuses[i],
                age: rng.random_range(18..=70),
                female,
                place: rng.random_range(0..PLACES.len()),
                rate: rates[i],
                f0: if female {
                    uniform(&mut rng, 180.0, 240.0)
                } else {
                    uniform(&mut rng, 100.0, 140.0)
                },
                positive: statuses[i].starts_with("positive"),
            }
        })
        .collect();
    let mut pairs: Vec<(usize, SoundKind)> = (0..n)
        .flat_map(|p| SoundKind::ALL.map(|k| (p, k)))
        .collect();
    pairs.shuffle(&mut rng);
    let header_only: BTreeSet<(usize, SoundKind)> =
        pairs.into_iter().take(cfg.header_only).collect();

    let spectrum = BreathSpectrum::design();
    let jobs: Vec<(usize, SoundKind)> = (0..n)
        .flat_map(|p| SoundKind::ALL.map(|k| (p, k)))
        .collect();
    for p in &participants {
        files::create_dir_all(&out.join(p.date).join(&p.id))?;
    }
    let written: Vec<Result<f64>> = jobs
        .par_iter()
        .enumerate()
        .map(|(j, &(pi, kind))| {
            let p = &participants[pi];
            let path = out.join(p.date).join(&p.id).join(kind.file_name());
            if header_only.contains(&(pi, kind)) {
                signal::write_pcm_wav(&path, &[], p.rate, 16, false)?;
                return Ok(0.0);
            }
            let mut rng = stream_rng(cfg.seed, (1u64 << 40) + j as u64);
            let seconds = seconds_for(cfg, kind, &mut rng);
            let samples = synth_sound(p, kind, seconds, &spectrum, &mut rng);
            signal::write_pcm_wav(&path, &samples, p.rate, 16, false)?;
            Ok(samples.len() as f64 / f64::from(p.rate))
        })
        .collect();
    let mut total_seconds = 0.0;
    for w in written {
        total_seconds += w?;
    }
    for p in &participants {
        let meta = serde_json::json!({
            "id": p.id, "a": p.age, "covid_status": p.status, "iF": true, "ep": "y",
            "g": if p.female { "female" } else { "male" },
            "l_s": PLACES[p.place].1, "l_l": PLACES[p.place].0, "dT": "web", "l_c": "India",
        });
        let path = out.join(p.date).join(&p.id).join("metadata.json");
        let text = serde_json::to_string_pretty(&meta).map_err(|e| Error::Json {
            path: path.clone(),
            source: e,
        })?;
        files::write_atomic(&path, text.as_bytes())?;
    }

    // combined_data.csv: every participant, plus rows of participants recorded on other days.
    let csv_path = out.join(COMBINED_CSV);
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_err = |e| Error::Csv {
        path: csv_path.clone(),
        source: e,
    };
    writer.write_record(CSV_HEADER).map_err(csv_err)?;
    let mut rows: Vec<Vec<String>> = participants.iter().map(|p| csv_row(p, &mut rng)).collect();
    for i in 0..n.div_ceil(5) {
        let mut id = participant_id(&mut rng);
        while !ids.insert(id.clone()) {
            id = participant_id(&mut rng);
        }
        let other = Participant {
            id,
            date: "20200601",
            status: COVID_STATUSES[i % COVID_STATUSES.len()],
            age: rng.random_range(18..=70),
            female: rng.random_bool(0.5),
            place: rng.random_range(0..PLACES.len()),
            rate: 48_000,
            f0: 120.0,
            positive: false,
        };
        rows.push(csv_row(&other, &mut rng));
    }
    rows.shuffle(&mut rng);
    for row in &rows {
        writer.write_record(row).map_err(csv_err)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| Error::io(&csv_path, e.into_error()))?;

    let mut report = SynthReport {
        format: Format::Coswara,
        out: out.to_path_buf(),
        seed: cfg.seed,
        patients: n,
        recordings: jobs.len(),
        classes: BTreeMap::new(),
        splits: BTreeMap::new(),
        sample_rates: BTreeMap::new(),
        bit_depths: BTreeMap::new(),
        devices: BTreeMap::new(),
        header_only_files: header_only.len(),
        total_seconds,
        config: cfg.clone(),
    };
    for p in &participants {
        *report.classes.entry(p.status.to_string()).or_default() += 1;
        *report.sample_rates.entry(p.rate).or_default() += SoundKind::ALL.len();
        *report.bit_depths.entry(16).or_default() += SoundKind::ALL.len();
    }
    write_report(out, &report)?;
    files::write_atomic(&csv_path, &bytes)?;
    Ok(report)
}
