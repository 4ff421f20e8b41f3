//! Text the ChatAdapter grammar forces, so the engine need not decode it token by token.
//!
//! Under the ChatAdapter grammar most of a short reply is fixed: `[[ ## sentiment ## ]]\n`
//! before the value, `\n\n[[ ## completed ## ]]` after it. Decoding that one token at a time
//! costs a full forward pass per token (~17 ms for SmolLM2 on 2 cores) although the grammar
//! leaves the model no choice of text. Because the engine built the grammar from the same
//! [`Segment`] list, it can tell at any point which text comes next for certain:
//!
//! * the text before a value is fed as one batch (prompt speed) and each token is still checked
//!   against what the sampler picks, so the tokens kept are exactly those greedy (or seeded)
//!   decoding would have picked;
//! * once the last value is complete, the rest (`\n\n[[ ## completed ## ]]`) is appended without
//!   any forward pass: nothing after it is ever generated.
//!
//! The returned text is therefore byte-identical to plain decoding under the grammar (a test
//! compares both on real prompts).

use crate::grammar::Segment;

/// What the grammar forces after some generated text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Forced {
    /// The text that must come next (may be empty when nothing is certain).
    pub text: String,
    /// True when `text` finishes the reply: the grammar allows nothing after it.
    pub to_end: bool,
}

/// The ChatAdapter reply structure of one request.
#[derive(Debug, Clone)]
pub(crate) struct ChatPlan {
    segs: Vec<Segment>,
}

/// How a piece of generated text relates to the structure from some segment on.
enum Outcome {
    /// The text cannot be produced by the grammar from there.
    Inconsistent,
    /// The text fits; `Forced` says what must follow.
    Fits(Forced),
}

impl ChatPlan {
    pub(crate) fn new(segs: Vec<Segment>) -> ChatPlan {
        ChatPlan { segs }
    }

    /// The text that must follow `generated`, when it is non-empty; `None` when the next text is
    /// not fixed (inside or before a free value, or between `Literal` values that share a prefix).
    pub(crate) fn forced_after(&self, generated: &str) -> Option<Forced> {
        match self.eval(0, generated) {
            Outcome::Fits(f) if !f.text.is_empty() => Some(f),
            _ => None,
        }
    }

    fn eval(&self, i: usize, rest: &str) -> Outcome {
        let Some(seg) = self.segs.get(i) else {
            return if rest.is_empty() { Outcome::Fits(Forced { text: String::new(), to_end: true }) } else { Outcome::Inconsistent };
        };
        match seg {
            Segment::Lit(s) => self.after_fixed(i, s, rest),
            Segment::Choice(alts) => {
                let mut fitting = alts.iter().filter_map(|a| match self.after_fixed(i, a, rest) {
                    Outcome::Fits(f) => Some(f),
                    Outcome::Inconsistent => None,
                });
                match (fitting.next(), fitting.next()) {
                    (Some(f), None) => Outcome::Fits(f),
                    (None, _) => Outcome::Inconsistent,
                    // Several values still fit: nothing is certain yet.
                    (Some(_), Some(_)) => Outcome::Fits(Forced { text: String::new(), to_end: false }),
                }
            }
            // A free value runs to its first newline (none of the value rules allows one), and
            // the grammar requires at least one character.
            Segment::Free(_) => match rest.find('\n') {
                Some(0) => Outcome::Inconsistent,
                Some(k) => self.eval(i + 1, &rest[k..]),
                None => Outcome::Fits(Forced { text: String::new(), to_end: false }),
            },
        }
    }

    /// `rest` against the fixed text `s` of segment `i`: either `rest` goes past `s` (continue
    /// with the next segment) or it is a prefix of `s` (the remainder of `s` is forced, plus
    /// whatever is forced after it).
    fn after_fixed(&self, i: usize, s: &str, rest: &str) -> Outcome {
        if let Some(after) = rest.strip_prefix(s) {
            return self.eval(i + 1, after);
        }
        if !s.starts_with(rest) {
            return Outcome::Inconsistent;
        }
        match self.eval(i + 1, "") {
            Outcome::Fits(next) => Outcome::Fits(Forced { text: format!("{}{}", &s[rest.len()..], next.text), to_end: next.to_end }),
            Outcome::Inconsistent => Outcome::Inconsistent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grammar::chat_segments;

    fn plan(fields: &str) -> ChatPlan {
        let msg = format!(
            "Respond with the corresponding output fields, starting with the field {fields}, and then ending with the marker for `[[ ## completed ## ]]`."
        );
        ChatPlan::new(chat_segments(&msg).unwrap())
    }

    fn forced(p: &ChatPlan, s: &str) -> Option<(String, bool)> {
        p.forced_after(s).map(|f| (f.text, f.to_end))
    }

    #[test]
    fn literal_field_forces_header_and_trailer() {
        let p = plan("`[[ ## sentiment ## ]]` (must be formatted as a valid Python Literal['positive', 'negative'])");
        assert_eq!(forced(&p, ""), Some(("[[ ## sentiment ## ]]\n".into(), false)));
        assert_eq!(forced(&p, "[[ ## sent"), Some(("iment ## ]]\n".into(), false)));
        assert_eq!(forced(&p, "[[ ## sentiment ## ]]\n"), None, "two values fit");
        assert_eq!(forced(&p, "[[ ## sentiment ## ]]\np"), Some(("ositive\n\n[[ ## completed ## ]]".into(), true)));
        assert_eq!(forced(&p, "[[ ## sentiment ## ]]\nnegative"), Some(("\n\n[[ ## completed ## ]]".into(), true)));
        assert_eq!(forced(&p, "[[ ## sentiment ## ]]\nnegative\n\n[[ ## completed ## ]]"), None, "finished");
        assert_eq!(forced(&p, "[[ ## sentiment ## ]]\nneutral"), None, "not grammatical");
    }

    #[test]
    fn values_sharing_a_prefix_stay_open_until_they_part() {
        let p = plan("`[[ ## a ## ]]` (must be formatted as a valid Python Literal['pos', 'positive'])");
        assert_eq!(forced(&p, "[[ ## a ## ]]\npos"), None);
        assert_eq!(forced(&p, "[[ ## a ## ]]\nposi"), Some(("tive\n\n[[ ## completed ## ]]".into(), true)));
        assert_eq!(forced(&p, "[[ ## a ## ]]\npos\n"), Some(("\n[[ ## completed ## ]]".into(), true)));
    }

    #[test]
    fn free_text_ends_at_its_first_newline() {
        let p = plan(
            "`[[ ## reasoning ## ]]`, then `[[ ## n ## ]]` (must be formatted as a valid Python int), then \
             `[[ ## ok ## ]]` (must be formatted as a valid Python bool)",
        );
        assert_eq!(forced(&p, "[[ ## reasoning ## ]]\nBecause"), None);
        assert_eq!(forced(&p, "[[ ## reasoning ## ]]\nBecause.\n"), Some(("\n[[ ## n ## ]]\n".into(), false)));
        assert_eq!(forced(&p, "[[ ## reasoning ## ]]\nx\n\n[[ ## n ## ]]\n42"), None, "more digits may follow");
        assert_eq!(forced(&p, "[[ ## reasoning ## ]]\nx\n\n[[ ## n ## ]]\n42\n"), Some(("\n[[ ## ok ## ]]\n".into(), false)));
        assert_eq!(
            forced(&p, "[[ ## reasoning ## ]]\nx\n\n[[ ## n ## ]]\n42\n\n[[ ## ok ## ]]\nF"),
            Some(("alse\n\n[[ ## completed ## ]]".into(), true))
        );
        assert_eq!(forced(&p, "[[ ## reasoning ## ]]\n\n"), None, "an empty value is not grammatical");
    }
}
