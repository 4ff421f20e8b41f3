//! ReAct with a calculator tool on the embedded Qwen2.5-0.5B, against ChainOfThought without
//! tools, on the first GSM8K test questions. Prints both success rates; the larger measurement
//! is `examples/react_gsm8k.rs` (BENCHMARKS.md "ReAct on GSM8K").
//!
//! A 0.5B model solves few of these either way, so the assertions are about the agent working
//! end to end on a real model: every run completes, each trajectory is well formed (known tool
//! names, one observation per call, at most `max_iters` calls), every calculator observation is
//! the evaluated number or an `Execution error` text, and both programs answer.

use rdspy::lm::{LmRequest, LmResponse, SharedLM, LM};
use rdspy::predict::{ChainOfThought, Module, ReAct};
use rdspy::tool::Tool;
use rdspy::{Example, Settings, Signature};
use serde_json::{json, Value};
use std::sync::Arc;

const MODEL: &str = "local/qwen2.5-0.5b";
const QUESTIONS: usize = 2;
const MAX_ITERS: usize = 3;

fn model() -> Option<SharedLM> {
    if let Err(e) = rdspy_embedded::resolve_model(MODEL) {
        if std::env::var_os("RDSPY_REQUIRE_MODELS").is_some() {
            panic!("RDSPY_REQUIRE_MODELS is set but the model is missing: {e}");
        }
        eprintln!("SKIPPED: {e}");
        return None;
    }
    Some(Arc::new(Greedy(rdspy_embedded::shared(MODEL).expect("load Qwen2.5-0.5B"))))
}

/// Greedy decoding with a bounded reply, so the run is deterministic and short.
#[derive(Debug)]
struct Greedy<L>(L);

#[async_trait::async_trait]
impl<L: LM> LM for Greedy<L> {
    fn model(&self) -> &str {
        self.0.model()
    }
    async fn call(&self, mut r: LmRequest) -> Result<LmResponse, rdspy::lm::LmError> {
        r.temperature = Some(0.0);
        r.max_tokens = Some(r.max_tokens.unwrap_or(384).min(384));
        self.0.call(r).await
    }
}

#[derive(serde::Deserialize, rdspy::SignatureType)]
struct Calc {
    /// an arithmetic expression with numbers, + - * / ^ and parentheses
    expression: String,
}

fn calculator() -> Tool {
    Tool::new("calculator", |c: Calc| async move {
        let v = fasteval::ez_eval(&c.expression.replace(',', ""), &mut fasteval::EmptyNamespace)
            .map_err(|e| format!("cannot evaluate {:?}: {e:?}", c.expression))?;
        Ok::<Value, String>(if v.fract() == 0.0 && v.abs() < 1e15 { json!(v as i64) } else { json!(v) })
    })
    .desc("Evaluate an arithmetic expression and return the number.")
}

fn questions() -> Vec<(String, f64)> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/gsm8k/test.jsonl")).expect("data/gsm8k is in the repo");
    text.lines()
        .take(QUESTIONS)
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["question"].as_str().unwrap().to_string(), v["answer"].as_str().unwrap().parse().unwrap())
        })
        .collect()
}

/// The last number in a text, commas removed (how DSPy's GSM8K metric reads an answer).
fn last_number(text: &str) -> Option<f64> {
    let re = regex::Regex::new(r"-?\d+(?:\.\d+)?").expect("valid regex");
    re.find_iter(&text.replace(',', "")).last().and_then(|m| m.as_str().parse().ok())
}

fn correct(answer: &str, gold: f64) -> bool {
    last_number(answer).is_some_and(|x| (x - gold).abs() < 1e-6)
}

fn answer_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

#[tokio::test]
async fn react_with_a_calculator_vs_chain_of_thought_on_gsm8k() {
    let Some(lm) = model() else { return };
    let sig = Signature::parse("question -> answer").unwrap();
    let cot = ChainOfThought::new(sig.clone());
    let react = ReAct::new(sig, vec![calculator()]).with_max_iters(MAX_ITERS);
    let (mut cot_ok, mut react_ok, mut calculator_calls) = (0, 0, 0);
    for (question, gold) in questions() {
        let inputs = Example::new().with("question", question.as_str());
        let (c, r) =
            rdspy::context(Settings::new().lm(lm.clone()), async { (cot.forward(&inputs).await, react.forward(&inputs).await) }).await;
        let c = c.expect("ChainOfThought runs on the embedded model");
        let r = r.expect("ReAct runs on the embedded model");
        let traj = r.get("trajectory").and_then(Value::as_object).expect("ReAct returns its trajectory");
        assert_eq!(traj.len() % 4, 0, "four entries per call: {traj:?}");
        let calls = traj.len() / 4;
        assert!(calls <= MAX_ITERS, "{calls} calls > max_iters");
        let first = traj.keys().next().and_then(|k| k.strip_prefix("thought_")).map_or(0, |i| i.parse::<usize>().unwrap());
        for i in first..first + calls {
            let name = traj[&format!("tool_name_{i}")].as_str().unwrap();
            let obs = &traj[&format!("observation_{i}")];
            match name {
                "finish" => assert_eq!(obs, "Completed."),
                "calculator" => {
                    calculator_calls += 1;
                    assert!(obs.is_number() || obs.as_str().is_some_and(|s| s.starts_with("Execution error in calculator: ")), "{obs}");
                }
                other => panic!("unknown tool {other} in {traj:?}"),
            }
        }
        let (ca, ra) = (answer_text(c.get("answer")), answer_text(r.get("answer")));
        assert!(!ra.is_empty() && !ca.is_empty(), "both programs answer");
        cot_ok += usize::from(correct(&ca, gold));
        react_ok += usize::from(correct(&ra, gold));
        eprintln!("gold {gold}: CoT {ca:?}, ReAct {ra:?} after {calls} call(s)");
    }
    eprintln!("GSM8K first {QUESTIONS}: ChainOfThought {cot_ok}/{QUESTIONS}, ReAct + calculator {react_ok}/{QUESTIONS} ({calculator_calls} calculator calls)");
}

/// ReAct with native function calling, over real HTTP: `serve-model`'s server (in this
/// process, on a free port) offers the tools to Qwen in its own `<tool_call>` format and returns
/// OpenAI `tool_calls`, which rdspy's OpenAI client reads back. The calls must be native ones
/// (in this mode the text has no tool fields) with arguments that fit the calculator's schema.
#[tokio::test]
async fn react_with_native_function_calling_through_serve_model() {
    let Some(lm) = model() else { return };
    let cfg = rdspy_embedded::server::ServerConfig { lm, model_name: "qwen".into(), embedder: None, api_key: None };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(rdspy_embedded::server::serve(listener, cfg));
    let client = rdspy::lm::LmBuilder::new("openai/qwen").api_base(base).api_key("local").cache(false).build().unwrap();

    let react = ReAct::new(Signature::parse("question -> answer").unwrap(), vec![calculator()])
        .with_native_function_calling()
        .with_max_iters(MAX_ITERS);
    let (question, gold) = questions().remove(1);
    let r = rdspy::context(Settings::new().lm(client), react.forward(&Example::new().with("question", question.as_str())))
        .await
        .expect("ReAct runs against serve-model");
    let traj = r.get("trajectory").and_then(Value::as_object).expect("ReAct returns its trajectory");
    eprintln!("native ReAct, gold {gold}: {traj:?} -> {:?}", r.get("answer"));
    let calls: Vec<usize> = (0..MAX_ITERS).filter(|i| traj.contains_key(&format!("tool_name_{i}"))).collect();
    assert!(!calls.is_empty(), "the model made no native tool call: {traj:?}");
    for i in calls {
        let obs = &traj[&format!("observation_{i}")];
        match traj[&format!("tool_name_{i}")].as_str().unwrap() {
            "finish" => assert_eq!(obs, "Completed."),
            "calculator" => {
                assert!(traj[&format!("tool_args_{i}")]["expression"].is_string(), "arguments fit the schema: {traj:?}");
                assert!(obs.is_number() || obs.as_str().is_some_and(|s| s.starts_with("Execution error in calculator: ")), "{obs}");
            }
            other => panic!("unknown tool {other} in {traj:?}"),
        }
    }
    assert!(!answer_text(r.get("answer")).is_empty());
}

#[test]
fn reads_the_last_number_like_dspy() {
    assert_eq!(last_number("She makes $18 a day."), Some(18.0));
    assert_eq!(last_number("1,080 then -3.5."), Some(-3.5));
    assert_eq!(last_number("none"), None);
    assert!(correct("The answer is 18", 18.0));
}
