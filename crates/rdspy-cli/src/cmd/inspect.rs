//! `rdspy inspect`: the exact messages a program would send, without calling an LM.

use super::common::{InputArgs, ProgramArgs};
use anyhow::Result;

/// Arguments of `rdspy inspect`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  rdspy inspect -s \"question -> answer\" --input question=\"What is 2+2?\"\n  rdspy inspect -s \"context: list[str], question -> answer\" --module cot --adapter json \\\n      --input 'context=[\"Paris is in France.\"]' --input question=\"Where is Paris?\" --json"
)]
pub struct Args {
    #[command(flatten)]
    pub program: ProgramArgs,
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Print the message list as JSON, exactly as it would be sent.
    #[arg(long)]
    pub json: bool,
}

/// Run the subcommand.
pub fn run(args: Args) -> Result<()> {
    let mut predictor = args.program.predictor()?;
    let inputs = args.inputs.apply(&mut predictor)?;
    let messages = predictor.preview(&inputs);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&messages)?);
    } else {
        for (i, m) in messages.iter().enumerate() {
            if i > 0 {
                println!();
            }
            println!("── {} ──", m.role);
            println!("{}", m.content);
        }
    }
    Ok(())
}
