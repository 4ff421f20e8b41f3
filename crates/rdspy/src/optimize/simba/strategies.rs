//! SIMBA's two ways to build a new program from a bucket of runs on one example (best first):
//! add the best run as demos, or have an LM write a rule from the best and worst runs.
//!
//! The rule-writing prompt is DSPy's `OfferFeedback` signature, text for text, so the same LM
//! writes the same kind of advice through rdspy as through DSPy. One difference: DSPy shows the
//! program's Python source (`inspect.getsource`) as `program_code`; a Rust program has no source
//! at run time, so rdspy shows its type and each predictor's signature instead.

use crate::adapter::pyfmt::type_name;
use crate::lm::SharedLM;
use crate::optimize::traced::Rollout;
use crate::optimize::{BudgetMeter, Checkpoint, Program};
use crate::predict::Predict;
use crate::signature::{Field, Signature};
use crate::{Error, Example, Result};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// What a strategy needs besides the bucket and the program it changes.
pub(crate) struct Context<'a> {
    /// Predictor id → name.
    pub names: &'a HashMap<u64, String>,
    /// 10th and 90th percentile of the step's run scores.
    pub batch_10p: f64,
    pub batch_90p: f64,
    /// The LM that writes rules.
    pub prompt_model: Option<SharedLM>,
    pub checkpoint: Option<&'a Arc<Checkpoint>>,
    pub meter: Option<&'a Arc<BudgetMeter>>,
}

/// Add the best run's steps as demos (the last step per predictor), unless the best run is no
/// better than the batch's 10th percentile. Returns whether anything was added.
pub(crate) fn append_a_demo<P: Program>(bucket: &[&Rollout], program: &mut P, ctx: &Context<'_>, maxlen: usize) -> bool {
    let good = bucket[0];
    if good.score <= ctx.batch_10p {
        tracing::info!(score = good.score, "SIMBA: not adding a demo, the best run is at or below the 10th percentile");
        return false;
    }
    let mut per: HashMap<&str, Example> = HashMap::new();
    for step in &good.trace {
        let Some(name) = ctx.names.get(&step.predictor_id) else { continue };
        let mut demo = Example::new().with("augmented", true);
        for (k, v) in step.inputs.iter() {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if maxlen > 0 && text.chars().count() > maxlen {
                let cut: String = text.chars().take(maxlen).collect();
                demo.set(k.clone(), format!("{cut}\n\t\t... <TRUNCATED FOR BREVITY>"));
            } else {
                demo.set(k.clone(), v.clone());
            }
        }
        for (k, v) in step.outputs.as_map() {
            demo.set(k.clone(), v.clone());
        }
        per.insert(name.as_str(), demo);
    }
    let added = per.len();
    for (name, pred) in program.named_predictors_mut() {
        if let Some(d) = per.remove(name.as_str()) {
            pred.demos.push(d);
        }
    }
    tracing::info!(added, "SIMBA: added demos (one per predictor)");
    added > 0
}

/// A run as the OfferFeedback prompt shows it.
struct Shown {
    trajectory: Value,
    outputs: Value,
    score: Value,
}

fn shown(r: &Rollout, names: &HashMap<u64, String>) -> Shown {
    let trajectory: Vec<Value> = r
        .trace
        .iter()
        .filter_map(|s| {
            names.get(&s.predictor_id).map(|n| json!({"module_name": n, "inputs": s.inputs.to_json(), "outputs": s.outputs.to_json()}))
        })
        .collect();
    Shown {
        trajectory: Value::Array(trajectory),
        outputs: r.prediction.as_ref().map(|p| p.to_json()).unwrap_or_else(|| json!({})),
        score: json!(r.score),
    }
}

fn not_available() -> Shown {
    Shown { trajectory: json!([]), outputs: json!({"N/A": "Prediction not available"}), score: json!("N/A") }
}

/// Have `prompt_model` contrast the best and worst runs and append its per-module advice to
/// each predictor's instructions. Skipped (Ok(false)) when the best run is at or below the
/// batch's 10th percentile or the worst at or above its 90th.
pub(crate) async fn append_a_rule<P: Program>(bucket: &[&Rollout], example: &Example, program: &mut P, ctx: &Context<'_>) -> Result<bool> {
    let (good, bad) = (bucket[0], bucket[bucket.len() - 1]);
    if good.score <= ctx.batch_10p || bad.score >= ctx.batch_90p {
        tracing::info!(good = good.score, bad = bad.score, "SIMBA: not writing a rule, the runs are not far enough apart");
        return Ok(false);
    }
    let (mut better, mut worse) = (shown(good, ctx.names), shown(bad, ctx.names));
    if good.score <= bad.score {
        if good.score > ctx.batch_90p {
            worse = not_available();
        } else {
            better = not_available();
        }
    }
    if good.prediction.is_none() && better.score != json!("N/A") {
        return Err(Error::Other("the better run has no prediction".into()));
    }
    let module_names: Vec<String> = program.named_predictors().into_iter().map(|(n, _)| n).collect();
    let dump = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => dump(other),
    };
    let inputs = Example::from_pairs([
        ("program_code", Value::String(program_code(program))),
        ("modules_defn", Value::String(inspect_modules(program))),
        ("program_inputs", Value::String(dump(&example.inputs().to_json()))),
        ("oracle_metadata", Value::String(dump(&example.labels().to_json()))),
        ("worse_program_trajectory", Value::String(dump(&worse.trajectory))),
        ("worse_program_outputs", Value::String(dump(&worse.outputs))),
        ("worse_reward_value", Value::String(text(&worse.score))),
        ("worse_reward_info", Value::String("{}".into())),
        ("better_program_trajectory", Value::String(dump(&better.trajectory))),
        ("better_program_outputs", Value::String(dump(&better.outputs))),
        ("better_reward_value", Value::String(text(&better.score))),
        ("better_reward_info", Value::String("{}".into())),
        ("module_names", Value::String(dump(&json!(module_names)))),
    ]);
    let model = ctx.prompt_model.clone().ok_or(Error::NoLm)?;
    let model_name = model.model().to_string();
    let advice =
        crate::optimize::traced::recorded(ctx.checkpoint, ctx.meter, "simba-rule", &[inputs.to_json(), json!(model_name)], async {
            let predict = Predict::new(offer_feedback()).with_lm(model);
            let out = predict.forward_map(inputs.as_map()).await?;
            Ok(out.get("module_advice").cloned().unwrap_or(Value::Null))
        })
        .await?;
    let Value::Object(advice) = advice else {
        return Err(Error::Other(format!("OfferFeedback returned no module_advice dictionary (got {advice})")));
    };
    for (name, pred) in program.named_predictors_mut() {
        if let Some(a) = advice.get(&name) {
            let a = match a {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            tracing::info!(module = %name, advice = %a, "SIMBA: advice");
            let instructions = format!("{}\n\n{}", pred.signature().instructions(), a);
            pred.set_signature(pred.signature().with_instructions(instructions));
        }
    }
    Ok(true)
}

const OFFER_FEEDBACK: &str = "You will be given two trajectories of an LLM-driven program's execution. Your goal is to help the program's modules\nbuild up experience on how to maximize the reward value assigned to the program's outputs if it were to receive\nsimilar inputs in the future.\n\nThe module won't see its own history. It will rely on your advice balancing being concrete and being generalizable.\n\nIn your advice:\n- Avoid boilerplate. Offer advice that would change the module's behavior for the better in the future.\n- Ensure that advice offered to a module M is specific to that M's specific sub-task, not the overall program.\n- Rely on contrasting the behavior of the worse trajectory against the better trajectory in making recommendations.\n- Ensure each unique module name appears exactly once as a key in the advice dictionary.";

/// DSPy's `OfferFeedback` signature (instructions, field names, types and descriptions).
///
/// ```
/// let sig = rdspy::optimize::simba::strategies::offer_feedback();
/// assert_eq!(sig.output_names(), ["discussion", "module_advice"]);
/// assert!(sig.instructions().starts_with("You will be given two trajectories"));
/// ```
pub fn offer_feedback() -> Signature {
    let trajectory = "The trajectory of the program's execution, showing each module's I/O";
    let outputs = "The outputs of the program that we are analyzing";
    let reward = "The reward value assigned to the program's outputs";
    let info = "Additional information that might be helpful to understanding the assigned reward value.";
    let fields: [(&str, &str, &str); 15] = [
        ("program_code", "str", "The code of the program that we are analyzing"),
        ("modules_defn", "str", "The definition of each module in the program, including its I/O"),
        ("program_inputs", "str", "The inputs to the program that we are analyzing"),
        ("oracle_metadata", "str", "Any (hidden) metadata about the training set instance we're analyzing"),
        ("worse_program_trajectory", "str", trajectory),
        ("worse_program_outputs", "str", outputs),
        ("worse_reward_value", "float", reward),
        ("worse_reward_info", "str", info),
        ("better_program_trajectory", "str", trajectory),
        ("better_program_outputs", "str", outputs),
        ("better_reward_value", "float", reward),
        ("better_reward_info", "str", info),
        ("module_names", "list[str]", "The names of the modules in the program, for which we seek advice"),
        ("discussion", "str", "Discussing blame of where each module went wrong, if it did"),
        ("module_advice", "dict[str, str]", "For each module, describe very concretely: If the module receives ${description of input or patterns therein}, then it should ${description of content, behavior, or strategies to adopt and/or others to avoid}. Basically, your advice be such that if the module has access to your tip, it would be much more likely to act like the successful trajectory rather than the lower-scoring trajectory."),
    ];
    let spec = format!(
        "{} -> {}",
        fields[..13].iter().map(|(n, t, _)| format!("{n}: {t}")).collect::<Vec<_>>().join(", "),
        fields[13..].iter().map(|(n, t, _)| format!("{n}: {t}")).collect::<Vec<_>>().join(", ")
    );
    let mut sig = Signature::parse(&spec).expect("OfferFeedback's field list parses").with_instructions(OFFER_FEEDBACK);
    for (name, _, desc) in fields {
        sig = sig.with_updated_field(name, |f| f.desc = desc.to_string());
    }
    sig.with_name("OfferFeedback")
}

/// What DSPy's `program_code` slot gets for a Rust program: its type and each predictor's signature.
fn program_code<P: Program>(program: &P) -> String {
    let mut s = format!("{}\n", std::any::type_name::<P>());
    for (name, p) in program.named_predictors() {
        s.push_str(&format!("    {name} = Predict(\"{}\")\n", p.signature().spec()));
    }
    s.trim_end().to_string()
}

/// `1. `name` (type): desc` lines, DSPy's `get_field_description_string`.
fn field_lines<'a>(fields: impl Iterator<Item = &'a Field>) -> String {
    fields
        .enumerate()
        .map(|(i, f)| format!("{}. `{}` ({}): {}", i + 1, f.name, type_name(&f.ty), f.visible_desc()))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// DSPy's `inspect_modules`: each predictor's input and output fields and instructions,
/// between dashed separators, tab-indented.
pub(crate) fn inspect_modules<P: crate::predict::Predictors>(program: &P) -> String {
    let sep = "-".repeat(80);
    let indent = |text: &str| text.lines().map(|l| format!("\n\t\t{l}")).collect::<String>();
    let mut out = vec![sep.clone()];
    for (name, p) in program.named_predictors() {
        let sig = p.signature();
        out.push(format!("Module {name}"));
        out.push("\n\tInput Fields:".into());
        out.push(indent(&field_lines(sig.input_fields())));
        out.push("\tOutput Fields:".into());
        out.push(indent(&field_lines(sig.output_fields())));
        out.push(format!("\tOriginal Instructions: {}", indent(&dedent(sig.instructions()))));
        out.push(sep.clone());
    }
    out.iter().map(|o| o.trim_matches('\n')).collect::<Vec<_>>().join("\n")
}

/// `textwrap.dedent` for instructions (common leading whitespace removed).
fn dedent(text: &str) -> String {
    let margin =
        text.lines().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start_matches([' ', '\t']).len()).min().unwrap_or(0);
    text.lines().map(|l| if l.trim().is_empty() { "" } else { &l[margin.min(l.len())..] }).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inspect_modules_matches_dspy() {
        // dspy.teleprompt.simba_utils.inspect_modules(dspy.Predict("question -> answer")) in DSPy 3.4.1.
        let p = Predict::new(Signature::parse("question -> answer").unwrap());
        let want = "--------------------------------------------------------------------------------\nModule self\n\tInput Fields:\n\t\t1. `question` (str):\n\tOutput Fields:\n\t\t1. `answer` (str):\n\tOriginal Instructions: \n\t\tGiven the fields `question`, produce the fields `answer`.\n--------------------------------------------------------------------------------";
        assert_eq!(inspect_modules(&p), want);
        let sig = Signature::parse("sentence -> label: int").unwrap().with_instructions("Classify it.\n  Carefully.");
        let cot = crate::predict::ChainOfThought::new(sig);
        let want = "--------------------------------------------------------------------------------\nModule predict\n\tInput Fields:\n\t\t1. `sentence` (str):\n\tOutput Fields:\n\t\t1. `reasoning` (str): \n\t\t2. `label` (int):\n\tOriginal Instructions: \n\t\tClassify it.\n\t\tCarefully.\n--------------------------------------------------------------------------------";
        assert_eq!(inspect_modules(&cot), want);
    }
}
