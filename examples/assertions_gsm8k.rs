//! Assertions on the embedded model: does backtracking raise the share of GSM8K answers that
//! are a number? Used for BENCHMARKS.md "Composite modules: assertions and ReAct on GSM8K",
//! measured on Qwen2.5-0.5B (SmolLM2-135M is the default only because it is the smaller
//! download):
//!
//! ```text
//! RDSPY_MODELS_DIR=models rdspy serve-model --model local/qwen2.5-0.5b --port 8131 &
//! cargo run --release -p rdspy --example assertions_gsm8k -- --api-base http://127.0.0.1:8131/v1 \
//!     --model openai/qwen2.5-0.5b --n 50 --out assertions_gsm8k.jsonl
//! ```
//!
//! Options: `--api-base URL` (default `http://127.0.0.1:8112/v1`), `--model NAME` (default
//! `openai/smollm2-135m`), `--n N` questions from `data/gsm8k/test.jsonl` (default all 50),
//! `--max-backtracks K` (default 2), `--out FILE` (one JSON line per question and mode).
//!
//! One program, run twice over the same questions: `Predict("question -> answer")` followed by
//! `rdspy::assert(is_number(answer), ...)`. *Before*: the program as is, so a non-numeric
//! answer fails the call. *After*: the same program through `.activate_assertions()`, so the
//! predictor is retried with its past output and the message, up to `K` times. The figure is
//! the share of questions whose final answer is a number; accuracy against the reference and
//! LM calls per question are reported too. Greedy decoding (temperature 0) and the LM cache
//! make the *after* run's first attempt identical to the *before* run.

use rdspy::assertions::ActivateAssertions;
use rdspy::lm::LmBuilder;
use rdspy::predict::{Module, Predict, Predictors};
use rdspy::{Example, Prediction, Signature};
use serde_json::json;
use std::io::Write;
use std::time::{Duration, Instant};

/// A plain number, as a program would need it downstream: digits with an optional sign,
/// decimal point, thousands commas or leading `$`; nothing else.
fn as_number(answer: &str) -> Option<f64> {
    let a = answer.trim().trim_start_matches('$').replace(',', "");
    a.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// Answer a math word problem, and insist the answer is a number.
#[derive(Clone, Predictors)]
struct Solve {
    solve: Predict,
}

#[async_trait::async_trait]
impl Module for Solve {
    async fn forward(&self, inputs: &Example) -> rdspy::Result<Prediction> {
        let pred = self.solve.forward(inputs).await?;
        let answer = pred.get_str("answer").unwrap_or_default();
        rdspy::assert(
            as_number(answer).is_some(),
            "The answer must be a single number written with digits only, with no words, units or explanation.",
        )?;
        Ok(pred)
    }
}

/// Counts for one mode.
#[derive(Default)]
struct Tally {
    numeric: usize,
    correct: usize,
    calls: u64,
    seconds: f64,
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let api_base = arg(&args, "--api-base").unwrap_or_else(|| "http://127.0.0.1:8112/v1".into());
    let model = arg(&args, "--model").unwrap_or_else(|| "openai/smollm2-135m".into());
    let max_backtracks: usize = arg(&args, "--max-backtracks").map(|s| s.parse()).transpose()?.unwrap_or(2);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/gsm8k/test.jsonl");
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(path)?.lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    let n: usize = arg(&args, "--n").map(|s| s.parse()).transpose()?.unwrap_or(rows.len()).min(rows.len());
    let mut out = arg(&args, "--out").map(std::fs::File::create).transpose()?;

    let lm = LmBuilder::new(&model)
        .api_base(api_base)
        .api_key("local")
        .temperature(0.0)
        .max_tokens(96)
        .timeout(Duration::from_secs(600))
        .cache_dir(std::env::temp_dir().join("rdspy-assertions-gsm8k-cache"))
        .build()?;
    let program = Solve { solve: Predict::new(Signature::parse("question -> answer")?).with_lm(lm) };
    let checked = program.clone().activate_assertions().max_backtracks(max_backtracks);

    println!("{n} GSM8K questions, {model}, max_backtracks = {max_backtracks}");
    // Both modes per question, so an interrupted run still compares like with like.
    let modes = [("before", &program as &dyn Module), ("after", &checked as &dyn Module)];
    let mut tally = [Tally::default(), Tally::default()];
    for (i, row) in rows[..n].iter().enumerate() {
        let inputs = Example::new().with("question", row["question"].as_str().unwrap_or_default());
        let gold: f64 = row["answer"].as_str().unwrap_or_default().parse()?;
        for ((mode, runner), t) in modes.iter().zip(tally.iter_mut()) {
            let start = Instant::now();
            let ((result, usage), trace) = rdspy::trace::with_trace(rdspy::trace::track_usage(runner.forward(&inputs))).await;
            t.seconds += start.elapsed().as_secs_f64();
            let used: u64 = usage.values().map(|u| u.calls).sum();
            t.calls += used;
            // On a failed assert the call returns an error; the trace still shows what the LM said.
            let answer = match &result {
                Ok(p) => p.get_str("answer").unwrap_or_default().to_string(),
                Err(_) => trace.last().and_then(|s| s.outputs.get_str("answer")).unwrap_or_default().to_string(),
            };
            t.numeric += result.is_ok() as usize;
            t.correct += (result.is_ok() && as_number(&answer) == Some(gold)) as usize;
            if let Some(f) = out.as_mut() {
                let error = result.as_ref().err().map(|e| e.to_string().lines().next().unwrap_or_default().to_string());
                writeln!(
                    f,
                    "{}",
                    json!({"mode": mode, "question": row["question"], "gold": gold, "answer": answer, "calls": used, "error": error})
                )?;
                f.flush()?;
            }
        }
        eprintln!("[{}/{n}] before {} numeric, after {} numeric", i + 1, tally[0].numeric, tally[1].numeric);
    }
    for ((mode, _), t) in modes.iter().zip(&tally) {
        println!(
            "{mode:>6}: numeric answer {}/{n} ({:.1}%), correct {}/{n} ({:.1}%), LM calls {} ({:.2}/question, cache hits included), {:.0}s",
            t.numeric,
            100.0 * t.numeric as f64 / n as f64,
            t.correct,
            100.0 * t.correct as f64 / n as f64,
            t.calls,
            t.calls as f64 / n as f64,
            t.seconds
        );
    }
    Ok(())
}
