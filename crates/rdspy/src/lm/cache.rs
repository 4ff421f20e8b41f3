//! Persistent response cache, shared by concurrent processes and safe across crashes.
//!
//! Store: SQLite in WAL mode (rusqlite, bundled). Chosen over redb because several processes
//! (parallel compiles, a CLI beside a server) must share one cache, which redb's single-writer
//! file lock forbids; SQLite's WAL gives concurrent readers, serialized writers with a busy
//! timeout, and atomic commits, so a `kill -9` mid-write loses at most the write in flight and
//! never corrupts the file. Files written in place would not survive that.
//!
//! Location: `$RDSPY_CACHE_DIR`, else the platform cache dir (`~/.cache/rdspy`). If that cannot
//! be created or written (a read-only host, DSPy issue #8717), one warning is logged and the
//! cache lives in memory instead: caching never crashes a program.
//!
//! Key: SHA-256 of the model plus the canonical JSON of the whole request (messages and every
//! parameter, `rollout_id` included). API keys and bases are not part of requests, so they can
//! never reach a key or a row.

use super::{LmError, LmRequest, LmResponse, SharedLM, Usage, LM};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Where a cache keeps its entries.
#[derive(Debug)]
pub enum CacheStore {
    /// A SQLite database file.
    Sqlite { path: PathBuf, conn: Mutex<rusqlite::Connection> },
    /// Process memory (the fallback when the disk is not writable).
    Memory(Mutex<HashMap<String, String>>),
}

/// The default cache directory: `$RDSPY_CACHE_DIR`, else `<platform cache dir>/rdspy`.
pub fn default_cache_dir() -> PathBuf {
    std::env::var_os("RDSPY_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| dirs::cache_dir().unwrap_or_else(std::env::temp_dir).join("rdspy"))
}

impl CacheStore {
    /// Open (or create) the cache in `dir`; on any failure, warn once and use memory.
    pub fn open(dir: &Path) -> CacheStore {
        match Self::open_sqlite(dir) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("rdspy cache: cannot use {} ({e}); caching in memory for this process. Set RDSPY_CACHE_DIR to a writable folder to persist it.", dir.display());
                CacheStore::Memory(Mutex::new(HashMap::new()))
            }
        }
    }

    fn open_sqlite(dir: &Path) -> Result<CacheStore, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let path = dir.join("lm-cache.sqlite3");
        let conn = rusqlite::Connection::open(&path).map_err(|e| e.to_string())?;
        conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(|e| e.to_string())?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| e.to_string())?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(|e| e.to_string())?;
        conn.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, response TEXT NOT NULL, created INTEGER NOT NULL)", [])
            .map_err(|e| e.to_string())?;
        // prove the location is writable now rather than failing on the first call
        conn.execute("INSERT OR REPLACE INTO responses VALUES ('__probe__', '{}', 0)", []).map_err(|e| e.to_string())?;
        Ok(CacheStore::Sqlite { path, conn: Mutex::new(conn) })
    }

    /// In memory only.
    pub fn memory() -> CacheStore {
        CacheStore::Memory(Mutex::new(HashMap::new()))
    }

    /// True when entries persist on disk.
    pub fn is_persistent(&self) -> bool {
        matches!(self, CacheStore::Sqlite { .. })
    }

    /// The database file, when on disk.
    pub fn path(&self) -> Option<&Path> {
        match self {
            CacheStore::Sqlite { path, .. } => Some(path),
            CacheStore::Memory(_) => None,
        }
    }

    /// A stored response.
    pub fn get(&self, key: &str) -> Option<LmResponse> {
        let text = match self {
            CacheStore::Sqlite { conn, .. } => {
                let conn = conn.lock().unwrap_or_else(|e| e.into_inner());
                conn.query_row("SELECT response FROM responses WHERE key = ?1", [key], |r| r.get::<_, String>(0)).ok()?
            }
            CacheStore::Memory(m) => m.lock().unwrap_or_else(|e| e.into_inner()).get(key)?.clone(),
        };
        serde_json::from_str(&text).ok()
    }

    /// Store a response (a failed write is logged, never fatal).
    pub fn put(&self, key: &str, response: &LmResponse) {
        let Ok(text) = serde_json::to_string(response) else { return };
        match self {
            CacheStore::Sqlite { conn, .. } => {
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
                let conn = conn.lock().unwrap_or_else(|e| e.into_inner());
                if let Err(e) = conn.execute("INSERT OR REPLACE INTO responses VALUES (?1, ?2, ?3)", rusqlite::params![key, text, now]) {
                    tracing::warn!("rdspy cache: write failed: {e}");
                }
            }
            CacheStore::Memory(m) => {
                m.lock().unwrap_or_else(|e| e.into_inner()).insert(key.to_string(), text);
            }
        }
    }

    /// Number of stored responses.
    pub fn len(&self) -> usize {
        match self {
            CacheStore::Sqlite { conn, .. } => conn
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .query_row("SELECT COUNT(*) FROM responses WHERE key != '__probe__'", [], |r| r.get::<_, i64>(0))
                .map(|n| n as usize)
                .unwrap_or(0),
            CacheStore::Memory(m) => m.lock().unwrap_or_else(|e| e.into_inner()).len(),
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// SQLite's `PRAGMA integrity_check` result (`"ok"` when the file is sound); always `"ok"`
    /// in memory. Lets tools and tests verify the file after a crash without a sqlite3 binary.
    pub fn integrity_check(&self) -> String {
        match self {
            CacheStore::Sqlite { conn, .. } => conn
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
                .unwrap_or_else(|e| format!("integrity_check failed: {e}")),
            CacheStore::Memory(_) => "ok".to_string(),
        }
    }
}

/// The cache key of a request to `model`.
pub fn cache_key(model: &str, request: &LmRequest) -> String {
    let mut v = serde_json::to_value(request).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert("model".into(), Value::String(model.to_string()));
    }
    let canonical = canonical_json(&v);
    let digest = Sha256::digest(canonical.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// JSON with object keys sorted, recursively (the same request always hashes the same).
fn canonical_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys.iter().map(|k| format!("{}:{}", Value::String((*k).clone()), canonical_json(&m[*k]))).collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(canonical_json).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// The cache layer.
///
/// Calls with `n > 1` or a temperature above 0 are cached too (as in DSPy); ask for a fresh
/// sample with a different `rollout_id`.
#[derive(Debug)]
pub struct Cache {
    inner: SharedLM,
    store: Arc<CacheStore>,
}

impl Cache {
    /// Wrap `inner` with a store.
    pub fn new(inner: SharedLM, store: Arc<CacheStore>) -> Cache {
        Cache { inner, store }
    }

    /// The store.
    pub fn store(&self) -> &Arc<CacheStore> {
        &self.store
    }
}

#[async_trait::async_trait]
impl LM for Cache {
    fn model(&self) -> &str {
        self.inner.model()
    }

    async fn call(&self, request: LmRequest) -> Result<LmResponse, LmError> {
        let key = cache_key(self.inner.model(), &request);
        let store = self.store.clone();
        let k = key.clone();
        let hit = tokio::task::spawn_blocking(move || store.get(&k)).await.ok().flatten();
        if let Some(mut resp) = hit {
            resp.usage = Usage { calls: 1, cached_calls: 1, ..Usage::default() };
            resp.cache_hit = true;
            return Ok(resp);
        }
        let resp = self.inner.call(request).await?;
        let store = self.store.clone();
        let stored = resp.clone();
        let _ = tokio::task::spawn_blocking(move || store.put(&key, &stored)).await;
        Ok(resp)
    }

    delegate_lm_info!();
}
