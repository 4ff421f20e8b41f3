//! `rdspy eval`: score a program on a dataset.

use super::common::LmArgs;
use super::program::{build_lm, ProgramSource};
use anyhow::Result;
use rdspy::evaluate::{metric_by_name, Evaluate};
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `rdspy eval`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  rdspy eval --lm local/qwen2.5-0.5b -s \"sentence -> label: Literal['positive', 'negative']\" --data data/sst2/dev.jsonl --metric exact_match:label\n  rdspy eval --program program.json --lm openai/gpt-4o-mini --data dev.jsonl --metric f1 --limit 50 --json\n  rdspy eval --lm openai/mock --api-base http://127.0.0.1:8099/v1 -s \"question -> answer\" --data qa.jsonl --metric exact_match --results out.jsonl"
)]
pub struct Args {
    #[command(flatten)]
    pub program: ProgramSource,
    #[command(flatten)]
    pub lm: LmArgs,
    /// The dataset (.jsonl, .json or .csv).
    #[arg(long)]
    pub data: PathBuf,
    /// The metric: exact_match, f1 or passage_match, optionally `:field` (default field `answer`).
    #[arg(long, default_value = "exact_match")]
    pub metric: String,
    /// Examples evaluated at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Only the first N examples.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Stop after more than N failed examples.
    #[arg(long, default_value_t = 10)]
    pub max_errors: usize,
    /// Print a table of the first N results.
    #[arg(long)]
    pub table: Option<usize>,
    /// Write every result to this file (.jsonl or .csv).
    #[arg(long)]
    pub results: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Print `{"score", "n", "errors", "usage"}` as the last line of stdout.
    #[arg(long)]
    pub json: bool,
}

/// Run the subcommand.
pub fn run(args: Args) -> Result<()> {
    let mut program = args.program.build()?;
    let metric = metric_by_name(&args.metric)?;
    let field = args.metric.split_once(':').map(|(_, f)| f).unwrap_or("answer");
    let keys = args.program.input_keys(&program);
    let mut dev = rdspy::data::Load::new(&keys).require([field]).file(&args.data)?;
    if let Some(n) = args.limit {
        dev.truncate(n);
    }
    program.predictor_mut().lm = Some(build_lm(&args.lm)?);
    let rt = tokio::runtime::Runtime::new()?;
    let started = std::time::Instant::now();
    let result = rt.block_on(
        Evaluate::with_shared(dev, metric)
            .num_threads(args.concurrency)
            .max_errors(args.max_errors)
            .display_progress(!args.quiet)
            .run(Arc::new(program)),
    )?;
    let secs = started.elapsed().as_secs_f64();
    if let Some(n) = args.table {
        print!("{}", result.table(n));
    }
    if let Some(path) = &args.results {
        if path.extension().is_some_and(|e| e == "csv") {
            result.write_csv(path)?;
        } else {
            result.write_jsonl(path)?;
        }
    }
    let usage = result.total_usage();
    if args.json {
        let out = serde_json::json!({
            "score": result.score,
            "n": result.results.len(),
            "errors": result.errors,
            "seconds": secs,
            "usage": usage,
        });
        println!("{out}");
    } else {
        println!(
            "score {}% on {} examples ({} errors) in {secs:.1}s; {} LM calls, {} tokens",
            result.score,
            result.results.len(),
            result.errors,
            usage.calls,
            usage.total_tokens
        );
    }
    Ok(())
}
