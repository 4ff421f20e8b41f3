//! `rdspy run` (placeholder).

/// Arguments of `rdspy run`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Run the subcommand.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`rdspy run` is not available yet")
}
