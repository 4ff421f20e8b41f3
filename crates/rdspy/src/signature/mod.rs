//! Signatures: what a step must do, as typed input and output fields plus an instruction.
//!
//! There is one [`Signature`] value, however it was written:
//!
//! * DSPy's string form, parsed by [`Signature::parse`]:
//!   `"context: list[str], question: str -> answer: str"`;
//! * a struct with `#[derive(Signature)]`, whose doc comment is the instruction and whose
//!   fields carry `#[input]` / `#[output]` (see [`TypedSignature`]).
//!
//! Both feed the same `Predict`, so there is one way to write a program. A signature is
//! immutable in spirit: `with_instructions`, `prepend`, `append` return new values, as DSPy's
//! class methods return new classes.

mod parse;
mod prefix;
mod types;

pub use parse::SignatureError;
pub use prefix::infer_prefix;
pub use types::{LiteralValue, ObjectField, SignatureType, TypeSpec};

use std::sync::Arc;

/// Whether a field is read by the step or produced by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    Input,
    Output,
}

/// One input or output field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The field name, a Python identifier.
    pub name: String,
    /// Input or output.
    pub kind: FieldKind,
    /// The annotation (an unannotated field is `str`).
    pub ty: TypeSpec,
    /// True when the string form gave no annotation (DSPy's `IS_TYPE_UNDEFINED`).
    pub type_undefined: bool,
    /// The description. DSPy stores `${name}` when none was given; so do we, so that save files match.
    pub desc: String,
    /// The prefix, `infer_prefix(name) + ":"` by default. Only used by save files and some optimizers.
    pub prefix: String,
}

impl Field {
    /// A field with DSPy's default description (`${name}`) and prefix (`Name:`).
    pub fn new(name: impl Into<String>, kind: FieldKind, ty: TypeSpec) -> Field {
        let name = name.into();
        Field { desc: format!("${{{name}}}"), prefix: format!("{}:", infer_prefix(&name)), name, kind, ty, type_undefined: false }
    }

    /// An input field.
    pub fn input(name: impl Into<String>, ty: TypeSpec) -> Field {
        Field::new(name, FieldKind::Input, ty)
    }

    /// An output field.
    pub fn output(name: impl Into<String>, ty: TypeSpec) -> Field {
        Field::new(name, FieldKind::Output, ty)
    }

    /// The same field with a description.
    pub fn with_desc(mut self, desc: impl Into<String>) -> Field {
        self.desc = desc.into();
        self
    }

    /// The same field with a prefix.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Field {
        self.prefix = prefix.into();
        self
    }

    /// The description as the prompt shows it: empty when it is the `${name}` placeholder.
    pub fn visible_desc(&self) -> &str {
        if self.desc == format!("${{{}}}", self.name) {
            ""
        } else {
            &self.desc
        }
    }

    /// True when a parsed output may be missing (its type admits `None`).
    pub fn is_optional(&self) -> bool {
        self.ty.admits_none()
    }
}

/// A signature: instructions plus ordered input and output fields.
///
/// Cheap to clone (the field list is shared).
///
/// ```
/// use rdspy::Signature;
/// let sig = Signature::parse("context: list[str], question -> answer").unwrap();
/// assert_eq!(sig.input_names(), ["context", "question"]);
/// assert_eq!(sig.instructions(), "Given the fields `context`, `question`, produce the fields `answer`.");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    instructions: Arc<str>,
    fields: Arc<[Field]>,
    name: Arc<str>,
    cache: PromptCache,
}

/// Prompt pieces that depend only on the signature (system messages, output reminders),
/// computed once per signature value and shared by its clones. Every method that changes the
/// signature starts a fresh cache.
#[derive(Clone, Default)]
pub struct PromptCache(Arc<[std::sync::OnceLock<Arc<str>>; 4]>);

impl PromptCache {
    /// The cached piece in `slot`, computing it on first use.
    pub fn get_or_init(&self, slot: usize, f: impl FnOnce() -> String) -> Arc<str> {
        self.0[slot].get_or_init(|| f().into()).clone()
    }
}

impl PartialEq for PromptCache {
    fn eq(&self, _: &PromptCache) -> bool {
        true // a cache never makes two signatures differ
    }
}

impl std::fmt::Debug for PromptCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PromptCache")
    }
}

impl Signature {
    /// Build a signature from fields (inputs and outputs in any order; inputs come first in
    /// the result, each group keeping its order). `None` instructions give DSPy's default.
    pub fn new(fields: Vec<Field>, instructions: Option<&str>) -> Result<Signature, SignatureError> {
        let (mut inputs, outputs): (Vec<Field>, Vec<Field>) = fields.into_iter().partition(|f| f.kind == FieldKind::Input);
        inputs.extend(outputs);
        parse::validate_fields(&inputs)?;
        let instructions = match instructions.map(cleandoc) {
            Some(i) if !i.is_empty() => i,
            _ => default_instructions(&inputs),
        };
        Ok(Signature {
            instructions: instructions.into(),
            fields: inputs.into(),
            name: "StringSignature".into(),
            cache: PromptCache::default(),
        })
    }

    /// Parse DSPy's string form, e.g. `"question -> answer: int"`. Errors name the column and
    /// the problem.
    pub fn parse(spec: &str) -> Result<Signature, SignatureError> {
        let fields = parse::parse_spec(spec)?;
        Signature::new(fields, None)
    }

    /// Cached prompt pieces (used by the adapters).
    pub fn prompt_cache(&self) -> &PromptCache {
        &self.cache
    }

    /// The class name (`StringSignature` for string forms, the struct name for derived ones).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The same signature with another class name.
    pub fn with_name(mut self, name: impl Into<String>) -> Signature {
        self.name = name.into().into();
        self
    }

    /// The instructions (the task description in the prompt).
    pub fn instructions(&self) -> &str {
        &self.instructions
    }

    /// All fields, inputs first.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Input fields in order.
    pub fn input_fields(&self) -> impl Iterator<Item = &Field> + Clone {
        self.fields.iter().filter(|f| f.kind == FieldKind::Input)
    }

    /// Output fields in order.
    pub fn output_fields(&self) -> impl Iterator<Item = &Field> + Clone {
        self.fields.iter().filter(|f| f.kind == FieldKind::Output)
    }

    /// Input field names in order.
    pub fn input_names(&self) -> Vec<&str> {
        self.input_fields().map(|f| f.name.as_str()).collect()
    }

    /// Output field names in order.
    pub fn output_names(&self) -> Vec<&str> {
        self.output_fields().map(|f| f.name.as_str()).collect()
    }

    /// A field by name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// A new signature with other instructions (DSPy's `with_instructions`). As in DSPy, the
    /// text is normalized like a docstring (`inspect.cleandoc`), and empty instructions fall back
    /// to the default ones.
    pub fn with_instructions(&self, instructions: impl Into<String>) -> Signature {
        let text = cleandoc(&instructions.into());
        let text = if text.is_empty() { default_instructions(&self.fields) } else { text };
        Signature { instructions: text.into(), cache: PromptCache::default(), ..self.clone() }
    }

    /// A new signature with exactly these instructions (no normalization): how DSPy's
    /// `load_state` sets them.
    pub fn with_instructions_exact(&self, instructions: &str) -> Signature {
        Signature { instructions: instructions.into(), cache: PromptCache::default(), ..self.clone() }
    }

    /// A new signature whose instructions have `extra` appended after a blank line.
    pub fn append_instructions(&self, extra: &str) -> Signature {
        self.with_instructions(format!("{}\n\n{}", self.instructions, extra))
    }

    /// Insert a field at `index` within its group (inputs or outputs); DSPy's `insert`.
    /// A negative index counts from the end of the group (`-1` appends).
    pub fn insert(&self, index: isize, field: Field) -> Result<Signature, SignatureError> {
        let mut inputs: Vec<Field> = self.input_fields().cloned().collect();
        let mut outputs: Vec<Field> = self.output_fields().cloned().collect();
        let group = if field.kind == FieldKind::Input { &mut inputs } else { &mut outputs };
        let len = group.len() as isize;
        let at = if index < 0 { len + 1 + index } else { index };
        if at < 0 || at > len {
            return Err(SignatureError::other(format!(
                "cannot insert field `{}` at index {index}: the group has {len} fields",
                field.name
            )));
        }
        group.insert(at as usize, field);
        inputs.extend(outputs);
        parse::validate_fields(&inputs)?;
        Ok(Signature { fields: inputs.into(), cache: PromptCache::default(), ..self.clone() })
    }

    /// A new signature with `field` first in its group (ChainOfThought prepends `reasoning`).
    pub fn prepend(&self, field: Field) -> Result<Signature, SignatureError> {
        self.insert(0, field)
    }

    /// A new signature with `field` last in its group.
    pub fn append(&self, field: Field) -> Result<Signature, SignatureError> {
        self.insert(-1, field)
    }

    /// A new signature without the named field.
    pub fn delete(&self, name: &str) -> Signature {
        let fields: Vec<Field> = self.fields.iter().filter(|f| f.name != name).cloned().collect();
        Signature { fields: fields.into(), cache: PromptCache::default(), ..self.clone() }
    }

    /// A new signature where the named field is changed by `f` (DSPy's `with_updated_fields`).
    pub fn with_updated_field(&self, name: &str, f: impl FnOnce(&mut Field)) -> Signature {
        let mut fields: Vec<Field> = self.fields.to_vec();
        if let Some(field) = fields.iter_mut().find(|x| x.name == name) {
            f(field);
        }
        Signature { fields: fields.into(), cache: PromptCache::default(), ..self.clone() }
    }

    /// Replace every field (keeping order and instructions); used by save/load, which sets
    /// prefix and description by position.
    pub fn with_fields(&self, fields: Vec<Field>) -> Result<Signature, SignatureError> {
        parse::validate_fields(&fields)?;
        Ok(Signature { fields: fields.into(), cache: PromptCache::default(), ..self.clone() })
    }

    /// DSPy's `.signature` string: `"a, b -> c"` (names only).
    pub fn spec(&self) -> String {
        format!("{} -> {}", self.input_names().join(", "), self.output_names().join(", "))
    }
}

/// DSPy's default instructions: ``Given the fields `a`, `b`, produce the fields `c`.``
pub fn default_instructions(fields: &[Field]) -> String {
    let list = |kind: FieldKind| fields.iter().filter(|f| f.kind == kind).map(|f| format!("`{}`", f.name)).collect::<Vec<_>>().join(", ");
    format!("Given the fields {}, produce the fields {}.", list(FieldKind::Input), list(FieldKind::Output))
}

/// Python's `inspect.cleandoc`: DSPy stores instructions as a class docstring, normalized so.
///
/// Tabs become spaces, the first line loses its leading whitespace, the rest lose their common
/// indentation, and leading and trailing blank lines go.
pub fn cleandoc(doc: &str) -> String {
    let expanded = doc.replace('\t', "        ");
    let lines: Vec<&str> = expanded.split('\n').collect();
    let margin = lines[1..]
        .iter()
        .filter_map(|l| {
            let content = l.trim_start_matches(' ');
            (!content.is_empty()).then_some(l.len() - content.len())
        })
        .min()
        .unwrap_or(0);
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    out.push(lines[0].trim_start().to_string());
    for l in &lines[1..] {
        out.push(l.get(margin..).unwrap_or("").to_string());
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    while out.first().is_some_and(|l| l.trim().is_empty()) {
        out.remove(0);
    }
    out.join("\n")
}

/// A signature declared as a Rust struct with `#[derive(Signature)]`.
///
/// The derive builds the same [`Signature`] the string form gives, plus typed input and output
/// structs so a program can read predictions without string keys.
pub trait TypedSignature {
    /// The typed outputs (deserialized from a prediction).
    type Output: serde::de::DeserializeOwned;
    /// The signature value.
    fn signature() -> Signature;
}
