//! `Predict`: one LM call for one signature.

use super::{Module, Predictors};
use crate::adapter::{Adapter, ChatAdapter, JSONAdapter, Message, ParseError};
use crate::lm::{LmRequest, LmResponse, SharedLM};
use crate::{settings, trace, Error, Example, Prediction, Result, Signature};
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Per-predictor LM parameters (DSPy's `Predict(sig, **config)`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LmConfig {
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Maximum completion tokens.
    pub max_tokens: Option<u32>,
    /// Number of completions; with `n > 1` and no temperature above 0.15, DSPy uses 0.7.
    pub n: Option<u32>,
    /// Stop strings.
    pub stop: Vec<String>,
    /// Sampling seed.
    pub seed: Option<u64>,
    /// DSPy's `rollout_id` (a distinct cache entry for the same prompt).
    pub rollout_id: Option<u64>,
    /// Other provider parameters.
    pub extra: Map<String, Value>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The basic module: formats the signature, demos and inputs through an adapter, calls the LM
/// and parses the reply.
///
/// Settings resolve innermost first: the predictor's own LM/adapter, then
/// [`crate::settings::context`], then [`crate::settings::configure`]. The adapter defaults to
/// `ChatAdapter`, which falls back to `JSONAdapter` once when a reply cannot be parsed (as in
/// DSPy 3.4).
///
/// ```
/// use rdspy::predict::Predict;
/// use rdspy::{Example, Signature};
/// let p = Predict::new(Signature::parse("question -> answer").unwrap());
/// let msgs = p.preview(Example::new().with("question", "2+2?").as_map());
/// assert!(msgs[1].content.starts_with("[[ ## question ## ]]\n2+2?"));
/// ```
#[derive(Clone)]
pub struct Predict {
    signature: Signature,
    /// Few-shot demonstrations (what optimizers set).
    pub demos: Vec<Example>,
    /// This predictor's LM (else the one in the settings).
    pub lm: Option<SharedLM>,
    /// This predictor's adapter (else the one in the settings, else `ChatAdapter`).
    pub adapter: Option<Arc<dyn Adapter>>,
    /// LM parameters.
    pub config: LmConfig,
    id: u64,
}

impl std::fmt::Debug for Predict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Predict")
            .field("signature", &self.signature.spec())
            .field("demos", &self.demos.len())
            .field("lm", &self.lm.as_ref().map(|l| l.model().to_string()))
            .field("config", &self.config)
            .finish()
    }
}

impl Predict {
    /// A predictor for `signature`.
    pub fn new(signature: Signature) -> Predict {
        Predict {
            signature,
            demos: Vec::new(),
            lm: None,
            adapter: None,
            config: LmConfig::default(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// A predictor for a `#[derive(Signature)]` struct.
    pub fn typed<S: crate::TypedSignature>() -> Predict {
        Predict::new(S::signature())
    }

    /// The signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Replace the signature (optimizers change instructions this way).
    pub fn set_signature(&mut self, signature: Signature) {
        self.signature = signature;
    }

    /// A stable identity, shared by clones (traces use it to find the predictor's name).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// With demos.
    pub fn with_demos(mut self, demos: Vec<Example>) -> Predict {
        self.demos = demos;
        self
    }

    /// With its own LM.
    pub fn with_lm(mut self, lm: SharedLM) -> Predict {
        self.lm = Some(lm);
        self
    }

    /// With its own adapter.
    pub fn with_adapter(mut self, adapter: impl Adapter + 'static) -> Predict {
        self.adapter = Some(Arc::new(adapter));
        self
    }

    /// With LM parameters.
    pub fn with_config(mut self, config: LmConfig) -> Predict {
        self.config = config;
        self
    }

    fn resolve_adapter(&self) -> Arc<dyn Adapter> {
        self.adapter.clone().or_else(|| settings::current().adapter).unwrap_or_else(|| Arc::new(ChatAdapter::default()))
    }

    /// The exact messages this predictor would send for `inputs`, without calling an LM.
    pub fn preview(&self, inputs: &Map<String, Value>) -> Vec<Message> {
        self.resolve_adapter().format(&self.signature, &self.demos, inputs)
    }

    fn request(&self, adapter: &dyn Adapter, messages: Vec<Message>) -> LmRequest {
        let c = &self.config;
        let mut temperature = c.temperature;
        if c.n.unwrap_or(1) > 1 && temperature.is_none_or(|t| t <= 0.15) {
            temperature = Some(0.7); // DSPy: several samples need some temperature
        }
        LmRequest {
            messages: Arc::new(messages),
            temperature,
            max_tokens: c.max_tokens,
            n: c.n,
            stop: c.stop.clone(),
            seed: c.seed,
            response_format: adapter.response_format(&self.signature),
            rollout_id: c.rollout_id,
            extra: c.extra.clone(),
        }
    }

    async fn call(
        &self,
        lm: &SharedLM,
        adapter: &dyn Adapter,
        inputs: &Map<String, Value>,
    ) -> Result<(Vec<Map<String, Value>>, LmResponse)> {
        let messages = adapter.format(&self.signature, &self.demos, inputs);
        let response = lm.call(self.request(adapter, messages)).await?;
        if response.choices.is_empty() {
            return Err(Error::Other(format!("{} returned no choices", lm.model())));
        }
        let mut outputs = Vec::with_capacity(response.choices.len());
        for choice in &response.choices {
            // Native function calls (the request offered `tools`) come beside the text, under
            // `tool_calls`. As in DSPy, a reply that is only calls is valid: its text outputs
            // are then None.
            let calls = (!choice.tool_calls.is_empty()).then(|| tool_calls_value(&choice.tool_calls));
            let only_calls = || {
                let mut o: Map<String, Value> = self.signature.output_fields().map(|f| (f.name.clone(), Value::Null)).collect();
                o.insert("tool_calls".into(), calls.clone().unwrap_or_default());
                o
            };
            if choice.text.trim().is_empty() {
                if calls.is_some() {
                    outputs.push(only_calls());
                    continue;
                }
                let mut e = ParseError::new(adapter.name(), &self.signature, &choice.text);
                e.message = Some("The LM returned an empty or null response.".into());
                return Err(truncation_or(e, choice.finish_reason.as_deref()));
            }
            match adapter.parse(&self.signature, &choice.text) {
                Ok(mut o) => {
                    if let Some(c) = &calls {
                        o.insert("tool_calls".into(), c.clone());
                    }
                    outputs.push(o)
                }
                Err(_) if calls.is_some() => outputs.push(only_calls()),
                Err(e) => return Err(truncation_or(e, choice.finish_reason.as_deref())),
            }
        }
        Ok((outputs, response))
    }

    /// Run on a map of inputs.
    pub async fn forward_map(&self, inputs: &Map<String, Value>) -> Result<Prediction> {
        let missing: Vec<&str> =
            self.signature.input_fields().filter(|f| !inputs.contains_key(&f.name) && !f.is_optional()).map(|f| f.name.as_str()).collect();
        if !missing.is_empty() {
            return Err(Error::InvalidInput(format!(
                "missing input field(s) {} for signature `{}`",
                missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "),
                self.signature.spec()
            )));
        }
        let lm = self.lm.clone().or_else(|| settings::current().lm).ok_or(Error::NoLm)?;
        let adapter = self.resolve_adapter();
        let (outputs, response) = match self.call(&lm, adapter.as_ref(), inputs).await {
            Err(Error::Parse(e)) if adapter.name() == "ChatAdapter" => {
                tracing::debug!(error = %e, "ChatAdapter could not parse the reply; retrying with JSONAdapter");
                self.call(&lm, &JSONAdapter::default(), inputs).await?
            }
            other => other?,
        };
        let mut prediction = Prediction::from_completions(outputs);
        prediction.usage = response.usage;
        prediction.usage.calls = prediction.usage.calls.max(1);
        trace::add_usage(lm.model(), prediction.usage);
        if trace::is_active() {
            let recorded_inputs: Map<String, Value> =
                self.signature.input_fields().filter_map(|f| inputs.get(&f.name).map(|v| (f.name.clone(), v.clone()))).collect();
            trace::record(trace::TraceStep {
                predictor_id: self.id,
                inputs: Example::from_map(recorded_inputs),
                outputs: prediction.clone(),
                usage: prediction.usage,
            });
        }
        Ok(prediction)
    }
}

/// DSPy's `ToolCalls` value: `[{"name": .., "args": {..}}]` (with the provider's `id` when given).
fn tool_calls_value(calls: &[crate::lm::ToolCall]) -> Value {
    Value::Array(calls.iter().map(|c| serde_json::to_value(c).unwrap_or(Value::Null)).collect())
}

/// A parse failure on a reply cut off by `max_tokens` is reported as truncation.
fn truncation_or(e: ParseError, finish_reason: Option<&str>) -> Error {
    if finish_reason == Some("length") {
        Error::Other(format!(
            "the LM's reply was cut off by max_tokens before all output fields were written ({}); raise max_tokens for this predictor",
            e.to_string().lines().next().unwrap_or_default()
        ))
    } else {
        Error::Parse(e)
    }
}

impl Predictors for Predict {
    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        vec![("self".to_string(), self)]
    }
    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        vec![("self".to_string(), self)]
    }
}

#[async_trait::async_trait]
impl Module for Predict {
    async fn forward(&self, inputs: &Example) -> Result<Prediction> {
        self.forward_map(inputs.as_map()).await
    }
}
