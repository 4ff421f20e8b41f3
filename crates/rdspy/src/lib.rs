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
pub mod assertions;
pub mod data;
pub mod embed;
mod error;
pub mod evaluate;
pub mod lm;
pub mod optimize;
pub mod predict;
pub mod primitives;
pub mod save;
pub mod settings;
pub mod signature;
pub mod tool;
pub mod trace;

pub use assertions::{assert, suggest};
pub use error::{Error, Result};
pub use primitives::{Example, Prediction};
pub use settings::{configure, context, Settings};
pub use signature::{Signature, TypedSignature};

/// `#[derive(Signature)]`: a signature as a struct. The doc comment is the instruction; each
/// field is `#[input]` or `#[output]`, optionally with `(desc = "...", prefix = "...")`; Rust
/// types map onto DSPy's types through [`signature::SignatureType`]. It implements
/// [`TypedSignature`] (the same [`Signature`] the string form gives) and generates
/// `<Name>Input` and `<Name>Output` structs for typed inputs and outputs.
///
/// ```
/// use rdspy::{Signature as _, TypedSignature, Prediction};
///
/// /// Classify the sentiment of a sentence.
/// #[derive(rdspy::Signature)]
/// struct Classify {
///     #[input]
///     sentence: String,
///     #[output(desc = "how sure, 0 to 1")]
///     confidence: f64,
///     #[output]
///     sentiment: Sentiment,
/// }
///
/// #[derive(rdspy::SignatureType, serde::Deserialize, serde::Serialize, Debug, Clone, PartialEq)]
/// #[serde(rename_all = "lowercase")]
/// enum Sentiment { Positive, Negative }
///
/// let sig = Classify::signature();
/// let same = rdspy::Signature::parse("sentence -> confidence: float, sentiment: Literal['positive', 'negative']")
///     .unwrap()
///     .with_instructions("Classify the sentiment of a sentence.")
///     .with_updated_field("confidence", |f| f.desc = "how sure, 0 to 1".into());
/// assert_eq!(sig.fields()[1..], same.fields()[1..]);
///
/// let pred = Prediction::from_json(serde_json::json!({"confidence": 0.9, "sentiment": "positive"})).unwrap();
/// let out: ClassifyOutput = pred.parse_as().unwrap();
/// assert_eq!(out.sentiment, Sentiment::Positive);
/// let inputs = ClassifyInput { sentence: "great".into() }.to_example();
/// assert_eq!(inputs.get_str("sentence"), Some("great"));
/// ```
///
/// The generated code names the runtime crate as `::rdspy`, so depend on `rdspy` (not on
/// `rdspy-macros` directly). Every field must say which side it is on, and only `desc` and
/// `prefix` are accepted keys; both mistakes are compile errors:
///
/// ```compile_fail
/// #[derive(rdspy::Signature)]
/// struct Missing { #[input] question: String, answer: String } // `answer` needs #[input] or #[output]
/// ```
///
/// ```compile_fail
/// #[derive(rdspy::Signature)]
/// struct UnknownKey { #[input] question: String, #[output(description = "x")] answer: String }
/// ```
pub use rdspy_macros::Signature;
/// `#[derive(SignatureType)]`: map a unit-variant enum onto `Literal[...]` (honouring serde
/// renames) or a struct with named fields onto a nested object type (pydantic-style schema).
pub use rdspy_macros::SignatureType;

#[doc(hidden)]
pub mod __private {
    pub use serde;
    pub use serde_json;
}
