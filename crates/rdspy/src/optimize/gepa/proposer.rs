//! Reflective instruction proposal: show a reflection LM what one predictor saw, what it
//! answered and the metric's feedback on a few examples, and ask for a better instruction.
//!
//! The prompt is DSPy 3.4.1's built-in GEPA proposer: the `ProposeInstruction` signature
//! (instructions and field descriptions text for text) run through `JSONAdapter`, with the
//! examples passed as structured values `{"Inputs", "Generated Outputs", "Feedback"}`, so the
//! same reflection LM sees the same messages through rdspy as through DSPy.

use super::feedback::FeedbackMetric;
use crate::adapter::JSONAdapter;
use crate::lm::SharedLM;
use crate::optimize::traced::Rollout;
use crate::predict::Predict;
use crate::{Error, Example, Result, Signature};
use rand::Rng;
use serde_json::{json, Value};

const PROPOSE_INSTRUCTION: &str = "I provided an assistant with instructions to perform a task for me. You are given those instructions, along with examples of different task inputs provided to the assistant, the assistant's response for each of them, and some feedback on how the assistant's response could be better.\n\nYour task is to write a new instruction for the assistant.\n\nRead the inputs carefully and identify the input format and infer detailed task description about the task I wish to solve with the assistant.\n\nRead all the assistant responses and the corresponding feedback. Identify all niche and domain specific factual information about the task and include it in the instruction, as a lot of it may not be available to the assistant in the future. The assistant may have utilized a generalizable strategy to solve the task, if so, include that in the instruction as well.";

/// DSPy's `ProposeInstruction` signature (GEPA's built-in reflection prompt).
///
/// ```
/// let sig = rdspy::optimize::gepa::propose_instruction();
/// assert_eq!(sig.input_names(), ["current_instruction", "examples_with_feedback"]);
/// assert!(sig.instructions().starts_with("I provided an assistant with instructions"));
/// ```
pub fn propose_instruction() -> Signature {
    Signature::parse("current_instruction: str, examples_with_feedback: list[dict[str, Any]] -> new_instruction: str")
        .expect("ProposeInstruction's fields parse")
        .with_instructions(PROPOSE_INSTRUCTION)
        .with_updated_field("current_instruction", |f| f.desc = "The instructions I provided to the assistant.".into())
        .with_updated_field("examples_with_feedback", |f| {
            f.desc = "Task inputs provided to the assistant, the assistant's response for each, and feedback on how the response could be better.".into()
        })
        .with_updated_field("new_instruction", |f| f.desc = "The new instruction for the assistant.".into())
        .with_name("ProposeInstruction")
}

/// The reflective dataset of one predictor: per minibatch run that reached it, one of its
/// calls (chosen at random when it ran several times) with the metric's feedback on the run.
/// Runs that failed are left out (DSPy's default, `add_format_failure_as_feedback=False`).
pub(crate) fn reflective_dataset(
    component: &str,
    predictor_id: u64,
    batch: &[Example],
    runs: &[Rollout],
    metric: &dyn FeedbackMetric,
    rng: &mut impl Rng,
) -> Vec<Value> {
    let mut items = Vec::new();
    for (example, run) in batch.iter().zip(runs) {
        let Some(prediction) = &run.prediction else { continue };
        let steps: Vec<&crate::trace::TraceStep> = run.trace.iter().filter(|s| s.predictor_id == predictor_id).collect();
        if steps.is_empty() {
            continue;
        }
        let step = steps[rng.gen_range(0..steps.len())];
        let own = vec![step.clone()];
        let fb = metric.feedback(example, prediction, Some(&run.trace), Some(component), Some(&own));
        items.push(json!({
            "Inputs": step.inputs.to_json(),
            "Generated Outputs": step.outputs.to_json(),
            "Feedback": fb.feedback_text(),
        }));
    }
    items
}

/// Ask `lm` for a new instruction. An empty answer is an error (DSPy raises too).
pub(crate) async fn propose(lm: SharedLM, current: &str, examples: Vec<Value>) -> Result<String> {
    let predict = Predict::new(propose_instruction()).with_lm(lm).with_adapter(JSONAdapter::default());
    let inputs = Example::from_pairs([
        ("current_instruction", Value::String(current.to_string())),
        ("examples_with_feedback", Value::Array(examples)),
    ]);
    let out = predict.forward(&inputs).await?;
    let text = match out.get("new_instruction") {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    if text.is_empty() {
        return Err(Error::Other("the reflection LM returned an empty instruction".into()));
    }
    Ok(text)
}

use crate::predict::Module as _;

/// GEPA's `EpochShuffledBatchSampler`: minibatches walk through a shuffled trainset, padded to
/// a multiple of the minibatch size with the least used ids, and reshuffled every epoch.
#[derive(Debug, Clone, Default)]
pub(crate) struct BatchSampler {
    size: usize,
    shuffled: Vec<usize>,
    epoch: Option<usize>,
}

impl BatchSampler {
    pub fn new(size: usize) -> BatchSampler {
        BatchSampler { size: size.max(1), ..Default::default() }
    }

    fn reshuffle(&mut self, n: usize, rng: &mut impl Rng) {
        use rand::seq::SliceRandom;
        let mut ids: Vec<usize> = (0..n).collect();
        ids.shuffle(rng);
        let mut counts = vec![1usize; n];
        let pad = (self.size - n % self.size) % self.size;
        for _ in 0..pad {
            // The least used id; on ties the one shuffled last (Counter order, reversed).
            let min = ids.iter().map(|&i| counts[i]).min().unwrap_or(0);
            let Some(&pick) = ids.iter().rev().find(|&&i| counts[i] == min) else { break };
            counts[pick] += 1;
            ids.push(pick);
        }
        self.shuffled = ids;
    }

    /// The trainset ids of iteration `i` (0-based).
    pub fn next(&mut self, i: usize, n: usize, rng: &mut impl Rng) -> Vec<usize> {
        let base = i * self.size;
        let epoch = match self.epoch {
            None => 0,
            Some(_) => base / self.shuffled.len().max(1),
        };
        if self.shuffled.is_empty() || self.epoch.is_none_or(|e| epoch > e) {
            self.epoch = Some(epoch);
            self.reshuffle(n, rng);
        }
        let start = base % self.shuffled.len();
        self.shuffled[start..start + self.size].to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampler_covers_each_epoch_and_pads() {
        let mut rng = crate::data::rng_for(0);
        let mut s = BatchSampler::new(3);
        let first: Vec<usize> = (0..3).flat_map(|i| s.next(i, 7, &mut rng)).collect();
        // 7 ids padded to 9: every id once, two repeated.
        let mut seen = first.clone();
        seen.sort();
        seen.dedup();
        assert_eq!((first.len(), seen.len()), (9, 7));
        let second: Vec<usize> = (3..6).flat_map(|i| s.next(i, 7, &mut rng)).collect();
        assert_ne!(first, second, "a new epoch reshuffles");
    }
}
