//! Scoring a candidate program for the search optimizers (COPRO, MIPROv2): an [`Evaluate`] run
//! behind the compile's budget, journaled so a resumed compile never scores the same candidate
//! on the same examples twice.

use super::checkpoint::{key, program_state};
use super::{BudgetMeter, Checkpoint, Program};
use crate::evaluate::{Evaluate, SharedMetric};
use crate::lm::Usage;
use crate::{Example, Result};
use serde_json::{json, Value};
use std::sync::Arc;

/// A finished evaluation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scored {
    /// DSPy's score, 0–100.
    pub score: f64,
}

/// Runs candidates under one budget and one journal.
#[derive(Clone)]
pub(crate) struct Scorer {
    pub metric: SharedMetric,
    pub num_threads: usize,
    pub max_errors: usize,
    pub meter: Arc<BudgetMeter>,
    pub checkpoint: Option<Arc<Checkpoint>>,
    /// DSPy's MIPROv2 scores a failed evaluation 0 and goes on; COPRO lets it fail the compile.
    pub errors_score_zero: bool,
}

impl Scorer {
    /// Score `program` on `devset`. `Ok(None)` when the budget ran out before every example
    /// was scored: that score is not comparable with the others and must be dropped.
    pub async fn score<P: Program>(&self, program: &P, devset: &[Example]) -> Result<Option<Scored>> {
        let k = key("search-eval", &[program_state(program), Value::Array(devset.iter().map(Example::to_json).collect())]);
        if let Some(v) = self.checkpoint.as_ref().and_then(|cp| cp.get(&k)) {
            if let Ok(spent) = serde_json::from_value::<Usage>(v["spent"].clone()) {
                self.meter.restore(spent);
            }
            return Ok(Some(Scored { score: v["score"].as_f64().unwrap_or(0.0) }));
        }
        if self.meter.exhausted().is_some() {
            return Ok(None);
        }
        let evaluate = Evaluate::with_shared(devset.to_vec(), self.metric.clone())
            .num_threads(self.num_threads)
            .max_errors(self.max_errors)
            .display_progress(false);
        let outcome = evaluate.run(Arc::new(self.meter.bind(program))).await;
        let cut_short = self.meter.exhausted().is_some() && !matches!(&outcome, Ok(r) if r.errors == 0);
        if cut_short {
            return Ok(None);
        }
        let score = match outcome {
            Ok(r) => r.score,
            Err(e) if self.errors_score_zero => {
                tracing::error!(error = %e, "an evaluation failed; scoring the candidate 0 as DSPy does");
                0.0
            }
            Err(e) => return Err(e),
        };
        if let Some(cp) = &self.checkpoint {
            cp.put(&k, json!({"score": score, "spent": self.meter.spent()}))?;
        }
        Ok(Some(Scored { score }))
    }
}

/// Record (or replay) the outcome of one proposer step under `key`, with the spend at that
/// point, so a resumed compile gets the same proposals without calling the LM again.
pub(crate) async fn journaled<F>(cp: Option<&Arc<Checkpoint>>, meter: &BudgetMeter, k: &str, run: F) -> Result<Value>
where
    F: std::future::Future<Output = Result<Value>>,
{
    if let Some(v) = cp.and_then(|cp| cp.get(k)) {
        if let Ok(spent) = serde_json::from_value::<Usage>(v["spent"].clone()) {
            meter.restore(spent);
        }
        return Ok(v["value"].clone());
    }
    let value = run.await?;
    if let Some(cp) = cp {
        cp.put(k, json!({"value": value, "spent": meter.spent()}))?;
    }
    Ok(value)
}

/// Check that `cp` holds this optimizer's compile: the first call records `config` under
/// `config/<optimizer>` (the CLI records its own `config`), later ones must match it.
pub(crate) fn ensure_optimizer_config(cp: &Checkpoint, optimizer: &str, config: Value) -> Result<()> {
    let k = format!("config/{optimizer}");
    match cp.get(&k) {
        None => cp.put(&k, config),
        Some(c) if c == config => Ok(()),
        Some(c) => Err(crate::Error::InvalidInput(format!(
            "{} belongs to a different {optimizer} compile (recorded {c}, now {config}); use another directory or delete it",
            cp.path().display()
        ))),
    }
}
