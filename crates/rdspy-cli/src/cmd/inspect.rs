//! `rdspy inspect` (placeholder).

/// Arguments of `rdspy inspect`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Run the subcommand.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`rdspy inspect` is not available yet")
}
