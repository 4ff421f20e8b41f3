//! Optimizers ("teleprompters"): turn a program, a metric and examples into a better program by
//! choosing demonstrations, following DSPy 3.4's algorithms and defaults.
//!
//! * [`LabeledFewShot`] — `k` labeled training examples as demos.
//! * [`BootstrapFewShot`] — run a teacher on training examples, keep the traces the metric
//!   accepts as demos, fill up with labeled examples.
//! * [`BootstrapFewShotWithRandomSearch`] — many bootstrapped candidates (DSPy's seeds), each
//!   scored on the validation set; the best wins.
//! * [`Ensemble`] — several programs, answers combined by a reducer (majority vote).
//!
//! Every seeded choice uses ChaCha8 (see [`crate::data`]), so the same seed and the same LM
//! replies give the same program.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use rdspy::optimize::{LabeledFewShot, Optimizer};
//! use rdspy::{predict::Predict, Example, Signature};
//! let student = Predict::new(Signature::parse("question -> answer").unwrap());
//! let train: Vec<Example> = (0..20).map(|i| Example::new().with("question", format!("{i}+1?")).with("answer", format!("{}", i + 1)).with_inputs(["question"])).collect();
//! let compiled = LabeledFewShot::new(4).compile(&student, &train, None).await.unwrap();
//! assert_eq!(compiled.demos.len(), 4);
//! # });
//! ```

mod bootstrap;
pub mod budget;
mod checkpoint;
mod copro;
mod ensemble;
pub mod gepa;
mod knn;
mod labeled;
pub mod mipro;
mod random_search;
pub mod report;
mod scoring;
pub mod search_report;
pub mod simba;
mod traced;

pub use bootstrap::BootstrapFewShot;
pub use budget::{Budget, BudgetMeter, Exhausted, StopReason};
pub use checkpoint::Checkpoint;
pub use copro::{basic_generate_instruction, generate_instruction_given_attempts, Copro, CoproCandidate, CoproRun};
pub use gepa::{Gepa, GepaBudget, GepaResult};
pub use simba::{Simba, SimbaCandidate, SimbaResult, SimbaStep};

/// A journal key from JSON parts (used by [`crate::evaluate::Evaluate`]'s checkpointing).
#[doc(hidden)]
pub fn checkpoint_key(kind: &str, parts: &[serde_json::Value]) -> String {
    checkpoint::key(kind, parts)
}

/// The parts of a program a recorded run depends on (names, instructions, signatures, demos).
#[doc(hidden)]
pub fn program_state_of<P: crate::predict::Predictors + ?Sized>(p: &P) -> serde_json::Value {
    checkpoint::program_state(p)
}
pub use ensemble::{majority, Ensemble, Ensembled};
pub use knn::{KNNFewShot, KnnIndex, KnnProgram};
pub use labeled::LabeledFewShot;
pub use mipro::{AutoRun, MiproRun, MiproTrial, MiproV2, Tpe};
pub use random_search::{BootstrapFewShotWithRandomSearch, Candidate};

use crate::predict::Module;
use crate::{Example, Result};

/// A program an optimizer can compile: a [`Module`] that can be copied.
pub trait Program: Module + Clone + 'static {}
impl<T: Module + Clone + 'static> Program for T {}

/// An optimizer: `compile(student, trainset, valset)` returns the improved program; the
/// student is left unchanged.
#[async_trait::async_trait]
pub trait Optimizer: Send + Sync {
    /// Compile `student` using `trainset` (and `valset` where the optimizer scores candidates;
    /// without one it scores on the trainset, as DSPy does).
    async fn compile<P: Program>(&self, student: &P, trainset: &[Example], valset: Option<&[Example]>) -> Result<P>;
}

/// DSPy's `reset_copy`: a copy with every predictor's demos cleared.
pub fn reset_copy<P: Program>(program: &P) -> P {
    let mut p = program.clone();
    for (_, pred) in p.named_predictors_mut() {
        pred.demos.clear();
    }
    p
}
