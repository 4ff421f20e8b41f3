//! ReAct's loop against scripted LMs and the mock HTTP server: tool calls and observations,
//! `finish`, tool errors as observations, `max_iters`, context-window truncation, unparseable
//! turns, usage, traces, save/load.

use rdspy::lm::{Choice, LmBuilder, LmError, LmRequest, LmResponse, Usage, LM};
use rdspy::predict::{Module, Predictors, ReAct};
use rdspy::tool::Tool;
use rdspy::{Error, Example, Settings, Signature};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

type Script = dyn Fn(&LmRequest) -> Result<String, LmError> + Send + Sync;

/// An LM whose reply is computed from the request; keeps every request.
struct FnLm {
    script: Box<Script>,
    seen: Mutex<Vec<LmRequest>>,
}

impl std::fmt::Debug for FnLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnLm")
    }
}

#[async_trait::async_trait]
impl LM for FnLm {
    fn model(&self) -> &str {
        "fn-lm"
    }
    async fn call(&self, r: LmRequest) -> Result<LmResponse, LmError> {
        let text = (self.script)(&r);
        self.seen.lock().unwrap().push(r);
        Ok(LmResponse {
            choices: vec![Choice { text: text?, finish_reason: Some("stop".into()), tool_calls: vec![] }],
            usage: Usage { prompt_tokens: 100, completion_tokens: 10, total_tokens: 110, cost: 0.0, calls: 1, cached_calls: 0 },
            model: "fn-lm".into(),
            cache_hit: false,
        })
    }
}

fn lm(script: impl Fn(&LmRequest) -> Result<String, LmError> + Send + Sync + 'static) -> Arc<FnLm> {
    Arc::new(FnLm { script: Box::new(script), seen: Mutex::new(vec![]) })
}

fn is_react(r: &LmRequest) -> bool {
    r.messages[0].content.contains("`next_tool_name`")
}

fn user(r: &LmRequest) -> &str {
    &r.messages.last().unwrap().content
}

fn turn(thought: &str, tool: &str, args: Value) -> String {
    format!("[[ ## next_thought ## ]]\n{thought}\n\n[[ ## next_tool_name ## ]]\n{tool}\n\n[[ ## next_tool_args ## ]]\n{args}\n\n[[ ## completed ## ]]")
}

fn extract(answer: &str) -> String {
    format!("[[ ## reasoning ## ]]\nFrom the trajectory.\n\n[[ ## answer ## ]]\n{answer}\n\n[[ ## completed ## ]]")
}

#[derive(serde::Deserialize, rdspy::SignatureType)]
struct Pair {
    a: i64,
    b: i64,
}

/// Divides; fails on a zero divisor. Counts its calls.
fn divide(calls: Arc<AtomicUsize>) -> Tool {
    Tool::new("divide", move |p: Pair| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            if p.b == 0 {
                Err(format!("cannot divide {} by zero", p.a))
            } else {
                Ok(p.a / p.b)
            }
        }
    })
    .desc("Integer division a / b.")
}

fn agent(calls: Arc<AtomicUsize>) -> ReAct {
    ReAct::new(Signature::parse("question -> answer: int").unwrap(), vec![divide(calls)])
}

fn q() -> Example {
    Example::new().with("question", "What is 84 / 2?")
}

#[tokio::test]
async fn calls_the_tool_then_finishes_and_extracts() {
    let calls = Arc::new(AtomicUsize::new(0));
    let lm = lm(|r| {
        Ok(if !is_react(r) {
            extract("42")
        } else if user(r).contains("[[ ## observation_0 ## ]]\n42") {
            turn("I have it.", "finish", json!({}))
        } else {
            turn("Divide.", "divide", json!({"a": 84, "b": 2}))
        })
    });
    let pred = rdspy::context(Settings::new().lm(lm.clone()), agent(calls.clone()).forward(&q())).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(pred.get("answer"), Some(&json!(42)));
    assert_eq!(pred.get_str("reasoning"), Some("From the trajectory."));
    let keys: Vec<&String> = pred.as_map().keys().collect();
    assert_eq!(keys, ["trajectory", "reasoning", "answer"]);
    assert_eq!(
        pred.get("trajectory").unwrap(),
        &json!({"thought_0": "Divide.", "tool_name_0": "divide", "tool_args_0": {"a": 84, "b": 2}, "observation_0": 42,
                "thought_1": "I have it.", "tool_name_1": "finish", "tool_args_1": {}, "observation_1": "Completed."})
    );
    let seen = lm.seen.lock().unwrap();
    assert_eq!(seen.len(), 3, "two turns and the extract step");
    assert!(user(&seen[2]).contains("[[ ## trajectory ## ]]\n[[ ## thought_0 ## ]]\nDivide."), "{}", user(&seen[2]));
    assert_eq!(pred.usage.calls, 3);
    assert_eq!(pred.usage.prompt_tokens, 300);
}

#[tokio::test]
async fn tool_errors_become_observations_and_the_loop_goes_on() {
    let calls = Arc::new(AtomicUsize::new(0));
    let lm = lm(|r| {
        let u = user(r).to_string();
        Ok(if !is_react(r) {
            extract("0")
        } else if u.contains("observation_2") {
            turn("Give up.", "finish", json!({}))
        } else if u.contains("observation_1") {
            turn("Wrong type.", "divide", json!({"a": "eight", "b": 2}))
        } else if u.contains("observation_0") {
            turn("Unknown arg.", "divide", json!({"a": 1, "c": 2}))
        } else {
            turn("Zero.", "divide", json!({"a": 1, "b": 0}))
        })
    });
    let pred = rdspy::context(Settings::new().lm(lm), agent(calls.clone()).forward(&q())).await.unwrap();
    let t = pred.get("trajectory").unwrap();
    assert_eq!(t["observation_0"], "Execution error in divide: cannot divide 1 by zero");
    assert_eq!(t["observation_1"], "Execution error in divide: Arg c is not in the tool's args.");
    let wrong = t["observation_2"].as_str().unwrap();
    assert!(
        wrong.starts_with("Execution error in divide: invalid arguments {\"a\":\"eight\",\"b\":2}: invalid type: string \"eight\""),
        "{wrong}"
    );
    assert_eq!(t["tool_name_3"], "finish");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "only the well-formed call reaches the function");
}

#[tokio::test]
async fn max_iters_bounds_the_loop_and_can_be_set_per_call() {
    let calls = Arc::new(AtomicUsize::new(0));
    let script = |r: &LmRequest| Ok(if is_react(r) { turn("Again.", "divide", json!({"a": 9, "b": 3})) } else { extract("3") });
    let lm1 = lm(script);
    let a = agent(calls.clone()).with_max_iters(3);
    let pred = rdspy::context(Settings::new().lm(lm1.clone()), a.forward(&q())).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(lm1.seen.lock().unwrap().len(), 4);
    assert_eq!(pred.get("trajectory").unwrap().as_object().unwrap().len(), 12);

    let lm2 = lm(script);
    let pred = rdspy::context(Settings::new().lm(lm2.clone()), a.forward(&q().with("max_iters", 1))).await.unwrap();
    assert_eq!(lm2.seen.lock().unwrap().len(), 2);
    assert_eq!(pred.get("answer"), Some(&json!(3)));
    assert!(!user(&lm2.seen.lock().unwrap()[0]).contains("max_iters"), "max_iters is not an input the LM sees");
    let err = a.forward(&q().with("max_iters", "two")).await.unwrap_err();
    assert!(err.to_string().contains("`max_iters` must be a non-negative integer"), "{err}");
}

fn overflow() -> LmError {
    LmError::ContextWindowExceeded { model: "fn-lm".into(), message: "prompt of 9000 tokens > 8192".into() }
}

#[tokio::test]
async fn an_overflowing_trajectory_drops_its_oldest_calls() {
    // The "context window" holds at most two tool calls of trajectory.
    let lm = lm(|r| {
        let u = user(r);
        let held = u.matches("[[ ## thought_").count();
        if held > 2 {
            return Err(overflow());
        }
        Ok(if !is_react(r) {
            extract("2")
        } else if u.contains("observation_3") {
            turn("Done.", "finish", json!({}))
        } else {
            turn("More.", "divide", json!({"a": 4, "b": 2}))
        })
    });
    let calls = Arc::new(AtomicUsize::new(0));
    let pred = rdspy::context(Settings::new().lm(lm.clone()), agent(calls).forward(&q())).await.unwrap();
    let t = pred.get("trajectory").unwrap().as_object().unwrap();
    let keys: Vec<&str> = t.keys().map(String::as_str).filter(|k| k.starts_with("thought_")).collect();
    assert_eq!(keys, ["thought_3", "thought_4"], "the oldest calls were dropped, the newest kept");
    assert_eq!(t["tool_name_4"], "finish");
    assert_eq!(pred.get("answer"), Some(&json!(2)));
}

#[tokio::test]
async fn overflow_with_one_call_left_ends_the_trajectory_then_the_extract_error_surfaces() {
    let lm = lm(|r| {
        if user(r).contains("[[ ## thought_0 ## ]]") {
            return Err(overflow());
        }
        Ok(turn("Go.", "divide", json!({"a": 4, "b": 2})))
    });
    let err = rdspy::context(Settings::new().lm(lm.clone()), agent(Arc::default()).forward(&q())).await.unwrap_err();
    assert!(
        matches!(&err, Error::Lm(LmError::ContextWindowExceeded { message, .. }) if message.contains("only has one tool call")),
        "{err}"
    );
    // turn 0, turn 1 (overflows, cannot truncate: the loop ends), extract (overflows, same).
    assert_eq!(lm.seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn an_unparseable_turn_ends_the_trajectory_and_still_extracts() {
    let lm = lm(|r| {
        Ok(if !is_react(r) {
            extract("7")
        } else if user(r).contains("observation_0") {
            turn("Use a tool I made up.", "teleport", json!({}))
        } else {
            turn("Divide.", "divide", json!({"a": 14, "b": 2}))
        })
    });
    let pred = rdspy::context(Settings::new().lm(lm.clone()), agent(Arc::default()).forward(&q())).await.unwrap();
    assert_eq!(pred.get("answer"), Some(&json!(7)));
    assert_eq!(pred.get("trajectory").unwrap().as_object().unwrap().len(), 4);
    // turn 0, turn 1 with ChatAdapter and its JSONAdapter retry, extract.
    assert_eq!(lm.seen.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn other_lm_errors_fail_the_call() {
    let lm = lm(|_| Err(LmError::Auth { model: "fn-lm".into(), message: "bad key".into() }));
    let err = rdspy::context(Settings::new().lm(lm), agent(Arc::default()).forward(&q())).await.unwrap_err();
    assert!(matches!(err, Error::Lm(LmError::Auth { .. })), "{err}");
}

#[tokio::test]
async fn traces_name_both_predictors_and_save_load_round_trips() {
    let lm = lm(|r| Ok(if is_react(r) { turn("Done.", "finish", json!({})) } else { extract("1") }));
    let mut a = agent(Arc::default());
    let (pred, trace) = rdspy::context(Settings::new().lm(lm), rdspy::trace::with_trace(a.forward(&q()))).await;
    pred.unwrap();
    let ids: Vec<u64> = trace.iter().map(|s| s.predictor_id).collect();
    assert_eq!(ids, [a.react.id(), a.extract.predict.id()]);

    a.react.demos = vec![Example::new().with("question", "q").with("trajectory", "t").with("next_thought", "x")];
    let sig = a.extract.predict.signature().with_instructions("Read the trajectory carefully.");
    a.extract.predict.set_signature(sig);
    let state = rdspy::save::dump_state(&a);
    let mut b = agent(Arc::default());
    rdspy::save::load_state(&mut b, &state).unwrap();
    assert_eq!(b.extract.predict.signature().instructions(), "Read the trajectory carefully.");
    assert_eq!(b.react.demos.len(), 1);
    assert_eq!(b.named_predictors().len(), 2);
}

#[tokio::test]
async fn runs_against_the_mock_http_server() {
    let server = rdspy_mock::MockServer::start(Default::default()).await.unwrap();
    let lm = LmBuilder::new("openai/mock").api_base(server.url()).api_key("x").cache(false).build().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let a = agent(calls.clone()).with_max_iters(4);
    let pred = rdspy::context(Settings::new().lm(lm), a.forward(&q())).await.unwrap();
    let t = pred.get("trajectory").unwrap().as_object().unwrap();
    let turns = t.len() / 4;
    assert!((1..=4).contains(&turns), "{t:?}");
    assert_eq!(server.requests() as usize, turns + 1, "one request per turn plus the extract step");
    for i in 0..turns {
        let name = t[&format!("tool_name_{i}")].as_str().unwrap();
        assert!(name == "divide" || name == "finish", "{name}");
        if name == "divide" {
            // The mock fills dict[str, Any] with {"key": ...}, which the tool does not take.
            assert_eq!(t[&format!("observation_{i}")], "Execution error in divide: Arg key is not in the tool's args.");
        }
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert!(pred.get("answer").unwrap().is_i64());
    let last = server.last_request().unwrap();
    assert!(last["messages"][1]["content"].as_str().unwrap().contains("[[ ## trajectory ## ]]\n[[ ## thought_0 ## ]]"));
}

/// Replies with scripted native tool calls (text, calls), keeping every request.
#[derive(Debug, Default)]
struct NativeLm {
    seen: Mutex<Vec<LmRequest>>,
}

#[async_trait::async_trait]
impl LM for NativeLm {
    fn model(&self) -> &str {
        "native-lm"
    }
    async fn call(&self, r: LmRequest) -> Result<LmResponse, LmError> {
        let call = |name: &str, args: Value| rdspy::lm::ToolCall { id: Some(format!("call_{name}")), name: name.into(), args };
        let (text, calls) = if r.extra.get("tools").is_none() {
            (extract("42"), vec![])
        } else if user(&r).contains("[[ ## observation_0 ## ]]\n42") {
            // Only a call, no text: the thought is None, as in DSPy.
            (String::new(), vec![call("finish", json!({}))])
        } else {
            ("[[ ## next_thought ## ]]\nDivide.\n\n[[ ## completed ## ]]".to_string(), vec![call("divide", json!({"a": 84, "b": 2}))])
        };
        self.seen.lock().unwrap().push(r);
        Ok(LmResponse {
            choices: vec![Choice { text, finish_reason: Some("tool_calls".into()), tool_calls: calls }],
            usage: Usage { calls: 1, ..Default::default() },
            model: "native-lm".into(),
            cache_hit: false,
        })
    }
}

#[tokio::test]
async fn native_function_calling_sends_tool_schemas_and_runs_the_called_tool() {
    let calls = Arc::new(AtomicUsize::new(0));
    let lm = Arc::new(NativeLm::default());
    let a = agent(calls.clone()).with_native_function_calling();
    let pred = rdspy::context(Settings::new().lm(lm.clone()), a.forward(&q())).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(pred.get("answer"), Some(&json!(42)));
    assert_eq!(
        pred.get("trajectory").unwrap(),
        &json!({"thought_0": "Divide.", "tool_name_0": "divide", "tool_args_0": {"a": 84, "b": 2}, "observation_0": 42,
                "thought_1": null, "tool_name_1": "finish", "tool_args_1": {}, "observation_1": "Completed."})
    );
    let seen = lm.seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    // The react turns offer both tools as OpenAI function schemas, and ask for next_thought only.
    let tools = seen[0].extra["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 2);
    assert_eq!(tools[0]["function"]["name"], "divide");
    assert_eq!(tools[0]["function"]["parameters"]["required"], json!(["a", "b"]));
    assert_eq!(tools[1]["function"]["name"], "finish");
    assert_eq!(seen[0].extra["tool_choice"], "required");
    assert!(!seen[0].messages[0].content.contains("next_tool_args"));
    assert!(seen[0].messages[0].content.contains("(1) divide, whose description is <desc>Integer division a / b.</desc>.\n"));
    assert!(!seen[0].messages[0].content.contains("It takes arguments"), "the schemas go in `tools` only");
    assert!(user(&seen[0]).contains("starting with the field `[[ ## next_thought ## ]]`, and then ending"));
    assert!(seen[2].extra.get("tools").is_none(), "the extract step offers no tools");
}

#[tokio::test]
async fn native_function_calling_over_the_mock_http_server() {
    let server = rdspy_mock::MockServer::start(Default::default()).await.unwrap();
    let lm = LmBuilder::new("openai/mock").api_base(server.url()).api_key("x").cache(false).build().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let a = agent(calls.clone()).with_native_function_calling().with_max_iters(3);
    let pred = rdspy::context(Settings::new().lm(lm), a.forward(&q())).await.unwrap();
    let t = pred.get("trajectory").unwrap().as_object().unwrap();
    let turns = t.len() / 4;
    assert!((1..=3).contains(&turns), "{t:?}");
    for i in 0..turns {
        // The mock calls a tool with arguments of its schema's types, sent as a JSON string
        // that the client reads back into an object.
        match t[&format!("tool_name_{i}")].as_str().unwrap() {
            "divide" => {
                let args = t[&format!("tool_args_{i}")].as_object().unwrap();
                assert!(args["a"].is_i64() && args["b"].is_i64(), "{args:?}");
            }
            "finish" => assert_eq!(t[&format!("tool_args_{i}")], json!({})),
            other => panic!("the mock called {other}"),
        }
    }
    assert_eq!(calls.load(Ordering::SeqCst), (0..turns).filter(|i| t[&format!("tool_name_{i}")] == "divide").count());
    assert!(pred.get("answer").unwrap().is_i64());
}
