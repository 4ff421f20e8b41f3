//! `MultiChainComparison`: show the LM several attempts and let it write the corrected answer.

use super::{LmConfig, Module, Predict, Predictors};
use crate::adapter::pyfmt::py_str;
use crate::signature::{Field, TypeSpec};
use crate::{Error, Example, Prediction, Result, Signature};
use serde_json::{Map, Value};

/// DSPy's `MultiChainComparison(signature, M=3, temperature=0.7)`: the signature gets `M`
/// inputs `reasoning_attempt_1..M` (prefix `Student Attempt #i:`) and a first output
/// `rationale` (prefix `Accurate Reasoning: Thank you everyone. Let's now holistically`), so
/// the LM compares `M` earlier attempts, each shown as
/// `«I'm trying to {rationale} I'm not sure but my prediction is {answer}»` (first lines only),
/// before answering. The inner predictor is `predict`, as in DSPy, so saved programs match.
///
/// Give the attempts with [`MultiChainComparison::compare`], or through [`Module::forward`]
/// as an input `completions` holding a JSON array of objects (DSPy's
/// `mcc(completions=..., question=...)`).
///
/// ```
/// use rdspy::predict::MultiChainComparison;
/// use rdspy::Signature;
/// let mcc = MultiChainComparison::new(Signature::parse("question -> answer").unwrap(), 2);
/// let sig = mcc.predict.signature();
/// assert_eq!(sig.input_names(), ["question", "reasoning_attempt_1", "reasoning_attempt_2"]);
/// assert_eq!(sig.output_names(), ["rationale", "answer"]);
/// assert_eq!(mcc.predict.config.temperature, Some(0.7));
/// ```
#[derive(Debug, Clone)]
pub struct MultiChainComparison {
    /// The comparing predictor.
    pub predict: Predict,
    /// Number of attempts compared (DSPy's `M`).
    pub m: usize,
    /// The original signature's last output, whose value each attempt reports.
    last_key: String,
}

impl MultiChainComparison {
    /// Compare `m` attempts at temperature 0.7 (DSPy's defaults are `M=3`, `temperature=0.7`).
    pub fn new(signature: Signature, m: usize) -> MultiChainComparison {
        MultiChainComparison::with_config(signature, m, LmConfig { temperature: Some(0.7), ..Default::default() })
    }

    /// With other LM parameters (DSPy's `temperature=` and `**config`).
    pub fn with_config(signature: Signature, m: usize, config: LmConfig) -> MultiChainComparison {
        let last_key = signature.output_names().last().map(|s| s.to_string()).unwrap_or_default();
        let mut sig = signature;
        for i in 1..=m {
            let attempt = Field::input(format!("reasoning_attempt_{i}"), TypeSpec::Str)
                .with_prefix(format!("Student Attempt #{i}:"))
                .with_desc("${reasoning attempt}");
            sig = sig.append(attempt).unwrap_or_else(|e| panic!("MultiChainComparison: cannot add reasoning_attempt_{i}: {e}"));
        }
        let rationale = Field::output("rationale", TypeSpec::Str)
            .with_prefix("Accurate Reasoning: Thank you everyone. Let's now holistically")
            .with_desc("${corrected reasoning}");
        let sig = sig.prepend(rationale).unwrap_or_else(|e| panic!("MultiChainComparison: cannot add `rationale`: {e}"));
        MultiChainComparison { predict: Predict::new(sig).with_config(config), m, last_key }
    }

    /// For a `#[derive(Signature)]` struct, with `m` attempts.
    pub fn typed<S: crate::TypedSignature>(m: usize) -> MultiChainComparison {
        MultiChainComparison::new(S::signature(), m)
    }

    /// The attempt text DSPy builds from one completion.
    fn attempt(&self, c: &Map<String, Value>) -> Result<String> {
        let first_line = |s: &str| s.trim().split('\n').next().unwrap_or("").trim().to_string();
        let rationale = c
            .get("rationale")
            .or_else(|| c.get("reasoning"))
            .map(py_str)
            .ok_or_else(|| Error::InvalidInput("MultiChainComparison: a completion has neither `rationale` nor `reasoning`".into()))?;
        let answer = c.get(&self.last_key).map(py_str).ok_or_else(|| {
            Error::InvalidInput(format!("MultiChainComparison: a completion has no `{}` (the signature's last output)", self.last_key))
        })?;
        Ok(format!("«I'm trying to {} I'm not sure but my prediction is {}»", first_line(&rationale), first_line(&answer)))
    }

    /// Compare `completions` (exactly `m` of them, e.g. a ChainOfThought's `n = m` samples)
    /// and answer `inputs`.
    pub async fn compare(&self, completions: &[Map<String, Value>], inputs: &Example) -> Result<Prediction> {
        if completions.len() != self.m {
            return Err(Error::InvalidInput(format!(
                "The number of attempts ({}) doesn't match the expected number M ({}). Please set the correct value for M when initializing MultiChainComparison.",
                completions.len(),
                self.m
            )));
        }
        let mut args = Map::new();
        for (i, c) in completions.iter().enumerate() {
            args.insert(format!("reasoning_attempt_{}", i + 1), Value::from(self.attempt(c)?));
        }
        for (k, v) in inputs.iter() {
            args.insert(k.clone(), v.clone());
        }
        self.predict.forward_map(&args).await
    }
}

impl Predictors for MultiChainComparison {
    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        vec![("predict".to_string(), &self.predict)]
    }
    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        vec![("predict".to_string(), &mut self.predict)]
    }
}

#[async_trait::async_trait]
impl Module for MultiChainComparison {
    /// Reads the attempts from the input `completions` (a JSON array of objects).
    async fn forward(&self, inputs: &Example) -> Result<Prediction> {
        let Some(Value::Array(items)) = inputs.get("completions") else {
            return Err(Error::InvalidInput(
                "MultiChainComparison needs an input `completions`: a JSON array of the attempts' output objects".into(),
            ));
        };
        let completions: Vec<Map<String, Value>> = items.iter().filter_map(|v| v.as_object().cloned()).collect();
        self.compare(&completions, &inputs.without(["completions"])).await
    }
}
