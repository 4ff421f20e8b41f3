//! The GEPA search loop (the `gepa` engine's `GEPAEngine.run` with its reflective-mutation and
//! merge proposers), over candidates that are one instruction per predictor.

use super::merge::{Merger, View};
use super::pareto::{argmax_first, ParetoFront};
use super::proposer::{propose, reflective_dataset, BatchSampler};
use super::{Gepa, GepaCandidate, GepaProposal, GepaResult};
use crate::lm::SharedLM;
use crate::optimize::traced::{recorded, Rollout, Runner};
use crate::optimize::{BudgetMeter, Program, StopReason};
use crate::{Example, Result};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::sync::Arc;

pub(super) struct Search<'a, P> {
    cfg: &'a Gepa,
    student: &'a P,
    train: &'a [Example],
    val: &'a [Example],
    max_calls: usize,
    meter: Option<Arc<BudgetMeter>>,
    names: Vec<String>,
    ids: Vec<u64>,
    // State, as GEPAState.
    candidates: Vec<Vec<String>>,
    parents: Vec<Vec<usize>>,
    val_scores: Vec<Vec<f64>>,
    discovered_at: Vec<usize>,
    next_component: Vec<usize>,
    front: ParetoFront,
    calls: usize,
    full_evals: usize,
    proposals: Vec<GepaProposal>,
    sampler: Option<BatchSampler>,
    /// Shared by parent selection, minibatch sampling and merges (one `random.Random(seed)` in GEPA).
    rng: ChaCha8Rng,
    /// Picks which call of a predictor to reflect on (DSPy's adapter has its own RNG).
    trace_rng: ChaCha8Rng,
}

fn sum(xs: &[f64]) -> f64 {
    xs.iter().sum()
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        f64::NEG_INFINITY
    } else {
        sum(xs) / xs.len() as f64
    }
}

impl<'a, P: Program> Search<'a, P> {
    pub fn new(
        cfg: &'a Gepa,
        student: &'a P,
        train: &'a [Example],
        val: &'a [Example],
        max_calls: usize,
        meter: Option<Arc<BudgetMeter>>,
    ) -> Self {
        let preds = student.named_predictors();
        Search {
            cfg,
            student,
            train,
            val,
            max_calls,
            meter,
            names: preds.iter().map(|(n, _)| n.clone()).collect(),
            ids: preds.iter().map(|(_, p)| p.id()).collect(),
            candidates: vec![],
            parents: vec![],
            val_scores: vec![],
            discovered_at: vec![],
            next_component: vec![],
            front: ParetoFront::default(),
            calls: 0,
            full_evals: 0,
            proposals: vec![],
            sampler: None,
            rng: crate::data::rng_for(cfg.seed),
            trace_rng: crate::data::rng_for(cfg.seed.wrapping_add(1)),
        }
    }

    fn runner(&self, traced: bool) -> Runner {
        let metric = self.cfg.metric.clone();
        Runner {
            scorer: Arc::new(move |e, p, t| metric.feedback(e, p, t, None, None).score),
            pass_trace: traced,
            failure_score: self.cfg.failure_score,
            threads: self.cfg.num_threads,
            checkpoint: self.cfg.checkpoint.clone(),
            meter: self.meter.clone(),
            kind: "gepa",
        }
    }

    /// The student with a candidate's instructions.
    fn build(&self, candidate: &[String]) -> P {
        let mut p = self.student.clone();
        for ((name, pred), text) in p.named_predictors_mut().into_iter().zip(candidate) {
            debug_assert!(self.names.contains(&name));
            pred.set_signature(pred.signature().with_instructions(text.clone()));
        }
        p
    }

    async fn evaluate(&self, candidate: &[String], examples: &[Example], traced: bool) -> Result<Vec<Rollout>> {
        let program = self.build(candidate);
        self.runner(traced).run(examples.iter().map(|e| (program.clone(), e.clone())).collect()).await
    }

    fn exhausted(&self) -> Option<crate::optimize::Exhausted> {
        self.meter.as_ref().and_then(|m| m.exhausted())
    }

    fn aggregate(&self) -> Vec<f64> {
        self.val_scores.iter().map(|s| mean(s)).collect()
    }

    fn add(&mut self, candidate: Vec<String>, parents: Vec<usize>, scores: Vec<f64>, discovered_at: usize) -> usize {
        let idx = self.candidates.len();
        let next = parents.iter().map(|&p| self.next_component[p]).max().unwrap_or(0);
        self.next_component.push(next);
        self.candidates.push(candidate);
        self.parents.push(parents);
        self.front.update(idx, &scores);
        self.val_scores.push(scores);
        self.discovered_at.push(discovered_at);
        self.full_evals += 1;
        idx
    }

    /// Score a candidate on the valset and add it; `None` when the LM budget cut the evaluation.
    async fn full_eval_and_add(&mut self, candidate: Vec<String>, parents: Vec<usize>) -> Result<Option<usize>> {
        let runs = self.evaluate(&candidate, self.val, false).await?;
        if self.exhausted().is_some() {
            return Ok(None);
        }
        let at = self.calls;
        self.calls += runs.len();
        let scores: Vec<f64> = runs.iter().map(|r| r.score).collect();
        let idx = self.add(candidate, parents, scores, at);
        tracing::info!(idx, score = mean(&self.val_scores[idx]), "GEPA: new candidate on the valset");
        Ok(Some(idx))
    }

    pub async fn run(mut self) -> Result<GepaResult<P>> {
        let seed: Vec<String> = self.student.named_predictors().iter().map(|(_, p)| p.signature().instructions().to_string()).collect();
        let runs = self.evaluate(&seed, self.val, false).await?;
        let scores: Vec<f64> = runs.iter().map(|r| r.score).collect();
        self.front = ParetoFront::new(&scores);
        self.calls = runs.len();
        self.add(seed, vec![], scores, 0);
        let mut stop = StopReason::Finished;
        if let Some(e) = self.exhausted() {
            return Err(crate::Error::Other(format!("GEPA could not score the student on the valset: {e}")));
        }
        let reflection_lm: Option<SharedLM> = self
            .cfg
            .reflection_lm
            .clone()
            .or_else(|| crate::settings::current().lm)
            .or_else(|| self.student.named_predictors().into_iter().find_map(|(_, p)| p.lm.clone()))
            .map(|lm| match &self.meter {
                Some(m) => m.wrap(lm),
                None => lm,
            });
        let reflection_lm = reflection_lm.ok_or(crate::Error::NoLm)?;
        let mut merger = self.cfg.use_merge.then(|| Merger::new(self.cfg.max_merge_invocations));
        let mut iteration = 0usize;

        while self.calls < self.max_calls {
            if let Some(e) = self.exhausted() {
                stop = StopReason::Budget(e);
                break;
            }
            iteration += 1;
            if let Some(m) = merger.as_mut() {
                if m.due > 0 && m.last_iter_found_new {
                    m.last_iter_found_new = false;
                    let aggregate = self.aggregate();
                    let pool = self.front.dominators(&aggregate);
                    let view =
                        View { candidates: &self.candidates, parents: &self.parents, aggregate: &aggregate, val_scores: &self.val_scores };
                    if let Some(plan) = m.plan(&view, &pool, &mut self.rng) {
                        let subset: Vec<Example> = plan.subsample.iter().map(|&i| self.val[i].clone()).collect();
                        let runs = self.evaluate(&plan.candidate, &subset, false).await?;
                        if let Some(e) = self.exhausted() {
                            stop = StopReason::Budget(e);
                            break;
                        }
                        self.calls += runs.len();
                        let new: f64 = runs.iter().map(|r| r.score).sum();
                        let p1: f64 = plan.subsample.iter().map(|&i| self.val_scores[plan.id1][i]).sum();
                        let p2: f64 = plan.subsample.iter().map(|&i| self.val_scores[plan.id2][i]).sum();
                        let changes = self.changes(&self.candidates[plan.ancestor], &plan.candidate);
                        let mut proposal = GepaProposal {
                            iteration,
                            kind: "merge".into(),
                            parents: vec![plan.id1, plan.id2],
                            changes,
                            before: p1.max(p2),
                            after: new,
                            accepted_as: None,
                        };
                        if new >= p1.max(p2) {
                            match self.full_eval_and_add(plan.candidate, vec![plan.id1, plan.id2]).await? {
                                Some(idx) => {
                                    proposal.accepted_as = Some(idx);
                                    m.due -= 1;
                                    m.tested += 1;
                                }
                                None => {
                                    stop = StopReason::Budget(self.exhausted().expect("checked by full_eval_and_add"));
                                    self.proposals.push(proposal);
                                    break;
                                }
                            }
                        } else {
                            tracing::info!(iteration, new, parents = p1.max(p2), "GEPA: merge rejected");
                        }
                        self.proposals.push(proposal);
                        continue;
                    }
                }
                m.last_iter_found_new = false;
            }
            match self.reflect(iteration, &reflection_lm).await? {
                Step::Stop(reason) => {
                    stop = reason;
                    break;
                }
                Step::Accepted => {
                    if let Some(m) = merger.as_mut() {
                        m.last_iter_found_new = true;
                        if m.tested < m.max {
                            m.due += 1;
                        }
                    }
                }
                Step::Nothing => {}
            }
        }
        Ok(self.finish(stop))
    }

    fn changes(&self, from: &[String], to: &[String]) -> Vec<(String, String)> {
        self.names.iter().zip(from.iter().zip(to)).filter(|(_, (a, b))| a != b).map(|(n, (_, b))| (n.clone(), b.clone())).collect()
    }

    /// One reflective-mutation iteration.
    async fn reflect(&mut self, iteration: usize, lm: &SharedLM) -> Result<Step> {
        let aggregate = self.aggregate();
        let parent = if self.cfg.pareto_selection { self.front.select(&aggregate, &mut self.rng) } else { argmax_first(&aggregate) };
        let ids = self.sampler_next(iteration);
        let batch: Vec<Example> = ids.iter().map(|&i| self.train[i].clone()).collect();
        let before_runs = self.evaluate(&self.candidates[parent].clone(), &batch, true).await?;
        if let Some(e) = self.exhausted() {
            return Ok(Step::Stop(StopReason::Budget(e)));
        }
        self.calls += before_runs.len();
        let before: Vec<f64> = before_runs.iter().map(|r| r.score).collect();
        if self.cfg.skip_perfect_score && before.iter().all(|s| *s >= self.cfg.perfect_score) {
            tracing::info!(iteration, parent, "GEPA: all minibatch scores perfect; skipping");
            return Ok(Step::Nothing);
        }
        let components: Vec<usize> = if self.cfg.all_components {
            (0..self.names.len()).collect()
        } else {
            let c = self.next_component[parent];
            self.next_component[parent] = (c + 1) % self.names.len();
            vec![c]
        };
        let mut child = self.candidates[parent].clone();
        let mut changes = Vec::new();
        for c in components {
            let items =
                reflective_dataset(&self.names[c], self.ids[c], &batch, &before_runs, self.cfg.metric.as_ref(), &mut self.trace_rng);
            if items.is_empty() {
                tracing::warn!(component = %self.names[c], "GEPA: no usable runs to reflect on");
                continue;
            }
            let current = self.candidates[parent][c].clone();
            let key = [json!(current), Value::Array(items.clone()), json!(lm.model())];
            let text = recorded(self.cfg.checkpoint.as_ref(), self.meter.as_ref(), "gepa-propose", &key, async {
                Ok(Value::String(propose(lm.clone(), &current, items).await?))
            })
            .await;
            match text {
                Ok(Value::String(t)) => {
                    tracing::info!(iteration, component = %self.names[c], instruction = %t, "GEPA: proposed");
                    child[c] = t.clone();
                    changes.push((self.names[c].clone(), t));
                }
                Ok(other) => tracing::warn!(%other, "GEPA: the journal holds a non-text proposal; ignoring it"),
                Err(e) => tracing::warn!(iteration, error = %e, "GEPA: the reflection LM failed; no proposal this iteration"),
            }
        }
        if let Some(e) = self.exhausted() {
            return Ok(Step::Stop(StopReason::Budget(e)));
        }
        if changes.is_empty() {
            return Ok(Step::Nothing);
        }
        let after_runs = self.evaluate(&child, &batch, true).await?;
        if let Some(e) = self.exhausted() {
            return Ok(Step::Stop(StopReason::Budget(e)));
        }
        self.calls += after_runs.len();
        let after: Vec<f64> = after_runs.iter().map(|r| r.score).collect();
        let mut proposal = GepaProposal {
            iteration,
            kind: "reflective".into(),
            parents: vec![parent],
            changes,
            before: sum(&before),
            after: sum(&after),
            accepted_as: None,
        };
        if sum(&after) <= sum(&before) {
            tracing::info!(iteration, before = sum(&before), after = sum(&after), "GEPA: proposal rejected on the minibatch");
            self.proposals.push(proposal);
            return Ok(Step::Nothing);
        }
        let added = self.full_eval_and_add(child, vec![parent]).await?;
        proposal.accepted_as = added;
        self.proposals.push(proposal);
        match added {
            Some(_) => Ok(Step::Accepted),
            None => Ok(Step::Stop(StopReason::Budget(self.exhausted().expect("checked by full_eval_and_add")))),
        }
    }

    fn sampler_next(&mut self, iteration: usize) -> Vec<usize> {
        let n = self.train.len();
        let rng = &mut self.rng;
        let sampler = self.sampler.get_or_insert_with(|| BatchSampler::new(self.cfg.reflection_minibatch_size));
        sampler.next(iteration - 1, n, rng)
    }

    fn finish(self, stop: StopReason) -> GepaResult<P> {
        let aggregate = self.aggregate();
        let best = argmax_first(&aggregate);
        let candidates = (0..self.candidates.len())
            .map(|i| GepaCandidate {
                instructions: self.names.iter().cloned().zip(self.candidates[i].iter().cloned()).collect(),
                parents: self.parents[i].clone(),
                val_score: aggregate[i],
                val_scores: self.val_scores[i].clone(),
                discovered_at: self.discovered_at[i],
            })
            .collect();
        tracing::info!(best, score = aggregate[best], calls = self.calls, "GEPA: done ({stop})");
        GepaResult {
            program: self.build(&self.candidates[best]),
            best,
            candidates,
            front: self.front.clone(),
            proposals: self.proposals.clone(),
            metric_calls: self.calls,
            max_metric_calls: self.max_calls,
            full_evals: self.full_evals,
            stop,
        }
    }
}

enum Step {
    Accepted,
    Nothing,
    Stop(StopReason),
}
