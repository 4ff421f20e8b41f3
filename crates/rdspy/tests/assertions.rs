//! Assert/Suggest with backtracking against a scripted LM: the retried prompt (DSPy 2.x's
//! `past_*` and `feedback` fields), retry limits, blame, trace, history, and BootstrapFewShot
//! skipping examples whose runs violate an Assert.

use rdspy::assertions::{self, ActivateAssertions, Constraint, WithAssertions};
use rdspy::lm::{Choice, History, LmError, LmRequest, LmResponse, Usage, LM};
use rdspy::optimize::{BootstrapFewShot, Optimizer};
use rdspy::predict::{ChainOfThought, Module, Predict, Predictors};
use rdspy::{Error, Example, Prediction, Result, Signature};
use std::sync::{Arc, Mutex};

type Reply = Box<dyn Fn(&str) -> String + Send + Sync>;

/// Replies with `reply(last user message)`; records every request.
struct FnLm {
    reply: Reply,
    seen: Mutex<Vec<LmRequest>>,
}

impl std::fmt::Debug for FnLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnLm")
    }
}

impl FnLm {
    fn new(reply: impl Fn(&str) -> String + Send + Sync + 'static) -> Arc<FnLm> {
        Arc::new(FnLm { reply: Box::new(reply), seen: Mutex::new(vec![]) })
    }
    fn users(&self) -> Vec<String> {
        self.seen.lock().unwrap().iter().map(|r| r.messages.last().unwrap().content.clone()).collect()
    }
}

#[async_trait::async_trait]
impl LM for FnLm {
    fn model(&self) -> &str {
        "fn-lm"
    }
    async fn call(&self, r: LmRequest) -> Result<LmResponse, LmError> {
        let text = (self.reply)(&r.messages.last().unwrap().content);
        self.seen.lock().unwrap().push(r);
        Ok(LmResponse {
            choices: vec![Choice { text, finish_reason: Some("stop".into()), tool_calls: vec![] }],
            usage: Usage { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12, cost: 0.0, calls: 1, cached_calls: 0 },
            model: "fn-lm".into(),
            cache_hit: false,
        })
    }
}

fn chat(fields: &[(&str, &str)]) -> String {
    let mut s: String = fields.iter().map(|(k, v)| format!("[[ ## {k} ## ]]\n{v}\n\n")).collect();
    s.push_str("[[ ## completed ## ]]");
    s
}

/// A CoT whose answer must be a number (Assert) and should be short (Suggest).
#[derive(Clone, Predictors)]
struct Qa {
    generate: ChainOfThought,
    #[predictors(skip)]
    suggest_only: bool,
}

#[async_trait::async_trait]
impl Module for Qa {
    async fn forward(&self, inputs: &Example) -> Result<Prediction> {
        let pred = self.generate.forward(inputs).await?;
        let answer = pred.get_str("answer").unwrap_or_default().to_string();
        if self.suggest_only {
            rdspy::suggest(answer.parse::<f64>().is_ok(), "The answer must be a number.")?;
        } else {
            rdspy::assert(answer.parse::<f64>().is_ok(), "The answer must be a number.")?;
        }
        rdspy::suggest(answer.len() <= 3, "Keep the answer short.")?;
        Ok(pred)
    }
}

fn qa(lm: Arc<FnLm>, suggest_only: bool) -> Qa {
    Qa { generate: ChainOfThought::new(Signature::parse("question -> answer").unwrap()).with_lm(lm), suggest_only }
}

fn question() -> Example {
    Example::new().with("question", "2+3?")
}

/// Words until the prompt carries feedback.
fn learns_from_feedback() -> Arc<FnLm> {
    FnLm::new(|u| chat(&[("reasoning", "add"), ("answer", if u.contains("[[ ## feedback ## ]]") { "5" } else { "five" })]))
}

#[tokio::test]
async fn a_failed_assert_retries_the_predictor_with_past_outputs_and_feedback() {
    let lm = learns_from_feedback();
    let hist = Arc::new(History::new(lm.clone(), 20));
    let mut program = qa(lm.clone(), false);
    program.generate.predict.lm = Some(hist.clone());
    let (pred, trace) = rdspy::trace::with_trace(program.activate_assertions().forward(&question())).await;
    assert_eq!(pred.unwrap().get_str("answer"), Some("5"));

    let users = lm.users();
    assert_eq!(users.len(), 2);
    assert_eq!(
        users[1],
        "[[ ## question ## ]]\n2+3?\n\n[[ ## past_reasoning ## ]]\nadd\n\n[[ ## past_answer ## ]]\nfive\n\n\
         [[ ## feedback ## ]]\nThe answer must be a number.\n\n\
         Respond with the corresponding output fields, starting with the field `[[ ## reasoning ## ]]`, then `[[ ## answer ## ]]`, \
         and then ending with the marker for `[[ ## completed ## ]]`."
    );
    let system = &lm.seen.lock().unwrap()[1].messages[0].content;
    assert!(
        system.contains("3. `past_answer` (str): past Answer with errors\n4. `feedback` (str): Some instructions you must satisfy"),
        "{system}"
    );

    assert_eq!(hist.log().len(), 2, "both attempts are in the LM history");
    assert_eq!(trace.len(), 1, "the caller's trace holds the accepted run");
    assert_eq!(trace[0].inputs.get_str("feedback"), Some("The answer must be a number."), "the backtrack shows in the trace");
    assert_eq!(trace[0].inputs.get_str("past_answer"), Some("five"));
}

#[tokio::test]
async fn an_assert_that_never_holds_fails_after_max_backtracks_naming_constraint_and_predictor() {
    let lm = FnLm::new(|_| chat(&[("reasoning", "r"), ("answer", "five")]));
    let (result, trace) = rdspy::trace::with_trace(qa(lm.clone(), false).activate_assertions().forward(&question())).await;
    let err = result.unwrap_err();
    assert_eq!(lm.users().len(), 3, "first run + max_backtracks (2) retries");
    assert_eq!(trace.len(), 1, "the last attempt is in the caller's trace, so its output can be read");
    assert_eq!((trace[0].outputs.get_str("answer"), trace[0].inputs.get_str("past_answer")), (Some("five"), Some("five")));
    let Error::Assertion(e) = &err else { panic!("{err}") };
    assert_eq!((e.kind, e.backtracks, e.predictor.as_deref()), (Constraint::Assert, 2, Some("generate.predict")));
    assert!(err.to_string().contains("Assert failed: \"The answer must be a number.\""), "{err}");
    assert!(err.to_string().contains("`generate.predict`, still failing after 2 backtrack(s)"), "{err}");

    let lm = FnLm::new(|_| chat(&[("reasoning", "r"), ("answer", "five")]));
    let err = WithAssertions::new(qa(lm.clone(), false)).max_backtracks(0).forward(&question()).await.unwrap_err();
    assert!(matches!(err, Error::Assertion(_)));
    assert_eq!(lm.users().len(), 1);
}

#[tokio::test]
async fn a_suggest_that_never_holds_is_logged_and_the_program_continues() {
    let lm = FnLm::new(|_| chat(&[("reasoning", "r"), ("answer", "many")]));
    let pred = qa(lm.clone(), true).activate_assertions().forward(&question()).await.unwrap();
    assert_eq!(pred.get_str("answer"), Some("many"));
    assert_eq!(lm.users().len(), 3);
    // Feedback accumulates distinct messages for the blamed predictor.
    assert!(lm.users()[2].contains("[[ ## feedback ## ]]\nThe answer must be a number.\n\n"), "{}", lm.users()[2]);
}

#[tokio::test]
async fn messages_accumulate_one_per_distinct_failure() {
    // "five" fails the Assert; "12345" passes it but fails the length Suggest; "5" passes both.
    let lm = FnLm::new(|u| {
        let a = if u.contains("Keep the answer short.") {
            "5"
        } else if u.contains("feedback") {
            "12345"
        } else {
            "five"
        };
        chat(&[("reasoning", "r"), ("answer", a)])
    });
    let pred = qa(lm.clone(), false).activate_assertions().forward(&question()).await.unwrap();
    assert_eq!(pred.get_str("answer"), Some("5"));
    assert!(lm.users()[2].contains("[[ ## feedback ## ]]\nThe answer must be a number.\nKeep the answer short.\n\n"), "{}", lm.users()[2]);
}

/// Two steps; the assertion blames the first one explicitly.
#[derive(Clone, Predictors)]
struct TwoStep {
    draft: Predict,
    polish: Predict,
}

#[async_trait::async_trait]
impl Module for TwoStep {
    async fn forward(&self, inputs: &Example) -> Result<Prediction> {
        let draft = self.draft.forward(inputs).await?;
        let text = draft.get_str("draft").unwrap_or_default().to_string();
        let polished = self.polish.forward(&Example::new().with("draft", text.clone())).await?;
        assertions::assert_on(&self.draft, !text.contains("TODO"), "The draft must not contain TODO.")?;
        Ok(polished)
    }
}

#[tokio::test]
async fn assert_on_blames_the_named_predictor_not_the_last_one() {
    let lm = FnLm::new(|u| {
        if u.contains("[[ ## topic ## ]]") {
            chat(&[("draft", if u.contains("feedback") { "done" } else { "TODO" })])
        } else {
            chat(&[("text", "polished")])
        }
    });
    let program = TwoStep {
        draft: Predict::new(Signature::parse("topic -> draft").unwrap()).with_lm(lm.clone()),
        polish: Predict::new(Signature::parse("draft -> text").unwrap()).with_lm(lm.clone()),
    };
    let (pred, trace) = rdspy::trace::with_trace(program.activate_assertions().forward(&Example::new().with("topic", "x"))).await;
    assert_eq!(pred.unwrap().get_str("text"), Some("polished"));
    let users = lm.users();
    assert_eq!(users.len(), 4);
    assert!(users[2].contains("[[ ## past_draft ## ]]\nTODO") && users[2].contains("The draft must not contain TODO."));
    assert!(!users[3].contains("feedback"), "the polish step is rerun without feedback");
    assert_eq!(trace.len(), 2);
    assert!(trace[0].inputs.contains_key("feedback") && !trace[1].inputs.contains_key("feedback"));
}

#[tokio::test]
async fn without_backtracking_assert_fails_at_once_and_suggest_only_logs() {
    let lm = FnLm::new(|_| chat(&[("reasoning", "r"), ("answer", "five")]));
    let err = qa(lm.clone(), false).forward(&question()).await.unwrap_err();
    assert!(err.to_string().contains("run the program through rdspy::assertions::WithAssertions"), "{err}");
    assert!(qa(lm.clone(), true).forward(&question()).await.is_ok());
    assert_eq!(lm.users().len(), 2);
    assert_eq!(
        qa(lm, false).activate_assertions().named_predictors().into_iter().map(|(n, _)| n).collect::<Vec<_>>(),
        ["generate.predict"],
        "the wrapper keeps the program's names"
    );
}

#[tokio::test]
async fn concurrent_programs_backtrack_independently() {
    let lm = learns_from_feedback();
    let program = qa(lm.clone(), false).activate_assertions();
    let (q1, q2) = (question(), Example::new().with("question", "1+1?"));
    let (a, b) = tokio::join!(program.forward(&q1), program.forward(&q2));
    assert_eq!((a.unwrap().get_str("answer"), b.unwrap().get_str("answer")), (Some("5"), Some("5")));
    assert_eq!(lm.users().len(), 4);
}

#[tokio::test]
async fn bootstrap_takes_demos_only_from_runs_that_satisfy_the_asserts() {
    // Questions mentioning "hard" never get a numeric answer; the others do after one backtrack.
    let lm = FnLm::new(|u| {
        let a = if u.contains("hard") {
            "unknown"
        } else if u.contains("[[ ## feedback ## ]]") {
            "7"
        } else {
            "seven"
        };
        chat(&[("reasoning", "r"), ("answer", a)])
    });
    let ex = |q: &str| Example::new().with("question", q).with("answer", "7").with_inputs(["question"]);
    let trainset = vec![ex("hard 1"), ex("hard 2"), ex("easy 1"), ex("hard 3"), ex("easy 2")];
    let student = qa(lm, false).activate_assertions();
    let mut opt = BootstrapFewShot::new(|_: &Example, _: &Prediction, _: Option<&rdspy::trace::Trace>| 1.0);
    opt.max_errors = 1; // assertion failures are not teacher errors, so this does not stop the compile
    opt.max_labeled_demos = 2;
    opt.max_bootstrapped_demos = 2;
    let compiled = opt.compile(&student, &trainset, None).await.unwrap();
    let demos = &compiled.named_predictors()[0].1.demos;
    assert_eq!(demos.len(), 2);
    for d in demos {
        assert_eq!(d.get("augmented"), Some(&serde_json::json!(true)));
        assert!(d.get_str("question").unwrap().starts_with("easy"), "{d:?}");
        assert_eq!(d.get_str("answer"), Some("7"));
    }
}
