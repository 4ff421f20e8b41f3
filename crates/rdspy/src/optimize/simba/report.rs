//! SIMBA's part of the HTML compile report: each step's strategies and scores, and the
//! finalists with their full instructions.

use super::SimbaResult;
use crate::optimize::gepa::report::{esc, plot};
use std::fmt::Write as _;

impl<P> SimbaResult<P> {
    /// Report sections as `(title, HTML body)`.
    ///
    /// ```
    /// let r = rdspy::optimize::SimbaResult { program: (), candidates: vec![], steps: vec![], stop: rdspy::optimize::StopReason::Finished };
    /// assert_eq!(r.report_sections()[0].0, "SIMBA steps");
    /// ```
    pub fn report_sections(&self) -> Vec<(String, String)> {
        let mut s = format!("<p>{} steps; {}.</p>", self.steps.len(), esc(&self.stop.to_string()));
        let pts: Vec<(f64, f64)> =
            self.steps.iter().map(|st| ((st.step + 1) as f64, st.candidate_scores.iter().copied().fold(st.baseline, f64::max))).collect();
        s.push_str(&plot(&pts, "step (best minibatch score)"));
        s.push_str("<table><tr><th>step</th><th>sampled average</th><th>strategies</th><th>candidate minibatch scores</th><th>winner's trainset score</th></tr>");
        for st in &self.steps {
            let scores: Vec<String> = st.candidate_scores.iter().map(|x| format!("{x:.3}")).collect();
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                st.step,
                st.baseline,
                esc(&st.strategies.join(", ")),
                scores.join(", "),
                st.train_score.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into())
            );
        }
        s.push_str("</table>");
        let mut f = String::from("<table><tr><th>trainset score</th><th>demos</th><th>instructions</th></tr>");
        for (i, c) in self.candidates.iter().enumerate() {
            let demos: Vec<String> = c.demos.iter().map(|(n, k)| format!("{}: {k}", esc(n))).collect();
            let instr: Vec<String> = c.instructions.iter().map(|(n, x)| format!("<b>{}</b><pre>{}</pre>", esc(n), esc(x))).collect();
            let _ = write!(
                f,
                "<tr{}><td>{:.3}</td><td>{}</td><td>{}</td></tr>",
                if i == 0 { " class=\"best\"" } else { "" },
                c.score,
                demos.join(", "),
                instr.join("")
            );
        }
        f.push_str("</table>");
        vec![("SIMBA steps".to_string(), s), ("SIMBA finalists".to_string(), f)]
    }
}
