//! Traced rollouts: run a program on an example under a trace, score it, and journal the result.
//!
//! SIMBA and GEPA learn from *how* a program answered, not only from its score: SIMBA turns the
//! best trajectory into a demo or a rule, GEPA shows each predictor's inputs and outputs to a
//! reflection LM. Both need, per (program, example), the prediction, the score and the trace.
//!
//! Every finished rollout is journaled (when a [`Checkpoint`] is given) under a hash of what it
//! depended on: each predictor's instructions, signature, demos and sampling settings
//! (`rollout_id`, temperature), plus the example. A resumed compile replays the same seeded
//! decisions, finds each rollout in the journal and makes no LM call for it. Trace steps are
//! stored by predictor *name* (ids are per process) and mapped back to ids on replay.

use super::{BudgetMeter, Checkpoint, Program};
use crate::lm::Usage;
use crate::trace::{Trace, TraceStep};
use crate::{Example, Prediction, Result};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// How a rollout is scored: `(example, prediction, trace)` → score. The trace is passed only
/// where DSPy passes one (GEPA's traced minibatches).
pub(crate) type Scorer = Arc<dyn Fn(&Example, &Prediction, Option<&Trace>) -> f64 + Send + Sync>;

/// One program run on one example.
#[derive(Debug, Clone)]
pub(crate) struct Rollout {
    /// The prediction, or `None` when the program failed.
    pub prediction: Option<Prediction>,
    /// Why it failed.
    pub error: Option<String>,
    /// The metric's score (the failure score when it failed).
    pub score: f64,
    /// The predictor calls made, in order (up to the failure).
    pub trace: Trace,
}

/// Shared settings of a batch of rollouts.
#[derive(Clone)]
pub(crate) struct Runner {
    pub scorer: Scorer,
    pub pass_trace: bool,
    pub failure_score: f64,
    pub threads: usize,
    pub checkpoint: Option<Arc<Checkpoint>>,
    pub meter: Option<Arc<BudgetMeter>>,
    /// Journal namespace (`simba`, `gepa`), so two optimizers never share entries.
    pub kind: &'static str,
}

/// What a run depends on besides the example: [`super::checkpoint::program_state`] plus each
/// predictor's sampling settings and LM.
fn run_state<P: Program>(p: &P) -> Value {
    let sampling: Vec<Value> = p
        .named_predictors()
        .into_iter()
        .map(|(_, x)| json!([x.config.rollout_id, x.config.temperature, x.lm.as_ref().map(|l| l.model().to_string())]))
        .collect();
    json!([super::checkpoint::program_state(p), sampling])
}

impl Runner {
    /// Run every `(program, example)` job, at most `threads` at once; results in job order.
    ///
    /// A failing program scores `failure_score` (as DSPy's `wrap_program` and GEPA's adapter
    /// do), but when *every* job failed the first error is returned: that is an LM or server
    /// problem, and scoring it as zeros would only hide it.
    pub async fn run<P: Program>(&self, jobs: Vec<(P, Example)>) -> Result<Vec<Rollout>> {
        let n = jobs.len();
        let sem = Arc::new(tokio::sync::Semaphore::new(self.threads.max(1)));
        let mut set = tokio::task::JoinSet::new();
        for (i, (program, example)) in jobs.into_iter().enumerate() {
            let me = self.clone();
            let sem = sem.clone();
            set.spawn(crate::settings::spawn(async move {
                let _permit = sem.acquire_owned().await.ok();
                (i, me.one(program, example).await)
            }));
        }
        let mut slots: Vec<Option<Rollout>> = vec![None; n];
        while let Some(joined) = set.join_next().await {
            let (i, r) = joined
                .map_err(|e| crate::Error::Other(format!("a rollout task panicked: {e}")))?
                .map_err(|e| crate::Error::Other(format!("a rollout task panicked: {e}")))?;
            slots[i] = Some(r?);
        }
        let out: Vec<Rollout> = slots.into_iter().flatten().collect();
        if n > 0 && out.iter().all(|r| r.error.is_some()) {
            let e = out[0].error.clone().unwrap_or_default();
            return Err(crate::Error::Other(format!("all {n} program runs of this step failed; the first error: {e}")));
        }
        Ok(out)
    }

    async fn one<P: Program>(&self, program: P, example: Example) -> Result<Rollout> {
        let ids: HashMap<String, u64> = program.named_predictors().into_iter().map(|(n, p)| (n, p.id())).collect();
        let key = self.checkpoint.as_ref().map(|_| super::checkpoint::key(self.kind, &[run_state(&program), example.to_json()]));
        if let (Some(cp), Some(key)) = (&self.checkpoint, &key) {
            if let Some(v) = cp.get(key) {
                if let (Some(m), Some(spent)) = (&self.meter, v.get("spent")) {
                    m.restore(serde_json::from_value(spent.clone()).unwrap_or_default());
                }
                return replay(&v, &ids);
            }
        }
        let bound = match &self.meter {
            Some(m) => m.bind(&program),
            None => program.clone(),
        };
        let inputs = example.inputs();
        let (out, trace) = crate::trace::with_trace(async { bound.forward(&inputs).await }).await;
        let rollout = match out {
            Ok(p) => {
                let score = (self.scorer)(&example, &p, if self.pass_trace { Some(&trace) } else { None });
                Rollout { prediction: Some(p), error: None, score, trace }
            }
            Err(e) => {
                tracing::warn!(error = %e, "a program run failed; scoring it as a failure");
                Rollout { prediction: None, error: Some(e.to_string()), score: self.failure_score, trace }
            }
        };
        // Failures are not journaled: they are often transient (a server down), and a resumed
        // run should retry them.
        if let (Some(cp), Some(key), None) = (&self.checkpoint, &key, &rollout.error) {
            let names: HashMap<u64, &String> = ids.iter().map(|(n, id)| (*id, n)).collect();
            let steps: Vec<Value> = rollout
                .trace
                .iter()
                .filter_map(|s| names.get(&s.predictor_id).map(|n| json!([n, s.inputs.to_json(), s.outputs.to_json()])))
                .collect();
            let spent = self.meter.as_ref().map(|m| m.spent());
            let pred = rollout.prediction.as_ref().map(Prediction::to_json);
            cp.put(key, json!({"prediction": pred, "score": rollout.score, "trace": steps, "spent": spent}))?;
        }
        Ok(rollout)
    }
}

fn replay(v: &Value, ids: &HashMap<String, u64>) -> Result<Rollout> {
    let prediction = match v.get("prediction") {
        Some(Value::Null) | None => None,
        Some(p) => Some(Prediction::from_json(p.clone())?),
    };
    let mut trace = Vec::new();
    for s in v.get("trace").and_then(Value::as_array).into_iter().flatten() {
        let Some(id) = s[0].as_str().and_then(|n| ids.get(n)) else { continue };
        trace.push(TraceStep {
            predictor_id: *id,
            inputs: Example::from_json(s[1].clone())?,
            outputs: Prediction::from_json(s[2].clone())?,
            usage: Usage::default(),
        });
    }
    Ok(Rollout { prediction, error: None, score: v["score"].as_f64().unwrap_or(0.0), trace })
}

/// Journal an LM-written text (a SIMBA rule, a GEPA instruction) under `key_parts`, or replay it.
pub(crate) async fn recorded<F>(
    checkpoint: Option<&Arc<Checkpoint>>,
    meter: Option<&Arc<BudgetMeter>>,
    kind: &str,
    key_parts: &[Value],
    make: F,
) -> Result<Value>
where
    F: std::future::Future<Output = Result<Value>>,
{
    let key = super::checkpoint::key(kind, key_parts);
    if let Some(v) = checkpoint.and_then(|cp| cp.get(&key)) {
        if let (Some(m), Some(spent)) = (meter, v.get("spent")) {
            m.restore(serde_json::from_value(spent.clone()).unwrap_or_default());
        }
        return Ok(v["value"].clone());
    }
    let value = make.await?;
    if let Some(cp) = checkpoint {
        cp.put(&key, json!({"value": value, "spent": meter.map(|m| m.spent())}))?;
    }
    Ok(value)
}
