//! Parser for DSPy's string signature form.

use super::{Field, FieldKind, TypeSpec};

/// A signature that could not be built: names the position (1-based column) and the problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid signature {spec:?}: {message}{}", column.map(|c| format!(" (at column {c})")).unwrap_or_default())]
pub struct SignatureError {
    /// The signature text, when there was one.
    pub spec: String,
    /// 1-based column of the problem, when it has a position.
    pub column: Option<usize>,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl SignatureError {
    pub(crate) fn other(message: String) -> SignatureError {
        SignatureError { spec: String::new(), column: None, message }
    }
}

pub(crate) fn parse_spec(spec: &str) -> Result<Vec<Field>, SignatureError> {
    // Placeholder: untyped `a, b -> c` only. The full parser replaces this.
    let (l, r) = spec.split_once("->").ok_or_else(|| SignatureError {
        spec: spec.into(),
        column: None,
        message: "expected exactly one `->`".into(),
    })?;
    let mut out = Vec::new();
    for (side, kind) in [(l, FieldKind::Input), (r, FieldKind::Output)] {
        for name in side.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            out.push(Field::new(name, kind, TypeSpec::Str));
        }
    }
    Ok(out)
}

pub(crate) fn validate_fields(fields: &[Field]) -> Result<(), SignatureError> {
    let mut seen = std::collections::HashSet::new();
    for f in fields {
        if !seen.insert(f.name.as_str()) {
            return Err(SignatureError::other(format!("duplicate field name `{}`", f.name)));
        }
    }
    Ok(())
}
