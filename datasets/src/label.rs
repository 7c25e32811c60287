//! Class labels of respiratory cycles.

use serde::{Deserialize, Serialize};

/// The four-class label of an ICBHI 2017 respiratory cycle, from its crackle and wheeze flags.
///
/// The class index (`as usize`) is the order of [`CycleLabel::ALL`]: normal 0, crackle 1,
/// wheeze 2, both 3, the order used by the ICBHI score and the literature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CycleLabel {
    /// Neither crackles nor wheezes.
    Normal,
    /// Crackles only.
    Crackle,
    /// Wheezes only.
    Wheeze,
    /// Crackles and wheezes.
    Both,
}

impl CycleLabel {
    /// All labels in class-index order.
    pub const ALL: [CycleLabel; 4] = [Self::Normal, Self::Crackle, Self::Wheeze, Self::Both];

    /// The label of a cycle with the given annotation flags.
    pub fn from_flags(crackles: bool, wheezes: bool) -> Self {
        match (crackles, wheezes) {
            (false, false) => Self::Normal,
            (true, false) => Self::Crackle,
            (false, true) => Self::Wheeze,
            (true, true) => Self::Both,
        }
    }

    /// Lower-case class name: `normal`, `crackle`, `wheeze` or `both`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Crackle => "crackle",
            Self::Wheeze => "wheeze",
            Self::Both => "both",
        }
    }

    /// Class index (0..4) in [`CycleLabel::ALL`] order.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The label with class index `index`, if `index < 4`.
    pub fn from_index(index: usize) -> Option<Self> {
        Self::ALL.get(index).copied()
    }

    /// Whether the cycle has crackles (crackle or both).
    pub fn has_crackles(self) -> bool {
        matches!(self, Self::Crackle | Self::Both)
    }

    /// Whether the cycle has wheezes (wheeze or both).
    pub fn has_wheezes(self) -> bool {
        matches!(self, Self::Wheeze | Self::Both)
    }

    /// The four class names in class-index order, as owned strings.
    pub fn class_names() -> Vec<String> {
        Self::ALL.iter().map(|l| l.name().to_string()).collect()
    }
}

impl std::fmt::Display for CycleLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for CycleLabel {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("unknown cycle label `{s}`: expected normal, crackle, wheeze or both")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_map_to_the_four_classes_in_index_order() {
        assert_eq!(CycleLabel::from_flags(false, false).index(), 0);
        assert_eq!(CycleLabel::from_flags(true, false).index(), 1);
        assert_eq!(CycleLabel::from_flags(false, true).index(), 2);
        assert_eq!(CycleLabel::from_flags(true, true).index(), 3);
        assert_eq!(
            CycleLabel::class_names(),
            ["normal", "crackle", "wheeze", "both"]
        );
    }

    #[test]
    fn names_round_trip_and_serde_is_lower_case() {
        for l in CycleLabel::ALL {
            assert_eq!(l.name().parse::<CycleLabel>(), Ok(l));
            assert_eq!(CycleLabel::from_index(l.index()), Some(l));
            let json = serde_json::to_string(&l).unwrap();
            assert_eq!(json, format!("\"{}\"", l.name()));
        }
        assert!("Crackles".parse::<CycleLabel>().is_err());
        assert_eq!(CycleLabel::from_index(4), None);
        assert!(CycleLabel::Both.has_crackles() && CycleLabel::Both.has_wheezes());
        assert!(!CycleLabel::Wheeze.has_crackles());
    }
}
