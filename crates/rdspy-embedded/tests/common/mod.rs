//! Shared helpers for the tests that run the real model.
#![allow(dead_code)]

use rdspy::{Example, Signature};
use rdspy_embedded::{EmbeddedLM, EngineOptions};

/// The default model, loaded once per test binary; `None` (with a printed reason) when the
/// weights are missing and `RDSPY_REQUIRE_MODELS` is not set. CI sets it, so missing weights fail there.
pub fn model() -> Option<EmbeddedLM> {
    model_with(None)
}

/// Like [`model`] but a separate instance with the given options.
pub fn model_with(opts: Option<EngineOptions>) -> Option<EmbeddedLM> {
    if let Err(e) = rdspy_embedded::resolve_model("local/smollm2-135m") {
        if std::env::var_os("RDSPY_REQUIRE_MODELS").is_some() {
            panic!("RDSPY_REQUIRE_MODELS is set but the model is missing: {e}");
        }
        eprintln!("SKIPPED: {e}");
        return None;
    }
    Some(match opts {
        None => rdspy_embedded::shared("local/smollm2-135m").expect("load SmolLM2"),
        Some(o) => EmbeddedLM::load_with("local/smollm2-135m", o).expect("load SmolLM2"),
    })
}

/// SST-2 rows from the repo's data folder.
pub fn sst2(split: &str, n: usize) -> Vec<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/sst2/");
    let text = std::fs::read_to_string(format!("{path}{split}.jsonl")).expect("data/sst2 is in the repo");
    text.lines()
        .take(n)
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["sentence"].as_str().unwrap().to_string(), v["label"].as_str().unwrap().to_string())
        })
        .collect()
}

/// The sentiment signature the tests and benchmarks use.
pub fn sentiment_signature() -> Signature {
    Signature::parse("sentence -> sentiment: Literal['positive', 'negative']").unwrap()
}

/// Three demos from the train split (two positive, one negative, as found in order).
pub fn demos() -> Vec<Example> {
    let rows = sst2("train", 40);
    let mut pos = rows.iter().filter(|r| r.1 == "positive").take(2);
    let neg = rows.iter().find(|r| r.1 == "negative").unwrap();
    [pos.next().unwrap(), neg, pos.next().unwrap()]
        .into_iter()
        .map(|(s, l)| Example::new().with("sentence", s.as_str()).with("sentiment", l.as_str()).with_inputs(["sentence"]))
        .collect()
}

/// Python with `openai` and `dspy==3.4.1` for the tests that run the real Python clients:
/// `.venv-dspy` (made by `scripts/setup.sh`), or `RDSPY_DSPY_PYTHON`. A missing Python fails
/// the test (CI must not skip it silently); `RDSPY_SKIP_PYTHON=1` skips it on purpose.
pub fn dspy_python() -> Option<std::path::PathBuf> {
    if std::env::var_os("RDSPY_SKIP_PYTHON").is_some() {
        eprintln!("SKIPPED: RDSPY_SKIP_PYTHON is set");
        return None;
    }
    let py = std::env::var_os("RDSPY_DSPY_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv-dspy/bin/python").into());
    assert!(
        py.is_file(),
        "no Python with openai + dspy==3.4.1 at {}: run scripts/setup.sh (it creates .venv-dspy), \
         or set RDSPY_DSPY_PYTHON to a python that has both (RDSPY_SKIP_PYTHON=1 skips this test)",
        py.display()
    );
    Some(py)
}

/// Run `py script args...` against a server on loopback: no proxy, no download of LiteLLM's
/// model price list, and a private DSPy cache (`tag` names it) removed afterwards.
pub async fn run_python(py: &std::path::Path, script: &str, args: &[&str], tag: &str) -> std::process::Output {
    let cache = std::env::temp_dir().join(format!("rdspy-py-{tag}-{}", std::process::id()));
    let out = tokio::process::Command::new(py)
        .arg(script)
        .args(args)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        .env("DSPY_CACHEDIR", &cache)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", py.display()));
    let _ = std::fs::remove_dir_all(&cache);
    out
}
