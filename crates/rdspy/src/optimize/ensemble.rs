//! `Ensemble`: run several programs and combine their answers.

use crate::predict::{Module, Predict, Predictors};
use crate::{Error, Example, Prediction, Result};

/// The majority reducer now lives in [`crate::predict`] (DSPy's `dspy.majority`); this path
/// stays for existing code.
pub use crate::predict::majority;

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
