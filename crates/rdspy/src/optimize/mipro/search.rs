//! MIPROv2's compile: demo sets, proposals, then the TPE search with minibatches and periodic
//! full evaluations.

use super::proposer::{dataset_summary, program_code, Grounded};
use super::{MiproV2, Tpe};
use crate::lm::Usage;
use crate::optimize::scoring::{journaled, Scorer};
use crate::optimize::{BootstrapFewShot, BudgetMeter, LabeledFewShot, Program, StopReason};
use crate::{Error, Example, Result};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// Per predictor: (instruction index, demo-set index).
type Params = Vec<(usize, usize)>;

/// One scored trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MiproTrial {
    /// DSPy's trial number (1 is the default program).
    pub number: usize,
    /// True for a full-valset evaluation, false for a minibatch.
    pub full_eval: bool,
    /// Per predictor: (instruction index, demo-set index; 0 in zero-shot mode).
    pub params: Vec<(usize, usize)>,
    /// Score, 0–100.
    pub score: f64,
    /// Examples evaluated so far.
    pub total_eval_calls: usize,
}

/// What [`MiproV2::compile_detailed`] returns.
#[derive(Debug, Clone)]
pub struct MiproRun<P> {
    /// The best program on full evaluations.
    pub program: P,
    /// Its full-valset score.
    pub best_score: f64,
    /// Every trial in order (minibatch and full evaluations).
    pub trials: Vec<MiproTrial>,
    /// Instruction candidates per predictor (index 0 is the original).
    pub instructions: Vec<Vec<String>>,
    /// Demo sets per predictor (empty in zero-shot mode).
    pub demo_sets: Vec<Vec<Vec<Example>>>,
    /// The dataset summary the proposer used.
    pub dataset_summary: Option<String>,
    /// Why it stopped.
    pub stop: StopReason,
    /// LM usage of the compile.
    pub spent: Usage,
}

/// DSPy's `create_minibatch`: `size` distinct examples drawn with `rng`.
fn minibatch(set: &[Example], size: usize, rng: &mut ChaCha8Rng) -> Vec<Example> {
    rand::seq::index::sample(rng, set.len(), size.min(set.len())).into_iter().map(|i| set[i].clone()).collect()
}

fn with_params<P: Program>(base: &P, params: &[(usize, usize)], instructions: &[Vec<String>], demos: Option<&[Vec<Vec<Example>>]>) -> P {
    let mut p = base.clone();
    for (i, (_, pred)) in p.named_predictors_mut().into_iter().enumerate() {
        let (ins, d) = params[i];
        pred.set_signature(pred.signature().with_instructions(instructions[i][ins].clone()));
        if let Some(demos) = demos {
            pred.demos = demos[i][d].clone();
        }
    }
    p
}

impl MiproV2 {
    /// Compile and return the best program with the trial log, the candidates and why it stopped.
    pub async fn compile_detailed<P: Program>(&self, student: &P, trainset: &[Example], valset: Option<&[Example]>) -> Result<MiproRun<P>> {
        let meter = self.budget.meter();
        if let Some(cp) = &self.checkpoint {
            crate::optimize::scoring::ensure_optimizer_config(
                cp,
                "MIPROv2",
                json!({"seed": self.seed, "auto": self.auto, "num_candidates": self.num_candidates,
                "num_trials": self.num_trials, "train": trainset.len(), "val": valset.map(<[Example]>::len)}),
            )?;
        }
        let run = self.run(student, trainset, valset, &meter);
        match &self.task_model {
            Some(lm) => crate::settings::context(crate::settings::Settings::new().lm(meter.wrap(lm.clone())), run).await,
            None => meter.scope(run).await,
        }
    }

    async fn run<P: Program>(
        &self,
        student: &P,
        trainset: &[Example],
        valset: Option<&[Example]>,
        meter: &Arc<BudgetMeter>,
    ) -> Result<MiproRun<P>> {
        let zeroshot = self.max_bootstrapped_demos == 0 && self.max_labeled_demos == 0;
        if trainset.is_empty() {
            return Err(Error::InvalidInput("MIPROv2: the trainset is empty".into()));
        }
        let mut rng = crate::data::rng_for(self.seed);
        let (trainset, valset): (Vec<Example>, Vec<Example>) = match valset {
            Some([]) => return Err(Error::InvalidInput("MIPROv2: the valset must have at least 1 example".into())),
            Some(v) => (trainset.to_vec(), v.to_vec()),
            None if trainset.len() < 2 => {
                return Err(Error::InvalidInput("MIPROv2: the trainset needs at least 2 examples when no valset is given".into()))
            }
            None => {
                let cut = trainset.len() - ((trainset.len() as f64 * 0.8) as usize).clamp(1, 1000);
                (trainset[..cut].to_vec(), trainset[cut..].to_vec())
            }
        };
        let n_preds = student.named_predictors().len();
        let (num_trials, valset, use_minibatch, n_instr, n_demo) = match self.auto {
            Some(auto) => {
                let (n, val_size) = auto.settings();
                let val = minibatch(&valset, val_size, &mut rng);
                let mb = val.len() > 50;
                (Self::num_trials_for(n_preds, zeroshot, n), val, mb, if zeroshot { n } else { n / 2 }, n)
            }
            None => match (self.num_candidates, self.num_trials) {
                (Some(c), Some(t)) => (t, valset, self.minibatch, c, c),
                (Some(c), None) => {
                    return Err(Error::InvalidInput(format!(
                        "MIPROv2: with auto = None, num_trials must be set too; for num_candidates = {c} about {} trials is a good start",
                        Self::num_trials_for(n_preds, zeroshot, c)
                    )))
                }
                _ => return Err(Error::InvalidInput("MIPROv2: with auto = None, set num_candidates and num_trials".into())),
            },
        };
        if use_minibatch && self.minibatch_size > valset.len() {
            return Err(Error::InvalidInput(format!(
                "MIPROv2: the minibatch size ({}) cannot exceed the valset size ({})",
                self.minibatch_size,
                valset.len()
            )));
        }
        tracing::info!(num_trials, minibatch = use_minibatch, n_demo, n_instr, valset = valset.len(), "MIPROv2 settings");
        let program = student.clone();
        let done = |stop: StopReason, trials: Vec<MiproTrial>| MiproRun {
            program: program.clone(),
            best_score: trials.first().map_or(0.0, |t| t.score),
            trials,
            instructions: Vec::new(),
            demo_sets: Vec::new(),
            dataset_summary: None,
            stop,
            spent: meter.spent(),
        };
        // Step 1: demo sets.
        let demo_sets = match self.demo_sets(&meter.bind(&program), &trainset, n_demo, zeroshot, &mut rng).await {
            Ok(d) => d,
            Err(_) if meter.exhausted().is_some() => return Ok(done(StopReason::Budget(meter.exhausted().expect("checked")), Vec::new())),
            Err(e) => return Err(e),
        };
        // Step 2: instructions.
        let prompt_lm = self.prompt_model.clone().map(|lm| meter.wrap(lm));
        let summary = if self.data_aware_proposer {
            let key = crate::optimize::checkpoint::key(
                "mipro-summary",
                &[json!(trainset.iter().map(Example::to_json).collect::<Vec<_>>()), json!(self.view_data_batch_size)],
            );
            match journaled(self.checkpoint.as_ref(), meter, &key, async {
                Ok(json!(dataset_summary(prompt_lm.as_ref(), &trainset, self.view_data_batch_size).await?))
            })
            .await
            {
                Ok(v) => v.as_str().map(str::to_string),
                Err(e) => {
                    tracing::warn!(error = %e, "MIPROv2: no dataset summary; proposing without it");
                    None
                }
            }
        } else {
            None
        };
        let proposer = Grounded {
            lm: prompt_lm,
            meter,
            checkpoint: self.checkpoint.as_ref(),
            program_aware: self.program_aware_proposer,
            tip_aware: self.tip_aware_proposer,
            fewshot_aware: self.fewshot_aware_proposer,
            init_temperature: self.init_temperature,
            summary: summary.clone(),
            code: program_code(&program),
        };
        let mut instructions = match proposer.propose(&program, Some(&demo_sets), n_instr, &mut rng).await {
            Ok(i) => i,
            Err(_) if meter.exhausted().is_some() => return Ok(done(StopReason::Budget(meter.exhausted().expect("checked")), Vec::new())),
            Err(e) => return Err(e),
        };
        for (i, (_, pred)) in program.named_predictors().into_iter().enumerate() {
            if let Some(first) = instructions[i].first_mut() {
                *first = pred.signature().instructions().to_string();
            }
            for (j, ins) in instructions[i].iter().enumerate() {
                tracing::info!(predictor = i, candidate = j, instruction = %ins, "MIPROv2 proposed instruction");
            }
        }
        let demos = if zeroshot { None } else { Some(demo_sets.as_slice()) };
        // Step 3: search.
        let scorer = Scorer {
            metric: self.metric.clone(),
            num_threads: self.num_threads,
            max_errors: self.max_errors,
            meter: meter.clone(),
            checkpoint: self.checkpoint.clone(),
            errors_score_zero: true,
        };
        let choices: Vec<usize> =
            (0..n_preds).flat_map(|i| std::iter::once(instructions[i].len()).chain(demos.map(|d| d[i].len()))).collect();
        let mut tpe = Tpe::new(choices, self.seed);
        let to_flat =
            |p: &[(usize, usize)]| -> Vec<usize> { p.iter().flat_map(|&(a, b)| std::iter::once(a).chain(demos.map(|_| b))).collect() };
        let from_flat = |x: &[usize]| -> Vec<(usize, usize)> {
            if demos.is_some() {
                x.chunks(2).map(|c| (c[0], c[1])).collect()
            } else {
                x.iter().map(|&a| (a, 0)).collect()
            }
        };
        let steps = self.minibatch_full_eval_steps.max(1);
        let adjusted = if use_minibatch { num_trials + num_trials / steps + 1 + usize::from(num_trials % steps != 0) } else { num_trials };
        let default_params = vec![(0, 0); n_preds];
        let Some(default) = scorer.score(&program, &valset).await? else {
            return Ok(done(StopReason::Budget(meter.exhausted().expect("dropped only on budget")), Vec::new()));
        };
        let mut total_eval = valset.len();
        let mut trials = vec![MiproTrial {
            number: 1,
            full_eval: true,
            params: default_params.clone(),
            score: default.score,
            total_eval_calls: total_eval,
        }];
        tpe.tell(to_flat(&default_params), default.score);
        let (mut best_score, mut best_program) = (default.score, program.clone());
        // Mean minibatch scores per parameter combination (in first-seen order) and the fully evaluated ones.
        let mut by_params: Vec<(Params, Vec<f64>)> = Vec::new();
        let mut full_done: HashMap<Vec<(usize, usize)>, f64> = HashMap::new();
        let mut next_number = 1usize;
        let mut stop = StopReason::Finished;
        for _ in 0..num_trials {
            if let Some(e) = meter.exhausted() {
                stop = StopReason::Budget(e);
                break;
            }
            let trial_num = next_number + 1;
            next_number += 1;
            let params = from_flat(&tpe.suggest());
            let candidate = with_params(&program, &params, &instructions, demos);
            let batch = if use_minibatch { minibatch(&valset, self.minibatch_size, &mut rng) } else { valset.clone() };
            let Some(s) = scorer.score(&candidate, &batch).await? else {
                stop = StopReason::Budget(meter.exhausted().expect("dropped only on budget"));
                break;
            };
            total_eval += batch.len();
            tpe.tell(to_flat(&params), s.score);
            tracing::info!(trial = trial_num, score = s.score, ?params, minibatch = use_minibatch, "MIPROv2 trial");
            trials.push(MiproTrial {
                number: trial_num,
                full_eval: !use_minibatch,
                params: params.clone(),
                score: s.score,
                total_eval_calls: total_eval,
            });
            if !use_minibatch && s.score > best_score {
                (best_score, best_program) = (s.score, candidate.clone());
            }
            match by_params.iter_mut().find(|(p, _)| *p == params) {
                Some((_, scores)) => scores.push(s.score),
                None => by_params.push((params.clone(), vec![s.score])),
            }
            if use_minibatch && (trial_num % (steps + 1) == 0 || trial_num == adjusted - 1) {
                let mut ranked: Vec<&(Params, Vec<f64>)> = by_params.iter().collect();
                ranked.sort_by(|a, b| mean(&b.1).total_cmp(&mean(&a.1)));
                let Some((params, _)) = ranked.into_iter().find(|(p, _)| !full_done.contains_key(p)).cloned() else { continue };
                let candidate = with_params(&program, &params, &instructions, demos);
                let Some(full) = scorer.score(&candidate, &valset).await? else {
                    stop = StopReason::Budget(meter.exhausted().expect("dropped only on budget"));
                    break;
                };
                tpe.tell(to_flat(&params), full.score);
                next_number += 1;
                total_eval += valset.len();
                full_done.insert(params.clone(), full.score);
                tracing::info!(trial = trial_num + 1, score = full.score, ?params, "MIPROv2 full evaluation");
                trials.push(MiproTrial { number: trial_num + 1, full_eval: true, params, score: full.score, total_eval_calls: total_eval });
                if full.score > best_score {
                    (best_score, best_program) = (full.score, candidate);
                }
            }
        }
        if let StopReason::Budget(e) = &stop {
            tracing::warn!("MIPROv2 {e}; returning the best fully evaluated program so far");
        }
        Ok(MiproRun {
            program: best_program,
            best_score,
            trials,
            instructions,
            demo_sets: if zeroshot { Vec::new() } else { demo_sets },
            dataset_summary: summary,
            stop,
            spent: meter.spent(),
        })
    }

    /// DSPy's `create_n_fewshot_demo_sets`: `n` demo sets per predictor (seeds -3..n-3).
    async fn demo_sets<P: Program>(
        &self,
        student: &P,
        trainset: &[Example],
        n: usize,
        zeroshot: bool,
        rng: &mut ChaCha8Rng,
    ) -> Result<Vec<Vec<Vec<Example>>>> {
        let (max_labeled, max_boot) = if zeroshot { (0, 3) } else { (self.max_labeled_demos, self.max_bootstrapped_demos) };
        let n_preds = student.named_predictors().len();
        let mut sets: Vec<Vec<Vec<Example>>> = vec![Vec::new(); n_preds];
        let boot = BootstrapFewShot {
            metric: Some(self.metric.clone()),
            metric_threshold: self.metric_threshold,
            teacher_settings: self.teacher_settings.clone(),
            max_bootstrapped_demos: max_boot,
            max_labeled_demos: max_labeled,
            max_rounds: 1,
            max_errors: self.max_errors,
            seed: 0,
            checkpoint: self.checkpoint.clone(),
        };
        for seed in -3..(n as i64 - 3) {
            let program = match seed {
                -3 => crate::optimize::reset_copy(student),
                -2 if max_labeled > 0 => LabeledFewShot { k: max_labeled, sample: true, seed: 0 }.apply(student, trainset),
                -1 => boot.compile_with_teacher(student, None, trainset).await?,
                _ => {
                    let mut shuffled = trainset.to_vec();
                    shuffled.shuffle(rng);
                    let size = rng.gen_range(1..=max_boot.max(1));
                    BootstrapFewShot { max_bootstrapped_demos: size, ..boot.clone() }.compile_with_teacher(student, None, &shuffled).await?
                }
            };
            for (i, (_, pred)) in program.named_predictors().into_iter().enumerate() {
                sets[i].push(pred.demos.clone());
            }
        }
        Ok(sets)
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}
