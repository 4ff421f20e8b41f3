//! The persistent cache: survives `kill -9` of a writer, serves hits in a new process, falls
//! back to memory with a warning where it cannot write, and never stores an API key.

use rdspy::adapter::Message;
use rdspy::lm::{Cache, CacheStore, LmBuilder, LmError, LmRequest, LmResponse, SharedLM, LM};
use rdspy_mock::{MockConfig, MockServer};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rdspy-cache-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn req(i: usize) -> LmRequest {
    LmRequest::new(vec![
        Message::system("Your output fields are:\n1. `answer` (str):\nAll interactions"),
        Message::user(format!("question {i}")),
    ])
}

/// An LM that counts its calls and must not be reached on a cache hit.
#[derive(Debug, Default)]
struct Counting(AtomicU64);

#[async_trait::async_trait]
impl LM for Counting {
    fn model(&self) -> &str {
        "openai/mock-model"
    }
    async fn call(&self, _r: LmRequest) -> Result<LmResponse, LmError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Err(LmError::Other("not cached".into()))
    }
}

/// The child process of `cache_survives_kill_9`: writes entries until it is killed.
#[tokio::test]
#[ignore = "run as a child process by cache_survives_kill_9"]
async fn child_cache_writer() {
    let Ok(dir) = std::env::var("RDSPY_TEST_CACHE_DIR") else { return };
    let url = std::env::var("RDSPY_TEST_MOCK_URL").unwrap();
    let count: usize = std::env::var("RDSPY_TEST_CACHE_N").ok().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let lm = LmBuilder::new("openai/mock-model").api_base(url).api_key("k").cache_dir(&dir).num_retries(0).build().unwrap();
    for i in 0..count {
        lm.call(req(i)).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_survives_kill_9_and_serves_hits_in_a_new_process() {
    let dir = tmp("kill9");
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["child_cache_writer", "--exact", "--ignored", "--nocapture"])
        .env("RDSPY_TEST_CACHE_DIR", &dir)
        .env("RDSPY_TEST_MOCK_URL", server.url())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // wait until the writer is well into its run, then kill it mid-write
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while server.requests() < 300 {
        assert!(std::time::Instant::now() < deadline, "the child wrote too slowly");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let written = server.requests() as usize;

    let store = Arc::new(CacheStore::open(&dir));
    assert!(store.is_persistent());
    assert_eq!(store.integrity_check(), "ok");
    let conn = rusqlite_check(store.path().unwrap());
    assert_eq!(conn, "ok");
    let rows = store.len();
    assert!(rows + 2 >= written.saturating_sub(1) && rows >= 290, "rows {rows}, requests {written}");
    let counting = Arc::new(Counting::default());
    let cache = Cache::new(counting.clone(), store);
    for i in 0..rows.min(250) {
        let r = cache.call(req(i)).await.unwrap();
        assert!(r.cache_hit);
        assert_eq!(r.usage.prompt_tokens, 0);
        assert_eq!((r.usage.calls, r.usage.cached_calls), (1, 1), "a hit is one call, answered by the cache");
    }
    assert_eq!(counting.0.load(Ordering::SeqCst), 0, "a cached request reached the LM");
}

/// Two processes write the same cache at once (overlapping keys): both finish without a
/// `database is locked` failure, every key is stored once, and the file is sound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_the_cache_concurrently() {
    let dir = tmp("shared");
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let spawn = || {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["child_cache_writer", "--exact", "--ignored", "--nocapture"])
            .env("RDSPY_TEST_CACHE_DIR", &dir)
            .env("RDSPY_TEST_MOCK_URL", server.url())
            .env("RDSPY_TEST_CACHE_N", "400")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "a writer failed: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!String::from_utf8_lossy(&out.stderr).contains("write failed"), "{}", String::from_utf8_lossy(&out.stderr));
    }
    // each key was asked for by both processes; a hit in one skips the server
    assert!(server.requests() >= 400 && server.requests() <= 800, "server saw {}", server.requests());
    let store = Arc::new(CacheStore::open(&dir));
    assert_eq!(store.integrity_check(), "ok");
    assert_eq!(store.len(), 400);
    let counting = Arc::new(Counting::default());
    let cache = Cache::new(counting.clone(), store);
    for i in 0..400 {
        assert!(cache.call(req(i)).await.unwrap().cache_hit);
    }
    assert_eq!(counting.0.load(Ordering::SeqCst), 0);
}

fn rusqlite_check(path: &Path) -> String {
    let out = std::process::Command::new("sqlite3").arg(path).arg("PRAGMA integrity_check;").output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        _ => "ok".to_string(), // no sqlite3 CLI: the store opening and reading above is the check
    }
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test]
async fn unwritable_cache_dir_warns_once_and_runs_in_memory() {
    let dir = tmp("readonly");
    let file = dir.join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let logs = Captured::default();
    let sub = tracing_subscriber::fmt().with_writer(logs.clone()).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(sub);
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let lm = LmBuilder::new("openai/mock-model").api_base(server.url()).api_key("k").cache_dir(file.join("cache")).build().unwrap();
    lm.call(req(1)).await.unwrap();
    let second = lm.call(req(1)).await.unwrap();
    assert!(second.cache_hit, "the in-memory cache serves hits");
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text.matches("caching in memory").count(), 1, "{text}");
}

#[tokio::test]
async fn api_keys_appear_in_no_saved_file_cache_row_or_log_line() {
    let secret = "sk-SECRET-0123456789abcdef";
    let dir = tmp("keys");
    let logs = Captured::default();
    let sub = tracing_subscriber::fmt().with_writer(logs.clone()).with_ansi(false).with_max_level(tracing::Level::TRACE).finish();
    let _guard = tracing::subscriber::set_default(sub);
    let server = MockServer::start(MockConfig { fail_first: 2, ..MockConfig::default() }).await.unwrap();
    let lm: SharedLM = LmBuilder::new("openai/mock-model")
        .api_base(server.url())
        .api_key(secret)
        .cache_dir(&dir)
        .retry_base_delay(Duration::from_millis(1))
        .build()
        .unwrap();
    let p = rdspy::predict::Predict::new(rdspy::Signature::parse("question -> answer").unwrap()).with_lm(lm.clone());
    rdspy::predict::Module::forward(&p, &rdspy::Example::new().with("question", "hi")).await.unwrap();
    let program = dir.join("program.json");
    rdspy::save::save(&p, &program).unwrap();
    let mut haystack = std::fs::read(&program).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with("lm-cache") {
            haystack.extend(std::fs::read(&path).unwrap());
        }
    }
    haystack.extend(logs.0.lock().unwrap().iter());
    haystack.extend(format!("{lm:?}").as_bytes());
    haystack.extend(lm.dump_state().unwrap().to_string().as_bytes());
    assert!(String::from_utf8_lossy(&haystack).contains("retrying LM call"), "the retry warning was logged");
    assert!(!haystack.windows(secret.len()).any(|w| w == secret.as_bytes()), "the API key leaked");
}
