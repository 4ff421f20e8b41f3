//! Token counts with a GGUF model's own tokenizer, for `rdspy inspect --tokens`.
//!
//! Only the vocabulary is loaded (llama.cpp's `vocab_only`), so counting costs a fraction of a
//! second and no weights' memory, and it never touches the worker that serves generations.

use crate::engine::backend;
use crate::models::resolve_model;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use rdspy::adapter::Message;
use rdspy::lm::LmError;

/// How many tokens each message's content takes, and the whole prompt as the model sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptTokens {
    /// Tokens of each message's content alone, in order.
    pub parts: Vec<usize>,
    /// Tokens of the full prompt after the model's chat template (what a call is billed for):
    /// more than the sum of `parts` by the template's role markers.
    pub total: usize,
}

/// Count the tokens of `messages` with the tokenizer and chat template of `model`
/// (`local/smollm2-135m`, `local/qwen2.5-0.5b` or `local/<path>.gguf`).
///
/// ```no_run
/// use rdspy::adapter::Message;
/// let msgs = vec![Message::system("Answer briefly."), Message::user("What is 2+2?")];
/// let counts = rdspy_embedded::count_prompt_tokens("local/smollm2-135m", &msgs).unwrap();
/// assert!(counts.total > counts.parts.iter().sum::<usize>());
/// ```
pub fn count_prompt_tokens(model: &str, messages: &[Message]) -> Result<PromptTokens, LmError> {
    let path = resolve_model(model).map_err(LmError::Config)?;
    let backend = backend().map_err(LmError::Config)?;
    let params = LlamaModelParams::default().with_vocab_only(true);
    let lm = LlamaModel::load_from_file(backend, &path, &params)
        .map_err(|e| LmError::Config(format!("{model}: cannot read the tokenizer of {}: {e}", path.display())))?;
    let count = |text: &str| lm.vocab().tokenize(text.as_bytes(), false, false).len();
    let parts = messages.iter().map(|m| count(&m.content)).collect();
    let template = lm
        .chat_template(None)
        .or_else(|_| LlamaChatTemplate::new("chatml"))
        .map_err(|e| LmError::Config(format!("{model}: no chat template: {e}")))?;
    let chat = messages
        .iter()
        .map(|m| LlamaChatMessage::new(m.role.clone(), m.content.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| LmError::Config(format!("{model}: a message cannot be templated: {e}")))?;
    let prompt =
        lm.apply_chat_template(&template, &chat, true).map_err(|e| LmError::Config(format!("{model}: chat template failed: {e}")))?;
    let total = lm.vocab().tokenize(prompt.as_bytes(), true, true).len();
    Ok(PromptTokens { parts, total })
}
