//! Evaluate against the mock HTTP server, with failures injected: every example is accounted
//! for, errors are counted, and `max_errors` stops the run with an error that says so.

use rdspy::evaluate::{Evaluate, Metric};
use rdspy::lm::{LmBuilder, SharedLM};
use rdspy::predict::Predict;
use rdspy::{Example, Prediction, Signature};
use rdspy_mock::{Failure, MockConfig, MockServer};
use std::sync::Arc;
use std::time::Duration;

fn lm(server: &MockServer) -> SharedLM {
    LmBuilder::new("openai/mock-model")
        .api_base(server.url())
        .api_key("sk-test-not-secret")
        .cache(false)
        .num_retries(0)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn devset(n: usize) -> Vec<Example> {
    (0..n).map(|i| Example::new().with("question", format!("q{i}")).with("answer", "x").with_inputs(["question"])).collect()
}

/// Scores 1 for any prediction that has an `answer`, so the score counts successes.
fn has_answer(_: &Example, p: &Prediction, _: Option<&rdspy::trace::Trace>) -> bool {
    p.get("answer").is_some()
}

#[tokio::test]
async fn failures_are_counted_and_every_result_is_kept() {
    let config = MockConfig { fail_rate: 0.3, failures: vec![Failure::BadRequest, Failure::ServerError], seed: 7, ..MockConfig::default() };
    let server = MockServer::start(config).await.unwrap();
    let program = Arc::new(Predict::new(Signature::parse("question -> answer").unwrap()).with_lm(lm(&server)));
    let dev = devset(60);
    let result = Evaluate::new(dev.clone(), has_answer).num_threads(8).max_errors(60).display_progress(false).run(program).await.unwrap();
    assert_eq!(result.results.len(), 60);
    let failed = result.results.iter().filter(|r| r.outcome.is_err()).count();
    assert_eq!(failed, result.errors);
    assert_eq!(failed as u64, server.failures(), "each injected failure fails exactly one example (no retries)");
    assert!(failed > 0 && failed < 60, "{failed} failures");
    for (r, ex) in result.results.iter().zip(&dev) {
        assert_eq!(&r.example, ex, "results stay in dev-set order");
        assert_eq!(r.score, if r.outcome.is_ok() { 1.0 } else { 0.0 });
    }
    let expected = ((100.0 * (60 - failed) as f64 / 60.0) * 100.0).round() / 100.0;
    assert_eq!(result.score, expected);
    assert_eq!(result.total_usage().calls, (60 - failed) as u64);

    // Results written atomically, one line per example.
    let dir = std::env::temp_dir().join(format!("rdspy-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    result.write_jsonl(dir.join("r.jsonl")).unwrap();
    result.write_csv(dir.join("r.csv")).unwrap();
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(dir.join("r.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 60);
    assert_eq!(lines.iter().filter(|l| l.get("error").is_some()).count(), failed);
    let csv_rows = std::fs::read_to_string(dir.join("r.csv")).unwrap().lines().count();
    assert_eq!(csv_rows, 61);
    assert!(result.table(5).contains("score"));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn max_errors_stops_the_run_with_a_clear_error() {
    let server =
        MockServer::start(MockConfig { fail_first: 1000, failures: vec![Failure::BadRequest], ..MockConfig::default() }).await.unwrap();
    let program = Arc::new(Predict::new(Signature::parse("question -> answer").unwrap()).with_lm(lm(&server)));
    let err = Evaluate::new(devset(40), has_answer).num_threads(2).max_errors(3).run(program).await.unwrap_err().to_string();
    assert!(err.contains("4 examples failed, more than max_errors = 3"), "{err}");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(server.requests() < 40, "stopping cancels the remaining examples ({} requests)", server.requests());
}

#[tokio::test]
async fn failure_score_and_closure_metrics() {
    let server =
        MockServer::start(MockConfig { fail_first: 1, failures: vec![Failure::BadRequest], ..MockConfig::default() }).await.unwrap();
    let program = Arc::new(Predict::new(Signature::parse("question -> answer").unwrap()).with_lm(lm(&server)));
    let half = |_: &Example, _: &Prediction, _: Option<&rdspy::trace::Trace>| 0.5;
    assert_eq!(half.score(&Example::new(), &Prediction::default(), None), 0.5);
    let r = Evaluate::new(devset(4), half).num_threads(1).failure_score(0.25).run(program).await.unwrap();
    assert_eq!(r.errors, 1);
    assert_eq!(r.score, ((100.0 * (0.25 + 3.0 * 0.5) / 4.0) * 100.0_f64).round() / 100.0);
}
