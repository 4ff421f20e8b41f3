//! The outcome of an evaluation: the score, each example's result, and writers for them.

use crate::lm::Usage;
use crate::{Error, Example, Prediction, Result};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;

/// One dev example's result.
#[derive(Debug, Clone)]
pub struct ExampleResult {
    /// The example (inputs and labels).
    pub example: Example,
    /// The program's prediction, or the error that stopped it.
    pub outcome: std::result::Result<Prediction, String>,
    /// The metric's score (`failure_score` when the program failed).
    pub score: f64,
}

impl ExampleResult {
    /// The result as one JSON object: `{"example", "prediction" | "error", "score"}`.
    pub fn to_json(&self) -> Value {
        match &self.outcome {
            Ok(p) => json!({"example": self.example.to_json(), "prediction": p.to_json(), "score": self.score}),
            Err(e) => json!({"example": self.example.to_json(), "error": e, "score": self.score}),
        }
    }
}

/// What [`super::Evaluate::run`] returns.
#[derive(Debug, Clone)]
pub struct EvaluationResult {
    /// DSPy's score: `round(100 * sum(scores) / len(devset), 2)`.
    pub score: f64,
    /// One result per dev example, in dev-set order.
    pub results: Vec<ExampleResult>,
    /// How many examples failed (their score is the failure score).
    pub errors: usize,
    /// LM usage summed over the run, per model.
    pub usage: std::collections::BTreeMap<String, Usage>,
}

impl EvaluationResult {
    /// Usage summed over all models.
    pub fn total_usage(&self) -> Usage {
        let mut total = Usage::default();
        for u in self.usage.values() {
            total += *u;
        }
        total
    }

    /// A plain-text table of the first `limit` results: inputs, outputs, score.
    pub fn table(&self, limit: usize) -> String {
        let cell = |s: String| -> String {
            let s = s.replace('\n', " ");
            if s.chars().count() > 48 {
                format!("{}…", s.chars().take(47).collect::<String>())
            } else {
                s
            }
        };
        let mut rows = vec![["#".to_string(), "inputs".into(), "output".into(), "score".into()]];
        for (i, r) in self.results.iter().take(limit).enumerate() {
            let inputs = r.example.inputs().iter().map(|(k, v)| format!("{k}={}", text(v))).collect::<Vec<_>>().join(" ");
            let out = match &r.outcome {
                Ok(p) => p.as_map().iter().map(|(k, v)| format!("{k}={}", text(v))).collect::<Vec<_>>().join(" "),
                Err(e) => format!("ERROR: {e}"),
            };
            rows.push([i.to_string(), cell(inputs), cell(out), format!("{:.2}", r.score)]);
        }
        let widths: Vec<usize> = (0..4).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
        let mut out = String::new();
        for (n, r) in rows.iter().enumerate() {
            let line: Vec<String> = r.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
            out.push_str(line.join(" | ").trim_end());
            out.push('\n');
            if n == 0 {
                out.push_str(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("-+-"));
                out.push('\n');
            }
        }
        out.push_str(&format!("score {}% over {} examples ({} errors)\n", self.score, self.results.len(), self.errors));
        out
    }

    /// Write every result as JSON Lines, atomically (a temp file renamed into place).
    pub fn write_jsonl(&self, path: impl AsRef<Path>) -> Result<()> {
        let mut buf = Vec::new();
        for r in &self.results {
            serde_json::to_writer(&mut buf, &r.to_json()).map_err(|e| Error::Other(e.to_string()))?;
            buf.push(b'\n');
        }
        write_atomic(path.as_ref(), &buf)
    }

    /// Write every result as CSV (example fields, `pred_`-prefixed outputs, `error`, `score`),
    /// atomically.
    pub fn write_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        let mut ex_keys: Vec<String> = Vec::new();
        let mut pred_keys: Vec<String> = Vec::new();
        for r in &self.results {
            for k in r.example.keys() {
                if !ex_keys.iter().any(|x| x == k) {
                    ex_keys.push(k.to_string());
                }
            }
            if let Ok(p) = &r.outcome {
                for k in p.as_map().keys() {
                    if !pred_keys.contains(k) {
                        pred_keys.push(k.clone());
                    }
                }
            }
        }
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<String> = ex_keys.clone();
        header.extend(pred_keys.iter().map(|k| format!("pred_{k}")));
        header.extend(["error".to_string(), "score".to_string()]);
        let csv_err = |e: csv::Error| Error::Other(format!("writing CSV: {e}"));
        w.write_record(&header).map_err(csv_err)?;
        for r in &self.results {
            let mut row: Vec<String> = ex_keys.iter().map(|k| r.example.get(k).map(text).unwrap_or_default()).collect();
            match &r.outcome {
                Ok(p) => {
                    row.extend(pred_keys.iter().map(|k| p.get(k).map(text).unwrap_or_default()));
                    row.push(String::new());
                }
                Err(e) => {
                    row.extend(pred_keys.iter().map(|_| String::new()));
                    row.push(e.clone());
                }
            }
            row.push(r.score.to_string());
            w.write_record(&row).map_err(csv_err)?;
        }
        let buf = w.into_inner().map_err(|e| Error::Other(format!("writing CSV: {e}")))?;
        write_atomic(path.as_ref(), &buf)
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Write `bytes` to `path` through a temp file in the same directory, fsync'd and renamed, so
/// readers never see a half-written file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let ctx = |what: &str| format!("{what} {}", tmp.display());
    let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(ctx("creating"), e))?;
    f.write_all(bytes).map_err(|e| Error::io(ctx("writing"), e))?;
    f.sync_all().map_err(|e| Error::io(ctx("syncing"), e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| Error::io(format!("renaming {} to {}", tmp.display(), path.display()), e))
}
