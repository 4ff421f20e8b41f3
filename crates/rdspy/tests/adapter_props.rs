//! Property tests: arbitrary and adversarial text never makes a parser panic or overflow.

use proptest::prelude::*;
use rdspy::adapter::{lenient, parse_value, Adapter, ChatAdapter, JSONAdapter};
use rdspy::signature::TypeSpec;
use rdspy::Signature;
use serde_json::Value;

fn types() -> Vec<TypeSpec> {
    vec![
        TypeSpec::Str,
        TypeSpec::Int,
        TypeSpec::Float,
        TypeSpec::Bool,
        TypeSpec::Any,
        TypeSpec::list(TypeSpec::Str),
        TypeSpec::list(TypeSpec::list(TypeSpec::Int)),
        TypeSpec::dict(TypeSpec::Str, TypeSpec::Float),
        TypeSpec::optional(TypeSpec::Int),
        TypeSpec::literal(["yes", "no"]),
        TypeSpec::Tuple(vec![TypeSpec::Int, TypeSpec::Str]),
    ]
}

/// Text made of the pieces LM replies and attacks are made of.
fn adversarial() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("[[ ## answer ## ]]".to_string()),
        Just("[[ ## completed ## ]]".to_string()),
        Just("[[ ## ".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("\\".to_string()),
        Just(",".to_string()),
        Just(":".to_string()),
        Just("```json\n".to_string()),
        Just("```".to_string()),
        Just("True".to_string()),
        Just("None".to_string()),
        Just("1_0".to_string()),
        Just("-1e999".to_string()),
        Just("\u{2028}".to_string()),
        Just("«»".to_string()),
        Just("\n".to_string()),
        "[a-z0-9 ]{0,5}",
        any::<String>(),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic(text in adversarial()) {
        let sig = Signature::parse("q -> answer, n: int, tags: list[str], ok: Optional[bool]").unwrap();
        let _ = ChatAdapter::default().parse(&sig, &text);
        let _ = JSONAdapter::default().parse(&sig, &text);
        let _ = lenient::repair(&text);
        let _ = lenient::literal_eval(&text);
        for ty in types() {
            let _ = parse_value(&Value::String(text.clone()), &ty);
        }
    }

    #[test]
    fn signature_parser_never_panics(text in "[a-zA-Z_:,\\[\\]|'\" ->]{0,60}") {
        let _ = Signature::parse(&text);
    }

    #[test]
    fn bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let text = String::from_utf8_lossy(&bytes);
        let sig = Signature::parse("q -> answer: dict[str, list[int]]").unwrap();
        let _ = ChatAdapter::default().parse(&sig, &text);
        let _ = JSONAdapter::default().parse(&sig, &text);
    }
}

#[test]
fn deep_nesting_does_not_overflow() {
    let sig = Signature::parse("q -> answer: list[Any]").unwrap();
    for open in ["[", "{", "{\"a\":", "[{\"a\": ["] {
        let text = open.repeat(50_000);
        let _ = JSONAdapter::default().parse(&sig, &text);
        let _ = ChatAdapter::default().parse(&sig, &format!("[[ ## answer ## ]]\n{text}"));
    }
}
