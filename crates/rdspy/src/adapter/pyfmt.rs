//! Python-compatible rendering: `json.dumps`, `repr(float)`, `str(value)`, type names and
//! pydantic JSON schemas, exactly as DSPy puts them into prompts.
//!
//! Byte-compatibility lives or dies here: `json.dumps` uses `", "`/`": "` separators, floats print
//! with Python's shortest-repr rules (`1e-05`, `1e+16`, `2.0`), and `str(True)` is `True`.

use crate::signature::{Field, LiteralValue, ObjectField, TypeSpec};
use serde_json::{Map, Value};
use std::fmt::Write;

/// Python's `repr(float)`.
pub fn py_float(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str("NaN");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    let sci = format!("{f:e}"); // shortest round-trip digits, e.g. "1.5e-5"
    let (mant, exp) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    if (-4..16).contains(&exp) {
        let s = format!("{f}");
        out.push_str(&s);
        if !s.contains('.') {
            out.push_str(".0");
        }
    } else {
        out.push_str(mant);
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
}

fn push_number(n: &serde_json::Number, out: &mut String) {
    if n.is_f64() {
        py_float(n.as_f64().unwrap_or(0.0), out);
    } else {
        let _ = write!(out, "{n}");
    }
}

/// A JSON string literal as `json.dumps(ensure_ascii=False)` writes it.
pub fn push_json_str(s: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            b if b < 0x20 => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// `json.dumps(value, ensure_ascii=False)` (and with `indent` when given).
pub fn json_dumps(value: &Value, indent: Option<usize>) -> String {
    let mut out = String::new();
    dump(value, indent, 0, &mut out);
    out
}

fn dump(value: &Value, indent: Option<usize>, level: usize, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => push_number(n, out),
        Value::String(s) => push_json_str(s, out),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                sep(i, indent, level + 1, out);
                dump(v, indent, level + 1, out);
            }
            close(indent, level, out);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                sep(i, indent, level + 1, out);
                push_json_str(k, out);
                out.push_str(": ");
                dump(v, indent, level + 1, out);
            }
            close(indent, level, out);
            out.push('}');
        }
    }
}

fn sep(i: usize, indent: Option<usize>, level: usize, out: &mut String) {
    match indent {
        None if i > 0 => out.push_str(", "),
        None => {}
        Some(n) => {
            if i > 0 {
                out.push(',');
            }
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', n * level));
        }
    }
}

fn close(indent: Option<usize>, level: usize, out: &mut String) {
    if let Some(n) = indent {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', n * level));
    }
}

/// Python's `str(value)` for a JSON-shaped value (dicts and lists use `json.dumps`, as DSPy's
/// `format_field_value` does).
pub fn py_str(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(b) => (if *b { "True" } else { "False" }).into(),
        Value::Number(n) => {
            let mut s = String::new();
            if n.is_f64() {
                let f = n.as_f64().unwrap_or(0.0);
                if f.is_nan() {
                    return "nan".into();
                }
                py_float(f, &mut s);
            } else {
                let _ = write!(s, "{n}");
            }
            s
        }
        Value::String(s) => s.clone(),
        other => json_dumps(other, None),
    }
}

/// DSPy's `format_field_value`: how a field's value appears in a prompt.
pub fn format_field_value(field: &Field, value: &Value) -> String {
    let mut s = String::new();
    push_field_value(field, value, &mut s);
    s
}

/// [`format_field_value`] appended to `out` (no intermediate string for text values).
pub fn push_field_value(field: &Field, value: &Value, out: &mut String) {
    match value {
        Value::String(s) => out.push_str(s),
        Value::Array(items) if field.ty == TypeSpec::Str => out.push_str(&format_list_for_str_field(items)),
        other => out.push_str(&py_str(other)),
    }
}

/// A list given to a `str` field: `[1] «a»⏎[2] «b»`, one element `«a»`, empty `N/A`.
fn format_list_for_str_field(items: &[Value]) -> String {
    match items.len() {
        0 => "N/A".into(),
        1 => blob(&py_str(&items[0])),
        _ => items.iter().enumerate().map(|(i, v)| format!("[{}] {}", i + 1, blob(&py_str(v)))).collect::<Vec<_>>().join("\n"),
    }
}

fn blob(s: &str) -> String {
    if !s.contains('\n') && !s.contains('«') && !s.contains('»') {
        format!("«{s}»")
    } else {
        format!("«««\n    {}\n»»»", s.replace('\n', "\n    "))
    }
}

/// A Python string literal as a `Literal[...]` annotation shows it.
pub fn quote_literal(s: &str) -> String {
    match (s.contains('\''), s.contains('"')) {
        (true, false) => format!("\"{s}\""),
        (true, true) => format!("'{}'", s.replace('\'', "\\'")),
        _ => format!("'{s}'"),
    }
}

fn literal_str(v: &LiteralValue) -> String {
    match v {
        LiteralValue::Str(s) => s.clone(),
        LiteralValue::Int(i) => i.to_string(),
        LiteralValue::Bool(b) => (if *b { "True" } else { "False" }).into(),
        LiteralValue::None => "None".into(),
    }
}

/// DSPy's `get_annotation_name`: `list[str]`, `Union[int, NoneType]`, `Literal['a', 'b']`.
pub fn type_name(ty: &TypeSpec) -> String {
    let join = |ts: &[TypeSpec]| ts.iter().map(type_name).collect::<Vec<_>>().join(", ");
    match ty {
        TypeSpec::Str => "str".into(),
        TypeSpec::Int => "int".into(),
        TypeSpec::Float => "float".into(),
        TypeSpec::Bool => "bool".into(),
        TypeSpec::Any => "Any".into(),
        TypeSpec::NoneType => "NoneType".into(),
        TypeSpec::List(t) => format!("list[{}]", type_name(t)),
        TypeSpec::Dict(k, v) => format!("dict[{}, {}]", type_name(k), type_name(v)),
        TypeSpec::Tuple(ts) => format!("tuple[{}]", join(ts)),
        TypeSpec::Union { variants, .. } => format!("Union[{}]", join(variants)),
        TypeSpec::Literal(vals) => format!(
            "Literal[{}]",
            vals.iter()
                .map(|v| match v {
                    LiteralValue::Str(s) => quote_literal(s),
                    other => literal_str(other),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        TypeSpec::Object { name, .. } | TypeSpec::Enum { name, .. } => name.clone(),
    }
}

/// The `{name}        # note: ...` placeholder of the structure block (DSPy's `translate_field_type`).
pub fn type_placeholder(field: &Field, is_input: bool) -> String {
    let note = if is_input {
        None
    } else {
        match &field.ty {
            TypeSpec::Str => None,
            TypeSpec::Bool => Some("must be True or False".to_string()),
            TypeSpec::Int => Some("must be a single int value".into()),
            TypeSpec::Float => Some("must be a single float value".into()),
            TypeSpec::Enum { values, .. } => Some(format!("must be one of: {}", values.join("; "))),
            TypeSpec::Literal(vals) => Some(format!(
                "must exactly match (no extra characters) one of: {}",
                vals.iter().map(literal_str).collect::<Vec<_>>().join("; ")
            )),
            other => Some(format!("must adhere to the JSON schema: {}", json_dumps(&sorted_schema(other), None))),
        }
    };
    match note {
        Some(n) => format!("{{{}}}        # note: the value you produce {n}", field.name),
        None => format!("{{{}}}", field.name),
    }
}

/// DSPy's `_get_json_schema`: the pydantic schema with `type` first and other keys sorted,
/// recursively.
pub fn sorted_schema(ty: &TypeSpec) -> Value {
    sort_type_first(&json_schema(ty))
}

fn sort_type_first(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| (a.as_str() != "type", a.as_str()).cmp(&(b.as_str() != "type", b.as_str())));
            Value::Object(keys.into_iter().map(|k| (k.clone(), sort_type_first(&map[k]))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sort_type_first).collect()),
        other => other.clone(),
    }
}

/// The pydantic `TypeAdapter(T).json_schema()` of a type (keys in pydantic's order).
pub fn json_schema(ty: &TypeSpec) -> Value {
    let mut defs = Map::new();
    let mut schema = schema_inner(ty, &mut defs, true);
    if !defs.is_empty() {
        if let Value::Object(m) = &mut schema {
            // pydantic sorts $defs by name
            let mut sorted: Vec<(String, Value)> = defs.into_iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            let mut with_defs = Map::new();
            with_defs.insert("$defs".into(), Value::Object(sorted.into_iter().collect()));
            with_defs.extend(std::mem::take(m));
            *m = with_defs;
        }
    }
    schema
}

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn type_of_literal(v: &LiteralValue) -> Option<&'static str> {
    match v {
        LiteralValue::Str(_) => Some("string"),
        LiteralValue::Int(_) => Some("integer"),
        LiteralValue::Bool(_) => Some("boolean"),
        LiteralValue::None => Some("null"),
    }
}

fn schema_inner(ty: &TypeSpec, defs: &mut Map<String, Value>, top: bool) -> Value {
    match ty {
        TypeSpec::Str => obj(vec![("type", "string".into())]),
        TypeSpec::Int => obj(vec![("type", "integer".into())]),
        TypeSpec::Float => obj(vec![("type", "number".into())]),
        TypeSpec::Bool => obj(vec![("type", "boolean".into())]),
        TypeSpec::NoneType => obj(vec![("type", "null".into())]),
        TypeSpec::Any => obj(vec![]),
        TypeSpec::List(t) => obj(vec![("items", schema_inner(t, defs, false)), ("type", "array".into())]),
        TypeSpec::Dict(_, v) => {
            let add = if **v == TypeSpec::Any { Value::Bool(true) } else { schema_inner(v, defs, false) };
            obj(vec![("additionalProperties", add), ("type", "object".into())])
        }
        TypeSpec::Tuple(ts) => obj(vec![
            ("maxItems", ts.len().into()),
            ("minItems", ts.len().into()),
            ("prefixItems", Value::Array(ts.iter().map(|t| schema_inner(t, defs, false)).collect())),
            ("type", "array".into()),
        ]),
        TypeSpec::Literal(vals) => {
            let json: Vec<Value> = vals.iter().map(LiteralValue::to_json).collect();
            let kinds: Vec<Option<&str>> = vals.iter().map(type_of_literal).collect();
            let same = kinds.windows(2).all(|w| w[0] == w[1]);
            let mut pairs = if json.len() == 1 { vec![("const", json[0].clone())] } else { vec![("enum", Value::Array(json))] };
            if same {
                if let Some(Some(k)) = kinds.first() {
                    pairs.push(("type", (*k).into()));
                }
            }
            obj(pairs)
        }
        TypeSpec::Union { variants, .. } => {
            obj(vec![("anyOf", Value::Array(variants.iter().map(|t| schema_inner(t, defs, false)).collect()))])
        }
        TypeSpec::Enum { name, values } => {
            let s = obj(vec![
                ("enum", Value::Array(values.iter().map(|v| Value::String(v.clone())).collect())),
                ("title", name.clone().into()),
                ("type", "string".into()),
            ]);
            if top {
                s
            } else {
                defs.insert(name.clone(), s);
                obj(vec![("$ref", format!("#/$defs/{name}").into())])
            }
        }
        TypeSpec::Object { name, fields, description } => {
            let s = object_schema(name, fields, description.as_deref(), defs);
            if top {
                s
            } else {
                defs.insert(name.clone(), s);
                obj(vec![("$ref", format!("#/$defs/{name}").into())])
            }
        }
    }
}

fn object_schema(name: &str, fields: &[ObjectField], description: Option<&str>, defs: &mut Map<String, Value>) -> Value {
    let mut props = Map::new();
    for f in fields {
        let mut s = schema_inner(&f.ty, defs, false);
        if let Value::Object(m) = &mut s {
            if !f.required {
                m.insert("default".into(), Value::Null);
            }
            if let Some(d) = &f.description {
                m.insert("description".into(), d.clone().into());
            }
            // pydantic puts a title on every property except pure `$ref`s
            if !m.contains_key("$ref") {
                m.insert("title".into(), py_title(&f.name).into());
            }
        }
        props.insert(f.name.clone(), s);
    }
    let required: Vec<Value> = fields.iter().filter(|f| f.required).map(|f| Value::String(f.name.clone())).collect();
    let mut pairs = vec![];
    if let Some(d) = description {
        pairs.push(("description", Value::String(d.into())));
    }
    pairs.push(("properties", Value::Object(props)));
    if !required.is_empty() {
        pairs.push(("required", Value::Array(required)));
    }
    pairs.push(("title", name.to_string().into()));
    pairs.push(("type", "object".into()));
    obj(pairs)
}

/// Pydantic's default field title: `name.replace('_', ' ').title()`-like (`first_name` → `First Name`).
pub fn py_title(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut prev_cased = false;
    for c in name.chars() {
        let c = if c == '_' { ' ' } else { c };
        let cased = c.is_alphabetic();
        if cased && !prev_cased {
            out.extend(c.to_uppercase());
        } else if cased {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        prev_cased = cased;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_like_python() {
        let f = |x: f64| {
            let mut s = String::new();
            py_float(x, &mut s);
            s
        };
        assert_eq!(f(0.9), "0.9");
        assert_eq!(f(2.0), "2.0");
        assert_eq!(f(1e-5), "1e-05");
        assert_eq!(f(0.0001), "0.0001");
        assert_eq!(f(1e16), "1e+16");
        assert_eq!(f(1234567890123456.0), "1234567890123456.0");
        assert_eq!(f(-1.5e-7), "-1.5e-07");
        assert_eq!(f(123456789012345680.0), "1.2345678901234568e+17");
    }

    #[test]
    fn dumps_like_python() {
        let v = json!({"a": [1, 2.5, "x\"y\n"], "b": {}, "c": [], "d": null, "é": true});
        assert_eq!(json_dumps(&v, None), r#"{"a": [1, 2.5, "x\"y\n"], "b": {}, "c": [], "d": null, "é": true}"#);
        assert_eq!(json_dumps(&json!({"a": [1, {"b": 2}]}), Some(2)), "{\n  \"a\": [\n    1,\n    {\n      \"b\": 2\n    }\n  ]\n}");
    }

    #[test]
    fn literal_quoting() {
        assert_eq!(quote_literal("yes"), "'yes'");
        assert_eq!(quote_literal("she's"), "\"she's\"");
        assert_eq!(quote_literal("a\"b"), "'a\"b'");
        assert_eq!(quote_literal("both\"and'"), "'both\"and\\''");
    }

    #[test]
    fn str_field_lists() {
        let f = Field::input("context", TypeSpec::Str);
        assert_eq!(format_field_value(&f, &json!(["alpha", "beta"])), "[1] «alpha»\n[2] «beta»");
        assert_eq!(format_field_value(&f, &json!(["one"])), "«one»");
        assert_eq!(format_field_value(&f, &json!([])), "N/A");
        assert_eq!(format_field_value(&f, &json!(["a\nb", "c"])), "[1] «««\n    a\n    b\n»»»\n[2] «c»");
        let l = Field::input("context", TypeSpec::list(TypeSpec::Str));
        assert_eq!(format_field_value(&l, &json!(["x"])), "[\"x\"]");
    }

    #[test]
    fn pydantic_titles() {
        assert_eq!(py_title("first_name"), "First Name");
        assert_eq!(py_title("x2y"), "X2Y");
    }
}
