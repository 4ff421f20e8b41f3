//! Data types that flow through programs: [`Example`] and [`Prediction`].

mod example;
mod prediction;

pub use example::Example;
pub use prediction::Prediction;
