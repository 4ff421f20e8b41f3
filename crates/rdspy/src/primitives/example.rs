//! `Example`: one data point, a map of field name → JSON value, with the names of its inputs.

use serde_json::{Map, Value};
use std::sync::Arc;

/// One training or evaluation data point, as DSPy's `dspy.Example`.
///
/// Keys map to JSON values and keep their insertion order. `with_inputs` says which keys are
/// inputs; the rest are labels. Cloning is cheap: the data is shared until one copy is changed.
///
/// ```
/// use rdspy::Example;
/// use serde_json::json;
/// let ex = Example::from_json(json!({"question": "2+2?", "answer": "4"})).unwrap()
///     .with_inputs(["question"]);
/// assert_eq!(ex.inputs().get_str("question"), Some("2+2?"));
/// assert_eq!(ex.labels().get_str("answer"), Some("4"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Example {
    data: Arc<Map<String, Value>>,
    input_keys: Option<Arc<[String]>>,
}

impl Example {
    /// An empty example.
    pub fn new() -> Example {
        Example::default()
    }

    /// An example from a JSON object (anything else is an error naming what it got).
    pub fn from_json(value: Value) -> Result<Example, crate::Error> {
        match value {
            Value::Object(map) => Ok(Example::from_map(map)),
            other => Err(crate::Error::InvalidInput(format!("an example must be a JSON object, got {other}"))),
        }
    }

    /// An example from a JSON map.
    pub fn from_map(map: Map<String, Value>) -> Example {
        Example { data: Arc::new(map), input_keys: None }
    }

    /// An example from `(key, value)` pairs.
    pub fn from_pairs<K: Into<String>, V: Into<Value>>(pairs: impl IntoIterator<Item = (K, V)>) -> Example {
        Example::from_map(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }

    /// The same example with these keys marked as inputs.
    pub fn with_inputs<S: AsRef<str>>(mut self, keys: impl IntoIterator<Item = S>) -> Example {
        self.input_keys = Some(keys.into_iter().map(|k| k.as_ref().to_string()).collect());
        self
    }

    /// The keys marked as inputs, if `with_inputs` was called.
    pub fn input_keys(&self) -> Option<&[String]> {
        self.input_keys.as_deref()
    }

    /// Only the input keys (all keys when `with_inputs` was never called, which DSPy refuses;
    /// we are lenient because a program's signature says which keys it reads).
    pub fn inputs(&self) -> Example {
        match &self.input_keys {
            None => self.clone(),
            Some(keys) => {
                let map = self.data.iter().filter(|(k, _)| keys.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
                Example { data: Arc::new(map), input_keys: self.input_keys.clone() }
            }
        }
    }

    /// Only the non-input keys.
    pub fn labels(&self) -> Example {
        let keys = self.input_keys.as_deref().unwrap_or(&[]);
        let map = self.data.iter().filter(|(k, _)| !keys.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
        Example { data: Arc::new(map), input_keys: None }
    }

    /// A value by key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.data.get(key)
    }

    /// A string value by key (`None` if missing or not a string).
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(Value::as_str)
    }

    /// Set a value (copies the data first if it is shared).
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        Arc::make_mut(&mut self.data).insert(key.into(), value.into());
    }

    /// The same example with one more key.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Example {
        self.set(key, value);
        self
    }

    /// The same example without these keys (DSPy's `without`).
    pub fn without<S: AsRef<str>>(&self, keys: impl IntoIterator<Item = S>) -> Example {
        let drop: Vec<String> = keys.into_iter().map(|k| k.as_ref().to_string()).collect();
        let map = self.data.iter().filter(|(k, _)| !drop.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
        Example { data: Arc::new(map), input_keys: self.input_keys.clone() }
    }

    /// True when the key is present (even with a null value).
    pub fn contains_key(&self, key: &str) -> bool {
        self.data.contains_key(key)
    }

    /// Keys in order, hiding DSPy's internal `dspy_*` keys as DSPy does.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.data.keys().map(String::as_str).filter(|k| !k.starts_with("dspy_"))
    }

    /// All entries, including `dspy_*` keys.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.data.iter()
    }

    /// The underlying map.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.data
    }

    /// The example as a JSON object (DSPy's `toDict`).
    pub fn to_json(&self) -> Value {
        Value::Object((*self.data).clone())
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

impl From<Map<String, Value>> for Example {
    fn from(map: Map<String, Value>) -> Example {
        Example::from_map(map)
    }
}

impl serde::Serialize for Example {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.data.serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Example {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Example, D::Error> {
        Ok(Example::from_map(Map::deserialize(d)?))
    }
}
