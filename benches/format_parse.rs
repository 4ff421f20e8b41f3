//! `format_parse`: format a 2-demo QA prompt with ChatAdapter and parse its reply, in process.
//! Goal: ≤ 2 µs per call (the fastest Rust port publishes 2.2 µs for the same work).
//!
//! Run: `cargo bench -p rdspy --bench format_parse`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use rdspy::adapter::{Adapter, ChatAdapter, JSONAdapter};
use rdspy::{Example, Signature};
use serde_json::json;

fn bench(c: &mut Criterion) {
    let sig = Signature::parse("question -> answer").unwrap();
    let demos = vec![
        Example::from_json(json!({"question": "What is 1+1?", "answer": "2"})).unwrap(),
        Example::from_json(json!({"question": "Who wrote Hamlet?", "answer": "Shakespeare"})).unwrap(),
    ];
    let inputs = json!({"question": "What is the capital of France?"}).as_object().unwrap().clone();
    let reply = "[[ ## answer ## ]]\nParis\n\n[[ ## completed ## ]]";
    let chat = ChatAdapter::default();
    c.bench_function("chat_format_parse_2demo_qa", |b| {
        b.iter(|| {
            let msgs = chat.format(black_box(&sig), black_box(&demos), black_box(&inputs));
            let out = chat.parse(&sig, black_box(reply)).unwrap();
            black_box((msgs, out))
        })
    });
    let json_adapter = JSONAdapter::default();
    let json_reply = "{\"answer\": \"Paris\"}";
    c.bench_function("json_format_parse_2demo_qa", |b| {
        b.iter(|| {
            let msgs = json_adapter.format(black_box(&sig), black_box(&demos), black_box(&inputs));
            let out = json_adapter.parse(&sig, black_box(json_reply)).unwrap();
            black_box((msgs, out))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
