//! Budgets: stop an optimizer after so many LM calls, tokens or dollars, and keep the best
//! program found so far.
//!
//! Search optimizers make thousands of LM calls; a run that overshoots its budget is worse than
//! one that stops early with a slightly worse program. A budget has two halves:
//!
//! * an **LM layer** ([`BudgetMeter::wrap`]) that counts every call through it and refuses new
//!   calls once a limit is reached, so nothing (a proposer, a teacher, an evaluation task) can
//!   spend past it, whichever code path makes the call;
//! * a **check in the optimizer loop** ([`BudgetMeter::exhausted`]) between units of work, so
//!   the optimizer stops cleanly instead of scoring candidates on refused calls.
//!
//! # How an optimizer uses a budget
//!
//! 1. Keep a [`Budget`] (limits) in the optimizer's settings; at the start of `compile` make a
//!    fresh [`BudgetMeter`] with [`Budget::meter`].
//! 2. Run the whole compile inside [`BudgetMeter::scope`]: the LM in
//!    [`crate::settings`] is wrapped for the duration, and so is every LM passed through
//!    [`BudgetMeter::wrap`] (a `prompt_model`, a reflection LM).
//! 3. Before running a candidate, [`BudgetMeter::bind`] it: predictors with their own LM get it
//!    wrapped too. Keep the un-bound program as the result (a bound program carries the meter).
//! 4. Before each unit of work (a trial, a minibatch, a proposal), and after each evaluation,
//!    call [`BudgetMeter::exhausted`]. When it returns `Some`, discard the unit that was cut
//!    short (its score is not comparable), stop, and return the best program so far with
//!    [`StopReason::Budget`]. Log it with `tracing::warn!` and put it in the report.
//! 5. For resumable compiles, record [`BudgetMeter::spent`] with each journaled unit of work and
//!    call [`BudgetMeter::restore`] when replaying it, so a resumed run stops where the original
//!    would have.
//!
//! Calls are counted whether or not the cache answers them (so a rerun with a warm cache stops
//! at the same trial); tokens and cost come from the LM's reported usage (zero on a cache hit,
//! cost zero for local models). The call limit is exact: at most `max_calls` calls start. Token
//! and cost limits are checked before each call, so calls already in flight when the limit is
//! crossed may finish past it by at most one call's usage each.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use rdspy::optimize::Budget;
//! use rdspy::lm::{Choice, LmError, LmRequest, LmResponse, Usage, LM};
//! #[derive(Debug)]
//! struct Echo;
//! #[async_trait::async_trait]
//! impl LM for Echo {
//!     fn model(&self) -> &str { "test/echo" }
//!     async fn call(&self, _: LmRequest) -> Result<LmResponse, LmError> {
//!         let usage = Usage { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10, ..Default::default() };
//!         Ok(LmResponse { choices: vec![Choice { text: "ok".into(), finish_reason: None, tool_calls: vec![] }], usage, model: "test/echo".into(), cache_hit: false })
//!     }
//! }
//! let meter = Budget::default().max_calls(2).meter();
//! let lm = meter.wrap(std::sync::Arc::new(Echo));
//! assert!(lm.call(LmRequest::default()).await.is_ok());
//! assert!(lm.call(LmRequest::default()).await.is_ok());
//! assert!(meter.exhausted().is_some());
//! let refused = lm.call(LmRequest::default()).await.unwrap_err();
//! assert!(refused.to_string().contains("budget"), "{refused}");
//! assert_eq!((meter.spent().calls, meter.spent().total_tokens), (2, 20));
//! # });
//! ```

use crate::lm::{LmError, LmRequest, LmResponse, SharedLM, Usage, LM};
use crate::optimize::Program;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::sync::{Arc, Mutex};

/// Limits on what an optimizer may spend. `None` means no limit; the default has none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// LM calls (cache hits included).
    pub max_calls: Option<u64>,
    /// Total tokens (prompt + completion) as reported by the LM.
    pub max_tokens: Option<u64>,
    /// US dollars (from the price table; local models cost 0).
    pub max_cost: Option<f64>,
}

impl Budget {
    /// Limit the number of LM calls.
    pub fn max_calls(mut self, n: u64) -> Budget {
        self.max_calls = Some(n);
        self
    }
    /// Limit the total tokens.
    pub fn max_tokens(mut self, n: u64) -> Budget {
        self.max_tokens = Some(n);
        self
    }
    /// Limit the cost in US dollars.
    pub fn max_cost(mut self, dollars: f64) -> Budget {
        self.max_cost = Some(dollars);
        self
    }
    /// True when no limit is set.
    pub fn is_unlimited(&self) -> bool {
        self.max_calls.is_none() && self.max_tokens.is_none() && self.max_cost.is_none()
    }
    /// A fresh meter for one compile.
    pub fn meter(self) -> Arc<BudgetMeter> {
        Arc::new(BudgetMeter { budget: self, state: Mutex::new(Usage::default()) })
    }
}

/// Which limit ran out, and what had been spent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exhausted {
    /// `calls`, `tokens` or `cost`.
    pub limit: String,
    /// Spent when the limit was reached.
    pub spent: Usage,
    /// The budget.
    pub budget: Budget,
}

impl std::fmt::Display for Exhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = &self.budget;
        let limit = match self.limit.as_str() {
            "calls" => format!("{} LM calls", b.max_calls.unwrap_or_default()),
            "tokens" => format!("{} tokens", b.max_tokens.unwrap_or_default()),
            _ => format!("${:.4}", b.max_cost.unwrap_or_default()),
        };
        write!(
            f,
            "budget exhausted: the limit of {limit} is used up ({} calls, {} tokens, ${:.4} spent)",
            self.spent.calls, self.spent.total_tokens, self.spent.cost
        )
    }
}

/// Why an optimizer stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum StopReason {
    /// It ran every step it was configured for.
    Finished,
    /// A budget ran out; the result is the best program found before that.
    Budget(Exhausted),
    /// A candidate reached `stop_at_score`.
    StopAtScore {
        /// The score reached (0–100).
        score: f64,
    },
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Finished => write!(f, "finished"),
            StopReason::Budget(e) => write!(f, "stopped early, {e}; returning the best program so far"),
            StopReason::StopAtScore { score } => write!(f, "stopped early: a candidate reached stop_at_score ({score})"),
        }
    }
}

/// The spend of one compile against its [`Budget`], shared by every LM it wraps.
#[derive(Debug)]
pub struct BudgetMeter {
    budget: Budget,
    state: Mutex<Usage>,
}

impl BudgetMeter {
    /// The limits.
    pub fn budget(&self) -> Budget {
        self.budget
    }

    /// What has been spent so far (calls started, tokens and cost of finished calls).
    pub fn spent(&self) -> Usage {
        *self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Some` once any limit is reached: the optimizer should stop.
    pub fn exhausted(&self) -> Option<Exhausted> {
        Self::over(&self.budget, &self.spent())
    }

    fn over(b: &Budget, s: &Usage) -> Option<Exhausted> {
        let limit = if b.max_calls.is_some_and(|m| s.calls >= m) {
            "calls"
        } else if b.max_tokens.is_some_and(|m| s.total_tokens >= m) {
            "tokens"
        } else if b.max_cost.is_some_and(|m| s.cost >= m) {
            "cost"
        } else {
            return None;
        };
        Some(Exhausted { limit: limit.into(), spent: *s, budget: *b })
    }

    /// Raise the spend to at least `spent` (field by field): replaying journaled work of a
    /// resumed compile brings the meter back to where the original run was.
    pub fn restore(&self, spent: Usage) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.calls = s.calls.max(spent.calls);
        s.prompt_tokens = s.prompt_tokens.max(spent.prompt_tokens);
        s.completion_tokens = s.completion_tokens.max(spent.completion_tokens);
        s.total_tokens = s.total_tokens.max(spent.total_tokens);
        s.cost = s.cost.max(spent.cost);
    }

    /// Count a call before it starts, or refuse it.
    fn reserve(&self) -> Result<(), Exhausted> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = Self::over(&self.budget, &s) {
            return Err(e);
        }
        s.calls += 1;
        Ok(())
    }

    fn record(&self, u: &Usage) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.prompt_tokens += u.prompt_tokens;
        s.completion_tokens += u.completion_tokens;
        s.total_tokens += u.total_tokens;
        s.cost += u.cost;
    }

    /// `lm` behind this meter: every call is counted, and refused once the budget is used up.
    pub fn wrap(self: &Arc<Self>, lm: SharedLM) -> SharedLM {
        Arc::new(Budgeted { inner: lm, meter: self.clone() })
    }

    /// A copy of `program` whose predictors with their own LM call it through this meter
    /// (predictors without one use the settings' LM, which [`Self::scope`] wraps).
    pub fn bind<P: Program>(self: &Arc<Self>, program: &P) -> P {
        let mut p = program.clone();
        for (_, pred) in p.named_predictors_mut() {
            if let Some(lm) = pred.lm.take() {
                pred.lm = Some(self.wrap(lm));
            }
        }
        p
    }

    /// `program` with each predictor's LM taken back from `original` (the un-bound program it
    /// was built from): what an optimizer returns after working on a [`Self::bind`] copy.
    pub fn unbind<P: Program>(program: &P, original: &P) -> P {
        let mut p = program.clone();
        let lms: Vec<Option<SharedLM>> = original.named_predictors().into_iter().map(|(_, x)| x.lm.clone()).collect();
        for ((_, pred), lm) in p.named_predictors_mut().into_iter().zip(lms) {
            pred.lm = lm;
        }
        p
    }

    /// Run `fut` with the settings' LM (if any) behind this meter; inside, [`current`] returns
    /// this meter.
    pub async fn scope<F: Future>(self: &Arc<Self>, fut: F) -> F::Output {
        let fut = CURRENT.scope(self.clone(), fut);
        match crate::settings::current().lm {
            Some(lm) => crate::settings::context(crate::settings::Settings::new().lm(self.wrap(lm)), fut).await,
            None => fut.await,
        }
    }
}

tokio::task_local! {
    static CURRENT: Arc<BudgetMeter>;
}

/// The meter of the enclosing [`BudgetMeter::scope`] (or [`with_budget`]), if any: how an
/// optimizer without a budget of its own (BootstrapFewShotWithRandomSearch) sees one and stops.
pub fn current() -> Option<Arc<BudgetMeter>> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Run any compile under `budget`: the settings' LM is metered, and optimizers that check
/// [`current`] stop cleanly with their best program so far. Returns the meter with the result.
///
/// ```no_run
/// # async fn demo(student: rdspy::predict::Predict, train: Vec<rdspy::Example>) -> rdspy::Result<()> {
/// use rdspy::optimize::{budget, Budget, BootstrapFewShotWithRandomSearch};
/// let rs = BootstrapFewShotWithRandomSearch::new(rdspy::evaluate::answer_exact_match());
/// let (out, meter) = budget::with_budget(Budget::default().max_calls(300), rs.compile_with_candidates(&student, &train, None)).await;
/// let (program, tried) = out?;
/// println!("{} candidates, stopped early: {}", tried.len(), meter.exhausted().is_some());
/// # Ok(()) }
/// ```
pub async fn with_budget<F: Future>(budget: Budget, fut: F) -> (F::Output, Arc<BudgetMeter>) {
    let meter = budget.meter();
    let out = meter.scope(fut).await;
    (out, meter)
}

/// The budget layer (see [`BudgetMeter::wrap`]).
#[derive(Debug)]
struct Budgeted {
    inner: SharedLM,
    meter: Arc<BudgetMeter>,
}

#[async_trait::async_trait]
impl LM for Budgeted {
    fn model(&self) -> &str {
        self.inner.model()
    }
    async fn call(&self, request: LmRequest) -> Result<LmResponse, LmError> {
        self.meter.reserve().map_err(|e| LmError::Other(format!("{}: {e}; the call was not made", self.inner.model())))?;
        let resp = self.inner.call(request).await?;
        let mut usage = resp.usage;
        if self.inner.is_local() {
            usage.cost = 0.0;
        }
        self.meter.record(&usage);
        Ok(resp)
    }
    fn dump_state(&self) -> Option<serde_json::Value> {
        self.inner.dump_state()
    }
    fn is_local(&self) -> bool {
        self.inner.is_local()
    }
    fn usage(&self) -> Option<Usage> {
        self.inner.usage()
    }
    fn history(&self) -> Option<Arc<crate::lm::HistoryLog>> {
        self.inner.history()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lm::Choice;

    #[derive(Debug)]
    struct Fixed(u64, f64);

    #[async_trait::async_trait]
    impl LM for Fixed {
        fn model(&self) -> &str {
            "test/fixed"
        }
        async fn call(&self, _: LmRequest) -> Result<LmResponse, LmError> {
            let usage =
                Usage { prompt_tokens: self.0, completion_tokens: 0, total_tokens: self.0, cost: self.1, calls: 1, cached_calls: 0 };
            Ok(LmResponse {
                choices: vec![Choice { text: "x".into(), finish_reason: None, tool_calls: vec![] }],
                usage,
                model: "m".into(),
                cache_hit: false,
            })
        }
    }

    async fn calls_until_refused(budget: Budget, lm: Fixed) -> (usize, Exhausted) {
        let meter = budget.meter();
        let lm = meter.wrap(Arc::new(lm));
        let mut ok = 0;
        while lm.call(LmRequest::default()).await.is_ok() {
            ok += 1;
            assert!(ok < 1000, "the budget never stopped the calls");
        }
        (ok, meter.exhausted().expect("refused only when exhausted"))
    }

    #[tokio::test]
    async fn each_limit_stops_calls() {
        let (n, e) = calls_until_refused(Budget::default().max_calls(5), Fixed(10, 0.0)).await;
        assert_eq!((n, e.limit.as_str(), e.spent.calls), (5, "calls", 5));
        let (n, e) = calls_until_refused(Budget::default().max_tokens(25), Fixed(10, 0.0)).await;
        assert_eq!((n, e.limit.as_str(), e.spent.total_tokens), (3, "tokens", 30));
        let (n, e) = calls_until_refused(Budget::default().max_cost(0.01), Fixed(1, 0.004)).await;
        assert_eq!((n, e.limit.as_str()), (3, "cost"));
        assert!(e.to_string().contains("$0.0100"), "{e}");
    }

    #[test]
    fn restore_raises_the_spend() {
        let meter = Budget::default().max_calls(10).meter();
        meter.restore(Usage { calls: 10, total_tokens: 5, ..Default::default() });
        meter.restore(Usage { calls: 3, ..Default::default() });
        assert_eq!(meter.spent().calls, 10);
        assert_eq!(meter.exhausted().map(|e| e.limit), Some("calls".to_string()));
        assert!(Budget::default().is_unlimited() && Budget::default().meter().exhausted().is_none());
    }
}
