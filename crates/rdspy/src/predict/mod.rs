//! Modules: programs built from predictors.
//!
//! A [`Module`] is anything with an async `forward`. Programs are ordinary Rust structs of
//! modules; `named_predictors()` walks them with DSPy's names (`predict`,
//! `generate_answer.predict`, `layers[0]`) so optimizers and save/load reach every predictor.

use crate::{Example, Prediction, Result};

/// A program or a step of one.
#[async_trait::async_trait]
pub trait Module: Send + Sync {
    /// Run the module on one example's inputs.
    async fn forward(&self, inputs: &Example) -> Result<Prediction>;
}
