//! Flags and helpers shared by the subcommands: inputs, demos and the LM.

use anyhow::{bail, Context, Result};
use rdspy::predict::Predict;
use rdspy::signature::TypeSpec;
use rdspy::{Example, Signature};
use serde_json::{Map, Value};
use std::path::Path;

/// `[--demos demos.jsonl] --input key=value ...`
#[derive(clap::Args, Debug, Clone)]
pub struct InputArgs {
    /// Demos as JSONL (one JSON object per line, keys = field names).
    #[arg(long)]
    pub demos: Option<std::path::PathBuf>,
    /// An input value, `key=value` (repeat per input; JSON for non-str fields).
    #[arg(long = "input", short = 'i')]
    pub inputs: Vec<String>,
}

impl InputArgs {
    /// Load the demos into `predictor` and return the parsed inputs.
    pub fn apply(&self, predictor: &mut Predict) -> Result<Map<String, Value>> {
        if let Some(path) = &self.demos {
            predictor.demos = read_demos(path)?;
        }
        parse_inputs(predictor.signature(), &self.inputs)
    }
}

/// Parse `--input key=value` pairs against the signature: text for `str` fields, JSON for others.
pub fn parse_inputs(sig: &Signature, pairs: &[String]) -> Result<Map<String, Value>> {
    let names = sig.input_names().join(", ");
    let mut out = Map::new();
    for pair in pairs {
        let Some((key, raw)) = pair.split_once('=') else {
            bail!("--input {pair:?}: expected key=value, e.g. --input question=\"What is 2+2?\"");
        };
        let Some(field) = sig.input_fields().find(|f| f.name == key) else {
            bail!("--input {key}: the signature has no input `{key}` (its inputs are: {names})");
        };
        let value = if field.ty == TypeSpec::Str {
            Value::String(raw.to_string())
        } else {
            let v: Value = serde_json::from_str(raw).with_context(|| {
                format!(
                    "--input {key}: expected a JSON value of type {} (e.g. {}), got {raw:?}",
                    rdspy::adapter::pyfmt::type_name(&field.ty),
                    example_of(&field.ty)
                )
            })?;
            rdspy::adapter::validate(&v, &field.ty).map_err(|e| anyhow::anyhow!("--input {key}: {e}"))?
        };
        out.insert(key.to_string(), value);
    }
    let missing: Vec<&str> =
        sig.input_fields().filter(|f| !out.contains_key(&f.name) && !f.is_optional()).map(|f| f.name.as_str()).collect();
    if !missing.is_empty() {
        bail!("missing --input for {} (the signature's inputs are: {names})", missing.join(", "));
    }
    Ok(out)
}

fn example_of(ty: &TypeSpec) -> &'static str {
    match ty {
        TypeSpec::Int => "42",
        TypeSpec::Float => "0.5",
        TypeSpec::Bool => "true",
        TypeSpec::List(_) => r#"["a", "b"]"#,
        TypeSpec::Dict(..) | TypeSpec::Object { .. } => r#"{"key": "value"}"#,
        _ => r#""text""#,
    }
}

/// Read demos from a JSONL file (one JSON object per line).
pub fn read_demos(path: &Path) -> Result<Vec<Example>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read demos file {}", path.display()))?;
    let mut demos = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line).with_context(|| format!("{}:{}: not valid JSON", path.display(), i + 1))?;
        if !v.is_object() {
            bail!("{}:{}: a demo must be a JSON object, got {}", path.display(), i + 1, v);
        }
        demos.push(Example::from_json(v)?);
    }
    Ok(demos)
}

/// `--lm MODEL [--api-base URL] [--no-cache] [--temperature T] [--max-tokens N]`
#[derive(clap::Args, Debug, Clone)]
pub struct LmArgs {
    /// The model, as DSPy writes it: openai/gpt-4o-mini, openai/<name> with --api-base,
    /// ollama_chat/<name>, hosted_vllm/<name>, local/smollm2-135m (embedded).
    #[arg(long, env = "RDSPY_LM")]
    pub lm: String,
    /// The server URL of an OpenAI-compatible API (…/v1).
    #[arg(long, env = "RDSPY_API_BASE")]
    pub api_base: Option<String>,
    /// Skip the response cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Sampling temperature.
    #[arg(long)]
    pub temperature: Option<f64>,
    /// Maximum completion tokens.
    #[arg(long)]
    pub max_tokens: Option<u32>,
}

impl LmArgs {
    /// The layered LM these flags describe.
    pub fn build(&self) -> Result<rdspy::lm::SharedLM> {
        let mut b = rdspy::lm::LmBuilder::new(self.lm.as_str()).cache(!self.no_cache);
        if let Some(u) = &self.api_base {
            b = b.api_base(u.as_str());
        }
        if let Some(t) = self.temperature {
            b = b.temperature(t);
        }
        if let Some(m) = self.max_tokens {
            b = b.max_tokens(m);
        }
        Ok(b.build()?)
    }
}
