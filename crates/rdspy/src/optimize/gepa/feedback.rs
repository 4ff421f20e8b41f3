//! Metrics that explain their score: GEPA's reflection LM learns from *why* a run scored as it
//! did ("the answer was 12 but the question asked for the total, 15"), not just from the number.
//!
//! A [`FeedbackMetric`] gets DSPy's five arguments — the gold example, the prediction, the
//! program's trace, and, while GEPA asks about one predictor, that predictor's name and its own
//! steps — and returns a [`ScoreWithFeedback`]. Closures of that shape implement it; a plain
//! [`Metric`](crate::evaluate::Metric) becomes one with [`WithoutFeedback`], whose feedback is
//! DSPy's default `This trajectory got a score of {score}.`. The plain `Metric` API is unchanged.

use crate::evaluate::SharedMetric;
use crate::trace::Trace;
use crate::{Example, Prediction};
use std::sync::Arc;

/// A score and, optionally, text saying what was right or wrong (DSPy's
/// `dspy.Prediction(score=..., feedback=...)`).
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreWithFeedback {
    /// The score (GEPA's perfect score is 1.0 by default).
    pub score: f64,
    /// What the reflection LM is shown; `None` gets DSPy's default text.
    pub feedback: Option<String>,
}

impl ScoreWithFeedback {
    /// A score with feedback.
    pub fn new(score: f64, feedback: impl Into<String>) -> ScoreWithFeedback {
        ScoreWithFeedback { score, feedback: Some(feedback.into()) }
    }

    /// The feedback, or DSPy's default `This trajectory got a score of {score}.` (the score as
    /// Python prints a float).
    pub fn feedback_text(&self) -> String {
        match &self.feedback {
            Some(f) => f.clone(),
            None => {
                let mut s = String::from("This trajectory got a score of ");
                crate::adapter::pyfmt::py_float(self.score, &mut s);
                s.push('.');
                s
            }
        }
    }
}

impl From<f64> for ScoreWithFeedback {
    fn from(score: f64) -> Self {
        ScoreWithFeedback { score, feedback: None }
    }
}

impl From<bool> for ScoreWithFeedback {
    fn from(ok: bool) -> Self {
        ScoreWithFeedback { score: if ok { 1.0 } else { 0.0 }, feedback: None }
    }
}

impl<S: Into<String>> From<(f64, S)> for ScoreWithFeedback {
    fn from((score, feedback): (f64, S)) -> Self {
        ScoreWithFeedback::new(score, feedback)
    }
}

/// GEPA's metric: DSPy's `metric(gold, pred, trace, pred_name, pred_trace)`.
///
/// ```
/// use rdspy::optimize::gepa::{FeedbackMetric, ScoreWithFeedback};
/// use rdspy::{Example, Prediction};
/// let metric = |gold: &Example, pred: &Prediction, _t: Option<&rdspy::trace::Trace>, _n: Option<&str>, _pt: Option<&rdspy::trace::Trace>| {
///     let (want, got) = (gold.get_str("answer").unwrap_or(""), pred.get_str("answer").unwrap_or(""));
///     if want == got { ScoreWithFeedback::new(1.0, "Correct.") } else { ScoreWithFeedback::new(0.0, format!("Expected {want}, got {got}.")) }
/// };
/// let gold = Example::new().with("answer", "4");
/// let pred = Prediction::from_json(serde_json::json!({"answer": "5"})).unwrap();
/// let r = metric.feedback(&gold, &pred, None, None, None);
/// assert_eq!((r.score, r.feedback_text()), (0.0, "Expected 4, got 5.".to_string()));
/// ```
pub trait FeedbackMetric: Send + Sync {
    /// Score `pred` against `gold`. `pred_name`/`pred_trace` are set while GEPA asks for
    /// feedback on one predictor; both are `None` when it only needs the score.
    fn feedback(
        &self,
        gold: &Example,
        pred: &Prediction,
        trace: Option<&Trace>,
        pred_name: Option<&str>,
        pred_trace: Option<&Trace>,
    ) -> ScoreWithFeedback;
}

impl<F, R> FeedbackMetric for F
where
    F: Fn(&Example, &Prediction, Option<&Trace>, Option<&str>, Option<&Trace>) -> R + Send + Sync,
    R: Into<ScoreWithFeedback>,
{
    fn feedback(
        &self,
        gold: &Example,
        pred: &Prediction,
        trace: Option<&Trace>,
        name: Option<&str>,
        pt: Option<&Trace>,
    ) -> ScoreWithFeedback {
        self(gold, pred, trace, name, pt).into()
    }
}

/// A plain metric used as a GEPA metric: its score, and DSPy's default feedback text.
///
/// ```
/// use rdspy::optimize::gepa::{FeedbackMetric, WithoutFeedback};
/// let m = WithoutFeedback(std::sync::Arc::new(rdspy::evaluate::answer_exact_match()));
/// let gold = rdspy::Example::new().with("answer", "4");
/// let pred = rdspy::Prediction::from_json(serde_json::json!({"answer": "4"})).unwrap();
/// assert_eq!(m.feedback(&gold, &pred, None, None, None).feedback_text(), "This trajectory got a score of 1.0.");
/// ```
#[derive(Clone)]
pub struct WithoutFeedback(pub SharedMetric);

impl FeedbackMetric for WithoutFeedback {
    fn feedback(&self, gold: &Example, pred: &Prediction, trace: Option<&Trace>, _: Option<&str>, _: Option<&Trace>) -> ScoreWithFeedback {
        self.0.score(gold, pred, trace).into()
    }
}

/// A feedback metric shared across tasks.
pub type SharedFeedbackMetric = Arc<dyn FeedbackMetric>;
