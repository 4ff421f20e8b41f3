//! `rdspy compile --resume`: a compile killed with SIGKILL mid-way and resumed ends with the
//! same program as an uninterrupted run, without repeating the recorded LM calls. Also
//! `rdspy eval --json` end to end. Both against the mock HTTP server started by the test.

use rdspy_mock::{MockConfig, MockServer};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rdspy")
}

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sst2")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rdspy-cli-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&d).ok();
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn subset(src: &Path, n: usize, dst: &Path) {
    let text = std::fs::read_to_string(src).unwrap();
    std::fs::write(dst, text.lines().take(n).map(|l| format!("{l}\n")).collect::<String>()).unwrap();
}

fn compile_args(url: &str, dir: &Path, out: &str, ckpt: &str) -> Vec<String> {
    [
        "compile",
        "--lm",
        "openai/mock",
        "--api-base",
        url,
        "--no-cache",
        "-s",
        "sentence -> label: Literal['positive', 'negative']",
        "--train",
        dir.join("train.jsonl").to_str().unwrap(),
        "--val",
        dir.join("val.jsonl").to_str().unwrap(),
        "--metric",
        "exact_match:label",
        "--optimizer",
        "random-search",
        "--candidates",
        "3",
        "--concurrency",
        "2",
        "--quiet",
        "--json",
        "--out",
        dir.join(out).to_str().unwrap(),
        "--report",
        dir.join(format!("{out}.html")).to_str().unwrap(),
        "--resume",
        dir.join(ckpt).to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_compile_resumes_to_the_same_program() {
    let server = MockServer::start(MockConfig { latency: Duration::from_millis(15), ..MockConfig::default() }).await.unwrap();
    let url = server.url();
    let dir = tmp("resume");
    subset(&data().join("train.jsonl"), 40, &dir.join("train.jsonl"));
    subset(&data().join("dev.jsonl"), 20, &dir.join("val.jsonl"));

    // Uninterrupted run.
    let full = Command::new(bin()).args(compile_args(&url, &dir, "full.json", "ck-full")).output().unwrap();
    assert!(full.status.success(), "{}", String::from_utf8_lossy(&full.stderr));
    let full_calls = server.requests();

    // Killed run: SIGKILL once the journal holds some finished work.
    let mut child = Command::new(bin())
        .args(compile_args(&url, &dir, "resumed.json", "ck"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let journal = dir.join("ck/progress.jsonl");
    loop {
        let lines = std::fs::read_to_string(&journal).map(|t| t.lines().count()).unwrap_or(0);
        if lines >= 30 {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the compile finished ({status}) before it could be killed");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(!dir.join("resumed.json").exists(), "killed before the program was saved");
    let before_resume = server.requests();

    let resumed = Command::new(bin()).args(compile_args(&url, &dir, "resumed.json", "ck")).output().unwrap();
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("resuming from"));
    let resumed_calls = server.requests() - before_resume;
    assert!(resumed_calls < full_calls - 20, "resume repeated recorded calls: {resumed_calls} of {full_calls}");

    let a = std::fs::read_to_string(dir.join("full.json")).unwrap();
    let b = std::fs::read_to_string(dir.join("resumed.json")).unwrap();
    assert_eq!(a, b, "resumed compile gives the same program");
    let json: serde_json::Value = serde_json::from_str(&a).unwrap();
    assert!(json["metadata"]["rdspy"]["predictors"]["self"]["signature"].is_string());
    let html = std::fs::read_to_string(dir.join("full.json.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Candidates"));
    // Usage per phase: the compile, then scoring before and after, each with its calls.
    for phase in ["compile (random-search)", "scoring the baseline (valset)", "scoring the compiled program (valset)", "all phases"] {
        assert!(html.contains(&format!("<tr><td>{phase}</td><td>openai/mock</td>")), "no usage row for {phase:?}");
    }
    assert!(![" src=", " href=", "<script", "<link", "@import", "url("].iter().any(|s| html.contains(s)), "the report fetches nothing");

    // The saved program evaluates on its own; --json is the last stdout line.
    let eval = Command::new(bin())
        .args(["eval", "--program", dir.join("full.json").to_str().unwrap(), "--lm", "openai/mock", "--api-base", &url])
        .args(["--no-cache", "--quiet", "--json", "--metric", "exact_match:label", "--data", dir.join("val.jsonl").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
    let stdout = String::from_utf8_lossy(&eval.stdout);
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["n"], 20);
    assert_eq!(last["errors"], 0);
    assert_eq!(last["usage"]["calls"], 20);
    assert!(last["score"].as_f64().unwrap() >= 0.0);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_dataset_errors_name_file_and_line() {
    let dir = tmp("bad");
    std::fs::write(dir.join("bad.jsonl"), "{\"question\": \"a\", \"answer\": \"b\"}\n{\"question\": \"c\"}\n").unwrap();
    let out = Command::new(bin())
        .args(["eval", "--lm", "openai/mock", "--api-base", "http://127.0.0.1:9/v1", "-s", "question -> answer", "--metric", "exact_match"])
        .args(["--data", dir.join("bad.jsonl").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.jsonl:2: missing field `answer`"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
