//! BestOfN, Refine, Parallel, MultiChainComparison and majority against scripted LMs and the
//! mock HTTP server; prompts compared byte for byte with DSPy 3.4.1's (recorded by
//! `fixtures/composite/dspy341_prompts.json`, see the test at the bottom for how).

use rdspy::lm::{Choice, History, LmBuilder, LmError, LmRequest, LmResponse, SharedLM, Usage, LM};
use rdspy::predict::{BestOfN, ChainOfThought, Module, MultiChainComparison, Parallel, Predict, Predictors, Refine, Reward};
use rdspy::{Error, Example, Prediction, Signature};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

type Reply = Box<dyn Fn(&LmRequest, usize) -> String + Send + Sync>;

/// Answers each request with `reply(request, call_number)` and records the requests.
struct FnLm {
    reply: Reply,
    seen: Mutex<Vec<LmRequest>>,
}

impl std::fmt::Debug for FnLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnLm")
    }
}

impl FnLm {
    fn new(reply: impl Fn(&LmRequest, usize) -> String + Send + Sync + 'static) -> Arc<FnLm> {
        Arc::new(FnLm { reply: Box::new(reply), seen: Mutex::new(vec![]) })
    }
    fn seen(&self) -> Vec<LmRequest> {
        self.seen.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl LM for FnLm {
    fn model(&self) -> &str {
        "fn-lm"
    }
    async fn call(&self, r: LmRequest) -> Result<LmResponse, LmError> {
        let n = {
            let mut s = self.seen.lock().unwrap();
            s.push(r.clone());
            s.len() - 1
        };
        let text = (self.reply)(&r, n);
        Ok(LmResponse {
            choices: vec![Choice { text, finish_reason: Some("stop".into()), tool_calls: vec![] }],
            usage: Usage { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12, cost: 0.0, calls: 1, cached_calls: 0 },
            model: "fn-lm".into(),
            cache_hit: false,
        })
    }
}

fn chat(fields: &[(&str, &str)]) -> String {
    let mut s: String = fields.iter().map(|(k, v)| format!("[[ ## {k} ## ]]\n{v}\n\n")).collect();
    s.push_str("[[ ## completed ## ]]");
    s
}

fn user(r: &LmRequest) -> &str {
    &r.messages.last().unwrap().content
}

fn is_number(_: &Example, p: &Prediction) -> f64 {
    p.get_str("answer").is_some_and(|a| a.trim().parse::<f64>().is_ok()) as u8 as f64
}

fn qa() -> Predict {
    Predict::new(Signature::parse("question -> answer").unwrap())
}

fn q() -> Example {
    Example::new().with("question", "2+3?")
}

#[tokio::test]
async fn best_of_n_samples_fresh_rollouts_until_the_threshold() {
    let lm = FnLm::new(|_, n| chat(&[("answer", if n < 2 { "five" } else { "5" })]));
    let best = BestOfN::new(qa().with_lm(lm.clone()), 5, is_number, 1.0);
    let (pred, trace) = rdspy::trace::with_trace(best.forward(&q())).await;
    assert_eq!(pred.unwrap().get_str("answer"), Some("5"));
    let seen = lm.seen();
    assert_eq!(seen.len(), 3, "stops at the first attempt reaching the threshold");
    assert_eq!(seen.iter().map(|r| r.rollout_id).collect::<Vec<_>>(), [Some(0), Some(1), Some(2)]);
    assert!(seen.iter().all(|r| r.temperature == Some(1.0)));
    assert_eq!(trace.len(), 1, "only the kept attempt's steps reach the caller's trace");
    assert_eq!(trace[0].outputs.get_str("answer"), Some("5"));
}

#[tokio::test]
async fn best_of_n_keeps_the_best_reward_and_starts_at_the_module_rollout() {
    let lm = FnLm::new(|_, n| chat(&[("answer", ["a", "abcd", "ab"][n % 3])]));
    let mut module = qa().with_lm(lm.clone());
    module.config.rollout_id = Some(10);
    module.config.temperature = Some(0.3);
    let longest = |_: &Example, p: &Prediction| p.get_str("answer").map_or(0.0, |a| a.len() as f64);
    let pred = BestOfN::new(module, 3, longest, 100.0).forward(&q()).await.unwrap();
    assert_eq!(pred.get_str("answer"), Some("abcd"));
    let seen = lm.seen();
    assert_eq!(seen.iter().map(|r| r.rollout_id).collect::<Vec<_>>(), [Some(10), Some(11), Some(12)]);
    assert!(seen.iter().all(|r| r.temperature == Some(0.3)), "a predictor's own temperature wins, as in DSPy");
}

#[tokio::test]
async fn best_of_n_tolerates_fail_count_failures_then_returns_the_error() {
    // Unparseable for an int answer: every attempt fails (ChatAdapter, then JSONAdapter).
    let lm = FnLm::new(|_, _| "no fields here".into());
    let module = Predict::new(Signature::parse("question -> answer: int").unwrap()).with_lm(lm.clone());
    let err = BestOfN::new(module.clone(), 3, is_number, 1.0).forward(&q()).await.unwrap_err();
    assert!(err.to_string().starts_with("BestOfN: all 3 attempts failed"), "{err}");
    assert_eq!(lm.seen().len(), 6, "3 attempts x (ChatAdapter + JSON fallback)");
    let err = BestOfN::new(module, 3, is_number, 1.0).with_fail_count(1).forward(&q()).await.unwrap_err();
    assert!(matches!(err, Error::Parse(_)), "the second failure exceeds fail_count = 1: {err}");
    assert_eq!(lm.seen().len(), 6 + 4);
}

#[tokio::test]
async fn names_are_dspys() {
    let cot = ChainOfThought::new(Signature::parse("question -> answer").unwrap());
    let names = |p: &dyn Predictors| p.named_predictors().into_iter().map(|(n, _)| n).collect::<Vec<_>>();
    assert_eq!(names(&BestOfN::new(cot.clone(), 2, is_number, 1.0)), ["module.predict"]);
    assert_eq!(names(&Refine::new(qa(), 2, is_number, 1.0)), ["module"]);
    assert_eq!(names(&MultiChainComparison::new(Signature::parse("q -> a").unwrap(), 3)), ["predict"]);
}

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/composite/dspy341_prompts.json")).unwrap()
}

/// The same run as `fixtures/composite` records from Python: attempt 1 answers 7 (reward 0),
/// OfferFeedback advises `predict`, attempt 2 sees the advice as `hint_`.
#[tokio::test]
async fn refine_feedback_and_hint_prompts_match_dspy_byte_for_byte() {
    let lm = FnLm::new(|_, n| match n {
        0 => chat(&[("reasoning", "I think"), ("answer", "7")]),
        1 => chat(&[("discussion", "bad"), ("advice", r#"{"predict": "Answer with digits."}"#)]),
        _ => chat(&[("reasoning", "ok"), ("answer", "5")]),
    });
    let hist = Arc::new(History::new(lm.clone(), 10));
    let cot = ChainOfThought::new(Signature::parse("question, context: list[str] -> answer: int").unwrap()).with_lm(hist.clone());
    let refine = Refine::new(cot, 2, Reward::new(|_, _| 0.0).with_code("REWARD CODE"), 1.0).with_program_code("PROGRAM CODE");
    let inputs = Example::new().with("question", "2+3?").with("context", json!(["a", "b"]));
    let pred = refine.forward(&inputs).await.unwrap();
    assert_eq!(pred.get("answer"), Some(&json!(7)), "no attempt reached the threshold: the first (best) is kept");
    let expected = fixture()["refine"].clone();
    let got: Vec<Value> = lm.seen().iter().map(|r| serde_json::to_value(&*r.messages).unwrap()).collect();
    assert_eq!(got.len(), 3);
    for (i, (g, e)) in got.iter().zip(expected.as_array().unwrap()).enumerate() {
        for (gm, em) in g.as_array().unwrap().iter().zip(e.as_array().unwrap()) {
            assert_eq!(gm["content"].as_str().unwrap(), em["content"].as_str().unwrap(), "call {i}");
        }
    }
    assert_eq!(hist.log().len(), 3, "the feedback call goes through the module's own LM, so history shows all three");
}

#[tokio::test]
async fn refine_stops_when_the_hinted_attempt_passes() {
    let lm = FnLm::new(|r, _| {
        if user(r).contains("program_trajectory") {
            chat(&[("discussion", "words"), ("advice", r#"{"self": "Reply with digits only."}"#)])
        } else if user(r).contains("Reply with digits only.") {
            chat(&[("answer", "5")])
        } else {
            chat(&[("answer", "five")])
        }
    });
    let refine = Refine::new(qa().with_lm(lm.clone()), 3, is_number, 1.0);
    let (pred, trace) = rdspy::trace::with_trace(refine.forward(&q())).await;
    assert_eq!(pred.unwrap().get_str("answer"), Some("5"));
    assert_eq!(lm.seen().len(), 3, "attempt, feedback, hinted attempt");
    assert_eq!(trace.len(), 1);
    assert_eq!(trace[0].inputs.get("hint_"), None, "the hint is not recorded as an input (DSPy's TODO, done)");
}

#[tokio::test]
async fn multi_chain_comparison_prompt_matches_dspy() {
    let lm = FnLm::new(|_, _| chat(&[("rationale", "2+2 is 4"), ("answer", "4")]));
    let mcc = MultiChainComparison::new(Signature::parse("question -> answer").unwrap(), 3);
    let mut mcc = mcc;
    mcc.predict.lm = Some(lm.clone());
    let completions = json!([
        {"reasoning": "add two and two\nmore", "answer": "4"},
        {"rationale": " guess ", "answer": 5},
        {"reasoning": "x", "answer": true}
    ]);
    let inputs = Example::new().with("completions", completions.clone()).with("question", "2+2?");
    let pred = mcc.forward(&inputs).await.unwrap();
    assert_eq!((pred.get_str("rationale"), pred.get_str("answer")), (Some("2+2 is 4"), Some("4")));
    let f = fixture();
    let seen = lm.seen();
    assert_eq!(serde_json::to_value(&*seen[0].messages).unwrap(), f["mcc"]);
    assert_eq!(seen[0].temperature, Some(0.7));
    let state = rdspy::save::dump_state(&mcc);
    assert_eq!(state["predict"]["signature"], f["mcc_state"]["predict"]["signature"]);
    let two: Vec<_> = completions.as_array().unwrap()[..2].iter().map(|c| c.as_object().unwrap().clone()).collect();
    let err = mcc.compare(&two, &Example::new().with("question", "?")).await.unwrap_err();
    assert!(err.to_string().contains("The number of attempts (2) doesn't match the expected number M (3)"), "{err}");
}

#[tokio::test]
async fn parallel_over_the_mock_server_keeps_order_and_collects_errors() {
    let server = rdspy_mock::MockServer::start(rdspy_mock::MockConfig::default()).await.unwrap();
    let client: SharedLM = LmBuilder::new("openai/mock-model")
        .api_base(server.url())
        .api_key("sk-test-not-secret")
        .cache(false)
        .num_retries(0)
        .build()
        .unwrap();
    let module = qa().with_lm(client);
    let mut examples: Vec<Example> =
        (0..12).map(|i| Example::new().with("question", format!("q{i}")).with("answer", "x").with_inputs(["question"])).collect();
    examples[5] = Example::new().with("other", "no question field");
    let out = Parallel::new().num_threads(3).run(&module, &examples).await.unwrap();
    assert_eq!(out.results.len(), 12);
    assert_eq!(out.results.iter().filter(|r| r.is_some()).count(), 11);
    assert!(out.results[5].is_none());
    assert_eq!(out.failed_examples, vec![examples[5].clone()]);
    assert!(out.exceptions[0].to_string().contains("missing input field(s) `question`"), "{}", out.exceptions[0]);
    assert_eq!(server.requests(), 11);

    let err = Parallel::new().num_threads(2).max_errors(1).run(&module, &examples).await.unwrap_err();
    assert!(err.to_string().contains("max_errors = 1"), "{err}");
}

#[tokio::test]
async fn parallel_runs_inside_the_callers_trace_and_caps_concurrency() {
    let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    #[derive(Clone)]
    struct Slow {
        inner: Predict,
        running: Arc<std::sync::atomic::AtomicUsize>,
        peak: Arc<std::sync::atomic::AtomicUsize>,
    }
    rdspy::predictors!(Slow { inner });
    #[async_trait::async_trait]
    impl Module for Slow {
        async fn forward(&self, inputs: &Example) -> rdspy::Result<Prediction> {
            use std::sync::atomic::Ordering::SeqCst;
            let now = self.running.fetch_add(1, SeqCst) + 1;
            self.peak.fetch_max(now, SeqCst);
            tokio::task::yield_now().await;
            let out = self.inner.forward(inputs).await;
            self.running.fetch_sub(1, SeqCst);
            out
        }
    }
    let lm = FnLm::new(|r, _| chat(&[("answer", user(r).lines().nth(1).unwrap_or(""))]));
    let slow = Slow { inner: qa().with_lm(lm), running, peak: peak.clone() };
    let examples: Vec<Example> = (0..10).map(|i| Example::new().with("question", format!("q{i}"))).collect();
    let (out, trace) = rdspy::trace::with_trace(Parallel::new().num_threads(2).run(&slow, &examples)).await;
    let out = out.unwrap();
    let answers: Vec<_> = out.results.iter().map(|r| r.as_ref().unwrap().get_str("answer").unwrap().to_string()).collect();
    assert_eq!(answers, (0..10).map(|i| format!("q{i}")).collect::<Vec<_>>());
    assert_eq!(trace.len(), 10);
    assert!(peak.load(std::sync::atomic::Ordering::SeqCst) <= 2);
}

#[test]
fn majority_old_path_still_works() {
    let p = |a: &str| Prediction::from_json(json!({"answer": a})).unwrap();
    let votes = [p("x"), p("y"), p("y")];
    assert_eq!(rdspy::optimize::majority(&votes, None), rdspy::predict::majority(&votes, None));
}
