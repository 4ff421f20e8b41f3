//! DSPy's `ChatAdapter`: inputs and outputs in `[[ ## field ## ]]` sections.
//!
//! Every string here reproduces DSPy 3.4.1 byte for byte, quirks included: the trailing space
//! after `your objective is:`, `": "` after every field description but the last, the 8-space
//! instruction indent, incomplete demos first with `Not supplied for this particular example. `.
//! JSONAdapter reuses the shared pieces, as DSPy's JSONAdapter subclasses ChatAdapter.

use super::coerce::parse_value;
use super::pyfmt::{push_field_value, type_name, type_placeholder};
use super::{Adapter, Message, ParseError};
use crate::signature::{Field, TypeSpec};
use crate::{Example, Signature};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// DSPy's default adapter.
///
/// ```
/// use rdspy::adapter::{Adapter, ChatAdapter};
/// use rdspy::Signature;
/// let sig = Signature::parse("question -> answer: int").unwrap();
/// let out = ChatAdapter::default().parse(&sig, "[[ ## answer ## ]]\n4\n\n[[ ## completed ## ]]").unwrap();
/// assert_eq!(out["answer"], 4);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ChatAdapter {}

pub(crate) const INCOMPLETE_DEMO_PREFIX: &str = "This is an example of the task, though some input or output fields are not supplied.";
pub(crate) const MISSING_IN_DEMO: &str = "Not supplied for this particular example. ";
const STRUCTURE_INTRO: &str = "All interactions will be structured in the following way, with the appropriate values filled in.";

/// Python's `str.isspace()` for one character.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()`.
pub(crate) fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// Python's `str.splitlines()`.
pub(crate) fn py_splitlines(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let is_break = matches!(c, '\n' | '\r' | '\u{0b}' | '\u{0c}' | '\u{1c}' | '\u{1d}' | '\u{1e}' | '\u{85}' | '\u{2028}' | '\u{2029}');
        if is_break {
            out.push(&s[start..i]);
            let mut next = i + c.len_utf8();
            if c == '\r' {
                if let Some(&(j, '\n')) = it.peek() {
                    it.next();
                    next = j + 1;
                }
            }
            start = next;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// Python's `textwrap.dedent`.
fn dedent(text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let margin = lines
        .iter()
        .filter(|l| !l.trim_matches([' ', '\t']).is_empty())
        .map(|l| &l[..l.len() - l.trim_start_matches([' ', '\t']).len()])
        .reduce(|a, b| {
            let n = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
            &a[..n]
        })
        .unwrap_or("");
    lines
        .iter()
        .map(|l| if l.trim_matches([' ', '\t']).is_empty() { "" } else { l.strip_prefix(margin).unwrap_or(l) })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `1. `name` (type): desc` lines (DSPy's `get_field_description_string`).
fn field_descriptions<'a>(fields: impl Iterator<Item = &'a Field>, out: &mut String) {
    let start = out.len();
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("{}. `{}` ({}): {}", i + 1, f.name, type_name(&f.ty), f.visible_desc()));
    }
    let trimmed = py_strip(&out[start..]).to_string();
    out.truncate(start);
    out.push_str(&trimmed);
}

/// `Your input fields are: ... Your output fields are: ...`
pub(crate) fn field_description(sig: &Signature, out: &mut String) {
    out.push_str("Your input fields are:\n");
    field_descriptions(sig.input_fields(), out);
    out.push_str("\nYour output fields are:\n");
    field_descriptions(sig.output_fields(), out);
}

/// `[[ ## name ## ]]⏎{name}` blocks for a group of fields.
pub(crate) fn structure_block<'a>(fields: impl Iterator<Item = &'a Field>, is_input: bool) -> String {
    let parts: Vec<String> = fields.map(|f| format!("[[ ## {} ## ]]\n{}", f.name, type_placeholder(f, is_input))).collect();
    py_strip(&parts.join("\n\n")).to_string()
}

/// `In adhering to this structure, your objective is: ⏎        <instructions>`
pub(crate) fn task_description(sig: &Signature, out: &mut String) {
    out.push_str("In adhering to this structure, your objective is: ");
    for line in py_splitlines(&dedent(sig.instructions())) {
        out.push_str("\n        ");
        out.push_str(line);
    }
}

fn type_info(f: &Field) -> String {
    if f.ty == TypeSpec::Str {
        String::new()
    } else {
        format!(" (must be formatted as a valid Python {})", type_name(&f.ty))
    }
}

/// The user turn: `[[ ## k ## ]]⏎value` per present input, plus prefix and requirements.
///
/// DSPy joins `[prefix, fields..., requirements, suffix]` with blank lines and strips the
/// result; we build the same string in one buffer.
pub(crate) fn user_content(sig: &Signature, values: &Map<String, Value>, prefix: &str, requirements: Option<&str>) -> String {
    let mut s = String::with_capacity(256);
    s.push_str(prefix);
    for f in sig.input_fields() {
        if let Some(v) = values.get(&f.name) {
            s.push_str("\n\n[[ ## ");
            s.push_str(&f.name);
            s.push_str(" ## ]]\n");
            push_field_value(f, v, &mut s);
        }
    }
    if let Some(r) = requirements {
        s.push_str("\n\n");
        s.push_str(r);
    }
    strip_owned(s)
}

/// Python's `strip()` on an owned string, reusing its buffer when nothing leads.
pub(crate) fn strip_owned(mut s: String) -> String {
    let start = s.len() - s.trim_start_matches(is_py_space).len();
    let end = start + py_strip(&s).len();
    s.truncate(end);
    if start > 0 {
        s.drain(..start);
    }
    s
}

/// A demo is complete when every signature field is present and not null.
pub(crate) fn split_demos<'a>(sig: &Signature, demos: &'a [Example]) -> (Vec<&'a Example>, Vec<&'a Example>) {
    let (mut complete, mut incomplete) = (Vec::new(), Vec::new());
    for d in demos {
        let is_complete = sig.fields().iter().all(|f| d.get(&f.name).is_some_and(|v| !v.is_null()));
        let has_input = sig.input_fields().any(|f| d.contains_key(&f.name));
        let has_output = sig.output_fields().any(|f| d.contains_key(&f.name));
        if is_complete {
            complete.push(d);
        } else if has_input && has_output {
            incomplete.push(d);
        }
    }
    (complete, incomplete)
}

/// Shared message assembly for the chat-family adapters.
pub(crate) fn assemble(
    sig: &Signature,
    demos: &[Example],
    inputs: &Map<String, Value>,
    system: &str,
    requirements: &str,
    assistant: impl Fn(&Signature, &Example, Option<&str>) -> String,
) -> Vec<Message> {
    let mut messages = Vec::with_capacity(2 + 2 * demos.len());
    messages.push(Message::system(system));
    let (complete, incomplete) = split_demos(sig, demos);
    for d in incomplete {
        messages.push(Message::user(user_content(sig, d.as_map(), INCOMPLETE_DEMO_PREFIX, None)));
        messages.push(Message::assistant(assistant(sig, d, Some(MISSING_IN_DEMO))));
    }
    for d in complete {
        messages.push(Message::user(user_content(sig, d.as_map(), "", None)));
        messages.push(Message::assistant(assistant(sig, d, None)));
    }
    let content = user_content(sig, inputs, "", Some(requirements));
    if !content.is_empty() {
        messages.push(Message::user(content));
    }
    messages
}

impl ChatAdapter {
    /// The system message.
    pub fn system_message(&self, sig: &Signature) -> String {
        let mut out = String::with_capacity(512);
        field_description(sig, &mut out);
        out.push('\n');
        let parts = [
            STRUCTURE_INTRO.to_string(),
            structure_block(sig.input_fields(), true),
            structure_block(sig.output_fields(), false),
            "[[ ## completed ## ]]\n".to_string(),
        ];
        out.push_str(py_strip(&parts.join("\n\n")));
        out.push('\n');
        task_description(sig, &mut out);
        out
    }

    /// The reminder at the end of the last user turn.
    pub fn output_requirements(&self, sig: &Signature) -> String {
        let fields: Vec<String> = sig.output_fields().map(|f| format!("`[[ ## {} ## ]]`{}", f.name, type_info(f))).collect();
        format!(
            "Respond with the corresponding output fields, starting with the field {}, and then ending with the marker for `[[ ## completed ## ]]`.",
            fields.join(", then ")
        )
    }

    /// An assistant turn holding `outputs` (a demo's or a history message's).
    pub fn assistant_content(&self, sig: &Signature, outputs: &Example, missing: Option<&str>) -> String {
        let mut s = String::with_capacity(128);
        for (i, f) in sig.output_fields().enumerate() {
            if i > 0 {
                s.push_str("\n\n");
            }
            s.push_str("[[ ## ");
            s.push_str(&f.name);
            s.push_str(" ## ]]\n");
            match (outputs.get(&f.name), missing) {
                (Some(v), _) => push_field_value(f, v, &mut s),
                (None, Some(m)) => s.push_str(m),
                (None, None) => s.push_str("None"),
            }
        }
        let mut s = strip_owned(s);
        s.push_str("\n\n[[ ## completed ## ]]\n");
        s
    }
}

/// Fill missing optional outputs with null, then check every output was read.
pub(crate) fn finish_parse(
    adapter: &str,
    sig: &Signature,
    completion: &str,
    mut fields: Map<String, Value>,
) -> Result<Map<String, Value>, ParseError> {
    let mut ordered = Map::new();
    for f in sig.output_fields() {
        match fields.remove(&f.name) {
            Some(v) => {
                ordered.insert(f.name.clone(), v);
            }
            None if f.is_optional() => {
                ordered.insert(f.name.clone(), Value::Null);
            }
            None => {}
        }
    }
    if ordered.len() != sig.output_fields().count() {
        let mut e = ParseError::new(adapter, sig, completion);
        e.found = Some(ordered.keys().cloned().collect());
        return Err(e);
    }
    Ok(ordered)
}

/// `^\[\[ ## (\w+) ## \]\]` on a stripped line: the header name and the byte length matched.
fn header(line: &str) -> Option<(&str, usize)> {
    let rest = line.strip_prefix("[[ ## ")?;
    let name_len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    if name_len == 0 {
        return None;
    }
    rest[name_len..].strip_prefix(" ## ]]")?;
    Some((&rest[..name_len], 6 + name_len + 6))
}

impl Adapter for ChatAdapter {
    fn name(&self) -> &'static str {
        "ChatAdapter"
    }

    fn format(&self, signature: &Signature, demos: &[Example], inputs: &Map<String, Value>) -> Vec<Message> {
        let cache = signature.prompt_cache();
        let system = cache.get_or_init(0, || self.system_message(signature));
        let requirements = cache.get_or_init(1, || self.output_requirements(signature));
        assemble(signature, demos, inputs, &system, &requirements, |s, d, m| self.assistant_content(s, d, m))
    }

    fn parse(&self, signature: &Signature, completion: &str) -> Result<Map<String, Value>, ParseError> {
        let mut sections: Vec<(Option<&str>, Vec<Cow<str>>)> = vec![(None, Vec::new())];
        for line in py_splitlines(completion) {
            let stripped = py_strip(line);
            match header(stripped) {
                Some((name, matched_len)) => {
                    // DSPy slices the *unstripped* line at the end of the match on the stripped
                    // one; reproduce that (it only differs for indented headers).
                    let matched_chars = stripped[..matched_len].chars().count();
                    let rest: String = line.chars().skip(matched_chars).collect();
                    let rest = py_strip(&rest);
                    let lines = if rest.is_empty() { Vec::new() } else { vec![Cow::Owned(rest.to_string())] };
                    sections.push((Some(name), lines));
                }
                None => sections.last_mut().expect("at least one section").1.push(Cow::Borrowed(line)),
            }
        }
        let mut fields = Map::new();
        for (name, lines) in sections {
            let Some(name) = name else { continue };
            if fields.contains_key(name) {
                continue;
            }
            let Some(field) = signature.output_fields().find(|f| f.name == name) else { continue };
            let text = py_strip(&lines.join("\n")).to_string();
            match parse_value(&Value::String(text.clone()), &field.ty) {
                Ok(v) => {
                    fields.insert(name.to_string(), v);
                }
                Err(e) => {
                    let mut err = ParseError::new(self.name(), signature, completion);
                    err.message = Some(format!("Failed to parse field {name} with value {text} from the LM response. Error message: {e}"));
                    return Err(err);
                }
            }
        }
        finish_parse(self.name(), signature, completion, fields)
    }
}
