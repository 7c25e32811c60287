//! ICBHI recording names, `Patient_Index_Location_Mode_Device`, and their fields.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Chest location of an ICBHI recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ChestLocation {
    /// Trachea (`Tc`).
    Trachea,
    /// Anterior left (`Al`).
    AnteriorLeft,
    /// Anterior right (`Ar`).
    AnteriorRight,
    /// Posterior left (`Pl`).
    PosteriorLeft,
    /// Posterior right (`Pr`).
    PosteriorRight,
    /// Lateral left (`Ll`).
    LateralLeft,
    /// Lateral right (`Lr`).
    LateralRight,
}

impl ChestLocation {
    /// All locations.
    pub const ALL: [ChestLocation; 7] = [
        Self::Trachea,
        Self::AnteriorLeft,
        Self::AnteriorRight,
        Self::PosteriorLeft,
        Self::PosteriorRight,
        Self::LateralLeft,
        Self::LateralRight,
    ];

    /// The code used in file names (`Tc`, `Al`, `Ar`, `Pl`, `Pr`, `Ll`, `Lr`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Trachea => "Tc",
            Self::AnteriorLeft => "Al",
            Self::AnteriorRight => "Ar",
            Self::PosteriorLeft => "Pl",
            Self::PosteriorRight => "Pr",
            Self::LateralLeft => "Ll",
            Self::LateralRight => "Lr",
        }
    }

    /// The location with file-name code `code` (exact case).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == code)
    }
}

/// Acquisition mode of an ICBHI recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AcquisitionMode {
    /// Sequential, single channel (`sc`).
    SingleChannel,
    /// Simultaneous, multichannel (`mc`).
    MultiChannel,
}

impl AcquisitionMode {
    /// The code used in file names (`sc`, `mc`).
    pub fn code(self) -> &'static str {
        match self {
            Self::SingleChannel => "sc",
            Self::MultiChannel => "mc",
        }
    }

    /// The mode with file-name code `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "sc" => Some(Self::SingleChannel),
            "mc" => Some(Self::MultiChannel),
            _ => None,
        }
    }
}

/// Recording device of an ICBHI recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Device {
    /// AKG C417L microphone (`AKGC417L`), 44.1 kHz.
    AkgC417L,
    /// 3M Littmann Classic II SE stethoscope (`LittC2SE`), 44.1 kHz.
    LittC2SE,
    /// 3M Littmann 3200 electronic stethoscope (`Litt3200`), 4 kHz.
    Litt3200,
    /// WelchAllyn Meditron Master Elite electronic stethoscope (`Meditron`), 44.1 kHz.
    Meditron,
}

impl Device {
    /// All devices.
    pub const ALL: [Device; 4] = [
        Self::AkgC417L,
        Self::LittC2SE,
        Self::Litt3200,
        Self::Meditron,
    ];

    /// The code used in file names.
    pub fn code(self) -> &'static str {
        match self {
            Self::AkgC417L => "AKGC417L",
            Self::LittC2SE => "LittC2SE",
            Self::Litt3200 => "Litt3200",
            Self::Meditron => "Meditron",
        }
    }

    /// The device with file-name code `code` (exact case).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.code() == code)
    }

    /// Sample rate of this device's files in the database, in Hz.
    pub fn sample_rate(self) -> u32 {
        match self {
            Self::Litt3200 => 4_000,
            _ => 44_100,
        }
    }
}

/// The parsed name of an ICBHI recording, `Patient_Index_Location_Mode_Device`
/// (e.g. `104_1b1_Al_sc_Litt3200`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordingName {
    /// Patient number (101..=226 in the database).
    pub patient: u32,
    /// Recording index, e.g. `1b1` or `2p3`.
    pub index: String,
    /// Chest location.
    pub location: ChestLocation,
    /// Acquisition mode.
    pub mode: AcquisitionMode,
    /// Recording device.
    pub device: Device,
}

impl RecordingName {
    /// Parses a file stem (without `.wav`/`.txt`).
    pub fn parse(stem: &str) -> Result<Self> {
        let bad = |reason: String| Error::RecordingName {
            name: stem.to_string(),
            reason,
        };
        let parts: Vec<&str> = stem.split('_').collect();
        if parts.len() != 5 {
            return Err(bad(format!(
                "{} underscore-separated fields instead of 5",
                parts.len()
            )));
        }
        let patient = parts[0]
            .parse::<u32>()
            .ok()
            .filter(|_| parts[0].chars().all(|c| c.is_ascii_digit()))
            .ok_or_else(|| bad(format!("patient `{}` is not a number", parts[0])))?;
        let index = parts[1];
        if index.is_empty() || !index.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad(format!(
                "recording index `{index}` is not alphanumeric"
            )));
        }
        let location = ChestLocation::from_code(parts[2]).ok_or_else(|| {
            bad(format!(
                "chest location `{}` is not one of Tc, Al, Ar, Pl, Pr, Ll, Lr",
                parts[2]
            ))
        })?;
        let mode = AcquisitionMode::from_code(parts[3])
            .ok_or_else(|| bad(format!("acquisition mode `{}` is not sc or mc", parts[3])))?;
        let device = Device::from_code(parts[4]).ok_or_else(|| {
            bad(format!(
                "device `{}` is not one of AKGC417L, LittC2SE, Litt3200, Meditron",
                parts[4]
            ))
        })?;
        Ok(Self {
            patient,
            index: index.to_string(),
            location,
            mode,
            device,
        })
    }

    /// The file stem this name is written as.
    pub fn stem(&self) -> String {
        self.to_string()
    }

    /// The stem without the device field; the same recording carries different device names
    /// in different copies of the database (`226_1b1_Pl_sc`).
    pub fn without_device(&self) -> String {
        format!(
            "{}_{}_{}_{}",
            self.patient,
            self.index,
            self.location.code(),
            self.mode.code()
        )
    }
}

impl std::fmt::Display for RecordingName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.without_device(), self.device.code())
    }
}

impl std::str::FromStr for RecordingName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_names_parse_every_field() {
        let n = RecordingName::parse("130_1p3_Ll_mc_AKGC417L").unwrap();
        assert_eq!(n.patient, 130);
        assert_eq!(n.index, "1p3");
        assert_eq!(n.location, ChestLocation::LateralLeft);
        assert_eq!(n.mode, AcquisitionMode::MultiChannel);
        assert_eq!(n.device, Device::AkgC417L);
        assert_eq!(n.stem(), "130_1p3_Ll_mc_AKGC417L");
        assert_eq!(n.without_device(), "130_1p3_Ll_mc");
        for loc in ChestLocation::ALL {
            for dev in Device::ALL {
                let s = format!("101_1b1_{}_sc_{}", loc.code(), dev.code());
                assert_eq!(RecordingName::parse(&s).unwrap().to_string(), s);
            }
        }
        assert_eq!(Device::Litt3200.sample_rate(), 4000);
    }

    #[test]
    fn bad_recording_names_say_which_field() {
        for (stem, needle) in [
            ("101_1b1_Al_sc", "4 underscore"),
            ("abc_1b1_Al_sc_Meditron", "patient"),
            ("101_1b1_Xx_sc_Meditron", "chest location"),
            ("101_1b1_Al_zz_Meditron", "acquisition mode"),
            ("101_1b1_Al_sc_Stetho", "device"),
            ("101__Al_sc_Meditron", "recording index"),
        ] {
            let e = RecordingName::parse(stem).unwrap_err().to_string();
            assert!(e.contains(needle), "{stem}: {e}");
            assert!(e.contains(stem), "{e}");
        }
    }
}
