//! MIPROv2's grounded proposer: an LM-written dataset summary, program and module
//! descriptions, task demos and a random tip, given to the prompt model to write each
//! instruction candidate. Prompts are DSPy 3.4.1's, word for word, so the same prompt model
//! behaves the same.

use super::super::scoring::journaled;
use super::super::{BudgetMeter, Checkpoint, Program};
use crate::adapter::pyfmt::{py_float, py_str, quote_literal};
use crate::lm::SharedLM;
use crate::predict::{LmConfig, Module, Predict};
use crate::signature::Signature;
use crate::{Example, Result};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::sync::Arc;

/// DSPy's proposer tips, in DSPy's order (`none` gives no tip field at all).
pub const TIPS: [(&str, &str); 6] = [
    ("none", ""),
    ("creative", "Don't be afraid to be creative when creating the new instruction!"),
    ("simple", "Keep the instruction clear and concise."),
    ("description", "Make sure your instruction is very informative and descriptive."),
    ("high_stakes", "The instruction should include a high stakes scenario in which the LM must solve the task!"),
    ("persona", "Include a persona that is relevant to the task in the instruction (ie. \"You are a ...\")"),
];

fn sig(spec: &str, instructions: &str, descs: &[(&str, &str)]) -> Signature {
    let mut s = Signature::parse(spec).expect("a fixed, valid signature").with_instructions_exact(instructions);
    for (name, desc) in descs {
        s = s.with_updated_field(name, |f| f.desc = desc.to_string());
    }
    s
}

const PROGRAM_CODE: &str = "Pseudocode for a language model program designed to solve a particular task.";
const PROGRAM_EXAMPLE: &str = "An example of the program in use.";
const PROGRAM_DESC: &str = "Summary of the task the program is designed to solve, and how it goes about solving it.";
const PIPELINE: &str = "Below is some pseudo-code for a pipeline that solves tasks with calls to language models.";

/// DSPy's `DatasetDescriptor`.
pub fn dataset_descriptor() -> Signature {
    sig(
        "examples -> observations",
        "Given several examples from a dataset please write observations about trends that hold for most or all of the samples. \
         Some areas you may consider in your observations: topics, content, syntax, conciseness, etc. \
         It will be useful to make an educated guess as to the nature of the task this dataset will enable. Don't be afraid to be creative",
        &[
            ("examples", "Sample data points from the dataset"),
            ("observations", "Somethings that holds true for most or all of the data you observed"),
        ],
    )
}

/// DSPy's `DatasetDescriptorWithPriorObservations` (its typos included: the LM sees them).
pub fn dataset_descriptor_with_prior() -> Signature {
    sig(
        "examples, prior_observations -> observations",
        "Given several examples from a dataset please write observations about trends that hold for most or all of the samples. \
         I will also provide you with a few observations I have already made.  Please add your own observations or if you feel the \
         observations are comprehensive say 'COMPLETE' Some areas you may consider in your observations: topics, content, syntax, \
         conciceness, etc. It will be useful to make an educated guess as to the nature of the task this dataset will enable. Don't be afraid to be creative",
        &[
            ("examples", "Sample data points from the dataset"),
            ("prior_observations", "Some prior observations I made about the data"),
            ("observations", "Somethings that holds true for most or all of the data you observed or COMPLETE if you have nothing to add"),
        ],
    )
}

/// DSPy's `ObservationSummarizer`.
pub fn observation_summarizer() -> Signature {
    sig(
        "observations -> summary",
        "Given a series of observations I have made about my dataset, please summarize them into a brief 2-3 sentence summary which highlights only the most important details.",
        &[("observations", "Observations I have made about my dataset"), ("summary", "Two to Three sentence summary of only the most significant highlights of my observations")],
    )
}

/// DSPy's `DescribeProgram`.
pub fn describe_program() -> Signature {
    sig(
        "program_code, program_example -> program_description",
        &format!("{PIPELINE} Please describe what type of task this program appears to be designed to solve, and how it appears to work."),
        &[
            ("program_code", PROGRAM_CODE),
            ("program_example", PROGRAM_EXAMPLE),
            ("program_description", "Describe what task the program is designed to solve, and how it goes about solving this task."),
        ],
    )
}

/// DSPy's `DescribeModule`.
pub fn describe_module() -> Signature {
    sig(
        "program_code, program_example, program_description, module -> module_description",
        &format!("{PIPELINE} Please describe the purpose of one of the specified module in this pipeline."),
        &[
            ("program_code", PROGRAM_CODE),
            ("program_example", PROGRAM_EXAMPLE),
            ("program_description", PROGRAM_DESC),
            ("module", "The module in the program that we want to describe."),
            ("module_description", "Description of the module's role in the broader program."),
        ],
    )
}

/// DSPy's `GenerateSingleModuleInstruction` with the fields a proposal uses (MIPROv2 never
/// shows instruction history).
pub fn generate_single_module_instruction(dataset_summary: bool, program_aware: bool, tip: bool) -> Signature {
    let mut inputs: Vec<(&str, &str)> = Vec::new();
    if dataset_summary {
        inputs.push(("dataset_description", "A description of the dataset that we are using."));
    }
    if program_aware {
        inputs.push(("program_code", "Language model program designed to solve a particular task."));
        inputs.push(("program_description", PROGRAM_DESC));
        inputs.push(("module", "The module to create an instruction for."));
        inputs.push(("module_description", "Description of the module to create an instruction for."));
    }
    inputs.push(("task_demos", "Example inputs/outputs of our module."));
    inputs.push(("basic_instruction", "Basic instruction."));
    if tip {
        inputs.push(("tip", "A suggestion for how to go about generating the new instruction."));
    }
    let spec = format!("{} -> proposed_instruction", inputs.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "));
    inputs.push(("proposed_instruction", "Propose an instruction that will be used to prompt a Language Model to perform this task."));
    sig(
        &spec,
        "Use the information below to learn about a task that we are trying to solve using calls to an LM, then generate a new instruction that will be used to prompt a Language Model to better solve the task.",
        &inputs,
    )
}

/// DSPy's `strip_prefix`: drop a leading `Label words:` (up to five words) and quotes.
pub fn strip_prefix(text: &str) -> String {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| regex::Regex::new(r"^[\*\s]*(([\w'\-]+\s+){0,4}[\w'\-]+):\s*").expect("valid regex"));
    re.replace(text, "").trim_matches('"').to_string()
}

/// Python's `repr()` of a JSON value as it sits in a dict.
fn py_repr(v: &Value) -> String {
    match v {
        Value::String(s) => quote_literal(s).replace('\n', "\\n"),
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(o) => {
            format!("{{{}}}", o.iter().map(|(k, v)| format!("{}: {}", quote_literal(k), py_repr(v))).collect::<Vec<_>>().join(", "))
        }
        Value::Number(n) if n.is_f64() => {
            let mut s = String::new();
            py_float(n.as_f64().unwrap_or(0.0), &mut s);
            s
        }
        other => py_str(other),
    }
}

/// The repr of a list of examples, as DSPy's dataset summary shows the data (input keys sorted).
pub fn examples_repr(examples: &[Example]) -> String {
    let items: Vec<String> = examples
        .iter()
        .map(|e| {
            let mut keys: Vec<String> = e.input_keys().unwrap_or_default().iter().map(|k| quote_literal(k)).collect();
            keys.sort();
            let inputs = if keys.is_empty() { "None".to_string() } else { format!("{{{}}}", keys.join(", ")) };
            format!("Example({}) (input_keys={inputs})", py_repr(&e.to_json()))
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// A stand-in for DSPy's `get_dspy_source_code`: Python has the program's source; Rust does
/// not, so list each predictor with its signature. A bare predictor gives what DSPy gives
/// for a bare `Predict` (`"\n\n"`).
pub fn program_code<P: Program>(program: &P) -> String {
    let preds = program.named_predictors();
    if preds.len() == 1 && preds[0].0 == "self" {
        return "\n\n".into();
    }
    let body: Vec<String> = preds
        .iter()
        .map(|(n, p)| format!("self.{n} = dspy.Predict(\"{}\")  # {}", p.signature().spec(), p.signature().instructions()))
        .collect();
    format!("class Program(dspy.Module):\n    def __init__(self):\n        {}\n\n", body.join("\n        "))
}

/// One proposer LM call on `signature` with string inputs; the first output field's text.
pub(super) async fn ask(lm: Option<&SharedLM>, signature: Signature, inputs: &[(&str, &str)], config: LmConfig) -> Result<String> {
    let out = signature.output_fields().next().map(|f| f.name.clone()).unwrap_or_default();
    let mut p = Predict::new(signature).with_config(config);
    p.lm = lm.cloned();
    let mut ex = Example::new();
    for (k, v) in inputs {
        ex.set(*k, *v);
    }
    let pred = p.forward(&ex).await?;
    Ok(pred.get(&out).map(py_str).unwrap_or_default())
}

fn temp(t: f64) -> LmConfig {
    LmConfig { n: Some(1), temperature: Some(t), ..Default::default() }
}

/// DSPy's `create_dataset_summary`: observations over batches of `batch` examples (at most 10
/// calls, stopping after 5 `COMPLETE`s), then a 2–3 sentence summary.
pub(super) async fn dataset_summary(lm: Option<&SharedLM>, trainset: &[Example], batch: usize) -> Result<String> {
    let batch = batch.max(1);
    let first = examples_repr(&trainset[..trainset.len().min(batch)]);
    let mut observations = ask(lm, dataset_descriptor(), &[("examples", &first)], temp(1.0)).await?;
    let (mut calls, mut skips) = (0, 0);
    let mut b = batch;
    while b < trainset.len() {
        calls += 1;
        if calls >= 10 {
            break;
        }
        let chunk = examples_repr(&trainset[b..trainset.len().min(b + batch)]);
        match ask(lm, dataset_descriptor_with_prior(), &[("examples", &chunk), ("prior_observations", &observations)], temp(1.0)).await {
            Ok(o) if o.chars().take(8).collect::<String>().to_uppercase() == "COMPLETE" && o.chars().count() >= 8 => {
                skips += 1;
                if skips >= 5 {
                    break;
                }
            }
            Ok(o) => observations.push_str(&o),
            Err(e) => {
                tracing::info!(error = %e, "dataset summary: using the observations so far");
                break;
            }
        }
        b += batch;
    }
    let summary = ask(lm, observation_summarizer(), &[("observations", &observations)], temp(1.0)).await?;
    Ok(strip_prefix(&summary))
}

/// The grounded proposer's settings and shared state for one compile.
pub(super) struct Grounded<'a> {
    pub lm: Option<SharedLM>,
    pub meter: &'a Arc<BudgetMeter>,
    pub checkpoint: Option<&'a Arc<Checkpoint>>,
    pub program_aware: bool,
    pub tip_aware: bool,
    pub fewshot_aware: bool,
    pub init_temperature: f64,
    pub summary: Option<String>,
    pub code: String,
}

impl Grounded<'_> {
    /// DSPy's `propose_instructions_for_program`: `n` instructions per predictor, one per demo
    /// set (each with a random tip and a fresh `rollout_id`). Candidate 0 is replaced by the
    /// original instruction afterwards by the caller.
    pub async fn propose<P: Program>(
        &self,
        program: &P,
        demo_sets: Option<&[Vec<Vec<Example>>]>,
        n: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<Vec<Vec<String>>> {
        let num_demos = demo_sets.map(|d| d.first().map_or(1, |s| s.len().max(1))).unwrap_or(n);
        let mut out = Vec::new();
        for (pred_i, (name, pred)) in program.named_predictors().into_iter().enumerate() {
            let mut cands = Vec::new();
            for set_i in 0..num_demos.min(n) {
                let tip = if self.tip_aware { TIPS[rng.gen_range(0..TIPS.len())].1 } else { "" };
                let rollout = rng.gen_range(0..=1_000_000_000u64);
                let key = super::super::checkpoint::key(
                    "mipro-propose",
                    &[json!(name), json!(set_i), json!(rollout), json!(tip), json!(pred.signature().instructions())],
                );
                let sets = demo_sets.map(|d| &d[pred_i]);
                let v = journaled(self.checkpoint, self.meter, &key, async {
                    match self.one(pred, sets, set_i, tip, rollout).await {
                        Ok(s) => Ok(json!(s)),
                        Err(_) if self.meter.exhausted().is_some() => Err(crate::Error::Other("budget exhausted".into())),
                        Err(e @ crate::Error::NoLm) => Err(e),
                        Err(e) => {
                            tracing::warn!(predictor = %name, error = %e, "MIPROv2: a proposal failed; using the original instruction in its place");
                            Ok(json!(pred.signature().instructions()))
                        }
                    }
                })
                .await?;
                cands.push(v.as_str().unwrap_or_default().to_string());
            }
            out.push(cands);
        }
        Ok(out)
    }

    /// DSPy's `GenerateModuleInstruction.forward` for one predictor and demo set.
    async fn one(&self, pred: &Predict, sets: Option<&Vec<Vec<Example>>>, set_i: usize, tip: &str, rollout: u64) -> Result<String> {
        let cfg = LmConfig { rollout_id: Some(rollout), temperature: Some(self.init_temperature), ..Default::default() };
        let sig = pred.signature();
        let mut task_demos = String::new();
        if let (true, Some(sets)) = (self.fewshot_aware, sets) {
            let order = std::iter::once(set_i).chain(set_i + 1..sets.len()).chain(0..set_i.min(sets.len()));
            let shown: Vec<String> = order
                .flat_map(|i| sets.get(i).into_iter().flatten())
                .filter(|e| e.contains_key("augmented"))
                .take(3)
                .map(|e| {
                    sig.fields()
                        .iter()
                        .map(|f| format!("{} {}", f.prefix, e.get(&f.name).map(py_str).unwrap_or_else(|| "None".into())))
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .collect();
            task_demos = format!("{}\n\n", shown.join("\n\n"));
        }
        if task_demos.trim().is_empty() || set_i == 0 {
            task_demos = "No task demos provided.".into();
        }
        let lm = self.lm.as_ref();
        let (mut program_description, mut module, mut module_description) =
            ("Not available".to_string(), "Not provided".to_string(), "Not provided".to_string());
        if self.program_aware {
            let described = async {
                let d = strip_prefix(
                    &ask(lm, describe_program(), &[("program_code", &self.code), ("program_example", &task_demos)], cfg.clone()).await?,
                );
                program_description = d.clone();
                let m = format!("Predict({}) -> {}", sig.input_names().join(", "), sig.output_names().join(", "));
                module = m.clone();
                let md = ask(
                    lm,
                    describe_module(),
                    &[("program_code", &self.code), ("program_description", &d), ("program_example", &task_demos), ("module", &m)],
                    cfg.clone(),
                )
                .await?;
                module_description = md;
                Ok::<(), crate::Error>(())
            };
            if let Err(e) = described.await {
                tracing::info!(error = %e, "MIPROv2: program description failed; proposing without it");
            }
        }
        let summary = self.summary.as_deref();
        let generate = generate_single_module_instruction(summary.is_some(), self.program_aware, !tip.is_empty());
        let mut inputs: Vec<(&str, &str)> = vec![("task_demos", &task_demos), ("basic_instruction", sig.instructions())];
        if let Some(s) = summary {
            inputs.push(("dataset_description", s));
        }
        if self.program_aware {
            inputs.extend([
                ("program_code", self.code.as_str()),
                ("program_description", &program_description),
                ("module", &module),
                ("module_description", &module_description),
            ]);
        }
        if !tip.is_empty() {
            inputs.push(("tip", tip));
        }
        let proposed = ask(lm, generate, &inputs, cfg).await?;
        Ok(strip_prefix(&strip_prefix(&proposed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_prefix_as_dspy() {
        assert_eq!(strip_prefix("Proposed Instruction: Do X"), "Do X");
        assert_eq!(strip_prefix("**Summary**: hi"), "**Summary**: hi");
        assert_eq!(strip_prefix("The answer is: yes: no"), "yes: no");
        assert_eq!(strip_prefix("\"quoted\""), "quoted");
        assert_eq!(strip_prefix("Task: a b c d e f: x"), "a b c d e f: x");
    }

    #[test]
    fn examples_repr_as_dspy() {
        let ex = vec![
            Example::new().with("sentence", "it's \"good\"").with("label", "positive").with_inputs(["sentence"]),
            Example::new()
                .with("sentence", "bad")
                .with("label", "negative")
                .with("n", 3)
                .with("f", 1.5)
                .with("b", true)
                .with("l", json!([1, "a"]))
                .with("nn", Value::Null)
                .with_inputs(["sentence", "label"]),
        ];
        // Recorded from DSPy 3.4.1 (order_input_keys_in_string(repr(trainset))).
        let want = r#"[Example({'sentence': 'it\'s "good"', 'label': 'positive'}) (input_keys={'sentence'}), Example({'sentence': 'bad', 'label': 'negative', 'n': 3, 'f': 1.5, 'b': True, 'l': [1, 'a'], 'nn': None}) (input_keys={'label', 'sentence'})]"#;
        assert_eq!(examples_repr(&ex), want);
    }
}
