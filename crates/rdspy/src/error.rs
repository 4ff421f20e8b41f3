//! The crate's error type: every failure names what and where, and says what to do.

use crate::{adapter::ParseError, lm::LmError, signature::SignatureError};

/// Any rdspy error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A signature string or declaration is wrong.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The LM's reply could not be read as the signature's outputs.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The LM call failed.
    #[error(transparent)]
    Lm(#[from] LmError),
    /// A value given by the caller is wrong (missing input, bad JSON, ...).
    #[error("{0}")]
    InvalidInput(String),
    /// No LM is configured for a predictor.
    #[error("no LM configured: call rdspy::configure(Settings::new().lm(...)) or set one on the predictor")]
    NoLm,
    /// A saved program does not match the program it is loaded into.
    #[error("{0}")]
    Load(String),
    /// File or process I/O, with the path or action that failed.
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    /// A program's `rdspy::assert` (or an unfixed `suggest` while backtracking) did not hold.
    #[error(transparent)]
    Assertion(#[from] crate::assertions::AssertionError),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// An I/O error with context (usually the path).
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io { context: context.into(), source }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
