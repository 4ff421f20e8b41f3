//! Sentence embeddings: the [`Embedder`] trait.
//!
//! Retrieval, KNN demo selection and semantic metrics need vectors for text. The trait is tiny
//! so any backend fits: the in-process MiniLM in `rdspy-embedded`, an HTTP `/v1/embeddings`
//! client, or a test double.

mod openai;
pub use openai::OpenAIEmbedder;

/// Why embedding failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("embedding with {model} failed: {message}")]
pub struct EmbedError {
    /// The embedder's model name.
    pub model: String,
    /// What went wrong.
    pub message: String,
}

/// Turns texts into fixed-size vectors. Implementations return one vector per input, in order,
/// each of length [`Embedder::dim`]; normalised embedders (unit length) say so in their docs so
/// callers may use a dot product as cosine similarity.
///
/// ```
/// use rdspy::embed::{EmbedError, Embedder};
/// /// A toy embedder: (length, vowel count), for illustration only.
/// struct Counts;
/// impl Embedder for Counts {
///     fn model(&self) -> &str { "counts" }
///     fn dim(&self) -> usize { 2 }
///     fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
///         Ok(texts.iter().map(|t| vec![t.len() as f32, t.chars().filter(|c| "aeiou".contains(*c)).count() as f32]).collect())
///     }
/// }
/// assert_eq!(Counts.embed(&["hello"]).unwrap(), vec![vec![5.0, 2.0]]);
/// ```
pub trait Embedder: Send + Sync {
    /// A name for the model, e.g. `local/all-MiniLM-L6-v2`.
    fn model(&self) -> &str;
    /// The vector length.
    fn dim(&self) -> usize;
    /// Embed a batch of texts (CPU-bound: call from a blocking context in async code).
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;
}

/// Cosine similarity of two vectors (0 when either is all zeros).
///
/// ```
/// assert!((rdspy::embed::cosine(&[1.0, 0.0], &[1.0, 0.0]) - 1.0).abs() < 1e-6);
/// ```
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}
