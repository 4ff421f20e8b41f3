//! # rdspy — DSPy for Rust
//!
//! Program language models instead of hand-writing prompt strings. Declare what each step must
//! do as a [`Signature`] (typed inputs and outputs plus an instruction), compose steps into a
//! program of modules, give a metric and examples, and let an optimizer find the instructions
//! and demonstrations that score best for your model.
//!
//! ## Design
//!
//! Dependencies point one way, as the module list reads:
//!
//! * [`signature`] — the type model and signatures (string form and `#[derive(Signature)]`);
//! * [`adapter`] — signature + demos + inputs → messages, and reply → outputs. Byte-identical
//!   to Python DSPy 3.4's ChatAdapter and JSONAdapter;
//! * [`lm`] — the async [`lm::LM`] trait and the layers that wrap it (retry, cache, usage, history);
//! * [`predict`] — modules (`Predict`, `ChainOfThought`, ...) and the [`predict::Module`] trait.
//!
//! A few small traits (`Module`, `Adapter`, `LM`) compose; behaviour such as caching or retrying
//! is a layer around an LM, not a flag inside it.

pub mod adapter;
mod error;
pub mod lm;
pub mod predict;
pub mod primitives;
pub mod save;
pub mod settings;
pub mod signature;
pub mod trace;

pub use error::{Error, Result};
pub use primitives::{Example, Prediction};
pub use settings::{configure, context, Settings};
pub use signature::{Signature, TypedSignature};

/// `#[derive(Signature)]`: a struct whose doc comment is the instruction and whose fields carry
/// `#[input]` / `#[output]`.
pub use rdspy_macros::Signature;
/// `#[derive(SignatureType)]`: map a serde struct or a unit-variant enum onto DSPy's type model.
pub use rdspy_macros::SignatureType;
