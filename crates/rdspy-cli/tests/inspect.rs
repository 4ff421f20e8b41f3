//! `rdspy inspect` end to end: the real binary, its output and its errors.

use std::process::Command;

fn rdspy(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rdspy")).args(args).output().expect("run rdspy");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn json_output_equals_what_would_be_sent() {
    let (ok, out, err) = rdspy(&["inspect", "-s", "question -> answer", "--input", "question=What is 2+2?", "--json"]);
    assert!(ok, "{err}");
    let msgs: serde_json::Value = serde_json::from_str(&out).unwrap();
    let sig = rdspy::Signature::parse("question -> answer").unwrap();
    let inputs = serde_json::json!({"question": "What is 2+2?"});
    let want = rdspy::adapter::preview(&rdspy::adapter::ChatAdapter::default(), &sig, &[], inputs.as_object().unwrap());
    assert_eq!(msgs, serde_json::to_value(want).unwrap());
}

#[test]
fn text_output_has_role_headings_and_cot_reasoning() {
    let (ok, out, err) = rdspy(&[
        "inspect",
        "-s",
        "context: list[str], question -> answer",
        "--module",
        "cot",
        "--adapter",
        "json",
        "--input",
        r#"context=["Paris is in France."]"#,
        "--input",
        "question=Where?",
    ]);
    assert!(ok, "{err}");
    assert!(out.starts_with("── system ──\nYour input fields are:\n1. `context` (list[str]): \n2. `question` (str):\nYour output fields are:\n1. `reasoning` (str): "), "{out}");
    assert!(out.contains("── user ──\n[[ ## context ## ]]\n[\"Paris is in France.\"]"), "{out}");
    assert!(out.contains("Respond with a JSON object in the following order of fields: `reasoning`, then `answer`."), "{out}");
}

#[test]
fn demos_file_is_used() {
    let dir = std::env::temp_dir().join(format!("rdspy-inspect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let demos = dir.join("demos.jsonl");
    std::fs::write(&demos, "{\"question\": \"1+1?\", \"answer\": \"2\"}\n\n").unwrap();
    let (ok, out, err) = rdspy(&["inspect", "-s", "question -> answer", "--demos", demos.to_str().unwrap(), "-i", "question=3+3?"]);
    assert!(ok, "{err}");
    assert!(out.contains("── assistant ──\n[[ ## answer ## ]]\n2\n\n[[ ## completed ## ]]"), "{out}");
    std::fs::write(&demos, "{\"question\": \"1+1?\"}\n[1, 2]\n").unwrap();
    let (ok, _, err) = rdspy(&["inspect", "-s", "question -> answer", "--demos", demos.to_str().unwrap(), "-i", "question=x"]);
    assert!(!ok);
    assert!(err.contains("demos.jsonl:2: a demo must be a JSON object"), "{err}");
}

#[test]
fn bad_inputs_and_signatures_are_clear_errors() {
    let (ok, _, err) = rdspy(&["inspect", "-s", "a: lst[str] -> b", "-i", "a=x"]);
    assert!(!ok);
    assert!(err.contains("unknown type `lst`") && err.contains("column 4"), "{err}");
    let (ok, _, err) = rdspy(&["inspect", "-s", "n: int -> b", "-i", "n=seven"]);
    assert!(!ok);
    assert!(err.contains("--input n: expected a JSON value of type int"), "{err}");
    let (ok, _, err) = rdspy(&["inspect", "-s", "q -> b", "-i", "nope=1"]);
    assert!(!ok);
    assert!(err.contains("the signature has no input `nope` (its inputs are: q)"), "{err}");
    let (ok, _, err) = rdspy(&["inspect", "-s", "q, r -> b", "-i", "q=1"]);
    assert!(!ok);
    assert!(err.contains("missing --input for r"), "{err}");
    let (ok, _, err) = rdspy(&["inspect", "-s", "q: list[int] -> b", "-i", "q=[\"x\"]"]);
    assert!(!ok);
    assert!(err.contains("--input q: Input should be a valid integer"), "{err}");
}
