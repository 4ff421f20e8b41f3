//! Resumable compiles: an append-only JSONL journal of finished work in a compile directory.
//!
//! Every finished unit of work — one teacher attempt while bootstrapping, one evaluated example,
//! one scored candidate — is appended as `{"key": .., "value": ..}` and fsync'd before the
//! optimizer moves on. After a crash or `kill -9`, reopening the directory replays the journal,
//! so a resumed compile skips every recorded LM call and, with the same seed, ends with the
//! same program. A torn last line (the process died mid-write) is dropped and cut off; any
//! other unreadable line is an error naming the line.
//!
//! Keys are content hashes of what the work depended on (the teacher's demos, the example, the
//! round; the program's demos and the example), not positions, so a changed trainset or
//! program never replays stale results.

use crate::{Error, Result};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A compile directory's journal.
#[derive(Debug)]
pub struct Checkpoint {
    path: PathBuf,
    entries: Mutex<HashMap<String, Value>>,
    file: Mutex<std::fs::File>,
}

impl Checkpoint {
    /// Open (or create) the journal `progress.jsonl` in `dir`.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("rdspy-doc-ckpt-{}", std::process::id()));
    /// let cp = rdspy::optimize::Checkpoint::open(&dir).unwrap();
    /// cp.put("a", serde_json::json!(1)).unwrap();
    /// drop(cp);
    /// assert_eq!(rdspy::optimize::Checkpoint::open(&dir).unwrap().get("a"), Some(serde_json::json!(1)));
    /// # std::fs::remove_dir_all(&dir).ok();
    /// ```
    pub fn open(dir: impl AsRef<Path>) -> Result<Checkpoint> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating compile directory {}", dir.display()), e))?;
        let path = dir.join("progress.jsonl");
        let mut entries = HashMap::new();
        let mut good_len = 0u64;
        if path.exists() {
            let f = std::fs::File::open(&path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
            let lines: Vec<std::io::Result<String>> =
                std::io::BufReader::new(f).split(b'\n').map(|l| l.map(|b| String::from_utf8_lossy(&b).into_owned())).collect();
            let total = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            let n = lines.len();
            for (i, line) in lines.into_iter().enumerate() {
                let line = line.map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
                let complete = good_len + (line.len() as u64) < total;
                match serde_json::from_str::<Value>(&line) {
                    Ok(Value::Object(o)) if complete && o.contains_key("key") => {
                        if let (Some(k), Some(v)) = (o.get("key").and_then(Value::as_str), o.get("value")) {
                            entries.insert(k.to_string(), v.clone());
                        }
                        good_len += line.len() as u64 + 1;
                    }
                    _ if i + 1 == n => {
                        tracing::warn!(path = %path.display(), line = i + 1, "dropping a torn last line of the compile journal");
                    }
                    _ => {
                        return Err(Error::InvalidInput(format!(
                            "{}:{}: unreadable compile journal line; delete the compile directory to start over",
                            path.display(),
                            i + 1
                        )))
                    }
                }
            }
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        file.set_len(good_len).map_err(|e| Error::io(format!("truncating the torn end of {}", path.display()), e))?;
        Ok(Checkpoint { path, entries: Mutex::new(entries), file: Mutex::new(file) })
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A recorded value.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).get(key).cloned()
    }

    /// How many entries are recorded.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Record a value durably (appended and fsync'd before returning).
    pub fn put(&self, key: &str, value: Value) -> Result<()> {
        let mut line = serde_json::to_vec(&json!({"key": key, "value": value})).map_err(|e| Error::Other(e.to_string()))?;
        line.push(b'\n');
        {
            let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
            f.write_all(&line).map_err(|e| Error::io(format!("writing {}", self.path.display()), e))?;
            f.sync_data().map_err(|e| Error::io(format!("syncing {}", self.path.display()), e))?;
        }
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).insert(key.to_string(), value);
        Ok(())
    }

    /// Check that this directory belongs to the same compile: the first call records `config`,
    /// later ones must match it.
    pub fn ensure_config(&self, config: Value) -> Result<()> {
        match self.get("config") {
            None => self.put("config", config),
            Some(c) if c == config => Ok(()),
            Some(c) => Err(Error::InvalidInput(format!(
                "{} belongs to a different compile (recorded {c}, now {config}); use another directory or delete it",
                self.path.display()
            ))),
        }
    }
}

/// A stable key from JSON parts (SHA-256, hex).
pub(crate) fn key(kind: &str, parts: &[Value]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.to_string().as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    format!("{kind}/{}", d.iter().take(16).map(|b| format!("{b:02x}")).collect::<String>())
}

/// What a program run depends on besides its inputs: each predictor's name, instructions,
/// signature and demos.
pub(crate) fn program_state<P: crate::predict::Predictors + ?Sized>(p: &P) -> Value {
    Value::Array(
        p.named_predictors()
            .into_iter()
            .map(|(n, x)| {
                json!([
                    n,
                    x.signature().instructions(),
                    crate::save::typed_spec(x.signature()),
                    x.demos.iter().map(crate::Example::to_json).collect::<Vec<_>>()
                ])
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_last_line_is_dropped_and_cut() {
        let dir = std::env::temp_dir().join(format!("rdspy-ckpt-{}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        let cp = Checkpoint::open(&dir).unwrap();
        cp.put("a", json!(1)).unwrap();
        cp.put("b", json!({"x": [1, 2]})).unwrap();
        drop(cp);
        let path = dir.join("progress.jsonl");
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"key\": \"c\", \"val").unwrap();
        drop(f);
        let cp = Checkpoint::open(&dir).unwrap();
        assert_eq!((cp.get("a"), cp.get("b").unwrap()["x"][1].clone(), cp.get("c")), (Some(json!(1)), json!(2), None));
        cp.put("c", json!(3)).unwrap();
        drop(cp);
        let cp = Checkpoint::open(&dir).unwrap();
        assert_eq!(cp.get("c"), Some(json!(3)));
        assert_eq!(cp.len(), 3);
        assert!(cp.ensure_config(json!({"seed": 1})).is_ok());
        assert!(cp.ensure_config(json!({"seed": 1})).is_ok());
        assert!(cp.ensure_config(json!({"seed": 2})).unwrap_err().to_string().contains("different compile"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
