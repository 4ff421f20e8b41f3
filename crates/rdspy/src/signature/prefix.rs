//! DSPy's `infer_prefix`: `some_field` → `Some Field`, `someAttributeName42IsCool` →
//! `Some Attribute Name 42 Is Cool`.

/// The title-cased prefix DSPy derives from a field name (without the trailing colon).
pub fn infer_prefix(name: &str) -> String {
    // Placeholder until the signature work lands; see the signature issue.
    let mut out = String::new();
    for (i, w) in name.split('_').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let mut c = w.chars();
        if let Some(f) = c.next() {
            out.extend(f.to_uppercase());
            out.push_str(&c.as_str().to_lowercase());
        }
    }
    out
}
