//! Value parsers of the flags several subcommands share (clap `value_parser`s).

use auscult_datasets::{Format, SplitSpec};
use auscult_experiment::DeviceChoice;

/// `--format`: icbhi, coswara, folder or corpus.
pub(crate) fn parse_format(s: &str) -> Result<Format, String> {
    s.parse::<Format>().map_err(|e| e.to_string())
}

/// `--split`: official, all, fold:K:INDEX[:SEED] or cv:K:INDEX[:SEED].
pub(crate) fn parse_split(s: &str) -> Result<SplitSpec, String> {
    s.parse::<SplitSpec>()
}

/// `--device`: cpu or gpu.
pub(crate) fn parse_device(s: &str) -> Result<DeviceChoice, String> {
    s.parse::<DeviceChoice>().map_err(|e| e.to_string())
}
