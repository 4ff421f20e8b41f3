//! `BestOfN`: sample a module several times and keep the best-rewarded answer.

use super::{Module, Predict, Predictors};
use crate::trace::{self, Trace};
use crate::{Error, Example, Prediction, Result};
use std::sync::Arc;

type RewardFn = Arc<dyn Fn(&Example, &Prediction) -> f64 + Send + Sync>;

/// A reward: DSPy's `reward_fn(args, pred) -> float`, scoring one run of a module on its
/// inputs. It also carries the function's source text, because [`super::Refine`] shows the
/// reward's code to the LM that writes feedback (Python reads it with `inspect.getsource`;
/// Rust cannot, so [`crate::reward!`] captures it with `stringify!`).
///
/// ```
/// use rdspy::predict::Reward;
/// use rdspy::{Example, Prediction};
/// let one_word = Reward::new(|_args: &Example, pred: &Prediction| {
///     if pred.get_str("answer").is_some_and(|a| a.split_whitespace().count() == 1) { 1.0 } else { 0.0 }
/// });
/// let pred = Prediction::from_json(serde_json::json!({"answer": "Brussels"})).unwrap();
/// assert_eq!(one_word.score(&Example::new(), &pred), 1.0);
/// ```
#[derive(Clone)]
pub struct Reward {
    f: RewardFn,
    code: String,
}

impl std::fmt::Debug for Reward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reward").field("code", &self.code).finish()
    }
}

impl Reward {
    /// A reward from a function of the inputs and the prediction.
    pub fn new(f: impl Fn(&Example, &Prediction) -> f64 + Send + Sync + 'static) -> Reward {
        Reward { f: Arc::new(f), code: "(source not available)".into() }
    }

    /// With the text Refine shows the LM as the reward's code.
    pub fn with_code(mut self, code: impl Into<String>) -> Reward {
        self.code = code.into();
        self
    }

    /// Score one run.
    pub fn score(&self, inputs: &Example, prediction: &Prediction) -> f64 {
        (self.f)(inputs, prediction)
    }

    /// The reward's source text (what Refine's feedback prompt calls `reward_code`).
    pub fn code(&self) -> &str {
        &self.code
    }
}

impl<F: Fn(&Example, &Prediction) -> f64 + Send + Sync + 'static> From<F> for Reward {
    fn from(f: F) -> Reward {
        Reward::new(f)
    }
}

/// A [`Reward`] from a closure, keeping the closure's source text for Refine's feedback prompt.
///
/// ```
/// let r = rdspy::reward!(|_args: &rdspy::Example, pred: &rdspy::Prediction| {
///     if pred.get_str("answer") == Some("4") { 1.0 } else { 0.0 }
/// });
/// assert!(r.code().contains("Some(\"4\")"));
/// ```
#[macro_export]
macro_rules! reward {
    ($($closure:tt)+) => {
        $crate::predict::Reward::new($($closure)+).with_code(stringify!($($closure)+))
    };
}

/// DSPy's `BestOfN(module, N, reward_fn, threshold, fail_count)`: run `module` up to `n` times,
/// each time at another rollout id and temperature 1.0 so the samples differ (and miss the
/// cache), and return the first prediction whose reward reaches `threshold`, else the
/// best-rewarded one.
///
/// Rollout ids start at the module's own `rollout_id` (its first predictor's, else 0), as DSPy
/// starts at the LM's. A predictor that sets its own temperature keeps it (in DSPy a
/// predictor's config overrides the LM copy's 1.0). Only the returned attempt's steps go into
/// the caller's trace, so an optimizer bootstraps demos from the answer that was kept.
///
/// Failures: an attempt that errors is logged and skipped; once more than `fail_count`
/// attempts failed (default `n`, i.e. never), the error is returned. DSPy returns `None` when
/// every attempt failed; here that is the last attempt's error.
///
/// Predictor names are DSPy's: the wrapped module is the field `module`, so a
/// `ChainOfThought` inside is `module.predict`.
///
/// ```
/// use rdspy::predict::{BestOfN, ChainOfThought, Predictors};
/// use rdspy::{Example, Prediction, Signature};
/// let qa = ChainOfThought::new(Signature::parse("question -> answer").unwrap());
/// let best = BestOfN::new(qa, 3, |_: &Example, p: &Prediction| p.get_str("answer").map_or(0.0, |a| (a.len() < 20) as u8 as f64), 1.0);
/// assert_eq!(best.named_predictors()[0].0, "module.predict");
/// ```
#[derive(Debug, Clone)]
pub struct BestOfN<M> {
    /// The module sampled.
    pub module: M,
    /// Maximum number of attempts (DSPy's `N`).
    pub n: usize,
    /// Scores an attempt.
    pub reward_fn: Reward,
    /// An attempt scoring at least this is returned at once.
    pub threshold: f64,
    /// Failed attempts tolerated before the error is returned (DSPy: `fail_count or N`).
    pub fail_count: usize,
}

impl<M: Module + Clone> BestOfN<M> {
    /// DSPy's defaults: `fail_count = n`.
    pub fn new(module: M, n: usize, reward_fn: impl Into<Reward>, threshold: f64) -> BestOfN<M> {
        BestOfN { module, n, reward_fn: reward_fn.into(), threshold, fail_count: n }
    }

    /// With another failure budget (DSPy treats 0 as "unset": so do we).
    pub fn with_fail_count(mut self, fail_count: usize) -> BestOfN<M> {
        self.fail_count = if fail_count == 0 { self.n } else { fail_count };
        self
    }
}

/// The rollout id attempts start at: the module's first predictor's, else 0.
pub(crate) fn start_rollout(module: &impl Predictors) -> u64 {
    module.named_predictors().first().and_then(|(_, p)| p.config.rollout_id).unwrap_or(0)
}

/// A copy of `module` whose predictors sample at rollout `rid` (temperature 1.0 unless a
/// predictor sets its own): DSPy's `lm.copy(rollout_id=rid, temperature=1.0)`.
pub(crate) fn at_rollout<M: Module + Clone>(module: &M, rid: u64) -> M {
    let mut m = module.clone();
    for (_, p) in m.named_predictors_mut() {
        p.config.rollout_id = Some(rid);
        p.config.temperature.get_or_insert(1.0);
    }
    m
}

/// The running best of several attempts.
#[derive(Default)]
pub(crate) struct Best {
    pub best: Option<(f64, Prediction, Trace)>,
    pub failures: usize,
    pub last_error: Option<Error>,
}

impl Best {
    /// Keep `pred` if it beats the best so far.
    pub fn offer(&mut self, reward: f64, pred: &Prediction, trace: &Trace) {
        if self.best.as_ref().is_none_or(|(r, _, _)| reward > *r) {
            self.best = Some((reward, pred.clone(), trace.clone()));
        }
    }

    /// Count a failed attempt; `Err` once more than `fail_count` attempts failed.
    pub fn fail(&mut self, who: &str, attempt: usize, rid: u64, e: Error, fail_count: usize) -> Result<()> {
        tracing::warn!(module = who, attempt = attempt + 1, rollout_id = rid, error = %e, "attempt failed");
        self.failures += 1;
        if self.failures > fail_count {
            return Err(e);
        }
        self.last_error = Some(e);
        Ok(())
    }

    /// The best prediction, its steps replayed into the caller's trace.
    pub fn finish(self, who: &str, n: usize) -> Result<Prediction> {
        match self.best {
            Some((_, pred, steps)) => {
                for step in steps {
                    trace::record(step);
                }
                Ok(pred)
            }
            None => Err(match self.last_error {
                Some(e) => Error::Other(format!("{who}: all {n} attempts failed; the last error: {e}")),
                None => Error::InvalidInput(format!("{who} needs N >= 1 attempts")),
            }),
        }
    }
}

impl<M: Predictors> Predictors for BestOfN<M> {
    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        self.module.named_predictors().into_iter().map(|(n, p)| (super::join_name("module", &n), p)).collect()
    }
    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        self.module.named_predictors_mut().into_iter().map(|(n, p)| (super::join_name("module", &n), p)).collect()
    }
}

#[async_trait::async_trait]
impl<M: Module + Clone> Module for BestOfN<M> {
    async fn forward(&self, inputs: &Example) -> Result<Prediction> {
        let start = start_rollout(&self.module);
        let mut best = Best::default();
        for attempt in 0..self.n {
            let rid = start + attempt as u64;
            let module = at_rollout(&self.module, rid);
            let (result, steps) = trace::with_trace(module.forward(inputs)).await;
            match result {
                Ok(pred) => {
                    let reward = self.reward_fn.score(inputs, &pred);
                    tracing::debug!(attempt = attempt + 1, rollout_id = rid, reward, "BestOfN attempt");
                    best.offer(reward, &pred, &steps);
                    if reward >= self.threshold {
                        break;
                    }
                }
                Err(e) => best.fail("BestOfN", attempt, rid, e, self.fail_count)?,
            }
        }
        best.finish("BestOfN", self.n)
    }
}
