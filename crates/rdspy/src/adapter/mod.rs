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
mod json;

pub use chat::ChatAdapter;
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
/// `AdapterParseError`: carries the reply and the expected vs found fields.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("Adapter {adapter} failed to parse the LM response. \n\nLM Response: {lm_response} \n\nExpected to find output fields in the LM response: [{}] \n\nActual output fields parsed from the LM response: [{}] \n\n{}", expected.join(", "), found.join(", "), message)]
pub struct ParseError {
    /// `ChatAdapter` or `JSONAdapter`.
    pub adapter: String,
    /// The full LM reply.
    pub lm_response: String,
    /// The output fields the signature asks for.
    pub expected: Vec<String>,
    /// The output fields that were read.
    pub found: Vec<String>,
    /// What went wrong beyond the field sets (e.g. a value of the wrong type).
    pub message: String,
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
