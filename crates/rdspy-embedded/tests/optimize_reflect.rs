//! SIMBA and GEPA compile end to end on the embedded SmolLM2-135M (task, rule-writing and
//! reflection LM alike), at a tiny scale so CI stays fast: SIMBA one step of 2 samples × 4
//! sentences, GEPA 16 metric calls. The small model often cannot write a parseable rule or
//! instruction; the optimizers must then carry on and still return a scored program.

mod common;

use rdspy::evaluate::answer_exact_match;
use rdspy::lm::SharedLM;
use rdspy::optimize::gepa::{Gepa, GepaBudget};
use rdspy::optimize::{Simba, StopReason};
use rdspy::predict::Predict;
use rdspy::Example;
use std::sync::Arc;

fn rows(split: &str, skip: usize, n: usize) -> Vec<Example> {
    common::sst2(split, skip + n)
        .into_iter()
        .skip(skip)
        .map(|(s, l)| Example::new().with("sentence", s).with("sentiment", l).with_inputs(["sentence"]))
        .collect()
}

fn student(lm: SharedLM) -> Predict {
    Predict::new(common::sentiment_signature()).with_demos(common::demos()).with_lm(lm)
}

#[tokio::test]
async fn simba_compiles_on_the_embedded_model() {
    let Some(lm) = common::model() else { return };
    let lm: SharedLM = Arc::new(lm);
    let mut simba = Simba::new(answer_exact_match().field("sentiment")).bsize(4).num_candidates(2).max_steps(1);
    simba.num_threads = 2;
    let r = simba.compile_detailed(&student(lm.clone()), &rows("train", 40, 6)).await.unwrap();
    assert_eq!(r.stop, StopReason::Finished);
    assert_eq!(r.steps.len(), 1);
    assert!(!r.candidates.is_empty() && (0.0..=1.0).contains(&r.candidates[0].score), "{:?}", r.candidates);
    eprintln!("SIMBA on SmolLM2: step {:?}, best trainset score {:.2}", r.steps[0], r.candidates[0].score);
}

#[tokio::test]
async fn gepa_compiles_on_the_embedded_model() {
    let Some(lm) = common::model() else { return };
    let lm: SharedLM = Arc::new(lm);
    let mut gepa = Gepa::new(answer_exact_match().field("sentiment"), GepaBudget::MaxMetricCalls(16));
    gepa.reflection_lm = Some(lm.clone());
    gepa.num_threads = 2;
    let r = gepa.compile_detailed(&student(lm), &rows("train", 40, 4), Some(&rows("dev", 20, 4))).await.unwrap();
    assert!(r.metric_calls >= 16, "stopped early at {} metric calls", r.metric_calls);
    assert_eq!(r.front.best.len(), 4);
    let best = r.candidates[r.best].val_score;
    assert!(r.candidates.iter().all(|c| c.val_score <= best));
    eprintln!("GEPA on SmolLM2: {} candidates, {} proposals, best val score {best:.2}", r.candidates.len(), r.proposals.len());
}
