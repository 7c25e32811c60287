//! The nine sounds recorded per participant ([`SoundKind`]).

use serde::{Deserialize, Serialize};

/// One of the nine Coswara recordings of a participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SoundKind {
    /// `breathing-deep.wav`.
    BreathingDeep,
    /// `breathing-shallow.wav`.
    BreathingShallow,
    /// `cough-heavy.wav`.
    CoughHeavy,
    /// `cough-shallow.wav`.
    CoughShallow,
    /// `counting-fast.wav`.
    CountingFast,
    /// `counting-normal.wav`.
    CountingNormal,
    /// `vowel-a.wav`.
    VowelA,
    /// `vowel-e.wav`.
    VowelE,
    /// `vowel-o.wav`.
    VowelO,
}

impl SoundKind {
    /// All nine kinds.
    pub const ALL: [SoundKind; 9] = [
        Self::BreathingDeep,
        Self::BreathingShallow,
        Self::CoughHeavy,
        Self::CoughShallow,
        Self::CountingFast,
        Self::CountingNormal,
        Self::VowelA,
        Self::VowelE,
        Self::VowelO,
    ];

    /// The kebab-case name (`breathing-deep`), also the file stem.
    pub fn name(self) -> &'static str {
        match self {
            Self::BreathingDeep => "breathing-deep",
            Self::BreathingShallow => "breathing-shallow",
            Self::CoughHeavy => "cough-heavy",
            Self::CoughShallow => "cough-shallow",
            Self::CountingFast => "counting-fast",
            Self::CountingNormal => "counting-normal",
            Self::VowelA => "vowel-a",
            Self::VowelE => "vowel-e",
            Self::VowelO => "vowel-o",
        }
    }

    /// The file name (`breathing-deep.wav`).
    pub fn file_name(self) -> String {
        format!("{}.wav", self.name())
    }
}

impl std::str::FromStr for SoundKind {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let s = s.trim().trim_end_matches(".wav");
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "unknown Coswara sound `{s}`: expected one of {}",
                    Self::ALL.map(|k| k.name()).join(", ")
                )
            })
    }
}
