//! KNNFewShot with the real embedder (all-MiniLM-L6-v2) and the real model (SmolLM2-135M): each
//! input gets the training examples closest in meaning, and those are the demos its answer is
//! generated with.
#![cfg(feature = "embeddings")]

mod common;

use rdspy::embed::{cosine, Embedder};
use rdspy::evaluate::answer_exact_match;
use rdspy::optimize::{BootstrapFewShot, KNNFewShot};
use rdspy::predict::{Module, Predict};
use rdspy::Example;
use std::sync::Arc;

fn embedder() -> Option<Arc<dyn Embedder>> {
    let e = rdspy_embedded::default_embedder();
    if e.is_none() && std::env::var_os("RDSPY_REQUIRE_MODELS").is_some() {
        panic!("RDSPY_REQUIRE_MODELS is set but all-MiniLM-L6-v2 is missing");
    }
    if e.is_none() {
        eprintln!("SKIPPED: all-MiniLM-L6-v2 missing; run scripts/fetch-models.sh");
    }
    e
}

/// The first 8 SST-2 training rows: different enough in meaning to tell apart.
fn train() -> Vec<Example> {
    common::sst2("train", 8)
        .into_iter()
        .map(|(s, l)| Example::new().with("sentence", s).with("sentiment", l).with_inputs(["sentence"]))
        .collect()
}

fn query(s: &str) -> Example {
    Example::new().with("sentence", s).with_inputs(["sentence"])
}

fn sentences(xs: &[Example]) -> Vec<String> {
    xs.iter().map(|e| e.get_str("sentence").unwrap().to_string()).collect()
}

#[tokio::test]
async fn neighbours_are_the_semantically_nearest_training_examples() {
    let Some(e) = embedder() else { return };
    let train = train();
    let student = Predict::new(common::sentiment_signature());
    let program = KNNFewShot::new(3, e.clone()).compile(&student, &train).await.unwrap();
    // Paraphrases with few shared words: the nearest row must be found by meaning.
    let cases = [
        ("it has no humour at all , just tired , laboured jokes", "contains no wit , only labored gags"),
        (
            "the film cherishes its people and says something lovely about humanity",
            "that loves its characters and communicates something rather beautiful about human nature",
        ),
        (
            "the man who made patriot games can still direct an intimate little picture that packs a punch",
            "demonstrates that the director of such hollywood blockbusters as patriot games can still turn out a small , personal film with an emotional wallop .",
        ),
        ("the most hackneyed nerd-revenge tropes imaginable", "on the worst revenge-of-the-nerds clichés the filmmakers could dredge up"),
    ];
    for (q, want) in cases {
        let near = sentences(&program.neighbours(&query(q)).await.unwrap());
        assert_eq!(near.len(), 3);
        assert_eq!(near[0], want, "nearest to {q:?}: {near:?}");
        // The ranking is DSPy's: cosine of "sentence: <text>" embeddings, most similar first.
        let texts: Vec<String> = std::iter::once(format!("sentence: {q}"))
            .chain(train.iter().map(|t| format!("sentence: {}", t.get_str("sentence").unwrap())))
            .collect();
        let v = e.embed(&texts.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
        let mut ranked: Vec<(f32, String)> =
            v[1..].iter().zip(&train).map(|(t, ex)| (cosine(&v[0], t), ex.get_str("sentence").unwrap().to_string())).collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        assert_eq!(near, ranked.iter().take(3).map(|r| r.1.clone()).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn each_input_is_answered_with_its_neighbours_as_demos() {
    let Some(e) = embedder() else { return };
    if common::model().is_none() {
        return;
    }
    rdspy_embedded::register();
    // Built by name: the usual layers, including the history the prompt is read back from.
    let lm = rdspy::lm::LmBuilder::new("local/smollm2-135m").cache(false).build().unwrap();
    let student = Predict::new(common::sentiment_signature()).with_lm(lm);
    let train = train();
    let knn = KNNFewShot {
        k: 3,
        embedder: e,
        bootstrap: BootstrapFewShot { metric: Some(Arc::new(answer_exact_match().field("sentiment"))), ..BootstrapFewShot::default() },
    };
    let program = knn.compile(&student, &train).await.unwrap();
    let q = query("it has no humour at all , just tired , laboured jokes");
    let near = sentences(&program.neighbours(&q).await.unwrap());

    // The per-input program: its demos are exactly the 3 neighbours (bootstrapped where the
    // teacher got them right, labeled otherwise).
    let compiled = program.compile_for(&q).await.unwrap();
    let mut demo_sentences = sentences(&compiled.demos);
    let mut want = near.clone();
    demo_sentences.sort();
    want.sort();
    assert_eq!(demo_sentences, want, "demos {:?}", compiled.demos);
    for d in compiled.demos.iter().filter(|d| d.get("augmented").is_some()) {
        let gold = train.iter().find(|t| t.get_str("sentence") == d.get_str("sentence")).unwrap();
        assert_eq!(d.get_str("sentiment"), gold.get_str("sentiment"), "only traces that passed the metric: {d:?}");
    }

    // forward() answers with a prompt that shows those neighbours and no other training row.
    let out = program.forward(&q).await.unwrap();
    assert!(matches!(out.get_str("sentiment"), Some("positive" | "negative")), "{out:?}");
    let last = rdspy::lm::global_history().last(1).pop().expect("the answer call is in the history");
    let prompt: String = last.messages.iter().map(|m| m.content.as_str()).collect::<Vec<_>>().join("\n");
    assert!(prompt.contains(q.get_str("sentence").unwrap()), "the last call answers the query");
    for t in &train {
        let s = t.get_str("sentence").unwrap();
        assert_eq!(prompt.contains(s), near.iter().any(|n| n == s), "{s:?} in the answering prompt iff it is a neighbour");
    }
}

/// Python DSPy's own `KNN` (what its KNNFewShot retrieves with), fed the same MiniLM vectors
/// through serve-model's /v1/embeddings, picks the same neighbours in the same order as rdspy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_neighbours_as_python_dspy_knn() {
    let Some(e) = embedder() else { return };
    let Some(lm) = common::model() else { return };
    let Some(py) = common::dspy_python() else { return };
    let cfg = rdspy_embedded::server::ServerConfig {
        lm: Arc::new(lm),
        model_name: "smollm2".into(),
        embedder: Some(e.clone()),
        api_key: Some("sk-knn".into()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(rdspy_embedded::server::serve(listener, cfg));

    let train = train();
    let rows: Vec<serde_json::Value> = train.iter().map(Example::to_json).collect();
    let queries: Vec<String> = [
        "it has no humour at all , just tired , laboured jokes",
        "the film cherishes its people and says something lovely about humanity",
        "the most hackneyed nerd-revenge tropes imaginable",
    ]
    .into_iter()
    .map(str::to_string)
    .chain(common::sst2("dev", 5).into_iter().map(|(s, _)| s))
    .collect();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/knn_neighbours.py");
    let (rows_json, queries_json) = (serde_json::to_string(&rows).unwrap(), serde_json::to_string(&queries).unwrap());
    let out = common::run_python(&py, script, &[&base, "sk-knn", "3", &rows_json, &queries_json], "knn").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}:\n{}\n{stdout}", py.display(), String::from_utf8_lossy(&out.stderr));
    let python: Vec<Vec<String>> = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();

    let program = KNNFewShot::new(3, e).compile(&Predict::new(common::sentiment_signature()), &train).await.unwrap();
    for (q, want) in queries.iter().zip(&python) {
        let got = sentences(&program.neighbours(&query(q)).await.unwrap());
        assert_eq!(&got, want, "neighbours of {q:?}: rdspy vs Python DSPy");
    }
}
