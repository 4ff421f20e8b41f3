//! `#[derive(Predictors)]` naming (nested structs, Vec, Option, generics, skipped fields),
//! save/load through a derived program, and `n > 1` sampling.

use rdspy::lm::{Choice, LmError, LmRequest, LmResponse, Usage, LM};
use rdspy::predict::{ChainOfThought, LmConfig, Module, Predict, Predictors};
use rdspy::{Example, Signature};
use std::sync::{Arc, Mutex};

#[derive(Clone, Predictors)]
struct Hop {
    generate_query: ChainOfThought,
    #[predictors(skip)]
    #[allow(dead_code)]
    k: usize,
}

#[derive(Clone, Predictors)]
struct MultiHop<T: Predictors> {
    hops: Vec<Hop>,
    extra: Option<T>,
    generate_answer: ChainOfThought,
}

fn cot(s: &str) -> ChainOfThought {
    ChainOfThought::new(Signature::parse(s).unwrap())
}

fn program() -> MultiHop<Predict> {
    MultiHop {
        hops: (0..2).map(|_| Hop { generate_query: cot("question -> query"), k: 3 }).collect(),
        extra: Some(Predict::new(Signature::parse("answer -> ok: bool").unwrap())),
        generate_answer: cot("question -> answer"),
    }
}

#[test]
fn derived_programs_name_predictors_like_dspy() {
    let mut p = program();
    let names: Vec<String> = p.named_predictors().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["hops[0].generate_query.predict", "hops[1].generate_query.predict", "extra", "generate_answer.predict",]);
    let mut_names: Vec<String> = p.named_predictors_mut().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, mut_names);

    let none: MultiHop<Predict> = MultiHop { extra: None, ..program() };
    assert_eq!(none.named_predictors().len(), 3);
}

#[test]
fn derived_programs_save_and_load_every_predictor() {
    let mut p = program();
    for (name, pred) in p.named_predictors_mut() {
        pred.set_signature(pred.signature().clone().with_instructions(format!("Tuned for {name}.")));
    }
    let state = rdspy::save::dump_state(&p);
    let mut fresh = program();
    rdspy::save::load_state(&mut fresh, &state).unwrap();
    for (name, pred) in fresh.named_predictors() {
        assert_eq!(pred.signature().instructions(), format!("Tuned for {name}."));
    }
}

/// Returns `n` distinct answers and records the request.
#[derive(Debug, Default)]
struct Sampler {
    seen: Mutex<Vec<LmRequest>>,
}

#[async_trait::async_trait]
impl LM for Sampler {
    fn model(&self) -> &str {
        "sampler"
    }
    async fn call(&self, r: LmRequest) -> Result<LmResponse, LmError> {
        let n = r.n.unwrap_or(1);
        self.seen.lock().unwrap().push(r);
        let choices = (0..n)
            .map(|i| Choice {
                text: format!("[[ ## answer ## ]]\n{i}\n\n[[ ## completed ## ]]"),
                finish_reason: Some("stop".into()),
                tool_calls: vec![],
            })
            .collect();
        Ok(LmResponse {
            choices,
            usage: Usage { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8, cost: 0.0, calls: 1, cached_calls: 0 },
            model: "sampler".into(),
            cache_hit: false,
        })
    }
}

#[tokio::test]
async fn n_above_one_gives_every_completion_and_raises_a_low_temperature() {
    let lm = Arc::new(Sampler::default());
    let sig = Signature::parse("question -> answer: int").unwrap();
    let ex = Example::new().with("question", "pick a number");

    let p = Predict::new(sig.clone()).with_lm(lm.clone()).with_config(LmConfig { n: Some(3), ..Default::default() });
    let pred = p.forward(&ex).await.unwrap();
    let answers: Vec<serde_json::Value> = pred.completions().iter().map(|c| c["answer"].clone()).collect();
    assert_eq!(answers, [serde_json::json!(0), serde_json::json!(1), serde_json::json!(2)]);
    assert_eq!(pred.get("answer"), Some(&serde_json::json!(0)), "the first completion is the prediction");

    let cold =
        Predict::new(sig.clone()).with_lm(lm.clone()).with_config(LmConfig { n: Some(2), temperature: Some(0.1), ..Default::default() });
    cold.forward(&ex).await.unwrap();
    let warm = Predict::new(sig).with_lm(lm.clone()).with_config(LmConfig { n: Some(2), temperature: Some(0.9), ..Default::default() });
    warm.forward(&ex).await.unwrap();

    let temps: Vec<Option<f64>> = lm.seen.lock().unwrap().iter().map(|r| r.temperature).collect();
    assert_eq!(temps, [Some(0.7), Some(0.7), Some(0.9)], "unset or <= 0.15 becomes 0.7 with n > 1");
    let ns: Vec<Option<u32>> = lm.seen.lock().unwrap().iter().map(|r| r.n).collect();
    assert_eq!(ns, [Some(3), Some(2), Some(2)]);
}
