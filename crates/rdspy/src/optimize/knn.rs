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
///
/// Compiling only embeds the trainset; the LM work (bootstrapping the neighbours through the
/// teacher, then answering) happens per input, as in DSPy.
///
/// ```
/// use rdspy::embed::{EmbedError, Embedder};
/// use rdspy::optimize::KNNFewShot;
/// use rdspy::predict::Predict;
/// use rdspy::{Example, Signature};
/// use std::sync::Arc;
///
/// /// A toy embedder: does the text mention a fruit?
/// struct Fruity;
/// impl Embedder for Fruity {
///     fn model(&self) -> &str { "fruity" }
///     fn dim(&self) -> usize { 2 }
///     fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
///         Ok(texts.iter().map(|t| if t.contains("apple") || t.contains("pear") { vec![1.0, 0.0] } else { vec![0.0, 1.0] }).collect())
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let train: Vec<Example> = [("an apple", "fruit"), ("a car", "vehicle"), ("a pear", "fruit")]
///     .iter()
///     .map(|(t, l)| Example::new().with("text", *t).with("label", *l).with_inputs(["text"]))
///     .collect();
/// let student = Predict::new(Signature::parse("text -> label").unwrap());
/// let program = KNNFewShot::new(2, Arc::new(Fruity)).compile(&student, &train).await.unwrap();
/// let query = Example::new().with("text", "a ripe apple").with_inputs(["text"]);
/// let near = program.neighbours(&query).await.unwrap();
/// assert_eq!(near.iter().map(|e| e.get_str("text").unwrap()).collect::<Vec<_>>(), ["an apple", "a pear"]);
/// # });
/// ```
#[derive(Clone)]
pub struct KNNFewShot {
    /// Neighbours per input.
    pub k: usize,
    /// The embedding model.
    pub embedder: Arc<dyn Embedder>,
    /// How each neighbourhood is compiled.
    pub bootstrap: BootstrapFewShot,
}

/// A trainset embedded for [`KNNFewShot`]: the examples, their vectors and the settings, without
/// a student. The CLI keeps one beside its program so `rdspy run/eval --program` can rebuild a
/// KNN program from a saved file.
#[derive(Clone)]
pub struct KnnIndex {
    knn: KNNFewShot,
    trainset: Arc<Vec<Example>>,
    vectors: Arc<Vec<Vec<f32>>>,
}

/// The program [`KNNFewShot::compile`] returns.
#[derive(Clone)]
pub struct KnnProgram<P> {
    student: P,
    index: KnnIndex,
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

fn embed_now(embedder: &dyn Embedder, texts: &[String]) -> Result<Vec<Vec<f32>>> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vectors = embedder.embed(&refs).map_err(|e| Error::Other(e.to_string()))?;
    if vectors.len() != texts.len() {
        return Err(Error::Other(format!("embedder {} returned {} vectors for {} texts", embedder.model(), vectors.len(), texts.len())));
    }
    Ok(vectors)
}

/// Embedding is CPU-bound (or a blocking HTTP call): keep it off the async workers.
async fn embed(embedder: &Arc<dyn Embedder>, texts: Vec<String>) -> Result<Vec<Vec<f32>>> {
    let e = embedder.clone();
    tokio::task::spawn_blocking(move || embed_now(e.as_ref(), &texts))
        .await
        .map_err(|e| Error::Other(format!("embedding task failed: {e}")))?
}

impl KNNFewShot {
    /// `k` neighbours, embedded with `embedder`, bootstrapped with DSPy's defaults (no metric).
    pub fn new(k: usize, embedder: Arc<dyn Embedder>) -> Self {
        KNNFewShot { k, embedder, bootstrap: BootstrapFewShot::default() }
    }

    /// Embed the trainset (blocking; use [`Self::index`] from async code).
    pub fn index_blocking(&self, trainset: &[Example]) -> Result<KnnIndex> {
        let texts: Vec<String> = trainset.iter().map(text_of).collect();
        let vectors = embed_now(self.embedder.as_ref(), &texts)?;
        Ok(KnnIndex { knn: self.clone(), trainset: Arc::new(trainset.to_vec()), vectors: Arc::new(vectors) })
    }

    /// An index from vectors computed earlier with the same embedder (e.g. saved with a
    /// program), so loading skips re-embedding the trainset. One vector per example.
    pub fn index_with_vectors(&self, trainset: &[Example], vectors: Vec<Vec<f32>>) -> Result<KnnIndex> {
        if vectors.len() != trainset.len() {
            return Err(Error::Other(format!("{} vectors for {} training examples", vectors.len(), trainset.len())));
        }
        Ok(KnnIndex { knn: self.clone(), trainset: Arc::new(trainset.to_vec()), vectors: Arc::new(vectors) })
    }

    /// Embed the trainset.
    pub async fn index(&self, trainset: &[Example]) -> Result<KnnIndex> {
        let vectors = embed(&self.embedder, trainset.iter().map(text_of).collect()).await?;
        Ok(KnnIndex { knn: self.clone(), trainset: Arc::new(trainset.to_vec()), vectors: Arc::new(vectors) })
    }

    /// Embed the trainset once and return the per-input program.
    pub async fn compile<P: Program>(&self, student: &P, trainset: &[Example]) -> Result<KnnProgram<P>> {
        Ok(KnnProgram { student: reset_copy(student), index: self.index(trainset).await? })
    }
}

impl KnnIndex {
    /// The settings this index was built with.
    pub fn settings(&self) -> &KNNFewShot {
        &self.knn
    }

    /// The training examples, in their original order.
    pub fn trainset(&self) -> &[Example] {
        &self.trainset
    }

    /// The embedding of each training example, in trainset order.
    pub fn vectors(&self) -> &[Vec<f32>] {
        &self.vectors
    }

    /// The `k` training examples nearest to `inputs`, most similar first (ties keep trainset order).
    pub async fn neighbours(&self, inputs: &Example) -> Result<Vec<Example>> {
        let q = embed(&self.knn.embedder, vec![text_of(inputs)]).await?.pop().unwrap_or_default();
        let mut scored: Vec<(usize, f32)> = self.vectors.iter().enumerate().map(|(i, v)| (i, cosine(v, &q))).collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(scored.into_iter().take(self.knn.k).map(|(i, _)| self.trainset[i].clone()).collect())
    }

    /// `student` compiled for `inputs`: [`BootstrapFewShot`] on its `k` nearest examples. The
    /// student's own demos are dropped first, as DSPy's `reset_copy` does.
    pub async fn compile_for<P: Program>(&self, student: &P, inputs: &Example) -> Result<P> {
        let near = self.neighbours(inputs).await?;
        self.knn.bootstrap.compile_with_teacher(&reset_copy(student), None, &near).await
    }

    /// Answer `inputs` with `student` compiled for them (see [`Self::compile_for`]).
    pub async fn forward<P: Program>(&self, student: &P, inputs: &Example) -> Result<Prediction> {
        self.compile_for(student, inputs).await?.forward(inputs).await
    }
}

impl<P: Program> KnnProgram<P> {
    /// Pair a student with an index built earlier (e.g. rebuilt from a saved program).
    pub fn from_index(student: &P, index: KnnIndex) -> Self {
        KnnProgram { student: reset_copy(student), index }
    }

    /// The embedded trainset and settings.
    pub fn index(&self) -> &KnnIndex {
        &self.index
    }

    /// The `k` training examples nearest to `inputs`, most similar first (ties keep trainset order).
    pub async fn neighbours(&self, inputs: &Example) -> Result<Vec<Example>> {
        self.index.neighbours(inputs).await
    }

    /// The program that answers `inputs`: the student bootstrapped on their neighbours (what
    /// [`Module::forward`] runs; useful to see the demos an input gets).
    pub async fn compile_for(&self, inputs: &Example) -> Result<P> {
        self.index.compile_for(&self.student, inputs).await
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
        self.index.forward(&self.student, inputs).await
    }
}
