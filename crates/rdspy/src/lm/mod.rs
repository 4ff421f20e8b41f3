//! Language models: one small async trait, [`LM`], and layers that wrap it.
//!
//! The design follows tower: the OpenAI-compatible client only speaks HTTP; retry, cache,
//! usage accounting and history are separate layers that wrap any `LM` (the embedded model
//! included), instead of `if` branches inside the client.

/// Forward the informational `LM` methods (state, locality, usage, history) of a layer to its
/// `inner` LM, so each layer only writes what it changes.
macro_rules! delegate_lm_info {
    ($($skip:ident),*) => {
        fn dump_state(&self) -> Option<serde_json::Value> {
            self.inner.dump_state()
        }
        fn is_local(&self) -> bool {
            self.inner.is_local()
        }
        delegate_lm_info!(@usage $($skip)*);
        delegate_lm_info!(@history $($skip)*);
    };
    (@usage usage $($rest:ident)*) => {};
    (@usage $first:ident $($rest:ident)*) => { delegate_lm_info!(@usage $($rest)*); };
    (@usage) => {
        fn usage(&self) -> Option<$crate::lm::Usage> {
            self.inner.usage()
        }
    };
    (@history history $($rest:ident)*) => {};
    (@history $first:ident $($rest:ident)*) => { delegate_lm_info!(@history $($rest)*); };
    (@history) => {
        fn history(&self) -> Option<std::sync::Arc<$crate::lm::HistoryLog>> {
            self.inner.history()
        }
    };
}

mod builder;
mod cache;
mod history;
mod openai;
mod retry;
mod usage;

pub use builder::{register_provider, LmBuilder, ProviderFactory};
pub use cache::{cache_key, default_cache_dir, Cache, CacheStore};
pub use history::{format_history, global_history, inspect_history, History, HistoryEntry, HistoryLog};
pub use openai::{is_reasoning_model, OpenAIClient, PROVIDERS};
pub use retry::Retry;
pub use usage::{price_per_million, set_price, UsageTracker};

use crate::adapter::Message;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;

/// One request to a chat model.
///
/// ```
/// use rdspy::lm::LmRequest;
/// use rdspy::adapter::Message;
/// let req = LmRequest::new(vec![Message::user("hi")]).temperature(0.0).max_tokens(64);
/// assert_eq!(req.max_tokens, Some(64));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LmRequest {
    /// The chat messages (shared: layers such as retry and history clone requests, and a
    /// prompt is several kilobytes).
    pub messages: Arc<Vec<Message>>,
    /// Sampling temperature (`None`: the LM's default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Maximum completion tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Number of completions (`None` = 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Stop strings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// Sampling seed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// OpenAI `response_format` (JSONAdapter sets it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
    /// DSPy's `rollout_id`: part of the cache key, never sent to the provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout_id: Option<u64>,
    /// Any other provider parameters, sent as they are.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

impl LmRequest {
    /// A request with default parameters.
    pub fn new(messages: Vec<Message>) -> LmRequest {
        LmRequest { messages: Arc::new(messages), ..Default::default() }
    }
    /// Set the temperature.
    pub fn temperature(mut self, t: f64) -> LmRequest {
        self.temperature = Some(t);
        self
    }
    /// Set max tokens.
    pub fn max_tokens(mut self, n: u32) -> LmRequest {
        self.max_tokens = Some(n);
        self
    }
    /// Set the number of completions.
    pub fn n(mut self, n: u32) -> LmRequest {
        self.n = Some(n);
        self
    }
}

/// Token counts of one call (or a sum of calls).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    /// Cost in US dollars (0 for local models and cache hits).
    #[serde(default)]
    pub cost: f64,
    /// Number of LM calls summed here (cache hits included).
    #[serde(default)]
    pub calls: u64,
    /// How many of `calls` the LM cache answered (no tokens, no cost).
    #[serde(default)]
    pub cached_calls: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, o: Usage) {
        self.prompt_tokens += o.prompt_tokens;
        self.completion_tokens += o.completion_tokens;
        self.total_tokens += o.total_tokens;
        self.cost += o.cost;
        self.calls += o.calls;
        self.cached_calls += o.cached_calls;
    }
}

/// One completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// The generated text.
    pub text: String,
    /// `stop`, `length`, `tool_calls`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// Native function calls (OpenAI `tool_calls`), when the request offered `tools`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
}

/// One native function call of a reply: DSPy's `ToolCalls.ToolCall` (`name`, `args`) plus the
/// provider's call id.
///
/// ```
/// let call = rdspy::lm::ToolCall::from_openai(&serde_json::json!(
///     {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 1}"}})).unwrap();
/// assert_eq!((call.name.as_str(), call.args["a"].as_i64()), ("add", Some(1)));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id of the call, if it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The function's name.
    pub name: String,
    /// The arguments, an object (the provider sends them as a JSON string; it is read leniently,
    /// as DSPy's `json_repair` does).
    pub args: Value,
}

impl ToolCall {
    /// Read one entry of an OpenAI `message.tool_calls` list.
    pub fn from_openai(v: &Value) -> Option<ToolCall> {
        let f = v.get("function")?;
        let name = f.get("name")?.as_str()?.to_string();
        let args = match f.get("arguments") {
            Some(Value::String(s)) if s.trim().is_empty() => Value::Object(Map::new()),
            Some(Value::String(s)) => crate::adapter::lenient::repair(s).unwrap_or_else(|| Value::String(s.clone())),
            Some(other) => other.clone(),
            None => Value::Object(Map::new()),
        };
        Some(ToolCall { id: v.get("id").and_then(Value::as_str).map(str::to_string), name, args })
    }

    /// The OpenAI `tool_calls` entry (arguments as a JSON string).
    pub fn to_openai(&self, index: usize) -> Value {
        serde_json::json!({
            "id": self.id.clone().unwrap_or_else(|| format!("call_{index}")),
            "type": "function",
            "function": {"name": self.name, "arguments": self.args.to_string()},
        })
    }
}

/// The reply to an [`LmRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LmResponse {
    /// One choice per requested completion.
    pub choices: Vec<Choice>,
    /// Token usage (zero on a cache hit, as in DSPy).
    pub usage: Usage,
    /// The model that answered.
    pub model: String,
    /// True when the response came from the cache.
    #[serde(default)]
    pub cache_hit: bool,
}

/// Why an LM call failed. The variants mirror DSPy's `LMError` family, so retry logic can
/// tell transient failures from permanent ones.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LmError {
    /// HTTP 429. `retry_after` comes from the `Retry-After` header.
    #[error("rate limited by {model}: {message}")]
    RateLimit { model: String, message: String, retry_after: Option<std::time::Duration> },
    /// HTTP 5xx.
    #[error("server error {status} from {model}: {message}")]
    Server { model: String, status: u16, message: String },
    /// Connection refused/reset, DNS, malformed body.
    #[error("transport error talking to {model}: {message}")]
    Transport { model: String, message: String },
    /// The request took longer than the timeout.
    #[error("timeout after {secs:.1}s waiting for {model}")]
    Timeout { model: String, secs: f64 },
    /// 401/403: check the API key.
    #[error("authentication failed for {model}: {message} (check the API key: OPENAI_API_KEY or the LM's api_key)")]
    Auth { model: String, message: String },
    /// Other 4xx: the request itself is wrong; not retried.
    #[error("invalid request to {model} (HTTP {status}): {message}")]
    InvalidRequest { model: String, status: u16, message: String },
    /// The prompt does not fit the model's context window.
    #[error("context window exceeded for {model}: {message}")]
    ContextWindowExceeded { model: String, message: String },
    /// Bad configuration (unknown provider, missing model file, ...).
    #[error("{0}")]
    Config(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

impl LmError {
    /// True for failures worth retrying (429, 5xx, transport, timeout).
    pub fn is_retryable(&self) -> bool {
        matches!(self, LmError::RateLimit { .. } | LmError::Server { .. } | LmError::Transport { .. } | LmError::Timeout { .. })
    }
}

/// A chat language model.
///
/// Implemented by the OpenAI-compatible client, the embedded llama.cpp model, test mocks, and
/// by every layer that wraps one of those.
#[async_trait::async_trait]
pub trait LM: Send + Sync + std::fmt::Debug {
    /// The model string, e.g. `openai/gpt-4o-mini` or `local/smollm2-135m`.
    fn model(&self) -> &str;

    /// Run one request.
    async fn call(&self, request: LmRequest) -> Result<LmResponse, LmError>;

    /// DSPy's saved `lm` state (never includes API keys). `None` for LMs that cannot be saved.
    fn dump_state(&self) -> Option<Value> {
        None
    }

    /// True for models whose calls cost nothing (local models).
    fn is_local(&self) -> bool {
        false
    }

    /// Usage summed over every call so far, when a usage layer is present.
    fn usage(&self) -> Option<Usage> {
        None
    }

    /// The calls recorded so far, when a history layer is present.
    fn history(&self) -> Option<Arc<HistoryLog>> {
        None
    }
}

/// A shared LM handle.
pub type SharedLM = Arc<dyn LM>;

/// Rebuild an LM from DSPy's saved `lm` state (`{"model": "openai/gpt-4o-mini", ...}`).
/// Returns `None` (with a warning) when this build cannot make that model.
pub fn from_state(state: &Value) -> Option<SharedLM> {
    match LmBuilder::from_state(state).and_then(|b| b.build()) {
        Ok(lm) => Some(lm),
        Err(e) => {
            tracing::warn!("cannot rebuild the saved LM {}: {e}", state.get("model").unwrap_or(&serde_json::Value::Null));
            None
        }
    }
}
