//! The compile report: one self-contained HTML file (inline CSS and SVG, no scripts, no network
//! fetches) with the scores before and after, every candidate, the chosen demos and
//! instructions per predictor, token usage, wall time and each predictor's final prompt.

use super::Candidate;
use crate::lm::Usage;
use crate::predict::Predictors;
use crate::{Error, Result};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// What a compile did, for [`write`].
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The optimizer's name.
    pub optimizer: String,
    /// The LM the program ran on.
    pub model: String,
    /// The metric's name.
    pub metric: String,
    /// Training examples.
    pub train_size: usize,
    /// Validation examples.
    pub val_size: usize,
    /// Validation score of the zero-shot program (0–100).
    pub baseline: Option<f64>,
    /// Validation score of the compiled program.
    pub final_score: Option<f64>,
    /// Candidates tried, in order (random search).
    pub candidates: Vec<Candidate>,
    /// LM usage and wall time of each phase (compile, scoring the baseline, scoring the result…), in order.
    pub phases: Vec<Phase>,
    /// Set when the program's demos are not fixed (KNNFewShot picks them per input): said in
    /// place of each predictor's demo list, which is empty.
    pub demos_note: Option<String>,
    /// Wall time of the whole command.
    pub seconds: f64,
    /// Sections an optimizer adds, as (title, HTML body): trials, proposals, why it stopped.
    pub sections: Vec<(String, String)>,
}

/// One phase of a compile command, for the report's usage table.
#[derive(Debug, Clone, Default)]
pub struct Phase {
    /// What ran: "compile", "baseline scoring", …
    pub name: String,
    /// LM usage of the phase, per model.
    pub usage: BTreeMap<String, Usage>,
    /// Wall time of the phase.
    pub seconds: f64,
}

/// Escape text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn score(s: Option<f64>) -> String {
    s.map(|s| format!("{s:.2}%")).unwrap_or_else(|| "not measured".into())
}

/// An SVG line plot of candidate scores (and the running best) over trials.
fn plot(candidates: &[Candidate]) -> String {
    if candidates.is_empty() {
        return "<p>This optimizer does not try candidates; see the scores above.</p>".into();
    }
    let (w, h, pad) = (640.0, 240.0, 36.0);
    let n = candidates.len().max(2) as f64 - 1.0;
    let x = |i: usize| pad + (w - 2.0 * pad) * i as f64 / n;
    let y = |s: f64| h - pad - (h - 2.0 * pad) * s.clamp(0.0, 100.0) / 100.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"score over trials\">"
    );
    for t in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let _ = write!(
            svg,
            "<line x1=\"{pad}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/><text x=\"4\" y=\"{:.1}\" font-size=\"10\">{t}</text>",
            w - pad,
            y(t),
            y(t),
            y(t) + 3.0
        );
    }
    let pts: Vec<String> = candidates.iter().enumerate().map(|(i, c)| format!("{:.1},{:.1}", x(i), y(c.score))).collect();
    let mut best = f64::MIN;
    let best_pts: Vec<String> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            best = best.max(c.score);
            format!("{:.1},{:.1}", x(i), y(best))
        })
        .collect();
    let _ = write!(svg, "<polyline fill=\"none\" stroke=\"#bbb\" stroke-dasharray=\"4 3\" points=\"{}\"/>", best_pts.join(" "));
    let _ = write!(svg, "<polyline fill=\"none\" stroke=\"#2563eb\" stroke-width=\"2\" points=\"{}\"/>", pts.join(" "));
    for (i, c) in candidates.iter().enumerate() {
        let _ = write!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"#2563eb\"><title>seed {} · {:.2}%</title></circle><text x=\"{:.1}\" y=\"{}\" font-size=\"9\" text-anchor=\"middle\">{}</text>",
            x(i),
            y(c.score),
            c.seed,
            c.score,
            x(i),
            h - pad + 14.0,
            c.seed
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">candidate seed (blue: score, dashed: best so far)</text></svg>",
        w / 2.0,
        h - 4.0
    );
    svg
}

/// Render the report as HTML.
pub fn render(report: &Report, program: &impl Predictors) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>rdspy compile report</title><style>\
body{{font:14px/1.45 system-ui,sans-serif;max-width:960px;margin:24px auto;padding:0 16px;color:#111}}\
table{{border-collapse:collapse;margin:8px 0}}td,th{{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}}\
pre{{background:#f6f8fa;padding:8px;white-space:pre-wrap;word-break:break-word;max-height:480px;overflow:auto}}\
.big{{font-size:28px;font-weight:600}}.best{{background:#ecfdf5}}</style></head><body>\
<h1>rdspy compile report</h1>"
    );
    let delta = match (report.baseline, report.final_score) {
        (Some(b), Some(a)) => format!(" ({:+.2} points)", a - b),
        _ => String::new(),
    };
    let headline = if report.baseline.is_none() && report.final_score.is_none() {
        "<p>Validation scores of the baseline and the compiled program were not measured (<code>--no-eval</code>).</p>".to_string()
    } else {
        format!(
            "<p>Validation score, baseline → compiled program:</p><p class=\"big\">{} → {}{}</p>",
            score(report.baseline),
            score(report.final_score),
            delta
        )
    };
    let _ = write!(
        h,
        "{}<table><tr><th>optimizer</th><td>{}</td></tr><tr><th>model</th><td>{}</td></tr>\
<tr><th>metric</th><td>{}</td></tr><tr><th>train / validation examples</th><td>{} / {}</td></tr><tr><th>wall time</th><td>{:.1} s</td></tr></table>",
        headline,
        esc(&report.optimizer),
        esc(&report.model),
        esc(&report.metric),
        report.train_size,
        report.val_size,
        report.seconds
    );
    usage_table(&mut h, &report.phases);
    h.push_str("</table><h2>Candidates</h2>");
    h.push_str(&plot(&report.candidates));
    if !report.candidates.is_empty() {
        let best = report.candidates.iter().map(|c| c.score).fold(f64::MIN, f64::max);
        let mut marked = false;
        h.push_str("<table><tr><th>#</th><th>seed</th><th>score</th><th>demos per predictor</th></tr>");
        for (i, c) in report.candidates.iter().enumerate() {
            let is_best = !marked && c.score == best;
            marked |= is_best;
            let demos: Vec<String> = c.demos.iter().map(|(n, d)| format!("{}: {}", esc(n), d.len())).collect();
            let _ = write!(
                h,
                "<tr{}><td>{i}</td><td>{}</td><td>{:.2}%</td><td>{}</td></tr>",
                if is_best { " class=\"best\"" } else { "" },
                c.seed,
                c.score,
                demos.join(", ")
            );
        }
        h.push_str("</table>");
    }
    for (title, body) in &report.sections {
        let _ = write!(h, "<h2>{}</h2>{body}", esc(title));
    }
    h.push_str("<h2>Compiled predictors</h2>");
    for (name, p) in program.named_predictors() {
        let _ = write!(h, "<h3>{}</h3><p><b>Instructions:</b> {}</p>", esc(&name), esc(p.signature().instructions()));
        match &report.demos_note {
            Some(note) if p.demos.is_empty() => {
                let _ = write!(h, "<p><b>Demos:</b> {}</p><table>", esc(note));
            }
            _ => {
                let _ = write!(h, "<p><b>Demos ({}):</b></p><table>", p.demos.len());
            }
        }
        for d in &p.demos {
            // DSPy's `augmented` flag (a bootstrapped demo) is bookkeeping, not a field the LM sees.
            let bootstrapped = d.get("augmented").and_then(Value::as_bool) == Some(true);
            let tag = if bootstrapped { "<i>bootstrapped</i><br>" } else { "" };
            let _ = write!(h, "<tr><td>{tag}{}</td></tr>", example_html(d));
        }
        h.push_str("</table><p><b>Final prompt</b> (inputs shown as placeholders):</p>");
        let inputs: Map<String, Value> =
            p.signature().input_fields().map(|f| (f.name.clone(), Value::String(format!("{{{}}}", f.name)))).collect();
        for m in p.preview(&inputs) {
            let _ = write!(h, "<p><i>{}</i></p><pre>{}</pre>", esc(&m.role), esc(&m.content));
        }
    }
    h.push_str("</body></html>\n");
    h
}

/// Calls, tokens, cost and time per phase and model, with a total row per model.
fn usage_table(h: &mut String, phases: &[Phase]) {
    h.push_str("<h2>Token usage and time per phase</h2>");
    if phases.is_empty() {
        h.push_str("<p>No phase was recorded.</p>");
        return;
    }
    h.push_str(
        "<table><tr><th>phase</th><th>model</th><th>calls</th><th>cached</th><th>prompt</th><th>completion</th><th>total</th><th>cost (USD)</th><th>wall time</th></tr>",
    );
    let row = |h: &mut String, phase: &str, model: &str, u: &Usage, secs: Option<f64>| {
        let time = secs.map(|s| format!("{s:.1} s")).unwrap_or_default();
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{time}</td></tr>",
            esc(phase),
            esc(model),
            u.calls,
            u.cached_calls,
            u.prompt_tokens,
            u.completion_tokens,
            u.total_tokens,
            u.cost
        );
    };
    let mut totals: BTreeMap<&str, Usage> = BTreeMap::new();
    for p in phases {
        if p.usage.is_empty() {
            // A phase without LM calls (KNN's compile only embeds) still shows its time.
            row(h, &p.name, "—", &Usage::default(), Some(p.seconds));
        }
        for (i, (m, u)) in p.usage.iter().enumerate() {
            row(h, &p.name, m, u, (i == 0).then_some(p.seconds));
            *totals.entry(m).or_default() += *u;
        }
    }
    let secs: f64 = phases.iter().map(|p| p.seconds).sum();
    for (i, (m, u)) in totals.iter().enumerate() {
        row(h, "all phases", m, u, (i == 0).then_some(secs));
    }
    h.push_str("</table><p>A call the LM cache answered counts under <i>cached</i>, with no tokens and no cost.</p>");
}

/// An example's fields as `<b>key</b>: value` lines (DSPy's `augmented` flag is bookkeeping and left out).
pub fn example_html(ex: &crate::Example) -> String {
    let fields: Vec<String> =
        ex.iter().filter(|(k, _)| *k != "augmented").map(|(k, v)| format!("<b>{}</b>: {}", esc(k), esc(&text(v)))).collect();
    fields.join("<br>")
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Write the report atomically.
pub fn write(report: &Report, program: &impl Predictors, path: impl AsRef<Path>) -> Result<()> {
    let html = render(report, program);
    crate::save::write_atomic(path.as_ref(), html.as_bytes()).map_err(|e| match e {
        Error::Io { .. } => e,
        other => Error::Other(format!("writing the compile report: {other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::predict::Predict;
    use crate::Signature;

    fn usage(calls: u64, tokens: u64) -> BTreeMap<String, Usage> {
        let u = Usage { prompt_tokens: tokens, completion_tokens: 1, total_tokens: tokens + 1, cost: 0.0, calls, cached_calls: 1 };
        [("local/qwen".to_string(), u)].into()
    }

    #[test]
    fn usage_is_shown_per_phase_with_totals_and_knn_demos_are_described() {
        let program = Predict::new(Signature::parse("text -> label").unwrap());
        let report = Report {
            phases: vec![
                Phase { name: "compile (knn)".into(), usage: BTreeMap::new(), seconds: 0.5 },
                Phase { name: "scoring the baseline".into(), usage: usage(3, 100), seconds: 2.0 },
                Phase { name: "scoring the compiled program".into(), usage: usage(12, 900), seconds: 9.0 },
            ],
            demos_note: Some("picked per input".into()),
            ..Report::default()
        };
        let html = render(&report, &program);
        // A phase without LM calls keeps its row (and time).
        assert!(html.contains("<tr><td>compile (knn)</td><td>—</td><td>0</td><td>0</td>"), "{html}");
        assert!(html.contains("<tr><td>scoring the baseline</td><td>local/qwen</td><td>3</td><td>1</td><td>100</td><td>1</td><td>101</td>"));
        // Totals: 15 calls, 1000 prompt + 2 completion tokens, 11.5 s.
        assert!(html.contains(
            "<tr><td>all phases</td><td>local/qwen</td><td>15</td><td>2</td><td>1000</td><td>2</td><td>1002</td><td>0.0000</td><td>11.5 s</td></tr>"
        ));
        assert!(html.contains("<b>Demos:</b> picked per input") && !html.contains("Demos (0)"));

        let fixed = Report::default();
        let html = render(&fixed, &program);
        assert!(html.contains("Demos (0)") && html.contains("No phase was recorded"));
    }
}
