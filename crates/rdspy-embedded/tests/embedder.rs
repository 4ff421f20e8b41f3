//! all-MiniLM-L6-v2 through candle against reference vectors recorded by
//! `fixtures/record_minilm.py` (an independent numpy forward pass that reproduces the model card).
#![cfg(feature = "embeddings")]

use rdspy::embed::{cosine, Embedder};
use rdspy_embedded::MiniLmEmbedder;

fn embedder() -> Option<MiniLmEmbedder> {
    let dir = rdspy_embedded::models_dir().join(rdspy_embedded::MINILM_DIR);
    if !dir.join("model.safetensors").is_file() {
        if std::env::var_os("RDSPY_REQUIRE_MODELS").is_some() {
            panic!("RDSPY_REQUIRE_MODELS is set but {} is missing", dir.display());
        }
        eprintln!("SKIPPED: {} missing; run scripts/fetch-models.sh", dir.display());
        return None;
    }
    Some(MiniLmEmbedder::load(&dir).expect("load MiniLM"))
}

#[test]
fn matches_reference_vectors_in_one_batch_and_one_by_one() {
    let Some(e) = embedder() else { return };
    let fixture: serde_json::Value = serde_json::from_str(include_str!("fixtures/minilm_reference.json")).unwrap();
    let rows = fixture["vectors"].as_array().unwrap();
    let sentences: Vec<&str> = rows.iter().map(|r| r["sentence"].as_str().unwrap()).collect();
    let expected: Vec<Vec<f32>> =
        rows.iter().map(|r| r["embedding"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()).collect();
    // Batched: sentences of different lengths share padded tensors, so the mask must be honoured.
    let batch = e.embed(&sentences).unwrap();
    assert_eq!(batch.len(), sentences.len());
    for (i, (got, want)) in batch.iter().zip(&expected).enumerate() {
        assert_eq!(got.len(), e.dim());
        let c = cosine(got, want);
        assert!(c >= 0.999, "sentence {i} ({:?}): cosine {c}", sentences[i]);
        let norm: f32 = got.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "unit length: {norm}");
    }
    let single = e.embed(&[sentences[3]]).unwrap();
    assert!(cosine(&single[0], &expected[3]) >= 0.999);
    // Related sentences are close, unrelated ones are not (the model card's pair).
    assert!(cosine(&batch[1], &batch[2]) > 0.7);
    assert!(cosine(&batch[1], &batch[3]).abs() < 0.2);
}
