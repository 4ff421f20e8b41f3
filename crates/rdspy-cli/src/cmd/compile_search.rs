//! `rdspy compile --optimizer copro|mipro`: the instruction-search optimizers, their options and
//! budgets. Kept apart from `compile.rs`, which only dispatches here.

use super::compile::Args;
use super::program::CliProgram;
use rdspy::evaluate::SharedMetric;
use rdspy::optimize::{search_report, AutoRun, Budget, Candidate, Checkpoint, Copro, MiproV2};
use rdspy::predict::Predictors;
use rdspy::Example;
use std::sync::{Arc, Mutex};

/// Options of the search optimizers (and the budget every optimizer that supports one reads).
#[derive(clap::Args, Debug, Clone)]
pub struct SearchArgs {
    /// MIPROv2 preset: light, medium, heavy, or none (then give --num-candidates and --num-trials).
    #[arg(long, default_value = "light", value_parser = ["light", "medium", "heavy", "none"])]
    pub auto: String,
    /// MIPROv2 with --auto none: instruction and demo-set candidates per predictor.
    #[arg(long)]
    pub num_candidates: Option<usize>,
    /// MIPROv2 with --auto none: search trials.
    #[arg(long)]
    pub num_trials: Option<usize>,
    /// MIPROv2 labeled demos per predictor (DSPy's default 4; --max-demos sets the bootstrapped ones).
    #[arg(long, default_value_t = 4)]
    pub mipro_labeled: usize,
    /// MIPROv2 zero-shot: instructions only (no demos).
    #[arg(long)]
    pub zero_shot: bool,
    /// MIPROv2 with --auto none: score every trial on the whole valset (DSPy's `minibatch=False`).
    #[arg(long)]
    pub no_minibatch: bool,
    /// MIPROv2 minibatch size (DSPy: 35).
    #[arg(long, default_value_t = 35)]
    pub minibatch_size: usize,
    /// The LM that writes instructions (COPRO, MIPROv2); default: --lm. Uses --api-base unless
    /// --prompt-api-base is given.
    #[arg(long)]
    pub prompt_model: Option<String>,
    /// The server of --prompt-model.
    #[arg(long)]
    pub prompt_api_base: Option<String>,
    /// COPRO proposals per round (DSPy: 10).
    #[arg(long, default_value_t = 10)]
    pub breadth: usize,
    /// COPRO rounds (DSPy: 3).
    #[arg(long, default_value_t = 3)]
    pub depth: usize,
    /// Proposal temperature (DSPy: COPRO 1.4, MIPROv2 1.0).
    #[arg(long)]
    pub init_temperature: Option<f64>,
    /// Budget: stop after this many LM calls (cache hits included) and keep the best program so far.
    #[arg(long)]
    pub max_calls: Option<u64>,
    /// Budget: stop after this many tokens (prompt + completion).
    #[arg(long)]
    pub max_total_tokens: Option<u64>,
    /// Budget: stop after this many US dollars (local models cost 0).
    #[arg(long)]
    pub max_cost: Option<f64>,
}

impl SearchArgs {
    /// The budget these flags set.
    pub fn budget(&self) -> Budget {
        Budget { max_calls: self.max_calls, max_tokens: self.max_total_tokens, max_cost: self.max_cost }
    }

    fn prompt_lm(&self, args: &Args) -> anyhow::Result<Option<rdspy::lm::SharedLM>> {
        let Some(model) = &self.prompt_model else { return Ok(None) };
        let mut lm_args = args.lm.clone();
        lm_args.lm = model.clone();
        if let Some(base) = &self.prompt_api_base {
            lm_args.api_base = Some(base.clone());
        }
        Ok(Some(super::program::build_lm(&lm_args)?))
    }
}

static SECTIONS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// The report sections of the last search compile (empty for other optimizers).
pub fn take_sections() -> Vec<(String, String)> {
    std::mem::take(&mut *SECTIONS.lock().unwrap_or_else(|e| e.into_inner()))
}

fn keep(sections: Vec<(String, String)>) {
    *SECTIONS.lock().unwrap_or_else(|e| e.into_inner()) = sections;
}

/// Run COPRO or MIPROv2 as `args` say.
pub async fn compile(
    args: &Args,
    student: &CliProgram,
    train: &[Example],
    val: &[Example],
    metric: SharedMetric,
    checkpoint: Option<Arc<Checkpoint>>,
) -> rdspy::Result<(CliProgram, Vec<Candidate>)> {
    let s = &args.search;
    let prompt = s.prompt_lm(args).map_err(|e| rdspy::Error::InvalidInput(format!("--prompt-model: {e}")))?;
    // Without --prompt-model, proposals come from --lm (DSPy: the configured LM); the CLI sets
    // the LM on the predictor, not in the settings, so pass it explicitly.
    let prompt = prompt.or_else(|| student.named_predictors().into_iter().find_map(|(_, p)| p.lm.clone()));
    let (program, candidates, stop) = if args.optimizer == "copro" {
        let mut c = Copro::new(move |e: &Example, p: &rdspy::Prediction, t: Option<&rdspy::trace::Trace>| metric.score(e, p, t));
        c.prompt_model = prompt;
        c.breadth = s.breadth;
        c.depth = s.depth;
        c.init_temperature = s.init_temperature.unwrap_or(1.4);
        c.num_threads = args.concurrency;
        c.max_errors = args.max_errors;
        c.budget = s.budget();
        c.checkpoint = checkpoint;
        let run = c.compile_detailed(student, train).await?;
        keep(search_report::copro_sections(&run));
        let cands = search_report::trial_candidates(run.trials.iter().enumerate().map(|(i, t)| (i as i64 + 1, t.score)));
        (run.program, cands, run.stop)
    } else {
        let mut m = MiproV2::new(move |e: &Example, p: &rdspy::Prediction, t: Option<&rdspy::trace::Trace>| metric.score(e, p, t));
        m.prompt_model = prompt;
        m.auto = if s.auto == "none" { None } else { Some(s.auto.parse::<AutoRun>()?) };
        m.num_candidates = s.num_candidates;
        m.num_trials = s.num_trials;
        (m.max_bootstrapped_demos, m.max_labeled_demos) = if s.zero_shot { (0, 0) } else { (args.max_demos.unwrap_or(4), s.mipro_labeled) };
        m.minibatch_size = s.minibatch_size;
        m.minibatch = !s.no_minibatch;
        m.init_temperature = s.init_temperature.unwrap_or(1.0);
        m.seed = args.seed;
        m.num_threads = args.concurrency;
        m.max_errors = args.max_errors;
        m.budget = s.budget();
        m.checkpoint = checkpoint;
        let run = m.compile_detailed(student, train, Some(val)).await?;
        keep(search_report::mipro_sections(&run));
        let cands = search_report::trial_candidates(run.trials.iter().map(|t| (t.number as i64, t.score)));
        (run.program, cands, run.stop)
    };
    eprintln!("{}: {stop}", args.optimizer);
    Ok((program, candidates))
}
