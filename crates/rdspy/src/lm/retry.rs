//! Retry layer: exponential backoff with jitter on 429, 5xx, connection errors and timeouts.

use super::{LmError, LmRequest, LmResponse, SharedLM, LM};
use rand::Rng;
use std::time::Duration;

/// Retries transient failures (`LmError::is_retryable`) up to `num_retries` times (DSPy's
/// default is 3), waiting `base · 2^attempt` with ±50% jitter, capped at `max_delay`, or the
/// server's `Retry-After` when it sends one. Other errors (a bad request, a wrong key) fail at
/// once with the server's message.
#[derive(Debug)]
pub struct Retry {
    inner: SharedLM,
    num_retries: u32,
    base_delay: Duration,
    max_delay: Duration,
}

impl Retry {
    /// Wrap an LM.
    pub fn new(inner: SharedLM, num_retries: u32) -> Retry {
        Retry { inner, num_retries, base_delay: Duration::from_millis(500), max_delay: Duration::from_secs(30) }
    }

    /// Set the first backoff delay (tests use a few milliseconds).
    pub fn base_delay(mut self, d: Duration) -> Retry {
        self.base_delay = d;
        self
    }

    fn delay(&self, attempt: u32, err: &LmError) -> Duration {
        if let LmError::RateLimit { retry_after: Some(d), .. } = err {
            return (*d).min(self.max_delay);
        }
        let exp = self.base_delay.saturating_mul(1 << attempt.min(16)).min(self.max_delay);
        exp.mul_f64(rand::thread_rng().gen_range(0.5..1.5))
    }
}

#[async_trait::async_trait]
impl LM for Retry {
    fn model(&self) -> &str {
        self.inner.model()
    }
    async fn call(&self, request: LmRequest) -> Result<LmResponse, LmError> {
        let mut attempt = 0;
        loop {
            match self.inner.call(request.clone()).await {
                Err(e) if e.is_retryable() && attempt < self.num_retries => {
                    let wait = self.delay(attempt, &e);
                    tracing::warn!(model = self.inner.model(), attempt = attempt + 1, wait_ms = wait.as_millis() as u64, error = %e, "retrying LM call");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
    delegate_lm_info!();
}
