//! Embedded-model benchmark for BENCHMARKS.md ("Embedded model" section).
//!
//! ```text
//! cargo run --release -p rdspy-embedded --example bench [-- N_SENTENCES [--eval-only]]
//! ```
//!
//! Measures, on SmolLM2-135M with 2 threads: prompt and generation tokens/s; the latency of one
//! 3-demo SST-2 call (ChatAdapter) with a cold KV cache vs with prefix reuse; and an SST-2 dev
//! evaluation (default 200 sentences) in-process: ChatAdapter + 3 demos (accuracy, parse rate),
//! JSONAdapter + grammar (parse rate). Run it on an otherwise idle machine. `--eval-only` runs
//! only the ChatAdapter evaluation and prints it as one JSON line (for benches/embedded/run.py).

use rdspy::adapter::{Adapter, ChatAdapter, JSONAdapter, Message};
use rdspy::lm::{LmRequest, LM};
use rdspy::{Example, Signature};
use rdspy_embedded::{EmbeddedLM, EngineOptions};
use std::time::Instant;

fn sst2(split: &str, n: usize) -> Vec<(String, String)> {
    let path = format!("{}/../../data/sst2/{split}.jsonl", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .expect("data/sst2")
        .lines()
        .take(n)
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["sentence"].as_str().unwrap().to_string(), v["label"].as_str().unwrap().to_string())
        })
        .collect()
}

fn demos() -> Vec<Example> {
    let rows = sst2("train", 40);
    let mut pos = rows.iter().filter(|r| r.1 == "positive").take(2);
    let neg = rows.iter().find(|r| r.1 == "negative").unwrap();
    [pos.next().unwrap(), neg, pos.next().unwrap()]
        .into_iter()
        .map(|(s, l)| Example::new().with("sentence", s.as_str()).with("sentiment", l.as_str()).with_inputs(["sentence"]))
        .collect()
}

fn messages(adapter: &dyn Adapter, sig: &Signature, demos: &[Example], sentence: &str) -> Vec<Message> {
    adapter.format(sig, demos, Example::new().with("sentence", sentence).as_map())
}

/// ChatAdapter + 3 demos over `rows`: (seconds, parsed, correct).
async fn eval_chat(
    lm: &EmbeddedLM,
    sig: &Signature,
    demos: &[Example],
    rows: &[(String, String)],
) -> Result<(f64, usize, usize), Box<dyn std::error::Error>> {
    let chat = ChatAdapter::default();
    let t = Instant::now();
    let (mut parsed, mut correct) = (0, 0);
    for (sentence, label) in rows {
        let r = lm.call(LmRequest::new(messages(&chat, sig, demos, sentence)).temperature(0.0)).await?;
        if let Ok(out) = chat.parse(sig, &r.choices[0].text) {
            parsed += 1;
            correct += usize::from(out["sentiment"] == label.as_str());
        }
    }
    Ok((t.elapsed().as_secs_f64(), parsed, correct))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(200);
    let sig = Signature::parse("sentence -> sentiment: Literal['positive', 'negative']")?;
    let demos = demos();
    let chat = ChatAdapter::default();
    let t = Instant::now();
    let lm = EmbeddedLM::load("local/smollm2-135m")?;
    if std::env::args().any(|a| a == "--eval-only") {
        let rows = sst2("dev", n);
        lm.call(LmRequest::new(messages(&chat, &sig, &demos, &rows[0].0)).temperature(0.0)).await?; // fill the cache
        let (secs, parsed, correct) = eval_chat(&lm, &sig, &demos, &rows).await?;
        let line = serde_json::json!({"n": n, "seconds": (secs * 10.0).round() / 10.0, "sentences_per_s": ((n as f64 / secs) * 1000.0).round() / 1000.0,
            "parsed": parsed, "accuracy": (1000.0 * correct as f64 / n as f64).round() / 10.0});
        println!("{line}");
        return Ok(());
    }
    println!("load: {:.2} s", t.elapsed().as_secs_f64());
    let cold = EmbeddedLM::load_with("local/smollm2-135m", EngineOptions { prefix_reuse: false, ..Default::default() })?;

    // Raw speed: a long prompt, then 64 forced tokens.
    let long = sst2("dev", 40).into_iter().map(|r| r.0).collect::<Vec<_>>().join(" ");
    let req = LmRequest::new(vec![Message::user(format!("{long}\nWrite a long review of this film."))]).temperature(0.0).max_tokens(64);
    cold.call(req.clone()).await?; // warm-up
    let r = cold.call(req).await?;
    let s = cold.last_stats();
    println!(
        "prompt: {} tok in {:.2} s = {:.0} tok/s; generation: {} tok in {:.2} s = {:.1} tok/s",
        s.prompt_tokens,
        s.prompt_time.as_secs_f64(),
        s.prompt_tokens as f64 / s.prompt_time.as_secs_f64(),
        r.usage.completion_tokens,
        s.generation_time.as_secs_f64(),
        r.usage.completion_tokens as f64 / s.generation_time.as_secs_f64()
    );

    // One 3-demo SST-2 call: cold vs prefix reuse, with and without grammar-forced text handled
    // in batch (median of 5 different sentences).
    let plain =
        EmbeddedLM::load_with("local/smollm2-135m", EngineOptions { forced_text: false, grammar_shortcut: false, ..Default::default() })?;
    let full_grammar = EmbeddedLM::load_with("local/smollm2-135m", EngineOptions { grammar_shortcut: false, ..Default::default() })?;
    let rows = sst2("dev", n.max(6));
    let (mut cold_ms, mut plain_ms, mut forced_ms, mut warm_ms) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for m in [&lm, &plain, &full_grammar] {
        m.call(LmRequest::new(messages(&chat, &sig, &demos, &rows[0].0)).temperature(0.0)).await?;
        // fill the cache
    }
    for (sentence, _) in &rows[1..6] {
        let req = LmRequest::new(messages(&chat, &sig, &demos, sentence)).temperature(0.0);
        for (m, out) in [(&cold, &mut cold_ms), (&plain, &mut plain_ms), (&full_grammar, &mut forced_ms), (&lm, &mut warm_ms)] {
            let t = Instant::now();
            m.call(req.clone()).await?;
            out.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    drop((plain, full_grammar));
    let med = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    let s = lm.last_stats();
    println!(
        "3-demo SST-2 call ({} prompt tok, {} reused, {} generated of which {} grammar-forced): cold {:.0} ms, \
         prefix reuse {:.0} ms, prefix reuse + forced text {:.0} ms, + greedy grammar shortcut {:.0} ms (median of 5)",
        s.prompt_tokens,
        s.reused_tokens,
        s.completion_tokens,
        s.forced_tokens,
        med(&mut cold_ms),
        med(&mut plain_ms),
        med(&mut forced_ms),
        med(&mut warm_ms)
    );

    // Evaluation: ChatAdapter + 3 demos.
    let (secs, parsed, correct) = eval_chat(&lm, &sig, &demos, &rows[..n]).await?;
    println!(
        "ChatAdapter+3 demos, {n} dev sentences: {secs:.1} s ({:.2} sent/s), parsed {parsed}/{n}, accuracy {:.1}%",
        n as f64 / secs,
        100.0 * correct as f64 / n as f64
    );

    // Evaluation: JSONAdapter + grammar (zero-shot and 3 demos).
    let json = JSONAdapter::default();
    for (label_, d) in [("zero-shot", &[][..])] {
        let t = Instant::now();
        let (mut parsed, mut correct) = (0, 0);
        for (sentence, label) in rows.iter().take(n) {
            let mut req = LmRequest::new(messages(&json, &sig, d, sentence)).temperature(0.0).max_tokens(64);
            req.response_format = json.response_format(&sig);
            let r = lm.call(req).await?;
            if let Ok(out) = json.parse(&sig, &r.choices[0].text) {
                parsed += 1;
                correct += usize::from(out["sentiment"] == label.as_str());
            }
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "JSONAdapter+grammar {label_}, {n} dev sentences: {secs:.1} s ({:.2} sent/s), parsed {parsed}/{n}, accuracy {:.1}%",
            n as f64 / secs,
            100.0 * correct as f64 / n as f64
        );
    }
    Ok(())
}
