//! Token usage and cost: a built-in price table for common hosted models, user overrides,
//! and a layer that sums usage per LM.

use super::{LmError, LmRequest, LmResponse, SharedLM, Usage, LM};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, RwLock};

/// US dollars per 1M (prompt, completion) tokens, by model name (without provider). Public list
/// prices; override with [`set_price`] when yours differ.
const PRICES: &[(&str, f64, f64)] = &[
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4.1-nano", 0.10, 0.40),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1", 2.00, 8.00),
    ("gpt-5-nano", 0.05, 0.40),
    ("gpt-5-mini", 0.25, 2.00),
    ("gpt-5", 1.25, 10.00),
    ("o4-mini", 1.10, 4.40),
    ("o3-mini", 1.10, 4.40),
    ("o3", 2.00, 8.00),
    ("o1-mini", 1.10, 4.40),
    ("o1", 15.00, 60.00),
    ("gpt-3.5-turbo", 0.50, 1.50),
];

fn overrides() -> &'static RwLock<HashMap<String, (f64, f64)>> {
    static O: OnceLock<RwLock<HashMap<String, (f64, f64)>>> = OnceLock::new();
    O.get_or_init(Default::default)
}

/// Set the price of a model (US dollars per 1M prompt and completion tokens).
///
/// ```
/// rdspy::lm::set_price("openai/my-finetune", 1.0, 2.0);
/// assert_eq!(rdspy::lm::price_per_million("openai/my-finetune"), Some((1.0, 2.0)));
/// ```
pub fn set_price(model: &str, prompt: f64, completion: f64) {
    overrides().write().unwrap_or_else(|e| e.into_inner()).insert(model.to_string(), (prompt, completion));
}

/// The price of a model per 1M (prompt, completion) tokens, if known. Dated snapshots
/// (`gpt-4o-mini-2024-07-18`) use their family's price.
pub fn price_per_million(model: &str) -> Option<(f64, f64)> {
    if let Some(p) = overrides().read().unwrap_or_else(|e| e.into_inner()).get(model) {
        return Some(*p);
    }
    let name = model.rsplit('/').next().unwrap_or(model);
    PRICES
        .iter()
        .filter(|(m, _, _)| name == *m || name.starts_with(&format!("{m}-")))
        .max_by_key(|(m, _, _)| m.len())
        .map(|(_, i, o)| (*i, *o))
}

/// A layer that sums the usage of every call through it (cache hits count as calls with zero
/// tokens, as in DSPy).
#[derive(Debug)]
pub struct UsageTracker {
    inner: SharedLM,
    total: Mutex<Usage>,
}

impl UsageTracker {
    /// Wrap an LM.
    pub fn new(inner: SharedLM) -> UsageTracker {
        UsageTracker { inner, total: Mutex::new(Usage::default()) }
    }

    /// The usage so far.
    pub fn total(&self) -> Usage {
        *self.total.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait::async_trait]
impl LM for UsageTracker {
    fn model(&self) -> &str {
        self.inner.model()
    }
    async fn call(&self, request: LmRequest) -> Result<LmResponse, LmError> {
        let mut resp = self.inner.call(request).await?;
        if self.inner.is_local() {
            resp.usage.cost = 0.0;
        }
        resp.usage.calls = 1;
        *self.total.lock().unwrap_or_else(|e| e.into_inner()) += resp.usage;
        Ok(resp)
    }
    fn usage(&self) -> Option<Usage> {
        Some(self.total())
    }
    delegate_lm_info!(usage);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_by_family() {
        assert_eq!(price_per_million("openai/gpt-4o-mini-2024-07-18"), Some((0.15, 0.60)));
        assert_eq!(price_per_million("openai/gpt-4o"), Some((2.50, 10.00)));
        assert_eq!(price_per_million("ollama_chat/llama3"), None);
    }
}
