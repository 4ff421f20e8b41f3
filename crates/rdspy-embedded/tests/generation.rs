//! The embedded model with real weights: generation, usage, n>1, seeds, stops, prefix reuse,
//! context overflow, and DSPy modules (Predict, ChainOfThought) on SST-2.

mod common;

use rdspy::adapter::{Adapter, ChatAdapter, Message};
use rdspy::lm::{LmError, LmRequest, SharedLM, LM};
use rdspy::predict::{ChainOfThought, Module, Predict};
use rdspy::Example;
use rdspy_embedded::EngineOptions;
use std::sync::Arc;

fn sentiment_messages(sentence: &str) -> Vec<Message> {
    let inputs = Example::new().with("sentence", sentence);
    ChatAdapter::default().format(&common::sentiment_signature(), &common::demos(), inputs.as_map())
}

#[tokio::test]
async fn generates_text_with_usage_and_follows_the_demo_format() {
    let Some(lm) = common::model() else { return };
    assert!(lm.is_local());
    assert_eq!(lm.dump_state().unwrap()["model"], "local/smollm2-135m");
    let req = LmRequest::new(sentiment_messages("a gorgeous , witty , seductive movie .")).temperature(0.0);
    let resp = lm.call(req).await.unwrap();
    let text = &resp.choices[0].text;
    assert!(resp.usage.prompt_tokens > 100, "{:?}", resp.usage);
    assert!(resp.usage.completion_tokens > 0 && resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens);
    // With 3 demos SmolLM2 copies the format; the engine stops right after the completed marker.
    assert!(text.contains("[[ ## sentiment ## ]]") && text.ends_with("[[ ## completed ## ]]"), "{text:?}");
    let parsed = ChatAdapter::default().parse(&common::sentiment_signature(), text).unwrap();
    assert!(parsed["sentiment"] == "positive" || parsed["sentiment"] == "negative");
    assert_eq!(resp.choices[0].finish_reason.as_deref(), Some("stop"));
}

#[tokio::test]
async fn greedy_n2_is_identical_and_seeded_sampling_repeats() {
    let Some(lm) = common::model() else { return };
    let msgs = vec![Message::user("Write one sentence about the sea.")];
    let resp = lm.call(LmRequest::new(msgs.clone()).temperature(0.0).max_tokens(12).n(2)).await.unwrap();
    assert_eq!(resp.choices.len(), 2);
    assert_eq!(resp.choices[0].text, resp.choices[1].text);
    let mut seeded = LmRequest::new(msgs.clone()).temperature(1.0).max_tokens(12);
    seeded.seed = Some(42);
    let a = lm.call(seeded.clone()).await.unwrap();
    let b = lm.call(seeded.clone()).await.unwrap();
    assert_eq!(a.choices[0].text, b.choices[0].text, "same seed, same sample");
    let mut samples = std::collections::HashSet::new();
    for seed in 0..4 {
        seeded.seed = Some(seed);
        samples.insert(lm.call(seeded.clone()).await.unwrap().choices[0].text.clone());
    }
    assert!(samples.len() > 1, "temperature 1.0 with different seeds should vary: {samples:?}");
}

#[tokio::test]
async fn max_tokens_and_stop_strings_end_generation() {
    let Some(lm) = common::model() else { return };
    let msgs = vec![Message::user("Count from 1 to 20, separated by commas.")];
    let resp = lm.call(LmRequest::new(msgs.clone()).temperature(0.0).max_tokens(5)).await.unwrap();
    assert_eq!(resp.usage.completion_tokens, 5);
    assert_eq!(resp.choices[0].finish_reason.as_deref(), Some("length"));
    let full = lm.call(LmRequest::new(msgs.clone()).temperature(0.0).max_tokens(40)).await.unwrap().choices[0].text.clone();
    // A stop string taken from the middle of the greedy output: generation must end just before it.
    let mid = (full.len() / 2..full.len()).find(|&i| full.is_char_boundary(i) && full.is_char_boundary(i + 2)).unwrap();
    let stop = full[mid..mid + 2].to_string();
    let cut = full.find(&stop).unwrap();
    let mut req = LmRequest::new(msgs).temperature(0.0).max_tokens(40);
    req.stop = vec![stop.clone()];
    let resp = lm.call(req).await.unwrap();
    assert_eq!(resp.choices[0].text, full[..cut], "text before the stop string {stop:?}, stop string excluded");
    assert_eq!(resp.choices[0].finish_reason.as_deref(), Some("stop"));
}

#[tokio::test]
async fn prefix_reuse_gives_the_same_output_as_a_cold_cache() {
    let Some(warm) = common::model_with(Some(EngineOptions::default())) else { return };
    let cold = common::model_with(Some(EngineOptions { prefix_reuse: false, ..Default::default() })).unwrap();
    let rows = common::sst2("dev", 4);
    for (i, (sentence, _)) in rows.iter().enumerate() {
        let req = LmRequest::new(sentiment_messages(sentence)).temperature(0.0).max_tokens(24);
        let a = warm.call(req.clone()).await.unwrap();
        let reused = warm.last_stats().reused_tokens;
        let b = cold.call(req).await.unwrap();
        assert_eq!(cold.last_stats().reused_tokens, 0);
        assert_eq!(a.choices[0].text, b.choices[0].text, "sentence {i}: reuse changed the output");
        if i > 0 {
            // Same system prompt and demos: most of the prompt comes from the cache.
            assert!(reused * 2 > a.usage.prompt_tokens as usize, "sentence {i}: reused {reused} of {}", a.usage.prompt_tokens);
        }
    }
}

#[tokio::test]
async fn a_prompt_longer_than_the_context_is_an_error_not_an_abort() {
    let Some(lm) = common::model_with(Some(EngineOptions { n_ctx: 256, ..Default::default() })) else { return };
    assert_eq!(lm.n_ctx(), 256);
    let long = "the film is long . ".repeat(200);
    let err = lm.call(LmRequest::new(vec![Message::user(long)])).await.unwrap_err();
    assert!(matches!(err, LmError::ContextWindowExceeded { .. }), "{err}");
    assert!(err.to_string().contains("context holds 256"), "{err}");
    // The worker is still alive and generation stops at the context end with finish "length".
    let resp = lm.call(LmRequest::new(vec![Message::user("Tell me a long story.")]).max_tokens(1000)).await.unwrap();
    assert_eq!(resp.choices[0].finish_reason.as_deref(), Some("length"));
    assert!(resp.usage.total_tokens <= 256, "{:?}", resp.usage);
}

#[tokio::test]
async fn predict_and_chain_of_thought_run_on_the_embedded_model() {
    let Some(lm) = common::model() else { return };
    let lm: SharedLM = Arc::new(lm);
    let predict = Predict::new(common::sentiment_signature()).with_demos(common::demos()).with_lm(lm.clone());
    let rows = common::sst2("dev", 10);
    let mut correct = 0;
    for (sentence, label) in &rows {
        // With 3 demos the 135M model follows the format: every reply parses into the Literal.
        let p = predict.forward(&Example::new().with("sentence", sentence.as_str()).with_inputs(["sentence"])).await.unwrap();
        let got = p.get_str("sentiment").unwrap();
        assert!(got == "positive" || got == "negative", "{got}");
        correct += usize::from(got == label.as_str());
    }
    eprintln!("Predict + 3 demos on 10 SST-2 dev sentences: 10/10 parsed, {correct}/10 correct");
    // ChainOfThought with demos that include a reasoning line: SmolLM2 copies the 2-field format.
    let mut cot = ChainOfThought::new(common::sentiment_signature()).with_lm(lm);
    cot.predict.demos = common::demos()
        .into_iter()
        .map(|d| {
            let label = d.get_str("sentiment").unwrap().to_string();
            d.with("reasoning", format!("The wording of the sentence is {label}.")).with_inputs(["sentence"])
        })
        .collect();
    let mut parsed = 0;
    for (sentence, _) in rows.iter().take(5) {
        match cot.forward(&Example::new().with("sentence", sentence.as_str()).with_inputs(["sentence"])).await {
            Ok(p) => parsed += usize::from(p.get_str("reasoning").is_some() && p.get_str("sentiment").is_some()),
            Err(e) => eprintln!("ChainOfThought reply did not parse: {e}"),
        }
    }
    eprintln!("ChainOfThought + 3 demos: {parsed}/5 parsed");
    assert!(parsed >= 4, "ChainOfThought with demos should parse: {parsed}/5");
}
