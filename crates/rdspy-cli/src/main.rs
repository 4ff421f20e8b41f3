//! The `rdspy` command line.
//!
//! One file per subcommand under `cmd/`; this file only parses arguments and dispatches.

mod cmd;

use clap::{Parser, Subcommand};

/// rdspy — DSPy for Rust: inspect prompts, run programs, serve the embedded model.
#[derive(Parser, Debug)]
#[command(name = "rdspy", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the exact messages a program would send, without calling an LM.
    Inspect(cmd::inspect::Args),
    /// Run a program (a signature or a saved program.json) on one input.
    Run(cmd::run::Args),
    /// Score a program on a dataset with a metric.
    Eval(cmd::eval::Args),
    /// Optimize a program's demos on a training set and save it.
    Compile(cmd::compile::Args),
    /// Fetch or list the embedded models' weights.
    Models(cmd::models::Args),
    /// Serve an embedded model over an OpenAI-compatible HTTP API.
    ServeModel(cmd::serve_model::Args),
    /// A mock OpenAI-compatible server for tests and benchmarks.
    #[command(hide = true)]
    MockServer(cmd::mock_server::Args),
}

/// The library reports through `tracing` (an optimizer stopping on a budget, a missing
/// embedder, a retried request): warnings go to stderr by default, and `RUST_LOG` shows more,
/// e.g. `RUST_LOG=rdspy_embedded=debug` prints each embedded-model call's token counts and times.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Inspect(a) => cmd::inspect::run(a),
        Command::Run(a) => cmd::run::run(a),
        Command::Eval(a) => cmd::eval::run(a),
        Command::Compile(a) => cmd::compile::run(a),
        Command::Models(a) => cmd::models::run(a),
        Command::ServeModel(a) => cmd::serve_model::run(a),
        Command::MockServer(a) => cmd::mock_server::run(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
