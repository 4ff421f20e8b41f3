//! `rdspy compile`: optimize a program's demos on a training set and save it.

use super::common::LmArgs;
use super::program::{build_lm, CliProgram, ProgramSource};
use anyhow::{bail, Result};
use rdspy::evaluate::{metric_by_name, Evaluate, SharedMetric};
use rdspy::optimize::report::Phase;
use rdspy::optimize::{BootstrapFewShot, BootstrapFewShotWithRandomSearch, LabeledFewShot, Optimizer};
use rdspy::Example;
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `rdspy compile`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  rdspy compile --lm local/qwen2.5-0.5b -s \"sentence -> label: Literal['positive', 'negative']\" \\\n      --optimizer bootstrap --train data/sst2/train.jsonl --val data/sst2/dev.jsonl --metric exact_match:label --out program.json --report report.html\n  rdspy compile --lm local/smollm2-135m -s \"sentence -> label: Literal['positive', 'negative']\" --optimizer knn --k 3 \\\n      --train data/sst2/train.jsonl --val data/sst2/dev.jsonl --val-limit 20 --metric exact_match:label --out knn.json\n  rdspy compile --program program.json --lm openai/gpt-4o-mini --optimizer random-search --train train.jsonl --metric f1 --out better.json --seed 3"
)]
pub struct Args {
    #[command(flatten)]
    pub program: ProgramSource,
    #[command(flatten)]
    pub lm: LmArgs,
    /// labeled (LabeledFewShot), bootstrap (BootstrapFewShot), random-search (BootstrapFewShotWithRandomSearch),
    /// copro (COPRO), mipro (MIPROv2), simba (SIMBA), gepa (GEPA) or knn (KNNFewShot: demos per input
    /// bootstrapped from its --k nearest training examples).
    #[arg(long, default_value = "bootstrap", value_parser = ["labeled", "bootstrap", "random-search", "copro", "mipro", "simba", "gepa", "knn"])]
    pub optimizer: String,
    /// Training examples (.jsonl, .json or .csv).
    #[arg(long)]
    pub train: PathBuf,
    /// Validation examples, for scoring candidates and the before/after report (default: the trainset).
    #[arg(long)]
    pub val: Option<PathBuf>,
    /// Only the first N validation examples.
    #[arg(long)]
    pub val_limit: Option<usize>,
    /// The metric: exact_match, f1 or passage_match, optionally `:field`.
    #[arg(long, default_value = "exact_match")]
    pub metric: String,
    /// Where to save the compiled program (DSPy's program JSON).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write a self-contained HTML compile report here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Bootstrapped demos per predictor (labeled: demos per predictor). DSPy's default is 4 (labeled 16).
    #[arg(long)]
    pub max_demos: Option<usize>,
    /// Total demos per predictor for bootstrap/random-search (DSPy's default 16).
    #[arg(long, default_value_t = 16)]
    pub max_labeled: usize,
    /// Random-search candidates after the three fixed ones (DSPy's default 16).
    #[arg(long, default_value_t = 16)]
    pub candidates: usize,
    /// Attempts per training example when bootstrapping.
    #[arg(long, default_value_t = 1)]
    pub max_rounds: usize,
    /// Compile directory: progress is journaled here as it goes; running again with the same
    /// directory (after Ctrl-C or a crash) continues without repeating finished LM calls.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// Seed of every random choice (same seed, same LM replies → same program).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Examples evaluated at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Failures tolerated (per bootstrap / per evaluation).
    #[arg(long, default_value_t = 10)]
    pub max_errors: usize,
    /// Skip scoring the program before and after on the valset.
    #[arg(long)]
    pub no_eval: bool,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
    /// Print `{"before", "after", "n", "seconds", "usage"}` as the last line of stdout (usage: the
    /// compile phase's LM calls; the report has the scoring phases too).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub search: Box<super::compile_search::SearchArgs>,
    #[command(flatten)]
    pub reflect: Box<super::compile_reflect::ReflectArgs>,
    #[command(flatten)]
    pub knn: super::compile_knn::KnnArgs,
}

/// Run the subcommand.
pub fn run(args: Args) -> Result<()> {
    let mut student = args.program.build()?;
    // Other optimizers tune the predictor itself; a loaded KNN program's per-input demos are dropped.
    if student.1.take().is_some() && args.optimizer != "knn" {
        eprintln!("note: the program is a KNN program; --optimizer {} compiles its predictor without the KNN demos", args.optimizer);
    }
    let metric = metric_by_name(&args.metric)?;
    let field = args.metric.split_once(':').map(|(_, f)| f).unwrap_or("answer");
    let keys = args.program.input_keys(&student);
    let loader = rdspy::data::Load::new(&keys).require([field]);
    let train = loader.file(&args.train)?;
    if train.is_empty() {
        bail!("{}: the training set is empty", args.train.display());
    }
    let mut val = match &args.val {
        Some(p) => loader.file(p)?,
        None => train.clone(),
    };
    if let Some(n) = args.val_limit {
        val.truncate(n);
    }
    let lm = build_lm(&args.lm)?;
    student.predictor_mut().lm = Some(lm.clone());
    let checkpoint = match &args.resume {
        Some(dir) => {
            let cp = rdspy::optimize::Checkpoint::open(dir)?;
            let recorded = cp.len();
            let digest = |xs: &[Example]| rdspy::optimize::checkpoint_key("data", &xs.iter().map(Example::to_json).collect::<Vec<_>>());
            cp.ensure_config(serde_json::json!({
                "optimizer": args.optimizer, "seed": args.seed, "metric": args.metric, "max_demos": args.max_demos,
                "max_labeled": args.max_labeled, "candidates": args.candidates, "max_rounds": args.max_rounds,
                "program": rdspy::optimize::program_state_of(&student), "model": args.lm.lm,
                "train": digest(&train), "val": digest(&val),
            }))?;
            if recorded > 0 {
                eprintln!("resuming from {} ({recorded} recorded steps)", cp.path().display());
            }
            Some(Arc::new(cp))
        }
        None => None,
    };
    let rt = tokio::runtime::Runtime::new()?;
    let started = std::time::Instant::now();
    let (outcome, usage) =
        rt.block_on(rdspy::trace::track_usage(compile(&args, &student, &train, &val, metric.clone(), checkpoint.clone())));
    let (compiled, candidates) = outcome?;
    let mut phases =
        vec![Phase { name: format!("compile ({})", args.optimizer), usage: usage.clone(), seconds: started.elapsed().as_secs_f64() }];
    let evaluate =
        Evaluate::with_shared(val.clone(), metric).num_threads(args.concurrency).max_errors(args.max_errors).display_progress(!args.quiet);
    let (before, after) = if args.no_eval {
        (None, None)
    } else {
        let t = std::time::Instant::now();
        let b = rt.block_on(evaluate.run(Arc::new(super::program::reset(&student))))?;
        phases.push(Phase { name: "scoring the baseline (valset)".into(), usage: b.usage.clone(), seconds: t.elapsed().as_secs_f64() });
        let t = std::time::Instant::now();
        let a = rt.block_on(evaluate.run(Arc::new(compiled.clone())))?;
        phases.push(Phase {
            name: "scoring the compiled program (valset)".into(),
            usage: a.usage.clone(),
            seconds: t.elapsed().as_secs_f64(),
        });
        (Some(b.score), Some(a.score))
    };
    let mut saved = compiled.clone();
    // The LM is a run-time choice (`--lm`), not part of the program file.
    saved.predictor_mut().lm = None;
    save_program(&saved, &args.out)?;
    let mut total = rdspy::lm::Usage::default();
    for u in usage.values() {
        total += *u;
    }
    if let Some(path) = &args.report {
        let mut sections = [super::compile_search::take_sections(), super::compile_reflect::take_sections()].concat();
        let mut demos_note = None;
        if let Some(first) = val.first().filter(|_| compiled.1.is_some()) {
            let t = std::time::Instant::now();
            let (section, usage) = rt.block_on(rdspy::trace::track_usage(super::compile_knn::report_section(&compiled, first)));
            phases.push(Phase { name: "report: one input's KNN demos".into(), usage, seconds: t.elapsed().as_secs_f64() });
            // The program is saved already; a failure here costs the report one example, not the compile.
            match section {
                Ok(s) => sections.extend(s),
                Err(e) => sections.push((
                    "Demos per input (KNNFewShot)".into(),
                    format!("<p>Could not bootstrap one input's demos: {}</p>", rdspy::optimize::report::esc(&e.to_string())),
                )),
            }
            demos_note = Some("picked per input by KNNFewShot; see \"Demos per input\" above.".to_string());
        }
        let report = rdspy::optimize::report::Report {
            optimizer: args.optimizer.clone(),
            model: args.lm.lm.clone(),
            metric: args.metric.clone(),
            train_size: train.len(),
            val_size: val.len(),
            baseline: before,
            final_score: after,
            candidates,
            phases,
            demos_note,
            seconds: started.elapsed().as_secs_f64(),
            sections,
        };
        rdspy::optimize::report::write(&report, &compiled, path)?;
    }
    let secs = started.elapsed().as_secs_f64();
    let show = |s: Option<f64>| s.map(|s| format!("{s}%")).unwrap_or_else(|| "-".into());
    if args.json {
        println!("{}", serde_json::json!({"before": before, "after": after, "n": val.len(), "seconds": secs, "usage": total}));
    } else {
        println!(
            "compiled with {} in {secs:.1}s: before {} after {} on {} validation examples; saved {}",
            args.optimizer,
            show(before),
            show(after),
            val.len(),
            args.out.display()
        );
    }
    Ok(())
}

type Candidates = Vec<rdspy::optimize::Candidate>;

async fn compile(
    args: &Args,
    student: &CliProgram,
    train: &[Example],
    val: &[Example],
    metric: SharedMetric,
    checkpoint: Option<Arc<rdspy::optimize::Checkpoint>>,
) -> rdspy::Result<(CliProgram, Candidates)> {
    if matches!(args.optimizer.as_str(), "copro" | "mipro") {
        return super::compile_search::compile(args, student, train, val, metric, checkpoint).await;
    }
    if matches!(args.optimizer.as_str(), "simba" | "gepa") {
        return super::compile_reflect::compile(args, student, train, val, metric, checkpoint).await;
    }
    let bootstrap = BootstrapFewShot {
        metric: Some(metric),
        max_bootstrapped_demos: args.max_demos.unwrap_or(4),
        max_labeled_demos: args.max_labeled,
        max_rounds: args.max_rounds,
        max_errors: args.max_errors,
        seed: args.seed,
        checkpoint,
        metric_threshold: None,
        teacher_settings: None,
    };
    match args.optimizer.as_str() {
        "labeled" => {
            let opt = LabeledFewShot { k: args.max_demos.unwrap_or(16), sample: true, seed: args.seed };
            Ok((opt.compile(student, train, None).await?, vec![]))
        }
        "bootstrap" => Ok((bootstrap.compile(student, train, None).await?, vec![])),
        "knn" => Ok((super::compile_knn::compile(args, student, train, bootstrap).await?, vec![])),
        _ => {
            let rs = BootstrapFewShotWithRandomSearch {
                bootstrap,
                num_candidate_programs: args.candidates,
                num_threads: args.concurrency,
                stop_at_score: None,
                labeled_sample: true,
                display_progress: !args.quiet,
            };
            rs.compile_with_candidates(student, train, Some(val)).await
        }
    }
}

/// Save as DSPy program JSON. A bare `Predict` (the only predictor, named `self`) is written
/// flat — its state at the top level plus `metadata` — because that is what Python's
/// `dspy.Predict(...).load(path)` reads; `rdspy --program` reads both forms.
fn save_program(program: &CliProgram, path: &std::path::Path) -> Result<()> {
    let mut state = rdspy::save::dump_state(program);
    if let Some(obj) = state.as_object_mut() {
        if let (Some(serde_json::Value::Object(me)), 2) = (obj.get("self").cloned(), obj.len()) {
            let metadata = obj.remove("metadata").unwrap_or_default();
            let mut flat = me;
            flat.insert("metadata".into(), metadata);
            state = serde_json::Value::Object(flat);
        }
    }
    super::compile_knn::save_into(program, &mut state);
    let mut text = serde_json::to_string_pretty(&state)?;
    text.push('\n');
    rdspy::save::write_atomic(path, text.as_bytes())?;
    Ok(())
}
