//! The backtracking runner: DSPy 2.x's `backtrack_handler` and `Retry`, for async Rust.

use super::{AssertionError, Constraint, RunState, RUN};
use crate::adapter::{Adapter, ChatAdapter, Message, ParseError};
use crate::predict::{Module, Predict, Predictors};
use crate::signature::{Field, TypeSpec};
use crate::trace::{self, Trace};
use crate::{settings, Error, Example, Prediction, Result, Signature};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// A program whose [`crate::assert`] / [`crate::suggest`] failures are retried (DSPy 2.x's
/// `assert_transform_module(program, backtrack_handler)`).
///
/// Each backtrack reruns the whole `forward`; the blamed predictor's prompt gets
/// `past_<output>` inputs ("past X with errors") and a `feedback` input ("Some instructions
/// you must satisfy") holding every distinct message it failed so far, one per line. Only the
/// final run's steps enter the caller's trace (as DSPy cleared its trace between runs; also when
/// that run still fails an Assert, so the failing output can be read), and the retried step's
/// inputs there include `past_*` and `feedback`, so a backtrack shows in the trace; every attempt's prompt is in the LM history, and each backtrack is logged
/// (`tracing` info). Predictor names are the wrapped program's, so save/load is unchanged.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use rdspy::assertions::ActivateAssertions;
/// use rdspy::lm::{Choice, LmError, LmRequest, LmResponse, LM};
/// use rdspy::predict::{Module, Predict, Predictors};
/// use rdspy::{Example, Prediction, Result, Signature};
/// use std::sync::Arc;
///
/// /// Answers in words until the prompt carries feedback.
/// #[derive(Debug)]
/// struct Stubborn;
/// #[async_trait::async_trait]
/// impl LM for Stubborn {
///     fn model(&self) -> &str { "stubborn" }
///     async fn call(&self, r: LmRequest) -> std::result::Result<LmResponse, LmError> {
///         let fixed = r.messages.last().unwrap().content.contains("[[ ## feedback ## ]]");
///         let answer = if fixed { "4" } else { "four" };
///         Ok(LmResponse { choices: vec![Choice { text: format!("[[ ## answer ## ]]\n{answer}\n\n[[ ## completed ## ]]"), finish_reason: None, tool_calls: vec![] }], usage: Default::default(), model: "stubborn".into(), cache_hit: false })
///     }
/// }
///
/// #[derive(Clone, Predictors)]
/// struct Qa { predict: Predict }
/// #[async_trait::async_trait]
/// impl Module for Qa {
///     async fn forward(&self, inputs: &Example) -> Result<Prediction> {
///         let pred = self.predict.forward(inputs).await?;
///         let answer = pred.get_str("answer").unwrap_or_default();
///         rdspy::assert(answer.parse::<f64>().is_ok(), "The answer must be a number.")?;
///         Ok(pred)
///     }
/// }
///
/// let qa = Qa { predict: Predict::new(Signature::parse("question -> answer").unwrap()).with_lm(Arc::new(Stubborn)) };
/// let question = Example::new().with("question", "2+2?");
/// assert!(qa.forward(&question).await.is_err());
/// let checked = qa.activate_assertions();
/// assert_eq!(checked.forward(&question).await.unwrap().get_str("answer"), Some("4"));
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct WithAssertions<M> {
    /// The program.
    pub program: M,
    /// Retries after the first run (DSPy: 2).
    pub max_backtracks: usize,
}

/// `.activate_assertions()` on any module (DSPy 2.x's `module.activate_assertions()`).
pub trait ActivateAssertions: Module + Clone + Sized {
    /// Wrap `self` in [`WithAssertions`] with `max_backtracks = 2`.
    fn activate_assertions(self) -> WithAssertions<Self> {
        WithAssertions::new(self)
    }
}

impl<M: Module + Clone> ActivateAssertions for M {}

impl<M: Module + Clone> WithAssertions<M> {
    /// With DSPy's default of 2 backtracks.
    pub fn new(program: M) -> WithAssertions<M> {
        WithAssertions { program, max_backtracks: 2 }
    }

    /// With another number of backtracks (0: no retry, constraints checked once).
    pub fn max_backtracks(mut self, n: usize) -> WithAssertions<M> {
        self.max_backtracks = n;
        self
    }
}

/// What the next run shows the blamed predictor.
#[derive(Debug, Clone)]
struct Retry {
    predictor_id: u64,
    past: Map<String, Value>,
    feedback: String,
}

impl Retry {
    /// The extra inputs: `past_<output>` for each output, then `feedback`.
    fn inputs(&self) -> Map<String, Value> {
        let mut m: Map<String, Value> = self.past.iter().map(|(k, v)| (format!("past_{k}"), v.clone())).collect();
        m.insert("feedback".into(), Value::from(self.feedback.clone()));
        m
    }
}

/// DSPy 2.x's `Retry._create_new_signature`: a `past_<name>` input per output ("Previous X:",
/// "past X with errors"), then `feedback` ("Instructions:", "Some instructions you must satisfy").
pub(crate) fn retry_signature(signature: &Signature) -> Signature {
    let mut sig = signature.clone();
    for out in signature.output_fields() {
        let label = out.prefix.split(':').next().unwrap_or_default().to_string();
        let past = Field::input(format!("past_{}", out.name), TypeSpec::Str)
            .with_prefix(format!("Previous {label}:"))
            .with_desc(format!("past {label} with errors"));
        sig = sig.append(past).unwrap_or(sig);
    }
    let feedback = Field::input("feedback", TypeSpec::Str).with_prefix("Instructions:").with_desc("Some instructions you must satisfy");
    sig.append(feedback).unwrap_or(sig)
}

/// Shows one predictor its past outputs and the feedback (the role of DSPy 2.x's `Retry`).
#[derive(Debug)]
struct RetryAdapter {
    inner: Arc<dyn Adapter>,
    extra: Map<String, Value>,
}

impl Adapter for RetryAdapter {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn format(&self, signature: &Signature, demos: &[Example], inputs: &Map<String, Value>) -> Vec<Message> {
        let mut inputs = inputs.clone();
        inputs.extend(self.extra.clone());
        self.inner.format(&retry_signature(signature), demos, &inputs)
    }
    fn parse(&self, signature: &Signature, completion: &str) -> Result<Map<String, Value>, ParseError> {
        self.inner.parse(signature, completion)
    }
    fn response_format(&self, signature: &Signature) -> Option<Value> {
        self.inner.response_format(&retry_signature(signature))
    }
}

impl<M: Module + Clone> WithAssertions<M> {
    /// The program with the blamed predictor (every call of it) showing the retry inputs.
    fn retrying(&self, retry: &Retry) -> M {
        let mut program = self.program.clone();
        let default = settings::current().adapter;
        for (_, p) in program.named_predictors_mut() {
            if p.id() == retry.predictor_id {
                let inner = p.adapter.clone().or_else(|| default.clone()).unwrap_or_else(|| Arc::new(ChatAdapter::default()));
                p.adapter = Some(Arc::new(RetryAdapter { inner, extra: retry.inputs() }));
            }
        }
        program
    }

    /// Replay the accepted run's steps into the caller's trace, the retried ones with their
    /// extra inputs.
    fn replay(steps: Trace, retry: Option<&Retry>) {
        for mut step in steps {
            if let Some(r) = retry.filter(|r| r.predictor_id == step.predictor_id) {
                for (k, v) in r.inputs() {
                    step.inputs.set(k, v);
                }
            }
            trace::record(step);
        }
    }
}

impl<M: Predictors> Predictors for WithAssertions<M> {
    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        self.program.named_predictors()
    }
    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        self.program.named_predictors_mut()
    }
}

#[async_trait::async_trait]
impl<M: Module + Clone> Module for WithAssertions<M> {
    async fn forward(&self, inputs: &Example) -> Result<Prediction> {
        let names: HashMap<u64, String> = self.program.named_predictors().into_iter().map(|(n, p)| (p.id(), n)).collect();
        let mut feedback: HashMap<u64, Vec<String>> = HashMap::new();
        let mut retry: Option<Retry> = None;
        let mut run = 0usize;
        loop {
            let final_run = run >= self.max_backtracks;
            let program = match &retry {
                Some(r) => self.retrying(r),
                None => self.program.clone(),
            };
            let state = Arc::new(RunState { final_run });
            let (result, steps) = RUN.scope(state, trace::with_trace(program.forward(inputs))).await;
            let mut failure = match result {
                Ok(pred) => {
                    Self::replay(steps, retry.as_ref());
                    return Ok(pred);
                }
                Err(Error::Assertion(e)) => e,
                Err(other) => return Err(other),
            };
            let blamed = match &failure.target {
                Some(ids) => steps.iter().rev().find(|s| ids.contains(&s.predictor_id)),
                None => steps.last(),
            };
            failure.backtracks = run;
            failure.predictor = blamed.and_then(|s| names.get(&s.predictor_id).cloned());
            if final_run {
                // The caller's trace shows the last attempt, so the failing output can be read.
                Self::replay(steps, retry.as_ref());
                return Err(Error::Assertion(failure));
            }
            let Some(step) = blamed else {
                if failure.kind == Constraint::Assert {
                    return Err(Error::Assertion(failure)); // nothing ran that a retry could change
                }
                run = self.max_backtracks; // one last run, with suggestions only logged
                continue;
            };
            let msgs = feedback.entry(step.predictor_id).or_default();
            if !msgs.contains(&failure.message) {
                msgs.push(failure.message.clone());
            }
            let outputs = program
                .named_predictors()
                .into_iter()
                .find(|(_, p)| p.id() == step.predictor_id)
                .map(|(_, p)| p.signature().output_names().into_iter().map(str::to_string).collect::<Vec<_>>())
                .unwrap_or_default();
            let past: Map<String, Value> =
                outputs.iter().map(|k| (k.clone(), step.outputs.get(k).cloned().unwrap_or(Value::Null))).collect();
            tracing::info!(
                constraint = %failure.kind,
                message = %failure.message,
                predictor = failure.predictor.as_deref().unwrap_or("?"),
                backtrack = run + 1,
                "backtracking: retrying the predictor with its past outputs and the feedback"
            );
            retry = Some(Retry { predictor_id: step.predictor_id, past, feedback: msgs.join("\n") });
            run += 1;
        }
    }
}

/// True for the error a failed `Assert` ends a call with (BootstrapFewShot skips such examples
/// instead of counting them as teacher errors).
pub fn is_assertion_failure(e: &Error) -> bool {
    matches!(e, Error::Assertion(AssertionError { kind: Constraint::Assert, .. }))
}
