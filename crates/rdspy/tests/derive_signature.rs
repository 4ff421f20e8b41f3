//! `#[derive(Signature)]` and `#[derive(SignatureType)]` produce the same signatures the string
//! form does, and typed access to predictions.

use rdspy::adapter::{Adapter, ChatAdapter};
use rdspy::signature::{ObjectField, SignatureType, TypeSpec};
use rdspy::{Prediction, Signature, TypedSignature};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Answer questions with short factoid answers.
#[derive(rdspy::Signature)]
struct QA {
    #[input(desc = "may contain relevant facts")]
    context: Vec<String>,
    #[input]
    question: String,
    #[output(desc = "often between 1 and 5 words")]
    answer: String,
    #[output]
    confidence: f64,
}

#[test]
fn derive_equals_string_form() {
    let want = Signature::parse("context: list[str], question: str -> answer: str, confidence: float")
        .unwrap()
        .with_instructions("Answer questions with short factoid answers.")
        .with_updated_field("context", |f| f.desc = "may contain relevant facts".into())
        .with_updated_field("answer", |f| f.desc = "often between 1 and 5 words".into());
    let got = QA::signature();
    assert_eq!(got.name(), "QA");
    assert_eq!(got.instructions(), want.instructions());
    // the string form marks `question: str` as typed too, so fields are equal
    assert_eq!(got.fields(), want.fields());
    let inputs = serde_json::json!({"context": ["x"], "question": "q"});
    assert_eq!(
        ChatAdapter::default().format(&got, &[], inputs.as_object().unwrap()),
        ChatAdapter::default().format(&want, &[], inputs.as_object().unwrap())
    );
}

#[derive(rdspy::Signature)]
struct NoDoc {
    #[input]
    a: i64,
    #[output]
    flags: HashMap<String, bool>,
    #[output]
    maybe: Option<Vec<String>>,
}

#[test]
fn default_instructions_and_types() {
    let s = NoDoc::signature();
    assert_eq!(s.instructions(), "Given the fields `a`, produce the fields `flags`, `maybe`.");
    assert_eq!(s.fields()[0].ty, TypeSpec::Int);
    assert_eq!(s.fields()[1].ty, TypeSpec::dict(TypeSpec::Str, TypeSpec::Bool));
    assert_eq!(s.fields()[2].ty, TypeSpec::optional(TypeSpec::list(TypeSpec::Str)));
}

#[derive(rdspy::SignatureType, Serialize, Deserialize, Debug, PartialEq, Clone)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Verdict {
    Supports,
    Refutes,
    #[serde(rename = "NOT ENOUGH INFO")]
    NotEnoughInfo,
}

/// A city.
#[derive(rdspy::SignatureType, Serialize, Deserialize, Debug, PartialEq)]
struct City {
    /// The name.
    name: String,
    population: Option<i64>,
}

#[test]
fn enums_become_literals_and_structs_objects() {
    assert_eq!(Verdict::type_spec(), TypeSpec::literal(["SUPPORTS", "REFUTES", "NOT ENOUGH INFO"]));
    assert_eq!(
        City::type_spec(),
        TypeSpec::Object {
            name: "City".into(),
            fields: vec![
                ObjectField { name: "name".into(), ty: TypeSpec::Str, required: true, description: Some("The name.".into()) },
                ObjectField { name: "population".into(), ty: TypeSpec::optional(TypeSpec::Int), required: false, description: None },
            ],
            description: Some("A city.".into()),
        }
    );
}

/// Verify a claim.
#[derive(rdspy::Signature)]
struct Fact {
    #[input]
    claim: String,
    #[output]
    verdict: Verdict,
    #[output]
    city: City,
}

#[test]
fn typed_outputs_from_a_parsed_reply() {
    let sig = Fact::signature();
    let reply = "[[ ## verdict ## ]]\nNOT ENOUGH INFO\n\n[[ ## city ## ]]\n{\"name\": \"Lyon\"}\n\n[[ ## completed ## ]]";
    let parsed = ChatAdapter::default().parse(&sig, reply).unwrap();
    let out: FactOutput = Prediction::from_map(parsed).parse_as().unwrap();
    assert_eq!(out.verdict, Verdict::NotEnoughInfo);
    assert_eq!(out.city, City { name: "Lyon".into(), population: None });
    let sys = &ChatAdapter::default().format(&sig, &[], &serde_json::Map::new())[0].content;
    assert!(sys.contains("2. `city` (City):"), "{sys}");
    assert!(sys.contains(r#"{"type": "object", "description": "A city.", "properties": {"name": {"type": "string", "description": "The name.", "title": "Name"}, "population": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": null, "title": "Population"}}, "required": ["name"], "title": "City"}"#), "{sys}");
}
