//! Where a sample's breathing cycle and its tones go: cycles centred in silence and how they
//! are presented (tiled), and the tone tracks folded into the prior's cycle plan.

pub(crate) mod cycle;
pub(crate) mod tone;
