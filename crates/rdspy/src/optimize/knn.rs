//! `KNNFewShot`: demos chosen per input by embedding similarity.

use super::{reset_copy, BootstrapFewShot, Program};
use crate::embed::{cosine, Embedder};
use crate::predict::{Module, Predict, Predictors};
use crate::{Error, Example, Prediction, Result};
use serde_json::Value;
use std::sync::Arc;

/// DSPy's `KNNFewShot(k, trainset, vectorizer, **bootstrap_args)`: for each input, the `k`
/// training examples most similar to it (cosine similarity of embeddings of
/// `"key: value | key: value"` over the input fields) become the trainset of a
/// [`BootstrapFewShot`] compile, and the program compiled for that input answers it.
#[derive(Clone)]
pub struct KNNFewShot {
    /// Neighbours per input.
    pub k: usize,
    /// The embedding model.
    pub embedder: Arc<dyn Embedder>,
    /// How each neighbourhood is compiled.
    pub bootstrap: BootstrapFewShot,
}

/// The program [`KNNFewShot::compile`] returns.
#[derive(Clone)]
pub struct KnnProgram<P> {
    student: P,
    trainset: Arc<Vec<Example>>,
    vectors: Arc<Vec<Vec<f32>>>,
    knn: KNNFewShot,
}

/// DSPy's text for an example: its input fields as `key: value` joined by ` | `.
fn text_of(ex: &Example) -> String {
    let keys = ex.input_keys().map(<[String]>::to_vec);
    ex.iter()
        .filter(|(k, _)| keys.as_ref().is_none_or(|ks| ks.contains(k)))
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}: {s}"),
            other => format!("{k}: {other}"),
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

async fn embed(embedder: &Arc<dyn Embedder>, texts: Vec<String>) -> Result<Vec<Vec<f32>>> {
    let e = embedder.clone();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        e.embed(&refs)
    })
    .await
    .map_err(|e| Error::Other(format!("embedding task failed: {e}")))?
    .map_err(|e| Error::Other(e.to_string()))
}

impl KNNFewShot {
    /// `k` neighbours, embedded with `embedder`, bootstrapped with DSPy's defaults (no metric).
    pub fn new(k: usize, embedder: Arc<dyn Embedder>) -> Self {
        KNNFewShot { k, embedder, bootstrap: BootstrapFewShot::default() }
    }

    /// Embed the trainset once and return the per-input program.
    pub async fn compile<P: Program>(&self, student: &P, trainset: &[Example]) -> Result<KnnProgram<P>> {
        let vectors = embed(&self.embedder, trainset.iter().map(text_of).collect()).await?;
        Ok(KnnProgram {
            student: reset_copy(student),
            trainset: Arc::new(trainset.to_vec()),
            vectors: Arc::new(vectors),
            knn: self.clone(),
        })
    }
}

impl<P: Program> KnnProgram<P> {
    /// The `k` training examples nearest to `inputs`, most similar first (ties keep trainset order).
    pub async fn neighbours(&self, inputs: &Example) -> Result<Vec<Example>> {
        let q = embed(&self.knn.embedder, vec![text_of(inputs)]).await?.pop().unwrap_or_default();
        let mut scored: Vec<(usize, f32)> = self.vectors.iter().enumerate().map(|(i, v)| (i, cosine(v, &q))).collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(scored.into_iter().take(self.knn.k).map(|(i, _)| self.trainset[i].clone()).collect())
    }
}

impl<P: Predictors> Predictors for KnnProgram<P> {
    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        self.student.named_predictors()
    }
    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        self.student.named_predictors_mut()
    }
}

#[async_trait::async_trait]
impl<P: Program> Module for KnnProgram<P> {
    async fn forward(&self, inputs: &Example) -> Result<Prediction> {
        let near = self.neighbours(inputs).await?;
        let compiled = self.knn.bootstrap.compile_with_teacher(&self.student, None, &near).await?;
        compiled.forward(inputs).await
    }
}
