//! `serve-model` over real HTTP: the server runs in this process on 127.0.0.1:0 and is called
//! with reqwest, the way the OpenAI Python client and DSPy call it.

mod common;

use rdspy_embedded::server::{serve, ServerConfig};
use serde_json::{json, Value};
use std::sync::Arc;

async fn start(api_key: Option<&str>) -> Option<String> {
    let lm = common::model()?;
    let cfg = ServerConfig { lm: Arc::new(lm), model_name: "smollm2".into(), embedder: None, api_key: api_key.map(str::to_string) };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, cfg));
    Some(format!("http://{addr}/v1"))
}

#[tokio::test]
async fn chat_completions_models_and_auth_over_http() {
    let Some(base) = start(Some("sk-local")).await else { return };
    let http = reqwest::Client::new();

    let r = http.get(format!("{base}/models")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], "invalid_api_key");

    let models: Value = http.get(format!("{base}/models")).bearer_auth("sk-local").send().await.unwrap().json().await.unwrap();
    assert_eq!(models["data"][0]["id"], "smollm2");

    let body = json!({"model": "smollm2", "messages": [{"role": "user", "content": "Say hello."}],
                      "temperature": 0, "max_tokens": 8, "n": 2});
    let r = http.post(format!("{base}/chat/completions")).bearer_auth("sk-local").json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"].as_array().unwrap().len(), 2);
    assert!(!v["choices"][0]["message"]["content"].as_str().unwrap().is_empty());
    assert!(v["usage"]["completion_tokens"].as_u64().unwrap() > 0);

    // Grammar through response_format, as DSPy's JSONAdapter sends it.
    let body = json!({"model": "smollm2", "messages": [{"role": "user", "content": "Is 'a dull film' positive or negative?"}],
        "temperature": 0, "max_tokens": 32,
        "response_format": {"type": "json_schema", "json_schema": {"name": "o", "strict": true, "schema": {
            "type": "object", "properties": {"sentiment": {"type": "string", "enum": ["positive", "negative"]}},
            "required": ["sentiment"], "additionalProperties": false}}}});
    let v: Value =
        http.post(format!("{base}/chat/completions")).bearer_auth("sk-local").json(&body).send().await.unwrap().json().await.unwrap();
    let out: Value = serde_json::from_str(v["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert!(out["sentiment"] == "positive" || out["sentiment"] == "negative", "{out}");

    // Errors in OpenAI's shape.
    let long = "word ".repeat(6000);
    let body = json!({"model": "smollm2", "messages": [{"role": "user", "content": long}]});
    let r = http.post(format!("{base}/chat/completions")).bearer_auth("sk-local").json(&body).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], "context_length_exceeded");
    let r = http.post(format!("{base}/embeddings")).bearer_auth("sk-local").json(&json!({"input": "x"})).send().await.unwrap();
    assert_eq!(r.status(), 404, "no embedder attached");
}

#[tokio::test]
async fn concurrent_requests_queue_to_the_worker() {
    let Some(base) = start(None).await else { return };
    let http = reqwest::Client::new();
    let calls = (0..4).map(|i| {
        let http = http.clone();
        let url = format!("{base}/chat/completions");
        async move {
            let body =
                json!({"messages": [{"role": "user", "content": format!("Give me a number: {i}")}], "max_tokens": 6, "temperature": 0});
            let v: Value = http.post(url).json(&body).send().await.unwrap().json().await.unwrap();
            v["choices"][0]["message"]["content"].as_str().map(str::to_string)
        }
    });
    let results = futures_join(calls.collect()).await;
    assert!(results.iter().all(|r| r.is_some()), "{results:?}");
}

async fn futures_join<F: std::future::Future + Send + 'static>(futs: Vec<F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
