//! DSPy's `infer_prefix`: the human-readable label DSPy derives from a field name.
//!
//! Save files store it per field (`"prefix": "Some Field:"`), so it must match DSPy exactly,
//! including its regex-based camelCase, digit and acronym rules.

use regex::Regex;
use std::sync::OnceLock;

fn re(slot: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    slot.get_or_init(|| Regex::new(pattern).expect("static regex"))
}

/// The title-cased prefix DSPy derives from a field name (without the trailing colon).
///
/// ```
/// use rdspy::signature::infer_prefix;
/// assert_eq!(infer_prefix("some_field"), "Some Field");
/// assert_eq!(infer_prefix("someAttributeName42IsCool"), "Some Attribute Name 42 Is Cool");
/// assert_eq!(infer_prefix("HTMLParser"), "HTML Parser");
/// ```
pub fn infer_prefix(name: &str) -> String {
    static CAMEL: OnceLock<Regex> = OnceLock::new();
    static LOWER_UPPER: OnceLock<Regex> = OnceLock::new();
    static LETTER_DIGIT: OnceLock<Regex> = OnceLock::new();
    static DIGIT_LETTER: OnceLock<Regex> = OnceLock::new();
    let s1 = re(&CAMEL, "(.)([A-Z][a-z]+)").replace_all(name, "${1}_${2}");
    let s2 = re(&LOWER_UPPER, "([a-z0-9])([A-Z])").replace_all(&s1, "${1}_${2}");
    let s3 = re(&LETTER_DIGIT, "([a-zA-Z])([0-9])").replace_all(&s2, "${1}_${2}");
    let s4 = re(&DIGIT_LETTER, "([0-9])([a-zA-Z])").replace_all(&s3, "${1}_${2}");
    s4.split('_').map(title_word).collect::<Vec<_>>().join(" ")
}

/// Python's `word if word.isupper() else word.capitalize()`.
fn title_word(word: &str) -> String {
    let has_cased = word.chars().any(|c| c.is_lowercase() || c.is_uppercase());
    if has_cased && !word.chars().any(char::is_lowercase) {
        return word.to_string();
    }
    let mut c = word.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c.flat_map(char::to_lowercase)).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::infer_prefix;

    /// Recorded from DSPy 3.4.1's `infer_prefix`.
    #[test]
    fn matches_dspy_table() {
        let table = [
            ("question", "Question"),
            ("some_field", "Some Field"),
            ("someAttributeName42IsCool", "Some Attribute Name 42 Is Cool"),
            ("HTMLParser", "HTML Parser"),
            ("camelCaseText", "Camel Case Text"),
            ("text2number", "Text 2 Number"),
            ("2text", "2 Text"),
            ("answer_v2", "Answer V 2"),
            ("_private", " Private"),
            ("next_tool_args", "Next Tool Args"),
            ("URL", "URL"),
            ("getHTTPResponseCode", "Get HTTP Response Code"),
            ("a", "A"),
            ("mixed_ALLCAPS_word", "Mixed ALLCAPS Word"),
        ];
        for (name, want) in table {
            assert_eq!(infer_prefix(name), want, "{name}");
        }
    }
}
