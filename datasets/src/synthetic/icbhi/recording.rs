//! Synthesising one recording: annotated cycles on a millisecond grid, breathing noise under
//! inspiratory/expiratory envelopes, adventitious sounds, heart sounds, distractors,
//! background noise, device colouring and the recording level.
//!
//! Every step draws from the recording's own random stream in a fixed order.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use realfft::RealFftPlanner;

use super::colour::colour_db;
use super::plan::{Patient, RecordingPlan, Voice};
use crate::icbhi::{Device, RespiratoryCycle};
use crate::label::CycleLabel;
use crate::synthetic::signal::{
    BreathSpectrum, Wheeze, add_crackle, add_heart_sound, add_wheeze, db_to_amp, filter_in_place,
    gauss, rms, shaped_noise, uniform,
};

/// Log-normal cycle durations per class: (location in s, spread). The spreads are
/// ln(p75/p25)/1.349 of the real annotations (`annotations.cycle_duration_s` of
/// icbhi-statistics.json); the locations are chosen so that, after truncation to 1.5-6 s, the
/// medians equal the real ones (2.443, 2.629, 2.584, 2.904 s).
const CYCLE_DURATION: [(f64, f64); 4] =
    [(2.149, 0.48), (2.563, 0.355), (2.394, 0.46), (2.89, 0.344)];

/// One cycle's sample ranges.
#[derive(Debug, Clone, Copy)]
struct Timing {
    start: usize,
    insp_end: usize,
    exp_end: usize,
    end: usize,
    amp: f64,
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

/// Seconds <-> samples at one recording's rate.
#[derive(Debug, Clone, Copy)]
struct Clock {
    sr: u32,
    sr_f: f64,
}

impl Clock {
    fn new(sr: u32) -> Self {
        Self {
            sr,
            sr_f: f64::from(sr),
        }
    }

    /// The sample nearest to `t` seconds.
    fn samples(self, t: f64) -> usize {
        (t * self.sr_f).round() as usize
    }

    /// Duration of `n` samples in seconds.
    fn seconds(self, n: usize) -> f64 {
        n as f64 / self.sr_f
    }
}

/// Synthesises one recording: returns the samples at the device's rate and its cycles.
pub(super) fn synth_recording(
    plan: &RecordingPlan,
    patient: &Patient,
    spectrum: &BreathSpectrum,
    rng: &mut ChaCha8Rng,
) -> (Vec<f32>, Vec<RespiratoryCycle>) {
    let v = &patient.voice;
    let device = patient.device;
    let clock = Clock::new(device.sample_rate());

    let (lead, cycles, tail) = lay_out_cycles(plan, device, rng);
    let last_end = cycles.last().map_or(lead, |c| c.end_s);
    let n = clock.samples(last_end + tail);

    let (timings, annotated) = breath_timings(v, clock, lead, &cycles, last_end, rng);
    let (env_i, env_e) = envelopes(&timings, n, rng);
    let mut planner = RealFftPlanner::<f32>::new();
    let mut x = breathing(v, spectrum, &mut planner, clock, &env_i, &env_e, rng);

    let annotated_range = clock.samples(lead).min(n)..clock.samples(last_end).min(n);
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
            add_crackles(&mut x, clock, v, tm, crms, c.crackles, rng);
        }
        if c.wheezes || faint_wheeze {
            add_wheezes(&mut x, clock, v, tm, crms, c.wheezes, rng);
        }
    }

    add_heart_sounds(&mut x, clock, v, overall, rng);
    add_beeps(&mut x, clock, v, overall, rng);
    add_hum(&mut x, clock, v, overall);
    add_clicks(&mut x, clock, v, overall, rng);
    add_background(&mut x, spectrum, &mut planner, clock, overall, rng);

    // Device colouring and DC blocking.
    filter_in_place(&mut planner, &mut x, clock.sr, |f| {
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

/// The annotated cycles, back to back after an unannotated lead, on a millisecond grid, and
/// the unannotated tail after them, in seconds. 4 kHz recordings (Litt3200) have neither lead
/// nor tail: their last cycle ends exactly at the end of the file.
fn lay_out_cycles(
    plan: &RecordingPlan,
    device: Device,
    rng: &mut ChaCha8Rng,
) -> (f64, Vec<RespiratoryCycle>, f64) {
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
    let tail = if eof_exact {
        0.0
    } else {
        round_ms(uniform(rng, 0.02, 0.9))
    };
    (lead, cycles, tail)
}

/// Breathing phases of every cycle: the annotated ones, plus unannotated partial cycles
/// before and after. Returns all of them in time order, and the annotated ones alone.
fn breath_timings(
    v: &Voice,
    clock: Clock,
    lead: f64,
    cycles: &[RespiratoryCycle],
    last_end: f64,
    rng: &mut ChaCha8Rng,
) -> (Vec<Timing>, Vec<Timing>) {
    let make_timing = |start_s: f64, end_s: f64, rng: &mut ChaCha8Rng| {
        let d = end_s - start_s;
        let r = (v.insp_fraction + 0.03 * gauss(rng)).clamp(0.25, 0.55);
        Timing {
            start: clock.samples(start_s.max(0.0)),
            insp_end: clock.samples((start_s + r * d).max(0.0)),
            exp_end: clock.samples((start_s + 0.92 * d).max(0.0)),
            end: clock.samples(end_s.max(0.0)),
            amp: db_to_amp(1.5 * gauss(rng)),
        }
    };
    let before = make_timing(lead - 2.6, lead, rng);
    let annotated: Vec<Timing> = cycles
        .iter()
        .map(|c| make_timing(c.start_s, c.end_s, rng))
        .collect();
    let after = make_timing(last_end, last_end + 3.0, rng);
    let mut timings = Vec::with_capacity(annotated.len() + 2);
    timings.push(before);
    timings.extend(annotated.iter().copied());
    timings.push(after);
    (timings, annotated)
}

/// Inspiratory and expiratory envelopes (`n` samples each) of the breathing phases.
fn envelopes(timings: &[Timing], n: usize, rng: &mut ChaCha8Rng) -> (Vec<f32>, Vec<f32>) {
    let mut env_i = vec![0.0f32; n];
    let mut env_e = vec![0.0f32; n];
    let exp_gain = uniform(rng, 0.45, 0.8);
    for tm in timings {
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
    (env_i, env_e)
}

/// Breathing: noise shaped to the real breath spectrum with the patient's tilt under the
/// envelopes (expiration darker than inspiration), over a faint floor.
fn breathing(
    v: &Voice,
    spectrum: &BreathSpectrum,
    planner: &mut RealFftPlanner<f32>,
    clock: Clock,
    env_i: &[f32],
    env_e: &[f32],
    rng: &mut ChaCha8Rng,
) -> Vec<f32> {
    let n = env_i.len();
    let sr = clock.sr;
    let tilt = |f: f64| v.tilt_db_per_octave * (f.max(30.0) / 250.0).log2();
    let dark = |f: f64| v.exp_darkness * 0.5 * (f.max(300.0) / 300.0).log2();
    let base = |f: f64| spectrum.psd_db(f);
    // Expiration is darker than inspiration.
    let n_i = shaped_noise(rng, planner, n, sr, |f| db_to_amp(base(f) + tilt(f)));
    let n_e = shaped_noise(rng, planner, n, sr, |f| {
        db_to_amp(base(f) + tilt(f) - 2.0 * dark(f))
    });
    let floor = 0.05f32;
    (0..n)
        .map(|k| (env_i[k] + floor) * n_i[k] + env_e[k] * n_e[k])
        .collect()
}

/// Crackles in one cycle: the patient's count of them when the cycle is annotated with
/// crackles, else one or two faint ones.
fn add_crackles(
    x: &mut [f32],
    clock: Clock,
    v: &Voice,
    tm: &Timing,
    crms: f64,
    annotated: bool,
    rng: &mut ChaCha8Rng,
) {
    let (count, gain) = if annotated {
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
            tm.insp_end + ((tm.exp_end - tm.insp_end) as f64 * uniform(rng, 0.0, 0.5)) as usize
        };
        let dur = uniform(rng, v.crackle_ms.0, v.crackle_ms.1) / 1000.0;
        let freq = v.crackle_freq_hz * uniform(rng, 0.8, 1.25);
        let amp = gain * v.crackle_rel * crms * uniform(rng, 0.5, 1.5);
        let phase = uniform(rng, 0.0, 2.0 * std::f64::consts::PI);
        add_crackle(x, clock.sr, at, dur, freq, amp, phase);
    }
}

/// Wheezes in one cycle: one or two when the cycle is annotated with wheezes, else one short
/// faint one; mostly expiratory, at least 120 ms long.
fn add_wheezes(
    x: &mut [f32],
    clock: Clock,
    v: &Voice,
    tm: &Timing,
    crms: f64,
    annotated: bool,
    rng: &mut ChaCha8Rng,
) {
    let (events, offset_db, span) = if annotated {
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
        let min_len = (0.12 * clock.sr_f) as usize;
        let len = ((phase_len as f64 * uniform(rng, span.0, span.1)) as usize).max(min_len);
        let start = p0 + ((phase_len.saturating_sub(len)) as f64 * rng.random::<f64>()) as usize;
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
        add_wheeze(x, clock.sr, &w);
    }
}

/// Heart sounds (S1 and S2 of every beat) through the whole recording.
fn add_heart_sounds(x: &mut [f32], clock: Clock, v: &Voice, overall: f64, rng: &mut ChaCha8Rng) {
    let rr = 60.0 / v.heart_rate_bpm;
    let mut beat = uniform(rng, 0.0, rr);
    let heart_amp = v.heart_gain * overall;
    while beat < clock.seconds(x.len()) {
        let r = rr * (1.0 + 0.03 * gauss(rng));
        add_heart_sound(
            x,
            clock.sr,
            clock.samples(beat),
            uniform(rng, 0.08, 0.12),
            uniform(rng, 30.0, 50.0),
            uniform(rng, 50.0, 90.0),
            heart_amp,
        );
        let s2 = beat + uniform(rng, 0.28, 0.34) * (r / 0.8).sqrt();
        add_heart_sound(
            x,
            clock.sr,
            clock.samples(s2),
            uniform(rng, 0.06, 0.09),
            uniform(rng, 40.0, 60.0),
            uniform(rng, 70.0, 110.0),
            heart_amp * uniform(rng, 0.6, 0.9),
        );
        beat += r;
    }
}

/// Monitor beeps (steady tones, no glide) in some recordings: wheeze-like distractors.
fn add_beeps(x: &mut [f32], clock: Clock, v: &Voice, overall: f64, rng: &mut ChaCha8Rng) {
    if v.beeps_per_s <= 0.0 {
        return;
    }
    let f = uniform(rng, 400.0, 1000.0);
    let mut tb = -(1.0 - rng.random::<f64>()).ln() / v.beeps_per_s;
    while tb < clock.seconds(x.len()) {
        let w = Wheeze {
            start: clock.samples(tb),
            len: clock.samples(uniform(rng, 0.1, 0.25)),
            f0_start: f,
            f0_end: f,
            harmonics: 1,
            rolloff: 1.0,
            amp: overall * db_to_amp(uniform(rng, -38.0, -22.0)),
            vibrato: (1.0, 0.0),
        };
        add_wheeze(x, clock.sr, &w);
        tb += -(1.0 - rng.random::<f64>()).ln() / v.beeps_per_s;
    }
}

/// Mains hum (with its second and third harmonics) in some recordings.
fn add_hum(x: &mut [f32], clock: Clock, v: &Voice, overall: f64) {
    let Some((f, level)) = v.hum else {
        return;
    };
    let a = overall * db_to_amp(level) * std::f64::consts::SQRT_2;
    for (k, s) in x.iter_mut().enumerate() {
        let ph = 2.0 * std::f64::consts::PI * f * k as f64 / clock.sr_f;
        *s += (a * (ph.sin() + 0.5 * (2.0 * ph).sin() + 0.3 * (3.0 * ph).sin())) as f32;
    }
}

/// Stethoscope handling clicks in some recordings.
fn add_clicks(x: &mut [f32], clock: Clock, v: &Voice, overall: f64, rng: &mut ChaCha8Rng) {
    if v.clicks_per_s <= 0.0 {
        return;
    }
    let mut tc = -(1.0 - rng.random::<f64>()).ln() / v.clicks_per_s;
    while tc < clock.seconds(x.len()) {
        let dur = uniform(rng, 0.002, 0.006);
        add_crackle(
            x,
            clock.sr,
            clock.samples(tc),
            dur,
            uniform(rng, 800.0, 1500.0),
            overall * uniform(rng, 1.0, 4.0),
            uniform(rng, 0.0, std::f64::consts::TAU),
        );
        tc += -(1.0 - rng.random::<f64>()).ln() / v.clicks_per_s;
    }
}

/// Background noise at a varied SNR, slightly flatter than breathing.
fn add_background(
    x: &mut [f32],
    spectrum: &BreathSpectrum,
    planner: &mut RealFftPlanner<f32>,
    clock: Clock,
    overall: f64,
    rng: &mut ChaCha8Rng,
) {
    let snr_db = uniform(rng, 12.0, 30.0);
    let bg = shaped_noise(rng, planner, x.len(), clock.sr, |f| {
        db_to_amp(spectrum.psd_db(f) + 0.5 * (f.max(250.0) / 250.0).log2())
    });
    let bg_amp = (overall * db_to_amp(-snr_db)) as f32;
    for (s, b) in x.iter_mut().zip(&bg) {
        *s += bg_amp * b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::stream_rng;

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
}
