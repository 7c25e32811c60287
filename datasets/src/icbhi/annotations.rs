//! Cycle annotation files: one `start end crackles wheezes` line per respiratory cycle.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::files;
use crate::label::CycleLabel;

/// One annotated respiratory cycle of a recording.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RespiratoryCycle {
    /// Start in seconds from the beginning of the recording.
    pub start_s: f64,
    /// End in seconds (may equal the recording's duration exactly).
    pub end_s: f64,
    /// Whether the annotators heard crackles.
    pub crackles: bool,
    /// Whether the annotators heard wheezes.
    pub wheezes: bool,
}

impl RespiratoryCycle {
    /// The cycle's four-class label.
    pub fn label(&self) -> CycleLabel {
        CycleLabel::from_flags(self.crackles, self.wheezes)
    }

    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.end_s - self.start_s
    }
}

/// Parses a cycle annotation file: one `start end crackles wheezes` line per cycle, tab (or
/// space) separated, LF or CRLF; blank lines are ignored. `path` is only used in errors.
pub fn parse_annotations(text: &str, path: &Path) -> Result<Vec<RespiratoryCycle>> {
    let mut cycles = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |reason: String| Error::Annotation {
            path: path.to_path_buf(),
            line: i + 1,
            reason,
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() != 4 {
            return Err(bad(format!(
                "{} fields in `{line}` instead of 4",
                fields.len()
            )));
        }
        let time = |s: &str, what: &str| -> Result<f64> {
            s.parse::<f64>()
                .ok()
                .filter(|t| t.is_finite() && *t >= 0.0)
                .ok_or_else(|| {
                    bad(format!(
                        "{what} `{s}` is not a non-negative number of seconds"
                    ))
                })
        };
        let flag = |s: &str, what: &str| -> Result<bool> {
            match s {
                "0" => Ok(false),
                "1" => Ok(true),
                _ => Err(bad(format!("{what} flag `{s}` is not 0 or 1"))),
            }
        };
        let start_s = time(fields[0], "start")?;
        let end_s = time(fields[1], "end")?;
        if end_s <= start_s {
            return Err(bad(format!("end {end_s} s is not after start {start_s} s")));
        }
        cycles.push(RespiratoryCycle {
            start_s,
            end_s,
            crackles: flag(fields[2], "crackles")?,
            wheezes: flag(fields[3], "wheezes")?,
        });
    }
    Ok(cycles)
}

/// Reads and parses an annotation file.
pub fn read_annotations(path: &Path) -> Result<Vec<RespiratoryCycle>> {
    parse_annotations(&files::read_text(path)?, path)
}

/// Writes cycles in the database's format: tab separated, LF, trailing newline, times with
/// up to 4 decimals and no trailing zeros (`0`, `1.8771`, `15.856`).
pub fn format_annotations(cycles: &[RespiratoryCycle]) -> String {
    let mut s = String::new();
    for c in cycles {
        s.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            format_seconds(c.start_s),
            format_seconds(c.end_s),
            u8::from(c.crackles),
            u8::from(c.wheezes)
        ));
    }
    s
}

/// Seconds with up to 4 decimals, trailing zeros removed.
pub(crate) fn format_seconds(t: f64) -> String {
    let s = format!("{t:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() { "0".into() } else { s.into() }
}

/// Cycle counts per class of one recording, in [`CycleLabel::ALL`] order.
pub fn cycle_counts(cycles: &[RespiratoryCycle]) -> [usize; 4] {
    let mut counts = [0; 4];
    for c in cycles {
        counts[c.label().index()] += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_parse_and_bad_lines_name_file_and_line() {
        let p = Path::new("x/101_1b1_Al_sc_Meditron.txt");
        let c = parse_annotations("0.264\t1.736\t0\t0\n1.736\t3.293\t1\t1\r\n\n", p).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].label(), CycleLabel::Both);
        assert!((c[0].duration_s() - 1.472).abs() < 1e-12);
        for (text, needle) in [
            ("0\t1\t0\n", "3 fields"),
            ("0\t1\t0\t2\n", "wheezes flag `2`"),
            ("0\tx\t0\t0\n", "end `x`"),
            ("2\t1\t0\t0\n", "not after start"),
            ("0\t1\t0\t0\n-1\t2\t0\t0\n", "line 2"),
        ] {
            let e = parse_annotations(text, p).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
            assert!(e.contains("101_1b1_Al_sc_Meditron.txt"), "{e}");
        }
        let text = format_annotations(&c);
        assert_eq!(text, "0.264\t1.736\t0\t0\n1.736\t3.293\t1\t1\n");
        assert_eq!(format_seconds(15.856), "15.856");
        assert_eq!(format_seconds(0.0), "0");
        assert_eq!(format_seconds(1.87712), "1.8771");
    }
}
