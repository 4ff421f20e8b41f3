//! BootstrapFewShot end to end on the embedded model: SmolLM2-135M (ChatAdapter, whose format
//! the engine enforces with a grammar) bootstraps SST-2 demos from its own traces, keeps only
//! the traces the metric accepts, and gives the same program for the same seed.

mod common;

use rdspy::evaluate::answer_exact_match;
use rdspy::lm::SharedLM;
use rdspy::optimize::{BootstrapFewShot, Optimizer};
use rdspy::predict::{Module, Predict};
use rdspy::Example;
use std::collections::HashMap;
use std::sync::Arc;

fn train() -> Vec<Example> {
    common::sst2("train", 6)
        .into_iter()
        .map(|(s, l)| Example::new().with("sentence", s).with("sentiment", l).with_inputs(["sentence"]))
        .collect()
}

fn optimizer(seed: u64) -> BootstrapFewShot {
    BootstrapFewShot {
        metric: Some(Arc::new(answer_exact_match().field("sentiment"))),
        max_bootstrapped_demos: 2,
        max_labeled_demos: 3,
        seed,
        ..BootstrapFewShot::default()
    }
}

#[tokio::test]
async fn bootstrap_keeps_only_traces_that_pass_the_metric_and_is_reproducible() {
    let Some(lm) = common::model() else { return };
    // The raw engine (no response cache): the second compile really runs the model again.
    let lm: SharedLM = Arc::new(lm);
    let student = Predict::new(common::sentiment_signature()).with_lm(lm.clone());
    let train = train();
    let gold: HashMap<&str, &str> = train.iter().map(|e| (e.get_str("sentence").unwrap(), e.get_str("sentiment").unwrap())).collect();

    let compiled = optimizer(0).compile(&student, &train, None).await.unwrap();
    let demos = &compiled.demos;
    let augmented: Vec<&Example> = demos.iter().filter(|d| d.get("augmented").and_then(|v| v.as_bool()) == Some(true)).collect();
    assert!(!augmented.is_empty(), "SmolLM2 with the format grammar gets some SST-2 rows right; demos: {demos:?}");
    eprintln!("{} of {} demos bootstrapped", augmented.len(), demos.len());
    assert!(augmented.len() <= 2 && demos.len() == 3, "{} bootstrapped of {} demos", augmented.len(), demos.len());
    for d in &augmented {
        let s = d.get_str("sentence").expect("a bootstrapped demo has the input");
        let want = gold.get(s).unwrap_or_else(|| panic!("bootstrapped demo {s:?} is not a training row"));
        // The demo holds the teacher's own output, and only traces the metric accepted were kept.
        assert_eq!(d.get_str("sentiment"), Some(*want), "a trace that failed exact_match became a demo: {d:?}");
    }
    // Labeled demos fill the rest from rows that were not bootstrapped; nothing repeats.
    let sentences: Vec<&str> = demos.iter().map(|d| d.get_str("sentence").unwrap()).collect();
    let mut unique = sentences.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), sentences.len(), "duplicate demos: {sentences:?}");
    for d in demos.iter().filter(|d| d.get("augmented").is_none()) {
        let s = d.get_str("sentence").unwrap();
        assert_eq!(d.get_str("sentiment"), gold.get(s).copied(), "labeled demos carry the gold label");
    }

    // The compiled program answers with the model: one real prediction, a valid label.
    let q = Example::new().with("sentence", "a gorgeous, witty, seductive movie.").with_inputs(["sentence"]);
    let out = compiled.forward(&q).await.unwrap();
    assert!(matches!(out.get_str("sentiment"), Some("positive" | "negative")), "{out:?}");

    // Same seed, same model (greedy decoding): the same program, demo for demo.
    let again = optimizer(0).compile(&student, &train, None).await.unwrap();
    assert_eq!(
        serde_json::to_string(&rdspy::save::dump_state(&again)).unwrap(),
        serde_json::to_string(&rdspy::save::dump_state(&compiled)).unwrap()
    );

    // A metric nothing passes leaves no bootstrapped demos: the gate is the metric, not the model.
    let never = BootstrapFewShot {
        metric: Some(Arc::new(|_: &Example, _: &rdspy::Prediction, _: Option<&rdspy::trace::Trace>| false)),
        ..optimizer(0)
    };
    let none = never.compile(&student, &train, None).await.unwrap();
    assert!(none.demos.iter().all(|d| d.get("augmented").is_none()), "{:?}", none.demos);
    assert_eq!(none.demos.len(), 3, "only labeled demos remain");
}
