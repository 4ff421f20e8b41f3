//! History: the last calls an LM made, and `inspect_history` to print them as DSPy does.

use super::{LmError, LmRequest, LmResponse, SharedLM, Usage, LM};
use crate::adapter::Message;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// One recorded call.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// When the call started (RFC 3339, UTC).
    pub timestamp: String,
    /// The model string.
    pub model: String,
    /// The messages sent.
    pub messages: Arc<Vec<Message>>,
    /// One text per choice (empty on failure).
    pub outputs: Vec<String>,
    /// Tokens and cost.
    pub usage: Usage,
    /// Wall time of the call.
    pub latency: Duration,
    /// True when the cache answered.
    pub cache_hit: bool,
    /// The error, when the call failed.
    pub error: Option<String>,
}

/// A capped list of entries.
#[derive(Debug, Default)]
pub struct HistoryLog {
    entries: Mutex<VecDeque<HistoryEntry>>,
    cap: usize,
}

impl HistoryLog {
    /// A log keeping the last `cap` calls.
    pub fn new(cap: usize) -> HistoryLog {
        HistoryLog { entries: Mutex::new(VecDeque::new()), cap }
    }

    fn push(&self, e: HistoryEntry) {
        let mut q = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if q.len() >= self.cap.max(1) {
            q.pop_front();
        }
        q.push_back(e);
    }

    /// The last `n` entries, oldest first.
    pub fn last(&self, n: usize) -> Vec<HistoryEntry> {
        let q = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        q.iter().skip(q.len().saturating_sub(n)).cloned().collect()
    }

    /// Number of entries kept.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// DSPy's `GLOBAL_HISTORY`: every call of every LM built with history (last 10,000).
pub fn global_history() -> &'static HistoryLog {
    static G: OnceLock<HistoryLog> = OnceLock::new();
    G.get_or_init(|| HistoryLog::new(10_000))
}

/// The last `n` calls of any LM, formatted like DSPy's `dspy.inspect_history(n)`.
pub fn inspect_history(n: usize) -> String {
    format_history(&global_history().last(n))
}

/// Format entries the way DSPy's `pretty_print_history` does (without colours).
pub fn format_history(entries: &[HistoryEntry]) -> String {
    let mut out = String::new();
    for e in entries {
        out.push_str("\n\n\n\n");
        out.push_str(&format!("[{}]{}\n", e.timestamp, if e.cache_hit { " (cache hit)" } else { "" }));
        for m in e.messages.iter() {
            let mut role = m.role.clone();
            if let Some(f) = role.get_mut(0..1) {
                f.make_ascii_uppercase();
            }
            out.push_str(&format!("{role} message:\n{}\n\n", m.content.trim()));
        }
        out.push_str("Response:\n");
        match &e.error {
            Some(err) => out.push_str(&format!("(failed: {err})\n")),
            None => {
                for (i, o) in e.outputs.iter().enumerate() {
                    if e.outputs.len() > 1 {
                        out.push_str(&format!("\n(choice {i})\n"));
                    }
                    out.push_str(o.trim());
                    out.push('\n');
                }
            }
        }
        out.push_str(&format!(
            "\n(model {}; {} prompt + {} completion tokens; {:.0} ms)\n\n",
            e.model,
            e.usage.prompt_tokens,
            e.usage.completion_tokens,
            e.latency.as_secs_f64() * 1000.0
        ));
    }
    out
}

fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    let days = (secs / 86400.0).floor() as i64;
    let rem = secs - days as f64 * 86400.0;
    // civil-from-days (Howard Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (h, mi, s) = ((rem / 3600.0) as i64, ((rem % 3600.0) / 60.0) as i64, rem % 60.0);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:09.6}Z")
}

/// The history layer: records each call in its own log and in [`global_history`].
#[derive(Debug)]
pub struct History {
    inner: SharedLM,
    log: Arc<HistoryLog>,
}

impl History {
    /// Wrap an LM, keeping its last `cap` calls.
    pub fn new(inner: SharedLM, cap: usize) -> History {
        History { inner, log: Arc::new(HistoryLog::new(cap)) }
    }

    /// This LM's log.
    pub fn log(&self) -> &Arc<HistoryLog> {
        &self.log
    }
}

#[async_trait::async_trait]
impl LM for History {
    fn model(&self) -> &str {
        self.inner.model()
    }

    async fn call(&self, request: LmRequest) -> Result<LmResponse, LmError> {
        let timestamp = rfc3339(SystemTime::now());
        let started = Instant::now();
        let messages = request.messages.clone();
        let result = self.inner.call(request).await;
        let entry = HistoryEntry {
            timestamp,
            model: self.inner.model().to_string(),
            messages,
            outputs: result.as_ref().map(|r| r.choices.iter().map(|c| c.text.clone()).collect()).unwrap_or_default(),
            usage: result.as_ref().map(|r| r.usage).unwrap_or_default(),
            latency: started.elapsed(),
            cache_hit: result.as_ref().map(|r| r.cache_hit).unwrap_or(false),
            error: result.as_ref().err().map(|e| e.to_string()),
        };
        global_history().push(entry.clone()); // a cheap clone: the messages are shared
        self.log.push(entry);
        result
    }

    fn history(&self) -> Option<Arc<HistoryLog>> {
        Some(self.log.clone())
    }
    delegate_lm_info!(history);
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_are_rfc3339() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_000_000);
        assert_eq!(super::rfc3339(t), "2025-11-24T16:00:00.000000Z");
    }
}
