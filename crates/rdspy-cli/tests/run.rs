//! `rdspy run` against the mock server started by `rdspy mock-server` (two real processes).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn run_against_a_mock_server_process() {
    let mut server = Command::new(env!("CARGO_BIN_EXE_rdspy")).args(["mock-server", "--port", "0"]).stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    let out = Command::new(env!("CARGO_BIN_EXE_rdspy"))
        .args([
            "run",
            "--lm",
            "openai/mock",
            "--api-base",
            &url,
            "--no-cache",
            "-s",
            "question -> answer: int, ok: bool",
            "--module",
            "cot",
            "-i",
            "question=2+2?",
            "--json",
        ])
        .env("OPENAI_API_KEY", "unused")
        .output()
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["answer"].is_i64() && v["ok"].is_boolean() && v["reasoning"].is_string(), "{v}");
}

#[test]
fn unknown_provider_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_rdspy")).args(["run", "--lm", "antropic/x", "-s", "q -> a", "-i", "q=1"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown provider `antropic`") && err.contains("known providers: openai"), "{err}");
}

/// The embedded-model issue's "done when", as a user types it on a fresh clone (after the README's
/// set-up fetched the weights): a valid prediction from SmolLM2-135M, in-process.
#[cfg(feature = "embedded")]
#[test]
fn run_on_the_embedded_model_prints_a_valid_prediction() {
    let gguf = rdspy_embedded::models_dir().join("SmolLM2-135M-Instruct.Q4_1.gguf");
    if !gguf.is_file() {
        assert!(std::env::var_os("RDSPY_REQUIRE_MODELS").is_none(), "RDSPY_REQUIRE_MODELS is set but {gguf:?} is missing");
        eprintln!("SKIPPED: {gguf:?} missing; run scripts/fetch-models.sh");
        return;
    }
    let sig = "sentence -> sentiment: Literal['positive', 'negative']";
    let run = |json: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rdspy"));
        cmd.args(["run", "--lm", "local/smollm2-135m", "--signature", sig, "--input", "sentence=a gorgeous, witty film"]);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run(false);
    let label = text.trim().strip_prefix("sentiment: ").unwrap_or_else(|| panic!("not a `sentiment: …` line: {text:?}"));
    assert!(["positive", "negative"].contains(&label), "{text:?}");
    let v: serde_json::Value = serde_json::from_str(&run(true)).unwrap();
    assert_eq!(v["sentiment"], label, "the --json prediction differs from the text one");
}
