//! [`OpenAIEmbedder`]: an OpenAI-compatible `/v1/embeddings` endpoint as an [`Embedder`].

use super::{EmbedError, Embedder};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Embeddings from any OpenAI-compatible server (`rdspy serve-model`, vLLM, OpenAI itself):
/// `POST {api_base}/embeddings` with `{"model", "input": [..]}`.
///
/// [`Embedder::embed`] is synchronous, as the trait asks, so each call runs its request on a
/// private thread and runtime; it may be called from plain threads and from
/// `tokio::task::spawn_blocking`, not directly on an async worker.
///
/// ```no_run
/// use rdspy::embed::{Embedder, OpenAIEmbedder};
/// let e = OpenAIEmbedder::new("all-MiniLM-L6-v2", "http://127.0.0.1:8080/v1").unwrap();
/// let v = e.embed(&["a gorgeous, witty film"]).unwrap();
/// assert_eq!(v[0].len(), e.dim());
/// ```
pub struct OpenAIEmbedder {
    /// `openai/<model>`, what [`Embedder::model`] reports.
    model: String,
    /// The model name the server is asked for.
    remote: String,
    url: String,
    api_key: Option<String>,
    http: reqwest::Client,
    dim: AtomicUsize,
}

impl OpenAIEmbedder {
    /// `model` at `api_base` (…/v1); the API key is `OPENAI_API_KEY` when set.
    pub fn new(model: &str, api_base: &str) -> Result<OpenAIEmbedder, EmbedError> {
        let http = reqwest::Client::builder()
            // Each call runs on its own short-lived runtime: pooled connections would outlive it.
            .pool_max_idle_per_host(0)
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .map_err(|e| EmbedError { model: format!("openai/{model}"), message: format!("cannot build the HTTP client: {e}") })?;
        Ok(OpenAIEmbedder {
            model: format!("openai/{model}"),
            remote: model.to_string(),
            url: format!("{}/embeddings", api_base.trim_end_matches('/')),
            api_key: std::env::var("OPENAI_API_KEY").ok().filter(|k| !k.is_empty()),
            http,
            dim: AtomicUsize::new(0),
        })
    }

    /// Use this API key instead of `OPENAI_API_KEY`.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    fn err(&self, message: impl Into<String>) -> EmbedError {
        EmbedError { model: self.model.clone(), message: message.into() }
    }

    async fn request(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut req = self.http.post(&self.url).json(&json!({"model": self.remote, "input": texts}));
        if let Some(k) = &self.api_key {
            req = req.bearer_auth(k);
        }
        let resp = req.send().await.map_err(|e| self.err(format!("POST {}: {e}", self.url)))?;
        let status = resp.status();
        let body: Value = resp.json().await.map_err(|e| self.err(format!("POST {}: HTTP {status}, unreadable body: {e}", self.url)))?;
        if !status.is_success() {
            let msg = body.pointer("/error/message").and_then(Value::as_str).unwrap_or("no error message");
            return Err(self.err(format!("POST {}: HTTP {status}: {msg}", self.url)));
        }
        let data = body["data"].as_array().ok_or_else(|| self.err(format!("POST {}: the reply has no `data` list", self.url)))?;
        let mut out: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        for (pos, item) in data.iter().enumerate() {
            let i = item["index"].as_u64().map(|i| i as usize).unwrap_or(pos);
            let v: Option<Vec<f32>> = item["embedding"].as_array().and_then(|xs| xs.iter().map(|x| x.as_f64().map(|x| x as f32)).collect());
            match (out.get_mut(i), v) {
                (Some(slot), Some(v)) => *slot = Some(v),
                _ => {
                    return Err(self.err(format!(
                        "POST {}: data[{pos}] is not an embedding for one of the {} inputs",
                        self.url,
                        texts.len()
                    )))
                }
            }
        }
        let out: Vec<Vec<f32>> = out
            .into_iter()
            .enumerate()
            .map(|(i, v)| v.ok_or_else(|| self.err(format!("POST {}: no embedding for input {i}", self.url))))
            .collect::<Result<_, _>>()?;
        if let Some(v) = out.first() {
            self.dim.store(v.len(), Ordering::Relaxed);
        }
        Ok(out)
    }
}

impl Embedder for OpenAIEmbedder {
    fn model(&self) -> &str {
        &self.model
    }

    /// The vector length of the last reply (0 before the first call: the server decides it).
    fn dim(&self) -> usize {
        self.dim.load(Ordering::Relaxed)
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(vec![]);
        }
        std::thread::scope(|s| {
            s.spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| self.err(format!("cannot start an async runtime: {e}")))?;
                rt.block_on(self.request(texts))
            })
            .join()
            .unwrap_or_else(|_| Err(self.err("the request thread panicked")))
        })
    }
}
