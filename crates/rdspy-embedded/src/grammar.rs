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
