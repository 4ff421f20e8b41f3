//! String signatures against DSPy 3.4.1's behaviour, plus a property test that the parser never
//! panics on arbitrary or adversarial text.

use proptest::prelude::*;
use rdspy::signature::{infer_prefix, LiteralValue, TypeSpec};
use rdspy::Signature;

/// `tests/fixtures/infer_prefix_dspy341.jsonl` was produced by running
/// `dspy.signatures.signature.infer_prefix` (DSPy 3.4.1) over each name.
#[test]
fn infer_prefix_matches_recorded_dspy_table() {
    let table = include_str!("fixtures/infer_prefix_dspy341.jsonl");
    let mut n = 0;
    for line in table.lines().filter(|l| !l.trim().is_empty()) {
        let (name, want): (String, String) = serde_json::from_str(line).unwrap();
        assert_eq!(infer_prefix(&name), want, "infer_prefix({name:?})");
        n += 1;
    }
    assert!(n >= 30, "table has {n} rows");
}

#[test]
fn field_prefixes_use_infer_prefix() {
    let s = Signature::parse("userID, HTML5Parser -> next_thought").unwrap();
    let prefixes: Vec<&str> = s.fields().iter().map(|f| f.prefix.as_str()).collect();
    assert_eq!(prefixes, ["User ID:", "HTML 5 Parser:", "Next Thought:"]);
}

fn ty(spec: &str) -> TypeSpec {
    Signature::parse(&format!("a: {spec} -> b")).unwrap().fields()[0].ty.clone()
}

#[test]
fn python_string_literal_rules() {
    // DSPy: Literal["x\n", 'y'] -> typing.Literal['x\n', 'y']
    assert_eq!(
        ty(r#"Literal["x\n", 'y', 'it\'s', "q\"q", '\\']"#),
        TypeSpec::Literal(vec![
            LiteralValue::Str("x\n".into()),
            LiteralValue::Str("y".into()),
            LiteralValue::Str("it's".into()),
            LiteralValue::Str("q\"q".into()),
            LiteralValue::Str("\\".into()),
        ])
    );
    assert_eq!(ty("Literal[False, 0]"), TypeSpec::Literal(vec![LiteralValue::Bool(false), LiteralValue::Int(0)]));
}

#[test]
fn typing_names_and_unions() {
    // DSPy keeps `List`/`Dict` from typing; both render the same element types.
    assert_eq!(ty("List[int]"), TypeSpec::list(TypeSpec::Int));
    assert_eq!(ty("Dict[str, int]"), TypeSpec::dict(TypeSpec::Str, TypeSpec::Int));
    assert_eq!(ty("Optional[Literal['a']]"), TypeSpec::optional(TypeSpec::literal(["a"])));
    assert_eq!(ty("str | int | None"), TypeSpec::Union { variants: vec![TypeSpec::Str, TypeSpec::Int, TypeSpec::NoneType], pep604: true });
    assert_eq!(
        ty("tuple[int, list[str | None]]"),
        TypeSpec::Tuple(vec![
            TypeSpec::Int,
            TypeSpec::list(TypeSpec::Union { variants: vec![TypeSpec::Str, TypeSpec::NoneType], pep604: true })
        ])
    );
    assert!(ty("str | None").admits_none());
}

#[test]
fn whitespace_variants_give_the_same_signature() {
    let canonical = Signature::parse("context: list[str], question: str -> answer: str, confidence: float").unwrap();
    for spec in [
        "context:list[str],question:str->answer:str,confidence:float",
        "\n  context : list[ str ] ,\tquestion: str\n ->\n answer: str , confidence : float , ",
    ] {
        assert_eq!(Signature::parse(spec).unwrap(), canonical, "{spec:?}");
    }
    assert_eq!(canonical.input_names(), ["context", "question"]);
    assert_eq!(canonical.output_names(), ["answer", "confidence"]);
    assert!(canonical.fields().iter().all(|f| !f.type_undefined));
}

#[test]
fn errors_say_where_and_what_to_do() {
    let e = Signature::parse("question ->").unwrap_err();
    assert_eq!(e.column, Some(12));
    assert!(e.message.contains("no output fields after `->`"), "{e}");
    let e = Signature::parse("a -> b, a").unwrap_err();
    assert_eq!(e.column, Some(9));
    assert!(e.message.contains("both an input and an output"), "{e}");
    let e = Signature::parse("a: list[lst] -> b").unwrap_err();
    assert_eq!(e.column, Some(9));
    assert!(e.message.contains("unknown type `lst`"), "{e}");
    let e = Signature::parse("a -> b -> c").unwrap_err();
    assert_eq!(e.column, Some(8));
    let e = Signature::parse("a: list[str]] -> b").unwrap_err();
    assert!(e.message.contains("unexpected `]`"), "{e}");
    let e = Signature::parse("a: foo.Bar -> b").unwrap_err();
    assert!(e.message.contains("#[derive(SignatureType)]"), "{e}");
    let e = Signature::parse("a, , b -> c").unwrap_err();
    assert_eq!(e.column, Some(4));
    assert!(e.message.contains("expected a field name"), "{e}");
}

/// Text built from the signature alphabet reaches deep into the parser, unlike random unicode.
fn signature_like() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "a", "question", "_x", "->", "-", ">", ":", ",", " ", "[", "]", "|", "'", "\"", "\\", "str", "int", "list", "dict", "Literal",
        "Optional", "Union", "tuple", "None", "True", "typing.", "3", "-1", "é", "\n",
    ]);
    prop::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = Signature::parse(&text);
    }

    #[test]
    fn adversarial_text_never_panics(text in signature_like()) {
        match Signature::parse(&text) {
            Ok(sig) => {
                prop_assert!(sig.input_fields().count() >= 1);
                prop_assert!(sig.output_fields().count() >= 1);
            }
            Err(e) => {
                // Columns, when given, point inside the text (or just past its end).
                if let Some(col) = e.column {
                    prop_assert!(col >= 1 && col <= text.chars().count() + 1, "{e}");
                }
                prop_assert!(!e.message.is_empty());
            }
        }
    }
}
