//! BestOfN, Refine, Parallel, MultiChainComparison and Assert/Suggest backtracking on the real
//! embedded model (SmolLM2-135M), kept short for CI: what is checked is the machinery (calls
//! made, prompts sent, errors returned), which holds whatever the small model answers.

mod common;

use rdspy::assertions::ActivateAssertions;
use rdspy::lm::{History, SharedLM};
use rdspy::predict::{BestOfN, Module, MultiChainComparison, Parallel, Predict, Predictors, Refine};
use rdspy::{Error, Example, Prediction};
use std::sync::Arc;

fn lm() -> Option<(SharedLM, Arc<History>)> {
    let model: SharedLM = Arc::new(common::model()?);
    let hist = Arc::new(History::new(model, 100));
    Some((hist.clone(), hist))
}

fn sentiment(lm: SharedLM) -> Predict {
    let mut p = Predict::new(common::sentiment_signature()).with_demos(common::demos()).with_lm(lm);
    p.config.max_tokens = Some(24);
    p
}

/// A sentiment step whose output is checked by a constraint no answer can meet, so every
/// backtrack happens against the real model.
#[derive(Clone, Predictors)]
struct Impossible {
    classify: Predict,
    #[predictors(skip)]
    suggest_only: bool,
}

#[async_trait::async_trait]
impl Module for Impossible {
    async fn forward(&self, inputs: &Example) -> rdspy::Result<Prediction> {
        let pred = self.classify.forward(inputs).await?;
        if self.suggest_only {
            rdspy::suggest(false, "Say neutral.")?;
        } else {
            rdspy::assert(false, "Say neutral.")?;
        }
        Ok(pred)
    }
}

#[tokio::test]
async fn composite_modules_and_backtracking_on_the_embedded_model() {
    let Some((lm, hist)) = lm() else { return };
    let sentence = Example::new().with("sentence", "a gorgeous , witty , seductive movie .");

    // Assert: first run + 2 backtracks, each retry showing the model its past output and the feedback.
    let before = hist.log().len();
    let program = Impossible { classify: sentiment(lm.clone()), suggest_only: false };
    let err = program.activate_assertions().forward(&sentence).await.unwrap_err();
    let Error::Assertion(e) = &err else { panic!("expected an assertion error, got {err}") };
    assert_eq!((e.backtracks, e.predictor.as_deref()), (2, Some("classify")), "{err}");
    let calls = hist.log().last(hist.log().len() - before);
    assert!(calls.len() >= 3, "3 runs (more if a reply needed the JSON fallback): {}", calls.len());
    let first_answer = calls[0].outputs[0].clone();
    let retry = &calls.last().unwrap().messages.last().unwrap().content;
    assert!(retry.contains("[[ ## past_sentiment ## ]]") && retry.contains("[[ ## feedback ## ]]\nSay neutral."), "{retry}");
    assert!(first_answer.contains("[[ ## sentiment ## ]]"), "{first_answer}");

    // Suggest: the same runs, then the program continues with the last answer.
    let program = Impossible { classify: sentiment(lm.clone()), suggest_only: true };
    let pred = program.activate_assertions().forward(&sentence).await.unwrap();
    assert!(matches!(pred.get_str("sentiment"), Some("positive" | "negative")), "{pred:?}");

    // BestOfN: two sampled attempts (reward never reaches the threshold), the best one returned.
    let before = hist.log().len();
    let best = BestOfN::new(sentiment(lm.clone()), 2, |_: &Example, _: &Prediction| 0.0, 1.0);
    assert!(best.forward(&sentence).await.is_ok());
    assert!(hist.log().len() - before >= 2);

    // Refine: attempt, OfferFeedback (the small model may fail it: that attempt then counts as
    // failed, within fail_count), attempt with the hint.
    let refine = Refine::new(sentiment(lm.clone()), 2, |_: &Example, _: &Prediction| 0.0, 1.0);
    let mut feedback_lm_calls = hist.log().len();
    assert!(refine.forward(&sentence).await.is_ok());
    feedback_lm_calls = hist.log().len() - feedback_lm_calls;
    assert!(feedback_lm_calls >= 2, "{feedback_lm_calls}");
    let offer = hist.log().last(feedback_lm_calls).into_iter().any(|c| c.messages[1].content.contains("[[ ## program_trajectory ## ]]"));
    assert!(offer, "the OfferFeedback prompt reached the model");

    // Parallel: three sentences, two at a time, in input order.
    let rows = common::sst2("dev", 3);
    let inputs: Vec<Example> = rows.iter().map(|(s, _)| Example::new().with("sentence", s.as_str())).collect();
    let out = Parallel::new().num_threads(2).run(&sentiment(lm.clone()), &inputs).await.unwrap();
    assert_eq!(out.results.len(), 3);
    assert!(out.results.iter().all(Option::is_some), "{:?}", out.exceptions);

    // MultiChainComparison over those three answers.
    let completions: Vec<_> = out
        .results
        .iter()
        .map(|p| {
            let mut m = p.as_ref().unwrap().as_map().clone();
            m.insert("reasoning".into(), "the wording is upbeat".into());
            m
        })
        .collect();
    let mut mcc = MultiChainComparison::new(common::sentiment_signature(), 3);
    mcc.predict.lm = Some(lm.clone());
    mcc.predict.config.max_tokens = Some(96);
    let compared = mcc.compare(&completions, &sentence).await;
    let last = hist.log().last(1)[0].messages.last().unwrap().content.clone();
    assert!(last.contains("«I'm trying to the wording is upbeat I'm not sure but my prediction is"), "{last}");
    if let Ok(p) = compared {
        assert!(p.get("rationale").is_some());
    }
}
