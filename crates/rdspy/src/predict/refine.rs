//! `Refine`: BestOfN where the LM reads what went wrong before each new attempt.

use super::best_of_n::{at_rollout, start_rollout, Best, Reward};
use super::{Module, Predict, Predictors};
use crate::adapter::pyfmt::{json_dumps, py_str, type_name};
use crate::adapter::{Adapter, ChatAdapter, Message, ParseError};
use crate::signature::{cleandoc, Field, TypeSpec};
use crate::trace::{self, Trace};
use crate::{settings, Example, Prediction, Result, Signature};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// DSPy's `OfferFeedback` signature, field for field and word for word (including DSPy's
/// missing space in "kind ofscenario"), so the feedback prompt is the one Python DSPy sends.
///
/// ```
/// let sig = rdspy::predict::offer_feedback_signature();
/// assert_eq!(sig.output_names(), ["discussion", "advice"]);
/// ```
pub fn offer_feedback_signature() -> Signature {
    const SPEC: &str = "program_code: str, modules_defn: str, program_inputs: str, program_trajectory: str, \
        program_outputs: str, reward_code: str, target_threshold: float, reward_value: float, module_names: list[str] \
        -> discussion: str, advice: dict[str, str]";
    const INSTRUCTIONS: &str = "
    In the discussion, assign blame to each module that contributed to the final reward being below the threshold, if
    any. Then, prescribe concrete advice of how the module should act on its future input when we retry the process, if
    it were to receive the same or similar inputs. If a module is not to blame, the advice should be N/A.
    The module will not see its own history, so it needs to rely on entirely concrete and actionable advice from you
    to avoid the same mistake on the same or similar inputs.
    ";
    let descs = [
        ("program_code", "The code of the program that we are analyzing"),
        ("modules_defn", "The definition of each module in the program, including its I/O"),
        ("program_inputs", "The inputs to the program that we are analyzing"),
        ("program_trajectory", "The trajectory of the program's execution, showing each module's I/O"),
        ("program_outputs", "The outputs of the program that we are analyzing"),
        ("reward_code", "The code of the reward function that we are analyzing"),
        ("target_threshold", "The target threshold for the reward function"),
        ("reward_value", "The reward value assigned to the program's outputs"),
        ("module_names", "The names of the modules in the program, for which we seek advice"),
        ("discussion", "Discussing blame of where each module went wrong, if it did"),
        (
            "advice",
            "For each module, describe very concretely, in this order: the specific scenarios in which it has made \
             mistakes in the past and what each mistake was, followed by what it should do differently in that kind of\
             scenario in the future. If the module is not to blame, write N/A.",
        ),
    ];
    let mut sig = Signature::parse(SPEC).expect("OfferFeedback is a valid signature").with_instructions(cleandoc(INSTRUCTIONS));
    for (name, desc) in descs {
        sig = sig.with_updated_field(name, |f| f.desc = desc.into());
    }
    sig
}

/// DSPy's `Refine(module, N, reward_fn, threshold, fail_count)`: like [`super::BestOfN`], but
/// when an attempt scores below `threshold`, an `OfferFeedback` predictor reads the program's
/// code, its modules, the attempt's trajectory and the reward, and writes advice per predictor.
/// The next attempt shows each predictor its advice as an extra input, `hint_` ("A hint to the
/// module from an earlier run"), through a wrapping adapter, exactly as Python DSPy does.
///
/// Python shows the LM the program's and the reward's source code. Rust has no source at run
/// time: give it with [`Refine::with_program_code`] and [`crate::reward!`] (or
/// [`Reward::with_code`]); by default the program is described by its type name.
///
/// The feedback call uses the module's LM (its first predictor's, else the configured one), at
/// its default temperature, and is itself traced by history but not by the program trace.
/// Since ChatAdapter's JSON fallback builds a plain JSONAdapter, a retried attempt whose reply
/// needs that fallback is parsed without the hint (the prompt it answered did have it).
///
/// ```
/// use rdspy::predict::{Predict, Predictors, Refine};
/// use rdspy::Signature;
/// let qa = Predict::new(Signature::parse("question -> answer").unwrap());
/// let refine = Refine::new(qa, 3, rdspy::reward!(|_a: &rdspy::Example, p: &rdspy::Prediction| {
///     p.get_str("answer").map_or(0.0, |a| a.parse::<f64>().is_ok() as u8 as f64)
/// }), 1.0);
/// assert_eq!(refine.named_predictors()[0].0, "module");
/// ```
#[derive(Debug, Clone)]
pub struct Refine<M> {
    /// The module refined.
    pub module: M,
    /// Maximum number of attempts (DSPy's `N`).
    pub n: usize,
    /// Scores an attempt.
    pub reward_fn: Reward,
    /// An attempt scoring at least this is returned at once.
    pub threshold: f64,
    /// Failed attempts tolerated before the error is returned.
    pub fail_count: usize,
    /// What the feedback prompt shows as `program_code`.
    pub program_code: String,
}

impl<M: Module + Clone> Refine<M> {
    /// DSPy's defaults: `fail_count = n`.
    pub fn new(module: M, n: usize, reward_fn: impl Into<Reward>, threshold: f64) -> Refine<M> {
        let program_code = format!("{} (a Rust module; its source was not provided)", std::any::type_name::<M>());
        Refine { module, n, reward_fn: reward_fn.into(), threshold, fail_count: n, program_code }
    }

    /// With another failure budget (0 means `n`, as in DSPy).
    pub fn with_fail_count(mut self, fail_count: usize) -> Refine<M> {
        self.fail_count = if fail_count == 0 { self.n } else { fail_count };
        self
    }

    /// With the program source the feedback LM reads (e.g. `include_str!("program.rs")`).
    pub fn with_program_code(mut self, code: impl Into<String>) -> Refine<M> {
        self.program_code = code.into();
        self
    }

    /// Ask the LM for advice per predictor after a low-scoring attempt (DSPy's `advise_kwargs`).
    async fn advise(&self, module: &M, inputs: &Example, steps: &Trace, outputs: &Prediction, reward: f64) -> Result<Map<String, Value>> {
        let names: HashMap<u64, String> = module.named_predictors().into_iter().map(|(n, p)| (p.id(), n)).collect();
        let trajectory: Vec<Value> = steps
            .iter()
            .map(|s| {
                let name = names.get(&s.predictor_id).cloned().unwrap_or_default();
                json!({"module_name": name, "inputs": s.inputs.to_json(), "outputs": s.outputs.to_json()})
            })
            .collect();
        let module_names: Vec<Value> = module.named_predictors().into_iter().map(|(n, _)| Value::from(n)).collect();
        let dump = |v: &Value| json_dumps(v, Some(2));
        let args = Example::new()
            .with("program_code", self.program_code.clone())
            .with("modules_defn", inspect_modules(module))
            .with("program_inputs", dump(&inputs.to_json()))
            .with("program_trajectory", dump(&Value::Array(trajectory)))
            .with("program_outputs", dump(&outputs.to_json()))
            .with("reward_code", self.reward_fn.code())
            .with("target_threshold", dump(&json!(self.threshold)))
            .with("reward_value", dump(&json!(reward)))
            .with("module_names", dump(&Value::Array(module_names)));
        let mut feedback = Predict::new(offer_feedback_signature());
        feedback.lm = module.named_predictors().first().and_then(|(_, p)| p.lm.clone());
        // Kept out of the caller's trace: the feedback predictor is not part of the program,
        // so an optimizer must not try to make demos of it.
        let (pred, _) = trace::with_trace(feedback.forward(&args)).await;
        let pred = pred?;
        Ok(match pred.get("advice") {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        })
    }
}

/// DSPy's `inspect_modules`: each predictor's name, fields and instructions, between rules.
pub fn inspect_modules(program: &impl Predictors) -> String {
    let rule = "-".repeat(80);
    let mut out = vec![rule.clone()];
    let indented = |text: &str| text.lines().map(|l| format!("\n\t\t{l}")).collect::<String>();
    for (name, p) in program.named_predictors() {
        let sig = p.signature();
        out.push(format!("Module {name}"));
        out.push("\tInput Fields:".into());
        out.push(indented(&field_descriptions(sig.input_fields())).trim_matches('\n').to_string());
        out.push("\tOutput Fields:".into());
        out.push(indented(&field_descriptions(sig.output_fields())).trim_matches('\n').to_string());
        out.push(format!("\tOriginal Instructions: {}", indented(&dedent(sig.instructions()))).trim_matches('\n').to_string());
        out.push(rule.clone());
    }
    out.join("\n")
}

/// DSPy's `get_field_description_string`: ``1. `name` (type): desc`` lines.
fn field_descriptions<'a>(fields: impl Iterator<Item = &'a Field>) -> String {
    let lines: Vec<String> =
        fields.enumerate().map(|(i, f)| format!("{}. `{}` ({}): {}", i + 1, f.name, type_name(&f.ty), f.visible_desc())).collect();
    lines.join("\n").trim().to_string()
}

/// Python's `textwrap.dedent`: drop the common leading whitespace of the non-blank lines.
fn dedent(text: &str) -> String {
    let margin =
        text.lines().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start_matches([' ', '\t']).len()).min().unwrap_or(0);
    text.lines().map(|l| if l.trim().is_empty() { "" } else { l.get(margin..).unwrap_or(l) }).collect::<Vec<_>>().join("\n")
}

/// Adds the `hint_` input to every prompt of one predictor (DSPy's `WrapperAdapter`).
#[derive(Debug)]
struct HintAdapter {
    inner: Arc<dyn Adapter>,
    hint: String,
}

impl HintAdapter {
    fn signature(signature: &Signature) -> Signature {
        let hint = Field::input("hint_", TypeSpec::Str).with_desc("A hint to the module from an earlier run");
        signature.append(hint).unwrap_or_else(|_| signature.clone())
    }
}

impl Adapter for HintAdapter {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn format(&self, signature: &Signature, demos: &[Example], inputs: &Map<String, Value>) -> Vec<Message> {
        let mut inputs = inputs.clone();
        inputs.insert("hint_".into(), Value::from(self.hint.clone()));
        self.inner.format(&Self::signature(signature), demos, &inputs)
    }
    fn parse(&self, signature: &Signature, completion: &str) -> Result<Map<String, Value>, ParseError> {
        self.inner.parse(signature, completion)
    }
    fn response_format(&self, signature: &Signature) -> Option<Value> {
        self.inner.response_format(&Self::signature(signature))
    }
}

/// `module` with each predictor shown its advice (or "N/A") as `hint_`.
fn with_hints<M: Module + Clone>(module: &M, advice: &Map<String, Value>) -> M {
    let mut m = module.clone();
    let default = settings::current().adapter;
    for (name, p) in m.named_predictors_mut() {
        let inner = p.adapter.clone().or_else(|| default.clone()).unwrap_or_else(|| Arc::new(ChatAdapter::default()));
        let hint = advice.get(&name).map(py_str).unwrap_or_else(|| "N/A".into());
        p.adapter = Some(Arc::new(HintAdapter { inner, hint }));
    }
    m
}

impl<M: Predictors> Predictors for Refine<M> {
    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        self.module.named_predictors().into_iter().map(|(n, p)| (super::join_name("module", &n), p)).collect()
    }
    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        self.module.named_predictors_mut().into_iter().map(|(n, p)| (super::join_name("module", &n), p)).collect()
    }
}

#[async_trait::async_trait]
impl<M: Module + Clone> Module for Refine<M> {
    async fn forward(&self, inputs: &Example) -> Result<Prediction> {
        let start = start_rollout(&self.module);
        let mut best = Best::default();
        let mut advice: Option<Map<String, Value>> = None;
        for attempt in 0..self.n {
            let rid = start + attempt as u64;
            let module = at_rollout(&self.module, rid);
            let module = match &advice {
                Some(a) if !a.is_empty() => with_hints(&module, a),
                _ => module,
            };
            let outcome = async {
                let (result, steps) = trace::with_trace(module.forward(inputs)).await;
                let pred = result?;
                let reward = self.reward_fn.score(inputs, &pred);
                tracing::debug!(attempt = attempt + 1, rollout_id = rid, reward, "Refine attempt");
                best.offer(reward, &pred, &steps);
                if reward >= self.threshold || attempt + 1 == self.n {
                    return Ok(true);
                }
                advice = Some(self.advise(&module, inputs, &steps, &pred, reward).await?);
                Ok::<bool, crate::Error>(false)
            }
            .await;
            match outcome {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => best.fail("Refine", attempt, rid, e, self.fail_count)?,
            }
        }
        best.finish("Refine", self.n)
    }
}
