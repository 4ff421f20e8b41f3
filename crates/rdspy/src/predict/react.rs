//! `ReAct`: an agent that alternates reasoning and tool calls, then extracts the answer.

use super::{ChainOfThought, Module, Predict, Predictors};
use crate::adapter::pyfmt::push_field_value;
use crate::lm::{LmError, Usage};
use crate::signature::{Field, TypeSpec};
use crate::tool::Tool;
use crate::{Error, Example, Prediction, Result, Signature};
use serde_json::{Map, Value};

/// DSPy's `ReAct(signature, tools, max_iters=20)`.
///
/// Each turn the `react` predictor sees the inputs and the trajectory so far and writes
/// `next_thought`, `next_tool_name` (one of the tools or `finish`) and `next_tool_args`; the
/// tool runs and its result is appended as the observation. After `finish` (or `max_iters`
/// turns) the `extract` step, a [`ChainOfThought`] over the inputs and the trajectory, writes
/// the signature's outputs. The prompts are byte-identical to DSPy 3.4.1's and the predictors
/// are named `react` and `extract.predict`, so a program optimized or saved on either side
/// loads on the other.
///
/// Two cases end a trajectory early instead of failing the call: the prompt no longer fits
/// the context window even after dropping the oldest turns (up to 3 tries, as DSPy), and a
/// turn whose reply cannot be parsed (for instance a tool name that does not exist). DSPy
/// 3.4.1 means to do the latter too (its `except ValueError` branch) but its parse error is no
/// longer a `ValueError`, so there the whole call fails; we keep the intended behaviour, which
/// lets small models that slip once still produce an answer.
///
/// A tool's error is shown to the LM as `Execution error in <tool>: <error>`; DSPy appends a
/// Python traceback there, which has no Rust equivalent.
///
/// ```
/// use rdspy::predict::{Predictors, ReAct};
/// use rdspy::tool::Tool;
/// use rdspy::Signature;
///
/// #[derive(serde::Deserialize, rdspy::SignatureType)]
/// struct Expr { expression: String }
///
/// let calc = Tool::new("calculator", |e: Expr| async move { Ok::<_, String>(e.expression.len()) })
///     .desc("Evaluate an arithmetic expression.");
/// let agent = ReAct::new(Signature::parse("question -> answer: float").unwrap(), vec![calc]);
/// let names: Vec<String> = agent.named_predictors().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["react", "extract.predict"]);
/// assert_eq!(agent.max_iters, 20);
/// assert!(agent.react.signature().instructions().contains("(2) finish, whose description is"));
/// ```
#[derive(Debug, Clone)]
pub struct ReAct {
    signature: Signature,
    /// Maximum number of tool calls (DSPy's default is 20). An input named `max_iters`
    /// overrides it for one call, as in DSPy.
    pub max_iters: usize,
    tools: Vec<Tool>,
    /// Tools are called natively (see [`ReAct::with_native_function_calling`]).
    pub native_function_calling: bool,
    /// Picks the next thought, tool and arguments.
    pub react: Predict,
    /// Writes the outputs from the trajectory.
    pub extract: ChainOfThought,
}

impl ReAct {
    /// An agent for `signature` with `tools` (a `finish` tool is added last).
    pub fn new(signature: Signature, tools: Vec<Tool>) -> ReAct {
        let quoted = |names: Vec<&str>| names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
        let outputs = quoted(signature.output_names());

        // Tools by name as a Python dict would hold them: a repeated name keeps its first slot.
        let mut by_name: Vec<Tool> = Vec::with_capacity(tools.len() + 1);
        let finish = Tool::constant(
            "finish",
            format!("Marks the task as complete. That is, signals that all information for producing the outputs, i.e. {outputs}, are now available to be extracted."),
            "Completed.",
        );
        for t in tools.into_iter().chain(std::iter::once(finish)) {
            match by_name.iter_mut().find(|x| x.name() == t.name()) {
                Some(slot) => *slot = t,
                None => by_name.push(t),
            }
        }

        let react_sig = react_signature(&signature, &by_name, false);

        let mut fields: Vec<Field> = signature.fields().to_vec();
        fields.push(Field::input("trajectory", TypeSpec::Str));
        let extract_sig = Signature::new(fields, None)
            .expect("`trajectory` is a valid field name not used by the signature")
            .with_instructions_exact(signature.instructions());

        ReAct {
            signature,
            max_iters: 20,
            tools: by_name,
            native_function_calling: false,
            react: Predict::new(react_sig),
            extract: ChainOfThought::new(extract_sig),
        }
    }

    /// Call tools through the LM's native function calling (the OpenAI `tools` parameter)
    /// instead of DSPy's text fields `next_tool_name` and `next_tool_args`.
    ///
    /// The `react` predictor then writes only `next_thought` as text, and the tools (with
    /// `finish`) go to the LM as function schemas (DSPy's `format_as_litellm_function_call`),
    /// so a model trained for function calling fills in arguments against their JSON schema
    /// instead of copying it from the instructions. The request says `tool_choice: "required"`
    /// (each turn calls a tool, `finish` included). The first call of each reply is run; a reply
    /// that calls no tool ends the trajectory. The trajectory, the `extract` step and the
    /// predictor names are unchanged. Python DSPy's `ReAct` has no such mode (its experimental
    /// `ReActV2` does this with a `History`), so a program saved in this mode carries a `react`
    /// signature Python's `ReAct` would not build.
    ///
    /// ```
    /// use rdspy::predict::ReAct;
    /// use rdspy::tool::Tool;
    /// use rdspy::Signature;
    ///
    /// #[derive(serde::Deserialize, rdspy::SignatureType)]
    /// struct Expr { expression: String }
    ///
    /// let calc = Tool::new("calculator", |e: Expr| async move { Ok::<_, String>(e.expression.len()) });
    /// let agent = ReAct::new(Signature::parse("question -> answer").unwrap(), vec![calc]).with_native_function_calling();
    /// assert_eq!(agent.react.signature().output_names(), ["next_thought"]);
    /// let tools = agent.react.config.extra["tools"].as_array().unwrap();
    /// assert_eq!(tools[0]["function"]["name"], "calculator");
    /// assert_eq!(tools[1]["function"]["name"], "finish");
    /// assert_eq!(agent.react.config.extra["tool_choice"], "required");
    /// ```
    pub fn with_native_function_calling(mut self) -> ReAct {
        self.react.set_signature(react_signature(&self.signature, &self.tools, true));
        self.react.config.extra.insert("tools".into(), Value::Array(self.tools.iter().map(Tool::function_schema).collect()));
        // Every turn calls a tool (`finish` included), so the LM must call one.
        self.react.config.extra.insert("tool_choice".into(), Value::String("required".into()));
        self.native_function_calling = true;
        self
    }

    /// For a `#[derive(Signature)]` struct.
    pub fn typed<S: crate::TypedSignature>(tools: Vec<Tool>) -> ReAct {
        ReAct::new(S::signature(), tools)
    }

    /// With another iteration limit.
    pub fn with_max_iters(mut self, max_iters: usize) -> ReAct {
        self.max_iters = max_iters;
        self
    }

    /// The original signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The tools, `finish` included, in the order the instructions list them.
    pub fn tools(&self) -> &[Tool] {
        &self.tools
    }

    /// The trajectory as the LM reads it: a `[[ ## key ## ]]` section per entry, formatted as
    /// DSPy's adapters format input fields (every adapter rdspy has formats user content the
    /// same way, so the configured adapter does not matter here).
    ///
    /// ```
    /// use rdspy::predict::ReAct;
    /// let t = serde_json::json!({"thought_0": "add", "tool_name_0": "add", "tool_args_0": {"a": 1}, "observation_0": 2});
    /// assert_eq!(
    ///     ReAct::format_trajectory(t.as_object().unwrap()),
    ///     "[[ ## thought_0 ## ]]\nadd\n\n[[ ## tool_name_0 ## ]]\nadd\n\n[[ ## tool_args_0 ## ]]\n{\"a\": 1}\n\n[[ ## observation_0 ## ]]\n2"
    /// );
    /// ```
    pub fn format_trajectory(trajectory: &Map<String, Value>) -> String {
        // DSPy formats it as the user turn of `Signature("thought_0, ... -> x")`: every entry a
        // `str` field (so a list observation is written `[1] «a»`), sections joined by blank lines.
        let mut out = String::new();
        for (k, v) in trajectory {
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str("[[ ## ");
            out.push_str(k);
            out.push_str(" ## ]]\n");
            push_field_value(&Field::input(k.as_str(), TypeSpec::Str), v, &mut out);
        }
        out.trim().to_string()
    }

    /// Drop the oldest tool call (its four entries) so the prompt fits again. Fails, as DSPy
    /// does, when only one call is left.
    pub fn truncate_trajectory(trajectory: &mut Map<String, Value>, model: &str) -> Result<()> {
        if trajectory.len() <= 4 {
            return Err(Error::Lm(LmError::ContextWindowExceeded {
                model: model.to_string(),
                message: "The trajectory is too long so your prompt exceeded the context window, but the trajectory cannot be truncated because it only has one tool call.".into(),
            }));
        }
        let oldest: Vec<String> = trajectory.keys().take(4).cloned().collect();
        for k in oldest {
            trajectory.shift_remove(&k);
        }
        Ok(())
    }

    /// Run `predict` on the inputs plus the formatted trajectory; on a context-window overflow
    /// drop the oldest call and retry, at most 3 attempts in all.
    async fn call_with_truncation(
        &self,
        predict: &Predict,
        inputs: &Map<String, Value>,
        trajectory: &mut Map<String, Value>,
    ) -> Result<Prediction> {
        let mut last = String::new();
        for _ in 0..3 {
            let mut args = inputs.clone();
            args.insert("trajectory".into(), Value::String(ReAct::format_trajectory(trajectory)));
            match predict.forward_map(&args).await {
                Err(Error::Lm(LmError::ContextWindowExceeded { model, message })) => {
                    tracing::warn!("Trajectory exceeded the context window, truncating the oldest tool call information.");
                    last = message;
                    ReAct::truncate_trajectory(trajectory, &model)?;
                }
                other => return other,
            }
        }
        Err(Error::Lm(LmError::ContextWindowExceeded {
            model: predict.lm.as_ref().map(|l| l.model().to_string()).unwrap_or_default(),
            message: format!("The context window was exceeded even after 3 attempts to truncate the trajectory (last: {last})."),
        }))
    }

    async fn run_tool(&self, name: &str, args: &Value) -> Value {
        let Some(tool) = self.tools.iter().find(|t| t.name() == name) else {
            return Value::String(format!("Execution error in {name}: there is no tool named `{name}`"));
        };
        let empty = Map::new();
        let args = args.as_object().unwrap_or(&empty);
        match tool.call(args).await {
            Ok(v) => v,
            Err(e) => Value::String(format!("Execution error in {name}: {e}")),
        }
    }
}

impl Predictors for ReAct {
    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        vec![("react".to_string(), &self.react), ("extract.predict".to_string(), &self.extract.predict)]
    }
    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        vec![("react".to_string(), &mut self.react), ("extract.predict".to_string(), &mut self.extract.predict)]
    }
}

#[async_trait::async_trait]
impl Module for ReAct {
    /// Returns the extract step's outputs (`reasoning` and the signature's outputs) after a
    /// `trajectory` entry holding every thought, tool call and observation, as DSPy does.
    async fn forward(&self, inputs: &Example) -> Result<Prediction> {
        let mut inputs = inputs.as_map().clone();
        let max_iters = match inputs.shift_remove("max_iters") {
            Some(v) => v
                .as_u64()
                .map(|n| n as usize)
                .ok_or_else(|| Error::InvalidInput(format!("ReAct: `max_iters` must be a non-negative integer, got {v}")))?,
            None => self.max_iters,
        };
        let mut trajectory = Map::new();
        let mut usage = Usage::default();
        for idx in 0..max_iters {
            let pred = match self.call_with_truncation(&self.react, &inputs, &mut trajectory).await {
                Ok(p) => p,
                Err(Error::Lm(e @ LmError::ContextWindowExceeded { .. })) => {
                    tracing::warn!("Ending the trajectory: {e}");
                    break;
                }
                Err(Error::Parse(e)) => {
                    tracing::warn!("Ending the trajectory: Agent failed to select a valid tool: {e}");
                    break;
                }
                Err(e) => return Err(e),
            };
            usage += pred.usage;
            let thought = pred.get("next_thought").cloned().unwrap_or(Value::Null);
            let (name, args) = if self.native_function_calling {
                let first = pred.get("tool_calls").and_then(Value::as_array).and_then(|calls| calls.first());
                let Some(call) = first else {
                    tracing::warn!("Ending the trajectory: the LM called no tool");
                    trajectory.insert(format!("thought_{idx}"), thought);
                    break;
                };
                (
                    call["name"].as_str().unwrap_or_default().to_string(),
                    call.get("args").cloned().unwrap_or_else(|| Value::Object(Map::new())),
                )
            } else {
                (
                    pred.get_str("next_tool_name").unwrap_or_default().to_string(),
                    pred.get("next_tool_args").cloned().unwrap_or_else(|| Value::Object(Map::new())),
                )
            };
            trajectory.insert(format!("thought_{idx}"), thought);
            trajectory.insert(format!("tool_name_{idx}"), Value::String(name.clone()));
            trajectory.insert(format!("tool_args_{idx}"), args.clone());
            let observation = self.run_tool(&name, &args).await;
            trajectory.insert(format!("observation_{idx}"), observation);
            if name == "finish" {
                break;
            }
        }
        let extract = self.call_with_truncation(&self.extract.predict, &inputs, &mut trajectory).await?;
        usage += extract.usage;
        let mut out = Map::new();
        out.insert("trajectory".into(), Value::Object(trajectory));
        out.extend(extract.as_map().iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut prediction = Prediction::from_map(out);
        prediction.usage = usage;
        Ok(prediction)
    }
}

/// The `react` predictor's signature: DSPy's instructions and fields, or (native function
/// calling) `next_thought` only, with instructions that say the tools are functions to call.
fn react_signature(signature: &Signature, tools: &[Tool], native: bool) -> Signature {
    let quoted = |names: Vec<&str>| names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    let inputs = quoted(signature.input_names());
    let outputs = quoted(signature.output_names());
    let mut instr = Vec::new();
    if !signature.instructions().is_empty() {
        instr.push(format!("{}\n", signature.instructions()));
    }
    instr.push(format!(
        "You are an Agent. In each episode, you will be given the fields {inputs} as input. And you can see your past trajectory so far."
    ));
    instr.push(format!(
        "Your goal is to use one or more of the supplied tools to collect any necessary information for producing {outputs}.\n"
    ));
    if native {
        instr.push("To do this, in each turn you will write next_thought and call one of the supplied tools, also when finishing the task (call `finish`).".into());
    } else {
        instr.push("To do this, you will interleave next_thought, next_tool_name, and next_tool_args in each turn, and also when finishing the task.".into());
    }
    instr.push("After each tool call, you receive a resulting observation, which gets appended to your trajectory.\n".into());
    instr.push("When writing next_thought, you may reason about the current situation and plan for future steps.".into());
    if native {
        instr.push("The tool you call must be one of:\n".into());
    } else {
        instr.push("When selecting the next_tool_name and its next_tool_args, the tool must be one of:\n".into());
    }
    for (i, t) in tools.iter().enumerate() {
        if native {
            // The arguments' schemas go to the LM as function definitions; repeating them here
            // invites a small model to copy a schema as the arguments.
            instr.push(format!("({}) {}, whose description is <desc>{}</desc>.", i + 1, t.name(), t.description()));
        } else {
            instr.push(format!("({}) {t}", i + 1));
        }
    }
    if !native {
        instr.push("When providing `next_tool_args`, the value inside the field must be in JSON format".into());
    }
    let mut fields: Vec<Field> = signature.input_fields().cloned().collect();
    fields.push(Field::input("trajectory", TypeSpec::Str));
    fields.push(Field::output("next_thought", TypeSpec::Str));
    if !native {
        fields.push(Field::output("next_tool_name", TypeSpec::literal(tools.iter().map(|t| t.name().to_string()))));
        fields.push(Field::output("next_tool_args", TypeSpec::dict(TypeSpec::Str, TypeSpec::Any)));
    }
    Signature::new(fields, Some(&instr.join("\n"))).expect("ReAct's fields are valid names distinct from the inputs")
}
