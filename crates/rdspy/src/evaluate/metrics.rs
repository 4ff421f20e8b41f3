//! DSPy's answer metrics (normalization, exact match, token F1, passage match) and the
//! [`Metric`] trait.

use crate::trace::Trace;
use crate::{Example, Prediction};
use regex::Regex;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use unicode_normalization::UnicodeNormalization;

/// What a metric may return: a score or a pass/fail (`true` = 1.0).
pub trait MetricValue {
    /// As a number.
    fn to_score(self) -> f64;
}
impl MetricValue for f64 {
    fn to_score(self) -> f64 {
        self
    }
}
impl MetricValue for f32 {
    fn to_score(self) -> f64 {
        self as f64
    }
}
impl MetricValue for bool {
    fn to_score(self) -> f64 {
        if self {
            1.0
        } else {
            0.0
        }
    }
}

/// Scores one prediction against its example. `trace` is `Some` while an optimizer is
/// bootstrapping (a metric may be stricter then, as in DSPy), `None` during evaluation.
pub trait Metric: Send + Sync {
    /// The score (for pass/fail metrics 1.0 or 0.0).
    fn score(&self, example: &Example, prediction: &Prediction, trace: Option<&Trace>) -> f64;
}

impl<F, R> Metric for F
where
    F: Fn(&Example, &Prediction, Option<&Trace>) -> R + Send + Sync,
    R: MetricValue,
{
    fn score(&self, example: &Example, prediction: &Prediction, trace: Option<&Trace>) -> f64 {
        self(example, prediction, trace).to_score()
    }
}

/// A metric shared across tasks.
pub type SharedMetric = Arc<dyn Metric>;

/// DSPy's `normalize_text`: Unicode NFD, lowercase, drop ASCII punctuation, drop the articles
/// a/an/the, and squeeze whitespace.
///
/// ```
/// assert_eq!(rdspy::evaluate::normalize_text("The  Cat's   hat!"), "cats hat");
/// ```
pub fn normalize_text(s: &str) -> String {
    static ARTICLES: OnceLock<Regex> = OnceLock::new();
    let re = ARTICLES.get_or_init(|| Regex::new(r"\b(a|an|the)\b").expect("valid regex"));
    let lowered: String = s.nfd().collect::<String>().to_lowercase();
    let no_punct: String = lowered.chars().filter(|c| !c.is_ascii_punctuation()).collect();
    let no_articles = re.replace_all(&no_punct, " ");
    no_articles.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Exact match after [`normalize_text`].
pub fn exact_match(prediction: &str, truth: &str) -> bool {
    normalize_text(prediction) == normalize_text(truth)
}

/// Token-level F1 after [`normalize_text`] (SQuAD's F1; 0 when nothing overlaps).
///
/// ```
/// assert!((rdspy::evaluate::f1_score("the big cat", "a cat") - 2.0 / 3.0).abs() < 1e-9);
/// ```
pub fn f1_score(prediction: &str, truth: &str) -> f64 {
    let p = normalize_text(prediction);
    let t = normalize_text(truth);
    let (p, t): (Vec<&str>, Vec<&str>) = (p.split_whitespace().collect(), t.split_whitespace().collect());
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for w in &t {
        *counts.entry(w).or_default() += 1;
    }
    let mut same = 0i64;
    for w in &p {
        if let Some(c) = counts.get_mut(w) {
            if *c > 0 {
                *c -= 1;
                same += 1;
            }
        }
    }
    if same == 0 {
        return 0.0;
    }
    let precision = same as f64 / p.len() as f64;
    let recall = same as f64 / t.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

/// The gold answers of an example's field: a string, or a list of strings (any may match).
fn answers(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().map(value_text).collect(),
        Some(other) => vec![value_text(other)],
        None => vec![],
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// DSPy's `answer_exact_match` over a configurable field (default `answer`).
#[derive(Debug, Clone)]
pub struct AnswerExactMatch {
    /// The field compared in the example and the prediction.
    pub field: String,
    /// With `frac < 1`, an answer matches when its token F1 is at least `frac` (DSPy's `frac`).
    pub frac: f64,
}

/// `answer_exact_match` on the `answer` field, `frac = 1.0`.
pub fn answer_exact_match() -> AnswerExactMatch {
    AnswerExactMatch { field: "answer".into(), frac: 1.0 }
}

impl AnswerExactMatch {
    /// Compare another field (e.g. `label`).
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
    /// Accept answers whose F1 is at least `frac`.
    pub fn frac(mut self, frac: f64) -> Self {
        self.frac = frac;
        self
    }
}

impl Metric for AnswerExactMatch {
    fn score(&self, example: &Example, prediction: &Prediction, _trace: Option<&Trace>) -> f64 {
        let Some(pred) = prediction.get(&self.field).map(value_text) else { return 0.0 };
        let gold = answers(example.get(&self.field));
        let hit = if self.frac >= 1.0 {
            gold.iter().any(|g| exact_match(&pred, g))
        } else {
            gold.iter().map(|g| f1_score(&pred, g)).fold(0.0, f64::max) >= self.frac
        };
        hit.to_score()
    }
}

/// Token F1 of a field (the best over gold answers), as a score in [0, 1].
#[derive(Debug, Clone)]
pub struct AnswerF1 {
    /// The field compared.
    pub field: String,
}

/// Token F1 on the `answer` field.
pub fn answer_f1() -> AnswerF1 {
    AnswerF1 { field: "answer".into() }
}

impl Metric for AnswerF1 {
    fn score(&self, example: &Example, prediction: &Prediction, _trace: Option<&Trace>) -> f64 {
        let Some(pred) = prediction.get(&self.field).map(value_text) else { return 0.0 };
        answers(example.get(&self.field)).iter().map(|g| f1_score(&pred, g)).fold(0.0, f64::max)
    }
}

/// DSPy's `answer_passage_match`: does any passage of the prediction's `context` contain a gold
/// answer as a token sequence (DPR-style: NFD, lowercase, word tokens)?
#[derive(Debug, Clone)]
pub struct AnswerPassageMatch {
    /// The example's answer field.
    pub answer_field: String,
    /// The prediction's passages field (a string or a list of strings).
    pub context_field: String,
}

/// `answer_passage_match` on `answer` and `context`.
pub fn answer_passage_match() -> AnswerPassageMatch {
    AnswerPassageMatch { answer_field: "answer".into(), context_field: "context".into() }
}

fn dpr_tokens(s: &str) -> Vec<String> {
    static TOKEN: OnceLock<Regex> = OnceLock::new();
    let re = TOKEN.get_or_init(|| Regex::new(r"[\p{L}\p{N}\p{M}]+|[^\p{Z}\p{C}]").expect("valid regex"));
    let s: String = s.nfd().collect();
    re.find_iter(&s).map(|m| m.as_str().to_lowercase()).collect()
}

/// True when `answer`'s tokens appear contiguously in `passage`'s tokens.
pub fn passage_has_answer(passage: &str, answer: &str) -> bool {
    let (p, a) = (dpr_tokens(passage), dpr_tokens(answer));
    !a.is_empty() && p.windows(a.len()).any(|w| w == a.as_slice())
}

impl Metric for AnswerPassageMatch {
    fn score(&self, example: &Example, prediction: &Prediction, _trace: Option<&Trace>) -> f64 {
        let passages = answers(prediction.get(&self.context_field));
        let gold = answers(example.get(&self.answer_field));
        passages.iter().any(|p| gold.iter().any(|g| passage_has_answer(p, g))).to_score()
    }
}

/// A built-in metric by its CLI name: `exact_match` / `em`, `f1`, `passage_match`, each
/// optionally `:field` (e.g. `exact_match:label`).
pub fn metric_by_name(spec: &str) -> crate::Result<SharedMetric> {
    let (name, field) = spec.split_once(':').unwrap_or((spec, "answer"));
    Ok(match name {
        "exact_match" | "em" | "answer_exact_match" => Arc::new(answer_exact_match().field(field)),
        "f1" | "answer_f1" => Arc::new(AnswerF1 { field: field.into() }),
        "passage_match" | "answer_passage_match" => {
            Arc::new(AnswerPassageMatch { answer_field: field.into(), context_field: "context".into() })
        }
        other => {
            return Err(crate::Error::InvalidInput(format!(
                "unknown metric `{other}`; use exact_match, f1 or passage_match (optionally `:field`, e.g. exact_match:label)"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalization_matches_dspy() {
        // Values checked against dspy.evaluate.metrics.normalize_text (DSPy 3.4.1).
        assert_eq!(normalize_text("  The Answer is: A  cat. "), "answer is cat");
        assert_eq!(normalize_text("Café"), "cafe\u{301}");
        assert_eq!(normalize_text("an-apple"), "anapple");
        assert_eq!(normalize_text("(the) end"), "end");
    }

    #[test]
    fn exact_match_and_frac() {
        let ex = Example::new().with("answer", json!(["Paris", "paris, france"]));
        let p = Prediction::from_json(json!({"answer": "Paris, France."})).unwrap();
        assert_eq!(answer_exact_match().score(&ex, &p, None), 1.0);
        let ex = Example::new().with("answer", "new york city");
        let p = Prediction::from_json(json!({"answer": "new york"})).unwrap();
        assert_eq!(answer_exact_match().score(&ex, &p, None), 0.0);
        assert_eq!(answer_exact_match().frac(0.8).score(&ex, &p, None), 1.0);
        assert!((answer_f1().score(&ex, &p, None) - 0.8).abs() < 1e-9);
        let missing = Prediction::from_json(json!({})).unwrap();
        assert_eq!(answer_exact_match().score(&ex, &missing, None), 0.0);
    }

    #[test]
    fn passage_match() {
        let ex = Example::new().with("answer", "Eiffel Tower");
        let p = Prediction::from_json(json!({"context": ["It is in Paris.", "The eiffel tower, built 1889"]})).unwrap();
        assert_eq!(answer_passage_match().score(&ex, &p, None), 1.0);
        let p = Prediction::from_json(json!({"context": "Eiffel towers"})).unwrap();
        assert_eq!(answer_passage_match().score(&ex, &p, None), 0.0);
    }

    #[test]
    fn by_name() {
        assert!(metric_by_name("exact_match:label").is_ok());
        assert!(metric_by_name("bleu").err().unwrap().to_string().contains("unknown metric `bleu`"));
    }
}
