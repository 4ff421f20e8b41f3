//! `BootstrapFewShotWithRandomSearch`: many candidate programs, the best on the validation set wins.

use super::{reset_copy, BootstrapFewShot, LabeledFewShot, Optimizer, Program};
use crate::evaluate::{Evaluate, SharedMetric};
use crate::{Example, Result};
use std::sync::Arc;

/// One evaluated candidate.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// DSPy's candidate seed: -3 zero-shot, -2 labeled only, -1 bootstrap on the trainset in
    /// order, 0.. bootstrap on a shuffled trainset with a random number of demos.
    pub seed: i64,
    /// Score on the validation set (0–100).
    pub score: f64,
    /// Demos per predictor name.
    pub demos: Vec<(String, Vec<Example>)>,
}

/// DSPy's `BootstrapFewShotWithRandomSearch` (alias `BootstrapRS`), with its defaults:
/// `num_candidate_programs = 16`, bootstrap settings as [`BootstrapFewShot`].
///
/// Candidates in order of seed: -3 the zero-shot student, -2 `LabeledFewShot(max_labeled_demos)`,
/// -1 `BootstrapFewShot` on the trainset as given, then for seed `s` in `0..num_candidate_programs`
/// the trainset shuffled with `s` and `max_bootstrapped_demos` drawn from `1..=max` with `s`.
/// Each is scored with [`Evaluate`] on the valset (the trainset when there is none); the first
/// candidate with the highest score wins. `stop_at_score` ends the search early.
#[derive(Clone)]
pub struct BootstrapFewShotWithRandomSearch {
    /// The bootstrap settings (metric, thresholds, demo counts) every candidate uses.
    pub bootstrap: BootstrapFewShot,
    /// How many seeded candidates after the three fixed ones.
    pub num_candidate_programs: usize,
    /// Examples evaluated at once.
    pub num_threads: usize,
    /// Stop when a candidate reaches this score (0–100).
    pub stop_at_score: Option<f64>,
    /// Draw labeled demos at random in candidate -2.
    pub labeled_sample: bool,
    /// Show evaluation progress bars.
    pub display_progress: bool,
}

impl BootstrapFewShotWithRandomSearch {
    /// With a metric and DSPy's defaults.
    pub fn new(metric: impl crate::evaluate::Metric + 'static) -> Self {
        BootstrapFewShotWithRandomSearch {
            bootstrap: BootstrapFewShot::new(metric),
            num_candidate_programs: 16,
            num_threads: 16,
            stop_at_score: None,
            labeled_sample: true,
            display_progress: false,
        }
    }

    fn metric(&self) -> SharedMetric {
        self.bootstrap.metric.clone().unwrap_or_else(|| Arc::new(|_: &Example, _: &crate::Prediction, _: Option<&crate::trace::Trace>| 1.0))
    }

    /// Build candidate `seed` (without evaluating it).
    pub async fn candidate<P: Program>(&self, student: &P, trainset: &[Example], seed: i64) -> Result<P> {
        let max = self.bootstrap.max_bootstrapped_demos;
        match seed {
            -3 => Ok(reset_copy(student)),
            -2 => Ok(LabeledFewShot { k: self.bootstrap.max_labeled_demos, sample: self.labeled_sample, seed: 0 }.apply(student, trainset)),
            -1 => self.bootstrap.compile_with_teacher(student, None, trainset).await,
            s => {
                let mut shuffled = trainset.to_vec();
                // DSPy: random.Random(seed).shuffle(...), then a fresh Random(seed).randint(1, max).
                crate::data::PyRandom::new(s as u64).shuffle(&mut shuffled);
                let size = crate::data::PyRandom::new(s as u64).randint(1, max.max(1) as i64) as usize;
                let opt = BootstrapFewShot { max_bootstrapped_demos: size, ..self.bootstrap.clone() };
                opt.compile_with_teacher(student, None, &shuffled).await
            }
        }
    }

    /// Compile and also return every candidate tried, in the order tried.
    pub async fn compile_with_candidates<P: Program>(
        &self,
        student: &P,
        trainset: &[Example],
        valset: Option<&[Example]>,
    ) -> Result<(P, Vec<Candidate>)> {
        let val = valset.unwrap_or(trainset).to_vec();
        let evaluate = Evaluate::with_shared(val, self.metric())
            .num_threads(self.num_threads)
            .max_errors(self.bootstrap.max_errors)
            .display_progress(self.display_progress)
            .checkpoint(self.bootstrap.checkpoint.clone());
        let mut best: Option<(f64, P)> = None;
        let mut tried = Vec::new();
        // Under a budget (`optimize::budget::with_budget`), stop before the next candidate once it
        // is used up, and drop the candidate it cut short.
        let meter = super::budget::current();
        let exhausted = || meter.as_ref().and_then(|m| m.exhausted());
        let bound_student = meter.as_ref().map_or_else(|| student.clone(), |m| m.bind(student));
        for seed in -3..self.num_candidate_programs as i64 {
            if let Some(e) = exhausted() {
                tracing::warn!("random search {e}; returning the best candidate so far");
                break;
            }
            let bound = match self.candidate(&bound_student, trainset, seed).await {
                Err(_) if exhausted().is_some() => continue,
                other => other?,
            };
            let program = super::BudgetMeter::unbind(&bound, student);
            let result = match evaluate.run(Arc::new(bound)).await {
                Ok(r) if r.errors > 0 && exhausted().is_some() => continue,
                Err(_) if exhausted().is_some() => continue,
                other => other?,
            };
            tracing::info!(seed, score = result.score, "random search candidate");
            tried.push(Candidate {
                seed,
                score: result.score,
                demos: program.named_predictors().into_iter().map(|(n, p)| (n, p.demos.clone())).collect(),
            });
            if best.as_ref().is_none_or(|(b, _)| result.score > *b) {
                best = Some((result.score, program));
            }
            if self.stop_at_score.is_some_and(|s| result.score >= s) {
                break;
            }
        }
        let program = best.map(|(_, p)| p).unwrap_or_else(|| reset_copy(student));
        Ok((program, tried))
    }
}

#[async_trait::async_trait]
impl Optimizer for BootstrapFewShotWithRandomSearch {
    async fn compile<P: Program>(&self, student: &P, trainset: &[Example], valset: Option<&[Example]>) -> Result<P> {
        Ok(self.compile_with_candidates(student, trainset, valset).await?.0)
    }
}
