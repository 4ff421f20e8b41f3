//! [`EmbeddedLM`]: the `LM` trait over the llama.cpp worker.

use crate::engine::{self, CallStats, EngineOptions, Job};
use crate::models::resolve_model;
use rdspy::lm::{LmError, LmRequest, LmResponse, LM};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

/// A chat model running in this process through llama.cpp.
///
/// Cloning is cheap and shares the worker: concurrent calls queue and run one at a time, and
/// consecutive prompts that share a prefix (system message + demos) only evaluate the new part.
///
/// ```no_run
/// use rdspy::lm::{LmRequest, LM};
/// use rdspy::adapter::Message;
/// # async fn demo() -> Result<(), rdspy::lm::LmError> {
/// let lm = rdspy_embedded::EmbeddedLM::load("local/smollm2-135m")?;
/// let reply = lm.call(LmRequest::new(vec![Message::user("Say hi.")]).max_tokens(16)).await?;
/// println!("{}", reply.choices[0].text);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct EmbeddedLM {
    inner: Arc<Inner>,
}

struct Inner {
    model: String,
    path: PathBuf,
    n_ctx: u32,
    jobs: Mutex<mpsc::Sender<Job>>,
    last: Mutex<CallStats>,
}

impl std::fmt::Debug for EmbeddedLM {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedLM").field("model", &self.inner.model).field("path", &self.inner.path).finish()
    }
}

impl EmbeddedLM {
    /// Load `local/smollm2-135m`, `local/qwen2.5-0.5b` or `local/<path>.gguf` with default options.
    pub fn load(model: &str) -> Result<EmbeddedLM, LmError> {
        EmbeddedLM::load_with(model, EngineOptions::default())
    }

    /// Load with explicit [`EngineOptions`] (context size, threads, prefix reuse).
    pub fn load_with(model: &str, opts: EngineOptions) -> Result<EmbeddedLM, LmError> {
        let path = resolve_model(model).map_err(LmError::Config)?;
        let model = if model.starts_with("local/") { model.to_string() } else { format!("local/{model}") };
        EmbeddedLM::load_path(&model, &path, opts)
    }

    /// Load a GGUF file under a given model name.
    pub fn load_path(model: &str, path: &Path, opts: EngineOptions) -> Result<EmbeddedLM, LmError> {
        let (jobs, loaded) = engine::spawn(model.to_string(), path.to_path_buf(), opts)?;
        Ok(EmbeddedLM {
            inner: Arc::new(Inner {
                model: model.to_string(),
                path: path.to_path_buf(),
                n_ctx: loaded.n_ctx,
                jobs: Mutex::new(jobs),
                last: Mutex::new(CallStats::default()),
            }),
        })
    }

    /// The context size in tokens.
    pub fn n_ctx(&self) -> u32 {
        self.inner.n_ctx
    }

    /// The GGUF file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Token counts and timings of the most recent call (prefix reuse shows in `reused_tokens`).
    pub fn last_stats(&self) -> CallStats {
        *self.inner.last.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait::async_trait]
impl LM for EmbeddedLM {
    fn model(&self) -> &str {
        &self.inner.model
    }

    async fn call(&self, mut request: LmRequest) -> Result<LmResponse, LmError> {
        // OpenAI `tools`: offered in the prompt, read back from the reply (see `tools.rs`).
        let offered = crate::tools::offered_names(&request);
        crate::tools::offer_tools(&mut request);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sent = self.inner.jobs.lock().unwrap_or_else(|e| e.into_inner()).send(Job { request, reply: tx });
        let gone = || LmError::Other(format!("{}: the llama.cpp worker thread has stopped", self.inner.model));
        sent.map_err(|_| gone())?;
        let out = rx.await.map_err(|_| gone())??;
        *self.inner.last.lock().unwrap_or_else(|e| e.into_inner()) = out.stats;
        let mut choices = out.choices;
        if !offered.is_empty() {
            choices.iter_mut().for_each(|c| crate::tools::take_tool_calls(c, &offered));
        }
        Ok(LmResponse { choices, usage: out.usage, model: self.inner.model.clone(), cache_hit: false })
    }

    fn dump_state(&self) -> Option<Value> {
        Some(json!({
            "model": self.inner.model,
            "model_type": "chat",
            "cache": false,
            "num_retries": 0,
            "finetuning_model": null,
            "launch_kwargs": {},
            "train_kwargs": {},
        }))
    }

    fn is_local(&self) -> bool {
        true
    }
}
