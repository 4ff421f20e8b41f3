//! DSPy's `JSONAdapter`: inputs in `[[ ## field ## ]]` sections, outputs as one JSON object.
//!
//! It shares the field descriptions, task description and user turns with [`ChatAdapter`]
//! (DSPy's JSONAdapter subclasses ChatAdapter) and differs in the structure block, the final
//! reminder, the demo turns (indented JSON) and parsing (lenient JSON, first balanced `{...}`).

use super::chat::{assemble, field_description, finish_parse, py_strip, structure_block, task_description};
use super::coerce::parse_value;
use super::lenient::repair;
use super::pyfmt::{json_dumps, json_schema, type_name, type_placeholder};
use super::{Adapter, Message, ParseError};
use crate::signature::TypeSpec;
use crate::{Example, Signature};
use serde_json::{Map, Value};

/// DSPy's JSON adapter. Asks for a JSON object and reads it leniently.
///
/// ```
/// use rdspy::adapter::{Adapter, JSONAdapter};
/// use rdspy::Signature;
/// let sig = Signature::parse("question -> answer: int, confident: bool").unwrap();
/// let out = JSONAdapter::default().parse(&sig, "{'answer': 6, 'confident': True}").unwrap();
/// assert_eq!(out["confident"], true);
/// ```
#[derive(Debug, Clone, Default)]
pub struct JSONAdapter {}

impl JSONAdapter {
    /// The system message.
    pub fn system_message(&self, sig: &Signature) -> String {
        let mut out = String::with_capacity(512);
        field_description(sig, &mut out);
        out.push('\n');
        let outputs: Map<String, Value> =
            sig.output_fields().map(|f| (f.name.clone(), Value::String(type_placeholder(f, false)))).collect();
        let parts = [
            "All interactions will be structured in the following way, with the appropriate values filled in.".to_string(),
            "Inputs will have the following structure:".to_string(),
            structure_block(sig.input_fields(), true),
            "Outputs will be a JSON object with the following fields.".to_string(),
            json_dumps(&Value::Object(outputs), Some(2)),
        ];
        out.push_str(py_strip(&parts.join("\n\n")));
        out.push('\n');
        task_description(sig, &mut out);
        out
    }

    /// The reminder at the end of the last user turn.
    pub fn output_requirements(&self, sig: &Signature) -> String {
        let fields: Vec<String> = sig
            .output_fields()
            .map(|f| {
                let info = if f.ty == TypeSpec::Str {
                    String::new()
                } else {
                    format!(" (must be formatted as a valid Python {})", type_name(&f.ty))
                };
                format!("`{}`{info}", f.name)
            })
            .collect();
        format!("Respond with a JSON object in the following order of fields: {}.", fields.join(", then "))
    }

    /// A demo's assistant turn: its outputs as indented JSON.
    pub fn assistant_content(&self, sig: &Signature, outputs: &Example, missing: Option<&str>) -> String {
        let map: Map<String, Value> = sig
            .output_fields()
            .map(|f| {
                let v = match (outputs.get(&f.name), missing) {
                    (Some(v), _) => v.clone(),
                    (None, Some(m)) => Value::String(m.to_string()),
                    (None, None) => Value::Null,
                };
                (f.name.clone(), v)
            })
            .collect();
        json_dumps(&Value::Object(map), Some(2))
    }
}

/// The first balanced `{...}` in `text` (DSPy's recursive regex `\{(?:[^{}]|(?R))*\}`).
fn first_balanced_object(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut search_from = 0;
    while let Some(off) = text[search_from..].find('{') {
        let start = search_from + off;
        let mut depth = 0usize;
        for (i, &b) in bytes[start..].iter().enumerate() {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(&text[start..start + i + 1]);
                    }
                }
                _ => {}
            }
        }
        search_from = start + 1;
    }
    None
}

impl Adapter for JSONAdapter {
    fn name(&self) -> &'static str {
        "JSONAdapter"
    }

    fn format(&self, signature: &Signature, demos: &[Example], inputs: &Map<String, Value>) -> Vec<Message> {
        let cache = signature.prompt_cache();
        let system = cache.get_or_init(2, || self.system_message(signature));
        let requirements = cache.get_or_init(3, || self.output_requirements(signature));
        assemble(signature, demos, inputs, &system, &requirements, |s, d, m| self.assistant_content(s, d, m))
    }

    fn parse(&self, signature: &Signature, completion: &str) -> Result<Map<String, Value>, ParseError> {
        let mut text = completion;
        let mut parsed = repair(text);
        if !matches!(parsed, Some(Value::Object(_))) {
            if let Some(obj) = first_balanced_object(completion) {
                text = obj;
                parsed = repair(obj);
            }
        }
        let Some(Value::Object(obj)) = parsed else {
            let mut e = ParseError::new(self.name(), signature, text);
            e.message = Some("LM response cannot be serialized to a JSON object.".into());
            return Err(e);
        };
        let mut fields = Map::new();
        for f in signature.output_fields() {
            if let Some(v) = obj.get(&f.name) {
                match parse_value(v, &f.ty) {
                    Ok(x) => {
                        fields.insert(f.name.clone(), x);
                    }
                    Err(err) => {
                        let mut e = ParseError::new(self.name(), signature, text);
                        e.message = Some(format!("Failed to parse field {}: {err}", f.name));
                        e.found = Some(fields.keys().cloned().collect());
                        return Err(e);
                    }
                }
            }
        }
        finish_parse(self.name(), signature, text, fields)
    }

    /// DSPy's structured-output `response_format`: a strict JSON schema of the outputs, or
    /// `json_object` when an output is an open-ended dict (Structured Outputs cannot express it).
    fn response_format(&self, signature: &Signature) -> Option<Value> {
        if signature.output_fields().any(|f| matches!(f.ty, TypeSpec::Dict(..))) {
            return Some(serde_json::json!({"type": "json_object"}));
        }
        let mut props = Map::new();
        for f in signature.output_fields() {
            let mut s = json_schema(&f.ty);
            if let Value::Object(m) = &mut s {
                m.insert("title".into(), super::pyfmt::py_title(&f.name).into());
            }
            props.insert(f.name.clone(), s);
        }
        let mut schema = serde_json::json!({
            "properties": props,
            "required": signature.output_names(),
            "title": "DSPyProgramOutputs",
            "type": "object",
        });
        enforce_required(&mut schema);
        Some(serde_json::json!({
            "type": "json_schema",
            "json_schema": {"name": "DSPyProgramOutputs", "strict": true, "schema": schema},
        }))
    }
}

/// OpenAI Structured Outputs: every object lists all properties as required and forbids extras.
fn enforce_required(schema: &mut Value) {
    let Value::Object(m) = schema else { return };
    if m.get("type").and_then(Value::as_str) == Some("object") {
        let keys: Vec<Value> =
            m.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().map(Value::String).collect()).unwrap_or_default();
        m.entry("properties").or_insert_with(|| Value::Object(Map::new()));
        m.insert("required".into(), Value::Array(keys));
        m.insert("additionalProperties".into(), Value::Bool(false));
        if let Some(Value::Object(props)) = m.get_mut("properties") {
            props.values_mut().for_each(enforce_required);
        }
    }
    if m.get("type").and_then(Value::as_str) == Some("array") {
        if let Some(items) = m.get_mut("items") {
            enforce_required(items);
        }
    }
    if let Some(Value::Object(defs)) = m.get_mut("$defs") {
        defs.values_mut().for_each(enforce_required);
    }
    if let Some(Value::Array(any)) = m.get_mut("anyOf") {
        any.iter_mut().for_each(enforce_required);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_object() {
        assert_eq!(first_balanced_object("x {a {b}} y {c}"), Some("{a {b}}"));
        assert_eq!(first_balanced_object("x { y"), None);
    }
}
