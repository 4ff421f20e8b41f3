//! `rdspy inspect`: the exact messages a program would send, without calling an LM, and with
//! `--tokens` what each part of that prompt costs in the model's own tokens.

use super::common::InputArgs;
use super::program::ProgramSource;
use anyhow::{bail, Result};
use rdspy::adapter::Message;

/// Arguments of `rdspy inspect`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  rdspy inspect -s \"question -> answer\" --input question=\"What is 2+2?\"\n  rdspy inspect -s \"context: list[str], question -> answer\" --module cot --adapter json \\\n      --input 'context=[\"Paris is in France.\"]' --input question=\"Where is Paris?\" --json\n  rdspy inspect --program program.json --input text=\"my card has not arrived\" --tokens --lm local/qwen2.5-0.5b\n  rdspy inspect --program program.json --input text=\"my card has not arrived\" --tokens --lm openai/gpt-4o-mini"
)]
pub struct Args {
    #[command(flatten)]
    pub program: ProgramSource,
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Print the message list as JSON, exactly as it would be sent.
    #[arg(long)]
    pub json: bool,
    /// Print the token count of each part of the prompt (system, each demo, the input) with
    /// the tokenizer of `--lm`: the GGUF's own for `local/...` models, tiktoken's for OpenAI
    /// model names. Nothing is sent to any model.
    #[arg(long, requires = "lm")]
    pub tokens: bool,
    /// The model whose tokenizer `--tokens` uses.
    #[arg(long, env = "RDSPY_LM")]
    pub lm: Option<String>,
}

/// Run the subcommand.
pub fn run(args: Args) -> Result<()> {
    let mut program = args.program.build()?;
    let inputs = args.inputs.apply(program.predictor_mut())?;
    let messages = program.predictor().preview(&inputs);
    if args.tokens {
        let lm = args.lm.as_deref().expect("clap requires --lm with --tokens");
        let counts = count_tokens(lm, &messages)?;
        print!("{}", token_table(&messages, &counts, lm));
    } else if args.json {
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

/// Token counts of each message's content, and the whole prompt as the model is billed for it.
struct Counts {
    parts: Vec<usize>,
    total: usize,
    how: &'static str,
}

fn count_tokens(lm: &str, messages: &[Message]) -> Result<Counts> {
    if lm.starts_with("local/") {
        #[cfg(feature = "embedded")]
        {
            let c = rdspy_embedded::count_prompt_tokens(lm, messages)?;
            return Ok(Counts { parts: c.parts, total: c.total, how: "the GGUF's tokenizer and chat template" });
        }
        #[cfg(not(feature = "embedded"))]
        bail!("--lm {lm}: this rdspy binary was built without the embedded model (--no-default-features), so it has no GGUF tokenizer");
    }
    // OpenAI-style names: `openai/gpt-4o-mini`, or a bare `gpt-4o-mini`.
    let name = lm.rsplit('/').next().unwrap_or(lm);
    let Ok(bpe) = tiktoken_rs::bpe_for_model(name) else {
        bail!(
            "--lm {lm}: no tokenizer known for `{name}`; --tokens counts with a local/... model's GGUF tokenizer or an \
             OpenAI model's tiktoken encoding (e.g. openai/gpt-4o-mini, openai/gpt-4.1, openai/gpt-3.5-turbo)"
        );
    };
    let parts: Vec<usize> = messages.iter().map(|m| bpe.encode_with_special_tokens(&m.content).len()).collect();
    // OpenAI's chat format adds 3 tokens per message (role and separators) and 3 to prime the reply.
    let total = parts.iter().sum::<usize>() + 3 * messages.len() + 3;
    Ok(Counts { parts, total, how: "tiktoken (OpenAI's chat format adds 3 tokens per message and 3 for the reply)" })
}

/// One row per prompt part: the system message, each demo (its user and assistant turns), the
/// input; then the template overhead and the total.
fn token_table(messages: &[Message], c: &Counts, lm: &str) -> String {
    let mut rows: Vec<(String, usize)> = Vec::new();
    let last = messages.len().saturating_sub(1);
    let mut demo = 0;
    let mut i = 0;
    while i < messages.len() {
        let m = &messages[i];
        if m.role == "system" {
            rows.push(("system (instructions, fields, format)".into(), c.parts[i]));
            i += 1;
        } else if i < last && m.role == "user" && messages[i + 1].role == "assistant" {
            demo += 1;
            rows.push((format!("demo {demo} (user + assistant)"), c.parts[i] + c.parts[i + 1]));
            i += 2;
        } else {
            let what = if i == last { "input (last user message)".to_string() } else { format!("{} message {}", m.role, i + 1) };
            rows.push((what, c.parts[i]));
            i += 1;
        }
    }
    let sum: usize = c.parts.iter().sum();
    rows.push(("chat template / role markers".into(), c.total.saturating_sub(sum)));
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(5);
    let mut out = format!("tokens of {lm}, counted with {}\n", c.how);
    for (what, n) in &rows {
        out.push_str(&format!("{what:<width$}  {n:>6}\n"));
    }
    out.push_str(&format!("{:<width$}  {:>6}\n", "total", c.total));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_groups_demos_and_adds_template_overhead() {
        let msgs = vec![
            Message::system("s"),
            Message::user("d1"),
            Message::new("assistant", "a1"),
            Message::user("d2"),
            Message::new("assistant", "a2"),
            Message::user("x"),
        ];
        let c = Counts { parts: vec![10, 3, 2, 4, 1, 5], total: 40, how: "test" };
        let t = token_table(&msgs, &c, "m");
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[1].starts_with("system") && lines[1].ends_with(" 10"), "{t}");
        assert!(lines[2].starts_with("demo 1") && lines[2].ends_with(" 5"), "{t}");
        assert!(lines[3].starts_with("demo 2") && lines[3].ends_with(" 5"), "{t}");
        assert!(lines[4].starts_with("input") && lines[4].ends_with(" 5"), "{t}");
        assert!(lines[5].starts_with("chat template") && lines[5].ends_with(" 15"), "{t}");
        assert!(lines[6].starts_with("total") && lines[6].ends_with(" 40"), "{t}");
    }

    #[test]
    fn openai_counts_use_tiktoken_and_unknown_models_fail_clearly() {
        let msgs = vec![Message::system("You are terse."), Message::user("hello world")];
        let c = count_tokens("openai/gpt-4o-mini", &msgs).unwrap();
        assert_eq!(c.parts, vec![4, 2]);
        assert_eq!(c.total, 6 + 3 * 2 + 3);
        let err = count_tokens("openai/my-finetune-xyz", &msgs).err().unwrap().to_string();
        assert!(err.contains("no tokenizer known for `my-finetune-xyz`"), "{err}");
    }
}
