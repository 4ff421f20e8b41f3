//! Predict and ChainOfThought against a scripted LM: adapter fallback, truncation, traces,
//! settings scopes, program naming.

use rdspy::adapter::JSONAdapter;
use rdspy::lm::{Choice, History, LmError, LmRequest, LmResponse, SharedLM, Usage, LM};
use rdspy::predict::{ChainOfThought, Module, Predict, Predictors};
use rdspy::settings::{self, Settings};
use rdspy::{Error, Example, Prediction, Signature};
use std::sync::{Arc, Mutex};

/// Replies with the scripted texts in order (the last one repeats).
#[derive(Debug)]
struct Scripted {
    name: String,
    replies: Mutex<Vec<(String, &'static str)>>,
    seen: Mutex<Vec<LmRequest>>,
}

impl Scripted {
    fn new(name: &str, replies: &[(&str, &'static str)]) -> Arc<Scripted> {
        Arc::new(Scripted {
            name: name.into(),
            replies: Mutex::new(replies.iter().rev().map(|(t, f)| (t.to_string(), *f)).collect()),
            seen: Mutex::new(vec![]),
        })
    }
}

#[async_trait::async_trait]
impl LM for Scripted {
    fn model(&self) -> &str {
        &self.name
    }
    async fn call(&self, r: LmRequest) -> Result<LmResponse, LmError> {
        self.seen.lock().unwrap().push(r);
        let mut q = self.replies.lock().unwrap();
        let (text, finish) = if q.len() > 1 { q.pop().unwrap() } else { q[0].clone() };
        Ok(LmResponse {
            choices: vec![Choice { text, finish_reason: Some(finish.into()), tool_calls: vec![] }],
            usage: Usage { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12, cost: 0.0, calls: 1, cached_calls: 0 },
            model: self.name.clone(),
            cache_hit: false,
        })
    }
}

fn qa() -> Predict {
    Predict::new(Signature::parse("question -> answer: int").unwrap())
}

fn ex() -> Example {
    Example::new().with("question", "2+2?")
}

#[tokio::test]
async fn chat_adapter_falls_back_to_json_on_a_parse_error_visibly_in_history() {
    let lm = Scripted::new("s", &[("The answer is 4.", "stop"), ("{\"answer\": 4}", "stop")]);
    let hist = Arc::new(History::new(lm.clone(), 10));
    let p = qa().with_lm(hist.clone());
    let pred = p.forward(&ex()).await.unwrap();
    assert_eq!(pred.get("answer"), Some(&serde_json::json!(4)));
    let calls = hist.log().last(10);
    assert_eq!(calls.len(), 2, "both the failed ChatAdapter call and the JSONAdapter retry are in history");
    assert!(calls[1].messages[0].content.contains("Outputs will be a JSON object"));
}

#[tokio::test]
async fn json_adapter_does_not_fall_back_and_reports_the_reply() {
    let lm = Scripted::new("s", &[("no json here", "stop")]);
    let p = qa().with_lm(lm.clone()).with_adapter(JSONAdapter::default());
    let err = p.forward(&ex()).await.unwrap_err();
    assert!(matches!(err, Error::Parse(_)));
    assert!(err.to_string().contains("LM Response: no json here"), "{err}");
    assert_eq!(lm.seen.lock().unwrap().len(), 1);
    assert!(lm.seen.lock().unwrap()[0].response_format.is_some(), "JSONAdapter asks for structured output");
}

#[tokio::test]
async fn truncated_replies_say_to_raise_max_tokens() {
    let lm = Scripted::new("s", &[("[[ ## answer ## ]]\n", "length")]);
    let err = qa().with_lm(lm).with_adapter(JSONAdapter::default()).forward(&ex()).await.unwrap_err();
    assert!(err.to_string().contains("cut off by max_tokens") && err.to_string().contains("raise max_tokens"), "{err}");
}

#[tokio::test]
async fn missing_inputs_and_missing_lm_are_clear_errors() {
    let lm = Scripted::new("s", &[("[[ ## answer ## ]]\n4", "stop")]);
    let err = qa().with_lm(lm).forward(&Example::new().with("q", "x")).await.unwrap_err();
    assert!(err.to_string().contains("missing input field(s) `question`"), "{err}");
    let err = settings::context(Settings::new(), qa().forward(&ex())).await;
    if settings::current().lm.is_none() {
        assert!(matches!(err, Err(Error::NoLm)));
    }
}

#[tokio::test]
async fn traces_record_each_predictor_call() {
    let lm = Scripted::new("s", &[("[[ ## reasoning ## ]]\nr\n\n[[ ## answer ## ]]\n4\n\n[[ ## completed ## ]]", "stop")]);
    let cot = ChainOfThought::new(Signature::parse("question -> answer: int").unwrap()).with_lm(lm);
    let (pred, trace) = rdspy::trace::with_trace(cot.forward(&ex())).await;
    let pred = pred.unwrap();
    assert_eq!(trace.len(), 1);
    assert_eq!(trace[0].predictor_id, cot.predict.id());
    assert_eq!(trace[0].inputs.get_str("question"), Some("2+2?"));
    assert_eq!(trace[0].outputs, pred);
    assert_eq!(trace[0].usage.total_tokens, 12);
    let ((), usage) = rdspy::trace::track_usage(async {
        cot.forward(&ex()).await.unwrap();
        settings::spawn({
            let cot = cot.clone();
            async move { cot.forward(&ex()).await.unwrap() }
        })
        .await
        .unwrap();
    })
    .await;
    assert_eq!(usage["s"].calls, 2);
    assert_eq!(usage["s"].total_tokens, 24);
    // a clone keeps the predictor's identity, so traces of a teacher copy map back by name
    assert_eq!(cot.clone().predict.id(), cot.predict.id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_scopes_keep_their_own_lm() {
    let a: SharedLM = Scripted::new("lm-a", &[("[[ ## answer ## ]]\n1", "stop")]);
    let b: SharedLM = Scripted::new("lm-b", &[("[[ ## answer ## ]]\n2", "stop")]);
    let run = |lm: SharedLM| {
        settings::context(Settings::new().lm(lm), async {
            let mut outs = Vec::new();
            for _ in 0..20 {
                // a task spawned through rdspy::settings::spawn inherits the scope
                let h = settings::spawn(async { qa().forward(&ex()).await });
                outs.push(h.await.unwrap().unwrap().get("answer").cloned().unwrap());
                tokio::task::yield_now().await;
            }
            outs
        })
    };
    let (ra, rb) = tokio::join!(tokio::spawn(run(a)), tokio::spawn(run(b)));
    assert!(ra.unwrap().iter().all(|v| v == 1));
    assert!(rb.unwrap().iter().all(|v| v == 2));
}

#[derive(Clone)]
struct TwoHop {
    hop1: Predict,
    hop2: ChainOfThought,
    layers: Vec<Predict>,
}
rdspy::predictors!(TwoHop { hop1, hop2, layers });

#[async_trait::async_trait]
impl Module for TwoHop {
    async fn forward(&self, inputs: &Example) -> rdspy::Result<Prediction> {
        let first = self.hop1.forward(inputs).await?;
        self.hop2.forward(&Example::new().with("question", first.get_str("answer").unwrap_or_default())).await
    }
}

#[test]
fn programs_name_their_predictors_like_dspy() {
    let sig = Signature::parse("question -> answer").unwrap();
    let mut p = TwoHop {
        hop1: Predict::new(sig.clone()),
        hop2: ChainOfThought::new(sig.clone()),
        layers: vec![Predict::new(sig.clone()), Predict::new(sig)],
    };
    let names: Vec<String> = p.named_predictors().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["hop1", "hop2.predict", "layers[0]", "layers[1]"]);
    for (_, pr) in p.named_predictors_mut() {
        pr.demos.push(Example::new().with("question", "q").with("answer", "a"));
    }
    assert_eq!(p.layers[1].demos.len(), 1);
    let state = rdspy::save::dump_state(&p);
    assert!(state.get("layers[1]").is_some() && state.get("hop2.predict").is_some());
}
