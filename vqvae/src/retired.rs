//! Settings that older versions wrote to `config.json` and this one no longer has: read, so
//! that old run directories keep loading, and never written.

use serde::de::{Error as _, IgnoredAny};
use serde::{Deserialize, Deserializer};

/// A removed setting. Any value is accepted and ignored, unless the field says otherwise
/// ([`Retired::zero`], [`Retired::null`]); nothing is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retired;

impl<'de> Deserialize<'de> for Retired {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer)?;
        Ok(Self)
    }
}

impl Retired {
    /// Accepts only 0 (what older versions saved by default); any other value made a model
    /// this version cannot rebuild, and is an error naming `field`.
    pub(crate) fn zero<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Option::<f64>::deserialize(deserializer)? {
            Some(v) if v != 0.0 => Err(D::Error::custom(format!(
                "class_dropout is {v}, but class dropout and classifier-free guidance were \
                 removed (they did not help); retrain the prior without them"
            ))),
            _ => Ok(Self),
        }
    }

    /// Accepts only null (what older versions saved by default); a value asked for a
    /// feature that was removed, and is an error.
    pub(crate) fn null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Option::<IgnoredAny>::deserialize(deserializer)? {
            Some(_) => Err(D::Error::custom(
                "guidance: classifier-free guidance was removed (it did not help); drop the field",
            )),
            None => Ok(Self),
        }
    }
}
