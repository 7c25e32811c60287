//! The study's output directory: the names of everything a study writes there.
//!
//! ```text
//! OUT/
//!   report.md, report.json, inspection.json
//!   figures/confusion-<letter>-<arm>-seed<N>.png
//!   synth/                      the synthetic corpus (when no --data is given)
//!   seed-<N>/
//!     vqvae/, prior/            the generator (unless reused with --generator-from)
//!     generated/                the generated corpus
//!     generated-gated/          arm (e)'s gated copy of it, with gate.json
//!     <letter>-<arm>/           one classifier run per arm (a-plain, b-mixup-supcon, ...)
//! ```
//!
//! Names of files inside another crate's directories (a classifier run, a corpus) are that
//! crate's constants, not these.

use crate::arm::Arm;

/// The study's report, in Markdown.
pub const REPORT_MD: &str = "report.md";
/// The study's report as JSON (a serialized [`crate::StudyReport`]).
pub const REPORT_JSON: &str = "report.json";
/// What `auscult dataset inspect --json` said about the data.
pub const INSPECTION_FILE: &str = "inspection.json";
/// Folder of the figures drawn for the report.
pub const FIGURES_DIR: &str = "figures";
/// Folder of the synthetic ICBHI corpus written when the study is given no data.
pub const SYNTH_DIR: &str = "synth";
/// The VQ-VAE's run directory inside a seed's folder.
pub const VQVAE_DIR: &str = "vqvae";
/// The prior's run directory inside a seed's folder.
pub const PRIOR_DIR: &str = "prior";
/// The generated corpus inside a seed's folder.
pub const GENERATED_DIR: &str = "generated";
/// Arm (e)'s gated copy of the generated corpus inside a seed's folder.
pub const GATED_DIR: &str = "generated-gated";
/// The gate's per-sample probabilities, inside [`GATED_DIR`].
pub const GATE_FILE: &str = "gate.json";
/// Each arm's per-cycle test predictions (`auscult evaluate --predictions`), inside its run
/// directory.
pub const TEST_PREDICTIONS_FILE: &str = "test-predictions.csv";

/// The folder of one seed's runs (`seed-3`).
pub fn seed_dir(seed: u64) -> String {
    format!("seed-{seed}")
}

/// The classifier run of `arm` inside a seed's folder (`a-plain`).
pub fn arm_dir(arm: Arm) -> String {
    format!("{}-{}", arm.letter(), arm.name())
}

/// The classifier run of `arm` for `seed`, relative to the output directory, with `/` as the
/// separator (`seed-3/a-plain`), as the report links to it.
pub fn arm_run(seed: u64, arm: Arm) -> String {
    format!("{}/{}", seed_dir(seed), arm_dir(arm))
}

/// File name of the confusion-matrix figure of `arm` for `seed`, inside [`FIGURES_DIR`]
/// (`confusion-a-plain-seed3.png`).
pub fn confusion_figure(arm: Arm, seed: u64) -> String {
    format!("confusion-{}-{}-seed{seed}.png", arm.letter(), arm.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_documented_layout() {
        assert_eq!(seed_dir(3), "seed-3");
        assert_eq!(arm_dir(Arm::MixupSupcon), "b-mixup-supcon");
        assert_eq!(arm_run(0, Arm::Gated), "seed-0/e-gated");
        assert_eq!(
            confusion_figure(Arm::Plain, 3),
            "confusion-a-plain-seed3.png"
        );
    }
}
