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

/// `/v1/embeddings` with the in-process MiniLM attached, as `rdspy serve-model` runs it, called
/// over HTTP both raw and through rdspy's own `OpenAIEmbedder` client.
#[cfg(feature = "embeddings")]
#[tokio::test]
async fn embeddings_over_http_match_the_in_process_embedder() {
    use rdspy::embed::{cosine, Embedder, OpenAIEmbedder};
    let Some(lm) = common::model() else { return };
    let Some(embedder) = rdspy_embedded::default_embedder() else {
        assert!(std::env::var_os("RDSPY_REQUIRE_MODELS").is_none(), "RDSPY_REQUIRE_MODELS is set but all-MiniLM-L6-v2 is missing");
        eprintln!("SKIPPED: all-MiniLM-L6-v2 missing; run scripts/fetch-models.sh");
        return;
    };
    let cfg =
        ServerConfig { lm: Arc::new(lm), model_name: "smollm2".into(), embedder: Some(embedder.clone()), api_key: Some("sk-e".into()) };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, cfg));
    let http = reqwest::Client::new();
    let texts = ["A man is eating food.", "A man is eating a piece of bread.", "The new movie is awful."];

    let v: Value = http
        .post(format!("{base}/embeddings"))
        .bearer_auth("sk-e")
        .json(&json!({"input": texts}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "local/all-MiniLM-L6-v2");
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    let direct = embedder.embed(&texts).unwrap();
    for (i, item) in data.iter().enumerate() {
        assert_eq!(item["index"], i);
        let got: Vec<f32> = item["embedding"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
        assert_eq!(got.len(), 384);
        assert!(cosine(&got, &direct[i]) > 0.9999, "text {i}");
    }
    // Related sentences are near, unrelated ones are not — the vectors mean something over HTTP too.
    assert!(cosine(&direct[0], &direct[1]) > 0.7 && cosine(&direct[0], &direct[2]) < 0.3);

    // A single string is accepted too; a missing `input` is a 400 in OpenAI's shape.
    let one: Value = http
        .post(format!("{base}/embeddings"))
        .bearer_auth("sk-e")
        .json(&json!({"input": texts[2]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["data"].as_array().unwrap().len(), 1);
    let r = http.post(format!("{base}/embeddings")).bearer_auth("sk-e").json(&json!({"inputs": "x"})).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["type"], "invalid_request_error");

    // rdspy's OpenAI-compatible embedder client against the same endpoint (a blocking call).
    let client = OpenAIEmbedder::new("all-MiniLM-L6-v2", &base).unwrap().with_api_key("sk-e");
    let (remote, dim) = tokio::task::spawn_blocking(move || (client.embed(&texts).unwrap(), client.dim())).await.unwrap();
    assert_eq!(dim, 384);
    for (r, d) in remote.iter().zip(&direct) {
        assert!(cosine(r, d) > 0.9999);
    }
    let bad = OpenAIEmbedder::new("x", &base).unwrap().with_api_key("wrong");
    let err = tokio::task::spawn_blocking(move || bad.embed(&["hi"]).unwrap_err()).await.unwrap();
    assert!(err.to_string().contains("401"), "{err}");
}
