//! DSPy's `parse_value`: turn an LM's text (or an already-decoded JSON value) into a value of
//! the field's type, with pydantic's lax-mode coercions (`"6.0"` → `6` for `int`, `"yes"` →
//! `true` for `bool`, `"1"` → `1.0` for `float`).

use super::lenient::{literal_eval, repair};
use crate::signature::{LiteralValue, TypeSpec};
use serde_json::{Map, Number, Value};

/// Parse a field's raw value. `raw` is the section text (ChatAdapter) or the decoded JSON value
/// (JSONAdapter). Errors say why the value does not fit the type.
pub fn parse_value(raw: &Value, ty: &TypeSpec) -> Result<Value, String> {
    if *ty == TypeSpec::Str {
        return Ok(match raw {
            Value::String(s) => Value::String(s.clone()),
            other => Value::String(super::pyfmt::py_str(other)),
        });
    }
    if let TypeSpec::Enum { values, .. } = ty {
        let s = match raw {
            Value::String(s) => s.trim().to_string(),
            other => super::pyfmt::py_str(other),
        };
        return values
            .iter()
            .find(|v| **v == s)
            .map(|v| Value::String(v.clone()))
            .ok_or_else(|| format!("{s} is not one of: {}", values.join(", ")));
    }
    let mut raw = raw.clone();
    if let TypeSpec::Literal(allowed) = ty {
        if let Some(v) = literal_match(&raw, allowed) {
            return Ok(v);
        }
        if let Value::String(s) = &raw {
            let mut v = s.trim();
            if (v.starts_with("Literal[") || v.starts_with("str[")) && v.ends_with(']') {
                v = &v[v.find('[').unwrap_or(0) + 1..v.len() - 1];
            }
            let b = v.as_bytes();
            if b.len() > 1 && b[0] == b[b.len() - 1] && (b[0] == b'"' || b[0] == b'\'') {
                v = &v[1..v.len() - 1];
            }
            if let Some(m) = literal_match(&Value::String(v.to_string()), allowed) {
                return Ok(m);
            }
            raw = Value::String(v.to_string());
        }
    }
    let text = match &raw {
        Value::String(s) => s.clone(),
        other => return validate(other, ty),
    };
    if let TypeSpec::Union { variants, .. } = ty {
        if variants.contains(&TypeSpec::NoneType) && variants.contains(&TypeSpec::Str) {
            return validate(&raw, ty);
        }
    }
    let candidate = match repair(&text) {
        Some(v) => v,
        None if text.is_empty() => Value::String(String::new()),
        None => literal_eval(&text).unwrap_or(Value::String(text.clone())),
    };
    validate(&candidate, ty).or_else(|e| {
        // A reader agrees that a bulleted or numbered list is a list of strings.
        match ty {
            TypeSpec::List(inner) if **inner == TypeSpec::Str => bullets(&text).ok_or(e),
            _ => Err(e),
        }
    })
}

/// `- a⏎- b` or `1. a⏎2. b` read as `["a", "b"]`; `None` unless every line is an item.
fn bullets(text: &str) -> Option<Value> {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.is_empty() {
        return None;
    }
    let items: Option<Vec<Value>> = lines
        .iter()
        .map(|l| {
            let rest = l.strip_prefix("- ").or_else(|| l.strip_prefix("* ")).or_else(|| l.strip_prefix("• ")).or_else(|| {
                let digits = l.chars().take_while(char::is_ascii_digit).count();
                (digits > 0).then(|| l[digits..].strip_prefix(". ").or_else(|| l[digits..].strip_prefix(") "))).flatten()
            })?;
            Some(Value::String(rest.trim().to_string()))
        })
        .collect();
    items.map(Value::Array)
}

fn literal_match(v: &Value, allowed: &[LiteralValue]) -> Option<Value> {
    allowed.iter().map(LiteralValue::to_json).find(|a| json_eq(a, v))
}

/// Python equality for JSON-shaped values (`1 == 1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn type_err(v: &Value, what: &str) -> String {
    format!("Input should be {what}, got {}", super::pyfmt::json_dumps(v, None))
}

/// Pydantic lax-mode validation of a decoded value against a type.
pub fn validate(v: &Value, ty: &TypeSpec) -> Result<Value, String> {
    match ty {
        TypeSpec::Any => Ok(v.clone()),
        TypeSpec::Str => match v {
            Value::String(_) => Ok(v.clone()),
            _ => Err(type_err(v, "a valid string")),
        },
        TypeSpec::NoneType => match v {
            Value::Null => Ok(Value::Null),
            _ => Err(type_err(v, "None")),
        },
        TypeSpec::Int => to_int(v).ok_or_else(|| type_err(v, "a valid integer")),
        TypeSpec::Float => to_float(v).ok_or_else(|| type_err(v, "a valid number")),
        TypeSpec::Bool => to_bool(v).map(Value::Bool).ok_or_else(|| type_err(v, "a valid boolean")),
        TypeSpec::List(inner) => match v {
            Value::Array(items) => items.iter().map(|x| validate(x, inner)).collect::<Result<Vec<_>, _>>().map(Value::Array),
            _ => Err(type_err(v, "a valid list")),
        },
        TypeSpec::Tuple(types) => match v {
            Value::Array(items) if items.len() == types.len() => {
                items.iter().zip(types).map(|(x, t)| validate(x, t)).collect::<Result<Vec<_>, _>>().map(Value::Array)
            }
            _ => Err(type_err(v, &format!("a tuple of {} items", types.len()))),
        },
        TypeSpec::Dict(k, val) => match v {
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, x) in map {
                    let key = match validate(&Value::String(key.clone()), k) {
                        Ok(Value::String(s)) => s,
                        Ok(other) => super::pyfmt::py_str(&other),
                        Err(e) => return Err(e),
                    };
                    out.insert(key, validate(x, val)?);
                }
                Ok(Value::Object(out))
            }
            _ => Err(type_err(v, "a valid dictionary")),
        },
        TypeSpec::Literal(allowed) => literal_match(v, allowed).ok_or_else(|| {
            let opts: Vec<String> = allowed.iter().map(|a| super::pyfmt::json_dumps(&a.to_json(), None)).collect();
            type_err(v, &format!("one of {}", opts.join(", ")))
        }),
        TypeSpec::Union { variants, .. } => {
            // pydantic's smart mode: an exact type match first, then the first lax match
            for t in variants {
                if exact(v, t) {
                    return validate(v, t);
                }
            }
            let mut errors = Vec::new();
            for t in variants {
                match validate(v, t) {
                    Ok(x) => return Ok(x),
                    Err(e) => errors.push(e),
                }
            }
            Err(errors.join("; "))
        }
        TypeSpec::Enum { values, .. } => match v {
            Value::String(s) if values.contains(s) => Ok(v.clone()),
            _ => Err(type_err(v, &format!("one of {}", values.join(", ")))),
        },
        TypeSpec::Object { name, fields, .. } => match v {
            Value::Object(map) => {
                let mut out = Map::new();
                for f in fields {
                    match map.get(&f.name) {
                        Some(x) => {
                            out.insert(f.name.clone(), validate(x, &f.ty).map_err(|e| format!("{name}.{}: {e}", f.name))?);
                        }
                        None if !f.required => {
                            out.insert(f.name.clone(), Value::Null);
                        }
                        None => return Err(format!("{name}.{}: field required", f.name)),
                    }
                }
                Ok(Value::Object(out))
            }
            _ => Err(type_err(v, &format!("a valid {name} object"))),
        },
    }
}

fn exact(v: &Value, t: &TypeSpec) -> bool {
    match (v, t) {
        (Value::String(_), TypeSpec::Str) | (Value::Bool(_), TypeSpec::Bool) | (Value::Null, TypeSpec::NoneType) => true,
        (Value::Number(n), TypeSpec::Int) => n.is_i64() || n.is_u64(),
        (Value::Number(n), TypeSpec::Float) => n.is_f64(),
        (Value::Array(_), TypeSpec::List(_)) | (Value::Object(_), TypeSpec::Dict(..)) => true,
        _ => false,
    }
}

fn to_int(v: &Value) -> Option<Value> {
    match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(v.clone()),
        Value::Number(n) => {
            let f = n.as_f64()?;
            (f.fract() == 0.0 && f.abs() < 9.2e18).then(|| Value::from(f as i64))
        }
        Value::Bool(b) => Some(Value::from(*b as i64)),
        Value::String(s) => {
            let t = s.trim().replace('_', "");
            if let Ok(i) = t.parse::<i64>() {
                return Some(Value::from(i));
            }
            let f: f64 = t.parse().ok()?;
            (f.is_finite() && f.fract() == 0.0 && !t.contains(['e', 'E'])).then(|| Value::from(f as i64))
        }
        _ => None,
    }
}

fn to_float(v: &Value) -> Option<Value> {
    let f = match v {
        Value::Number(n) => n.as_f64()?,
        Value::Bool(b) => *b as i64 as f64,
        Value::String(s) => {
            let t = s.trim();
            if t.contains("__") || t.starts_with('_') || t.ends_with('_') {
                return None;
            }
            let t = t.replace('_', "");
            if t.chars().any(|c| c.is_ascii_alphabetic() && !matches!(c, 'e' | 'E')) {
                return None;
            }
            t.parse().ok()?
        }
        _ => return None,
    };
    Number::from_f64(f).map(Value::Number)
}

fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => {
            let x = n.as_f64()?;
            if x == 0.0 {
                Some(false)
            } else if x == 1.0 {
                Some(true)
            } else {
                None
            }
        }
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "0" | "off" | "f" | "false" | "n" | "no" => Some(false),
            "1" | "on" | "t" | "true" | "y" | "yes" => Some(true),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(text: &str, ty: &TypeSpec) -> Result<Value, String> {
        parse_value(&Value::String(text.into()), ty)
    }

    #[test]
    fn scalars() {
        assert_eq!(p("6", &TypeSpec::Int), Ok(json!(6)));
        assert_eq!(p("6.0", &TypeSpec::Int), Ok(json!(6)));
        assert!(p("6.5", &TypeSpec::Int).is_err());
        assert_eq!(p("1", &TypeSpec::Float), Ok(json!(1.0)));
        assert_eq!(p("123_456.789", &TypeSpec::Float), Ok(json!(123456.789)));
        assert!(p("very low", &TypeSpec::Float).is_err());
        assert_eq!(p("True", &TypeSpec::Bool), Ok(json!(true)));
        assert_eq!(p("yes", &TypeSpec::Bool), Ok(json!(true)));
        assert_eq!(p("false", &TypeSpec::Bool), Ok(json!(false)));
        assert!(p("maybe", &TypeSpec::Bool).is_err());
        assert_eq!(p("  keep  spaces ", &TypeSpec::Str), Ok(json!("  keep  spaces ")));
    }

    #[test]
    fn literals() {
        let t = TypeSpec::literal(["positive", "negative"]);
        assert_eq!(p("negative", &t), Ok(json!("negative")));
        assert_eq!(p("'negative'", &t), Ok(json!("negative")));
        assert_eq!(p("Literal['positive']", &t), Ok(json!("positive")));
        assert!(p("mixed", &t).is_err());
        let ints = TypeSpec::Literal(vec![LiteralValue::Int(1), LiteralValue::Int(2)]);
        assert_eq!(p("2", &ints), Ok(json!(2)));
    }

    #[test]
    fn containers() {
        let l = TypeSpec::list(TypeSpec::Str);
        assert_eq!(p("[\"a\", \"b\"]", &l), Ok(json!(["a", "b"])));
        assert_eq!(p("['a', 'b']", &l), Ok(json!(["a", "b"])));
        assert_eq!(p("- a\n- b", &l), Ok(json!(["a", "b"])));
        assert!(p("a and b", &l).is_err());
        let d = TypeSpec::dict(TypeSpec::Str, TypeSpec::Int);
        assert_eq!(p("{\"ORG\": \"1\"}", &d), Ok(json!({"ORG": 1})));
        let o = TypeSpec::optional(TypeSpec::Int);
        assert_eq!(p("None", &o), Ok(Value::Null));
        assert_eq!(p("7", &o), Ok(json!(7)));
        let os = TypeSpec::optional(TypeSpec::Str);
        assert_eq!(p("None", &os), Ok(json!("None")));
    }
}
