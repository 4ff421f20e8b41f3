//! [`MiniLmEmbedder`]: all-MiniLM-L6-v2 sentence embeddings with candle's BERT, in-process.
//!
//! Matches sentence-transformers: WordPiece tokens (truncated at 256, the model's
//! `max_seq_length`), mean pooling over the attention mask, L2 normalisation — so a dot product
//! is the cosine similarity.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, DTYPE};
use rdspy::embed::{EmbedError, Embedder};
use std::path::Path;
use std::sync::Mutex;
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

/// all-MiniLM-L6-v2 (384 dimensions, unit-length vectors).
///
/// ```no_run
/// use rdspy::embed::Embedder;
/// let e = rdspy_embedded::MiniLmEmbedder::load_default().unwrap();
/// let v = e.embed(&["A man is eating food.", "A man is eating a piece of bread."]).unwrap();
/// assert!(rdspy::embed::cosine(&v[0], &v[1]) > 0.7);
/// ```
pub struct MiniLmEmbedder {
    model: BertModel,
    // `encode_batch` needs `&self` but padding settings live on the tokenizer; a Mutex keeps
    // the embedder `Sync` without cloning the tokenizer per call.
    tokenizer: Mutex<Tokenizer>,
    name: String,
}

/// Sentences per forward pass (bounds memory on long inputs).
const BATCH: usize = 32;

fn err(message: impl std::fmt::Display) -> EmbedError {
    EmbedError { model: "local/all-MiniLM-L6-v2".into(), message: message.to_string() }
}

impl MiniLmEmbedder {
    /// Load from `<models dir>/all-MiniLM-L6-v2` (see [`crate::models_dir`]).
    pub fn load_default() -> Result<MiniLmEmbedder, EmbedError> {
        MiniLmEmbedder::load(&crate::models_dir().join(crate::MINILM_DIR))
    }

    /// Load from a folder with `model.safetensors`, `config.json` and `tokenizer.json`.
    pub fn load(dir: &Path) -> Result<MiniLmEmbedder, EmbedError> {
        for f in ["model.safetensors", "config.json", "tokenizer.json"] {
            if !dir.join(f).is_file() {
                return Err(err(format!(
                    "{} is missing; run scripts/fetch-models.sh (or `rdspy models fetch`), or set RDSPY_MODELS_DIR",
                    dir.join(f).display()
                )));
            }
        }
        let cfg: Config = serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).map_err(err)?).map_err(err)?;
        // SAFETY: the weights file is memory-mapped read-only; it must not be modified while loaded
        // (fetch-models.sh replaces files by rename, which keeps the mapped inode intact).
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[dir.join("model.safetensors")], DTYPE, &Device::Cpu) }.map_err(err)?;
        let model = BertModel::load(vb, &cfg).map_err(err)?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).map_err(err)?;
        // The shipped tokenizer.json pads to a fixed 128; pad to the longest in the batch instead
        // (and mask the padding) or the pooled vectors are garbage.
        tokenizer.with_padding(Some(PaddingParams::default()));
        tokenizer.with_truncation(Some(TruncationParams { max_length: 256, ..Default::default() })).map_err(err)?;
        Ok(MiniLmEmbedder { model, tokenizer: Mutex::new(tokenizer), name: "local/all-MiniLM-L6-v2".into() })
    }

    fn embed_batch(&self, texts: &[&str]) -> candle_core::Result<Vec<Vec<f32>>> {
        let encs =
            self.tokenizer.lock().unwrap_or_else(|e| e.into_inner()).encode_batch(texts.to_vec(), true).map_err(candle_core::Error::msg)?;
        let ids = Tensor::stack(&encs.iter().map(|e| Tensor::new(e.get_ids(), &Device::Cpu)).collect::<candle_core::Result<Vec<_>>>()?, 0)?;
        let mask = Tensor::stack(
            &encs.iter().map(|e| Tensor::new(e.get_attention_mask(), &Device::Cpu)).collect::<candle_core::Result<Vec<_>>>()?,
            0,
        )?;
        let hidden = self.model.forward(&ids, &ids.zeros_like()?, Some(&mask))?;
        let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let mean = hidden.broadcast_mul(&m)?.sum(1)?.broadcast_div(&m.sum(1)?)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        mean.broadcast_div(&norm)?.to_vec2::<f32>()
    }
}

impl Embedder for MiniLmEmbedder {
    fn model(&self) -> &str {
        &self.name
    }

    fn dim(&self) -> usize {
        384
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(BATCH) {
            out.extend(self.embed_batch(chunk).map_err(err)?);
        }
        Ok(out)
    }
}
