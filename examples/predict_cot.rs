//! Predict and ChainOfThought against a real OpenAI-compatible server process: the mock server,
//! started here on loopback. Shows the answers, the LM history and token usage.
//!
//! Run: `cargo run -p rdspy --example predict_cot`
//! Against a real server instead: `OPENAI_API_KEY=... cargo run -p rdspy --example predict_cot -- openai/gpt-4o-mini`

use rdspy::lm::{format_history, LmBuilder};
use rdspy::predict::{ChainOfThought, Module, Predict};
use rdspy::{Example, Settings, Signature};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let model = std::env::args().nth(1);
    let _server; // keeps the mock alive for the whole run
    let lm = match &model {
        Some(m) => LmBuilder::new(m.as_str()).build()?,
        None => {
            let server = rdspy_mock::MockServer::start(Default::default()).await?;
            println!("mock OpenAI-compatible server on {}", server.url());
            let lm = LmBuilder::new("openai/mock").api_base(server.url()).api_key("not-needed").cache(false).build()?;
            _server = server;
            lm
        }
    };
    rdspy::configure(Settings::new().lm(lm.clone()));

    let classify = Predict::new(Signature::parse("sentence -> sentiment: Literal['positive', 'negative'], confidence: float")?);
    let p = classify.forward(&Example::new().with("sentence", "a gorgeous, witty, seductive movie")).await?;
    println!("Predict          → sentiment={} confidence={}", p.get("sentiment").unwrap(), p.get("confidence").unwrap());

    let qa = ChainOfThought::new(
        Signature::parse("context: list[str], question -> answer")?.with_instructions("Answer using only the context."),
    );
    let inputs = Example::new()
        .with("context", serde_json::json!(["Rome is the capital of Italy.", "Paris is the capital of France."]))
        .with("question", "What is the capital of Italy?");
    let p = qa.forward(&inputs).await?;
    println!("ChainOfThought   → reasoning={:?} answer={:?}", p.get_str("reasoning").unwrap(), p.get_str("answer").unwrap());

    println!("\n== history (last call) ==");
    print!("{}", format_history(&lm.history().expect("built with history").last(1)));
    let u = lm.usage().expect("built with usage");
    println!("== usage: {} calls, {} prompt + {} completion tokens, ${:.6}", u.calls, u.prompt_tokens, u.completion_tokens, u.cost);
    Ok(())
}
