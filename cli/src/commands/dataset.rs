//! `auscult dataset ...` (TEMPORARY PLACEHOLDER while the session writes it).

/// `auscult dataset` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum DatasetCommand {
    /// Inspect a dataset.
    Inspect {},
}

/// Runs the subcommand.
pub fn run(_cmd: DatasetCommand) -> anyhow::Result<()> {
    anyhow::bail!("not written yet")
}
