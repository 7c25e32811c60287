//! The synthetic ICBHI 2017 database.
//!
//! `plan.rs` draws the patients, their recordings and every cycle's class; `recording.rs`
//! synthesises each recording; `colour.rs` holds the devices' frequency responses; this file
//! writes the database.

mod colour;
mod plan;
mod recording;

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;

use self::plan::{Patient, RecordingPlan, assign_labels, plan_patients, plan_recordings};
use self::recording::synth_recording;
use super::signal::{self, BreathSpectrum};
use super::{SynthConfig, SynthReport, format_number, prepare_output, stream_rng, write_report};
use crate::error::Result;
use crate::files;
use crate::format::Format;
use crate::icbhi::{
    DEMOGRAPHICS_FILE, DIAGNOSIS_FILE, IcbhiSplit, OFFICIAL_AUDIO_DIR, SPLIT_FILE, Sex,
    format_annotations,
};
use crate::label::CycleLabel;
use crate::split::assign_groups;

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

    write_patient_files(out, &patients)?;
    let split_text = split_file_text(&plans, &split_of);
    let report = build_report(out, cfg, &patients, &plans, &split_of, total_seconds);
    write_report(out, &report)?;
    // The split file is written last: its presence marks a finished database.
    files::write_atomic(&out.join(SPLIT_FILE), split_text.as_bytes())?;
    Ok(report)
}

/// Writes the diagnosis file (TAB, LF) and the demographic file (TAB, CRLF, `NA`).
fn write_patient_files(out: &Path, patients: &[Patient]) -> Result<()> {
    let mut diagnosis = String::new();
    let mut demographics = String::new();
    for p in patients {
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
    Ok(())
}

/// The official split file's text: `<recording><TAB>train|test`, CRLF, sorted by name.
fn split_file_text(plans: &[RecordingPlan], split_of: &impl Fn(usize) -> IcbhiSplit) -> String {
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
    split_text
}

/// The report of the written database: counts per class, split, sample rate, bit depth and
/// device.
fn build_report(
    out: &Path,
    cfg: &SynthConfig,
    patients: &[Patient],
    plans: &[RecordingPlan],
    split_of: &impl Fn(usize) -> IcbhiSplit,
    total_seconds: f64,
) -> SynthReport {
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
    for plan in plans {
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
    report
}
