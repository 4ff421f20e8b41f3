//! Python's `repr()` of JSON-shaped values.
//!
//! DSPy writes a tool's argument schemas into ReAct's instructions with `str(dict)`, which is
//! Python's repr (`{'x': {'type': 'integer'}}`), not JSON. To send the same bytes we render
//! `serde_json` values the way CPython 3.11 prints the equivalent `dict`/`list`/`str`/`int`/
//! `float`/`bool`/`None`.

use crate::adapter::pyfmt::py_float;
use serde_json::Value;
use std::fmt::Write;

/// `repr(value)` for the Python object `json.loads` would give.
///
/// ```
/// use rdspy::tool::py_repr;
/// let v = serde_json::json!({"x": {"type": "integer"}, "ok": true, "d": null, "s": "it's"});
/// assert_eq!(py_repr(&v), r#"{'x': {'type': 'integer'}, 'ok': True, 'd': None, 's': "it's"}"#);
/// ```
pub fn py_repr(value: &Value) -> String {
    let mut out = String::new();
    push_repr(value, &mut out);
    out
}

fn push_repr(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        Value::Number(n) => {
            if n.is_f64() {
                let f = n.as_f64().unwrap_or(0.0);
                // repr(float) spells the special values `nan`/`inf` (JSON's are not reachable here).
                if f.is_nan() {
                    out.push_str("nan");
                } else if f.is_infinite() {
                    out.push_str(if f > 0.0 { "inf" } else { "-inf" });
                } else {
                    py_float(f, out);
                }
            } else {
                let _ = write!(out, "{n}");
            }
        }
        Value::String(s) => push_str_repr(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_repr(v, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_str_repr(k, out);
                out.push_str(": ");
                push_repr(v, out);
            }
            out.push('}');
        }
    }
}

/// `repr(str)`: single quotes unless the text has a `'` and no `"`; backslash escapes for the
/// quote in use, `\\`, `\n`, `\r`, `\t` and characters Python does not consider printable.
pub fn push_str_repr(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !is_printable(c) => {
                let n = c as u32;
                let _ = if n < 0x100 {
                    write!(out, "\\x{n:02x}")
                } else if n < 0x10000 {
                    write!(out, "\\u{n:04x}")
                } else {
                    write!(out, "\\U{n:08x}")
                };
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// Python's `str.isprintable()` for one character: everything except the Unicode categories
/// Cc, Cf, Zl, Zp and Zs (other than the ASCII space). Covers the characters that occur in
/// practice (controls, no-break and typographic spaces, zero-width and bidi marks, BOM).
fn is_printable(c: char) -> bool {
    let n = c as u32;
    if c == ' ' {
        return true;
    }
    if c.is_control() {
        return false; // Cc
    }
    !matches!(n,
        0xA0 | 0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x1680 | 0x180E
        | 0x2000..=0x200F | 0x2028..=0x202F | 0x205F..=0x2064 | 0x2066..=0x206F
        | 0x3000 | 0xFEFF | 0xFFF9..=0xFFFB | 0xE0001 | 0xE0020..=0xE007F)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_quote_like_python() {
        let r = |s: &str| py_repr(&Value::String(s.into()));
        assert_eq!(r("plain"), "'plain'");
        assert_eq!(r("it's"), "\"it's\"");
        assert_eq!(r("both ' and \""), "'both \\' and \"'");
        assert_eq!(r("a\nb\\c\td"), "'a\\nb\\\\c\\td'");
        assert_eq!(r("bell\u{7}"), "'bell\\x07'");
        assert_eq!(r("nbsp\u{a0}"), "'nbsp\\xa0'");
        assert_eq!(r("zw\u{200b}"), "'zw\\u200b'");
        assert_eq!(r("café ✓"), "'café ✓'");
    }

    #[test]
    fn containers_and_scalars() {
        let v = json!({"a": [1, 2.5, 1e-5, 1e16], "b": {}, "c": [], "d": false});
        assert_eq!(py_repr(&v), "{'a': [1, 2.5, 1e-05, 1e+16], 'b': {}, 'c': [], 'd': False}");
        assert_eq!(py_repr(&json!(3.0)), "3.0");
    }
}
