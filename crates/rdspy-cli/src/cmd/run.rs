//! `rdspy run`: run a program on one input and print the prediction.

use super::common::{parse_inputs, read_demos, LmArgs, ProgramArgs};
use anyhow::Result;
use rdspy::predict::Module;
use std::path::PathBuf;

/// Arguments of `rdspy run`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  rdspy run --lm openai/gpt-4o-mini -s \"question -> answer\" -i question=\"What is 2+2?\"\n  rdspy run --lm openai/mock --api-base http://127.0.0.1:8099/v1 -s \"q -> a: int\" -i q=hi --json"
)]
pub struct Args {
    #[command(flatten)]
    pub program: ProgramArgs,
    #[command(flatten)]
    pub lm: LmArgs,
    /// Demos as JSONL.
    #[arg(long)]
    pub demos: Option<PathBuf>,
    /// An input value, `key=value` (repeat; JSON for non-str fields).
    #[arg(long = "input", short = 'i')]
    pub inputs: Vec<String>,
    /// Print the prediction as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Run the subcommand.
pub fn run(args: Args) -> Result<()> {
    let mut predictor = args.program.predictor()?;
    if let Some(path) = &args.demos {
        predictor.demos = read_demos(path)?;
    }
    let inputs = parse_inputs(predictor.signature(), &args.inputs)?;
    predictor.lm = Some(args.lm.build()?);
    let rt = tokio::runtime::Runtime::new()?;
    let prediction = rt.block_on(predictor.forward(&rdspy::Example::from_map(inputs)))?;
    if args.json {
        println!("{}", serde_json::to_string(&prediction.to_json())?);
    } else {
        for (k, v) in prediction.as_map() {
            match v {
                serde_json::Value::String(s) => println!("{k}: {s}"),
                other => println!("{k}: {other}"),
            }
        }
    }
    Ok(())
}
