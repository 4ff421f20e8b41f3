//! File loaders. Each example keeps the file's key order (it becomes the prompt's field order
//! for demos), and every error carries `file:line`.

use crate::{Error, Example, Result};
use serde_json::{Map, Value};
use std::path::Path;

/// How to read a dataset: which keys are inputs, and which keys every row must have.
#[derive(Debug, Clone, Default)]
pub struct Load {
    inputs: Vec<String>,
    required: Vec<String>,
}

/// Load `path` (format from its extension: `.jsonl`, `.json`, `.csv`) with these input keys.
///
/// Input keys are also required: a row without one would fail later inside a program run,
/// far from the line that caused it.
pub fn load<S: AsRef<str>>(path: impl AsRef<Path>, inputs: impl IntoIterator<Item = S>) -> Result<Vec<Example>> {
    Load::new(inputs).file(path)
}

impl Load {
    /// Rows become examples with these keys marked as inputs (and required).
    pub fn new<S: AsRef<str>>(inputs: impl IntoIterator<Item = S>) -> Load {
        let inputs: Vec<String> = inputs.into_iter().map(|s| s.as_ref().to_string()).collect();
        Load { required: inputs.clone(), inputs }
    }

    /// Also require these keys (labels the metric reads, e.g. `answer`).
    pub fn require<S: AsRef<str>>(mut self, keys: impl IntoIterator<Item = S>) -> Load {
        for k in keys {
            let k = k.as_ref().to_string();
            if !self.required.contains(&k) {
                self.required.push(k);
            }
        }
        self
    }

    /// Read a file, choosing the format by extension.
    pub fn file(&self, path: impl AsRef<Path>) -> Result<Vec<Example>> {
        let path = path.as_ref();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let text = || std::fs::read_to_string(path).map_err(|e| Error::io(format!("reading dataset {}", path.display()), e));
        match ext.as_str() {
            "jsonl" | "ndjson" => self.jsonl_str(&text()?, &path.display().to_string()),
            "json" => self.json_str(&text()?, &path.display().to_string()),
            "csv" => self.csv_str(&text()?, &path.display().to_string()),
            other => Err(Error::InvalidInput(format!(
                "{}: unknown dataset format `.{other}`; use .jsonl (one JSON object per line), .json (an array of objects) or .csv (a header row)",
                path.display()
            ))),
        }
    }

    /// Parse JSONL text; `name` is used in errors. Blank lines are skipped.
    pub fn jsonl_str(&self, text: &str, name: &str) -> Result<Vec<Example>> {
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let lineno = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let value: Value = serde_json::from_str(line)
                .map_err(|e| Error::InvalidInput(format!("{name}:{lineno}: malformed JSON ({e}); each line must be one JSON object")))?;
            out.push(self.row(value, name, lineno)?);
        }
        Ok(out)
    }

    /// Parse a JSON array of objects; errors give the line where the bad element starts.
    pub fn json_str(&self, text: &str, name: &str) -> Result<Vec<Example>> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| Error::InvalidInput(format!("{name}:{}: malformed JSON ({e})", e.line())))?;
        let Value::Array(items) = value else {
            return Err(Error::InvalidInput(format!("{name}: expected a JSON array of objects at the top level")));
        };
        // serde_json does not keep element positions; find each element's line by re-scanning
        // with a streaming deserializer only on error paths would be costly, so report the index
        // and (approximately) the line of the element's opening brace.
        let starts = object_start_lines(text);
        items
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let line = starts.get(i).copied().unwrap_or(0);
                self.row(v, &format!("{name} (element {i})"), line)
            })
            .collect()
    }

    /// Parse CSV text with a header row. Every value is a string, as DSPy's CSV loader gives.
    pub fn csv_str(&self, text: &str, name: &str) -> Result<Vec<Example>> {
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
        let headers = reader.headers().map_err(|e| Error::InvalidInput(format!("{name}:1: cannot read the CSV header row ({e})")))?.clone();
        let mut out = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| csv_error(name, &e))?;
            let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
            let map: Map<String, Value> =
                headers.iter().zip(record.iter()).map(|(h, v)| (h.to_string(), Value::String(v.to_string()))).collect();
            out.push(self.row(Value::Object(map), name, line)?);
        }
        Ok(out)
    }

    fn row(&self, value: Value, name: &str, line: usize) -> Result<Example> {
        let Value::Object(map) = value else {
            return Err(Error::InvalidInput(format!("{name}:{line}: expected a JSON object, got {}", kind(&value))));
        };
        if let Some(missing) = self.required.iter().find(|k| !map.contains_key(k.as_str())) {
            let have: Vec<&str> = map.keys().map(String::as_str).collect();
            return Err(Error::InvalidInput(format!("{name}:{line}: missing field `{missing}` (the row has: {})", have.join(", "))));
        }
        let ex = Example::from_map(map);
        Ok(if self.inputs.is_empty() { ex } else { ex.with_inputs(&self.inputs) })
    }
}

fn csv_error(name: &str, e: &csv::Error) -> Error {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { pos, expected_len, len } => Error::InvalidInput(format!(
            "{name}:{}: row has {len} columns but the header has {expected_len}; quote values that contain commas",
            pos.as_ref().map(|p| p.line()).unwrap_or(0)
        )),
        _ => Error::InvalidInput(format!("{name}:{}: bad CSV ({e})", e.position().map(|p| p.line()).unwrap_or(0))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Line numbers of each top-level array element's start (depth-1 values), scanning strings
/// correctly so braces inside strings do not count.
fn object_start_lines(text: &str) -> Vec<usize> {
    let (mut depth, mut line, mut in_str, mut esc) = (0usize, 1usize, false, false);
    let mut starts = Vec::new();
    let mut expect_value = false;
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_str {
            match (esc, c) {
                (true, _) => esc = false,
                (false, '\\') => esc = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        if depth == 1 && expect_value && !c.is_whitespace() && c != ']' {
            starts.push(line);
            expect_value = false;
        }
        match c {
            '"' => in_str = true,
            '[' | '{' => {
                depth += 1;
                if depth == 1 {
                    expect_value = true;
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 1 => expect_value = true,
            _ => {}
        }
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_errors_name_line_and_field() {
        let l = Load::new(["q"]).require(["label"]);
        let e = l.jsonl_str("{\"q\":1,\"label\":2}\n{oops\n", "d.jsonl").unwrap_err().to_string();
        assert!(e.starts_with("d.jsonl:2: malformed JSON"), "{e}");
        let e = l.jsonl_str("{\"q\":1,\"label\":2}\n\n{\"q\":1}\n", "d.jsonl").unwrap_err().to_string();
        assert!(e.starts_with("d.jsonl:3: missing field `label`"), "{e}");
        let e = l.jsonl_str("[1]\n", "d.jsonl").unwrap_err().to_string();
        assert_eq!(e, "d.jsonl:1: expected a JSON object, got an array");
    }

    #[test]
    fn csv_rows_and_bad_column_count() {
        let l = Load::new(["text"]);
        let ok = l.csv_str("text,label\n\"a, b\",pos\nc,neg\n", "d.csv").unwrap();
        assert_eq!(ok[0].get_str("text"), Some("a, b"));
        assert_eq!(ok[1].inputs().keys().collect::<Vec<_>>(), ["text"]);
        let e = l.csv_str("text,label\na,pos\nb,neg,extra\n", "d.csv").unwrap_err().to_string();
        assert!(e.starts_with("d.csv:3: row has 3 columns but the header has 2"), "{e}");
    }

    #[test]
    fn json_array_with_element_lines() {
        let l = Load::new(["q"]).require(["a"]);
        let ok = l.json_str("[{\"q\": \"x\", \"a\": \"y\"}]", "d.json").unwrap();
        assert_eq!(ok.len(), 1);
        let e = l.json_str("[\n {\"q\": \"{\", \"a\": 1},\n {\"q\": 2}\n]", "d.json").unwrap_err().to_string();
        assert!(e.starts_with("d.json (element 1):3: missing field `a`"), "{e}");
        let e = l.json_str("{\"q\": 1}", "d.json").unwrap_err().to_string();
        assert!(e.contains("expected a JSON array"), "{e}");
    }
}
