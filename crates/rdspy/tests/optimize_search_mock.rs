//! The search optimizers (COPRO, MIPROv2) and budgets against a deterministic mock LM.
//!
//! The task is `question -> answer` on `N+1?`. The mock answers right when the system prompt's
//! instructions contain the word `carefully`, or when N is even; so a zero-shot program scores
//! 50% and an optimizer that finds a "carefully" instruction reaches 100%. Proposer prompts
//! (recognised by their output fields) get scripted proposals, some with the magic word.

use rdspy::adapter::ChatAdapter;
use rdspy::evaluate::answer_exact_match;
use rdspy::lm::{Choice, LmError, LmRequest, LmResponse, SharedLM, Usage, LM};
use rdspy::optimize::{mipro, Budget, Checkpoint, Copro, MiproV2, StopReason};
use rdspy::predict::Predict;
use rdspy::{Example, Signature};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct Mock {
    calls: AtomicU64,
    /// The user message of every proposer call.
    proposer_prompts: Mutex<Vec<String>>,
}

fn field(name: &str, value: &str) -> String {
    format!("[[ ## {name} ## ]]\n{value}\n\n")
}

#[async_trait::async_trait]
impl LM for Mock {
    fn model(&self) -> &str {
        "test/mock"
    }
    async fn call(&self, r: LmRequest) -> Result<LmResponse, LmError> {
        let k = self.calls.fetch_add(1, Ordering::SeqCst);
        let system = &r.messages[0].content;
        let user = &r.messages.last().unwrap().content;
        let n = r.n.unwrap_or(1) as usize;
        let texts: Vec<String> = if system.contains("`proposed_prefix_for_output_field`") {
            self.proposer_prompts.lock().unwrap().push(user.clone());
            // First-round proposals never contain the word; later rounds (which see attempts) do once.
            let later = user.contains("attempted_instructions");
            (0..n)
                .map(|i| {
                    let ins = if later && i == 1 { format!("Add one, carefully (v{i}).") } else { format!("Add one (v{i}, call {k}).") };
                    format!(
                        "{}{}[[ ## completed ## ]]",
                        field("proposed_instruction", &ins),
                        field("proposed_prefix_for_output_field", "Answer:")
                    )
                })
                .collect()
        } else if system.contains("`proposed_instruction`") {
            self.proposer_prompts.lock().unwrap().push(user.clone());
            let ins = if user.contains("persona") || k % 3 == 0 { "Think carefully and add one." } else { "Add one." };
            vec![format!("{}[[ ## completed ## ]]", field("proposed_instruction", ins))]
        } else if let Some(out) =
            system.split("Your output fields are:\n1. `").nth(1).and_then(|s| s.split('`').next()).filter(|o| *o != "answer")
        {
            vec![format!("{}[[ ## completed ## ]]", field(out, "Arithmetic questions of the form N+1?"))]
        } else {
            let q: i64 = user
                .split("[[ ## question ## ]]\n")
                .nth(1)
                .and_then(|s| s.split('+').next())
                .and_then(|s| s.trim().parse().ok())
                .expect("a task prompt N+1?");
            let careful = system.split("your objective is:").nth(1).is_some_and(|o| o.contains("carefully"));
            let a = if careful || q % 2 == 0 { q + 1 } else { q };
            vec![format!("{}[[ ## completed ## ]]", field("answer", &a.to_string()))]
        };
        Ok(LmResponse {
            choices: texts.into_iter().map(|text| Choice { text, finish_reason: Some("stop".into()), tool_calls: vec![] }).collect(),
            usage: Usage { prompt_tokens: 20, completion_tokens: 5, total_tokens: 25, cost: 0.0, calls: 1, cached_calls: 0 },
            model: "test/mock".into(),
            cache_hit: false,
        })
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

fn copro(lm: SharedLM) -> Copro {
    let mut c = Copro::new(answer_exact_match());
    c.prompt_model = Some(lm);
    c.breadth = 3;
    c.depth = 2;
    c
}

#[test]
fn proposer_prompts_match_dspy_341() {
    let want: serde_json::Value = serde_json::from_str(include_str!("fixtures/proposer_system_dspy341.json")).unwrap();
    let a = ChatAdapter::default();
    assert_eq!(a.system_message(&rdspy::optimize::basic_generate_instruction()), want["basic"].as_str().unwrap());
    assert_eq!(a.system_message(&rdspy::optimize::generate_instruction_given_attempts()), want["attempts"].as_str().unwrap());
}

#[tokio::test]
async fn copro_finds_the_better_instruction_and_shows_attempts_sorted() {
    let mock = Arc::new(Mock::default());
    let lm: SharedLM = mock.clone();
    let run = copro(lm.clone()).compile_detailed(&student(lm), &data(0..10)).await.unwrap();
    assert_eq!(run.stop, StopReason::Finished);
    assert_eq!(run.candidates[0].score, 100.0);
    assert!(run.program.signature().instructions().contains("carefully"), "{}", run.program.signature().instructions());
    // Round 0 scores 2 proposals + the original; round 1 only the 3 new ones (one predictor).
    assert_eq!(run.trials.len(), 6);
    assert_eq!(run.trials.iter().filter(|t| t.depth == 0).count(), 3);
    let prompts = mock.proposer_prompts.lock().unwrap().clone();
    assert_eq!(prompts.len(), 2);
    assert!(prompts[0].contains("Given the fields `question`, produce the fields `answer`."), "{}", prompts[0]);
    // The attempts are listed in increasing order of score, all 50.0 here, numbered from 1.
    assert!(prompts[1].contains("[1] «Instruction #1: ") && prompts[1].contains("«Resulting Score #3: 50.0»"), "{}", prompts[1]);
    assert_eq!(run.spent.calls, 2 + 6 * 10);
}

#[tokio::test]
async fn copro_budget_stops_with_the_best_so_far() {
    let mock = Arc::new(Mock::default());
    let lm: SharedLM = mock.clone();
    let mut c = copro(lm.clone());
    c.budget = Budget::default().max_calls(25);
    let run = c.compile_detailed(&student(lm), &data(0..10)).await.unwrap();
    let StopReason::Budget(e) = &run.stop else { panic!("expected a budget stop, got {:?}", run.stop) };
    assert_eq!((e.limit.as_str(), e.spent.calls), ("calls", 25));
    assert!(run.stop.to_string().contains("best program so far"), "{}", run.stop);
    // 1 proposal call + 2 full evaluations of 10 fit in 25 calls; the third was cut short and dropped.
    assert_eq!(run.trials.len(), 2);
    assert_eq!(mock.calls.load(Ordering::SeqCst), 25, "no call is made past the budget");
    assert_eq!(run.candidates[0].score, 50.0);
}

#[tokio::test]
async fn copro_resumes_from_its_journal_without_lm_calls() {
    let dir = std::env::temp_dir().join(format!("rdspy-copro-resume-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let first = Arc::new(Mock::default());
    let mut c = copro(first.clone());
    c.checkpoint = Some(Arc::new(Checkpoint::open(&dir).unwrap()));
    let a = c.compile_detailed(&student(first.clone()), &data(0..10)).await.unwrap();
    let second = Arc::new(Mock::default());
    let mut c = copro(second.clone());
    c.checkpoint = Some(Arc::new(Checkpoint::open(&dir).unwrap()));
    let b = c.compile_detailed(&student(second.clone()), &data(0..10)).await.unwrap();
    assert_eq!(second.calls.load(Ordering::SeqCst), 0);
    assert_eq!((a.trials, a.program.signature().instructions()), (b.trials, b.program.signature().instructions()));
    assert_eq!(a.spent.calls, b.spent.calls, "the replayed spend is restored");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn grounded_proposer_prompts_match_dspy_341() {
    let want: serde_json::Value = serde_json::from_str(include_str!("fixtures/proposer_system_dspy341.json")).unwrap();
    let a = ChatAdapter::default();
    let cases = [
        ("describe_program", mipro::describe_program()),
        ("describe_module", mipro::describe_module()),
        ("summarizer", mipro::observation_summarizer()),
        ("descriptor", mipro::dataset_descriptor()),
        ("descriptor_prior", mipro::dataset_descriptor_with_prior()),
        ("gen_all", mipro::generate_single_module_instruction(true, true, true)),
        ("gen_min", mipro::generate_single_module_instruction(false, false, false)),
    ];
    for (name, sig) in cases {
        assert_eq!(a.system_message(&sig), want[name].as_str().unwrap(), "{name}");
    }
}

fn mipro(lm: SharedLM, candidates: usize, trials: usize) -> MiproV2 {
    let mut m = MiproV2::new(answer_exact_match());
    m.prompt_model = Some(lm);
    m.auto = None;
    m.num_candidates = Some(candidates);
    m.num_trials = Some(trials);
    m.minibatch = false;
    m
}

#[tokio::test]
async fn mipro_searches_instructions_and_demo_sets() {
    let mock = Arc::new(Mock::default());
    let lm: SharedLM = mock.clone();
    let run = mipro(lm.clone(), 6, 12).compile_detailed(&student(lm), &data(0..12), Some(&data(100..120))).await.unwrap();
    assert_eq!(run.stop, StopReason::Finished);
    assert_eq!(run.instructions[0].len(), 6, "with auto = None, N instructions and N demo sets (DSPy)");
    assert_eq!(run.instructions[0][0], "Given the fields `question`, produce the fields `answer`.");
    assert_eq!(run.demo_sets[0].len(), 6);
    assert!(run.demo_sets[0][0].is_empty(), "set 0 is zero-shot");
    assert_eq!(run.trials.len(), 13, "the default program + 12 trials");
    assert_eq!(run.trials[0].score, 50.0);
    assert!(run.instructions[0].iter().any(|i| i.contains("carefully")), "{:?}", run.instructions);
    assert_eq!(run.best_score, 100.0, "{:#?}", run.trials);
    assert!(run.program.signature().instructions().contains("carefully"));
    assert_eq!(run.dataset_summary.as_deref(), Some("Arithmetic questions of the form N+1?"));
}

#[tokio::test]
async fn mipro_light_minibatches_with_periodic_full_evals() {
    let mock = Arc::new(Mock::default());
    let lm: SharedLM = mock.clone();
    let mut m = MiproV2::new(answer_exact_match());
    m.prompt_model = Some(lm.clone());
    let run = m.compile_detailed(&student(lm), &data(0..12), Some(&data(100..160))).await.unwrap();
    // light: N = 6, 10 trials on minibatches of 35 (the valset has 60 > 50 examples),
    // a full evaluation after trial numbers 6 and 12 (DSPy counts the added trials too).
    let numbers: Vec<(usize, bool)> = run.trials.iter().map(|t| (t.number, t.full_eval)).collect();
    let mut want = vec![(1, true)];
    want.extend((2..=6).map(|n| (n, false)));
    want.push((7, true));
    want.extend((8..=12).map(|n| (n, false)));
    want.push((13, true));
    assert_eq!(numbers, want);
    assert_eq!(run.trials[1].total_eval_calls, 60 + 35);
}

#[tokio::test]
async fn mipro_budget_stops_and_resume_replays() {
    let dir = std::env::temp_dir().join(format!("rdspy-mipro-resume-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let mock = Arc::new(Mock::default());
    let lm: SharedLM = mock.clone();
    let mut m = mipro(lm.clone(), 4, 8);
    m.budget = Budget::default().max_calls(120);
    m.checkpoint = Some(Arc::new(Checkpoint::open(&dir).unwrap()));
    let a = m.compile_detailed(&student(lm), &data(0..12), Some(&data(100..120))).await.unwrap();
    assert!(matches!(a.stop, StopReason::Budget(_)), "{:?}", a.stop);
    assert_eq!(mock.calls.load(Ordering::SeqCst), 120);
    assert!(a.trials.len() < 9 && a.trials.iter().all(|t| t.score > 0.0), "{:#?}", a.trials);
    // The same compile again from the journal: no LM call, same trials, same program.
    let again = Arc::new(Mock::default());
    let lm2: SharedLM = again.clone();
    let mut m2 = mipro(lm2.clone(), 4, 8);
    m2.budget = Budget::default().max_calls(120);
    m2.checkpoint = Some(Arc::new(Checkpoint::open(&dir).unwrap()));
    let b = m2.compile_detailed(&student(lm2), &data(0..12), Some(&data(100..120))).await.unwrap();
    // Only the evaluation the budget cut short runs again (up to the same limit); finished work replays.
    assert!(again.calls.load(Ordering::SeqCst) < 20, "{}", again.calls.load(Ordering::SeqCst));
    assert_eq!(b.spent.calls, 120);
    assert_eq!((&a.trials, a.program.signature().instructions()), (&b.trials, b.program.signature().instructions()));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn random_search_stops_under_with_budget() {
    use rdspy::optimize::{budget, BootstrapFewShotWithRandomSearch};
    let mock = Arc::new(Mock::default());
    let lm: SharedLM = mock.clone();
    let mut rs = BootstrapFewShotWithRandomSearch::new(answer_exact_match());
    rs.num_candidate_programs = 8;
    rs.bootstrap.max_labeled_demos = 2;
    // The predictor has its own LM: the budget reaches it through `bind`.
    let ((best, tried), meter) = {
        let (out, meter) =
            budget::with_budget(Budget::default().max_calls(50), rs.compile_with_candidates(&student(lm), &data(0..10), None)).await;
        (out.unwrap(), meter)
    };
    assert_eq!(mock.calls.load(Ordering::SeqCst), 50, "no call past the budget");
    assert!(meter.exhausted().is_some());
    assert!(!tried.is_empty() && tried.len() < 11, "{} candidates", tried.len());
    let top = tried.iter().map(|c| c.score).fold(f64::MIN, f64::max);
    let best_demos = best.demos.len();
    assert!(tried.iter().any(|c| c.score == top && c.demos[0].1.len() == best_demos));
}
