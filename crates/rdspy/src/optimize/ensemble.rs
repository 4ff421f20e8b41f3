//! `Ensemble`: run several programs and combine their answers.

use crate::evaluate::normalize_text;
use crate::predict::{Module, Predict, Predictors};
use crate::{Error, Example, Prediction, Result};
use serde_json::Value;

/// DSPy's `dspy.majority`: the prediction whose `field` value (normalized as
/// [`normalize_text`]) is most common; ties go to the value seen first. `field` defaults to the
/// last key of the first prediction (DSPy's last output field).
pub fn majority(predictions: &[Prediction], field: Option<&str>) -> Option<Prediction> {
    let first = predictions.first()?;
    let field = field.map(str::to_string).or_else(|| first.as_map().keys().next_back().cloned())?;
    let key = |p: &Prediction| -> Option<String> {
        let v = p.get(&field)?;
        let s = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let n = normalize_text(&s);
        (!n.is_empty()).then_some(n)
    };
    let mut order: Vec<(String, usize, usize)> = Vec::new();
    for (i, p) in predictions.iter().enumerate() {
        if let Some(k) = key(p) {
            match order.iter_mut().find(|(x, _, _)| *x == k) {
                Some(e) => e.1 += 1,
                None => order.push((k, 1, i)),
            }
        }
    }
    let best = order.iter().fold(None::<&(String, usize, usize)>, |b, e| match b {
        Some(b) if b.1 >= e.1 => Some(b),
        _ => Some(e),
    });
    Some(best.map(|b| predictions[b.2].clone()).unwrap_or_else(|| first.clone()))
}

/// DSPy's `Ensemble(reduce_fn=majority)`: combine programs into one that runs each of them
/// and returns the majority answer.
#[derive(Debug, Clone, Default)]
pub struct Ensemble {
    /// The output field voted on (default: the last output field).
    pub field: Option<String>,
}

impl Ensemble {
    /// A majority-vote ensemble.
    pub fn new() -> Self {
        Ensemble::default()
    }

    /// Combine the programs.
    pub fn compile<P: Module + Clone>(&self, programs: Vec<P>) -> Ensembled<P> {
        Ensembled { programs, field: self.field.clone() }
    }
}

/// Programs run together; see [`Ensemble`].
#[derive(Debug, Clone)]
pub struct Ensembled<P> {
    /// The member programs.
    pub programs: Vec<P>,
    field: Option<String>,
}

impl<P: Predictors> Predictors for Ensembled<P> {
    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        self.programs
            .iter()
            .enumerate()
            .flat_map(|(i, p)| {
                p.named_predictors().into_iter().map(move |(n, x)| (crate::predict::join_name(&format!("programs[{i}]"), &n), x))
            })
            .collect()
    }
    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        self.programs
            .iter_mut()
            .enumerate()
            .flat_map(|(i, p)| {
                p.named_predictors_mut().into_iter().map(move |(n, x)| (crate::predict::join_name(&format!("programs[{i}]"), &n), x))
            })
            .collect()
    }
}

#[async_trait::async_trait]
impl<P: Module + Clone> Module for Ensembled<P> {
    async fn forward(&self, inputs: &Example) -> Result<Prediction> {
        let mut outs = Vec::with_capacity(self.programs.len());
        let mut last_err = None;
        for p in &self.programs {
            match p.forward(inputs).await {
                Ok(o) => outs.push(o),
                Err(e) => last_err = Some(e),
            }
        }
        match majority(&outs, self.field.as_deref()) {
            Some(p) => Ok(p),
            None => Err(last_err.unwrap_or_else(|| Error::InvalidInput("an ensemble needs at least one program".into()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn majority_votes_on_normalized_last_field() {
        let p = |a: &str| Prediction::from_json(json!({"reasoning": "r", "answer": a})).unwrap();
        let preds = [p("Paris"), p("London"), p("paris."), p("London")];
        assert_eq!(majority(&preds, None).unwrap().get_str("answer"), Some("Paris"));
        assert_eq!(majority(&preds[1..], None).unwrap().get_str("answer"), Some("London"));
        assert!(majority(&[], None).is_none());
    }
}
