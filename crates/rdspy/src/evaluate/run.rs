//! [`Evaluate`]: run a program over a dev set concurrently and score it.

use super::metrics::SharedMetric;
use super::results::{EvaluationResult, ExampleResult};
use crate::predict::Module;
use crate::{Error, Example, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;

/// DSPy's `dspy.Evaluate`: runs `program` on every dev example (up to `num_threads` at once),
/// scores each prediction with the metric, and reports `round(100 * mean, 2)`.
///
/// A failing example (LM error, unparseable reply) scores `failure_score` and is counted; once
/// more than `max_errors` have failed the run stops with an error saying so (DSPy's default 10).
///
/// ```no_run
/// # async fn demo(program: std::sync::Arc<rdspy::predict::Predict>, dev: Vec<rdspy::Example>) -> rdspy::Result<()> {
/// use rdspy::evaluate::{answer_exact_match, Evaluate};
/// let result = Evaluate::new(dev, answer_exact_match()).num_threads(8).run(program).await?;
/// println!("{}% ({} errors)", result.score, result.errors);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Evaluate {
    devset: Vec<Example>,
    metric: SharedMetric,
    num_threads: usize,
    display_progress: bool,
    max_errors: usize,
    failure_score: f64,
    checkpoint: Option<Arc<crate::optimize::Checkpoint>>,
}

impl Evaluate {
    /// Evaluate on `devset` with `metric`: 16 in flight, progress bar on a terminal,
    /// `max_errors = 10`, `failure_score = 0`.
    pub fn new(devset: Vec<Example>, metric: impl super::Metric + 'static) -> Evaluate {
        Evaluate::with_shared(devset, Arc::new(metric))
    }

    /// The same with an already shared metric.
    pub fn with_shared(devset: Vec<Example>, metric: SharedMetric) -> Evaluate {
        Evaluate { devset, metric, num_threads: 16, display_progress: true, max_errors: 10, failure_score: 0.0, checkpoint: None }
    }

    /// How many examples run at once.
    pub fn num_threads(mut self, n: usize) -> Self {
        self.num_threads = n.max(1);
        self
    }
    /// Show the progress bar (only ever drawn when stderr is a terminal).
    pub fn display_progress(mut self, on: bool) -> Self {
        self.display_progress = on;
        self
    }
    /// Stop once more than this many examples have failed.
    pub fn max_errors(mut self, n: usize) -> Self {
        self.max_errors = n;
        self
    }
    /// The score given to a failed example.
    pub fn failure_score(mut self, s: f64) -> Self {
        self.failure_score = s;
        self
    }
    /// Record every finished example in a compile journal, and replay recorded ones instead of
    /// calling the LM again (resumable compiles).
    pub fn checkpoint(mut self, cp: Option<Arc<crate::optimize::Checkpoint>>) -> Self {
        self.checkpoint = cp;
        self
    }
    /// The dev set.
    pub fn devset(&self) -> &[Example] {
        &self.devset
    }

    /// Run the program on every example. Settings ([`crate::configure`] / [`crate::context`])
    /// in force here reach every task.
    pub async fn run<M: Module + ?Sized + 'static>(&self, program: Arc<M>) -> Result<EvaluationResult> {
        let n = self.devset.len();
        let bar = if self.display_progress && std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(Some(n as u64), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} [{elapsed_precise}<{eta_precise}]")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let sem = Arc::new(tokio::sync::Semaphore::new(self.num_threads));
        let mut tasks = tokio::task::JoinSet::new();
        // Handles of the spawned example tasks themselves, so stopping early cancels their LM calls.
        let mut inner = Vec::with_capacity(n);
        let state = if self.checkpoint.is_some() { crate::optimize::program_state_of(program.as_ref()) } else { serde_json::Value::Null };
        for (i, ex) in self.devset.iter().cloned().enumerate() {
            let (program, metric, sem) = (program.clone(), self.metric.clone(), sem.clone());
            let recorded = self.checkpoint.as_ref().map(|cp| {
                let key = crate::optimize::checkpoint_key("eval", &[state.clone(), ex.to_json()]);
                (cp.clone(), cp.get(&key), key)
            });
            let task = crate::settings::spawn(async move {
                if let Some((_, Some(v), _)) = &recorded {
                    return (i, replay(v), Default::default());
                }
                let _permit = sem.acquire_owned().await.map_err(|e| e.to_string());
                let (out, usage) = crate::trace::track_usage(program.forward(&ex.inputs())).await;
                let scored = out.map(|p| {
                    let s = metric.score(&ex, &p, None);
                    (p, s)
                });
                let scored = scored.map_err(|e| e.to_string());
                if let Some((cp, None, key)) = &recorded {
                    let v = match &scored {
                        Ok((p, s)) => serde_json::json!({"prediction": p.to_json(), "score": s}),
                        Err(e) => serde_json::json!({"error": e}),
                    };
                    if let Err(e) = cp.put(key, v) {
                        tracing::warn!(error = %e, "could not record an evaluated example");
                    }
                }
                (i, scored, usage)
            });
            inner.push(task.abort_handle());
            tasks.spawn(task);
        }
        let mut slots: Vec<Option<ExampleResult>> = vec![None; n];
        let mut usage = std::collections::BTreeMap::new();
        let (mut sum, mut done, mut errors) = (0.0, 0usize, 0usize);
        while let Some(joined) = tasks.join_next().await {
            let (i, outcome, u) = match joined {
                Ok(Ok(v)) => v,
                Ok(Err(e)) | Err(e) => {
                    inner.iter().for_each(tokio::task::AbortHandle::abort);
                    tasks.abort_all();
                    return Err(Error::Other(format!("an evaluation task panicked or was cancelled: {e}")));
                }
            };
            for (m, x) in u {
                // Each task counted its own usage; pass it on to any enclosing `track_usage`.
                crate::trace::add_usage(&m, x);
                *usage.entry(m).or_insert_with(crate::lm::Usage::default) += x;
            }
            let result = match outcome {
                Ok((p, s)) => ExampleResult { example: self.devset[i].clone(), outcome: Ok(p), score: s },
                Err(e) => {
                    errors += 1;
                    tracing::warn!(example = i, error = %e, "evaluation example failed");
                    if errors > self.max_errors {
                        inner.iter().for_each(tokio::task::AbortHandle::abort);
                        tasks.abort_all();
                        bar.abandon();
                        return Err(Error::Other(format!(
                            "evaluation stopped: {errors} examples failed, more than max_errors = {}; last error (example {i}): {e}. \
                             Raise max_errors (--max-errors) or fix the cause",
                            self.max_errors
                        )));
                    }
                    ExampleResult { example: self.devset[i].clone(), outcome: Err(e), score: self.failure_score }
                }
            };
            sum += result.score;
            done += 1;
            slots[i] = Some(result);
            bar.set_message(format!("Average Metric: {sum:.2} / {done} ({:.1}%)", 100.0 * sum / done as f64));
            bar.inc(1);
        }
        bar.finish();
        let results: Vec<ExampleResult> = slots.into_iter().flatten().collect();
        let score = if n == 0 { 0.0 } else { (100.0 * sum / n as f64 * 100.0).round() / 100.0 };
        Ok(EvaluationResult { score, results, errors, usage })
    }
}

/// A recorded example result, as the task would have returned it.
fn replay(v: &serde_json::Value) -> std::result::Result<(crate::Prediction, f64), String> {
    if let Some(e) = v.get("error").and_then(serde_json::Value::as_str) {
        return Err(e.to_string());
    }
    let p = crate::Prediction::from_json(v["prediction"].clone()).map_err(|e| e.to_string())?;
    Ok((p, v["score"].as_f64().unwrap_or(0.0)))
}
