//! The LM layers over real loopback HTTP against the mock server: Predict and ChainOfThought,
//! retries under injected failures, non-retryable errors, reasoning-model parameters, history.

use rdspy::lm::{LmBuilder, LmError, LmRequest, SharedLM};
use rdspy::predict::{ChainOfThought, Module, Predict};
use rdspy::{Example, Signature};
use rdspy_mock::{Failure, MockConfig, MockServer};
use std::time::Duration;

fn lm(server: &MockServer, retries: u32) -> SharedLM {
    LmBuilder::new("openai/mock-model")
        .api_base(server.url())
        .api_key("sk-test-not-secret")
        .cache(false)
        .num_retries(retries)
        .retry_base_delay(Duration::from_millis(5))
        .timeout(Duration::from_millis(800))
        .build()
        .unwrap()
}

#[tokio::test]
async fn predict_and_chain_of_thought_over_http() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let lm = lm(&server, 0);
    let qa = Predict::new(Signature::parse("question -> answer, confidence: float").unwrap()).with_lm(lm.clone());
    let p = qa.forward(&Example::new().with("question", "What is 2+2?")).await.unwrap();
    assert!(p.get_str("answer").is_some());
    assert!(p.get("confidence").unwrap().is_f64());
    assert!(p.usage.prompt_tokens > 0);
    let cot = ChainOfThought::new(Signature::parse("question -> answer: int").unwrap()).with_lm(lm.clone());
    let p = cot.forward(&Example::new().with("question", "2+3?")).await.unwrap();
    assert_eq!(p.get_str("reasoning"), Some("Let me think step by step."));
    assert!(p.get("answer").unwrap().is_i64());
    let history = lm.history().unwrap().last(2);
    assert_eq!(history.len(), 2);
    assert!(history[1].messages[0].content.contains("`reasoning` (str)"));
    assert_eq!(lm.usage().unwrap().calls, 2);
    // This LM's own log: the global one (`inspect_history`) also holds the calls of the tests
    // running beside this one, so its last entry may be theirs.
    assert!(rdspy::lm::format_history(&lm.history().unwrap().last(1)).contains("Response:\n[[ ## reasoning ## ]]"));
    assert!(rdspy::lm::global_history().last(100).iter().any(|e| e.messages == history[1].messages), "global history has it too");
}

#[tokio::test]
async fn retries_recover_from_injected_failures_with_nothing_lost() {
    let config = MockConfig {
        fail_rate: 0.3,
        failures: vec![Failure::ServerError, Failure::RateLimit, Failure::Garbage, Failure::Drop, Failure::Stall],
        stall: Duration::from_secs(3),
        seed: 7,
        ..MockConfig::default()
    };
    let server = MockServer::start(config).await.unwrap();
    let lm = lm(&server, 10);
    let p = Predict::new(Signature::parse("question -> answer").unwrap()).with_lm(lm);
    let mut tasks = Vec::new();
    for i in 0..60 {
        let p = p.clone();
        tasks.push(tokio::spawn(async move { p.forward(&Example::new().with("question", format!("q{i}"))).await }));
    }
    let mut ok = 0;
    for t in tasks {
        t.await.unwrap().unwrap();
        ok += 1;
    }
    assert_eq!(ok, 60);
    assert!(server.failures() > 0, "the server injected no failure");
    assert_eq!(server.requests(), 60 + server.failures());
}

#[tokio::test]
async fn bad_requests_fail_at_once_with_the_servers_message() {
    let server =
        MockServer::start(MockConfig { fail_first: 100, failures: vec![Failure::BadRequest], ..MockConfig::default() }).await.unwrap();
    let lm = lm(&server, 3);
    let err = lm.call(LmRequest::new(vec![rdspy::adapter::Message::user("hi")])).await.unwrap_err();
    assert!(matches!(err, LmError::InvalidRequest { status: 400, .. }), "{err:?}");
    assert!(err.to_string().contains("injected bad request: unsupported parameter"));
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn rate_limits_wait_and_succeed() {
    let server =
        MockServer::start(MockConfig { fail_first: 2, failures: vec![Failure::RateLimit], ..MockConfig::default() }).await.unwrap();
    let r = lm(&server, 3).call(LmRequest::new(vec![rdspy::adapter::Message::user("hi")])).await.unwrap();
    assert_eq!(r.choices.len(), 1);
    assert_eq!(server.requests(), 3);
}

#[tokio::test]
async fn reasoning_models_are_sent_max_completion_tokens() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let lm = LmBuilder::new("openai/o3-mini").api_base(server.url()).api_key("k").cache(false).max_tokens(16000).build().unwrap();
    lm.call(LmRequest::new(vec![rdspy::adapter::Message::user("hi")])).await.unwrap();
    let body = server.last_request().unwrap();
    assert_eq!(body["max_completion_tokens"], 16000);
    assert!(body.get("max_tokens").is_none());
    assert_eq!(body["model"], "o3-mini");
}

#[tokio::test]
async fn n_greater_than_one_returns_completions_and_raises_temperature() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let mut p = Predict::new(Signature::parse("question -> answer").unwrap()).with_lm(lm(&server, 0));
    p.config.n = Some(3);
    let pred = p.forward(&Example::new().with("question", "q")).await.unwrap();
    assert_eq!(pred.completions().len(), 3);
    assert_eq!(server.last_request().unwrap()["temperature"], 0.7);
}

#[tokio::test]
async fn dead_server_is_a_clear_transport_error() {
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let lm = LmBuilder::new("openai/x")
        .api_base(format!("http://{addr}/v1"))
        .api_key("k")
        .cache(false)
        .num_retries(1)
        .retry_base_delay(Duration::from_millis(1))
        .build()
        .unwrap();
    let err = lm.call(LmRequest::new(vec![rdspy::adapter::Message::user("hi")])).await.unwrap_err();
    assert!(matches!(err, LmError::Transport { .. }), "{err:?}");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}
