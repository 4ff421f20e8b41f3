//! Assertions: constraints a program states on its LM outputs, with backtracking.
//!
//! Inside `forward`, after a predictor answered, check the answer:
//!
//! * [`assert`]`(cond, "message")?` — the constraint must hold;
//! * [`suggest`]`(cond, "message")?` — the constraint should hold.
//!
//! Run the program through [`WithAssertions`] (or `.activate_assertions()`) and a failed check
//! does not end the call: the predictor that produced the checked output (the last one that
//! ran, or the one named with [`assert_on`] / [`suggest_on`]) is run again with two kinds of
//! extra inputs, as in DSPy 2.x — `past_<output>` holding each of its earlier outputs, and
//! `feedback` holding the failure messages as instructions — and the whole `forward` is
//! repeated, up to `max_backtracks` times (default 2). If it still fails, an `Assert` fails the
//! call with [`crate::Error::Assertion`] naming the constraint and the predictor, while a
//! `Suggest` is logged (`tracing` warning) and the program continues with its last output.
//!
//! Without [`WithAssertions`], a failed `assert` is an error at once and a failed `suggest`
//! is only logged.
//!
//! DSPy 3 removed assertions in favour of `Refine`; rdspy keeps both. Differences from DSPy
//! 2.x: an `Assert` gets the same number of retries as a `Suggest` (2.x stopped one run
//! earlier for asserts), and the state lives in a task-local, so concurrent programs never see
//! each other's backtracking.

mod backtrack;

pub use backtrack::{is_assertion_failure, ActivateAssertions, WithAssertions};

use crate::predict::Predictors;
use crate::{Error, Result};
use std::sync::Arc;

/// Which kind of constraint failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constraint {
    /// Must hold: fails the call when backtracking cannot fix it.
    Assert,
    /// Should hold: logged and ignored when backtracking cannot fix it.
    Suggest,
}

impl std::fmt::Display for Constraint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Constraint::Assert => "Assert",
            Constraint::Suggest => "Suggest",
        })
    }
}

/// A constraint that did not hold.
#[derive(Debug, Clone)]
pub struct AssertionError {
    /// `Assert` or `Suggest`.
    pub kind: Constraint,
    /// The constraint's message (what the LM is told on a retry).
    pub message: String,
    /// The predictor blamed, by its DSPy name (set by [`WithAssertions`]).
    pub predictor: Option<String>,
    /// How many backtracks were tried before giving up.
    pub backtracks: usize,
    /// Predictor ids named by `assert_on` / `suggest_on` (else the last predictor that ran).
    pub(crate) target: Option<Vec<u64>>,
}

impl std::fmt::Display for AssertionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} failed: {:?}", self.kind, self.message)?;
        if let Some(p) = &self.predictor {
            write!(f, " (output of predictor `{p}`")?;
            if self.backtracks > 0 {
                write!(f, ", still failing after {} backtrack(s)", self.backtracks)?;
            }
            f.write_str(")")?;
        }
        if self.predictor.is_none() && self.backtracks == 0 {
            f.write_str("; run the program through rdspy::assertions::WithAssertions to retry the predictor with this feedback")
        } else {
            f.write_str("; raise max_backtracks, use a stronger model, or relax the constraint")
        }
    }
}

impl std::error::Error for AssertionError {}

/// Per-run state set by [`WithAssertions`]: whether this is the last allowed run (on it, a
/// failed `suggest` is logged instead of triggering another backtrack).
#[derive(Debug, Default)]
pub(crate) struct RunState {
    pub final_run: bool,
}

tokio::task_local! {
    pub(crate) static RUN: Arc<RunState>;
}

fn check(kind: Constraint, cond: bool, message: String, target: Option<Vec<u64>>) -> Result<()> {
    if cond {
        return Ok(());
    }
    let backtracking = RUN.try_with(|r| !r.final_run).unwrap_or(false);
    if kind == Constraint::Suggest && !backtracking {
        tracing::warn!(constraint = "Suggest", message = %message, "suggestion failed; continuing");
        return Ok(());
    }
    tracing::info!(constraint = %kind, message = %message, "constraint failed");
    Err(Error::Assertion(AssertionError { kind, message, predictor: None, backtracks: 0, target }))
}

/// DSPy's `dspy.Assert(cond, msg)`: `Err` when `cond` is false, for `?` in `forward`.
///
/// ```
/// let answer = "forty-two";
/// let err = rdspy::assert(answer.parse::<f64>().is_ok(), "the answer must be a number").unwrap_err();
/// assert!(err.to_string().contains("Assert failed: \"the answer must be a number\""));
/// ```
pub fn assert(cond: bool, message: impl Into<String>) -> Result<()> {
    check(Constraint::Assert, cond, message.into(), None)
}

/// DSPy's `dspy.Suggest(cond, msg)`: like [`assert`], but when backtracking cannot fix it
/// (or outside [`WithAssertions`]) it only logs, and the program continues.
///
/// ```
/// assert!(rdspy::suggest(false, "keep the summary under 50 words").is_ok(), "outside WithAssertions it only logs");
/// ```
pub fn suggest(cond: bool, message: impl Into<String>) -> Result<()> {
    check(Constraint::Suggest, cond, message.into(), None)
}

/// [`assert`] blaming the predictors of `target` (DSPy's `target_module`) rather than the last
/// predictor that ran: the most recent call of one of them is retried.
///
/// ```
/// use rdspy::predict::Predict;
/// let draft = Predict::new(rdspy::Signature::parse("topic -> summary").unwrap());
/// assert!(rdspy::assertions::assert_on(&draft, true, "fine").is_ok());
/// ```
pub fn assert_on(target: &impl Predictors, cond: bool, message: impl Into<String>) -> Result<()> {
    check(Constraint::Assert, cond, message.into(), Some(ids(target)))
}

/// [`suggest`] blaming the predictors of `target`.
pub fn suggest_on(target: &impl Predictors, cond: bool, message: impl Into<String>) -> Result<()> {
    check(Constraint::Suggest, cond, message.into(), Some(ids(target)))
}

fn ids(target: &impl Predictors) -> Vec<u64> {
    target.named_predictors().into_iter().map(|(_, p)| p.id()).collect()
}
