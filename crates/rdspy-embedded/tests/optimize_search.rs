//! COPRO and MIPROv2 end to end on the embedded model (SmolLM2-135M as task and prompt model),
//! each under a call budget so the test stays small: proposals come from the real model,
//! candidates are scored on SST-2, and the run ends with a program and a reason.

mod common;

use rdspy::evaluate::answer_exact_match;
use rdspy::lm::SharedLM;
use rdspy::optimize::{Budget, Copro, MiproV2, StopReason};
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

fn metric() -> impl rdspy::evaluate::Metric {
    answer_exact_match().field("sentiment")
}

#[tokio::test]
async fn copro_compiles_on_the_embedded_model() {
    let Some(lm) = common::model() else { return };
    let lm: SharedLM = Arc::new(lm);
    let mut copro = Copro::new(metric());
    copro.prompt_model = Some(lm.clone());
    (copro.breadth, copro.depth, copro.num_threads) = (2, 1, 2);
    copro.budget = Budget::default().max_calls(40);
    let student = Predict::new(common::sentiment_signature()).with_lm(lm);
    let run = copro.compile_detailed(&student, &rows("train", 0, 6)).await.unwrap();
    assert!(!run.trials.is_empty(), "at least the original instruction is scored");
    assert!(run.spent.calls > 0 && run.spent.calls <= 40, "{:?}", run.spent);
    assert!(run.trials.iter().all(|t| (0.0..=100.0).contains(&t.score)));
    let best = &run.candidates[0];
    assert_eq!(run.program.signature().instructions(), best.instruction);
    assert!(matches!(run.stop, StopReason::Finished | StopReason::Budget(_)));
}

#[tokio::test]
async fn mipro_compiles_on_the_embedded_model() {
    let Some(lm) = common::model() else { return };
    let lm: SharedLM = Arc::new(lm);
    let mut mipro = MiproV2::new(metric());
    mipro.prompt_model = Some(lm.clone());
    (mipro.auto, mipro.num_candidates, mipro.num_trials) = (None, Some(3), Some(2));
    (mipro.max_bootstrapped_demos, mipro.max_labeled_demos, mipro.num_threads) = (1, 1, 2);
    mipro.view_data_batch_size = 6;
    mipro.minibatch_size = 4;
    mipro.budget = Budget::default().max_calls(60);
    let student = Predict::new(common::sentiment_signature()).with_lm(lm);
    let run = mipro.compile_detailed(&student, &rows("train", 0, 6), Some(&rows("dev", 0, 6))).await.unwrap();
    assert!(run.spent.calls > 0 && run.spent.calls <= 60, "{:?}", run.spent);
    match &run.stop {
        StopReason::Finished => {
            assert_eq!(run.instructions[0].len(), 3);
            assert_eq!(run.trials.len(), 4, "the default program, 2 minibatch trials, then the full evaluation of the best");
            assert_eq!(run.trials.iter().filter(|t| t.full_eval).count(), 2, "{:?}", run.trials);
            assert_eq!(run.demo_sets[0].len(), 3);
        }
        StopReason::Budget(e) => assert_eq!(e.spent.calls, 60),
        other => panic!("unexpected stop {other:?}"),
    }
    assert!((0.0..=100.0).contains(&run.best_score));
}
