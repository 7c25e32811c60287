//! `auscult classify` (TEMPORARY PLACEHOLDER while the session writes it).

/// Arguments of `auscult classify`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs the subcommand.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("not written yet")
}
