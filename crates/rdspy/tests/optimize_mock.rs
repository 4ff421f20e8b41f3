//! Optimizers against a deterministic LM whose accuracy depends on the prompt: it answers
//! `N+1?` correctly when N is even, when the prompt carries at least two demos, or when it is
//! sampled fresh (`rollout_id` set, temperature 1.0). That makes each optimizer's choices visible.

use rdspy::evaluate::{answer_exact_match, Evaluate};
use rdspy::lm::{Choice, LmError, LmRequest, LmResponse, SharedLM, Usage, LM};
use rdspy::optimize::{BootstrapFewShot, BootstrapFewShotWithRandomSearch, Ensemble, LabeledFewShot, Optimizer};
use rdspy::predict::{Module, Predict};
use rdspy::{Example, Signature};
use std::sync::{Arc, Mutex};

/// (temperature, rollout_id, number of demos) of each request.
type Seen = Vec<(Option<f64>, Option<u64>, usize)>;

#[derive(Debug, Default)]
struct Adder {
    seen: Mutex<Seen>,
    fail_on: Option<i64>,
}

#[async_trait::async_trait]
impl LM for Adder {
    fn model(&self) -> &str {
        "test/adder"
    }
    async fn call(&self, r: LmRequest) -> Result<LmResponse, LmError> {
        let demos = (r.messages.len() - 2) / 2;
        let last = &r.messages.last().unwrap().content;
        let n: i64 = last
            .split("[[ ## question ## ]]\n")
            .nth(1)
            .and_then(|s| s.split('+').next())
            .and_then(|s| s.trim().parse().ok())
            .expect("question N+1?");
        self.seen.lock().unwrap().push((r.temperature, r.rollout_id, demos));
        if self.fail_on == Some(n) {
            return Err(LmError::InvalidRequest { model: "test/adder".into(), status: 400, message: "injected".into() });
        }
        let fresh = r.rollout_id.is_some() && r.temperature == Some(1.0);
        let answer = if n % 2 == 0 || demos >= 2 || fresh { n + 1 } else { n };
        Ok(LmResponse {
            choices: vec![Choice {
                text: format!("[[ ## answer ## ]]\n{answer}\n\n[[ ## completed ## ]]"),
                finish_reason: Some("stop".into()),
                tool_calls: vec![],
            }],
            usage: Usage { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13, cost: 0.0, calls: 1, cached_calls: 0 },
            model: "test/adder".into(),
            cache_hit: false,
        })
    }
}

fn student(lm: SharedLM) -> Predict {
    Predict::new(Signature::parse("question -> answer").unwrap()).with_lm(lm)
}

fn data(range: std::ops::Range<i64>) -> Vec<Example> {
    range
        .map(|i| Example::new().with("question", format!("{i}+1?")).with("answer", (i + 1).to_string()).with_inputs(["question"]))
        .collect()
}

fn answers(p: &Predict) -> Vec<(bool, String)> {
    p.demos.iter().map(|d| (d.get("augmented").is_some(), d.get_str("question").unwrap().to_string())).collect()
}

#[tokio::test]
async fn labeled_few_shot_samples_k_with_a_fixed_seed() {
    let lm: SharedLM = Arc::new(Adder::default());
    let train = data(0..20);
    let a = LabeledFewShot::new(3).compile(&student(lm.clone()), &train, None).await.unwrap();
    let b = LabeledFewShot::new(3).compile(&student(lm.clone()), &train, None).await.unwrap();
    assert_eq!(a.demos.len(), 3);
    assert_eq!(a.demos, b.demos);
    let first = LabeledFewShot { k: 3, sample: false, seed: 0 }.compile(&student(lm), &train, None).await.unwrap();
    assert_eq!(first.demos, train[..3]);
}

#[tokio::test]
async fn bootstrap_keeps_successful_traces_then_fills_with_labeled() {
    let adder = Arc::new(Adder::default());
    let train = data(0..12);
    // No labeled demos for the teacher: only even questions succeed, in trainset order.
    let opt = BootstrapFewShot { max_labeled_demos: 0, ..BootstrapFewShot::new(answer_exact_match()) };
    let p = opt.compile(&student(adder.clone()), &train, None).await.unwrap();
    let evens: Vec<(bool, String)> = [0, 2, 4, 6].iter().map(|i| (true, format!("{i}+1?"))).collect();
    assert_eq!(answers(&p), evens, "bootstrapped demos are kept even when max_labeled_demos = 0 (as DSPy)");
    let opt = BootstrapFewShot { max_labeled_demos: 6, ..BootstrapFewShot::new(answer_exact_match()) };
    let teacherless = Predict::new(Signature::parse("question -> answer").unwrap()).with_lm(adder.clone());
    let p = opt.compile_with_teacher(&teacherless, Some(&teacherless), &train).await.unwrap();
    // The teacher has no demos, so it first gets 6 labeled ones and then answers everything:
    // the first four training examples are bootstrapped, two unused ones fill up.
    let got = answers(&p);
    let first4: Vec<(bool, String)> = (0..4).map(|i| (true, format!("{i}+1?"))).collect();
    assert_eq!(got[..4], first4);
    assert_eq!(got.len(), 6);
    assert!(got[4..].iter().all(|(aug, q)| !aug && !first4.iter().any(|(_, f)| f == q)));
    // The demo holds inputs then outputs, as DSPy's Example(augmented=True, **inputs, **outputs).
    assert_eq!(p.demos[0].keys().collect::<Vec<_>>(), ["augmented", "question", "answer"]);
    assert_eq!(p.demos[0].get_str("answer"), Some("1"));
    // Same seed, same program.
    let again = opt.compile_with_teacher(&teacherless, Some(&teacherless), &train).await.unwrap();
    assert_eq!(again.demos, p.demos);
}

#[tokio::test]
async fn later_rounds_sample_fresh_with_rollout_id_and_temperature_one() {
    let adder = Arc::new(Adder::default());
    let opt =
        BootstrapFewShot { max_labeled_demos: 0, max_rounds: 2, max_bootstrapped_demos: 2, ..BootstrapFewShot::new(answer_exact_match()) };
    // Trainset of odd questions: round 0 fails, round 1 (fresh sample) succeeds.
    let train: Vec<Example> = data(0..8).into_iter().skip(1).step_by(2).collect();
    let found = opt.compile_with_teacher(&student(adder.clone()), None, &train).await.unwrap();
    assert_eq!(answers(&found), [(true, "1+1?".to_string()), (true, "3+1?".to_string())]);
    assert_eq!(found.demos[1].get_str("answer"), Some("4"));
    let seen = adder.seen.lock().unwrap().clone();
    assert_eq!(seen, [(None, None, 0), (Some(1.0), Some(1), 0), (None, None, 0), (Some(1.0), Some(1), 0)]);
}

#[tokio::test]
async fn bootstrap_errors_stop_at_max_errors() {
    let adder = Arc::new(Adder { fail_on: Some(1), ..Adder::default() });
    let opt = BootstrapFewShot { max_labeled_demos: 0, max_errors: 1, ..BootstrapFewShot::new(answer_exact_match()) };
    let err = opt.compile(&student(adder.clone()), &data(0..10), None).await.unwrap_err().to_string();
    assert!(err.contains("1 teacher runs failed (max_errors = 1)") && err.contains("training example 1"), "{err}");
    let opt = BootstrapFewShot { max_errors: 2, ..opt };
    assert!(opt.compile(&student(adder), &data(0..10), None).await.is_ok());
}

#[tokio::test]
async fn random_search_tries_dspy_seeds_and_keeps_the_best() {
    let adder: SharedLM = Arc::new(Adder::default());
    let (train, val) = (data(0..16), data(100..120));
    let mut rs = BootstrapFewShotWithRandomSearch::new(answer_exact_match());
    rs.num_candidate_programs = 3;
    rs.bootstrap.max_labeled_demos = 4;
    let (best, tried) = rs.compile_with_candidates(&student(adder.clone()), &train, Some(&val)).await.unwrap();
    assert_eq!(tried.iter().map(|c| c.seed).collect::<Vec<_>>(), [-3, -2, -1, 0, 1, 2]);
    assert_eq!(tried[0].score, 50.0, "zero-shot: only even questions");
    assert_eq!(tried[1].score, 100.0, "labeled demos make every answer right");
    let max = tried.iter().map(|c| c.score).fold(0.0, f64::max);
    let first_best = tried.iter().find(|c| c.score == max).unwrap();
    assert_eq!(best.demos, first_best.demos[0].1, "the first candidate with the top score wins");
    let score = Evaluate::new(val.clone(), answer_exact_match()).run(Arc::new(best.clone())).await.unwrap().score;
    assert_eq!(score, 100.0);
    // Deterministic for the same seed.
    let (again, _) = rs.compile_with_candidates(&student(adder.clone()), &train, Some(&val)).await.unwrap();
    assert_eq!(again.demos, best.demos);
    // stop_at_score ends the search at the first candidate reaching it.
    rs.stop_at_score = Some(100.0);
    let (_, tried) = rs.compile_with_candidates(&student(adder), &train, Some(&val)).await.unwrap();
    assert_eq!(tried.len(), 2);
}

#[tokio::test]
async fn ensemble_majority_over_programs() {
    let adder: SharedLM = Arc::new(Adder::default());
    let zero = student(adder.clone());
    let shot = LabeledFewShot::new(2).compile(&zero, &data(0..8), None).await.unwrap();
    let ens = Ensemble::new().compile(vec![zero.clone(), shot.clone(), shot]);
    let out = ens.forward(&Example::new().with("question", "7+1?")).await.unwrap();
    assert_eq!(out.get_str("answer"), Some("8"), "two of three programs answer 8");
    let ens = Ensemble::new().compile(vec![zero.clone(), zero]);
    assert_eq!(ens.forward(&Example::new().with("question", "7+1?")).await.unwrap().get_str("answer"), Some("7"));
}

/// Embeds `question: N+1?` as a bump around N, so nearer numbers are more similar.
struct Bump;

impl rdspy::embed::Embedder for Bump {
    fn model(&self) -> &str {
        "test/bump"
    }
    fn dim(&self) -> usize {
        32
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, rdspy::embed::EmbedError> {
        Ok(texts
            .iter()
            .map(|t| {
                let n: f32 = t.trim_start_matches("question: ").split('+').next().unwrap().parse().unwrap();
                (0..32).map(|j| (-(j as f32 - n).powi(2) / 4.0).exp()).collect()
            })
            .collect())
    }
}

#[tokio::test]
async fn knn_few_shot_bootstraps_from_the_nearest_examples() {
    let adder = Arc::new(Adder::default());
    let train: Vec<Example> = data(0..16).into_iter().step_by(2).collect();
    let knn = rdspy::optimize::KNNFewShot::new(2, Arc::new(Bump));
    let program = knn.compile(&student(adder.clone()), &train).await.unwrap();
    let q = Example::new().with("question", "7+1?").with_inputs(["question"]);
    let near: Vec<String> = program.neighbours(&q).await.unwrap().iter().map(|e| e.get_str("question").unwrap().to_string()).collect();
    assert_eq!(near, ["6+1?", "8+1?"]);
    let out = program.forward(&q).await.unwrap();
    assert_eq!(out.get_str("answer"), Some("8"), "two bootstrapped demos make the adder right");
    assert_eq!(adder.seen.lock().unwrap().last().unwrap().2, 2, "the answering call carried the 2 neighbour demos");
}

/// Two predictors, so the test sees how one generator is shared across them.
#[derive(Clone, rdspy::predict::Predictors)]
struct TwoPredicts {
    one: Predict,
    two: Predict,
}

#[async_trait::async_trait]
impl Module for TwoPredicts {
    async fn forward(&self, inputs: &Example) -> rdspy::Result<rdspy::Prediction> {
        self.one.forward(inputs).await
    }
}

/// The same seed picks the same labeled demos, in the same order, as Python DSPy 3.4.1 (values
/// printed by DSPy over `q0..q19`: `LabeledFewShot(k).compile(...)` and
/// `BootstrapFewShot(max_bootstrapped_demos=0, max_labeled_demos=5).compile(...)`), so a program
/// compiled here from the same data has DSPy's demos.
#[tokio::test]
async fn labeled_demo_picks_match_python_dspy() {
    let train: Vec<Example> =
        (0..20).map(|i| Example::new().with("q", format!("q{i}")).with("a", format!("a{i}")).with_inputs(["q"])).collect();
    fn qs(p: &Predict) -> Vec<&str> {
        p.demos.iter().map(|d| d.get_str("q").unwrap()).collect()
    }
    let sig = || Signature::parse("q -> a").unwrap();
    let one = LabeledFewShot::new(5).compile(&Predict::new(sig()), &train, None).await.unwrap();
    assert_eq!(qs(&one), ["q12", "q13", "q1", "q8", "q15"]);
    let two = TwoPredicts { one: Predict::new(sig()), two: Predict::new(sig()) };
    let labeled = LabeledFewShot::new(3).compile(&two, &train, None).await.unwrap();
    assert_eq!((qs(&labeled.one), qs(&labeled.two)), (vec!["q12", "q13", "q1"], vec!["q8", "q16", "q15"]));
    let boot = BootstrapFewShot { max_bootstrapped_demos: 0, max_labeled_demos: 5, ..Default::default() };
    let booted = boot.compile(&two, &train, None).await.unwrap();
    assert_eq!((qs(&booted.one), qs(&booted.two)), (vec!["q4", "q19", "q18", "q3", "q15"], vec!["q4", "q9", "q15", "q7", "q11"]));
}
