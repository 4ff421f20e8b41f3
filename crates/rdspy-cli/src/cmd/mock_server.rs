//! `rdspy mock_server` (placeholder).

/// Arguments of `rdspy mock_server`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Run the subcommand.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`rdspy mock_server` is not available yet")
}
