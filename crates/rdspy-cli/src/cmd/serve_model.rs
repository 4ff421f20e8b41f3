//! `rdspy serve_model` (placeholder).

/// Arguments of `rdspy serve_model`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Run the subcommand.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`rdspy serve_model` is not available yet")
}
