//! Compile-report sections for COPRO and MIPROv2: why the run stopped and what it spent, every
//! proposal in full, and every trial (the report's score plot takes [`trial_candidates`]).

use super::report::esc;
use super::{Candidate, CoproRun, MiproRun, StopReason};
use crate::lm::Usage;
use std::fmt::Write as _;

fn stop_section(stop: &StopReason, spent: &Usage) -> (String, String) {
    let body = format!(
        "<p>{}.</p><p>Spent: {} LM calls, {} tokens ({} prompt, {} completion), ${:.4}.</p>",
        esc(&stop.to_string()),
        spent.calls,
        spent.total_tokens,
        spent.prompt_tokens,
        spent.completion_tokens,
        spent.cost
    );
    ("Run".into(), body)
}

/// COPRO's sections: the run, and every scored (instruction, prefix) in order.
///
/// ```
/// use rdspy::optimize::{search_report, CoproRun, StopReason};
/// let run = CoproRun { program: (), candidates: vec![], trials: vec![], stop: StopReason::Finished, spent: Default::default() };
/// let sections = search_report::copro_sections(&run);
/// assert_eq!(sections[0].0, "Run");
/// ```
pub fn copro_sections<P>(run: &CoproRun<P>) -> Vec<(String, String)> {
    let mut t = String::from("<table><tr><th>#</th><th>round</th><th>predictor</th><th>score</th><th>instruction</th><th>prefix</th></tr>");
    let best = run.candidates.first().map(|c| (c.instruction.clone(), c.score));
    for (i, c) in run.trials.iter().enumerate() {
        let mark = if best.as_ref().is_some_and(|(ins, s)| *ins == c.instruction && *s == c.score) { " class=\"best\"" } else { "" };
        let _ = write!(
            t,
            "<tr{mark}><td>{}</td><td>{}</td><td>{}</td><td>{:.2}%</td><td><pre>{}</pre></td><td>{}</td></tr>",
            i + 1,
            c.depth + 1,
            esc(&c.predictor),
            c.score,
            esc(&c.instruction),
            esc(&c.prefix)
        );
    }
    t.push_str("</table>");
    vec![stop_section(&run.stop, &run.spent), ("COPRO proposals and scores".into(), t)]
}

/// MIPROv2's sections: the run, the dataset summary, every instruction candidate in full, the
/// demo sets and the trial log.
pub fn mipro_sections<P>(run: &MiproRun<P>) -> Vec<(String, String)> {
    let mut out = vec![stop_section(&run.stop, &run.spent)];
    if let Some(s) = &run.dataset_summary {
        out.push(("Dataset summary (written by the prompt model)".into(), format!("<pre>{}</pre>", esc(s))));
    }
    let mut p = String::new();
    for (i, cands) in run.instructions.iter().enumerate() {
        let _ = write!(p, "<h3>Predictor {i}</h3><table><tr><th>#</th><th>instruction</th></tr>");
        for (j, ins) in cands.iter().enumerate() {
            let note = if j == 0 { " (original)" } else { "" };
            let _ = write!(p, "<tr><td>{j}{note}</td><td><pre>{}</pre></td></tr>", esc(ins));
        }
        p.push_str("</table>");
        if let Some(sets) = run.demo_sets.get(i) {
            let sizes: Vec<String> = sets.iter().enumerate().map(|(k, s)| format!("set {k}: {} demos", s.len())).collect();
            let _ = write!(p, "<p>Demo sets: {}</p>", sizes.join(", "));
        }
    }
    out.push(("MIPROv2 instruction candidates".into(), p));
    let mut t = String::from("<table><tr><th>trial</th><th>evaluation</th><th>(instruction, demo set) per predictor</th><th>score</th><th>examples evaluated so far</th></tr>");
    for tr in &run.trials {
        let params: Vec<String> = tr.params.iter().map(|(a, b)| format!("({a}, {b})")).collect();
        let mark = if tr.full_eval && tr.score == run.best_score { " class=\"best\"" } else { "" };
        let _ = write!(
            t,
            "<tr{mark}><td>{}</td><td>{}</td><td>{}</td><td>{:.2}%</td><td>{}</td></tr>",
            tr.number,
            if tr.full_eval { "full" } else { "minibatch" },
            params.join(" "),
            tr.score,
            tr.total_eval_calls
        );
    }
    t.push_str("</table>");
    out.push(("MIPROv2 trials".into(), t));
    out
}

/// Trials as report [`Candidate`]s (the trial number as `seed`), for the score plot.
pub fn trial_candidates(scores: impl IntoIterator<Item = (i64, f64)>) -> Vec<Candidate> {
    scores.into_iter().map(|(seed, score)| Candidate { seed, score, demos: Vec::new() }).collect()
}
