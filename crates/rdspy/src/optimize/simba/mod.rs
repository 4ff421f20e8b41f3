//! SIMBA (Stochastic Introspective Mini-Batch Ascent), as DSPy 3.4's `dspy.SIMBA`.
//!
//! Each step takes a minibatch of `bsize` training examples and runs it `num_candidates` times,
//! each time with a fresh sample of the LM (`rollout_id` i, temperature 1.0) and, per example,
//! a program drawn from the best programs so far by a softmax over their average scores. The
//! examples whose runs disagree most (the largest max-to-min score gap) are where there is
//! something to learn: for each, a source program (again by softmax) loses a few demos at
//! random and gets either the best run as a new demo ([`strategies::append_a_demo`]) or a rule
//! an LM writes by contrasting the best and the worst run ([`strategies::append_a_rule`], DSPy's
//! `OfferFeedback` prompt). The new programs are scored on the same minibatch and all join the
//! pool; the best of each step is a "winner". At the end, evenly spaced winners are scored on
//! the whole trainset and the best is returned.
//!
//! Random choices use ChaCha8 seeded with `seed` (Python's Mersenne Twister sequences are not
//! reproduced, so the same seed picks different, equally random, examples than DSPy).

mod pool;
mod report;
pub mod strategies;

use super::traced::{Rollout, Runner};
use super::{Budget, BudgetMeter, Checkpoint, Program, StopReason};
use crate::evaluate::SharedMetric;
use crate::lm::SharedLM;
use crate::settings::Settings;
use crate::{Error, Example, Result};
use pool::{percentile, poisson, round_half_even, Pool};
use rand::seq::SliceRandom;
use rand::Rng;
use serde::Serialize;
use std::sync::Arc;

/// DSPy's `SIMBA` with its defaults: `bsize = 32`, `num_candidates = 6`, `max_steps = 8`,
/// `max_demos = 4`, `demo_input_field_maxlen = 100_000`, both softmax temperatures 0.2.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use rdspy::optimize::Simba;
/// let simba = Simba::new(rdspy::evaluate::answer_exact_match()).bsize(8).max_steps(2);
/// assert_eq!((simba.bsize, simba.num_candidates, simba.max_steps), (8, 6, 2));
/// // A trainset smaller than the minibatch is refused before any LM call.
/// let student = rdspy::predict::Predict::new(rdspy::Signature::parse("q -> answer").unwrap());
/// let err = simba.compile_detailed(&student, &[]).await.unwrap_err();
/// assert!(err.to_string().contains("bsize"));
/// # });
/// ```
#[derive(Clone)]
pub struct Simba {
    /// Scores a run (higher is better; DSPy's SIMBA works with any float).
    pub metric: SharedMetric,
    /// Minibatch size.
    pub bsize: usize,
    /// LM samples per minibatch, and new programs per step (plus one).
    pub num_candidates: usize,
    /// Minibatch steps.
    pub max_steps: usize,
    /// Demos a predictor may hold before some are dropped; 0 disables `append_a_demo`.
    pub max_demos: usize,
    /// The LM that writes rules (default: the settings' LM, else the student's).
    pub prompt_model: Option<SharedLM>,
    /// Settings of the first of the `num_candidates` samples (e.g. a stronger teacher LM).
    pub teacher_settings: Option<Settings>,
    /// Input fields of new demos are cut to this many characters.
    pub demo_input_field_maxlen: usize,
    /// Program runs at once.
    pub num_threads: usize,
    /// Softmax temperature for picking the program that runs an example.
    pub temperature_for_sampling: f64,
    /// Softmax temperature for picking the program a new candidate starts from.
    pub temperature_for_candidates: f64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Journal of finished runs and rules, for resuming (see [`Checkpoint`]).
    pub checkpoint: Option<Arc<Checkpoint>>,
    /// LM calls / tokens / cost limits; when reached, the best program so far is returned.
    pub budget: Budget,
}

/// One SIMBA step, for logs and the compile report.
#[derive(Debug, Clone, Serialize)]
pub struct SimbaStep {
    /// Step number (0-based).
    pub step: usize,
    /// Average score of all sampled runs on the minibatch.
    pub baseline: f64,
    /// The strategy applied per new candidate (`append_a_demo` / `append_a_rule`), in order.
    pub strategies: Vec<String>,
    /// Minibatch score of each new candidate.
    pub candidate_scores: Vec<f64>,
    /// Trainset score of this step's winner, when it was among the finalists.
    pub train_score: Option<f64>,
}

/// A finalist: a winner scored on the full trainset.
#[derive(Debug, Clone, Serialize)]
pub struct SimbaCandidate {
    /// Average trainset score.
    pub score: f64,
    /// Instructions per predictor.
    pub instructions: Vec<(String, String)>,
    /// Demo count per predictor.
    pub demos: Vec<(String, usize)>,
}

/// What [`Simba::compile_detailed`] returns.
#[derive(Debug, Clone)]
pub struct SimbaResult<P> {
    /// The best program.
    pub program: P,
    /// The finalists, best first (DSPy's `candidate_programs`).
    pub candidates: Vec<SimbaCandidate>,
    /// One entry per step run (DSPy's `trial_logs`).
    pub steps: Vec<SimbaStep>,
    /// Why the run ended.
    pub stop: StopReason,
}

impl Simba {
    /// With a metric and DSPy's defaults.
    pub fn new(metric: impl crate::evaluate::Metric + 'static) -> Simba {
        Simba::with_shared(Arc::new(metric))
    }

    /// With a shared metric and DSPy's defaults.
    pub fn with_shared(metric: SharedMetric) -> Simba {
        Simba {
            metric,
            bsize: 32,
            num_candidates: 6,
            max_steps: 8,
            max_demos: 4,
            prompt_model: None,
            teacher_settings: None,
            demo_input_field_maxlen: 100_000,
            num_threads: 16,
            temperature_for_sampling: 0.2,
            temperature_for_candidates: 0.2,
            seed: 0,
            checkpoint: None,
            budget: Budget::default(),
        }
    }

    /// Set the minibatch size.
    pub fn bsize(mut self, n: usize) -> Simba {
        self.bsize = n;
        self
    }
    /// Set the number of samples / candidates per step.
    pub fn num_candidates(mut self, n: usize) -> Simba {
        self.num_candidates = n;
        self
    }
    /// Set the number of steps.
    pub fn max_steps(mut self, n: usize) -> Simba {
        self.max_steps = n;
        self
    }

    fn runner(&self, meter: Option<Arc<BudgetMeter>>) -> Runner {
        let metric = self.metric.clone();
        Runner {
            scorer: Arc::new(move |e, p, t| metric.score(e, p, t)),
            pass_trace: false,
            failure_score: 0.0,
            threads: self.num_threads,
            checkpoint: self.checkpoint.clone(),
            meter,
            kind: "simba",
        }
    }

    /// Compile and return the finalists, step logs and why it stopped.
    pub async fn compile_detailed<P: Program>(&self, student: &P, trainset: &[Example]) -> Result<SimbaResult<P>> {
        if trainset.len() < self.bsize || self.bsize == 0 {
            return Err(Error::InvalidInput(format!(
                "SIMBA needs at least bsize = {} training examples, got {}; lower bsize (--bsize) or add examples",
                self.bsize,
                trainset.len()
            )));
        }
        let meter = (!self.budget.is_unlimited()).then(|| self.budget.meter());
        let run = self.run(student, trainset, meter.clone());
        match &meter {
            Some(m) => m.scope(run).await,
            None => run.await,
        }
    }

    async fn run<P: Program>(&self, student: &P, trainset: &[Example], meter: Option<Arc<BudgetMeter>>) -> Result<SimbaResult<P>> {
        let runner = self.runner(meter.clone());
        let mut rng = crate::data::rng_for(self.seed);
        let mut rng_poisson = crate::data::rng_for(self.seed.wrapping_add(0x9e37_79b9));
        let prompt_model = self
            .prompt_model
            .clone()
            .or_else(|| crate::settings::current().lm)
            .or_else(|| student.named_predictors().into_iter().find_map(|(_, p)| p.lm.clone()))
            .map(|lm| match &meter {
                Some(m) => m.wrap(lm),
                None => lm,
            });
        let names: std::collections::HashMap<u64, String> = student.named_predictors().into_iter().map(|(n, p)| (p.id(), n)).collect();
        let mut pool = Pool::new(student.clone());
        let mut winners = vec![student.clone()];
        let mut steps: Vec<SimbaStep> = Vec::new();
        let mut order: Vec<usize> = (0..trainset.len()).collect();
        order.shuffle(&mut rng);
        let mut next = 0usize;
        let exhausted = |m: &Option<Arc<BudgetMeter>>| m.as_ref().and_then(|m| m.exhausted());
        let mut stop = StopReason::Finished;

        for step in 0..self.max_steps {
            if let Some(e) = exhausted(&meter) {
                stop = StopReason::Budget(e);
                break;
            }
            if next + self.bsize > trainset.len() {
                order.shuffle(&mut rng);
                next = 0;
            }
            let batch: Vec<Example> = order[next..next + self.bsize].iter().map(|&i| trainset[i].clone()).collect();
            next += self.bsize;

            // Sample trajectories: one program per (LM sample, example).
            let models = self.sampling_models(student);
            let top = pool.top_k_plus_baseline(self.num_candidates);
            let mut jobs = Vec::with_capacity(models.len() * batch.len());
            for model in &models {
                for ex in &batch {
                    let idx = pool.softmax_sample(&mut rng, &top, self.temperature_for_sampling);
                    jobs.push((model.apply(pool.program(idx)), ex.clone()));
                }
            }
            let outputs = runner.run(jobs).await?;
            if let Some(e) = exhausted(&meter) {
                tracing::warn!(step, "SIMBA: {e}; discarding this step's runs");
                stop = StopReason::Budget(e);
                break;
            }

            let scores: Vec<f64> = outputs.iter().map(|o| o.score).collect();
            let (p10, p90) = (percentile(&scores, 10.0), percentile(&scores, 90.0));
            let mut buckets: Vec<Bucket<'_>> = Vec::new();
            for (i, ex) in batch.iter().enumerate() {
                let mut bucket: Vec<&Rollout> = outputs.iter().skip(i).step_by(self.bsize).collect();
                bucket.sort_by(|a, b| b.score.total_cmp(&a.score));
                let (max, min) = (bucket[0].score, bucket[bucket.len() - 1].score);
                let avg = bucket.iter().map(|r| r.score).sum::<f64>() / bucket.len() as f64;
                buckets.push((bucket, (max - min, max, max - avg), ex));
            }
            buckets.sort_by(|a, b| {
                let (x, y) = (a.1, b.1);
                (y.0, y.1, y.2).partial_cmp(&(x.0, x.1, x.2)).unwrap_or(std::cmp::Ordering::Equal)
            });
            let baseline = scores.iter().sum::<f64>() / scores.len().max(1) as f64;
            tracing::info!(step, baseline, "SIMBA: sampled the minibatch");

            // Build new candidates from the most informative buckets.
            let mut candidates: Vec<P> = Vec::new();
            let mut used: Vec<String> = Vec::new();
            for (bucket, _, example) in &buckets {
                let top = pool.top_k_plus_baseline(self.num_candidates);
                let src = pool.softmax_sample(&mut rng, &top, self.temperature_for_candidates);
                let mut candidate = pool.program(src).clone();
                self.drop_demos(&mut candidate, &mut rng, &mut rng_poisson);
                let use_demo = self.max_demos > 0 && rng.gen_bool(0.5);
                let name = if use_demo { "append_a_demo" } else { "append_a_rule" };
                let ctx = strategies::Context {
                    names: &names,
                    batch_10p: p10,
                    batch_90p: p90,
                    prompt_model: prompt_model.clone(),
                    checkpoint: self.checkpoint.as_ref(),
                    meter: meter.as_ref(),
                };
                let applied = if use_demo {
                    Ok(strategies::append_a_demo(bucket, &mut candidate, &ctx, self.demo_input_field_maxlen))
                } else {
                    strategies::append_a_rule(bucket, example, &mut candidate, &ctx).await
                };
                match applied {
                    Ok(changed) => tracing::info!(step, strategy = name, changed, "SIMBA: built a candidate"),
                    Err(e) => {
                        tracing::warn!(step, strategy = name, error = %e, "SIMBA: strategy failed; skipping this bucket");
                        continue;
                    }
                }
                candidates.push(candidate);
                used.push(name.to_string());
                if candidates.len() > self.num_candidates {
                    break;
                }
            }

            // Score the new candidates on the same minibatch; all join the pool.
            let jobs: Vec<(P, Example)> = candidates.iter().flat_map(|c| batch.iter().map(move |e| (c.clone(), e.clone()))).collect();
            let outputs = runner.run(jobs).await?;
            if let Some(e) = exhausted(&meter) {
                tracing::warn!(step, "SIMBA: {e}; discarding this step's candidates");
                stop = StopReason::Budget(e);
                break;
            }
            let per: Vec<Vec<f64>> = outputs.chunks(self.bsize).map(|c| c.iter().map(|r| r.score).collect()).collect();
            let candidate_scores: Vec<f64> = per.iter().map(|s| s.iter().sum::<f64>() / s.len() as f64).collect();
            if let Some(best) = argmax_first(&candidate_scores) {
                winners.push(candidates[best].clone());
            }
            for (c, s) in candidates.into_iter().zip(per) {
                pool.register(c, s);
            }
            tracing::info!(step, ?candidate_scores, "SIMBA: scored the new candidates");
            steps.push(SimbaStep { step, baseline, strategies: used, candidate_scores, train_score: None });
        }

        self.finish(pool, winners, steps, stop, trainset, &runner).await
    }

    /// Score evenly spaced winners on the trainset and return the best.
    async fn finish<P: Program>(
        &self,
        pool: Pool<P>,
        winners: Vec<P>,
        mut steps: Vec<SimbaStep>,
        mut stop: StopReason,
        trainset: &[Example],
        runner: &Runner,
    ) -> Result<SimbaResult<P>> {
        let meter = runner.meter.clone();
        let summarize = |p: &P, score: f64| SimbaCandidate {
            score,
            instructions: p.named_predictors().into_iter().map(|(n, x)| (n, x.signature().instructions().to_string())).collect(),
            demos: p.named_predictors().into_iter().map(|(n, x)| (n, x.demos.len())).collect(),
        };
        let m = winners.len() - 1;
        let n = self.num_candidates + 1;
        let mut idxs: Vec<usize> = if m < 1 || n < 2 {
            vec![0; n.max(1)]
        } else {
            (0..n).map(|i| round_half_even(i as f64 * m as f64 / (n - 1) as f64)).collect()
        };
        let mut seen = std::collections::HashSet::new();
        idxs.retain(|i| seen.insert(*i));

        let budget_gone = matches!(stop, StopReason::Budget(_));
        let scores = if budget_gone {
            None
        } else {
            let winners = &winners;
            let jobs: Vec<(P, Example)> =
                idxs.iter().flat_map(|&i| trainset.iter().map(move |e| (winners[i].clone(), e.clone()))).collect();
            let outputs = runner.run(jobs).await?;
            match meter.as_ref().and_then(|m| m.exhausted()) {
                Some(e) => {
                    tracing::warn!("SIMBA: {e} during the final evaluation; picking by minibatch scores");
                    stop = StopReason::Budget(e);
                    None
                }
                None => Some(
                    outputs.chunks(trainset.len()).map(|c| c.iter().map(|r| r.score).sum::<f64>() / c.len() as f64).collect::<Vec<f64>>(),
                ),
            }
        };
        let Some(scores) = scores else {
            // No budget left to score finalists: SIMBA's own pool ranking (average minibatch
            // score) picks the best program so far.
            let best = pool.best_by_average();
            let program = pool.program(best).clone();
            let candidates = vec![summarize(&program, pool.average(best))];
            return Ok(SimbaResult { program, candidates, steps, stop });
        };
        for (k, &i) in idxs.iter().enumerate() {
            if k != 0 {
                if let Some(s) = steps.get_mut(k - 1) {
                    s.train_score = Some(scores[k]);
                }
            }
            tracing::debug!(winner = i, score = scores[k], "SIMBA: finalist");
        }
        let best = argmax_first(&scores).unwrap_or(0);
        let mut candidates: Vec<SimbaCandidate> = idxs.iter().zip(&scores).map(|(&i, &s)| summarize(&winners[i], s)).collect();
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
        tracing::info!(?scores, best, "SIMBA: final trainset scores");
        Ok(SimbaResult { program: winners[idxs[best]].clone(), candidates, steps, stop })
    }

    /// DSPy's `prepare_models_for_resampling`: `num_candidates` LM settings, rollout ids counting
    /// up from the student's, temperature 1.0 (the teacher, when set, comes first as is).
    fn sampling_models<P: Program>(&self, student: &P) -> Vec<Sampling> {
        let start = student.named_predictors().first().and_then(|(_, p)| p.config.rollout_id).unwrap_or(0);
        let mut out = Vec::with_capacity(self.num_candidates);
        let mut i = 0;
        if let Some(t) = &self.teacher_settings {
            out.push(Sampling { lm: t.lm.clone(), rollout_id: start, temperature: None });
            i = 1;
        }
        for k in i..self.num_candidates {
            out.push(Sampling { lm: None, rollout_id: start + k as u64, temperature: Some(1.0) });
        }
        out
    }

    /// Drop Poisson-many demos (at least one once a predictor is full), the same positions
    /// from every predictor, as DSPy does.
    fn drop_demos<P: Program>(&self, program: &mut P, rng: &mut impl Rng, rng_poisson: &mut impl Rng) {
        let num_demos = program.named_predictors().iter().map(|(_, p)| p.demos.len()).max().unwrap_or(0);
        let cap = if self.max_demos > 0 { self.max_demos } else { 3 };
        let n = poisson(rng_poisson, num_demos as f64 / cap as f64).max(usize::from(num_demos >= cap)).min(num_demos);
        let drop: Vec<usize> = (0..n).map(|_| rng.gen_range(0..num_demos)).collect();
        for (_, p) in program.named_predictors_mut() {
            let kept: Vec<Example> = p.demos.iter().enumerate().filter(|(i, _)| !drop.contains(i)).map(|(_, d)| d.clone()).collect();
            p.demos = kept;
        }
    }
}

/// One example's runs (best first), their (max-min gap, max, max-avg gap), and the example.
type Bucket<'a> = (Vec<&'a Rollout>, (f64, f64, f64), &'a Example);

/// One LM sample's settings, applied to a copy of a program (DSPy's `lm.copy(...)` + `set_lm`).
struct Sampling {
    lm: Option<SharedLM>,
    rollout_id: u64,
    temperature: Option<f64>,
}

impl Sampling {
    fn apply<P: Program>(&self, program: &P) -> P {
        let mut p = program.clone();
        for (_, pred) in p.named_predictors_mut() {
            if let Some(lm) = &self.lm {
                pred.lm = Some(lm.clone());
            }
            pred.config.rollout_id = Some(self.rollout_id);
            if self.temperature.is_some() {
                pred.config.temperature = self.temperature;
            }
        }
        p
    }
}

/// The index of the first maximum (Python's `list.index(max(xs))`).
fn argmax_first(xs: &[f64]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, x) in xs.iter().enumerate() {
        if best.is_none_or(|b| *x > xs[b]) {
            best = Some(i);
        }
    }
    best
}

#[async_trait::async_trait]
impl super::Optimizer for Simba {
    /// SIMBA scores on minibatches of the trainset only; `valset` is not used (as in DSPy).
    async fn compile<P: Program>(&self, student: &P, trainset: &[Example], _valset: Option<&[Example]>) -> Result<P> {
        let r = self.compile_detailed(student, trainset).await?;
        if let StopReason::Budget(_) = &r.stop {
            tracing::warn!("SIMBA {}", r.stop);
        }
        Ok(r.program)
    }
}
