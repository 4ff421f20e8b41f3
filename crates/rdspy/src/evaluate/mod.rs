//! Metrics and [`Evaluate`]: score a program over a dev set.
//!
//! A metric is anything implementing [`Metric`]; closures
//! `Fn(&Example, &Prediction, Option<&Trace>) -> f64` (or `-> bool`) implement it, and the
//! built-ins follow DSPy's `answer_exact_match`, F1 and `answer_passage_match`.
//!
//! ```
//! use rdspy::evaluate::{answer_exact_match, Metric};
//! use rdspy::{Example, Prediction};
//! let ex = Example::new().with("answer", "The Eiffel Tower");
//! let pred = Prediction::from_json(serde_json::json!({"answer": "eiffel tower!"})).unwrap();
//! assert_eq!(answer_exact_match().score(&ex, &pred, None), 1.0);
//! let strict = |ex: &Example, p: &Prediction, _t: Option<&rdspy::trace::Trace>| ex.get("answer") == p.get("answer");
//! assert_eq!(strict.score(&ex, &pred, None), 0.0);
//! ```

mod metrics;
mod results;
mod run;

pub use metrics::{
    answer_exact_match, answer_f1, answer_passage_match, exact_match, f1_score, metric_by_name, normalize_text, AnswerExactMatch, AnswerF1,
    AnswerPassageMatch, Metric, MetricValue, SharedMetric,
};
pub use results::{EvaluationResult, ExampleResult};
pub use run::Evaluate;
