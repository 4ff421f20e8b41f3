//! `rdspy mock-server`: the OpenAI-compatible mock used by tests and benchmarks.

use anyhow::Result;
use rdspy_mock::{Failure, MockConfig, MockServer};
use std::time::Duration;

/// Arguments of `rdspy mock-server`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  rdspy mock-server --port 8099 --latency-ms 100 --fail-rate 0.1 --fail 500 --fail 429")]
pub struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8099)]
    pub port: u16,
    /// Delay before every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Fraction of requests that fail (0..1).
    #[arg(long, default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Fail the first N requests.
    #[arg(long, default_value_t = 0)]
    pub fail_first: u64,
    /// Failure kinds, in rotation: 500, 429, stall, garbage, drop, 400.
    #[arg(long = "fail")]
    pub failures: Vec<Failure>,
    /// Seed of the failure choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Run the subcommand (until Ctrl-C).
pub fn run(args: Args) -> Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let config = MockConfig {
            latency: Duration::from_millis(args.latency_ms),
            fail_rate: args.fail_rate,
            fail_first: args.fail_first,
            failures: if args.failures.is_empty() { vec![Failure::ServerError] } else { args.failures },
            seed: args.seed,
            ..MockConfig::default()
        };
        let server = MockServer::bind(config, ([127, 0, 0, 1], args.port).into()).await?;
        println!("mock server listening on {}", server.url());
        tokio::signal::ctrl_c().await?;
        Ok(())
    })
}
