//! Lenient JSON reading, in the spirit of the `json_repair` and `ast.literal_eval` fallbacks
//! DSPy uses on LM output.
//!
//! Small models write "almost JSON": code fences, single quotes, Python `True`/`None`, trailing
//! commas, missing closing brackets, prose around an object. [`repair`] reads what a reader
//! would agree on and returns `None` when there is no JSON value to find (json_repair's `""`).
//! [`literal_eval`] reads a whole Python literal (`'x'`, `True`, `1_000`, `1, 2`).
//! Recursion is bounded so adversarial input cannot overflow the stack.

use serde_json::{Map, Number, Value};

const MAX_DEPTH: usize = 128;

/// json_repair-style: the JSON value in `text`, repaired, or `None`.
///
/// ```
/// # use rdspy::adapter::lenient::repair;
/// assert_eq!(repair("```json\n{'a': 1,}\n```"), Some(serde_json::json!({"a": 1})));
/// assert_eq!(repair("Paris"), None);
/// ```
pub fn repair(text: &str) -> Option<Value> {
    let text = strip_fence(text.trim());
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    // A whole-string JSON scalar ("6", "true", "\"x\"", "1e-5", "NaN").
    if let Ok(v) = serde_json::from_str::<Value>(t) {
        return match v {
            Value::String(s) if s.is_empty() => None,
            v => Some(v),
        };
    }
    match t {
        "NaN" | "Infinity" | "-Infinity" => return None, // not representable; callers fall back
        _ => {}
    }
    // Otherwise the first object or array, repaired.
    let start = t.find(['{', '['])?;
    let chars: Vec<char> = t[start..].chars().collect();
    let mut p = P { c: &chars, i: 0, python: false };
    let v = p.value(0)?;
    match &v {
        Value::String(s) if s.is_empty() => None,
        _ => Some(v),
    }
}

/// `ast.literal_eval` on a whole string: Python literals only, the entire input consumed.
/// A top-level `a, b` is a tuple (returned as an array).
pub fn literal_eval(text: &str) -> Option<Value> {
    let chars: Vec<char> = text.trim().chars().collect();
    let mut p = P { c: &chars, i: 0, python: true };
    let first = p.value(0)?;
    p.ws();
    if p.i == chars.len() {
        return Some(first);
    }
    let mut items = vec![first];
    while p.peek() == Some(',') {
        p.i += 1;
        p.ws();
        if p.i == chars.len() {
            break;
        }
        items.push(p.value(0)?);
        p.ws();
    }
    (p.i == chars.len()).then_some(Value::Array(items))
}

fn strip_fence(t: &str) -> &str {
    if let Some(rest) = t.strip_prefix("```") {
        let body = rest.split_once('\n').map(|(_, b)| b).unwrap_or("");
        return body.rsplit_once("```").map(|(b, _)| b).unwrap_or(body);
    }
    if let Some(start) = t.find("```") {
        let rest = &t[start + 3..];
        if let Some((_, body)) = rest.split_once('\n') {
            if let Some((inner, _)) = body.split_once("```") {
                return inner;
            }
        }
    }
    t
}

struct P<'a> {
    c: &'a [char],
    i: usize,
    /// Strict Python-literal mode (literal_eval): no repairs, no bare words.
    python: bool,
}

impl P<'_> {
    fn peek(&self) -> Option<char> {
        self.c.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(c) if c.is_whitespace()) {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match self.peek()? {
            '{' => self.object(depth),
            '[' => self.array(depth, ']'),
            '(' if self.python => self.array(depth, ')'),
            '"' | '\'' => self.string().map(Value::String),
            c if c == '-' || c == '+' || c == '.' || c.is_ascii_digit() => self.number(),
            _ => self.word(),
        }
    }

    fn object(&mut self, depth: usize) -> Option<Value> {
        self.i += 1;
        let mut map = Map::new();
        loop {
            self.ws();
            match self.peek() {
                None => return (!self.python).then_some(Value::Object(map)),
                Some('}') => {
                    self.i += 1;
                    return Some(Value::Object(map));
                }
                Some(',') => {
                    self.i += 1;
                    continue;
                }
                _ => {}
            }
            let key = match self.peek()? {
                '"' | '\'' => self.string()?,
                _ if self.python => return None,
                _ => self.bare_key()?,
            };
            self.ws();
            if self.peek() == Some(':') {
                self.i += 1;
            } else if self.python {
                return None;
            }
            self.ws();
            let v = match self.peek() {
                None | Some('}') | Some(',') if !self.python => Value::String(String::new()),
                _ => self.value(depth + 1)?,
            };
            map.insert(key, v);
            self.ws();
            match self.peek() {
                Some(',') => self.i += 1,
                Some('}') => {}
                None if !self.python => {}
                _ if self.python => return None,
                _ => {} // missing comma: keep reading (json_repair does)
            }
        }
    }

    fn array(&mut self, depth: usize, close: char) -> Option<Value> {
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                None => return (!self.python).then_some(Value::Array(items)),
                Some(c) if c == close => {
                    self.i += 1;
                    return Some(Value::Array(items));
                }
                Some(',') => {
                    self.i += 1;
                    continue;
                }
                Some('}') | Some(']') if !self.python => {
                    // a mismatched closer: end this array here (json_repair does)
                    if self.peek() == Some(']') {
                        self.i += 1;
                    }
                    return Some(Value::Array(items));
                }
                _ => {}
            }
            let before = self.i;
            items.push(self.value(depth + 1)?);
            if self.i == before {
                return None;
            }
            self.ws();
            match self.peek() {
                Some(',') => self.i += 1,
                Some(c) if c == close => {}
                _ if self.python => return None,
                _ => {}
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        let q = self.peek()?;
        self.i += 1;
        let mut s = String::new();
        loop {
            let c = match self.peek() {
                Some(c) => c,
                None => return (!self.python).then_some(s),
            };
            self.i += 1;
            if c == q {
                return Some(s);
            }
            if c == '\\' {
                let e = self.peek()?;
                self.i += 1;
                match e {
                    'n' => s.push('\n'),
                    't' => s.push('\t'),
                    'r' => s.push('\r'),
                    'b' => s.push('\u{08}'),
                    'f' => s.push('\u{0c}'),
                    '/' => s.push('/'),
                    'u' => {
                        let hex: String = self.c.get(self.i..self.i + 4)?.iter().collect();
                        let code = u32::from_str_radix(&hex, 16).ok()?;
                        self.i += 4;
                        s.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                    }
                    other => s.push(other),
                }
                continue;
            }
            if c == '\n' && self.python {
                return None;
            }
            s.push(c);
        }
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.i;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.' | '_')) {
            self.i += 1;
        }
        let raw: String = self.c[start..self.i].iter().collect();
        let text = if raw.contains('_') {
            // Python allows single underscores between digits.
            if raw.starts_with('_') || raw.ends_with('_') || raw.contains("__") {
                return None;
            }
            raw.replace('_', "")
        } else {
            raw.clone()
        };
        let text = text.strip_prefix('+').unwrap_or(&text);
        if let Ok(i) = text.parse::<i64>() {
            return Some(Value::from(i));
        }
        if text.chars().all(|c| c.is_ascii_digit() || c == '-') {
            if let Ok(u) = text.parse::<u64>() {
                return Some(Value::from(u));
            }
        }
        let f: f64 = text.parse().ok().filter(|f: &f64| f.is_finite())?;
        if text.chars().any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E') {
            return None;
        }
        Number::from_f64(f).map(Value::Number)
    }

    fn word(&mut self) -> Option<Value> {
        let start = self.i;
        while matches!(self.peek(), Some(c) if c.is_alphanumeric() || c == '_') {
            self.i += 1;
        }
        let w: String = self.c[start..self.i].iter().collect();
        match w.as_str() {
            "true" if !self.python => Some(Value::Bool(true)),
            "false" if !self.python => Some(Value::Bool(false)),
            "null" if !self.python => Some(Value::Null),
            "True" => Some(Value::Bool(true)),
            "False" => Some(Value::Bool(false)),
            "None" => Some(Value::Null),
            _ if self.python || w.is_empty() => None,
            // an unquoted string value: read to the next delimiter
            _ => {
                while matches!(self.peek(), Some(c) if !matches!(c, ',' | '}' | ']' | '\n')) {
                    self.i += 1;
                }
                let s: String = self.c[start..self.i].iter().collect();
                Some(Value::String(s.trim_end().to_string()))
            }
        }
    }

    fn bare_key(&mut self) -> Option<String> {
        let start = self.i;
        while matches!(self.peek(), Some(c) if c != ':' && c != '}' && c != ',') {
            self.i += 1;
        }
        let k: String = self.c[start..self.i].iter().collect();
        let k = k.trim().to_string();
        (!k.is_empty()).then_some(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn repairs_like_json_repair() {
        let cases: &[(&str, Option<Value>)] = &[
            ("6", Some(json!(6))),
            ("6.0", Some(json!(6.0))),
            ("true", Some(json!(true))),
            ("True", None),
            ("Paris", None),
            ("\"6\"", Some(json!("6"))),
            ("[1,2", Some(json!([1, 2]))),
            ("abc [1,2] def", Some(json!([1, 2]))),
            ("{\"a\": 1,}", Some(json!({"a": 1}))),
            ("{'a': 'b'}", Some(json!({"a": "b"}))),
            ("- sql\n- index", None),
            ("```json\n{\"ORG\": 1}\n```", Some(json!({"ORG": 1}))),
            ("{'score': 123_456.789}", Some(json!({"score": 123456.789}))),
            ("null", Some(Value::Null)),
            ("1e-5", Some(json!(1e-5))),
            ("text {\"a\":1} more", Some(json!({"a": 1}))),
            ("{a: 1}", Some(json!({"a": 1}))),
            ("", None),
            ("\"\"", None),
            ("{\"a\": \"x\" \"b\": 2}", Some(json!({"a": "x", "b": 2}))),
            ("[1 2]", Some(json!([1, 2]))),
            ("{\"a\":[1,2}", Some(json!({"a": [1, 2]}))),
            ("{\"counts\": {\"ORG\": 1, \"LOC\": 2", Some(json!({"counts": {"ORG": 1, "LOC": 2}}))),
            ("{'a': True, 'b': None}", Some(json!({"a": true, "b": null}))),
        ];
        for (input, want) in cases {
            assert_eq!(&repair(input), want, "{input:?}");
        }
    }

    #[test]
    fn literal_eval_like_python() {
        assert_eq!(literal_eval("True"), Some(json!(true)));
        assert_eq!(literal_eval("None"), Some(Value::Null));
        assert_eq!(literal_eval("'negative'"), Some(json!("negative")));
        assert_eq!(literal_eval("123_456.789"), Some(json!(123456.789)));
        assert_eq!(literal_eval("1, 2"), Some(json!([1, 2])));
        assert_eq!(literal_eval("(1, 2)"), Some(json!([1, 2])));
        assert_eq!(literal_eval("very low"), None);
        assert_eq!(literal_eval("'abc"), None);
        assert_eq!(literal_eval("[1, 2] x"), None);
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let deep = "[".repeat(100_000);
        assert_eq!(repair(&deep), None);
        assert_eq!(literal_eval(&deep), None);
    }
}
