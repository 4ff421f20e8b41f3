//! `rdspy models` (placeholder).

/// Arguments of `rdspy models`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Run the subcommand.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`rdspy models` is not available yet")
}
