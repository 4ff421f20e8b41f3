//! COPRO: coordinate-ascent instruction search, as DSPy 3.4's `COPRO`.

use super::scoring::{journaled, Scorer};
use super::{Budget, Checkpoint, Program, StopReason};
use crate::adapter::pyfmt::py_float;
use crate::evaluate::{Metric, SharedMetric};
use crate::lm::{SharedLM, Usage};
use crate::predict::{LmConfig, Predict};
use crate::signature::{Field, Signature};
use crate::{Example, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;

/// The proposer prompt of the first round (DSPy's `BasicGenerateInstruction`, same text).
pub fn basic_generate_instruction() -> Signature {
    proposer_signature(
        "basic_instruction -> proposed_instruction, proposed_prefix_for_output_field",
        "You are an instruction optimizer for large language models. I will give you a ``signature`` of fields (inputs and outputs) in English. \
         Your task is to propose an instruction that will lead a good language model to perform the task well. Don't be afraid to be creative.",
        &[("basic_instruction", "The initial instructions before optimization")],
    )
}

/// The proposer prompt of later rounds, which sees earlier attempts and their scores (DSPy's
/// `GenerateInstructionGivenAttempts`, same text).
pub fn generate_instruction_given_attempts() -> Signature {
    proposer_signature(
        "attempted_instructions -> proposed_instruction, proposed_prefix_for_output_field",
        "You are an instruction optimizer for large language models. I will give some task instructions I've tried, along with their \
         corresponding validation scores. The instructions are arranged in increasing order based on their scores, where higher scores \
         indicate better quality.\n\nYour task is to propose a new instruction that will lead a good language model to perform the task \
         even better. Don't be afraid to be creative.",
        &[],
    )
}

const INSTRUCTION_DESC: &str = "The improved instructions for the language model";
const PREFIX_DESC: &str = "The string at the end of the prompt, which will help the model start solving the task";

fn proposer_signature(spec: &str, instructions: &str, descs: &[(&str, &str)]) -> Signature {
    let mut sig = Signature::parse(spec).expect("a fixed, valid signature").with_instructions_exact(instructions);
    for (name, desc) in descs.iter().chain(&[("proposed_instruction", INSTRUCTION_DESC), ("proposed_prefix_for_output_field", PREFIX_DESC)])
    {
        sig = sig.with_updated_field(name, |f| f.desc = desc.to_string());
    }
    sig
}

/// DSPy's `COPRO` with its defaults: `breadth = 10`, `depth = 3`, `init_temperature = 1.4`.
///
/// For each predictor, the prompt model proposes `breadth - 1` (instruction, output prefix)
/// pairs from the current instruction (one call with `n = breadth - 1`), and the original joins
/// them. Then, `depth` times: every candidate of each predictor is scored on the trainset (with
/// the other predictors at their best so far) and the predictor takes the best one; unless it
/// is the last round, the prompt model sees the best `breadth` attempts so far *in increasing
/// order of score* (`Instruction #i` / `Prefix #i` / `Resulting Score #i`) and proposes
/// `breadth` new ones. The best-scoring program overall wins. As in DSPy, a one-predictor
/// program only scores the newest proposals in later rounds; several predictors re-score all.
///
/// The optimized prefix has no effect with today's adapters (DSPy keeps it for compatibility).
///
/// ```no_run
/// # async fn demo(train: Vec<rdspy::Example>) -> rdspy::Result<()> {
/// use rdspy::optimize::{Budget, Copro, Optimizer};
/// use rdspy::{predict::Predict, Signature};
/// let mut copro = Copro::new(rdspy::evaluate::answer_exact_match());
/// copro.breadth = 4;
/// copro.depth = 2;
/// copro.budget = Budget::default().max_calls(500);
/// let run = copro.compile_detailed(&Predict::new(Signature::parse("question -> answer")?), &train).await?;
/// println!("{} ({})", run.candidates[0].score, run.stop);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Copro {
    /// The task metric.
    pub metric: SharedMetric,
    /// The LM that writes instructions (else the one in the settings).
    pub prompt_model: Option<SharedLM>,
    /// Proposals per round (must be > 1).
    pub breadth: usize,
    /// Rounds of scoring.
    pub depth: usize,
    /// Sampling temperature of the proposals.
    pub init_temperature: f64,
    /// Examples evaluated at once.
    pub num_threads: usize,
    /// Failed examples tolerated per evaluation.
    pub max_errors: usize,
    /// Limits on LM calls, tokens and cost (see [`Budget`]).
    pub budget: Budget,
    /// Journal for resumable compiles.
    pub checkpoint: Option<Arc<Checkpoint>>,
}

/// One scored (instruction, prefix) of one predictor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoproCandidate {
    /// The predictor's name.
    pub predictor: String,
    /// The round that scored it (0-based).
    pub depth: usize,
    /// The full instruction text.
    pub instruction: String,
    /// The output-field prefix.
    pub prefix: String,
    /// Trainset score, 0–100.
    pub score: f64,
}

/// What [`Copro::compile_detailed`] returns.
#[derive(Debug, Clone)]
pub struct CoproRun<P> {
    /// The best program.
    pub program: P,
    /// The best candidate per (predictor, instruction, prefix), best first, duplicates dropped.
    pub candidates: Vec<CoproCandidate>,
    /// Every evaluation in the order it ran.
    pub trials: Vec<CoproCandidate>,
    /// Why it stopped.
    pub stop: StopReason,
    /// LM usage of the compile (task and prompt model).
    pub spent: Usage,
}

struct Evaluated<P> {
    cand: CoproCandidate,
    program: P,
}

impl Copro {
    /// With a metric and DSPy's defaults.
    pub fn new(metric: impl Metric + 'static) -> Copro {
        Copro {
            metric: Arc::new(metric),
            prompt_model: None,
            breadth: 10,
            depth: 3,
            init_temperature: 1.4,
            num_threads: 16,
            max_errors: 10,
            budget: Budget::default(),
            checkpoint: None,
        }
    }

    /// One proposer call: `n` (instruction, prefix) pairs, journaled.
    async fn propose(
        &self,
        meter: &Arc<super::BudgetMeter>,
        sig: Signature,
        input: (&str, Value),
        n: usize,
        tag: Value,
    ) -> Result<Vec<(String, String)>> {
        let mut predictor =
            Predict::new(sig).with_config(LmConfig { n: Some(n as u32), temperature: Some(self.init_temperature), ..Default::default() });
        predictor.lm = self.prompt_model.clone().map(|lm| meter.wrap(lm));
        let inputs = Example::new().with(input.0, input.1.clone());
        let key = super::checkpoint::key("copro-propose", &[tag, input.1, json!(n), json!(self.init_temperature)]);
        let value = journaled(self.checkpoint.as_ref(), meter, &key, async {
            let p = crate::predict::Module::forward(&predictor, &inputs).await?;
            Ok(Value::Array(p.completions().into_iter().map(Value::Object).collect()))
        })
        .await?;
        Ok(value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| {
                let text = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
                Some((text("proposed_instruction")?, text("proposed_prefix_for_output_field").unwrap_or_default()))
            })
            .collect())
    }

    /// Propose, or on a failure that is not the budget, go on with the candidates there are (a
    /// small prompt model may not follow the format; the search still runs on the rest).
    async fn propose_or_warn(
        &self,
        meter: &Arc<super::BudgetMeter>,
        sig: Signature,
        input: (&str, Value),
        n: usize,
        tag: Value,
    ) -> Result<Vec<(String, String)>> {
        match self.propose(meter, sig, input, n, tag).await {
            Ok(c) => Ok(c),
            Err(_) if meter.exhausted().is_some() => Ok(Vec::new()),
            Err(e @ crate::Error::NoLm) => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "COPRO: the prompt model's proposals could not be read; going on without them");
                Ok(Vec::new())
            }
        }
    }

    /// Compile and return the best program with every scored candidate and why it stopped.
    pub async fn compile_detailed<P: Program>(&self, student: &P, trainset: &[Example]) -> Result<CoproRun<P>> {
        if self.breadth <= 1 {
            return Err(crate::Error::InvalidInput(format!("COPRO: breadth must be greater than 1 (got {})", self.breadth)));
        }
        let meter = self.budget.meter();
        let scorer = Scorer {
            metric: self.metric.clone(),
            num_threads: self.num_threads,
            max_errors: self.max_errors,
            meter: meter.clone(),
            checkpoint: self.checkpoint.clone(),
            errors_score_zero: false,
        };
        if let Some(cp) = &self.checkpoint {
            super::scoring::ensure_optimizer_config(
                cp,
                "COPRO",
                json!({"breadth": self.breadth, "depth": self.depth,
                "init_temperature": self.init_temperature, "train": trainset.len()}),
            )?;
        }
        meter.scope(self.run(student, trainset, &meter, &scorer)).await
    }

    async fn run<P: Program>(
        &self,
        student: &P,
        trainset: &[Example],
        meter: &Arc<super::BudgetMeter>,
        scorer: &Scorer,
    ) -> Result<CoproRun<P>> {
        let module = student.clone();
        let names: Vec<String> = module.named_predictors().into_iter().map(|(n, _)| n).collect();
        let multi = names.len() > 1;
        let mut all: Vec<Vec<(String, String)>> = Vec::new();
        let mut latest: Vec<Vec<(String, String)>> = Vec::new();
        for (name, pred) in module.named_predictors() {
            let sig = pred.signature();
            let basic = sig.instructions().to_string();
            let prefix = sig.fields().last().map(|f| f.prefix.clone()).unwrap_or_default();
            let tag = json!(["init", name]);
            let mut c = self
                .propose_or_warn(meter, basic_generate_instruction(), ("basic_instruction", json!(basic)), self.breadth - 1, tag)
                .await?;
            c.push((basic, prefix));
            all.push(c.clone());
            latest.push(c);
        }
        let mut clone = module.clone();
        let mut evaluated: Vec<Vec<Evaluated<P>>> = names.iter().map(|_| Vec::new()).collect();
        let mut trials = Vec::new();
        let mut stop = StopReason::Finished;
        'depth: for d in 0..self.depth {
            for (i, name) in names.iter().enumerate() {
                let cands = if multi { all[i].clone() } else { latest[i].clone() };
                for (instruction, prefix) in cands {
                    let instruction = instruction.trim_matches('"').trim().to_string();
                    let prefix = prefix.trim_matches('"').trim().to_string();
                    set_candidate(&mut clone, i, &instruction, &prefix);
                    let Some(scored) = scorer.score(&clone, trainset).await? else {
                        stop = StopReason::Budget(meter.exhausted().expect("scores are dropped only when the budget ran out"));
                        break 'depth;
                    };
                    let cand = CoproCandidate { predictor: name.clone(), depth: d, instruction, prefix, score: scored.score };
                    tracing::info!(depth = d + 1, predictor = %name, score = cand.score, "COPRO candidate");
                    trials.push(cand.clone());
                    let seen = evaluated[i].iter_mut().find(|e| e.cand.instruction == cand.instruction && e.cand.prefix == cand.prefix);
                    match seen {
                        Some(e) if e.cand.score >= cand.score => {}
                        Some(e) => *e = Evaluated { cand, program: clone.clone() },
                        None => evaluated[i].push(Evaluated { cand, program: clone.clone() }),
                    }
                }
                if let Some(best) = first_max(&evaluated[i]) {
                    let (ins, pre) = (best.cand.instruction.clone(), best.cand.prefix.clone());
                    set_candidate(&mut clone, i, &ins, &pre);
                }
            }
            if d + 1 == self.depth {
                break;
            }
            let mut fresh = Vec::new();
            for (i, name) in names.iter().enumerate() {
                let attempts = attempts_list(&evaluated[i], self.breadth);
                let tag = json!(["attempts", name, d]);
                let c = self
                    .propose_or_warn(
                        meter,
                        generate_instruction_given_attempts(),
                        ("attempted_instructions", json!(attempts)),
                        self.breadth,
                        tag,
                    )
                    .await?;
                all[i].extend(c.iter().cloned());
                fresh.push(c);
            }
            latest = fresh;
            if let Some(e) = meter.exhausted() {
                stop = StopReason::Budget(e);
                break;
            }
        }
        let mut flat: Vec<Evaluated<P>> = evaluated.into_iter().flatten().collect();
        flat.sort_by(|a, b| b.cand.score.total_cmp(&a.cand.score));
        let flat = drop_duplicates(flat);
        let program = flat.first().map(|e| e.program.clone()).unwrap_or(module);
        if let StopReason::Budget(e) = &stop {
            tracing::warn!("COPRO {e}; returning the best program so far");
        }
        Ok(CoproRun { program, candidates: flat.into_iter().map(|e| e.cand).collect(), trials, stop, spent: meter.spent() })
    }
}

/// Set predictor `i`'s instruction and last field's prefix.
fn set_candidate<P: Program>(program: &mut P, i: usize, instruction: &str, prefix: &str) {
    if let Some((_, pred)) = program.named_predictors_mut().into_iter().nth(i) {
        let sig = pred.signature().with_instructions(instruction);
        let last = sig.fields().last().map(|f| f.name.clone()).unwrap_or_default();
        pred.set_signature(sig.with_updated_field(&last, |f: &mut Field| f.prefix = prefix.to_string()));
    }
}

/// Python's `max(…, key=score)`: the first of the highest.
fn first_max<P>(v: &[Evaluated<P>]) -> Option<&Evaluated<P>> {
    v.iter().fold(None, |best: Option<&Evaluated<P>>, e| match best {
        Some(b) if b.cand.score >= e.cand.score => Some(b),
        _ => Some(e),
    })
}

/// The proposer's view of earlier attempts: the best `breadth`, listed worst to best.
fn attempts_list<P>(evaluated: &[Evaluated<P>], breadth: usize) -> Vec<String> {
    let mut best: Vec<&CoproCandidate> = evaluated.iter().map(|e| &e.cand).collect();
    best.sort_by(|a, b| b.score.total_cmp(&a.score));
    let n = best.len().min(breadth);
    let mut out = Vec::with_capacity(3 * n);
    for i in (0..n).rev() {
        let mut score = String::new();
        py_float(best[i].score, &mut score);
        out.push(format!("Instruction #{}: {}", n - i, best[i].instruction));
        out.push(format!("Prefix #{}: {}", n - i, best[i].prefix));
        out.push(format!("Resulting Score #{}: {score}", n - i));
    }
    out
}

/// DSPy's `_drop_duplicates`: among equal scores in a row, keep the first of each distinct
/// program (instructions and last prefixes of every predictor).
fn drop_duplicates<P: Program>(sorted: Vec<Evaluated<P>>) -> Vec<Evaluated<P>> {
    let shape = |p: &P| -> Vec<(String, String)> {
        p.named_predictors()
            .into_iter()
            .map(|(_, x)| {
                (x.signature().instructions().to_string(), x.signature().fields().last().map(|f| f.prefix.clone()).unwrap_or_default())
            })
            .collect()
    };
    let mut out: Vec<Evaluated<P>> = Vec::new();
    let mut batch: Vec<Vec<(String, String)>> = Vec::new();
    let mut batch_score = f64::NAN;
    for e in sorted {
        let s = shape(&e.program);
        if e.cand.score == batch_score {
            if batch.contains(&s) {
                continue;
            }
            batch.push(s);
        } else {
            batch = vec![s];
            batch_score = e.cand.score;
        }
        out.push(e);
    }
    out
}

#[async_trait::async_trait]
impl super::Optimizer for Copro {
    /// COPRO scores on the trainset (DSPy's `COPRO.compile` takes no valset).
    async fn compile<P: Program>(&self, student: &P, trainset: &[Example], _valset: Option<&[Example]>) -> Result<P> {
        Ok(self.compile_detailed(student, trainset).await?.program)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_are_listed_worst_to_best() {
        let ev = |i: &str, s: f64| Evaluated {
            cand: CoproCandidate { predictor: "self".into(), depth: 0, instruction: i.into(), prefix: "P:".into(), score: s },
            program: (),
        };
        let list = attempts_list(&[ev("a", 50.0), ev("b", 75.5), ev("c", 10.0)], 2);
        assert_eq!(
            list,
            [
                "Instruction #1: a",
                "Prefix #1: P:",
                "Resulting Score #1: 50.0",
                "Instruction #2: b",
                "Prefix #2: P:",
                "Resulting Score #2: 75.5"
            ]
        );
        assert_eq!(first_max(&[ev("a", 5.0), ev("b", 7.0), ev("c", 7.0)]).map(|e| e.cand.instruction.as_str()), Some("b"));
    }
}
