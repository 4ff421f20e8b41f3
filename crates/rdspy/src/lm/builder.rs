//! `LmBuilder`: one place that turns a model string and settings into a stack of layers.
//!
//! The stack, outermost first: **Defaults** (per-LM temperature/max_tokens, DSPy's LM kwargs)
//! → **History** (records every call, cache hits included) → **UsageTracker** (sums tokens and
//! cost; hits count as calls with zero tokens) → **Cache** (a hit returns before any retry) →
//! **Retry** (backoff on transient failures) → the client. Each layer is its own type wrapping
//! an `Arc<dyn LM>`, so users can assemble other stacks by hand.

use super::{Cache, CacheStore, History, LmError, LmRequest, LmResponse, OpenAIClient, Retry, SharedLM, Usage, UsageTracker, LM};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

/// Builds the client for a provider prefix (used by crates that add providers, e.g. `local/`).
pub type ProviderFactory = Arc<dyn Fn(&LmBuilder) -> Result<SharedLM, LmError> + Send + Sync>;

fn registry() -> &'static RwLock<HashMap<String, ProviderFactory>> {
    static R: OnceLock<RwLock<HashMap<String, ProviderFactory>>> = OnceLock::new();
    R.get_or_init(Default::default)
}

/// Register a provider prefix (such as `local`) so `LmBuilder::new("local/...")` can build it.
pub fn register_provider(prefix: &str, factory: ProviderFactory) {
    registry().write().unwrap_or_else(|e| e.into_inner()).insert(prefix.to_string(), factory);
}

/// Configure and build an LM.
///
/// ```
/// use rdspy::lm::LmBuilder;
/// let lm = LmBuilder::new("openai/gpt-4o-mini").api_key("sk-test").temperature(0.0).cache(false).build().unwrap();
/// assert_eq!(lm.model(), "openai/gpt-4o-mini");
/// assert!(!lm.dump_state().unwrap().to_string().contains("sk-test"));
/// ```
#[derive(Clone)]
pub struct LmBuilder {
    /// `provider/name`.
    pub model: String,
    /// The server URL (`…/v1`).
    pub api_base: Option<String>,
    api_key: Option<String>,
    /// Default temperature for calls that set none.
    pub temperature: Option<f64>,
    /// Default max tokens for calls that set none.
    pub max_tokens: Option<u32>,
    /// Use the cache (default true, as in DSPy).
    pub cache: bool,
    /// Cache folder (default [`super::default_cache_dir`]).
    pub cache_dir: Option<PathBuf>,
    /// Retries of transient failures (default 3, as in DSPy).
    pub num_retries: u32,
    /// Per-request timeout (default 120 s).
    pub timeout: Duration,
    /// First retry delay.
    pub retry_base_delay: Duration,
    /// Calls kept in this LM's history.
    pub history_size: usize,
}

impl std::fmt::Debug for LmBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LmBuilder").field("model", &self.model).field("api_base", &self.api_base).field("cache", &self.cache).finish()
    }
}

impl LmBuilder {
    /// A builder for `provider/name`.
    pub fn new(model: impl Into<String>) -> LmBuilder {
        LmBuilder {
            model: model.into(),
            api_base: None,
            api_key: None,
            temperature: None,
            max_tokens: None,
            cache: true,
            cache_dir: None,
            num_retries: 3,
            timeout: Duration::from_secs(120),
            retry_base_delay: Duration::from_millis(500),
            history_size: 10_000,
        }
    }

    /// A builder from DSPy's saved LM state (API bases are dropped, as DSPy does by default).
    pub fn from_state(state: &Value) -> Result<LmBuilder, LmError> {
        let model = state.get("model").and_then(Value::as_str).ok_or_else(|| LmError::Config("saved LM state has no `model`".into()))?;
        let mut b = LmBuilder::new(model);
        b.temperature = state.get("temperature").and_then(Value::as_f64);
        b.max_tokens = state.get("max_tokens").and_then(Value::as_u64).map(|m| m as u32);
        b.cache = state.get("cache").and_then(Value::as_bool).unwrap_or(true);
        b.num_retries = state.get("num_retries").and_then(Value::as_u64).unwrap_or(3) as u32;
        Ok(b)
    }

    /// Set the server URL.
    pub fn api_base(mut self, url: impl Into<String>) -> Self {
        self.api_base = Some(url.into());
        self
    }
    /// Set the API key (default `OPENAI_API_KEY`).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }
    /// The API key, for provider factories.
    pub fn api_key_ref(&self) -> Option<&str> {
        self.api_key.as_deref()
    }
    /// Default temperature.
    pub fn temperature(mut self, t: f64) -> Self {
        self.temperature = Some(t);
        self
    }
    /// Default max tokens.
    pub fn max_tokens(mut self, n: u32) -> Self {
        self.max_tokens = Some(n);
        self
    }
    /// Turn the cache on or off (off skips the layer entirely).
    pub fn cache(mut self, on: bool) -> Self {
        self.cache = on;
        self
    }
    /// Cache folder.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }
    /// Retries.
    pub fn num_retries(mut self, n: u32) -> Self {
        self.num_retries = n;
        self
    }
    /// Per-request timeout.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }
    /// First retry delay.
    pub fn retry_base_delay(mut self, d: Duration) -> Self {
        self.retry_base_delay = d;
        self
    }

    /// The client alone, without layers.
    pub fn client(&self) -> Result<SharedLM, LmError> {
        let prefix = self.model.split_once('/').map(|(p, _)| p).unwrap_or("");
        let factory = registry().read().unwrap_or_else(|e| e.into_inner()).get(prefix).cloned();
        match factory {
            Some(f) => f(self),
            None if prefix == "local" => Err(LmError::Config(format!(
                "{}: local models run in-process through the rdspy-embedded crate (the `rdspy` CLI includes it); \
                 call rdspy_embedded::register() first, or serve the model with `rdspy serve-model` and use openai/<name> with api_base",
                self.model
            ))),
            None => Ok(Arc::new(OpenAIClient::new(&self.model, self.api_base.as_deref(), self.api_key.as_deref(), self.timeout)?)),
        }
    }

    /// Build the layered LM.
    pub fn build(&self) -> Result<SharedLM, LmError> {
        let mut lm: SharedLM = self.client()?;
        if self.num_retries > 0 {
            lm = Arc::new(Retry::new(lm, self.num_retries).base_delay(self.retry_base_delay));
        }
        if self.cache {
            let dir = self.cache_dir.clone().unwrap_or_else(super::default_cache_dir);
            lm = Arc::new(Cache::new(lm, shared_store(dir)));
        }
        lm = Arc::new(UsageTracker::new(lm));
        lm = Arc::new(History::new(lm, self.history_size));
        Ok(Arc::new(Defaults { inner: lm, builder: self.clone() }))
    }

    /// DSPy's `LM.dump_state()` (no API key).
    pub fn dump_state(&self) -> Value {
        let mut m = Map::new();
        m.insert("_dspy_lm_class".into(), json!("dspy.clients.lm.LM"));
        m.insert("model".into(), json!(self.model));
        m.insert("model_type".into(), json!("chat"));
        m.insert("cache".into(), json!(self.cache));
        m.insert("num_retries".into(), json!(self.num_retries));
        m.insert("temperature".into(), json!(self.temperature));
        m.insert("max_tokens".into(), json!(self.max_tokens));
        if let Some(b) = &self.api_base {
            m.insert("api_base".into(), json!(b));
        }
        m.insert("finetuning_model".into(), Value::Null);
        m.insert("launch_kwargs".into(), json!({}));
        m.insert("train_kwargs".into(), json!({}));
        Value::Object(m)
    }
}

/// One store per cache folder per process, shared by every LM that uses it.
fn shared_store(dir: PathBuf) -> Arc<CacheStore> {
    static STORES: OnceLock<std::sync::Mutex<HashMap<PathBuf, Arc<CacheStore>>>> = OnceLock::new();
    let mut m = STORES.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    m.entry(dir.clone()).or_insert_with(|| Arc::new(CacheStore::open(&dir))).clone()
}

/// The outermost layer: fills in the LM's default temperature and max tokens, and reports the
/// builder's state for save files.
struct Defaults {
    inner: SharedLM,
    builder: LmBuilder,
}

impl std::fmt::Debug for Defaults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LM({})", self.builder.model)
    }
}

#[async_trait::async_trait]
impl LM for Defaults {
    fn model(&self) -> &str {
        &self.builder.model
    }
    async fn call(&self, mut request: LmRequest) -> Result<LmResponse, LmError> {
        if request.temperature.is_none() {
            request.temperature = self.builder.temperature;
        }
        if request.max_tokens.is_none() {
            request.max_tokens = self.builder.max_tokens;
        }
        self.inner.call(request).await
    }
    fn dump_state(&self) -> Option<Value> {
        Some(self.builder.dump_state())
    }
    fn is_local(&self) -> bool {
        self.inner.is_local()
    }
    fn usage(&self) -> Option<Usage> {
        self.inner.usage()
    }
    fn history(&self) -> Option<Arc<super::HistoryLog>> {
        self.inner.history()
    }
}
