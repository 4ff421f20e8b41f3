//! The rdspy side of the overhead benchmark (`benches/overhead/run.py`): ChainOfThought
//! ("context: list[str], question -> answer") over HotPotQA questions with their supporting
//! paragraphs, against an OpenAI-compatible server, cache off, N calls with C in flight.
//! Prints one JSON line: {"calls", "ok", "errors", "wall_s"}.
//!
//! `cargo run --release -p rdspy --example overhead_client -- <api_base> <calls> <concurrency>`

use rdspy::lm::LmBuilder;
use rdspy::predict::{ChainOfThought, Module};
use rdspy::{Example, Signature};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

fn load_examples() -> Vec<Example> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/hotpotqa");
    let corpus: HashMap<String, String> = std::fs::read_to_string(root.join("corpus.jsonl"))
        .expect("data/hotpotqa/corpus.jsonl")
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| (v["title"].as_str().unwrap_or_default().to_string(), v["text"].as_str().unwrap_or_default().to_string()))
        .collect();
    std::fs::read_to_string(root.join("questions.jsonl"))
        .expect("data/hotpotqa/questions.jsonl")
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|q| {
            let context: Vec<Value> = q["supporting_titles"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| corpus.get(t.as_str().unwrap_or_default()).map(|s| Value::String(s.clone())))
                .collect();
            Example::new().with("context", context).with("question", q["question"].clone())
        })
        .collect()
}

/// User + system CPU seconds of this process so far (all threads), from /proc/self/stat.
fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_comm = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after_comm.split_whitespace().collect();
    // fields 14 and 15 of the full line (utime, stime) are 12 and 13 after `pid (comm)`
    let ticks: f64 = f.get(11).and_then(|x| x.parse().ok()).unwrap_or(0.0) + f.get(12).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0 // USER_HZ is 100 on Linux
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (url, calls, concurrency) = (args[1].clone(), args[2].parse::<usize>()?, args[3].parse::<usize>()?);
    let examples = Arc::new(load_examples());
    // An evaluation is I/O-bound: one thread drives thousands of requests in flight, and
    // avoids the cross-thread wake-ups a work-stealing pool pays per request. RDSPY_THREADS=2
    // measures the multi-thread runtime instead.
    let rt = match std::env::var("RDSPY_THREADS").ok().and_then(|t| t.parse::<usize>().ok()) {
        Some(n) if n > 1 => tokio::runtime::Builder::new_multi_thread().worker_threads(n).enable_all().build()?,
        _ => tokio::runtime::Builder::new_current_thread().enable_all().build()?,
    };
    rt.block_on(async move {
        let lm = LmBuilder::new("openai/mock").api_base(url).api_key("unused").cache(false).build()?;
        let program = Arc::new(ChainOfThought::new(Signature::parse("context: list[str], question -> answer")?).with_lm(lm));
        let sem = Arc::new(tokio::sync::Semaphore::new(concurrency));
        let cpu0 = process_cpu_seconds();
        let started = std::time::Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for i in 0..calls {
            let permit = sem.clone().acquire_owned().await?;
            let (program, examples) = (program.clone(), examples.clone());
            set.spawn(async move {
                let r = program.forward(&examples[i % examples.len()]).await;
                drop(permit);
                r.is_ok()
            });
        }
        let mut ok = 0;
        while let Some(r) = set.join_next().await {
            ok += usize::from(r.unwrap_or(false));
        }
        let wall = started.elapsed().as_secs_f64();
        let cpu = process_cpu_seconds() - cpu0;
        println!("{}", serde_json::json!({"calls": calls, "ok": ok, "errors": calls - ok, "wall_s": wall, "cpu_s": cpu}));
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
