//! DSPy's `JSONAdapter`: a JSON object of the outputs.

use super::{Adapter, Message, ParseError};
use crate::{Example, Signature};
use serde_json::{Map, Value};

/// DSPy's JSON adapter. Placeholder until the adapter work lands.
#[derive(Debug, Clone, Default)]
pub struct JSONAdapter {}

impl Adapter for JSONAdapter {
    fn name(&self) -> &'static str {
        "JSONAdapter"
    }
    fn format(&self, _signature: &Signature, _demos: &[Example], _inputs: &Map<String, Value>) -> Vec<Message> {
        Vec::new()
    }
    fn parse(&self, signature: &Signature, completion: &str) -> Result<Map<String, Value>, ParseError> {
        Err(ParseError {
            adapter: self.name().into(),
            lm_response: completion.into(),
            expected: signature.output_names().iter().map(|s| s.to_string()).collect(),
            found: vec![],
            message: "not implemented".into(),
        })
    }
}
