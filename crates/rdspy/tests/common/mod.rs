//! Running Python DSPy 3.4.1 from the tests that compare rdspy with it.
//!
//! The Python comes from `RDSPY_DSPY_PYTHON`, else from `<repo>/.venv-dspy/bin/python`, which
//! `scripts/setup.sh` creates (CI runs it first, so these tests run there without flags). A
//! missing Python fails the test rather than passing silently; `RDSPY_SKIP_PYTHON=1` skips on
//! purpose. The same rules as `crates/rdspy-embedded/tests/python_clients.rs`.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python to run, or `None` (with a printed reason) when `RDSPY_SKIP_PYTHON` is set.
///
/// # Panics
/// When no Python is found, with what to do about it.
pub fn dspy_python() -> Option<PathBuf> {
    if std::env::var_os("RDSPY_SKIP_PYTHON").is_some() {
        eprintln!("SKIPPED: RDSPY_SKIP_PYTHON is set");
        return None;
    }
    let py = match std::env::var_os("RDSPY_DSPY_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv-dspy/bin/python")),
    };
    assert!(
        py.is_file(),
        "no Python with dspy==3.4.1 at {}: run scripts/setup.sh (it creates .venv-dspy), or set \
         RDSPY_DSPY_PYTHON to a python that has it (RDSPY_SKIP_PYTHON=1 skips this test)",
        py.display()
    );
    Some(py)
}

/// Runs `tests/python/<script>` with `args` and parses its stdout as JSON.
///
/// Offline by construction: LiteLLM reads its bundled price list instead of downloading one, and
/// DSPy's disk cache goes to a private temporary folder.
///
/// # Panics
/// When the script fails or prints something that is not JSON, with its stderr.
pub fn run_python(py: &Path, script: &str, args: &[&std::ffi::OsStr]) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python").join(script);
    let cache = std::env::temp_dir().join(format!("rdspy-py-cache-{}", std::process::id()));
    let out = Command::new(py)
        .arg(&script)
        .args(args)
        .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        .env("DSPY_CACHEDIR", &cache)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", py.display()));
    let _ = std::fs::remove_dir_all(&cache);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{} {} failed ({}):\n{stderr}", py.display(), script.display(), out.status);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{} printed no JSON ({e}):\n{}\n{stderr}", script.display(), String::from_utf8_lossy(&out.stdout)))
}

/// A fresh folder under the system temp dir, unique to this process and `tag`.
pub fn tempdir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rdspy-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
