//! GEPA's part of the HTML compile report: spend, every candidate with its full instructions,
//! the Pareto frontier, every proposal, and validation score over metric calls.

use super::GepaResult;
use std::fmt::Write as _;

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// An SVG of `(x, y)` points (y in 0–1) with a running-best line: scores over time.
pub(crate) fn plot(points: &[(f64, f64)], x_label: &str) -> String {
    if points.is_empty() {
        return String::new();
    }
    let (w, h, pad) = (640.0, 220.0, 36.0);
    let xmax = points.iter().map(|p| p.0).fold(1.0, f64::max);
    let x = |v: f64| pad + (w - 2.0 * pad) * v / xmax;
    let y = |s: f64| h - pad - (h - 2.0 * pad) * s.clamp(0.0, 1.0);
    let mut svg =
        format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"score over time\">");
    for t in [0.0, 0.5, 1.0] {
        let _ = write!(
            svg,
            "<line x1=\"{pad}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/><text x=\"4\" y=\"{:.1}\" font-size=\"10\">{t}</text>",
            w - pad,
            y(t),
            y(t),
            y(t) + 3.0
        );
    }
    let mut best = f64::MIN;
    let mut best_pts = Vec::new();
    for (px, py) in points {
        best = best.max(*py);
        best_pts.push(format!("{:.1},{:.1}", x(*px), y(best)));
        let _ = write!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"#2563eb\"><title>{px} · {py:.3}</title></circle>",
            x(*px),
            y(*py)
        );
    }
    let _ = write!(svg, "<polyline fill=\"none\" stroke=\"#16a34a\" points=\"{}\"/>", best_pts.join(" "));
    let _ = write!(
        svg,
        "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{} (blue: score, green: best so far)</text></svg>",
        w / 2.0,
        h - 4.0,
        esc(x_label)
    );
    svg
}

impl<P> GepaResult<P> {
    /// Report sections as `(title, HTML body)`.
    ///
    /// ```
    /// # use rdspy::optimize::gepa::{GepaResult, ParetoFront};
    /// let r = GepaResult { program: (), best: 0, candidates: vec![], front: ParetoFront::new(&[1.0]), proposals: vec![],
    ///     metric_calls: 1, max_metric_calls: 10, full_evals: 1, stop: rdspy::optimize::StopReason::Finished };
    /// assert_eq!(r.report_sections()[0].0, "GEPA search");
    /// ```
    pub fn report_sections(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut s = format!(
            "<p>{} of {} metric calls, {} full validation evaluations, {} candidates, {} proposals; {}.</p>",
            self.metric_calls,
            self.max_metric_calls,
            self.full_evals,
            self.candidates.len(),
            self.proposals.len(),
            esc(&self.stop.to_string())
        );
        let pts: Vec<(f64, f64)> = self.candidates.iter().map(|c| (c.discovered_at as f64, c.val_score)).collect();
        s.push_str(&plot(&pts, "metric calls when found"));
        out.push(("GEPA search".to_string(), s));

        let mut t =
            String::from("<table><tr><th>#</th><th>parents</th><th>val score</th><th>found after (calls)</th><th>instructions</th></tr>");
        for (i, c) in self.candidates.iter().enumerate() {
            let instr: Vec<String> = c.instructions.iter().map(|(n, x)| format!("<b>{}</b><pre>{}</pre>", esc(n), esc(x))).collect();
            let _ = write!(
                t,
                "<tr{}><td>{i}</td><td>{:?}</td><td>{:.3}</td><td>{}</td><td>{}</td></tr>",
                if i == self.best { " class=\"best\"" } else { "" },
                c.parents,
                c.val_score,
                c.discovered_at,
                instr.join("")
            );
        }
        t.push_str("</table>");
        out.push(("GEPA candidates".to_string(), t));

        let mut f = String::from("<p>Per validation example: the best score reached and the candidates reaching it.</p><table><tr><th>example</th><th>best</th><th>candidates</th></tr>");
        for (i, (b, w)) in self.front.best.iter().zip(&self.front.winners).enumerate() {
            let _ = write!(f, "<tr><td>{i}</td><td>{b:.3}</td><td>{:?}</td></tr>", w.iter().collect::<Vec<_>>());
        }
        f.push_str("</table>");
        out.push(("GEPA Pareto frontier".to_string(), f));

        let mut p = String::from(
            "<table><tr><th>iter</th><th>kind</th><th>parents</th><th>minibatch before → after</th><th>result</th><th>new text</th></tr>",
        );
        for x in &self.proposals {
            let changes: Vec<String> = x.changes.iter().map(|(n, t)| format!("<b>{}</b><pre>{}</pre>", esc(n), esc(t))).collect();
            let result = x.accepted_as.map(|i| format!("accepted as #{i}")).unwrap_or_else(|| "rejected".into());
            let _ = write!(
                p,
                "<tr><td>{}</td><td>{}</td><td>{:?}</td><td>{} → {}</td><td>{result}</td><td>{}</td></tr>",
                x.iteration,
                esc(&x.kind),
                x.parents,
                x.before,
                x.after,
                changes.join("")
            );
        }
        p.push_str("</table>");
        out.push(("GEPA proposals".to_string(), p));
        out
    }
}
