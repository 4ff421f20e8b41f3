//! The clients people actually point at `rdspy serve-model`: the OpenAI Python client and Python
//! DSPy 3.4.1 (`dspy.LM("openai/smollm2", api_base=...)`), run as a real Python process against
//! the server on 127.0.0.1 (the same router `rdspy serve-model` serves).
//!
//! Needs a Python with `openai` and `dspy==3.4.1`: `scripts/setup.sh` creates `.venv-dspy` in
//! the repository; `RDSPY_DSPY_PYTHON=/path/to/python` overrides it. A missing Python fails the
//! test (CI must not skip it silently); `RDSPY_SKIP_PYTHON=1` skips it on purpose.

mod common;

use rdspy_embedded::server::{serve, ServerConfig};
use serde_json::Value;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_client_and_python_dspy_call_serve_model() {
    let Some(lm) = common::model() else { return };
    let Some(py) = common::dspy_python() else { return };
    let embedder = rdspy_embedded::default_embedder();
    let key = "sk-rdspy-test";
    let cfg = ServerConfig { lm: Arc::new(lm), model_name: "smollm2".into(), embedder: embedder.clone(), api_key: Some(key.into()) };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, cfg));

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/clients.py");
    let out = common::run_python(&py, script, &[&base, key, if embedder.is_some() { "1" } else { "0" }], "clients").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{} failed ({}):\n{stderr}\n{stdout}", py.display(), out.status);
    let v: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("the script's last line is not JSON ({e}):\n{stdout}\n{stderr}"));

    // The OpenAI client.
    assert!(v["models"].as_array().unwrap().iter().any(|m| m == "smollm2"), "{}", v["models"]);
    assert!(!v["chat"]["content"].as_str().unwrap().is_empty(), "{}", v["chat"]);
    assert!(v["chat"]["completion_tokens"].as_u64().unwrap() > 0);
    assert_eq!(v["wrong_key"], 401);
    assert_eq!(v["too_long"]["status"], 400);
    assert_eq!(v["too_long"]["code"], "context_length_exceeded");

    // Python DSPy: parsed predictions through both adapters, and a ChainOfThought.
    let label = |x: &Value| x == "positive" || x == "negative";
    let chat = &v["predict_chat"];
    assert!(label(&chat["sentiment"]), "{chat}");
    // The reply itself is in ChatAdapter's format (so DSPy did not need its JSON fallback).
    let raw = chat["raw"].as_str().unwrap();
    assert!(raw.contains("[[ ## sentiment ## ]]") && raw.ends_with("[[ ## completed ## ]]"), "{raw:?}");
    let json = &v["predict_json"];
    assert!(label(&json["sentiment"]), "{json}");
    let obj: Value = serde_json::from_str(json["raw"].as_str().unwrap()).expect("JSONAdapter reply is JSON");
    assert!(label(&obj["sentiment"]), "{obj}");
    assert!(label(&v["chain_of_thought"]["sentiment"]), "{}", v["chain_of_thought"]);
    assert!(!v["chain_of_thought"]["reasoning"].as_str().unwrap().is_empty());
    assert_eq!(v["dspy_calls"], 3, "one call per prediction: no retries, no fallbacks");

    // /v1/embeddings through the OpenAI client, when this build has the embedder.
    if embedder.is_some() {
        let e: Vec<Vec<f32>> = serde_json::from_value(v["embeddings"].clone()).unwrap();
        assert_eq!(e.len(), 3);
        assert!(e.iter().all(|x| x.len() == 384));
        let cos = rdspy::embed::cosine;
        assert!(cos(&e[0], &e[1]) > 0.7 && cos(&e[0], &e[2]).abs() < 0.2, "{} {}", cos(&e[0], &e[1]), cos(&e[0], &e[2]));
    } else {
        eprintln!("note: built without the `embeddings` feature or MiniLM weights: /v1/embeddings not exercised");
    }
}
