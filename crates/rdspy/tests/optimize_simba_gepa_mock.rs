//! SIMBA and GEPA against a scripted LM whose answers depend on the prompt, so each optimizer's
//! choices are visible:
//!
//! * SIMBA task: `N+1?` is answered right when the instructions say `ADD ONE`, when the prompt
//!   has two demos, on fresh samples with an odd `rollout_id`, or when N is a multiple of 4.
//!   Its OfferFeedback call advises `ADD ONE`.
//! * GEPA task: right for odd N when the instructions say `ODD`, for even N when they say
//!   `EVEN`, else only for multiples of 3. The reflection LM turns any instruction into an `ODD`
//!   one and an `ODD` one into an `EVEN` one, so candidates win on different examples.
//!
//! Plus DSPy 3.4.1's exact prompts for both LM-facing signatures, and an end-to-end run of each
//! optimizer over HTTP against the mock server.

use rdspy::adapter::JSONAdapter;
use rdspy::lm::{Choice, LmBuilder, LmError, LmRequest, LmResponse, SharedLM, Usage, LM};
use rdspy::optimize::gepa::{propose_instruction, Gepa, GepaBudget, ScoreWithFeedback};
use rdspy::optimize::{Budget, Checkpoint, Simba, StopReason};
use rdspy::predict::Predict;
use rdspy::trace::Trace;
use rdspy::{Example, Prediction, Signature};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Task {
    Simba,
    Gepa,
}

#[derive(Debug)]
struct Scripted {
    task: Task,
    calls: AtomicUsize,
    /// Never answer call number K (1-based): the process "dies" there.
    hang_at: Option<usize>,
    hung: tokio::sync::Notify,
    /// System messages of the optimizer's own calls (OfferFeedback / ProposeInstruction).
    meta: Mutex<Vec<String>>,
}

impl Scripted {
    fn new(task: Task) -> Arc<Scripted> {
        Arc::new(Scripted { task, calls: AtomicUsize::new(0), hang_at: None, hung: Default::default(), meta: Default::default() })
    }
    fn hanging_at(task: Task, k: usize) -> Arc<Scripted> {
        Arc::new(Scripted { task, calls: AtomicUsize::new(0), hang_at: Some(k), hung: Default::default(), meta: Default::default() })
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

fn reply(text: String) -> LmResponse {
    LmResponse {
        choices: vec![Choice { text, finish_reason: Some("stop".into()), tool_calls: vec![] }],
        usage: Usage { prompt_tokens: 20, completion_tokens: 5, total_tokens: 25, cost: 0.0, calls: 1, cached_calls: 0 },
        model: "test/scripted".into(),
        cache_hit: false,
    }
}

#[async_trait::async_trait]
impl LM for Scripted {
    fn model(&self) -> &str {
        "test/scripted"
    }
    async fn call(&self, r: LmRequest) -> Result<LmResponse, LmError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if self.hang_at == Some(n) {
            self.hung.notify_one();
            std::future::pending::<()>().await;
        }
        let system = &r.messages[0].content;
        let last = &r.messages.last().unwrap().content;
        if system.contains("You will be given two trajectories") {
            self.meta.lock().unwrap().push(system.clone());
            let advice = "[[ ## discussion ## ]]\nThe worse run forgot to add one.\n\n[[ ## module_advice ## ]]\n{\"self\": \"ADD ONE to the number in the question.\"}\n\n[[ ## completed ## ]]";
            return Ok(reply(advice.into()));
        }
        if system.contains("I provided an assistant with instructions") {
            self.meta.lock().unwrap().push(system.clone());
            let current = last.split("[[ ## current_instruction ## ]]\n").nth(1).unwrap_or("").split("\n\n[[ ##").next().unwrap_or("");
            let new = if current.contains("ODD") { "Handle EVEN numbers: answer N+1." } else { "Handle ODD numbers: answer N+1." };
            return Ok(reply(json!({ "new_instruction": new }).to_string()));
        }
        let demos = (r.messages.len() - 2) / 2;
        let q: i64 = last
            .split("[[ ## question ## ]]\n")
            .nth(1)
            .and_then(|s| s.split('+').next())
            .and_then(|s| s.trim().parse().ok())
            .expect("a question N+1?");
        let right = match self.task {
            Task::Simba => {
                system.contains("ADD ONE")
                    || demos >= 2
                    || (r.temperature == Some(1.0) && r.rollout_id.is_some_and(|i| i % 2 == 1))
                    || q % 4 == 0
            }
            Task::Gepa => {
                if system.contains("ODD") {
                    q % 2 == 1
                } else if system.contains("EVEN") {
                    q % 2 == 0
                } else {
                    q % 3 == 0
                }
            }
        };
        let answer = if right { q + 1 } else { q };
        Ok(reply(format!("[[ ## answer ## ]]\n{answer}\n\n[[ ## completed ## ]]")))
    }
}

fn data(range: std::ops::Range<i64>) -> Vec<Example> {
    range
        .map(|i| Example::new().with("question", format!("{i}+1?")).with("answer", (i + 1).to_string()).with_inputs(["question"]))
        .collect()
}

fn student(lm: SharedLM) -> Predict {
    Predict::new(Signature::parse("question -> answer").unwrap()).with_lm(lm)
}

fn exact(e: &Example, p: &Prediction, _t: Option<&Trace>) -> f64 {
    f64::from(u8::from(e.get("answer") == p.get("answer")))
}

fn simba(lm: SharedLM) -> Simba {
    let mut s = Simba::new(exact).bsize(4).num_candidates(3).max_steps(3);
    s.num_threads = 2;
    s.prompt_model = Some(lm);
    s
}

/// What a compiled predictor looks like, for comparing runs.
fn shape(p: &Predict) -> (String, Vec<Value>) {
    (p.signature().instructions().to_string(), p.demos.iter().map(Example::to_json).collect())
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("rdspy-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&d).ok();
    d
}

#[tokio::test]
async fn simba_learns_a_rule_and_is_reproducible() {
    let lm = Scripted::new(Task::Simba);
    let train = data(0..12);
    let a = simba(lm.clone()).compile_detailed(&student(lm.clone()), &train).await.unwrap();
    assert_eq!(a.stop, StopReason::Finished);
    assert_eq!(a.steps.len(), 3);
    // Every step built candidates with one of the two strategies and scored them on the batch.
    for s in &a.steps {
        assert!(!s.candidate_scores.is_empty() && s.candidate_scores.len() <= 4, "{s:?}");
        assert!(s.strategies.iter().all(|x| x == "append_a_demo" || x == "append_a_rule"));
    }
    // The rule (or two demos) makes every answer right; the best finalist scores 1.0 on the trainset.
    assert_eq!(a.candidates[0].score, 1.0, "{:?}", a.candidates);
    assert!(a.program.signature().instructions().contains("ADD ONE") || a.program.demos.len() >= 2, "{:?}", shape(&a.program));
    assert!(!lm.meta.lock().unwrap().is_empty(), "append_a_rule asked the prompt model");
    // Same seed, same LM replies → the same program and scores.
    let b = simba(lm.clone()).compile_detailed(&student(lm.clone()), &train).await.unwrap();
    assert_eq!(shape(&a.program), shape(&b.program));
    assert_eq!(
        a.steps.iter().map(|s| s.candidate_scores.clone()).collect::<Vec<_>>(),
        b.steps.iter().map(|s| s.candidate_scores.clone()).collect::<Vec<_>>()
    );
    // A trainset smaller than the minibatch is refused.
    let err = simba(lm.clone()).compile_detailed(&student(lm.clone()), &train[..3]).await.unwrap_err();
    assert!(err.to_string().contains("bsize = 4"), "{err}");
}

#[tokio::test]
async fn simba_budget_stops_the_run_with_the_best_so_far() {
    let lm = Scripted::new(Task::Simba);
    let mut s = simba(lm.clone());
    s.budget = Budget::default().max_calls(20);
    let r = s.compile_detailed(&student(lm.clone()), &data(0..12)).await.unwrap();
    assert!(matches!(r.stop, StopReason::Budget(ref e) if e.limit == "calls"), "{:?}", r.stop);
    assert!(lm.calls() <= 20, "{} calls", lm.calls());
    // Step 0 samples 3 × 4 runs, then candidates need more than the 8 calls left: no step finished.
    assert!(r.steps.is_empty());
    assert_eq!(r.candidates.len(), 1);
}

#[tokio::test]
async fn simba_resume_after_interruption_does_not_redo_finished_work() {
    let train = data(0..12);
    // The uninterrupted reference, journaled too (a journal also answers repeated runs of the
    // same program on the same example, as DSPy's LM cache would).
    let full_lm = Scripted::new(Task::Simba);
    let mut base = simba(full_lm.clone());
    base.num_threads = 1;
    let ref_dir = tempdir("simba-reference");
    base.checkpoint = Some(Arc::new(Checkpoint::open(&ref_dir).unwrap()));
    let full = base.compile_detailed(&student(full_lm.clone()), &train).await.unwrap();
    let full_calls = full_lm.calls();
    std::fs::remove_dir_all(&ref_dir).ok();
    let plain_lm = Scripted::new(Task::Simba);
    let mut plain = simba(plain_lm.clone());
    plain.num_threads = 1;
    let unjournaled = plain.compile_detailed(&student(plain_lm.clone()), &train).await.unwrap();
    assert_eq!(shape(&unjournaled.program), shape(&full.program));

    let dir = tempdir("simba-resume");
    let k = full_calls / 2;
    let lm1 = Scripted::hanging_at(Task::Simba, k);
    let mut first = simba(lm1.clone());
    first.num_threads = 1;
    first.checkpoint = Some(Arc::new(Checkpoint::open(&dir).unwrap()));
    let interrupted = student(lm1.clone());
    tokio::select! {
        _ = first.compile_detailed(&interrupted, &train) => panic!("the run should hang at call {k}"),
        _ = lm1.hung.notified() => {}
    }
    drop(first);
    let lm2 = Scripted::new(Task::Simba);
    let mut second = simba(lm2.clone());
    second.num_threads = 1;
    second.checkpoint = Some(Arc::new(Checkpoint::open(&dir).unwrap()));
    let resumed = second.compile_detailed(&student(lm2.clone()), &train).await.unwrap();
    assert_eq!(shape(&resumed.program), shape(&full.program));
    // Everything finished before the interruption is replayed: only the interrupted call and
    // what came after it are made again.
    assert_eq!((k - 1) + lm2.calls(), full_calls, "first {} + resumed {} vs full {full_calls}", k - 1, lm2.calls());
    // A third run replays everything.
    let lm3 = Scripted::new(Task::Simba);
    let mut third = simba(lm3.clone());
    third.checkpoint = Some(Arc::new(Checkpoint::open(&dir).unwrap()));
    let again = third.compile_detailed(&student(lm3.clone()), &train).await.unwrap();
    assert_eq!((lm3.calls(), shape(&again.program)), (0, shape(&full.program)));
    std::fs::remove_dir_all(&dir).ok();
}

fn feedback(e: &Example, p: &Prediction, _t: Option<&Trace>, _n: Option<&str>, _pt: Option<&Trace>) -> ScoreWithFeedback {
    let (want, got) = (e.get_str("answer").unwrap_or(""), p.get_str("answer").unwrap_or(""));
    if want == got {
        ScoreWithFeedback::new(1.0, "Correct.")
    } else {
        ScoreWithFeedback::new(0.0, format!("Wrong: expected {want}, got {got}."))
    }
}

fn gepa(lm: SharedLM, budget: GepaBudget) -> Gepa {
    let mut g = Gepa::with_feedback(feedback, budget);
    g.reflection_lm = Some(lm);
    g.num_threads = 2;
    g
}

#[tokio::test]
async fn gepa_pareto_frontier_keeps_per_example_winners() {
    let lm = Scripted::new(Task::Gepa);
    let (train, val) = (data(0..12), data(20..32));
    let r = gepa(lm.clone(), GepaBudget::MaxMetricCalls(150)).compile_detailed(&student(lm.clone()), &train, Some(&val)).await.unwrap();
    let texts: Vec<&str> = r.candidates.iter().map(|c| c.instructions[0].1.as_str()).collect();
    assert!(texts.iter().any(|t| t.contains("ODD")) && texts.iter().any(|t| t.contains("EVEN")), "{texts:?}");
    // Per validation example: the frontier holds the best score and exactly the candidates reaching it.
    for i in 0..val.len() {
        let best = r.candidates.iter().map(|c| c.val_scores[i]).fold(f64::MIN, f64::max);
        let winners: std::collections::BTreeSet<usize> =
            (0..r.candidates.len()).filter(|&c| r.candidates[c].val_scores[i] == best).collect();
        assert_eq!((r.front.best[i], &r.front.winners[i]), (best, &winners), "example {i}");
    }
    // An ODD and an EVEN candidate are both on the frontier though neither beats the other overall.
    let on_front: std::collections::BTreeSet<usize> = r.front.winners.iter().flatten().copied().collect();
    assert!(on_front.iter().any(|&c| texts[c].contains("ODD")) && on_front.iter().any(|&c| texts[c].contains("EVEN")), "{on_front:?}");
    // Every accepted proposal improved its minibatch; the reflection prompt is DSPy's.
    assert!(r.proposals.iter().filter(|p| p.accepted_as.is_some() && p.kind == "reflective").all(|p| p.after > p.before));
    assert!(lm.meta.lock().unwrap()[0].contains("`examples_with_feedback` (list[dict[str, Any]])"));
    assert_eq!(r.program.signature().instructions(), r.candidates[r.best].instructions[0].1);
}

#[tokio::test]
async fn gepa_budgets_stop_the_run() {
    let (train, val) = (data(0..12), data(20..32));
    // max_metric_calls: stops at the first check past the budget (at most one iteration over).
    let lm = Scripted::new(Task::Gepa);
    let r = gepa(lm.clone(), GepaBudget::MaxMetricCalls(40)).compile_detailed(&student(lm.clone()), &train, Some(&val)).await.unwrap();
    assert_eq!(r.max_metric_calls, 40);
    assert!(r.metric_calls >= 40 && r.metric_calls <= 40 + 3 + 3 + val.len(), "{}", r.metric_calls);
    assert_eq!(r.stop, StopReason::Finished);
    // max_full_evals counts train + val passes; auto uses DSPy's estimate.
    let g = gepa(lm.clone(), GepaBudget::MaxFullEvals(2));
    assert_eq!(g.max_metric_calls(1, 12, Some(12)), 48);
    assert_eq!(g.max_metric_calls(1, 12, None), 24);
    let g = gepa(lm.clone(), GepaBudget::Auto("light".parse().unwrap()));
    assert_eq!(g.max_metric_calls(1, 12, Some(12)), rdspy::optimize::gepa::auto_budget(1, 6, 12));
    // An LM-call budget stops it too, returning the best candidate so far.
    let lm = Scripted::new(Task::Gepa);
    let mut g = gepa(lm.clone(), GepaBudget::MaxMetricCalls(10_000));
    g.lm_budget = Budget::default().max_calls(30);
    let r = g.compile_detailed(&student(lm.clone()), &train, Some(&val)).await.unwrap();
    assert!(matches!(r.stop, StopReason::Budget(_)), "{:?}", r.stop);
    assert!(lm.calls() <= 30);
    assert!(!r.candidates.is_empty());
}

#[tokio::test]
async fn gepa_same_seed_same_result_and_resume_replays() {
    let (train, val) = (data(0..12), data(20..32));
    let lm = Scripted::new(Task::Gepa);
    let run = |lm: Arc<Scripted>, cp: Option<Arc<Checkpoint>>| {
        let mut g = gepa(lm.clone(), GepaBudget::MaxMetricCalls(120));
        g.num_threads = 1;
        g.checkpoint = cp;
        let (train, val) = (train.clone(), val.clone());
        async move { g.compile_detailed(&student(lm), &train, Some(&val)).await }
    };
    let a = run(lm.clone(), None).await.unwrap();
    let b = run(Scripted::new(Task::Gepa), None).await.unwrap();
    // The journaled reference run: repeated runs of a program on an example are answered by the journal.
    let ref_dir = tempdir("gepa-reference");
    let full_lm = Scripted::new(Task::Gepa);
    let c = run(full_lm.clone(), Some(Arc::new(Checkpoint::open(&ref_dir).unwrap()))).await.unwrap();
    let full_calls = full_lm.calls();
    std::fs::remove_dir_all(&ref_dir).ok();
    let scores = |r: &rdspy::optimize::GepaResult<Predict>| {
        r.candidates.iter().map(|c| (c.instructions.clone(), c.val_scores.clone())).collect::<Vec<_>>()
    };
    assert_eq!(scores(&a), scores(&b));
    assert_eq!(scores(&a), scores(&c));
    assert_eq!((a.metric_calls, a.metric_calls), (b.metric_calls, c.metric_calls));

    let dir = tempdir("gepa-resume");
    let k = full_calls / 2;
    let lm1 = Scripted::hanging_at(Task::Gepa, k);
    tokio::select! {
        _ = run(lm1.clone(), Some(Arc::new(Checkpoint::open(&dir).unwrap()))) => panic!("the run should hang at call {k}"),
        _ = lm1.hung.notified() => {}
    }
    let lm2 = Scripted::new(Task::Gepa);
    let resumed = run(lm2.clone(), Some(Arc::new(Checkpoint::open(&dir).unwrap()))).await.unwrap();
    assert_eq!(scores(&resumed), scores(&a));
    assert_eq!((k - 1) + lm2.calls(), full_calls);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn optimizer_prompts_match_dspy() {
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/simba_gepa_prompts_dspy341.json")).unwrap(),
    )
    .unwrap();
    let as_pairs =
        |msgs: Vec<rdspy::adapter::Message>| msgs.into_iter().map(|m| json!({"role": m.role, "content": m.content})).collect::<Vec<_>>();
    let offer = &fixture["offer_feedback"];
    let inputs = offer["inputs"].as_object().unwrap().clone();
    let msgs = Predict::new(rdspy::optimize::simba::strategies::offer_feedback()).preview(&inputs);
    assert_eq!(Value::Array(as_pairs(msgs)), offer["messages"]);
    let prop = &fixture["propose_instruction"];
    let inputs = serde_json::Map::from_iter([
        ("current_instruction".to_string(), prop["current_instruction"].clone()),
        ("examples_with_feedback".to_string(), prop["examples"].clone()),
    ]);
    let msgs = Predict::new(propose_instruction()).with_adapter(JSONAdapter::default()).preview(&inputs);
    assert_eq!(Value::Array(as_pairs(msgs)), prop["messages"]);
}

/// Both optimizers end to end over HTTP against the mock OpenAI-compatible server.
#[tokio::test]
async fn simba_and_gepa_run_against_the_mock_server() {
    let server = rdspy_mock::MockServer::start(rdspy_mock::MockConfig::default()).await.unwrap();
    let lm = LmBuilder::new("openai/mock-model").api_base(server.url()).api_key("sk-test").cache(false).build().unwrap();
    let train = data(0..8);
    let s = Simba::new(exact).bsize(4).num_candidates(2).max_steps(2);
    let r = s.compile_detailed(&student(lm.clone()), &train).await.unwrap();
    assert_eq!((r.steps.len(), r.stop.clone()), (2, StopReason::Finished));
    let after_simba = server.requests();
    assert!(after_simba >= 2 * 2 * 4, "{after_simba} requests");
    let mut g = Gepa::new(exact, GepaBudget::MaxMetricCalls(30));
    g.reflection_lm = Some(lm.clone());
    let r = g.compile_detailed(&student(lm), &train, Some(&data(8..14))).await.unwrap();
    assert!(r.metric_calls >= 30 && server.requests() > after_simba);
    // The mock's answers never match, so the reflection LM was asked and the seed stays best.
    assert!(!r.proposals.is_empty());
    assert_eq!(r.best, 0);
}
