//! An OpenAI-compatible mock server for tests and benchmarks.
//!
//! `POST /v1/chat/completions` answers any DSPy ChatAdapter or JSONAdapter prompt with a reply
//! that fills every requested output field with a value of its type, deterministically (the
//! same prompt always gets the same reply). It reads the output fields from the system
//! message's `Your output fields are:` list, so it needs nothing from rdspy.
//!
//! Failures can be injected at a seeded rate or for the first K requests: HTTP 500, 429 with
//! `Retry-After`, stalls longer than a client's timeout, non-JSON bodies, and connections dropped
//! without a response. `GET /stats` counts requests and failures; `GET /last_request` returns
//! the last request body. Built on hyper directly (not axum) because dropping a connection on
//! purpose means returning an error from the service, which a framework would turn into a 500.

mod reply;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use reply::{answer, output_fields, OutputField};

/// A kind of injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 500.
    ServerError,
    /// HTTP 429 with `Retry-After: <secs>`.
    RateLimit,
    /// Wait this long before answering (longer than the client's timeout).
    Stall,
    /// A 200 whose body is not JSON.
    Garbage,
    /// Close the connection without a response.
    Drop,
    /// HTTP 400 (not retryable).
    BadRequest,
}

impl std::str::FromStr for Failure {
    type Err = String;
    fn from_str(s: &str) -> Result<Failure, String> {
        Ok(match s {
            "500" | "server" => Failure::ServerError,
            "429" | "rate-limit" => Failure::RateLimit,
            "stall" => Failure::Stall,
            "garbage" => Failure::Garbage,
            "drop" => Failure::Drop,
            "400" | "bad-request" => Failure::BadRequest,
            other => return Err(format!("unknown failure kind {other:?}: use 500, 429, stall, garbage, drop or 400")),
        })
    }
}

/// Server options.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Delay before every answer.
    pub latency: Duration,
    /// Fraction of requests (0..1) that fail, chosen by a seeded hash of the request number.
    pub fail_rate: f64,
    /// Fail the first K requests (deterministic retry tests).
    pub fail_first: u64,
    /// Which failures to inject, in rotation.
    pub failures: Vec<Failure>,
    /// `Retry-After` seconds sent with 429.
    pub retry_after_secs: f64,
    /// How long a stall lasts.
    pub stall: Duration,
    /// Seed for the failure choice.
    pub seed: u64,
}

impl Default for MockConfig {
    fn default() -> MockConfig {
        MockConfig {
            latency: Duration::ZERO,
            fail_rate: 0.0,
            fail_first: 0,
            failures: vec![Failure::ServerError],
            retry_after_secs: 0.05,
            stall: Duration::from_secs(30),
            seed: 0,
        }
    }
}

/// Counters.
#[derive(Debug, Default)]
struct Stats {
    requests: AtomicU64,
    failures: AtomicU64,
    last_request: Mutex<Option<Value>>,
}

/// A running server; dropping the handle stops it.
pub struct MockServer {
    addr: SocketAddr,
    stats: Arc<Stats>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl MockServer {
    /// Start on `127.0.0.1` with an ephemeral port.
    pub async fn start(config: MockConfig) -> std::io::Result<MockServer> {
        MockServer::bind(config, "127.0.0.1:0".parse().expect("valid address")).await
    }

    /// Start on a given address.
    pub async fn bind(config: MockConfig, addr: SocketAddr) -> std::io::Result<MockServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(Stats::default());
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let config = Arc::new(config);
        let st = stats.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = tokio::select! {
                    r = listener.accept() => match r { Ok(s) => s, Err(_) => continue },
                    _ = &mut rx => break,
                };
                let _ = stream.set_nodelay(true);
                let (config, stats) = (config.clone(), st.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| handle(req, config.clone(), stats.clone()));
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(stream), svc).await;
                });
            }
        });
        Ok(MockServer { addr, stats, shutdown: Some(tx) })
    }

    /// `http://127.0.0.1:<port>/v1`, the `api_base` to give a client.
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.stats.requests.load(Ordering::Relaxed)
    }

    /// Failures injected so far.
    pub fn failures(&self) -> u64 {
        self.stats.failures.load(Ordering::Relaxed)
    }

    /// The last request body.
    pub fn last_request(&self) -> Option<Value> {
        self.stats.last_request.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Stop accepting connections.
    pub fn shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn json_response(status: u16, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("valid response")
}

async fn handle(
    req: Request<hyper::body::Incoming>,
    config: Arc<MockConfig>,
    stats: Arc<Stats>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let path = req.uri().path().to_string();
    match (req.method().as_str(), path.as_str()) {
        ("GET", "/stats") => {
            return Ok(json_response(
                200,
                json!({"requests": stats.requests.load(Ordering::Relaxed), "failures": stats.failures.load(Ordering::Relaxed)}),
            ))
        }
        ("GET", "/last_request") => {
            let last = stats.last_request.lock().unwrap_or_else(|e| e.into_inner()).clone();
            return Ok(json_response(200, last.unwrap_or(Value::Null)));
        }
        ("GET", "/v1/models") => return Ok(json_response(200, json!({"object": "list", "data": [{"id": "mock", "object": "model"}]}))),
        ("POST", "/v1/chat/completions") => {}
        _ => return Ok(json_response(404, json!({"error": {"message": format!("no route {path}")}}))),
    }
    let n = stats.requests.fetch_add(1, Ordering::Relaxed);
    let body = req.into_body().collect().await.map_err(std::io::Error::other)?.to_bytes();
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return Ok(json_response(400, json!({"error": {"message": format!("request body is not JSON: {e}")}}))),
    };
    *stats.last_request.lock().unwrap_or_else(|e| e.into_inner()) = Some(request.clone());
    if !config.latency.is_zero() {
        tokio::time::sleep(config.latency).await;
    }
    let fail = n < config.fail_first || (config.fail_rate > 0.0 && (splitmix(config.seed ^ n) as f64 / u64::MAX as f64) < config.fail_rate);
    if fail && !config.failures.is_empty() {
        stats.failures.fetch_add(1, Ordering::Relaxed);
        let kind = config.failures[(splitmix(n.wrapping_add(config.seed)) % config.failures.len() as u64) as usize];
        match kind {
            Failure::ServerError => return Ok(json_response(500, json!({"error": {"message": "injected server error"}}))),
            Failure::RateLimit => {
                let mut r = json_response(429, json!({"error": {"message": "injected rate limit"}}));
                r.headers_mut().insert("retry-after", config.retry_after_secs.to_string().parse().expect("header value"));
                return Ok(r);
            }
            Failure::Stall => tokio::time::sleep(config.stall).await,
            Failure::Garbage => {
                return Ok(Response::builder()
                    .status(200)
                    .body(Full::new(Bytes::from_static(b"<html>oops</html>")))
                    .expect("valid response"))
            }
            Failure::Drop => return Err(std::io::Error::other("injected dropped connection")),
            Failure::BadRequest => {
                return Ok(json_response(400, json!({"error": {"message": "injected bad request: unsupported parameter"}})))
            }
        }
    }
    match answer(&request) {
        Ok(reply) => Ok(json_response(200, reply)),
        Err(msg) => Ok(json_response(400, json!({"error": {"message": msg}}))),
    }
}
