//! Modules: programs built from predictors.
//!
//! A program is an ordinary Rust struct of modules with an async `forward`. Two traits:
//!
//! * [`Predictors`] walks the program's predictors with DSPy's names (`predict`,
//!   `generate_answer.predict`, `layers[0]`), so optimizers and save/load reach every predictor.
//!   `#[derive(Predictors)]` implements it for a struct by walking its fields (mark fields that
//!   hold no predictors `#[predictors(skip)]`); [`crate::predictors!`] does the same in one line
//!   for a listed subset of fields.
//! * [`Module`] adds `forward`, which stays yours: the derive only does the bookkeeping.
//!
//! Optimizers are generic over `M: Module + Clone`, so derive `Clone` too.
//!
//! ```
//! use rdspy::predict::{ChainOfThought, Module, Predict, Predictors};
//! use rdspy::{Example, Prediction, Result};
//!
//! #[derive(Clone, Predictors)]
//! struct Rag {
//!     generate: ChainOfThought,
//!     check: Predict,
//!     #[predictors(skip)]
//!     k: usize,
//! }
//!
//! #[async_trait::async_trait]
//! impl Module for Rag {
//!     async fn forward(&self, inputs: &Example) -> Result<Prediction> {
//!         let answer = self.generate.forward(inputs).await?;
//!         let verdict = self.check.forward(&Example::new().with("sentence", answer.get_str("answer").unwrap_or(""))).await?;
//!         Ok(verdict)
//!     }
//! }
//!
//! let rag = Rag {
//!     generate: ChainOfThought::new(rdspy::Signature::parse("question -> answer").unwrap()),
//!     check: Predict::new(rdspy::Signature::parse("sentence -> ok: bool").unwrap()),
//!     k: 3,
//! };
//! let names: Vec<String> = rag.named_predictors().into_iter().map(|(n, _)| n).collect();
//! assert_eq!(names, ["generate.predict", "check"]);
//! ```

mod aggregation;
mod best_of_n;
mod chain_of_thought;
mod multi_chain_comparison;
mod parallel;
#[allow(clippy::module_inception)]
mod predict;
mod react;
mod refine;

pub use aggregation::{default_normalize, majority, majority_of_completions, majority_with};
pub use best_of_n::{BestOfN, Reward};
pub use chain_of_thought::ChainOfThought;
pub use multi_chain_comparison::MultiChainComparison;
pub use parallel::{Parallel, ParallelResults};
pub use predict::{LmConfig, Predict};
/// `#[derive(Predictors)]`: implements [`Predictors`] (trait of the same name) from the
/// struct's fields; see the module documentation.
pub use rdspy_macros::Predictors;
pub use react::ReAct;
pub use refine::{inspect_modules, offer_feedback_signature, Refine};

use crate::{Example, Prediction, Result};

/// Access to every predictor of a program, with DSPy's names.
pub trait Predictors {
    /// `(name, predictor)` pairs in declaration order.
    fn named_predictors(&self) -> Vec<(String, &Predict)>;
    /// The same, mutable (optimizers set demos and instructions through this).
    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)>;
}

/// A program or a step of one.
#[async_trait::async_trait]
pub trait Module: Predictors + Send + Sync {
    /// Run the module on one example's inputs.
    async fn forward(&self, inputs: &Example) -> Result<Prediction>;
}

/// Join a parent field name and a child predictor name as DSPy does: a bare predictor is
/// `self`, which disappears under a parent.
pub fn join_name(parent: &str, child: &str) -> String {
    if child == "self" {
        parent.to_string()
    } else if child.starts_with('[') {
        format!("{parent}{child}")
    } else {
        format!("{parent}.{child}")
    }
}

impl<T: Predictors> Predictors for Vec<T> {
    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        self.iter()
            .enumerate()
            .flat_map(|(i, m)| m.named_predictors().into_iter().map(move |(n, p)| (join_name(&format!("[{i}]"), &n), p)))
            .collect()
    }
    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        self.iter_mut()
            .enumerate()
            .flat_map(|(i, m)| m.named_predictors_mut().into_iter().map(move |(n, p)| (join_name(&format!("[{i}]"), &n), p)))
            .collect()
    }
}

impl<T: Predictors> Predictors for Option<T> {
    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        self.as_ref().map(|m| m.named_predictors()).unwrap_or_default()
    }
    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        self.as_mut().map(|m| m.named_predictors_mut()).unwrap_or_default()
    }
}

/// A program made only of named predictors, with no `forward` of its own. It is what
/// `rdspy run --program` and the conformance tests rebuild from a saved file.
#[derive(Debug, Clone, Default)]
pub struct NamedPredictors(pub Vec<(String, Predict)>);

impl Predictors for NamedPredictors {
    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        self.0.iter().map(|(n, p)| (n.clone(), p)).collect()
    }
    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        self.0.iter_mut().map(|(n, p)| (n.clone(), p)).collect()
    }
}

/// Implement [`Predictors`] for a struct from its module fields, in one line:
/// `rdspy::predictors!(MyProgram { retrieve_step, generate, layers });`
#[macro_export]
macro_rules! predictors {
    ($ty:ty { $($field:ident),* $(,)? }) => {
        impl $crate::predict::Predictors for $ty {
            fn named_predictors(&self) -> ::std::vec::Vec<(::std::string::String, &$crate::predict::Predict)> {
                let mut out = ::std::vec::Vec::new();
                $(
                    for (n, p) in $crate::predict::Predictors::named_predictors(&self.$field) {
                        out.push(($crate::predict::join_name(stringify!($field), &n), p));
                    }
                )*
                out
            }
            fn named_predictors_mut(&mut self) -> ::std::vec::Vec<(::std::string::String, &mut $crate::predict::Predict)> {
                let mut out = ::std::vec::Vec::new();
                $(
                    for (n, p) in $crate::predict::Predictors::named_predictors_mut(&mut self.$field) {
                        out.push(($crate::predict::join_name(stringify!($field), &n), p));
                    }
                )*
                out
            }
        }
    };
}
