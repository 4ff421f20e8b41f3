//! `rdspy compile --optimizer simba|gepa`: the optimizers that learn from traces (SIMBA's rules
//! and demos, GEPA's reflective instructions), their options and budgets. `compile.rs` only
//! dispatches here. `--auto`, `--num-candidates`, `--prompt-model` and the LM budgets
//! (`--max-calls`, `--max-total-tokens`, `--max-cost`) are shared with COPRO/MIPROv2.

use super::compile::Args;
use super::program::CliProgram;
use rdspy::evaluate::SharedMetric;
use rdspy::optimize::gepa::{Gepa, GepaBudget};
use rdspy::optimize::{Candidate, Checkpoint, Simba};
use rdspy::Example;
use std::sync::{Arc, Mutex};

/// Options of SIMBA and GEPA.
#[derive(clap::Args, Debug, Clone)]
pub struct ReflectArgs {
    /// GEPA: the LM that reads traces and feedback and writes instructions (default:
    /// --prompt-model, else --lm). DSPy recommends a strong model at temperature 1.0.
    #[arg(long)]
    pub reflection_model: Option<String>,
    /// The server of --reflection-model (default: --api-base).
    #[arg(long)]
    pub reflection_api_base: Option<String>,
    /// GEPA budget: this many full passes over train + val (instead of --auto).
    #[arg(long)]
    pub max_full_evals: Option<usize>,
    /// GEPA budget: this many metric calls, i.e. program runs scored (instead of --auto).
    #[arg(long)]
    pub max_metric_calls: Option<usize>,
    /// GEPA: training examples per reflection (DSPy: 3).
    #[arg(long, default_value_t = 3)]
    pub reflection_minibatch_size: usize,
    /// GEPA: never merge two Pareto candidates.
    #[arg(long)]
    pub no_merge: bool,
    /// GEPA: at most this many accepted merges (DSPy: 5).
    #[arg(long, default_value_t = 5)]
    pub max_merges: usize,
    /// GEPA: reflect on the best candidate instead of sampling the Pareto frontier.
    #[arg(long)]
    pub current_best: bool,
    /// SIMBA: minibatch size (DSPy: 32; the trainset must be at least this large).
    #[arg(long, default_value_t = 32)]
    pub bsize: usize,
    /// SIMBA: minibatch steps (DSPy: 8).
    #[arg(long, default_value_t = 8)]
    pub max_steps: usize,
}

static SECTIONS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// The report sections of the last SIMBA/GEPA compile (empty for other optimizers).
pub fn take_sections() -> Vec<(String, String)> {
    std::mem::take(&mut *SECTIONS.lock().unwrap_or_else(|e| e.into_inner()))
}

/// An LM for `model`, with --lm's other flags and `base` (else --api-base).
fn other_lm(args: &Args, model: &Option<String>, base: &Option<String>) -> rdspy::Result<Option<rdspy::lm::SharedLM>> {
    let Some(model) = model else { return Ok(None) };
    let mut lm_args = args.lm.clone();
    lm_args.lm = model.clone();
    if base.is_some() {
        lm_args.api_base = base.clone();
    }
    super::program::build_lm(&lm_args).map(Some).map_err(|e| rdspy::Error::InvalidInput(format!("{model}: {e}")))
}

/// GEPA's budget from the flags: exactly one of --max-full-evals, --max-metric-calls, or --auto.
fn gepa_budget(args: &Args) -> rdspy::Result<GepaBudget> {
    let r = &args.reflect;
    match (r.max_full_evals, r.max_metric_calls) {
        (Some(_), Some(_)) => Err(rdspy::Error::InvalidInput("give one of --max-full-evals and --max-metric-calls, not both".into())),
        (Some(n), None) => Ok(GepaBudget::MaxFullEvals(n)),
        (None, Some(n)) => Ok(GepaBudget::MaxMetricCalls(n)),
        (None, None) if args.search.auto == "none" => {
            Err(rdspy::Error::InvalidInput("GEPA with --auto none needs --max-full-evals or --max-metric-calls".into()))
        }
        (None, None) => Ok(GepaBudget::Auto(args.search.auto.parse()?)),
    }
}

/// Run SIMBA or GEPA as `args` say; returns the program and its candidates for the report plot.
pub async fn compile(
    args: &Args,
    student: &CliProgram,
    train: &[Example],
    val: &[Example],
    metric: SharedMetric,
    checkpoint: Option<Arc<Checkpoint>>,
) -> rdspy::Result<(CliProgram, Vec<Candidate>)> {
    let s = &args.search;
    let prompt = other_lm(args, &s.prompt_model, &s.prompt_api_base)?;
    let to_candidate = |i: usize, score: f64| Candidate { seed: i as i64, score: 100.0 * score, demos: vec![] };
    let (program, candidates, sections, stop) = if args.optimizer == "simba" {
        let mut o = Simba::with_shared(metric).bsize(args.reflect.bsize).max_steps(args.reflect.max_steps);
        o.num_candidates = s.num_candidates.unwrap_or(6);
        o.max_demos = args.max_demos.unwrap_or(4);
        o.prompt_model = prompt;
        o.num_threads = args.concurrency;
        o.seed = args.seed;
        o.budget = s.budget();
        o.checkpoint = checkpoint;
        let run = o.compile_detailed(student, train).await?;
        let cands = run.candidates.iter().enumerate().map(|(i, c)| to_candidate(i, c.score)).collect();
        (run.program.clone(), cands, run.report_sections(), run.stop)
    } else {
        let r = &args.reflect;
        let mut o = Gepa::with_metric(metric, gepa_budget(args)?);
        o.reflection_lm = match other_lm(args, &r.reflection_model, &r.reflection_api_base)? {
            Some(lm) => Some(lm),
            None => prompt,
        };
        o.reflection_minibatch_size = r.reflection_minibatch_size;
        o.use_merge = !r.no_merge;
        o.max_merge_invocations = r.max_merges;
        o.pareto_selection = !r.current_best;
        o.num_threads = args.concurrency;
        o.seed = args.seed;
        o.lm_budget = s.budget();
        o.checkpoint = checkpoint;
        let run = o.compile_detailed(student, train, Some(val)).await?;
        let cands = run.candidates.iter().enumerate().map(|(i, c)| to_candidate(i, c.val_score)).collect();
        (run.program.clone(), cands, run.report_sections(), run.stop)
    };
    *SECTIONS.lock().unwrap_or_else(|e| e.into_inner()) = sections;
    eprintln!("{}: {stop}", args.optimizer);
    Ok((program, candidates))
}
