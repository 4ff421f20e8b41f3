//! Adapters turn (signature, demos, inputs) into chat messages and an LM reply back into
//! output fields.
//!
//! `ChatAdapter` (`[[ ## field ## ]]` markers) and `JSONAdapter` send messages that are
//! byte-identical to Python DSPy 3.4's, so a program optimized in Python behaves the same here.
//! The conformance vectors in `../shared/conformance` pin this down; `tests/conformance.rs`
//! checks every case.
//!
//! [`preview`] returns the exact messages without calling an LM — DSPy users ask for this.

mod chat;
mod coerce;
mod json;
pub mod lenient;
pub mod pyfmt;

pub use chat::ChatAdapter;
pub use coerce::{parse_value, validate};
pub use json::JSONAdapter;

use crate::{Example, Signature};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One chat message as sent to an OpenAI-compatible API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

impl Message {
    /// A message with a role.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Message {
        Message { role: role.into(), content: content.into() }
    }
    /// A system message.
    pub fn system(content: impl Into<String>) -> Message {
        Message::new("system", content)
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Message {
        Message::new("user", content)
    }
    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Message {
        Message::new("assistant", content)
    }
}

/// An LM reply that could not be read as the signature's outputs, as DSPy's
/// `AdapterParseError`: carries the reply and the expected vs found fields, and prints the
/// same text DSPy does.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// `ChatAdapter` or `JSONAdapter`.
    pub adapter: String,
    /// The full LM reply.
    pub lm_response: String,
    /// The output fields the signature asks for.
    pub expected: Vec<String>,
    /// The output fields that were read (`None` when parsing stopped before counting them).
    pub found: Option<Vec<String>>,
    /// What went wrong beyond the field sets (e.g. a value of the wrong type).
    pub message: Option<String>,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(m) = &self.message {
            write!(f, "{m}\n\n")?;
        }
        write!(
            f,
            "Adapter {} failed to parse the LM response. \n\nLM Response: {} \n\nExpected to find output fields in the LM response: [{}] \n\n",
            self.adapter,
            self.lm_response,
            self.expected.join(", ")
        )?;
        if let Some(found) = &self.found {
            write!(f, "Actual output fields parsed from the LM response: [{}] \n\n", found.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

impl ParseError {
    pub(crate) fn new(adapter: &str, signature: &Signature, lm_response: &str) -> ParseError {
        ParseError {
            adapter: adapter.to_string(),
            lm_response: lm_response.to_string(),
            expected: signature.output_fields().map(|f| f.name.clone()).collect(),
            found: None,
            message: None,
        }
    }
}

/// Formats prompts and parses replies for a signature.
///
/// Implementations are stateless and cheap; share them as `Arc<dyn Adapter>`.
pub trait Adapter: Send + Sync + std::fmt::Debug {
    /// `ChatAdapter`, `JSONAdapter`, ...
    fn name(&self) -> &'static str;

    /// The full message list: system, demo turns, then the final user turn with `inputs`.
    fn format(&self, signature: &Signature, demos: &[Example], inputs: &Map<String, Value>) -> Vec<Message>;

    /// Read the output fields from one completion.
    fn parse(&self, signature: &Signature, completion: &str) -> Result<Map<String, Value>, ParseError>;

    /// Extra request parameters this adapter wants sent (JSONAdapter: `response_format`).
    fn response_format(&self, _signature: &Signature) -> Option<Value> {
        None
    }
}

/// The exact messages an adapter would send for (signature, demos, inputs), without an LM.
///
/// ```
/// use rdspy::{adapter::{preview, ChatAdapter}, Signature};
/// use serde_json::json;
/// let sig = Signature::parse("question -> answer").unwrap();
/// let inputs = json!({"question": "2+2?"}).as_object().unwrap().clone();
/// let msgs = preview(&ChatAdapter::default(), &sig, &[], &inputs);
/// assert_eq!(msgs[0].role, "system");
/// assert!(msgs[1].content.starts_with("[[ ## question ## ]]\n2+2?"));
/// ```
pub fn preview(adapter: &dyn Adapter, signature: &Signature, demos: &[Example], inputs: &Map<String, Value>) -> Vec<Message> {
    adapter.format(signature, demos, inputs)
}
