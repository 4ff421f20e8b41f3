//! MIPROv2: bootstrapped demo sets + grounded instruction proposals + Bayesian (TPE) search
//! over the (instruction, demo set) of every predictor, as DSPy 3.4's `MIPROv2`.

mod proposer;
mod search;
mod tpe;

pub use proposer::{
    dataset_descriptor, dataset_descriptor_with_prior, describe_module, describe_program, examples_repr,
    generate_single_module_instruction, observation_summarizer, program_code, strip_prefix, TIPS,
};
pub use search::{MiproRun, MiproTrial};
pub use tpe::Tpe;

use super::{Budget, Checkpoint};
use crate::evaluate::{Metric, SharedMetric};
use crate::lm::SharedLM;
use crate::settings::Settings;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// DSPy's `auto` presets: how many candidates and how large a validation set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AutoRun {
    /// 6 candidates, 100 validation examples.
    Light,
    /// 12 candidates, 300 validation examples.
    Medium,
    /// 18 candidates, 1000 validation examples.
    Heavy,
}

impl AutoRun {
    /// `(n, val_size)` as DSPy's `AUTO_RUN_SETTINGS`.
    pub fn settings(self) -> (usize, usize) {
        match self {
            AutoRun::Light => (6, 100),
            AutoRun::Medium => (12, 300),
            AutoRun::Heavy => (18, 1000),
        }
    }
}

impl std::str::FromStr for AutoRun {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<AutoRun> {
        match s {
            "light" => Ok(AutoRun::Light),
            "medium" => Ok(AutoRun::Medium),
            "heavy" => Ok(AutoRun::Heavy),
            other => Err(crate::Error::InvalidInput(format!("unknown MIPROv2 auto setting `{other}`: use light, medium or heavy"))),
        }
    }
}

/// DSPy's `MIPROv2`, with its defaults (`auto = light`, `max_bootstrapped_demos = 4`,
/// `max_labeled_demos = 4`, `seed = 9`, `init_temperature = 1.0`, minibatches of 35 with a full
/// evaluation every 5 trials, every proposer feature on).
///
/// 1. **Valset**: without one, the last `min(1000, 0.8·n)` training examples. With `auto`, a
///    random subset of `val_size` of it; minibatching only when it has more than 50 examples.
/// 2. **Demo sets** (`N`, DSPy's seed scheme): zero-shot, labeled only, bootstrapped on the
///    trainset in order, then bootstrapped on shuffled trainsets with random sizes.
/// 3. **Instructions**: the grounded proposer writes `N/2` (`N` zero-shot) per predictor on the
///    `prompt_model`; candidate 0 is the original instruction.
/// 4. **Search**: the default program is scored on the full valset and told to a [`Tpe`]
///    sampler (Optuna's `TPESampler(seed, multivariate=True)`). Each of `num_trials` trials
///    samples an (instruction, demo set) index per predictor, scores the program on a random
///    minibatch, and tells the score; every `minibatch_full_eval_steps + 1` trial numbers (and at
///    the end) the combination with the best mean minibatch score not yet fully evaluated gets a
///    full evaluation, which can become the best program and is told to the sampler too.
///
/// `max_bootstrapped_demos = max_labeled_demos = 0` is zero-shot mode: instructions only.
///
/// ```no_run
/// # async fn demo(train: Vec<rdspy::Example>) -> rdspy::Result<()> {
/// use rdspy::optimize::{AutoRun, Budget, MiproV2};
/// use rdspy::{predict::Predict, Signature};
/// let mut mipro = MiproV2::new(rdspy::evaluate::answer_exact_match());
/// mipro.auto = Some(AutoRun::Light);
/// mipro.budget = Budget::default().max_calls(2_000);
/// let run = mipro.compile_detailed(&Predict::new(Signature::parse("question -> answer")?), &train, None).await?;
/// println!("{} after {} trials ({})", run.best_score, run.trials.len(), run.stop);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MiproV2 {
    /// The task metric.
    pub metric: SharedMetric,
    /// The LM that writes instructions and summaries (else the settings' LM).
    pub prompt_model: Option<SharedLM>,
    /// The LM the program runs on while optimizing (else the settings' LM).
    pub task_model: Option<SharedLM>,
    /// Settings the bootstrap teacher runs under.
    pub teacher_settings: Option<Settings>,
    /// Bootstrapped demos per predictor.
    pub max_bootstrapped_demos: usize,
    /// Labeled demos per predictor.
    pub max_labeled_demos: usize,
    /// A preset; `None` needs `num_candidates` and `num_trials`.
    pub auto: Option<AutoRun>,
    /// Candidates (instructions and demo sets) when `auto` is `None`.
    pub num_candidates: Option<usize>,
    /// Trials when `auto` is `None`.
    pub num_trials: Option<usize>,
    /// Examples evaluated at once.
    pub num_threads: usize,
    /// Failed examples tolerated per evaluation (and teacher failures while bootstrapping).
    pub max_errors: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Temperature of instruction proposals.
    pub init_temperature: f64,
    /// A bootstrapped demo needs at least this score.
    pub metric_threshold: Option<f64>,
    /// Score trials on minibatches (only used when the valset has more than 50 examples under `auto`).
    pub minibatch: bool,
    /// Minibatch size.
    pub minibatch_size: usize,
    /// A full evaluation every this many trials.
    pub minibatch_full_eval_steps: usize,
    /// Describe the program and module to the proposer.
    pub program_aware_proposer: bool,
    /// Summarize the trainset for the proposer.
    pub data_aware_proposer: bool,
    /// Examples per dataset-summary call.
    pub view_data_batch_size: usize,
    /// Give the proposer a random tip.
    pub tip_aware_proposer: bool,
    /// Show the proposer bootstrapped demos.
    pub fewshot_aware_proposer: bool,
    /// Limits on LM calls, tokens and cost (see [`Budget`]).
    pub budget: Budget,
    /// Journal for resumable compiles.
    pub checkpoint: Option<Arc<Checkpoint>>,
}

impl MiproV2 {
    /// With a metric and DSPy's defaults.
    pub fn new(metric: impl Metric + 'static) -> MiproV2 {
        MiproV2 {
            metric: Arc::new(metric),
            prompt_model: None,
            task_model: None,
            teacher_settings: None,
            max_bootstrapped_demos: 4,
            max_labeled_demos: 4,
            auto: Some(AutoRun::Light),
            num_candidates: None,
            num_trials: None,
            num_threads: 16,
            max_errors: 10,
            seed: 9,
            init_temperature: 1.0,
            metric_threshold: None,
            minibatch: true,
            minibatch_size: 35,
            minibatch_full_eval_steps: 5,
            program_aware_proposer: true,
            data_aware_proposer: true,
            view_data_batch_size: 10,
            tip_aware_proposer: true,
            fewshot_aware_proposer: true,
            budget: Budget::default(),
            checkpoint: None,
        }
    }

    /// DSPy's trial count: `max(2·V·log2(N), 1.5·N)` with `V` = predictors (×2 with demos).
    pub fn num_trials_for(num_predictors: usize, zeroshot: bool, n: usize) -> usize {
        let v = num_predictors * if zeroshot { 1 } else { 2 };
        (2.0 * v as f64 * (n as f64).log2()).max(1.5 * n as f64) as usize
    }
}

#[async_trait::async_trait]
impl super::Optimizer for MiproV2 {
    async fn compile<P: super::Program>(
        &self,
        student: &P,
        trainset: &[crate::Example],
        valset: Option<&[crate::Example]>,
    ) -> crate::Result<P> {
        Ok(self.compile_detailed(student, trainset, valset).await?.program)
    }
}
