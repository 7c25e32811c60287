//! Statistics over seeds: mean, sample standard deviation, median.

use serde::{Deserialize, Serialize};

/// Mean and sample standard deviation of one metric of one arm over the seeds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Mean over seeds.
    pub mean: f64,
    /// Sample standard deviation over seeds (0 with one seed).
    pub sd: f64,
}

impl Spread {
    /// The mean and sample standard deviation (divisor `n - 1`) of `values`; the standard
    /// deviation is 0 for fewer than two values, and both are 0 for none.
    pub fn of(values: &[f64]) -> Self {
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        let sd = if values.len() > 1 {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        Self { mean, sd }
    }

    /// `mean ± sd` of a fraction in percent with one decimal (`"70.0 ± 10.0"`), as the
    /// results table shows it.
    pub fn percent(&self) -> String {
        format!("{:.1} ± {:.1}", 100.0 * self.mean, 100.0 * self.sd)
    }
}

/// The arithmetic mean (0 for no values).
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// The median (0 for no values; the mean of the two middle values for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn spread_is_mean_and_sample_sd() {
        // mean = 2.1 / 3 = 0.7; sd = sqrt((0.01 + 0 + 0.01) / 2) = 0.1
        let s = Spread::of(&[0.6, 0.7, 0.8]);
        assert!(close(s.mean, 0.7), "{s:?}");
        assert!(close(s.sd, 0.1), "{s:?}");
        assert_eq!(s.percent(), "70.0 ± 10.0");

        // mean = 5; squared deviations 9 + 1 + 1 + 9 = 20; sd = sqrt(20 / 3)
        let s = Spread::of(&[2.0, 4.0, 6.0, 8.0]);
        assert!(close(s.mean, 5.0));
        assert!(close(s.sd, (20.0_f64 / 3.0).sqrt()));
    }

    #[test]
    fn spread_of_one_or_no_value_has_no_sd() {
        assert_eq!(
            Spread::of(&[0.25]),
            Spread {
                mean: 0.25,
                sd: 0.0
            }
        );
        assert_eq!(Spread::of(&[]), Spread { mean: 0.0, sd: 0.0 });
        assert_eq!(Spread::of(&[0.25]).percent(), "25.0 ± 0.0");
    }

    #[test]
    fn percent_rounds_to_one_decimal() {
        let s = Spread {
            mean: 0.123_44,
            sd: 0.056_78,
        };
        assert_eq!(s.percent(), "12.3 ± 5.7");
    }

    #[test]
    fn mean_and_median_by_hand() {
        assert!(close(mean(&[1.0, 2.0, 6.0]), 3.0));
        assert_eq!(mean(&[]), 0.0);
        assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[0.4]), 0.4);
        assert_eq!(median(&[]), 0.0);
    }
}
