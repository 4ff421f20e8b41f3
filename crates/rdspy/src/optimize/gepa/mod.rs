//! GEPA (Genetic-Pareto reflective prompt evolution), as DSPy 3.4's `dspy.GEPA` on the `gepa`
//! 0.1 engine.
//!
//! A candidate is one instruction per predictor. Each iteration:
//!
//! 1. pick a parent from the **Pareto frontier** of per-example validation scores
//!    ([`ParetoFront::select`]), and a minibatch of `reflection_minibatch_size` training examples;
//! 2. run the parent on the minibatch under traces; if every score is perfect, skip;
//! 3. pick the next component round robin, build its reflective dataset (inputs, outputs and the
//!    [`FeedbackMetric`]'s feedback) and ask the reflection LM for a new instruction
//!    ([`propose_instruction`], DSPy's prompt);
//! 4. run the child on the same minibatch; if its summed score is strictly higher, score it on
//!    the whole valset and add it to the pool and the frontier.
//!
//! After an accepted candidate, a **merge** of two non-dominated candidates with a common
//! ancestor is tried (up to `max_merge_invocations`), kept if it does at least as well as the
//! better parent on a few validation examples. The run stops when the metric-call budget
//! (`auto`, `max_full_evals` or `max_metric_calls`) is spent, or the LM [`Budget`] runs out;
//! the candidate with the best average validation score is returned.

mod engine;
mod feedback;
mod merge;
mod pareto;
mod proposer;
pub(crate) mod report;

pub use feedback::{FeedbackMetric, ScoreWithFeedback, SharedFeedbackMetric, WithoutFeedback};
pub use pareto::ParetoFront;
pub use proposer::propose_instruction;

use super::{Budget, Checkpoint, Program, StopReason};
use crate::lm::SharedLM;
use crate::{Error, Example, Result};
use serde::Serialize;
use std::sync::Arc;

/// How long GEPA runs, in metric calls (one program run scored on one example).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GepaBudget {
    /// DSPy's presets: `light`, `medium`, `heavy` (6 / 12 / 18 candidates in DSPy's estimate).
    Auto(AutoLevel),
    /// This many full passes over train + val.
    MaxFullEvals(usize),
    /// This many metric calls.
    MaxMetricCalls(usize),
}

/// GEPA's `auto` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoLevel {
    /// n = 6.
    Light,
    /// n = 12.
    Medium,
    /// n = 18.
    Heavy,
}

impl std::str::FromStr for AutoLevel {
    type Err = Error;
    fn from_str(s: &str) -> Result<AutoLevel> {
        match s {
            "light" => Ok(AutoLevel::Light),
            "medium" => Ok(AutoLevel::Medium),
            "heavy" => Ok(AutoLevel::Heavy),
            other => Err(Error::InvalidInput(format!("unknown auto level `{other}`; use light, medium or heavy"))),
        }
    }
}

/// DSPy's `GEPA.auto_budget`: a MIPROv2-like estimate of metric calls — the seed's full
/// evaluation, 5 per candidate, `trials` minibatches of 35, and periodic full evaluations.
///
/// ```
/// // One predictor, `light` (n = 6), 20 validation examples:
/// assert_eq!(rdspy::optimize::gepa::auto_budget(1, 6, 20), 20 + 30 + 10 * 35 + 3 * 20);
/// ```
pub fn auto_budget(num_preds: usize, num_candidates: usize, valset_size: usize) -> usize {
    let (m, steps) = (35usize, 5usize);
    let trials = ((2.0 * (num_preds as f64 * 2.0) * (num_candidates as f64).log2()).max(1.5 * num_candidates as f64)) as usize;
    let mut total = valset_size + num_candidates * 5 + trials * m;
    if trials == 0 {
        return total;
    }
    let periodic = (trials + 1) / steps + 1;
    let extra = usize::from(trials < steps);
    total += (periodic + extra) * valset_size;
    total
}

/// DSPy's `GEPA` with its defaults: `reflection_minibatch_size = 3`, Pareto candidate
/// selection, round-robin components, `skip_perfect_score`, `perfect_score = 1.0`,
/// `failure_score = 0.0`, merge on with at most 5 merges, seed 0.
///
/// ```
/// use rdspy::optimize::gepa::{Gepa, GepaBudget};
/// let gepa = Gepa::new(rdspy::evaluate::answer_exact_match(), GepaBudget::MaxMetricCalls(200));
/// assert_eq!((gepa.reflection_minibatch_size, gepa.max_merge_invocations), (3, 5));
/// ```
#[derive(Clone)]
pub struct Gepa {
    /// Scores runs and explains the scores.
    pub metric: SharedFeedbackMetric,
    /// How many metric calls the search may make.
    pub budget: GepaBudget,
    /// Training examples per reflection.
    pub reflection_minibatch_size: usize,
    /// `true`: sample parents from the Pareto frontier; `false`: always the best candidate
    /// (DSPy's `candidate_selection_strategy="current_best"`).
    pub pareto_selection: bool,
    /// The LM that writes instructions (default: the settings' LM, else the student's).
    pub reflection_lm: Option<SharedLM>,
    /// Skip a minibatch on which the parent is already perfect.
    pub skip_perfect_score: bool,
    /// Update every component at once instead of one per iteration, round robin.
    pub all_components: bool,
    /// Try merges of Pareto candidates.
    pub use_merge: bool,
    /// At most this many accepted merges.
    pub max_merge_invocations: usize,
    /// Program runs at once.
    pub num_threads: usize,
    /// Score of a run that failed.
    pub failure_score: f64,
    /// A minibatch where every score reaches this is skipped.
    pub perfect_score: f64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Journal of runs and proposals, for resuming.
    pub checkpoint: Option<Arc<Checkpoint>>,
    /// LM calls / tokens / cost limits on top of the metric-call budget.
    pub lm_budget: Budget,
}

/// One proposal, accepted or not (the report shows every instruction in full).
#[derive(Debug, Clone, Serialize)]
pub struct GepaProposal {
    /// Iteration (1-based).
    pub iteration: usize,
    /// `reflective` or `merge`.
    pub kind: String,
    /// Parent candidates.
    pub parents: Vec<usize>,
    /// Components whose text changed, with the new text.
    pub changes: Vec<(String, String)>,
    /// Summed minibatch score of the parent(s) (for a merge, the better parent).
    pub before: f64,
    /// Summed minibatch score of the proposal.
    pub after: f64,
    /// The candidate index it got, when accepted.
    pub accepted_as: Option<usize>,
}

/// A candidate in the pool.
#[derive(Debug, Clone, Serialize)]
pub struct GepaCandidate {
    /// Instruction per predictor name.
    pub instructions: Vec<(String, String)>,
    /// Parent candidates (none for the seed, two for a merge).
    pub parents: Vec<usize>,
    /// Average validation score.
    pub val_score: f64,
    /// Per-example validation scores.
    pub val_scores: Vec<f64>,
    /// Metric calls spent before it was found.
    pub discovered_at: usize,
}

/// What [`Gepa::compile_detailed`] returns.
#[derive(Debug, Clone)]
pub struct GepaResult<P> {
    /// The best candidate's program.
    pub program: P,
    /// Its index in `candidates`.
    pub best: usize,
    /// Every candidate added to the pool, in order.
    pub candidates: Vec<GepaCandidate>,
    /// The final Pareto frontier.
    pub front: ParetoFront,
    /// Every proposal, in order.
    pub proposals: Vec<GepaProposal>,
    /// Metric calls made (replayed ones included).
    pub metric_calls: usize,
    /// The metric-call budget.
    pub max_metric_calls: usize,
    /// Full validation evaluations.
    pub full_evals: usize,
    /// Why the run ended.
    pub stop: StopReason,
}

impl Gepa {
    /// With a metric (anything [`FeedbackMetric`], or a plain metric through
    /// [`Gepa::with_metric`]) and a budget; DSPy's defaults otherwise.
    pub fn with_feedback(metric: impl FeedbackMetric + 'static, budget: GepaBudget) -> Gepa {
        Gepa {
            metric: Arc::new(metric),
            budget,
            reflection_minibatch_size: 3,
            pareto_selection: true,
            reflection_lm: None,
            skip_perfect_score: true,
            all_components: false,
            use_merge: true,
            max_merge_invocations: 5,
            num_threads: 16,
            failure_score: 0.0,
            perfect_score: 1.0,
            seed: 0,
            checkpoint: None,
            lm_budget: Budget::default(),
        }
    }

    /// With a plain metric; the reflection LM gets DSPy's default score-only feedback.
    pub fn new(metric: impl crate::evaluate::Metric + 'static, budget: GepaBudget) -> Gepa {
        Gepa::with_feedback(WithoutFeedback(Arc::new(metric)), budget)
    }

    /// With a shared plain metric.
    pub fn with_metric(metric: crate::evaluate::SharedMetric, budget: GepaBudget) -> Gepa {
        Gepa::with_feedback(WithoutFeedback(metric), budget)
    }

    /// The metric-call budget for these data sizes (DSPy's rules: `auto` via [`auto_budget`],
    /// `max_full_evals × (|train| + |val|)` with the valset counted only when one is given).
    pub fn max_metric_calls(&self, num_preds: usize, train: usize, val: Option<usize>) -> usize {
        match self.budget {
            GepaBudget::MaxMetricCalls(n) => n,
            GepaBudget::MaxFullEvals(n) => n * (train + val.unwrap_or(0)),
            GepaBudget::Auto(level) => {
                let n = match level {
                    AutoLevel::Light => 6,
                    AutoLevel::Medium => 12,
                    AutoLevel::Heavy => 18,
                };
                auto_budget(num_preds.max(1), n, val.unwrap_or(train))
            }
        }
    }

    /// Compile and return the whole search: candidates, frontier, proposals, spend.
    pub async fn compile_detailed<P: Program>(
        &self,
        student: &P,
        trainset: &[Example],
        valset: Option<&[Example]>,
    ) -> Result<GepaResult<P>> {
        if trainset.is_empty() {
            return Err(Error::InvalidInput("GEPA needs a non-empty trainset".into()));
        }
        if student.named_predictors().is_empty() {
            return Err(Error::InvalidInput("GEPA needs a program with at least one predictor".into()));
        }
        let max_calls = self.max_metric_calls(student.named_predictors().len(), trainset.len(), valset.map(<[Example]>::len));
        let val = valset.unwrap_or(trainset);
        tracing::info!(max_calls, val = val.len(), "GEPA: starting");
        let meter = (!self.lm_budget.is_unlimited()).then(|| self.lm_budget.meter());
        let run = engine::Search::new(self, student, trainset, val, max_calls, meter.clone()).run();
        match &meter {
            Some(m) => m.scope(run).await,
            None => run.await,
        }
    }
}

#[async_trait::async_trait]
impl super::Optimizer for Gepa {
    /// Reflect on the trainset, track the Pareto frontier on the valset (the trainset when
    /// there is none, as in DSPy).
    async fn compile<P: Program>(&self, student: &P, trainset: &[Example], valset: Option<&[Example]>) -> Result<P> {
        let r = self.compile_detailed(student, trainset, valset).await?;
        if let StopReason::Budget(_) = &r.stop {
            tracing::warn!("GEPA {}", r.stop);
        }
        Ok(r.program)
    }
}
