//! `rdspy run`: run a program on one input and print the prediction.

use super::common::{InputArgs, LmArgs};
use super::program::{build_lm, ProgramSource};
use anyhow::Result;
use rdspy::predict::Module;

/// Arguments of `rdspy run`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  rdspy run --lm local/smollm2-135m -s \"sentence -> sentiment: Literal['positive', 'negative']\" -i sentence=\"a gorgeous, witty film\"\n  rdspy run --lm openai/gpt-4o-mini -s \"question -> answer\" -i question=\"What is 2+2?\"\n  rdspy run --lm openai/mock --api-base http://127.0.0.1:8099/v1 -s \"q -> a: int\" -i q=hi --json\n  rdspy run --program program.json --lm local/qwen2.5-0.5b -i text=\"my card has not arrived\""
)]
pub struct Args {
    #[command(flatten)]
    pub program: ProgramSource,
    #[command(flatten)]
    pub lm: LmArgs,
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Print the prediction as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Run the subcommand.
pub fn run(args: Args) -> Result<()> {
    let mut program = args.program.build()?;
    let inputs = args.inputs.apply(program.predictor_mut())?;
    program.predictor_mut().lm = Some(build_lm(&args.lm)?);
    let rt = tokio::runtime::Runtime::new()?;
    let prediction = rt.block_on(program.forward(&rdspy::Example::from_map(inputs)))?;
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
