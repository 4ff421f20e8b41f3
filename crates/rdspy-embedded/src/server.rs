//! An OpenAI-compatible HTTP server over any [`LM`] (the embedded model in `rdspy serve-model`).
//!
//! This is how Python DSPy, the OpenAI client or curl use the same in-process model:
//! `POST /v1/chat/completions`, `POST /v1/embeddings` (when an embedder is attached) and
//! `GET /v1/models`. Requests queue to the model's single worker, so concurrent clients are
//! served one at a time, in order.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rdspy::adapter::Message;
use rdspy::embed::Embedder;
use rdspy::lm::{LmError, LmRequest, SharedLM};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// What a server serves.
#[derive(Clone)]
pub struct ServerConfig {
    /// The chat model.
    pub lm: SharedLM,
    /// The name reported by `/v1/models` and in responses (clients may send any model name).
    pub model_name: String,
    /// An optional sentence embedder for `/v1/embeddings`.
    pub embedder: Option<Arc<dyn Embedder>>,
    /// When set, requests must carry `Authorization: Bearer <key>`.
    pub api_key: Option<String>,
}

/// The axum router for `config`.
pub fn router(config: ServerConfig) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/models", get(models))
        .with_state(Arc::new(config))
}

/// Serve on an already bound listener until the process ends (bind `127.0.0.1:0` in tests).
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// let lm = std::sync::Arc::new(rdspy_embedded::EmbeddedLM::load("local/smollm2-135m").unwrap());
/// let cfg = rdspy_embedded::server::ServerConfig { lm, model_name: "smollm2".into(), embedder: None, api_key: None };
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// rdspy_embedded::server::serve(listener, cfg).await
/// # }
/// ```
pub async fn serve(listener: tokio::net::TcpListener, config: ServerConfig) -> std::io::Result<()> {
    axum::serve(listener, router(config)).await
}

/// An error in OpenAI's shape: `{"error": {"message", "type", "code"}}`.
fn error(status: StatusCode, kind: &str, code: Option<&str>, message: impl Into<String>) -> Response {
    let body = json!({"error": {"message": message.into(), "type": kind, "param": null, "code": code}});
    (status, Json(body)).into_response()
}

/// The 401 response when an API key is required and missing or wrong.
fn check_key(state: &ServerConfig, headers: &HeaderMap) -> Option<Response> {
    let Some(key) = &state.api_key else { return None };
    let given = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if given == Some(key.as_str()) {
        None
    } else {
        Some(error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            Some("invalid_api_key"),
            "missing or wrong API key (send Authorization: Bearer <key>)",
        ))
    }
}

async fn models(State(state): State<Arc<ServerConfig>>, headers: HeaderMap) -> Response {
    if let Some(r) = check_key(&state, &headers) {
        return r;
    }
    let mut data = vec![json!({"id": state.model_name, "object": "model", "created": 0, "owned_by": "rdspy"})];
    if let Some(e) = &state.embedder {
        data.push(json!({"id": e.model(), "object": "model", "created": 0, "owned_by": "rdspy"}));
    }
    Json(json!({"object": "list", "data": data})).into_response()
}

/// Message content is a string or a list of `{"type": "text", "text": ...}` parts.
fn content_text(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        Value::Array(parts) => parts
            .iter()
            .map(|p| match (p.get("type").and_then(Value::as_str), p.get("text").and_then(Value::as_str)) {
                (Some("text"), Some(t)) => Ok(t.to_string()),
                (t, _) => Err(format!("unsupported content part type {t:?} (only text is supported)")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.join("")),
        other => Err(format!("message content must be a string or a list of parts, got {other}")),
    }
}

/// Turn an OpenAI chat request body into an [`LmRequest`].
fn to_request(body: &Map<String, Value>) -> Result<LmRequest, String> {
    let msgs = body.get("messages").and_then(Value::as_array).ok_or("`messages` (an array) is required")?;
    let mut messages = Vec::with_capacity(msgs.len());
    for m in msgs {
        let role = m.get("role").and_then(Value::as_str).ok_or("every message needs a `role`")?;
        messages.push(Message::new(role, content_text(m.get("content").unwrap_or(&Value::Null))?));
    }
    let mut req = LmRequest::new(messages);
    req.temperature = body.get("temperature").and_then(Value::as_f64);
    req.max_tokens = body.get("max_completion_tokens").or_else(|| body.get("max_tokens")).and_then(Value::as_u64).map(|n| n as u32);
    req.n = body.get("n").and_then(Value::as_u64).map(|n| n as u32);
    req.seed = body.get("seed").and_then(Value::as_u64);
    req.stop = match body.get("stop") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    req.response_format = body.get("response_format").filter(|v| !v.is_null()).cloned();
    match body.get("tools") {
        Some(Value::Array(tools)) if !tools.is_empty() => {
            req.extra.insert("tools".into(), Value::Array(tools.clone()));
        }
        None | Some(Value::Null) | Some(Value::Array(_)) => {}
        Some(other) => return Err(format!("`tools` must be an array of function tools, got {other}")),
    }
    match body.get("tool_choice") {
        Some(Value::String(c)) if matches!(c.as_str(), "auto" | "none" | "required") => {
            req.extra.insert("tool_choice".into(), Value::String(c.clone()));
        }
        None | Some(Value::Null) => {}
        Some(other) => return Err(format!("`tool_choice` must be \"auto\", \"none\" or \"required\" here, got {other}")),
    }
    Ok(req)
}

async fn chat_completions(State(state): State<Arc<ServerConfig>>, headers: HeaderMap, body: Option<Json<Value>>) -> Response {
    if let Some(r) = check_key(&state, &headers) {
        return r;
    }
    let Some(Json(Value::Object(body))) = body else {
        return error(StatusCode::BAD_REQUEST, "invalid_request_error", None, "the body must be a JSON object");
    };
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        return error(StatusCode::BAD_REQUEST, "invalid_request_error", None, "stream=true is not supported by rdspy serve-model");
    }
    let req = match to_request(&body) {
        Ok(r) => r,
        Err(m) => return error(StatusCode::BAD_REQUEST, "invalid_request_error", None, m),
    };
    match state.lm.call(req).await {
        Ok(resp) => {
            let choices: Vec<Value> = resp
                .choices
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let mut message = json!({"role": "assistant", "content": c.text});
                    if !c.tool_calls.is_empty() {
                        let calls: Vec<Value> = c.tool_calls.iter().enumerate().map(|(j, t)| t.to_openai(j)).collect();
                        message["tool_calls"] = Value::Array(calls);
                        if c.text.is_empty() {
                            message["content"] = Value::Null; // as OpenAI sends a reply that is only calls
                        }
                    }
                    json!({"index": i, "message": message,
                           "finish_reason": c.finish_reason.as_deref().unwrap_or("stop"), "logprobs": null})
                })
                .collect();
            let created = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
            Json(json!({
                "id": format!("chatcmpl-rdspy-{created}-{}", rand::random::<u32>()),
                "object": "chat.completion",
                "created": created,
                "model": state.model_name,
                "choices": choices,
                "usage": {"prompt_tokens": resp.usage.prompt_tokens, "completion_tokens": resp.usage.completion_tokens,
                          "total_tokens": resp.usage.total_tokens},
            }))
            .into_response()
        }
        Err(e @ LmError::ContextWindowExceeded { .. }) => {
            error(StatusCode::BAD_REQUEST, "invalid_request_error", Some("context_length_exceeded"), e.to_string())
        }
        Err(e @ LmError::InvalidRequest { .. }) => error(StatusCode::BAD_REQUEST, "invalid_request_error", None, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", None, e.to_string()),
    }
}

async fn embeddings(State(state): State<Arc<ServerConfig>>, headers: HeaderMap, body: Option<Json<Value>>) -> Response {
    if let Some(r) = check_key(&state, &headers) {
        return r;
    }
    let Some(embedder) = state.embedder.clone() else {
        return error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("model_not_found"),
            "this server has no embedding model (fetch all-MiniLM-L6-v2 with scripts/fetch-models.sh)",
        );
    };
    let texts: Vec<String> = match body.as_ref().and_then(|Json(b)| b.get("input")) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect(),
        _ => return error(StatusCode::BAD_REQUEST, "invalid_request_error", None, "`input` must be a string or an array of strings"),
    };
    let result = tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        embedder.embed(&refs)
    })
    .await;
    match result {
        Ok(Ok(vectors)) => {
            let data: Vec<Value> =
                vectors.into_iter().enumerate().map(|(i, v)| json!({"object": "embedding", "index": i, "embedding": v})).collect();
            let model = state.embedder.as_ref().map(|e| e.model().to_string()).unwrap_or_default();
            Json(json!({"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": 0, "total_tokens": 0}})).into_response()
        }
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", None, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", None, format!("embedding task failed: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_bodies_become_requests() {
        let body = json!({"model": "x", "messages": [{"role": "system", "content": "s"},
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}],
            "temperature": 0.5, "max_tokens": 7, "stop": "\n", "n": 2, "seed": 3,
            "response_format": {"type": "json_object"}});
        let req = to_request(body.as_object().unwrap()).unwrap();
        assert_eq!(req.messages[1].content, "ab");
        assert_eq!((req.temperature, req.max_tokens, req.n, req.seed), (Some(0.5), Some(7), Some(2), Some(3)));
        assert_eq!(req.stop, vec!["\n".to_string()]);
        assert!(req.response_format.is_some());
        assert!(to_request(json!({"messages": [{"content": "x"}]}).as_object().unwrap()).is_err());
    }
}
