//! The program a CLI subcommand works on: `--program program.json` or `--signature "..."`
//! flags, plus `--input-keys` for datasets and the LM (remote or embedded `local/...`).

use super::common::LmArgs;
use anyhow::{bail, Context, Result};
use rdspy::adapter::{Adapter, ChatAdapter, JSONAdapter};
use rdspy::predict::{ChainOfThought, Module, NamedPredictors, Predict, Predictors};
use rdspy::{Example, Prediction, Signature};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

/// `--program program.json` or `--signature ".." [--module predict|cot] [--instructions ..] [--adapter ..]`,
/// and `--input-keys a,b`.
#[derive(clap::Args, Debug, Clone)]
pub struct ProgramSource {
    /// A program saved by `rdspy compile` (or by Python DSPy with rdspy's metadata).
    #[arg(long, conflicts_with_all = ["signature", "instructions"])]
    pub program: Option<PathBuf>,
    /// DSPy's string signature, e.g. "question -> answer" (when there is no --program).
    #[arg(long, short = 's', required_unless_present = "program")]
    pub signature: Option<String>,
    /// Instructions (default: DSPy's "Given the fields ..." sentence).
    #[arg(long)]
    pub instructions: Option<String>,
    /// The module: `predict` or `cot` (ChainOfThought).
    #[arg(long, default_value = "predict", value_parser = ["predict", "cot", "chain_of_thought"])]
    pub module: String,
    /// The adapter: `chat` (DSPy's default) or `json`.
    #[arg(long, default_value = "chat", value_parser = ["chat", "json"])]
    pub adapter: String,
    /// Dataset keys that are inputs (default: the signature's input fields).
    #[arg(long, value_delimiter = ',')]
    pub input_keys: Vec<String>,
}

/// A one-predictor program with its saved name (`self` for Predict, `predict` for
/// ChainOfThought), so a compiled program saves under the name Python DSPy expects. A KNN
/// program (`compile --optimizer knn`) also carries its embedded trainset, and picks its demos per input.
#[derive(Debug, Clone)]
pub struct CliProgram(pub NamedPredictors, pub Option<Arc<super::compile_knn::CliKnn>>);

impl Predictors for CliProgram {
    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        self.0.named_predictors()
    }
    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        self.0.named_predictors_mut()
    }
}

#[async_trait::async_trait]
impl Module for CliProgram {
    async fn forward(&self, inputs: &Example) -> rdspy::Result<Prediction> {
        if let Some(knn) = &self.1 {
            return knn.index.forward(&CliProgram(self.0.clone(), None), inputs).await;
        }
        self.0 .0[0].1.forward(inputs).await
    }
}

impl CliProgram {
    /// The only predictor.
    pub fn predictor(&self) -> &Predict {
        &self.0 .0[0].1
    }
    /// The only predictor, mutable.
    pub fn predictor_mut(&mut self) -> &mut Predict {
        &mut self.0 .0[0].1
    }
}

impl ProgramSource {
    /// Build the program (without its LM).
    pub fn build(&self) -> Result<CliProgram> {
        let adapter = self.adapter();
        if let Some(path) = &self.program {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read program file {}", path.display()))?;
            let mut state: Value = serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", path.display()))?;
            // A bare Predict is saved flat (as Python DSPy does): nest it under `self` again.
            if state.get("signature").is_some() && state.get("self").is_none() {
                if let Value::Object(mut flat) = state {
                    let metadata = flat.remove("metadata").unwrap_or_default();
                    state = serde_json::json!({"self": Value::Object(flat), "metadata": metadata});
                }
            }
            let Some(preds) = state["metadata"]["rdspy"]["predictors"].as_object() else {
                bail!(
                    "{}: no `metadata.rdspy.predictors` (field names and types); this file was not saved by rdspy. \
                     Use --signature with the program's signature instead",
                    path.display()
                );
            };
            if preds.len() != 1 {
                bail!("{}: the CLI runs one-predictor programs; this one has {} predictors", path.display(), preds.len());
            }
            let (name, spec) = preds.iter().next().expect("one predictor");
            let spec = spec["signature"].as_str().with_context(|| format!("{}: predictor `{name}` has no signature", path.display()))?;
            let mut p = Predict::new(Signature::parse(spec).with_context(|| format!("{}: predictor `{name}`", path.display()))?);
            p.adapter = Some(adapter);
            let mut program = CliProgram(NamedPredictors(vec![(name.clone(), p)]), None);
            rdspy::save::load_state(&mut program, &state).with_context(|| format!("loading {}", path.display()))?;
            program.1 = super::compile_knn::load_from(&state, path)?;
            return Ok(program);
        }
        let mut sig = Signature::parse(self.signature.as_deref().unwrap_or_default())?;
        if let Some(i) = &self.instructions {
            sig = sig.with_instructions(i.as_str());
        }
        let mut p = match self.module.as_str() {
            "predict" => Predict::new(sig),
            _ => ChainOfThought::new(sig).predict,
        };
        p.adapter = Some(adapter);
        let name = if self.module == "predict" { "self" } else { "predict" };
        // ChainOfThought's predictor is saved as `predict`; the CLI runs it directly (its
        // signature already has the `reasoning` output).
        Ok(CliProgram(NamedPredictors(vec![(name.to_string(), p)]), None))
    }

    /// The adapter `--adapter` names (a loaded program's adapter is not saved, as in DSPy).
    pub fn adapter(&self) -> Arc<dyn Adapter> {
        match self.adapter.as_str() {
            "json" => Arc::new(JSONAdapter::default()),
            _ => Arc::new(ChatAdapter::default()),
        }
    }

    /// The dataset's input keys: `--input-keys`, else the program's input fields.
    pub fn input_keys(&self, program: &CliProgram) -> Vec<String> {
        if !self.input_keys.is_empty() {
            return self.input_keys.clone();
        }
        program.predictor().signature().input_names().iter().map(|s| s.to_string()).collect()
    }
}

/// Build the LM for `--lm`, registering the embedded provider for `local/...` models.
pub fn build_lm(args: &LmArgs) -> Result<rdspy::lm::SharedLM> {
    if args.lm.starts_with("local/") {
        #[cfg(feature = "embedded")]
        rdspy_embedded::register();
        #[cfg(not(feature = "embedded"))]
        bail!(
            "--lm {}: this rdspy binary was built without the embedded model (--no-default-features); \
             rebuild with the default `embedded` feature, or serve the model with `rdspy serve-model` and use openai/<name> with --api-base",
            args.lm
        );
    }
    args.build()
}

/// The program with every predictor's demos cleared (the zero-shot baseline).
pub fn reset(program: &CliProgram) -> CliProgram {
    rdspy::optimize::reset_copy(program)
}
