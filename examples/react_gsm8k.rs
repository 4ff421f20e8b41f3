//! ReAct with a calculator tool vs ChainOfThought without tools on GSM8K, against any
//! OpenAI-compatible server. Used for BENCHMARKS.md "Composite modules: assertions and ReAct on
//! GSM8K" with the embedded Qwen2.5-0.5B served by `rdspy serve-model`, so the long run needs
//! no llama.cpp build here:
//!
//! ```text
//! RDSPY_MODELS_DIR=models rdspy serve-model --model local/qwen2.5-0.5b --port 8111 &
//! cargo run --release -p rdspy --example react_gsm8k -- --n 30 --out react_gsm8k.jsonl
//! ```
//!
//! Options: `--api-base URL` (default `http://127.0.0.1:8111/v1`), `--model NAME` (default
//! `openai/qwen2.5-0.5b`), `--n N` questions from `data/gsm8k/test.jsonl` (default 30),
//! `--skip S` to start after the first `S` questions (to resume an interrupted run),
//! `--max-iters K` for ReAct (default 5), `--native` (ReAct calls the tools through the
//! server's native function calling, `ReAct::with_native_function_calling`, instead of DSPy's
//! `next_tool_name`/`next_tool_args` text fields), `--out FILE` (one JSON line per question,
//! written as it goes, so an interrupted run keeps its results).
//!
//! Both programs use the signature `question -> answer`; a question counts as solved when the
//! last number in the answer equals the reference (DSPy's GSM8K metric does the same). An error
//! (unparseable reply, server failure) counts as unsolved and is recorded.

use rdspy::lm::LmBuilder;
use rdspy::predict::{ChainOfThought, Module, ReAct};
use rdspy::tool::Tool;
use rdspy::{Example, Prediction, Settings, Signature};
use serde_json::{json, Value};
use std::io::Write;
use std::time::{Duration, Instant};

#[derive(serde::Deserialize, rdspy::SignatureType)]
struct Calc {
    /// an arithmetic expression with numbers, + - * / ^ and parentheses
    expression: String,
}

/// The calculator tool: fasteval evaluates in f64, and whole results print as integers.
fn calculator() -> Tool {
    Tool::new("calculator", |c: Calc| async move {
        let v = fasteval::ez_eval(&c.expression.replace(',', ""), &mut fasteval::EmptyNamespace)
            .map_err(|e| format!("cannot evaluate {:?}: {e:?}", c.expression))?;
        Ok::<Value, String>(if v.fract() == 0.0 && v.abs() < 1e15 { json!(v as i64) } else { json!(v) })
    })
    .desc("Evaluate an arithmetic expression and return the number.")
}

/// The last number in a text (commas removed), as DSPy's GSM8K metric reads answers.
fn last_number(text: &str) -> Option<f64> {
    let re = regex::Regex::new(r"-?\d+(?:\.\d+)?").expect("valid regex");
    re.find_iter(&text.replace(',', "")).last().and_then(|m| m.as_str().parse().ok())
}

fn solved(pred: &Result<Prediction, rdspy::Error>, gold: f64) -> (bool, String) {
    match pred {
        Ok(p) => {
            let answer = match p.get("answer") {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => String::new(),
            };
            (last_number(&answer).is_some_and(|x| (x - gold).abs() < 1e-6), answer)
        }
        Err(e) => (false, format!("ERROR: {}", e.to_string().lines().next().unwrap_or_default())),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut api_base, mut model, mut n, mut skip, mut max_iters, mut out) =
        ("http://127.0.0.1:8111/v1".to_string(), "openai/qwen2.5-0.5b".to_string(), 30usize, 0usize, 5usize, None::<String>);
    let mut native = false;
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--api-base" => api_base = value()?,
            "--model" => model = value()?,
            "--n" => n = value()?.parse()?,
            "--skip" => skip = value()?.parse()?,
            "--max-iters" => max_iters = value()?.parse()?,
            "--out" => out = Some(value()?),
            "--native" => native = true,
            other => return Err(format!("unknown option {other}; see the example's doc comment").into()),
        }
    }
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/gsm8k/test.jsonl");
    let rows: Vec<Value> = std::fs::read_to_string(data)?.lines().skip(skip).take(n).map(serde_json::from_str).collect::<Result<_, _>>()?;
    let lm = LmBuilder::new(model.as_str())
        .api_base(api_base)
        .api_key("local")
        .temperature(0.0)
        .max_tokens(512)
        .cache(false)
        .timeout(Duration::from_secs(900))
        .build()?;
    rdspy::configure(Settings::new().lm(lm.clone()));

    let signature = Signature::parse("question -> answer")?;
    let cot = ChainOfThought::new(signature.clone());
    let mut react = ReAct::new(signature, vec![calculator()]).with_max_iters(max_iters);
    if native {
        react = react.with_native_function_calling();
    }
    let mut file = out.map(std::fs::File::create).transpose()?;
    let (mut cot_ok, mut react_ok, mut tool_calls, mut finished) = (0, 0, 0, 0);
    let (mut cot_secs, mut react_secs) = (0.0, 0.0);
    for (i, row) in rows.iter().enumerate() {
        let gold: f64 = row["answer"].as_str().unwrap_or_default().parse()?;
        let inputs = Example::new().with("question", row["question"].clone()).with_inputs(["question"]);

        let t = Instant::now();
        let c = cot.forward(&inputs).await;
        let c_secs = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let r = react.forward(&inputs).await;
        let r_secs = t.elapsed().as_secs_f64();

        let (c_ok, c_ans) = solved(&c, gold);
        let (r_ok, r_ans) = solved(&r, gold);
        let trajectory = r.as_ref().ok().and_then(|p| p.get("trajectory").cloned()).unwrap_or(Value::Null);
        let names: Vec<&str> = trajectory
            .as_object()
            .map(|t| t.iter().filter(|(k, _)| k.starts_with("tool_name_")).filter_map(|(_, v)| v.as_str()).collect())
            .unwrap_or_default();
        tool_calls += names.iter().filter(|n| **n == "calculator").count();
        finished += usize::from(names.last() == Some(&"finish"));
        cot_ok += usize::from(c_ok);
        react_ok += usize::from(r_ok);
        cot_secs += c_secs;
        react_secs += r_secs;
        println!(
            "[{:>2}/{}] gold {gold:<6} CoT {} {:<12} ({c_secs:.0}s)  ReAct {} {:<12} ({r_secs:.0}s, tools: {})",
            i + 1,
            rows.len(),
            if c_ok { "✓" } else { "✗" },
            c_ans.chars().take(12).collect::<String>(),
            if r_ok { "✓" } else { "✗" },
            r_ans.chars().take(12).collect::<String>(),
            names.join(",")
        );
        if let Some(f) = file.as_mut() {
            let line = json!({"index": skip + i, "gold": gold, "cot": {"ok": c_ok, "answer": c_ans, "secs": c_secs},
                "react": {"ok": r_ok, "answer": r_ans, "secs": r_secs, "tools": names, "trajectory": trajectory}});
            writeln!(f, "{line}")?;
            f.flush()?;
        }
    }
    let total = rows.len().max(1) as f64;
    println!("\n{} questions, ReAct max_iters {max_iters}{}", rows.len(), if native { ", native function calling" } else { "" });
    println!(
        "ChainOfThought (no tools): {cot_ok}/{} = {:.1}%  ({:.1} s/question)",
        rows.len(),
        100.0 * cot_ok as f64 / total,
        cot_secs / total
    );
    println!("ReAct + calculator:        {react_ok}/{} = {:.1}%  ({:.1} s/question, {tool_calls} calculator calls, {finished} trajectories ended with finish)",
        rows.len(), 100.0 * react_ok as f64 / total, react_secs / total);
    Ok(())
}
