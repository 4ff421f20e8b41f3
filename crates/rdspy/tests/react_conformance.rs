//! rdspy's ReAct sends the same bytes as Python DSPy 3.4.1's. The fixtures in
//! `fixtures/react/` were recorded by `scripts/gen_react_fixture.py` from a real `dspy.ReAct`
//! run with scripted replies and real Python tools; here the same agent is built with
//! equivalent Rust tools, the replies are replayed, and every message of every call must match,
//! as must the trajectory, the outputs and the saved signatures.

use rdspy::lm::{Choice, LmError, LmRequest, LmResponse, Usage, LM};
use rdspy::predict::{Module, ReAct};
use rdspy::tool::Tool;
use rdspy::{Example, Signature};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// Replays the recorded replies in order and keeps every request.
#[derive(Debug)]
struct Replay {
    replies: Mutex<Vec<String>>,
    seen: Mutex<Vec<LmRequest>>,
}

#[async_trait::async_trait]
impl LM for Replay {
    fn model(&self) -> &str {
        "replay"
    }
    async fn call(&self, r: LmRequest) -> Result<LmResponse, LmError> {
        self.seen.lock().unwrap().push(r);
        let text = self.replies.lock().unwrap().remove(0);
        Ok(LmResponse {
            choices: vec![Choice { text, finish_reason: Some("stop".into()), tool_calls: vec![] }],
            usage: Usage::default(),
            model: "replay".into(),
            cache_hit: false,
        })
    }
}

fn fixture(id: &str) -> Value {
    let path = format!("{}/tests/fixtures/react/{id}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[derive(serde::Deserialize, rdspy::SignatureType)]
struct Expression {
    expression: String,
}

/// The fixture's Python `calculator`: integral results as integers.
fn calculator() -> Tool {
    Tool::new("calculator", |e: Expression| async move {
        let v = fasteval::ez_eval(&e.expression, &mut fasteval::EmptyNamespace).map_err(|err| format!("{err:?}"))?;
        Ok::<Value, String>(if v.fract() == 0.0 && v.abs() < 1e15 { json!(v as i64) } else { json!(v) })
    })
    .desc("Evaluate an arithmetic expression and return the number.")
}

#[derive(serde::Deserialize, rdspy::SignatureType)]
struct SearchArgs {
    query: String,
    k: Option<i64>,
}

#[derive(serde::Deserialize, rdspy::SignatureType)]
struct Item {
    name: String,
    qty: Option<i64>,
}

#[derive(serde::Deserialize, rdspy::SignatureType)]
struct LookupArgs {
    item: Item,
}

#[derive(serde::Deserialize, rdspy::SignatureType)]
struct NoArgs {}

fn search() -> Tool {
    Tool::new("search", |a: SearchArgs| async move {
        Ok::<_, String>((0..a.k.unwrap_or(2)).map(|i| format!("{} result {i}", a.query)).collect::<Vec<_>>())
    })
    .desc("Search the notes.\n    Returns matching lines.")
    .arg_desc("query", "what to look for")
}

fn lookup() -> Tool {
    Tool::new("lookup", |a: LookupArgs| async move {
        Ok::<_, String>(json!({"name": a.item.name, "qty": a.item.qty.unwrap_or(1), "in_stock": true}))
    })
    .desc("Look an item up in the inventory.")
}

fn noop() -> Tool {
    Tool::new("noop", |_: NoArgs| async move { Ok::<_, String>("ok") })
}

fn plan_signature() -> Signature {
    Signature::parse("city, budget: float -> plan, cost: float")
        .unwrap()
        .with_instructions("Plan a trip within the budget.\n\n    Use the tools when numbers are involved.")
        .with_updated_field("city", |f| f.desc = "where to go".into())
        .with_updated_field("plan", |f| f.desc = "one paragraph".into())
}

async fn check(id: &str, agent: ReAct) {
    let fx = fixture(id);
    let tools: Vec<String> = agent.tools().iter().map(|t| t.to_string()).collect();
    assert_eq!(json!(tools), fx["tools"], "{id}: tool lines");
    let replies = fx["calls"].as_array().unwrap().iter().map(|c| c["reply"].as_str().unwrap().to_string()).collect();
    let lm = Arc::new(Replay { replies: Mutex::new(replies), seen: Mutex::new(vec![]) });
    let mut inputs = Example::from_json(fx["inputs"].clone()).unwrap();
    if let Some(n) = fx["max_iters"].as_u64() {
        inputs = inputs.with("max_iters", n);
    }
    let pred = rdspy::context(rdspy::Settings::new().lm(lm.clone()), agent.forward(&inputs)).await.unwrap();
    let seen = lm.seen.lock().unwrap();
    assert_eq!(seen.len(), fx["calls"].as_array().unwrap().len(), "{id}: number of LM calls");
    for (i, (req, call)) in seen.iter().zip(fx["calls"].as_array().unwrap()).enumerate() {
        let ours = serde_json::to_value(&*req.messages).unwrap();
        for (j, (a, b)) in ours.as_array().unwrap().iter().zip(call["messages"].as_array().unwrap()).enumerate() {
            assert_eq!(a["content"].as_str().unwrap(), b["content"].as_str().unwrap(), "{id}: call {i}, message {j} differs");
        }
        assert_eq!(ours, call["messages"], "{id}: call {i}");
    }
    assert_eq!(pred.get("trajectory").unwrap(), &fx["trajectory"], "{id}: trajectory");
    for (k, v) in fx["outputs"].as_object().unwrap() {
        assert_eq!(pred.get(k).unwrap(), v, "{id}: output {k}");
    }
    let state = rdspy::save::dump_state(&agent);
    for name in ["react", "extract.predict"] {
        assert_eq!(state[name]["signature"], fx["saved"][name]["signature"], "{id}: saved signature of {name}");
    }
}

#[tokio::test]
async fn agent_with_four_tools_matches_dspy() {
    let agent = ReAct::new(Signature::parse("question -> answer: float").unwrap(), vec![calculator(), search(), lookup()]);
    check("agent_finish", agent).await;
}

#[tokio::test]
async fn typed_signature_stopped_by_max_iters_matches_dspy() {
    let agent = ReAct::new(plan_signature(), vec![calculator(), noop()]);
    check("typed_max_iters", agent).await;
}
