//! ReAct programs move between rdspy and Python DSPy 3.4.1 with the same prompts: a ReAct saved
//! by rdspy loads in `dspy.ReAct` and formats the same messages for both predictors (`react`,
//! `extract.predict`), and one saved by DSPy loads here with the same messages.
//!
//! Ignored by default (needs Python DSPy). Run with
//! `RDSPY_DSPY_PYTHON=/path/to/python cargo test -p rdspy --test react_python_roundtrip -- --ignored`.

use rdspy::predict::{Predictors, ReAct};
use rdspy::tool::Tool;
use rdspy::{Example, Signature};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;

#[derive(serde::Deserialize, rdspy::SignatureType)]
struct Expression {
    #[allow(dead_code)]
    expression: String,
}

#[derive(serde::Deserialize, rdspy::SignatureType)]
struct SearchArgs {
    #[allow(dead_code)]
    query: String,
    #[allow(dead_code)]
    k: Option<i64>,
}

/// The agent of tests/python/react_roundtrip.py. The tools are never called here.
fn agent() -> ReAct {
    let calculator = Tool::new("calculator", |_: Expression| async { Err::<i64, _>("not called") })
        .desc("Evaluate an arithmetic expression and return the number.");
    let search = Tool::new("search", |_: SearchArgs| async { Err::<i64, _>("not called") })
        .desc("Search the notes.")
        .arg_desc("query", "what to look for");
    ReAct::new(Signature::parse("question -> answer: float").unwrap(), vec![calculator, search])
}

fn inputs() -> Value {
    let traj = "[[ ## thought_0 ## ]]\nCompute.\n\n[[ ## tool_name_0 ## ]]\ncalculator\n\n[[ ## tool_args_0 ## ]]\n{\"expression\": \"6*7\"}\n\n[[ ## observation_0 ## ]]\n42";
    json!({
        "react": {"question": "What is 6*7?", "trajectory": traj},
        "extract.predict": {"question": "What is 6*7?", "trajectory": traj},
    })
}

fn python(mode: &str, program: &std::path::Path, dir: &std::path::Path) -> Value {
    let py = std::env::var_os("RDSPY_DSPY_PYTHON").expect("set RDSPY_DSPY_PYTHON to a python with dspy==3.4.1");
    let inputs_path = dir.join("inputs.json");
    std::fs::write(&inputs_path, inputs().to_string()).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/react_roundtrip.py");
    let out = Command::new(py).arg(script).arg(mode).arg(program).arg(&inputs_path).output().unwrap();
    assert!(out.status.success(), "python failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn assert_same_prompts(program: &ReAct, python: &Value) {
    let inputs = inputs();
    for (name, p) in program.named_predictors() {
        let ours = serde_json::to_value(p.preview(inputs[&name].as_object().unwrap())).unwrap();
        let theirs = &python[&name];
        assert_eq!(ours.as_array().unwrap().len(), theirs.as_array().unwrap().len(), "{name}: number of messages");
        for (a, b) in ours.as_array().unwrap().iter().zip(theirs.as_array().unwrap()) {
            assert_eq!(a["content"].as_str().unwrap(), b["content"].as_str().unwrap(), "{name}: a message differs");
        }
        assert_eq!(&ours, theirs, "{name}");
    }
}

fn tempdir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rdspy-react-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
#[ignore = "needs Python DSPy 3.4.1: set RDSPY_DSPY_PYTHON and run with --ignored"]
fn react_saved_by_rdspy_loads_in_dspy_with_the_same_prompts() {
    let mut a = agent();
    let sig = a.react.signature().append_instructions("Prefer the calculator.");
    a.react.set_signature(sig);
    a.react.demos = vec![Example::from_json(json!({"question": "2+2?", "trajectory": "", "next_thought": "Add.",
        "next_tool_name": "calculator", "next_tool_args": {"expression": "2+2"}}))
    .unwrap()];
    a.extract.predict.demos = vec![Example::from_json(json!({"question": "2+2?", "trajectory": "[[ ## thought_0 ## ]]\nAdd.",
        "reasoning": "It is 4.", "answer": 4.0, "augmented": true}))
    .unwrap()];
    let dir = tempdir("to-py");
    let path = dir.join("program.json");
    rdspy::save::save(&a, &path).unwrap();
    let py = python("load", &path, &dir);
    assert_same_prompts(&a, &py);
    assert!(py["react"][0]["content"].as_str().unwrap().contains("Prefer the calculator."));
}

#[test]
#[ignore = "needs Python DSPy 3.4.1: set RDSPY_DSPY_PYTHON and run with --ignored"]
fn react_saved_by_dspy_loads_in_rdspy_with_the_same_prompts() {
    let dir = tempdir("from-py");
    let path = dir.join("program.json");
    let py = python("save", &path, &dir);
    let mut a = agent();
    rdspy::save::load(&mut a, &path).unwrap();
    assert_eq!(a.react.demos.len(), 1);
    assert_eq!(a.extract.predict.signature().instructions(), "Read the trajectory, then answer.");
    assert_same_prompts(&a, &py);
}
