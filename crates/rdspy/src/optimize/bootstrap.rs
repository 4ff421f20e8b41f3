//! `BootstrapFewShot`: demos from the teacher's own successful traces.

use super::{reset_copy, LabeledFewShot, Optimizer, Program};
use crate::evaluate::SharedMetric;
use crate::settings::{self, Settings};
use crate::{Error, Example, Result};
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// DSPy's `BootstrapFewShot`, with its defaults: `max_bootstrapped_demos = 4`,
/// `max_labeled_demos = 16`, `max_rounds = 1`, `max_errors = 10`.
///
/// 1. The teacher (a copy of the student unless given) first gets `LabeledFewShot(max_labeled_demos)` demos.
/// 2. Training examples are tried in order until `max_bootstrapped_demos` succeed; each gets up to
///    `max_rounds` attempts (rounds after the first use `rollout_id = round`, `temperature = 1.0`
///    so they are fresh samples). The teacher runs with the example removed from its own demos,
///    under a trace; success is `metric(example, prediction, Some(trace))` (≥ `metric_threshold`
///    when set, else non-zero), or always when there is no metric.
/// 3. Every step of a successful trace becomes a demo (`augmented: true`, inputs, outputs) of the
///    predictor that made it; if one predictor ran several times, one step is kept (50/50 the
///    last or a random earlier one).
/// 4. Each student predictor gets its bootstrapped demos plus labeled examples from the unused
///    training examples (shuffled with seed 0) up to `max_labeled_demos`.
#[derive(Clone)]
pub struct BootstrapFewShot {
    /// Scores a teacher run; `None` accepts every run that does not fail.
    pub metric: Option<SharedMetric>,
    /// Success needs `score >= threshold` (else any non-zero score).
    pub metric_threshold: Option<f64>,
    /// Settings the teacher runs under (e.g. a stronger LM).
    pub teacher_settings: Option<Settings>,
    /// Bootstrapped demos per predictor.
    pub max_bootstrapped_demos: usize,
    /// Total demos per predictor (bootstrapped + labeled).
    pub max_labeled_demos: usize,
    /// Attempts per training example.
    pub max_rounds: usize,
    /// Teacher failures tolerated before the compile fails.
    pub max_errors: usize,
    /// Seed of the labeled sampling and shuffles (DSPy: 0).
    pub seed: u64,
    /// Journal of finished teacher runs, for resuming (see [`super::Checkpoint`]).
    pub checkpoint: Option<Arc<super::Checkpoint>>,
}

impl Default for BootstrapFewShot {
    fn default() -> Self {
        BootstrapFewShot {
            metric: None,
            metric_threshold: None,
            teacher_settings: None,
            max_bootstrapped_demos: 4,
            max_labeled_demos: 16,
            max_rounds: 1,
            max_errors: 10,
            seed: 0,
            checkpoint: None,
        }
    }
}

/// What bootstrapping found: demos per predictor name, and which training examples they used.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bootstrapped {
    pub traces: BTreeMap<String, Vec<Example>>,
    pub used: Vec<usize>,
}

impl BootstrapFewShot {
    /// With a metric and DSPy's defaults.
    pub fn new(metric: impl crate::evaluate::Metric + 'static) -> Self {
        BootstrapFewShot { metric: Some(Arc::new(metric)), ..Default::default() }
    }

    /// Compile with an explicit teacher program (DSPy's `compile(student, teacher=...)`).
    pub async fn compile_with_teacher<P: Program>(&self, student: &P, teacher: Option<&P>, trainset: &[Example]) -> Result<P> {
        let student = reset_copy(student);
        let mut teacher = teacher.cloned().unwrap_or_else(|| student.clone());
        let compiled = teacher.named_predictors().iter().any(|(_, p)| !p.demos.is_empty());
        if self.max_labeled_demos > 0 && !compiled {
            teacher = LabeledFewShot { k: self.max_labeled_demos, sample: true, seed: self.seed }.apply(&teacher, trainset);
        }
        let found = self.bootstrap(&teacher, trainset).await?;
        Ok(self.train(student, trainset, &found))
    }

    async fn bootstrap<P: Program>(&self, teacher: &P, trainset: &[Example]) -> Result<Bootstrapped> {
        let names: HashMap<u64, String> = teacher.named_predictors().into_iter().map(|(n, p)| (p.id(), n)).collect();
        let mut found = Bootstrapped::default();
        for name in names.values() {
            found.traces.entry(name.clone()).or_default();
        }
        let mut errors = 0usize;
        for (idx, example) in trainset.iter().enumerate() {
            if found.used.len() >= self.max_bootstrapped_demos {
                break;
            }
            for round in 0..self.max_rounds.max(1) {
                match self.one_recorded(teacher, example, round, &names).await {
                    Ok(Some(demos)) => {
                        for (name, d) in demos {
                            found.traces.entry(name).or_default().push(d);
                        }
                        found.used.push(idx);
                        break;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        errors += 1;
                        tracing::warn!(example = idx, round, error = %e, "bootstrap: teacher failed");
                        if errors >= self.max_errors {
                            return Err(Error::Other(format!(
                                "bootstrapping stopped: {errors} teacher runs failed (max_errors = {}); last error on training example {idx}: {e}",
                                self.max_errors
                            )));
                        }
                    }
                }
            }
        }
        Ok(found)
    }

    /// [`Self::one`], replayed from the checkpoint when it was already done.
    async fn one_recorded<P: Program>(
        &self,
        teacher: &P,
        example: &Example,
        round: usize,
        names: &HashMap<u64, String>,
    ) -> Result<Option<Vec<(String, Example)>>> {
        let Some(cp) = &self.checkpoint else { return self.one(teacher, example, round, names).await };
        let threshold = self.metric_threshold.map(Value::from).unwrap_or(Value::Null);
        let key = super::checkpoint::key(
            "bootstrap",
            &[super::checkpoint::program_state(teacher), example.to_json(), Value::from(round), threshold],
        );
        if let Some(v) = cp.get(&key) {
            if let Some(e) = v.get("error").and_then(Value::as_str) {
                return Err(Error::Other(e.to_string()));
            }
            let Some(demos) = v.get("demos").and_then(Value::as_array) else { return Ok(None) };
            let mut out = Vec::new();
            for d in demos {
                let name = d[0].as_str().unwrap_or_default().to_string();
                out.push((name, Example::from_json(d[1].clone())?));
            }
            return Ok(Some(out));
        }
        let result = self.one(teacher, example, round, names).await;
        let record = match &result {
            Ok(Some(demos)) => {
                serde_json::json!({"demos": demos.iter().map(|(n, d)| serde_json::json!([n, d.to_json()])).collect::<Vec<_>>()})
            }
            Ok(None) => serde_json::json!({"fail": true}),
            Err(e) => serde_json::json!({"error": e.to_string()}),
        };
        cp.put(&key, record)?;
        result
    }

    /// One teacher attempt on one example: `Some(demos)` on success.
    async fn one<P: Program>(
        &self,
        teacher: &P,
        example: &Example,
        round: usize,
        names: &HashMap<u64, String>,
    ) -> Result<Option<Vec<(String, Example)>>> {
        let mut teacher = teacher.clone();
        for (_, pred) in teacher.named_predictors_mut() {
            pred.demos.retain(|d| d != example);
            if round > 0 {
                pred.config.rollout_id = Some(round as u64);
                pred.config.temperature = Some(1.0);
            }
        }
        let inputs = example.inputs();
        let run = crate::trace::with_trace(async { teacher.forward(&inputs).await });
        let (prediction, trace) = match &self.teacher_settings {
            Some(s) => settings::context(s.clone(), run).await,
            None => run.await,
        };
        let prediction = match prediction {
            // Assertions: a run whose `rdspy::assert` still failed after backtracking violates
            // the program's constraints, so its trace gives no demos; skip the example like a
            // metric failure instead of counting it toward max_errors.
            Err(e) if crate::assertions::is_assertion_failure(&e) => return Ok(None),
            other => other?,
        };
        let success = match &self.metric {
            None => true,
            Some(m) => {
                let score = m.score(example, &prediction, Some(&trace));
                match self.metric_threshold {
                    Some(t) => score >= t,
                    None => score != 0.0,
                }
            }
        };
        if !success {
            return Ok(None);
        }
        let mut per: BTreeMap<String, Vec<Example>> = BTreeMap::new();
        for step in &trace {
            let Some(name) = names.get(&step.predictor_id) else { continue };
            let mut demo = Example::new().with("augmented", true);
            for (k, v) in step.inputs.iter().chain(step.outputs.as_map()) {
                demo.set(k.clone(), v.clone());
            }
            per.entry(name.clone()).or_default().push(demo);
        }
        let mut out = Vec::new();
        for (name, demos) in per {
            let pick = if demos.len() > 1 {
                let mut rng = crate::data::rng_for(hash_demos(&demos));
                if rng.gen::<f64>() < 0.5 {
                    demos[..demos.len() - 1].choose(&mut rng).cloned().unwrap_or_else(|| demos[0].clone())
                } else {
                    demos[demos.len() - 1].clone()
                }
            } else {
                demos[0].clone()
            };
            out.push((name, pick));
        }
        Ok(Some(out))
    }

    /// DSPy's `_train`: bootstrapped demos, then labeled examples from the unused ones.
    pub(crate) fn train<P: Program>(&self, mut student: P, trainset: &[Example], found: &Bootstrapped) -> P {
        let mut raw: Vec<Example> = trainset.iter().enumerate().filter(|(i, _)| !found.used.contains(i)).map(|(_, e)| e.clone()).collect();
        // Python's `random.Random(0)` draws, as DSPy makes them: one shuffle of the unused
        // examples, then one generator sampling each predictor's labeled demos from all of them.
        crate::data::PyRandom::new(self.seed).shuffle(&mut raw);
        let mut rng = crate::data::PyRandom::new(self.seed);
        for (name, pred) in student.named_predictors_mut() {
            let mut demos: Vec<Example> =
                found.traces.get(&name).map(|d| d.iter().take(self.max_bootstrapped_demos).cloned().collect()).unwrap_or_default();
            let n = self.max_labeled_demos.saturating_sub(demos.len()).min(raw.len());
            demos.extend(rng.sample(&raw, n));
            pred.demos = demos;
        }
        student
    }
}

fn hash_demos(demos: &[Example]) -> u64 {
    use sha2::{Digest, Sha256};
    let json = Value::Array(demos.iter().map(Example::to_json).collect()).to_string();
    let digest = Sha256::digest(json.as_bytes());
    u64::from_le_bytes(digest[..8].try_into().unwrap_or([0; 8]))
}

#[async_trait::async_trait]
impl Optimizer for BootstrapFewShot {
    async fn compile<P: Program>(&self, student: &P, trainset: &[Example], _valset: Option<&[Example]>) -> Result<P> {
        self.compile_with_teacher(student, None, trainset).await
    }
}
