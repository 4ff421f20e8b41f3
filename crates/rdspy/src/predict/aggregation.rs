//! `majority`: pick the most common answer among several completions or predictions.
//!
//! Self-consistency (sample several reasoning chains, keep the answer most of them reach) is
//! one of the cheapest ways to raise accuracy; DSPy exposes the reducer as `dspy.majority`, and
//! `Ensemble` uses the same one to combine programs.

use crate::adapter::pyfmt::py_str;
use crate::evaluate::normalize_text;
use crate::Prediction;
use serde_json::{Map, Value};

/// DSPy's default normalization: [`normalize_text`], with an empty result meaning "ignore
/// this completion" (so blank answers never win a vote).
pub fn default_normalize(s: &str) -> Option<String> {
    let n = normalize_text(s);
    (!n.is_empty()).then_some(n)
}

/// DSPy's `dspy.majority` over predictions: the one whose `field` value is most common after
/// [`default_normalize`]; ties go to the value seen first. `field` defaults to the last key of
/// the first prediction (a predictor's last output field). `None` only for an empty slice.
///
/// ```
/// use rdspy::predict::majority;
/// use rdspy::Prediction;
/// let p = |a: &str| Prediction::from_json(serde_json::json!({"reasoning": "...", "answer": a})).unwrap();
/// let votes = [p("Paris"), p("London"), p("paris."), p("London")];
/// assert_eq!(majority(&votes, None).unwrap().get_str("answer"), Some("Paris"));
/// ```
pub fn majority(predictions: &[Prediction], field: Option<&str>) -> Option<Prediction> {
    majority_with(predictions, field, default_normalize)
}

/// [`majority`] with another normalization (DSPy's `normalize=` argument). A value the
/// function maps to `None` does not vote, unless no value votes at all, in which case the raw
/// values are counted (as DSPy does).
///
/// ```
/// use rdspy::predict::majority_with;
/// use rdspy::Prediction;
/// let p = |a: &str| Prediction::from_json(serde_json::json!({"answer": a})).unwrap();
/// let exact = |s: &str| Some(s.to_string());
/// assert_eq!(majority_with(&[p("A"), p("a"), p("a")], None, exact).unwrap().get_str("answer"), Some("a"));
/// ```
pub fn majority_with(predictions: &[Prediction], field: Option<&str>, normalize: impl Fn(&str) -> Option<String>) -> Option<Prediction> {
    let maps: Vec<&Map<String, Value>> = predictions.iter().map(Prediction::as_map).collect();
    let winner = vote(&maps, field, normalize)?;
    Some(predictions[winner].clone())
}

/// DSPy's `dspy.majority(prediction)`: the majority among one prediction's completions (a
/// predictor called with `n > 1`), as a prediction holding just the winning completion.
///
/// ```
/// use rdspy::predict::majority_of_completions;
/// use rdspy::Prediction;
/// let c = |a: &str| serde_json::json!({"answer": a}).as_object().unwrap().clone();
/// let sampled = Prediction::from_completions(vec![c("4"), c("5"), c("4")]);
/// assert_eq!(majority_of_completions(&sampled, None).unwrap().get_str("answer"), Some("4"));
/// ```
pub fn majority_of_completions(prediction: &Prediction, field: Option<&str>) -> Option<Prediction> {
    let completions = prediction.completions();
    let maps: Vec<&Map<String, Value>> = completions.iter().collect();
    let winner = vote(&maps, field, default_normalize)?;
    Some(Prediction::from_completions(vec![completions[winner].clone()]))
}

/// Index of the first item carrying the most common normalized value.
fn vote(items: &[&Map<String, Value>], field: Option<&str>, normalize: impl Fn(&str) -> Option<String>) -> Option<usize> {
    let first = items.first()?;
    let field = match field {
        Some(f) => f.to_string(),
        None => first.keys().next_back()?.clone(),
    };
    let raw: Vec<String> = items.iter().map(|m| m.get(&field).map(py_str).unwrap_or_else(|| "None".into())).collect();
    let normalized: Vec<Option<String>> = raw.iter().map(|s| normalize(s)).collect();
    let keys: Vec<Option<String>> = if normalized.iter().any(Option::is_some) {
        normalized
    } else {
        raw.into_iter().map(Some).collect() // nothing survived normalization: count the raw values
    };
    // (value, count, first index) in order of first appearance, so ties keep the earliest.
    let mut counts: Vec<(&str, usize, usize)> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let Some(k) = k else { continue };
        match counts.iter_mut().find(|(v, _, _)| *v == k) {
            Some(e) => e.1 += 1,
            None => counts.push((k, 1, i)),
        }
    }
    let mut best: Option<(&str, usize, usize)> = None;
    for e in counts {
        if best.is_none_or(|b| e.1 > b.1) {
            best = Some(e);
        }
    }
    Some(best.map_or(0, |b| b.2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(v: Value) -> Prediction {
        Prediction::from_json(json!({"reasoning": "r", "answer": v})).unwrap()
    }

    #[test]
    fn votes_on_the_normalized_last_field_and_ties_go_first() {
        let preds = [p(json!("Paris")), p(json!("London")), p(json!("the paris")), p(json!("London"))];
        assert_eq!(majority(&preds, None).unwrap().get_str("answer"), Some("Paris"));
        assert_eq!(majority(&preds[1..], None).unwrap().get_str("answer"), Some("London"));
        assert!(majority(&[], None).is_none());
    }

    #[test]
    fn numbers_vote_by_python_str_and_blank_answers_do_not_vote() {
        let preds = [p(json!("")), p(json!(5)), p(json!("5")), p(json!(4))];
        assert_eq!(majority(&preds, None).unwrap().get("answer"), Some(&json!(5)));
        let blanks = [p(json!("")), p(json!("  "))];
        assert_eq!(majority(&blanks, None).unwrap().get_str("answer"), Some(""), "all blank: raw values vote");
    }

    #[test]
    fn explicit_field_and_completions() {
        let preds = [p(json!("a")), p(json!("b"))];
        assert_eq!(majority(&preds, Some("reasoning")).unwrap().get_str("answer"), Some("a"));
        let c = |a: &str| json!({"answer": a}).as_object().unwrap().clone();
        let sampled = Prediction::from_completions(vec![c("x"), c("y"), c("y")]);
        let won = majority_of_completions(&sampled, None).unwrap();
        assert_eq!((won.get_str("answer"), won.completions().len()), (Some("y"), 1));
    }
}
