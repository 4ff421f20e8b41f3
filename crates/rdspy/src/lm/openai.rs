//! The OpenAI-compatible chat client: one HTTP request per call, nothing else.
//!
//! Retries, caching, usage and history are layers around it (see [`super::LmBuilder`]).
//! Model strings are written as DSPy users know them: `openai/gpt-4o-mini`,
//! `openai/<name>` with an `api_base`, `ollama_chat/<name>`, `hosted_vllm/<name>`.

use super::{usage::price_per_million, Choice, LmError, LmRequest, LmResponse, ToolCall, Usage, LM};
use crate::adapter::Message;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::time::Duration;

/// Providers this client speaks to, with their default API base.
pub const PROVIDERS: &[(&str, Option<&str>)] = &[
    ("openai", Some("https://api.openai.com/v1")),
    ("ollama_chat", Some("http://localhost:11434/v1")),
    ("ollama", Some("http://localhost:11434/v1")),
    ("hosted_vllm", None),
    ("vllm", None),
    ("llamacpp", Some("http://localhost:8080/v1")),
    ("lm_studio", Some("http://localhost:1234/v1")),
];

/// DSPy's rule for OpenAI reasoning models (o1, o3, o4, gpt-5 but not gpt-5-chat): they take
/// `max_completion_tokens` and only the default temperature.
pub fn is_reasoning_model(name: &str) -> bool {
    let n = name.rsplit('/').next().unwrap_or(name).to_lowercase();
    let o_series = n.len() >= 2
        && n.starts_with('o')
        && matches!(n.as_bytes()[1], b'1' | b'3' | b'4' | b'5')
        && n[2..].chars().next().is_none_or(|c| c == '-' || c == '_');
    let gpt5 = n.starts_with("gpt-5") && !n.starts_with("gpt-5-chat");
    o_series || gpt5
}

/// The `/chat/completions` request body.
#[derive(Debug, Serialize)]
pub struct Body<'a> {
    model: &'a str,
    messages: &'a [Message],
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<u32>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<&'a Value>,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

#[derive(Deserialize)]
struct WireResponse {
    choices: Vec<WireChoice>,
    usage: Option<WireUsage>,
    model: Option<String>,
}

#[derive(Deserialize)]
struct WireChoice {
    message: Option<WireMessage>,
    text: Option<String>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireMessage {
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<Value>>,
}

#[derive(Deserialize, Default)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    total_tokens: Option<u64>,
}

/// An OpenAI-compatible `/chat/completions` client.
///
/// The API key is held here only: it is never in `Debug` output, `dump_state`, cache keys or logs.
#[derive(Clone)]
pub struct OpenAIClient {
    model: String,
    provider: String,
    api_model: String,
    api_base: String,
    endpoint: reqwest::Url,
    api_key: Option<String>,
    http: reqwest::Client,
    timeout: Duration,
    local: bool,
}

impl std::fmt::Debug for OpenAIClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAIClient")
            .field("model", &self.model)
            .field("api_base", &self.api_base)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl OpenAIClient {
    /// A client for `provider/name`. `api_base` overrides the provider's default; `api_key`
    /// overrides `OPENAI_API_KEY`.
    pub fn new(model: &str, api_base: Option<&str>, api_key: Option<&str>, timeout: Duration) -> Result<OpenAIClient, LmError> {
        let (provider, name) = model.split_once('/').ok_or_else(|| {
            LmError::Config(format!("model {model:?} has no provider prefix: write it as DSPy does, e.g. `openai/gpt-4o-mini` or `openai/<name>` with an api_base"))
        })?;
        let default_base = PROVIDERS.iter().find(|(p, _)| *p == provider).map(|(_, b)| *b).ok_or_else(|| {
            let known: Vec<&str> = PROVIDERS.iter().map(|(p, _)| *p).collect();
            LmError::Config(format!(
                "unknown provider `{provider}` in model {model:?}; known providers: {}, and `local/` for the embedded model (rdspy CLI)",
                known.join(", ")
            ))
        })?;
        let api_base = match (api_base, default_base) {
            (Some(b), _) => b.trim_end_matches('/').to_string(),
            (None, Some(b)) => std::env::var("OPENAI_API_BASE").ok().filter(|_| provider == "openai").unwrap_or_else(|| b.to_string()),
            (None, None) => {
                return Err(LmError::Config(format!(
                    "`{provider}/` models need an api_base (the server's URL, e.g. http://localhost:8000/v1)"
                )))
            }
        };
        let api_key = api_key.map(str::to_string).or_else(|| std::env::var("OPENAI_API_KEY").ok()).filter(|k| !k.is_empty());
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1024)
            .tcp_nodelay(true)
            .http1_only()
            .user_agent(concat!("rdspy/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LmError::Config(format!("cannot build the HTTP client: {e}")))?;
        let endpoint = reqwest::Url::parse(&format!("{api_base}/chat/completions"))
            .map_err(|e| LmError::Config(format!("api_base {api_base:?} is not a valid URL: {e}")))?;
        let local = api_base.contains("://localhost") || api_base.contains("://127.0.0.1") || api_base.contains("://[::1]");
        Ok(OpenAIClient {
            model: model.to_string(),
            provider: provider.to_string(),
            api_model: name.to_string(),
            api_base,
            endpoint,
            api_key,
            http,
            timeout,
            local,
        })
    }

    /// The request body sent to the provider, borrowing from the request (no copy of the
    /// prompt).
    pub fn body<'a>(&'a self, req: &'a LmRequest) -> Result<Body<'a>, LmError> {
        let reasoning = self.provider == "openai" && is_reasoning_model(&self.api_model);
        if let Some(t) = req.temperature.filter(|t| reasoning && *t != 1.0) {
            return Err(LmError::Config(format!(
                "{} is a reasoning model: it only accepts temperature=1.0 or none (got {t}), as in DSPy",
                self.model
            )));
        }
        Ok(Body {
            model: &self.api_model,
            messages: &req.messages,
            temperature: req.temperature,
            max_tokens: req.max_tokens.filter(|_| !reasoning),
            max_completion_tokens: req.max_tokens.filter(|_| reasoning),
            n: req.n.filter(|n| *n != 1),
            stop: &req.stop,
            seed: req.seed,
            response_format: req.response_format.as_ref(),
            extra: &req.extra,
        })
    }

    fn parse_response(&self, body: &[u8]) -> Result<LmResponse, LmError> {
        let r: WireResponse = serde_json::from_slice(body).map_err(|e| LmError::Transport {
            model: self.model.clone(),
            message: format!(
                "the server's reply is not a chat completion ({e}): {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ),
        })?;
        let choices: Vec<Choice> = r
            .choices
            .into_iter()
            .map(|c| {
                let (content, calls) = match c.message {
                    Some(m) => (m.content, m.tool_calls.unwrap_or_default()),
                    None => (None, Vec::new()),
                };
                Choice {
                    text: content.or(c.text).unwrap_or_default(),
                    finish_reason: c.finish_reason,
                    tool_calls: calls.iter().filter_map(ToolCall::from_openai).collect(),
                }
            })
            .collect();
        let u = r.usage.unwrap_or_default();
        let cost = if self.local {
            0.0
        } else {
            price_per_million(&self.model).map(|(i, o)| (u.prompt_tokens as f64 * i + u.completion_tokens as f64 * o) / 1e6).unwrap_or(0.0)
        };
        let total = u.total_tokens.unwrap_or(u.prompt_tokens + u.completion_tokens);
        let usage = Usage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            total_tokens: total,
            cost,
            calls: 1,
            cached_calls: 0,
        };
        Ok(LmResponse { choices, usage, model: r.model.unwrap_or_else(|| self.api_model.clone()), cache_hit: false })
    }

    fn error_for(&self, status: u16, headers: &reqwest::header::HeaderMap, body: &[u8]) -> LmError {
        let text = String::from_utf8_lossy(body);
        let message = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_string).or_else(|| v["error"].as_str().map(str::to_string)))
            .unwrap_or_else(|| text.chars().take(500).collect());
        let model = self.model.clone();
        match status {
            429 => {
                let retry_after = headers
                    .get("retry-after")
                    .and_then(|h| h.to_str().ok())
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .map(Duration::from_secs_f64);
                LmError::RateLimit { model, message, retry_after }
            }
            401 | 403 => LmError::Auth { model, message },
            s if s >= 500 => LmError::Server { model, status: s, message },
            s if message.contains("context length")
                || message.contains("context_length_exceeded")
                || message.contains("maximum context") =>
            {
                let _ = s;
                LmError::ContextWindowExceeded { model, message }
            }
            s => LmError::InvalidRequest { model, status: s, message },
        }
    }
}

#[async_trait::async_trait]
impl LM for OpenAIClient {
    fn model(&self) -> &str {
        &self.model
    }

    async fn call(&self, request: LmRequest) -> Result<LmResponse, LmError> {
        // sized once: the prompt dominates the body, plus escapes and the envelope
        let size: usize = request.messages.iter().map(|m| m.content.len() + 32).sum::<usize>() * 9 / 8 + 256;
        let mut body = Vec::with_capacity(size);
        serde_json::to_writer(&mut body, &self.body(&request)?).map_err(|e| LmError::Other(format!("cannot encode the request: {e}")))?;
        let mut rb = self
            .http
            .post(self.endpoint.clone())
            .timeout(self.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(k) = &self.api_key {
            rb = rb.bearer_auth(k);
        }
        let model = self.model.clone();
        let resp = rb.send().await.map_err(|e| {
            if e.is_timeout() {
                LmError::Timeout { model: model.clone(), secs: self.timeout.as_secs_f64() }
            } else {
                LmError::Transport { model: model.clone(), message: format!("{e} ({})", self.api_base) }
            }
        })?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(|e| {
            if e.is_timeout() {
                LmError::Timeout { model: model.clone(), secs: self.timeout.as_secs_f64() }
            } else {
                LmError::Transport { model: model.clone(), message: format!("reading the reply: {e}") }
            }
        })?;
        if status >= 400 {
            return Err(self.error_for(status, &headers, &bytes));
        }
        self.parse_response(&bytes)
    }

    fn is_local(&self) -> bool {
        self.local
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasoning_models_follow_dspy() {
        for m in ["o1", "o1-mini", "o3", "o3-mini", "o4-mini", "gpt-5", "gpt-5-mini", "openai/gpt-5-nano"] {
            assert!(is_reasoning_model(m), "{m}");
        }
        for m in ["gpt-4o", "gpt-4o-mini", "gpt-5-chat-latest", "omni", "o2x"] {
            assert!(!is_reasoning_model(m), "{m}");
        }
    }

    #[test]
    fn unknown_provider_lists_known_ones() {
        let e = OpenAIClient::new("anthropc/claude", None, None, Duration::from_secs(1)).unwrap_err().to_string();
        assert!(e.contains("unknown provider `anthropc`") && e.contains("openai, ollama_chat"), "{e}");
        let e = OpenAIClient::new("gpt-4o", None, None, Duration::from_secs(1)).unwrap_err().to_string();
        assert!(e.contains("no provider prefix"), "{e}");
        let e = OpenAIClient::new("hosted_vllm/x", None, None, Duration::from_secs(1)).unwrap_err().to_string();
        assert!(e.contains("need an api_base"), "{e}");
    }

    #[test]
    fn reasoning_models_get_max_completion_tokens() {
        let c = OpenAIClient::new("openai/o3-mini", Some("http://127.0.0.1:1/v1"), Some("k"), Duration::from_secs(1)).unwrap();
        let req = LmRequest::new(vec![]).max_tokens(20000);
        let body = serde_json::to_value(c.body(&req).unwrap()).unwrap();
        assert_eq!(body["max_completion_tokens"], 20000);
        assert!(body.get("max_tokens").is_none());
        let req = LmRequest::new(vec![]).temperature(0.0);
        assert!(c.body(&req).unwrap_err().to_string().contains("reasoning model"));
        assert!(!format!("{c:?}").contains("\"k\""));
    }
}
