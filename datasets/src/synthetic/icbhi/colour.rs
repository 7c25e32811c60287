//! Device colouring: the frequency response given to each recording device.

use super::plan::DEVICES;
use crate::icbhi::Device;

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
pub(super) fn colour_db(device: Device, f: f64) -> f64 {
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

#[cfg(test)]
mod tests {
    use super::*;

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
