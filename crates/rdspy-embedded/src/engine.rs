//! The worker thread that owns a llama.cpp model and context.
//!
//! `LlamaContext` borrows the model and is not `Send`, so one thread owns both and serves
//! jobs from a channel; callers wait on a oneshot reply. With two cores there is nothing to
//! gain from parallel contexts, and one context lets consecutive prompts share their KV prefix.

use crate::forced::ChatPlan;
use crate::grammar::{chat_segments, grammar_for, render};
use crate::picker::Picker;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use rdspy::lm::{Choice, LmError, LmRequest, Usage};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

/// DSPy's ChatAdapter ends every reply with this marker; nothing after it is ever parsed.
pub(crate) const COMPLETED_MARKER: &str = "[[ ## completed ## ]]";

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Context size; clamped to the model's training context. Default 4096.
    pub n_ctx: u32,
    /// CPU threads for prompt and generation. Default: `RDSPY_LLAMA_THREADS` if set, else the CPUs
    /// this process may use, at most 8 (llama.cpp's own default is 4; more threads than free
    /// cores makes ggml's spinning workers slower, not faster, so lower it when several model
    /// processes share a machine).
    pub n_threads: i32,
    /// Reuse the KV cache of the longest common token prefix with the previous prompt.
    pub prefix_reuse: bool,
    /// `max_tokens` for requests that set none.
    pub default_max_tokens: u32,
    /// Under the ChatAdapter grammar, feed the text the grammar forces (field headers, the
    /// completed marker) as a checked batch instead of decoding it token by token, and append
    /// the trailing marker without decoding it. The text is the same either way; off only to
    /// compare. Default on.
    pub forced_text: bool,
    /// Greedy decoding under a grammar asks the grammar about the unconstrained best token
    /// first and checks the whole vocabulary only when that token is rejected (see
    /// `picker.rs`). Picks the same tokens; off only to compare. Default on, or off when
    /// `RDSPY_GRAMMAR_SHORTCUT=0` (to time the difference through the CLI or `serve-model`).
    pub grammar_shortcut: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            n_ctx: 4096,
            n_threads: default_threads(),
            prefix_reuse: true,
            default_max_tokens: 512,
            forced_text: true,
            grammar_shortcut: !matches!(std::env::var("RDSPY_GRAMMAR_SHORTCUT").as_deref().map(str::trim), Ok("0")),
        }
    }
}

/// `RDSPY_LLAMA_THREADS` when it is a positive number, else the available parallelism capped at 8.
fn default_threads() -> i32 {
    match std::env::var("RDSPY_LLAMA_THREADS").ok().and_then(|v| v.trim().parse::<i32>().ok()) {
        Some(n) if n > 0 => n,
        _ => std::thread::available_parallelism().map_or(2, |n| n.get().min(8) as i32),
    }
}

/// What the last call cost, for benchmarks and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CallStats {
    /// Prompt tokens.
    pub prompt_tokens: usize,
    /// Prompt tokens whose KV came from the previous call (not evaluated again).
    pub reused_tokens: usize,
    /// Generated tokens (all choices).
    pub completion_tokens: usize,
    /// Of those, tokens of grammar-forced text that needed no single-token forward pass (fed
    /// as a checked batch, or appended at the end).
    pub forced_tokens: usize,
    /// Time spent evaluating prompt tokens.
    pub prompt_time: Duration,
    /// Time spent generating.
    pub generation_time: Duration,
}

pub(crate) struct Output {
    pub choices: Vec<Choice>,
    pub usage: Usage,
    pub stats: CallStats,
}

pub(crate) struct Job {
    pub request: LmRequest,
    pub reply: tokio::sync::oneshot::Sender<Result<Output, LmError>>,
}

/// Facts about the loaded model, sent back once loading succeeds.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub n_ctx: u32,
}

/// llama.cpp's backend may be initialised once per process.
pub(crate) fn backend() -> Result<&'static LlamaBackend, String> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            let mut b = LlamaBackend::init().map_err(|e| format!("llama.cpp backend init failed: {e}"))?;
            b.void_logs();
            Ok(b)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Start a worker for `path`; returns once the model is loaded (or failed to load).
pub(crate) fn spawn(model: String, path: PathBuf, opts: EngineOptions) -> Result<(mpsc::Sender<Job>, Loaded), LmError> {
    let (tx, rx) = mpsc::channel::<Job>();
    let (ready_tx, ready_rx) = mpsc::channel::<Result<Loaded, LmError>>();
    std::thread::Builder::new()
        .name(format!("rdspy-llama:{model}"))
        .spawn(move || {
            let backend = match backend() {
                Ok(b) => b,
                Err(e) => return drop(ready_tx.send(Err(LmError::Config(e)))),
            };
            let lm = match LlamaModel::load_from_file(backend, &path, &LlamaModelParams::default()) {
                Ok(m) => m,
                Err(e) => {
                    let msg = format!("{model}: cannot load {}: {e} (is it a GGUF file?)", path.display());
                    return drop(ready_tx.send(Err(LmError::Config(msg))));
                }
            };
            let n_ctx = opts.n_ctx.min(lm.n_ctx_train()).max(64);
            let params = LlamaContextParams::default()
                .with_n_ctx(NonZeroU32::new(n_ctx))
                .with_n_batch(BATCH)
                .with_n_ubatch(BATCH)
                .with_n_threads(opts.n_threads)
                .with_n_threads_batch(opts.n_threads);
            let ctx = match lm.new_context(backend, params) {
                Ok(c) => c,
                Err(e) => return drop(ready_tx.send(Err(LmError::Config(format!("{model}: cannot create a context: {e}"))))),
            };
            let template = lm.chat_template(None).or_else(|_| LlamaChatTemplate::new("chatml"));
            let template = match template {
                Ok(t) => t,
                Err(e) => return drop(ready_tx.send(Err(LmError::Config(format!("{model}: no chat template: {e}"))))),
            };
            let mut worker = Worker { model, lm: &lm, ctx, template, opts, n_ctx: n_ctx as usize, cached: Vec::new() };
            if ready_tx.send(Ok(Loaded { n_ctx })).is_err() {
                return;
            }
            while let Ok(job) = rx.recv() {
                let result = worker.run(&job.request);
                let _ = job.reply.send(result);
            }
        })
        .map_err(|e| LmError::Other(format!("cannot start the llama.cpp worker thread: {e}")))?;
    let loaded = ready_rx.recv().map_err(|_| LmError::Other("the llama.cpp worker thread stopped while loading".into()))??;
    Ok((tx, loaded))
}

/// Tokens per `decode` call (and the batch capacity).
pub(crate) const BATCH: u32 = 512;

pub(crate) struct Worker<'m> {
    model: String,
    pub(crate) lm: &'m LlamaModel,
    pub(crate) ctx: LlamaContext<'m>,
    template: LlamaChatTemplate,
    opts: EngineOptions,
    pub(crate) n_ctx: usize,
    /// The tokens whose KV entries are in sequence 0, in order.
    pub(crate) cached: Vec<LlamaToken>,
}

impl Worker<'_> {
    pub(crate) fn err(&self, msg: impl std::fmt::Display) -> LmError {
        LmError::Other(format!("{}: {msg}", self.model))
    }

    fn run(&mut self, req: &LmRequest) -> Result<Output, LmError> {
        let chat = req
            .messages
            .iter()
            .map(|m| LlamaChatMessage::new(m.role.clone(), m.content.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| LmError::InvalidRequest { model: self.model.clone(), status: 400, message: format!("bad message: {e}") })?;
        let prompt =
            self.lm.apply_chat_template(&self.template, &chat, true).map_err(|e| self.err(format!("chat template failed: {e}")))?;
        let tokens = self.lm.vocab().tokenize(prompt.as_bytes(), true, true);
        if tokens.is_empty() {
            return Err(self.err("the prompt is empty"));
        }
        if tokens.len() >= self.n_ctx {
            return Err(LmError::ContextWindowExceeded {
                model: self.model.clone(),
                message: format!(
                    "the prompt is {} tokens but the context holds {} (shorten the prompt: fewer demos or shorter inputs)",
                    tokens.len(),
                    self.n_ctx
                ),
            });
        }
        let grammar = grammar_for(req.response_format.as_ref()).map_err(|message| LmError::InvalidRequest {
            model: self.model.clone(),
            status: 400,
            message,
        })?;
        // `tool_choice: "required"`: the reply must end with a call of an offered tool.
        let grammar = grammar.or_else(|| crate::tools::required_call_grammar(req));
        // DSPy's ChatAdapter structure as a grammar (on by default for ChatAdapter prompts; a
        // 135M model ignores the format zero-shot otherwise). `extra.rdspy_chat_grammar = false` turns it off.
        let mut plan = None;
        let grammar = match grammar {
            Some(g) => Some(g),
            None if req.extra.get("rdspy_chat_grammar").and_then(|v| v.as_bool()).unwrap_or(true) => {
                req.messages.iter().rev().find(|m| m.role == "user").and_then(|m| {
                    // A DSPy JSONAdapter prompt sent without response_format (Python DSPy does this
                    // for providers it does not know): constrain to a JSON object.
                    if m.content.contains("Respond with a JSON object in the following order of fields") {
                        Some(crate::grammar::JSON_OBJECT_GBNF.to_string())
                    } else {
                        let segs = chat_segments(&m.content)?;
                        let g = render(&segs);
                        plan = self.opts.forced_text.then(|| ChatPlan::new(segs));
                        Some(g)
                    }
                })
            }
            None => None,
        };
        let greedy = req.temperature.is_none_or(|t| t <= 0.0);
        let base_seed = req.seed.unwrap_or_else(|| if greedy { 0 } else { rand::random() });
        let max_tokens = req.max_tokens.unwrap_or(self.opts.default_max_tokens) as usize;
        let mut stops: Vec<(String, bool)> = req.stop.iter().filter(|s| !s.is_empty()).map(|s| (s.clone(), false)).collect();
        let asks_completed = req.messages.iter().any(|m| m.content.contains(COMPLETED_MARKER));
        let stop_at_completed = req.extra.get("rdspy_stop_at_completed").and_then(|v| v.as_bool()).unwrap_or(asks_completed);
        if stop_at_completed {
            stops.push((COMPLETED_MARKER.to_string(), true)); // kept in the text: it is part of the format
        }

        let mut stats = CallStats { prompt_tokens: tokens.len(), ..Default::default() };
        let mut choices = Vec::new();
        for i in 0..req.n.unwrap_or(1).max(1) {
            let temperature = req.temperature.unwrap_or(0.0) as f32;
            let sampler = self.sampler(grammar.as_deref(), greedy, temperature, base_seed.wrapping_add(u64::from(i)))?;
            let t0 = Instant::now();
            let reused = self.prefill(&tokens)?;
            if i == 0 {
                stats.reused_tokens = reused;
            }
            stats.prompt_time += t0.elapsed();
            let t1 = Instant::now();
            let (choice, n, forced) = self.generate(sampler, plan.as_ref(), tokens.len(), max_tokens, &stops)?;
            stats.generation_time += t1.elapsed();
            stats.completion_tokens += n;
            stats.forced_tokens += forced;
            choices.push(choice);
        }
        tracing::debug!(
            prompt_tokens = stats.prompt_tokens,
            reused_tokens = stats.reused_tokens,
            completion_tokens = stats.completion_tokens,
            forced_tokens = stats.forced_tokens,
            prompt_ms = stats.prompt_time.as_millis() as u64,
            generation_ms = stats.generation_time.as_millis() as u64,
            "embedded call"
        );
        let usage = Usage {
            prompt_tokens: tokens.len() as u64,
            completion_tokens: stats.completion_tokens as u64,
            total_tokens: (tokens.len() + stats.completion_tokens) as u64,
            cost: 0.0,
            calls: 1,
            cached_calls: 0,
        };
        Ok(Output { choices, usage, stats })
    }

    fn sampler(&self, grammar: Option<&str>, greedy: bool, temperature: f32, seed: u64) -> Result<Picker, LmError> {
        let grammar = grammar
            .map(|g| LlamaSampler::grammar(self.lm, g, "root").map_err(|e| self.err(format!("grammar rejected by llama.cpp: {e}"))))
            .transpose()?;
        let grammar = match (grammar, greedy && self.opts.grammar_shortcut) {
            (Some(grammar), true) => return Ok(Picker::GreedyGrammar { grammar, eog: self.lm.vocab().eos() }),
            (grammar, _) => grammar,
        };
        let mut chain: Vec<LlamaSampler> = grammar.into_iter().collect();
        if greedy {
            chain.push(LlamaSampler::greedy());
        } else {
            chain.push(LlamaSampler::top_p(0.95, 1));
            chain.push(LlamaSampler::temp(temperature));
            chain.push(LlamaSampler::dist(seed as u32));
        }
        Ok(Picker::Chain(LlamaSampler::chain_simple(chain)))
    }

    /// Make the KV cache hold exactly `tokens` with logits for the last one; returns how many
    /// tokens were reused from the previous call.
    fn prefill(&mut self, tokens: &[LlamaToken]) -> Result<usize, LmError> {
        let mut common = if self.opts.prefix_reuse { self.cached.iter().zip(tokens).take_while(|(a, b)| a == b).count() } else { 0 };
        if common == tokens.len() {
            common -= 1; // decode at least one token so there are fresh logits to sample from
        }
        if common == 0 {
            self.ctx.clear_kv_cache();
        } else {
            self.ctx.clear_kv_cache_seq(Some(0), Some(common as u32), None).map_err(|e| self.err(e))?;
        }
        self.cached.truncate(common);
        let mut batch = LlamaBatch::new(BATCH as usize, 1);
        let rest = &tokens[common..];
        for (c, chunk) in rest.chunks(BATCH as usize).enumerate() {
            batch.clear();
            let start = common + c * BATCH as usize;
            for (j, t) in chunk.iter().enumerate() {
                let pos = start + j;
                batch.add(*t, pos as i32, &[0], pos == tokens.len() - 1).map_err(|e| self.err(e))?;
            }
            if let Err(e) = self.ctx.decode(&mut batch) {
                self.ctx.clear_kv_cache();
                self.cached.clear();
                return Err(self.err(format!("prompt evaluation failed: {e}")));
            }
            self.cached.extend_from_slice(chunk);
        }
        Ok(common)
    }
}
