//! ReAct programs move between rdspy and Python DSPy 3.4.1 with the same prompts: a ReAct saved
//! by rdspy loads in `dspy.ReAct` and formats the same messages for both predictors (`react`,
//! `extract.predict`), and one saved by DSPy loads here with the same messages.
//!
//! Finds Python DSPy as `tests/common` says (`.venv-dspy` from `scripts/setup.sh`, or
//! `RDSPY_DSPY_PYTHON`; `RDSPY_SKIP_PYTHON=1` skips).

mod common;

use rdspy::predict::{Predictors, ReAct};
use rdspy::tool::Tool;
use rdspy::{Example, Signature};
use serde_json::{json, Value};
use std::path::Path;

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

/// Runs tests/python/react_roundtrip.py; in `load` mode DSPy also saves what it loaded to
/// `dir/resaved.json`.
fn python(py: &Path, mode: &str, program: &Path, dir: &Path) -> Value {
    let inputs_path = dir.join("inputs.json");
    std::fs::write(&inputs_path, inputs().to_string()).unwrap();
    let resaved = dir.join("resaved.json");
    common::run_python(py, "react_roundtrip.py", &[mode.as_ref(), program.as_os_str(), inputs_path.as_os_str(), resaved.as_os_str()])
}

/// The predictor states of two saved programs are equal: what one side wrote, the other kept.
fn assert_same_state(ours: &Path, theirs: &Path) {
    let read = |p: &Path| serde_json::from_str::<Value>(&std::fs::read_to_string(p).unwrap()).unwrap();
    let (ours, theirs) = (read(ours), read(theirs));
    for name in ["react", "extract.predict"] {
        assert!(ours[name].is_object(), "{name} missing from the saved program: {ours}");
        assert_eq!(ours[name], theirs[name], "{name}: the state changed on the way between rdspy and DSPy");
    }
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

#[test]
fn react_saved_by_rdspy_loads_in_dspy_with_the_same_prompts() {
    let Some(py) = common::dspy_python() else { return };
    let mut a = agent();
    let sig = a.react.signature().append_instructions("Prefer the calculator.");
    a.react.set_signature(sig);
    a.react.demos = vec![Example::from_json(json!({"question": "2+2?", "trajectory": "", "next_thought": "Add.",
        "next_tool_name": "calculator", "next_tool_args": {"expression": "2+2"}}))
    .unwrap()];
    a.extract.predict.demos = vec![Example::from_json(json!({"question": "2+2?", "trajectory": "[[ ## thought_0 ## ]]\nAdd.",
        "reasoning": "It is 4.", "answer": 4.0, "augmented": true}))
    .unwrap()];
    let dir = common::tempdir("react-to-py");
    let path = dir.join("program.json");
    rdspy::save::save(&a, &path).unwrap();
    let prompts = python(&py, "load", &path, &dir);
    assert_same_prompts(&a, &prompts);
    assert!(prompts["react"][0]["content"].as_str().unwrap().contains("Prefer the calculator."));
    // DSPy saving what it loaded writes back rdspy's state: nothing was lost or reshaped.
    assert_same_state(&path, &dir.join("resaved.json"));
}

#[test]
fn react_saved_by_dspy_loads_in_rdspy_with_the_same_prompts() {
    let Some(py) = common::dspy_python() else { return };
    let dir = common::tempdir("react-from-py");
    let path = dir.join("program.json");
    let prompts = python(&py, "save", &path, &dir);
    let mut a = agent();
    rdspy::save::load(&mut a, &path).unwrap();
    assert_eq!(a.react.demos.len(), 1);
    assert_eq!(a.extract.predict.signature().instructions(), "Read the trajectory, then answer.");
    assert_same_prompts(&a, &prompts);
    // Saving again writes back the state DSPy wrote: nothing was lost or reshaped on the way in.
    let again = dir.join("again.json");
    rdspy::save::save(&a, &again).unwrap();
    assert_same_state(&again, &path);
}
