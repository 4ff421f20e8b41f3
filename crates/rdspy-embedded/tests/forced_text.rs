//! Grammar-forced text (field headers, the completed marker) handled without token-by-token
//! decoding, and greedy decoding asking the grammar about the best token only, must not change a
//! single byte of the reply: the same requests through an engine with `forced_text` and
//! `grammar_shortcut` off and on, with the real model.

mod common;

use rdspy::adapter::{Adapter, ChatAdapter, JSONAdapter};
use rdspy::lm::{LmRequest, LM};
use rdspy::{Example, Signature};
use rdspy_embedded::{EmbeddedLM, EngineOptions};

fn pair() -> Option<(EmbeddedLM, EmbeddedLM)> {
    // The reference: llama.cpp's sampler chain token by token (no forced-text batches, no
    // greedy grammar shortcut); the default engine must write the same bytes.
    let plain = common::model_with(Some(EngineOptions { forced_text: false, grammar_shortcut: false, ..Default::default() }))?;
    let fast = common::model_with(Some(EngineOptions::default())).unwrap();
    Some((plain, fast))
}

fn request(sig: &Signature, demos: &[Example], sentence: &str) -> LmRequest {
    LmRequest::new(ChatAdapter::default().format(sig, demos, Example::new().with("sentence", sentence).as_map())).temperature(0.0)
}

/// Runs `req` on both engines; asserts equal text and finish reason; returns the fast engine's
/// count of forced tokens.
async fn same(plain: &EmbeddedLM, fast: &EmbeddedLM, req: LmRequest, what: &str) -> usize {
    let a = plain.call(req.clone()).await.unwrap();
    assert_eq!(plain.last_stats().forced_tokens, 0, "{what}: forced_text off");
    let b = fast.call(req).await.unwrap();
    assert_eq!(a.choices[0].text, b.choices[0].text, "{what}: the text changed");
    assert_eq!(a.choices[0].finish_reason, b.choices[0].finish_reason, "{what}: the finish reason changed");
    fast.last_stats().forced_tokens
}

#[tokio::test]
async fn forced_text_gives_byte_identical_replies() {
    let Some((plain, fast)) = pair() else { return };
    let sig = common::sentiment_signature();
    let demos = common::demos();
    let rows = common::sst2("dev", 8);
    let mut forced = 0;
    for (i, (sentence, _)) in rows.iter().enumerate() {
        forced += same(&plain, &fast, request(&sig, &demos, sentence), &format!("3-demo sentence {i}")).await;
        // Zero-shot: the model is least sure of the format, so drafts get rejected more often.
        forced += same(&plain, &fast, request(&sig, &[], sentence), &format!("zero-shot sentence {i}")).await;
    }
    // The header and the marker are most of such a reply: they must have been taken over.
    assert!(forced > rows.len() * 2 * 10, "only {forced} forced tokens over {} replies", rows.len() * 2);

    // Free text before the Literal (ChainOfThought's shape), and int/bool fields.
    let cot = Signature::parse("sentence -> reasoning, sentiment: Literal['positive', 'negative']").unwrap();
    let typed = Signature::parse("sentence -> words: int, upbeat: bool").unwrap();
    for (i, (sentence, _)) in rows.iter().take(4).enumerate() {
        let r = request(&cot, &[], sentence).max_tokens(120);
        assert!(same(&plain, &fast, r, &format!("reasoning + literal, sentence {i}")).await > 0);
        same(&plain, &fast, request(&typed, &[], sentence).max_tokens(60), &format!("int + bool, sentence {i}")).await;
        // JSONAdapter under its JSON-schema grammar: no forced-text plan, the picker alone.
        let json = JSONAdapter::default();
        let mut r = LmRequest::new(json.format(&cot, &[], Example::new().with("sentence", sentence.as_str()).as_map()))
            .temperature(0.0)
            .max_tokens(120);
        r.response_format = json.response_format(&cot);
        same(&plain, &fast, r, &format!("JSONAdapter + schema grammar, sentence {i}")).await;
    }
}

#[tokio::test]
async fn forced_text_respects_max_tokens_stops_and_seeds() {
    let Some((plain, fast)) = pair() else { return };
    let sig = common::sentiment_signature();
    let demos = common::demos();
    let (sentence, _) = &common::sst2("dev", 1)[0];
    // Cut inside the header, inside the value and inside the trailing marker.
    for max in [1, 3, 8, 12, 14, 16, 20] {
        same(&plain, &fast, request(&sig, &demos, sentence).max_tokens(max), &format!("max_tokens {max}")).await;
    }
    // A caller's stop string that falls inside forced text.
    let mut r = request(&sig, &demos, sentence);
    r.stop = vec!["## ]]".into()];
    same(&plain, &fast, r, "stop inside the header").await;
    let mut r = request(&sig, &demos, sentence);
    r.stop = vec!["completed".into()];
    same(&plain, &fast, r, "stop inside the marker").await;
    // Seeded sampling consumes the sampler in the same order, so the samples match too.
    for seed in 0..4 {
        let mut r = request(&sig, &[], sentence).temperature(1.0);
        r.seed = Some(seed);
        same(&plain, &fast, r, &format!("sampling, seed {seed}")).await;
    }
}
