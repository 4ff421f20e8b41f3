//! Doc comments, prefixes and serde renames through `#[derive(Signature)]` / `#[derive(SignatureType)]`.

use rdspy::signature::{SignatureType, TypeSpec};
use rdspy::{Signature, TypedSignature};
use serde::{Deserialize, Serialize};

///
///   Summarize the document.
///
///     Keep quotes verbatim.
///   Use at most three sentences.
///
#[derive(rdspy::Signature)]
struct Summarize {
    /// The full text.
    #[input]
    document: String,
    #[output(desc = "a short summary", prefix = "Summary (short):")]
    summary: String,
}

#[test]
fn doc_comment_is_cleandoc_instructions() {
    let s = Summarize::signature();
    // inspect.cleandoc: leading/trailing blank lines dropped, common indentation removed.
    assert_eq!(s.instructions(), "Summarize the document.\n\n  Keep quotes verbatim.\nUse at most three sentences.");
    assert_eq!(s.name(), "Summarize");
}

#[test]
fn field_docs_desc_and_prefix() {
    let s = Summarize::signature();
    let want = Signature::parse("document: str -> summary: str")
        .unwrap()
        .with_instructions(s.instructions())
        .with_updated_field("document", |f| f.desc = "The full text.".into())
        .with_updated_field("summary", |f| {
            f.desc = "a short summary".into();
            f.prefix = "Summary (short):".into();
        })
        .with_name("Summarize");
    assert_eq!(s, want);
}

#[derive(rdspy::SignatureType, Serialize, Deserialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
enum Mood {
    VeryHappy,
    Sad,
}

#[test]
fn enum_literal_values_round_trip_through_serde() {
    let TypeSpec::Literal(values) = Mood::type_spec() else { panic!("not a Literal") };
    for (v, want) in values.iter().zip([Mood::VeryHappy, Mood::Sad]) {
        assert_eq!(serde_json::from_value::<Mood>(v.to_json()).unwrap(), want);
    }
    assert_eq!(Mood::type_spec(), TypeSpec::literal(["veryHappy", "sad"]));
}

#[test]
fn typed_inputs_become_an_example() {
    let ex = SummarizeInput { document: "text".into() }.to_example();
    assert_eq!(ex.get_str("document"), Some("text"));
    assert_eq!(ex.input_keys(), Some(&["document".to_string()][..]));
}
