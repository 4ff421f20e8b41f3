//! `Parallel`: run modules over many inputs at once, with a cap on concurrency and on errors.

use super::Module;
use crate::{settings, Error, Example, Prediction, Result};
use std::sync::Arc;
use std::time::Duration;

/// What a [`Parallel`] run produced: one slot per input, in input order.
#[derive(Debug, Default)]
pub struct ParallelResults {
    /// The prediction for each input, `None` where it failed.
    pub results: Vec<Option<Prediction>>,
    /// The inputs that failed, in input order (DSPy's `failed_examples`).
    pub failed_examples: Vec<Example>,
    /// Their errors, in the same order (DSPy's `exceptions`).
    pub exceptions: Vec<Error>,
}

/// DSPy's `dspy.Parallel`: run `(module, example)` pairs with at most `num_threads` running at
/// once. A failed pair leaves `None` in its slot and its error in
/// [`ParallelResults::exceptions`]; when `max_errors` pairs have failed, the pairs still
/// running are cancelled (their LM calls stop) and the run returns an error.
///
/// Each pair runs in its own task started with [`settings::spawn`], so the caller's settings
/// scope and trace reach it. Modules are shared as `Arc<dyn Module>` because the tasks
/// outlive no borrow. DSPy returns failures only with `return_failed_examples=True`; here
/// they are always in the result. Without `timeout` a pair may run as long as its LM calls
/// do; with it, a pair still running after `timeout` fails (DSPy's straggler resubmission is
/// not reproduced).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use rdspy::predict::{Parallel, Predict};
/// use rdspy::{Example, Signature};
/// let qa = Predict::new(Signature::parse("question -> answer").unwrap());
/// let inputs = vec![Example::new().with("question", "2+2?")];
/// // No LM is configured, so the pair fails and is reported, not panicked on.
/// let out = Parallel::new().max_errors(5).run(&qa, &inputs).await.unwrap();
/// assert!(out.results[0].is_none());
/// assert_eq!(out.failed_examples.len(), 1);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct Parallel {
    /// Pairs running at once (DSPy: `settings.num_threads`, 8).
    pub num_threads: usize,
    /// Failures that stop the run (DSPy: `settings.max_errors`, 10).
    pub max_errors: usize,
    /// Give the module `example.inputs()` rather than the whole example (DSPy default: true).
    pub access_examples: bool,
    /// Per-pair time limit.
    pub timeout: Option<Duration>,
}

impl Default for Parallel {
    fn default() -> Self {
        Parallel { num_threads: 8, max_errors: 10, access_examples: true, timeout: None }
    }
}

impl Parallel {
    /// DSPy's defaults: 8 at once, stop at 10 errors.
    pub fn new() -> Parallel {
        Parallel::default()
    }

    /// Pairs running at once (at least 1).
    pub fn num_threads(mut self, n: usize) -> Parallel {
        self.num_threads = n.max(1);
        self
    }

    /// Failures that stop the run.
    pub fn max_errors(mut self, n: usize) -> Parallel {
        self.max_errors = n;
        self
    }

    /// Pass whole examples (labels included) instead of their inputs.
    pub fn access_examples(mut self, yes: bool) -> Parallel {
        self.access_examples = yes;
        self
    }

    /// Fail a pair still running after `limit`.
    pub fn timeout(mut self, limit: Duration) -> Parallel {
        self.timeout = Some(limit);
        self
    }

    /// Run one module over many examples.
    pub async fn run<M: Module + Clone + 'static>(&self, module: &M, examples: &[Example]) -> Result<ParallelResults> {
        let shared: Arc<dyn Module> = Arc::new(module.clone());
        self.forward(examples.iter().map(|e| (shared.clone(), e.clone())).collect()).await
    }

    /// DSPy's `Parallel.forward(exec_pairs)`: run each module on its example.
    pub async fn forward(&self, pairs: Vec<(Arc<dyn Module>, Example)>) -> Result<ParallelResults> {
        let total = pairs.len();
        let sem = Arc::new(tokio::sync::Semaphore::new(self.num_threads.max(1)));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Result<Prediction>)>();
        let mut tasks = AbortOnDrop(Vec::with_capacity(total));
        let mut examples = Vec::with_capacity(total);
        for (idx, (module, example)) in pairs.into_iter().enumerate() {
            let inputs = if self.access_examples { example.inputs() } else { example.clone() };
            examples.push(example);
            let (sem, tx, limit) = (sem.clone(), tx.clone(), self.timeout);
            tasks.0.push(settings::spawn(async move {
                let Ok(_permit) = sem.acquire_owned().await else { return };
                let result = match limit {
                    Some(t) => tokio::time::timeout(t, module.forward(&inputs))
                        .await
                        .unwrap_or_else(|_| Err(Error::Other(format!("Parallel: pair {idx} was still running after {t:?} (timeout)")))),
                    None => module.forward(&inputs).await,
                };
                let _ = tx.send((idx, result));
            }));
        }
        drop(tx);
        let mut slots: Vec<Option<Result<Prediction>>> = (0..total).map(|_| None).collect();
        let mut errors = 0usize;
        while let Some((idx, result)) = rx.recv().await {
            if let Err(e) = &result {
                errors += 1;
                tracing::warn!(pair = idx, error = %e, "Parallel: pair failed");
                if errors >= self.max_errors {
                    return Err(Error::Other(format!(
                        "Parallel: stopped after {errors} of {total} pairs failed (max_errors = {}); pair {idx} failed with: {e}",
                        self.max_errors
                    )));
                }
            }
            slots[idx] = Some(result);
        }
        let mut out = ParallelResults::default();
        for (idx, (slot, example)) in slots.into_iter().zip(examples).enumerate() {
            // A task that sent nothing panicked.
            match slot.unwrap_or_else(|| Err(Error::Other(format!("Parallel: pair {idx} panicked")))) {
                Ok(p) => out.results.push(Some(p)),
                Err(e) => {
                    out.results.push(None);
                    out.failed_examples.push(example);
                    out.exceptions.push(e);
                }
            }
        }
        Ok(out)
    }
}

/// Aborts the pair tasks when the run stops early or its caller drops it, so no LM call
/// outlives the run.
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}
