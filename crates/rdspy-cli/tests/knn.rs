//! `rdspy compile --optimizer knn` on the embedded model (SmolLM2-135M) and the in-process
//! MiniLM embedder, then `rdspy eval --program` on the saved file: the KNN program is rebuilt
//! from `metadata.rdspy.knn`, each dev input is answered after bootstrapping its own neighbours,
//! and Python DSPy still loads the file.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rdspy")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rdspy-cli-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&d).ok();
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The first `n` rows of an SST-2 split, written to `dst`; returns them.
fn subset(split: &str, n: usize, dst: &Path) -> Vec<Value> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../data/sst2/{split}.jsonl"));
    let rows: Vec<String> = std::fs::read_to_string(src).unwrap().lines().take(n).map(str::to_string).collect();
    std::fs::write(dst, rows.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    rows.iter().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The weights are there (else skip, unless `RDSPY_REQUIRE_MODELS` makes that a failure).
#[cfg(feature = "embedded")]
fn have_models() -> bool {
    let dir = rdspy_embedded::models_dir();
    let missing: Vec<PathBuf> =
        [dir.join("SmolLM2-135M-Instruct.Q4_1.gguf"), dir.join(rdspy_embedded::MINILM_DIR).join("model.safetensors")]
            .into_iter()
            .filter(|p| !p.is_file())
            .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(std::env::var_os("RDSPY_REQUIRE_MODELS").is_none(), "RDSPY_REQUIRE_MODELS is set but {missing:?} are missing");
    eprintln!("SKIPPED: {missing:?} missing; run scripts/fetch-models.sh");
    false
}

/// Python with dspy (scripts/setup.sh makes .venv-dspy), if there is one.
fn python() -> Option<PathBuf> {
    let p = std::env::var_os("RDSPY_DSPY_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-dspy/bin/python"));
    p.is_file().then_some(p)
}

#[cfg(feature = "embedded")]
#[test]
fn knn_compile_then_eval_program_on_the_embedded_model() {
    if !have_models() {
        return;
    }
    let dir = tmp("knn");
    let train = subset("train", 6, &dir.join("train.jsonl"));
    subset("dev", 3, &dir.join("dev.jsonl"));
    let program = dir.join("knn.json");
    let k = 2;
    let out = Command::new(bin())
        .current_dir(&dir)
        .args(["compile", "--lm", "local/smollm2-135m", "-s", "sentence -> label: Literal['positive', 'negative']"])
        .args(["--optimizer", "knn", "--k", &k.to_string(), "--train", "train.jsonl", "--metric", "exact_match:label"])
        .args(["--out", "knn.json", "--no-eval", "--quiet", "--json", "--report", "knn.html"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(report["usage"]["calls"], 0, "compiling KNN only embeds the trainset: {report}");
    // The report says how the demos are picked and shows one input's neighbours and demos
    // (bootstrapping them is the only LM work, in its own phase of the usage table).
    let html = std::fs::read_to_string(dir.join("knn.html")).unwrap();
    for part in ["Demos per input (KNNFewShot)", "<b>k = 2</b>", "Its neighbours", "picked per input by KNNFewShot"] {
        assert!(html.contains(part), "{part:?} missing from the report");
    }
    assert!(!html.contains("Demos (0)"), "a KNN program's demos are not an empty list");
    assert!(html.contains("<tr><td>compile (knn)</td><td>—</td><td>0</td><td>0</td>"), "the compile phase makes no LM call");
    assert!(html.contains("<tr><td>report: one input's KNN demos</td>"));

    // The saved file: a demo-less Predict (what DSPy's KNNFewShot program saves) plus what rdspy
    // needs to rebuild the KNN program.
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&program).unwrap()).unwrap();
    assert_eq!(saved["demos"], serde_json::json!([]));
    let knn = &saved["metadata"]["rdspy"]["knn"];
    assert_eq!(knn["k"], k);
    assert_eq!(knn["embedder"], "local/all-MiniLM-L6-v2");
    assert_eq!(knn["metric"], "exact_match:label");
    assert_eq!(knn["input_keys"], serde_json::json!(["sentence"]));
    assert_eq!(knn["trainset"].as_array().unwrap(), &train, "the training rows, in order");
    assert_eq!(knn["vectors"]["model"], "local/all-MiniLM-L6-v2");
    assert_eq!(knn["vectors"]["dim"], 384);
    assert_eq!(knn["vectors"]["f32le_base64"].as_str().unwrap().len(), (6 * 384 * 4usize).div_ceil(3) * 4, "6 vectors of 384 f32");

    if let Some(py) = python() {
        let script = "import sys, dspy\n\
                      p = dspy.Predict('sentence -> label')\n\
                      p.load(sys.argv[1])\n\
                      print(len(p.demos), p.signature.instructions)";
        let out = Command::new(py).args(["-c", script]).arg(&program).output().unwrap();
        assert!(out.status.success(), "Python DSPy cannot load the KNN program: {}", String::from_utf8_lossy(&out.stderr));
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with("0 Given the fields `sentence`"),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    } else {
        eprintln!("no Python DSPy (.venv-dspy): skipped the Python load check");
    }

    // eval --program rebuilds the KNN program: per dev input, the k neighbours go through the
    // teacher (k calls) before the answer (1 call), so the uncached call count shows the
    // per-input bootstrap really ran.
    let out = Command::new(bin())
        .current_dir(&dir)
        .args(["eval", "--program", "knn.json", "--lm", "local/smollm2-135m", "--data", "dev.jsonl"])
        .args(["--metric", "exact_match:label", "--no-cache", "--quiet", "--json", "--concurrency", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let eval: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    eprintln!("knn eval: {eval}");
    assert_eq!(eval["n"], 3);
    assert_eq!(eval["errors"], 0, "{eval}");
    let score = eval["score"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&score));
    let calls = eval["usage"]["calls"].as_u64().unwrap();
    assert!(calls >= 3 * (k as u64 + 1), "3 inputs × ({k} teacher runs + 1 answer), got {calls} calls: {eval}");
}

/// `--embedder openai/<model>`: KNN with the embeddings (and the LM) of a `rdspy serve-model`
/// process, over HTTP; the saved file keeps the server so `run --program` reaches it again.
#[cfg(feature = "embedded")]
#[test]
fn knn_with_the_embeddings_of_serve_model_over_http() {
    use std::io::{BufRead, BufReader};
    if !have_models() {
        return;
    }
    let dir = tmp("knn-http");
    subset("train", 5, &dir.join("train.jsonl"));
    let mut server = Command::new(bin())
        .args(["serve-model", "--model", "local/smollm2-135m", "--port", "0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(server.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("serving") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "serve-model exited before listening");
    }
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap().to_string();
    let lm = ["--lm", "openai/smollm2", "--api-base", url.as_str()];
    let out = Command::new(bin())
        .current_dir(&dir)
        .args(["compile", "-s", "sentence -> label: Literal['positive', 'negative']", "--optimizer", "knn", "--k", "2"])
        .args(lm)
        .args(["--embedder", "openai/all-MiniLM-L6-v2", "--train", "train.jsonl", "--metric", "exact_match:label"])
        .args(["--out", "knn.json", "--no-eval", "--quiet"])
        .env("OPENAI_API_KEY", "unused")
        .output()
        .unwrap();
    let saved: Option<Value> = std::fs::read_to_string(dir.join("knn.json")).ok().map(|t| serde_json::from_str(&t).unwrap());
    let run = Command::new(bin())
        .current_dir(&dir)
        .args(["run", "--program", "knn.json", "--no-cache", "--json", "-i", "sentence=contains no wit , only labored gags"])
        .args(lm)
        .env("OPENAI_API_KEY", "unused")
        .output()
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let knn = &saved.unwrap()["metadata"]["rdspy"]["knn"];
    assert_eq!(knn["embedder"], "openai/all-MiniLM-L6-v2");
    assert_eq!(knn["embedder_api_base"], url.as_str());
    assert_eq!(knn["vectors"]["model"], "openai/all-MiniLM-L6-v2");
    assert_eq!(knn["vectors"]["dim"], 384, "the server's MiniLM vectors");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let prediction: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert!(prediction["label"] == "positive" || prediction["label"] == "negative", "{prediction}");
}

#[test]
fn knn_embedder_errors_say_what_to_do() {
    let dir = tmp("knn-errors");
    subset("train", 3, &dir.join("train.jsonl"));
    let run = |embedder: &str| {
        let out = Command::new(bin())
            .current_dir(&dir)
            .args(["compile", "--lm", "openai/unused", "-s", "sentence -> label", "--optimizer", "knn", "--embedder", embedder])
            .args(["--train", "train.jsonl", "--metric", "exact_match:label", "--out", "p.json", "--no-eval"])
            .env_remove("RDSPY_API_BASE")
            .env("OPENAI_API_KEY", "unused")
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let err = run("openai/text-embedding-3-small");
    assert!(err.contains("needs a server") && err.contains("--embedder-api-base"), "{err}");
    let err = run("cohere/embed");
    assert!(err.contains("unknown embedder") && err.contains("local/all-MiniLM-L6-v2"), "{err}");
    assert!(!dir.join("p.json").exists(), "no program is saved on error");
}
