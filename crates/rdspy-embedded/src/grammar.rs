//! Grammars that constrain generation, built from a request's `response_format`.
//!
//! An invalid grammar can abort llama.cpp (a GGML assert kills the process, it is not an
//! `Err`), so only grammars made here are ever used: llama.cpp's own JSON-schema converter for
//! `json_schema`, and a fixed, tested JSON-object grammar for `json_object`.

use serde_json::Value;

/// Any JSON object, for `response_format = {"type": "json_object"}`. The whitespace rule is
/// bounded so a small model cannot spin on blanks until `max_tokens`.
pub const JSON_OBJECT_GBNF: &str = r#"root ::= object
value ::= object | array | string | number | ("true" | "false" | "null") ws
object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws
array ::= "[" ws ( value ("," ws value)* )? "]" ws
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}) )* "\"" ws
number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9]{1,3})? ws
ws ::= | " " | "\n" [ \t]{0,20}
"#;

/// The grammar a request asks for, if any.
///
/// * `{"type": "json_schema", "json_schema": {"schema": {...}}}` → llama.cpp's
///   `json_schema_to_grammar` (properties in schema order, enums as alternatives);
/// * `{"type": "json_object"}` → [`JSON_OBJECT_GBNF`];
/// * anything else (or none) → no grammar.
///
/// ```
/// let rf = serde_json::json!({"type": "json_schema", "json_schema": {"name": "o", "schema": {
///     "type": "object", "properties": {"sentiment": {"enum": ["positive", "negative"]}},
///     "required": ["sentiment"]}}});
/// let g = rdspy_embedded::grammar_for(Some(&rf)).unwrap().unwrap();
/// assert!(g.contains("root ::="));
/// assert!(rdspy_embedded::grammar_for(None).unwrap().is_none());
/// ```
pub fn grammar_for(response_format: Option<&Value>) -> Result<Option<String>, String> {
    let Some(rf) = response_format else { return Ok(None) };
    match rf.get("type").and_then(Value::as_str) {
        Some("json_object") => Ok(Some(JSON_OBJECT_GBNF.to_string())),
        Some("json_schema") => {
            let schema = rf
                .pointer("/json_schema/schema")
                .or_else(|| rf.get("schema"))
                .ok_or("response_format json_schema has no `json_schema.schema` object")?;
            let text = serde_json::to_string(schema).map_err(|e| e.to_string())?;
            llama_cpp_2::json_schema_to_grammar(&text)
                .map(Some)
                .map_err(|e| format!("cannot turn the response_format JSON schema into a grammar: {e}"))
        }
        _ => Ok(None),
    }
}

/// The sentence DSPy's ChatAdapter ends its last user message with, which names the output
/// fields in order (and their types when not `str`).
const CHAT_REQUIREMENTS: &str = "Respond with the corresponding output fields, starting with the field ";

/// One piece of DSPy's ChatAdapter reply structure, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Segment {
    /// Fixed text: a field header, the blank line after a value, the completed marker.
    Lit(String),
    /// One of these strings (a `Literal[...]` or `bool` value).
    Choice(Vec<String>),
    /// A value that ends at the first newline; the GBNF expression for it.
    Free(&'static str),
}

/// The reply structure DSPy's ChatAdapter asks for, read from the request's last user message:
/// each output field as `[[ ## name ## ]]\n<value>\n\n` in order, then `[[ ## completed ## ]]`.
/// `None` when the message is not a ChatAdapter prompt (or names a type we cannot constrain).
pub(crate) fn chat_segments(last_user_message: &str) -> Option<Vec<Segment>> {
    let start = last_user_message.rfind(CHAT_REQUIREMENTS)? + CHAT_REQUIREMENTS.len();
    let spec = &last_user_message[start..];
    let end = spec.find("and then ending with the marker for `[[ ## completed ## ]]`")?;
    let spec = &spec[..end];
    let mut segs = Vec::new();
    let mut rest = spec;
    while let Some(i) = rest.find("`[[ ## ") {
        let after = &rest[i + 7..];
        let j = after.find(" ## ]]`")?;
        let name = &after[..j];
        let tail = &after[j + 7..];
        let next = tail.find("`[[ ## ").unwrap_or(tail.len());
        let ty = &tail[..next];
        let value = if let Some(k) = ty.find("Literal[") {
            Segment::Choice(literal_values(&ty[k + 8..])?)
        } else if ty.contains("valid Python int") {
            Segment::Free(r#"("-"? [0-9]{1,12})"#)
        } else if ty.contains("valid Python float") {
            Segment::Free(r#"("-"? [0-9]{1,12} ("." [0-9]{1,8})?)"#)
        } else if ty.contains("valid Python bool") {
            Segment::Choice(vec!["True".into(), "False".into()])
        } else {
            Segment::Free("text")
        };
        segs.extend([Segment::Lit(format!("[[ ## {name} ## ]]\n")), value, Segment::Lit("\n\n".into())]);
        rest = &tail[next..];
    }
    if segs.is_empty() {
        return None;
    }
    segs.push(Segment::Lit("[[ ## completed ## ]]".into()));
    Some(segs)
}

/// A grammar for DSPy's ChatAdapter reply structure (see `chat_segments`): `Literal[...]`
/// fields may only take one of their values; `int`/`float`/`bool` fields take a number or
/// `True`/`False`; other fields take free text without `[`. `None` when the message is not a
/// ChatAdapter prompt.
///
/// ```
/// let msg = "[[ ## sentence ## ]]\nx\n\nRespond with the corresponding output fields, starting with the field \
///     `[[ ## sentiment ## ]]` (must be formatted as a valid Python Literal['positive', 'negative']), \
///     and then ending with the marker for `[[ ## completed ## ]]`.";
/// let g = rdspy_embedded::chat_grammar(msg).unwrap();
/// assert!(g.contains(r#"("positive" | "negative")"#));
/// ```
pub fn chat_grammar(last_user_message: &str) -> Option<String> {
    chat_segments(last_user_message).map(|segs| render(&segs))
}

/// The GBNF for a segment list.
pub(crate) fn render(segs: &[Segment]) -> String {
    let lit = |s: &str| format!("\"{}\"", gbnf_escape(s));
    let body: Vec<String> = segs
        .iter()
        .map(|s| match s {
            Segment::Lit(t) => lit(t),
            Segment::Choice(alts) => format!("({})", alts.iter().map(|a| lit(a)).collect::<Vec<_>>().join(" | ")),
            Segment::Free(g) => g.to_string(),
        })
        .collect();
    format!("root ::= {}\ntext ::= [^[\\n]{{1,300}}\n", body.join(" "))
}

/// `'a', 'b']...` → `["a", "b"]`; `None` for anything but plain quoted strings.
fn literal_values(s: &str) -> Option<Vec<String>> {
    let inner = &s[..s.find(']')?];
    let mut alts = Vec::new();
    for item in inner.split(", ") {
        let item = item.trim();
        let v = item.strip_prefix('\'').and_then(|x| x.strip_suffix('\''))?;
        if v.contains('\'') || v.contains('\\') {
            return None;
        }
        alts.push(v.to_string());
    }
    (!alts.is_empty()).then_some(alts)
}

/// Escape text for a GBNF string literal.
pub(crate) fn gbnf_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => "\\\"".to_string(),
            '\\' => "\\\\".to_string(),
            '\n' => "\\n".to_string(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_grammar_follows_the_field_list() {
        let msg = "Respond with the corresponding output fields, starting with the field `[[ ## reasoning ## ]]`, then \
                   `[[ ## sentiment ## ]]` (must be formatted as a valid Python Literal['positive', 'negative']), then \
                   `[[ ## n ## ]]` (must be formatted as a valid Python int), and then ending with the marker for `[[ ## completed ## ]]`.";
        let g = chat_grammar(msg).unwrap();
        assert_eq!(
            g,
            "root ::= \"[[ ## reasoning ## ]]\\n\" text \"\\n\\n\" \"[[ ## sentiment ## ]]\\n\" (\"positive\" | \"negative\") \"\\n\\n\" \
             \"[[ ## n ## ]]\\n\" (\"-\"? [0-9]{1,12}) \"\\n\\n\" \"[[ ## completed ## ]]\"\ntext ::= [^[\\n]{1,300}\n"
        );
        assert!(chat_grammar("just a question").is_none());
    }
}
