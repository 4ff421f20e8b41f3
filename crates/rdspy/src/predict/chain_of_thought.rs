//! `ChainOfThought`: think step by step before answering.

use super::{Module, Predict, Predictors};
use crate::signature::{Field, TypeSpec};
use crate::{Example, Prediction, Result, Signature};

/// DSPy's `ChainOfThought`: a [`Predict`] whose signature gets an extra first output,
/// `reasoning`, so the LM writes its reasoning before the answer. Its inner predictor is named
/// `predict`, as in DSPy, so saved programs match.
///
/// ```
/// use rdspy::predict::ChainOfThought;
/// use rdspy::Signature;
/// let cot = ChainOfThought::new(Signature::parse("question -> answer").unwrap());
/// assert_eq!(cot.predict.signature().output_names(), ["reasoning", "answer"]);
/// ```
#[derive(Debug, Clone)]
pub struct ChainOfThought {
    /// The inner predictor.
    pub predict: Predict,
}

impl ChainOfThought {
    /// Wrap `signature` (if it already has a `reasoning` output, it is used as is).
    pub fn new(signature: Signature) -> ChainOfThought {
        let sig = if signature.field("reasoning").is_some() {
            signature
        } else {
            signature.prepend(Field::output("reasoning", TypeSpec::Str)).expect("`reasoning` is a valid, unused field name")
        };
        ChainOfThought { predict: Predict::new(sig) }
    }

    /// With its own LM.
    pub fn with_lm(mut self, lm: crate::lm::SharedLM) -> ChainOfThought {
        self.predict.lm = Some(lm);
        self
    }

    /// For a `#[derive(Signature)]` struct.
    pub fn typed<S: crate::TypedSignature>() -> ChainOfThought {
        ChainOfThought::new(S::signature())
    }
}

impl Predictors for ChainOfThought {
    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        vec![("predict".to_string(), &self.predict)]
    }
    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        vec![("predict".to_string(), &mut self.predict)]
    }
}

#[async_trait::async_trait]
impl Module for ChainOfThought {
    async fn forward(&self, inputs: &Example) -> Result<Prediction> {
        self.predict.forward(inputs).await
    }
}
