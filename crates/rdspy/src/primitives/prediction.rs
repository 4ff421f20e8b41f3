//! `Prediction`: what a module returns — its output fields, any extra completions, and usage.

use crate::lm::Usage;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The result of running a module, as DSPy's `dspy.Prediction`.
///
/// It holds the output fields of the first completion; when the LM returned several
/// completions (`n > 1`), all of them are in [`Prediction::completions`].
///
/// ```
/// use rdspy::Prediction;
/// use serde_json::json;
/// let p = Prediction::from_json(json!({"answer": "4"})).unwrap();
/// assert_eq!(p.get_str("answer"), Some("4"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prediction {
    data: Arc<Map<String, Value>>,
    completions: Option<Arc<[Map<String, Value>]>>,
    /// Token usage of the LM calls that produced this prediction (summed).
    pub usage: Usage,
}

impl Prediction {
    /// A prediction from output fields.
    pub fn from_map(map: Map<String, Value>) -> Prediction {
        Prediction { data: Arc::new(map), completions: None, usage: Usage::default() }
    }

    /// A prediction from a JSON object.
    pub fn from_json(value: Value) -> Result<Prediction, crate::Error> {
        match value {
            Value::Object(map) => Ok(Prediction::from_map(map)),
            other => Err(crate::Error::InvalidInput(format!("a prediction must be a JSON object, got {other}"))),
        }
    }

    /// A prediction from several completions; the first one gives the fields (DSPy's
    /// `Prediction.from_completions`).
    pub fn from_completions(completions: Vec<Map<String, Value>>) -> Prediction {
        let first = completions.first().cloned().unwrap_or_default();
        Prediction { data: Arc::new(first), completions: Some(completions.into()), usage: Usage::default() }
    }

    /// Every completion (one element unless the LM was asked for `n > 1`).
    pub fn completions(&self) -> Vec<Map<String, Value>> {
        match &self.completions {
            Some(c) => c.to_vec(),
            None => vec![(*self.data).clone()],
        }
    }

    /// A field value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.data.get(key)
    }

    /// A string field value.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(Value::as_str)
    }

    /// Set a field.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        Arc::make_mut(&mut self.data).insert(key.into(), value.into());
    }

    /// The fields as a map.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.data
    }

    /// The fields as a JSON object.
    pub fn to_json(&self) -> Value {
        Value::Object((*self.data).clone())
    }

    /// Deserialize the fields into a typed output struct (e.g. one made by `#[derive(Signature)]`).
    pub fn parse_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, crate::Error> {
        serde_json::from_value(self.to_json())
            .map_err(|e| crate::Error::InvalidInput(format!("prediction does not match the output type: {e}")))
    }

    /// The prediction's fields as an [`crate::Example`] (used to build demos).
    pub fn to_example(&self) -> crate::Example {
        crate::Example::from_map((*self.data).clone())
    }
}

impl serde::Serialize for Prediction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.data.serialize(s)
    }
}
