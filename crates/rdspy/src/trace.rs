//! Per-call traces: which predictor ran, on what inputs, with what outputs.
//!
//! DSPy appends `(predictor, inputs, prediction)` to `settings.trace`; optimizers such as
//! BootstrapFewShot run a teacher under a fresh trace and turn successful steps into demos.
//! Here the trace is a task-local collector, so concurrent runs keep separate traces.

use crate::lm::Usage;
use crate::{Example, Prediction};
use std::future::Future;
use std::sync::{Arc, Mutex};

/// One predictor call.
#[derive(Debug, Clone)]
pub struct TraceStep {
    /// The predictor's identity (stable across clones of the program, so a step recorded on a
    /// teacher copy maps to the student's predictor of the same name).
    pub predictor_id: u64,
    /// The inputs it was given.
    pub inputs: Example,
    /// What it returned.
    pub outputs: Prediction,
    /// Tokens the call used.
    pub usage: Usage,
}

/// A program run's trace.
pub type Trace = Vec<TraceStep>;

/// DSPy's `max_trace_size`.
const MAX_TRACE: usize = 10_000;

type Sink = Arc<Mutex<Trace>>;

tokio::task_local! {
    static SINK: Sink;
}

/// Run `fut` recording every predictor call made inside it (including in tasks started with
/// [`crate::settings::spawn`]); returns its output and the trace.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (out, trace) = rdspy::trace::with_trace(async { 1 + 1 }).await;
/// assert_eq!((out, trace.len()), (2, 0));
/// # });
/// ```
pub async fn with_trace<F: Future>(fut: F) -> (F::Output, Trace) {
    let sink: Sink = Arc::new(Mutex::new(Vec::new()));
    let out = SINK.scope(sink.clone(), fut).await;
    let trace = std::mem::take(&mut *sink.lock().unwrap_or_else(|e| e.into_inner()));
    (out, trace)
}

type UsageSink = Arc<Mutex<std::collections::BTreeMap<String, Usage>>>;

tokio::task_local! {
    static USAGE: UsageSink;
}

/// Run `fut` summing the LM usage of every predictor call inside it, per model — DSPy's
/// `track_usage` / `Prediction.get_lm_usage()` for a whole program run.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (_, usage) = rdspy::trace::track_usage(async {}).await;
/// assert!(usage.is_empty());
/// # });
/// ```
pub async fn track_usage<F: Future>(fut: F) -> (F::Output, std::collections::BTreeMap<String, Usage>) {
    let sink: UsageSink = Arc::default();
    let out = USAGE.scope(sink.clone(), fut).await;
    let usage = std::mem::take(&mut *sink.lock().unwrap_or_else(|e| e.into_inner()));
    (out, usage)
}

/// Add one call's usage to the current [`track_usage`] scope, if any.
pub fn add_usage(model: &str, usage: Usage) {
    let _ = USAGE.try_with(|s| *s.lock().unwrap_or_else(|e| e.into_inner()).entry(model.to_string()).or_default() += usage);
}

/// True when a trace is being collected here (callers skip building steps otherwise).
pub fn is_active() -> bool {
    SINK.try_with(|_| ()).is_ok()
}

/// Record a step in the current trace, if one is being collected.
pub fn record(step: TraceStep) {
    let _ = SINK.try_with(|s| {
        let mut t = s.lock().unwrap_or_else(|e| e.into_inner());
        if t.len() < MAX_TRACE {
            t.push(step);
        }
    });
}

/// Wrap `fut` so it records into the current trace wherever it runs.
pub(crate) fn inherit<F: Future>(fut: F) -> impl Future<Output = F::Output> {
    let sink = SINK.try_with(Clone::clone).ok();
    let usage = USAGE.try_with(Clone::clone).ok();
    async move {
        let fut = async move {
            match usage {
                Some(u) => USAGE.scope(u, fut).await,
                None => fut.await,
            }
        };
        match sink {
            Some(s) => SINK.scope(s, fut).await,
            None => fut.await,
        }
    }
}
