//! A program rdspy saves loads in Python DSPy 3.4.1 into the same shape and formats the same
//! prompts. Needs python3 and dspy==3.4.1 from PyPI: set RDSPY_DSPY_PYTHON to a python that has
//! it, or let the test create a virtualenv under target/.

use rdspy::predict::{ChainOfThought, Predict, Predictors};
use rdspy::{Example, Signature};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;

fn dspy_python() -> PathBuf {
    if let Some(p) = std::env::var_os("RDSPY_DSPY_PYTHON") {
        return p.into();
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/dspy-3.4.1-venv");
    let py = venv.join("bin/python");
    if !py.exists() {
        let ok = Command::new("python3").args(["-m", "venv"]).arg(&venv).status().expect("python3 is needed").success();
        assert!(ok, "cannot create a virtualenv");
        let ok = Command::new(&py).args(["-m", "pip", "install", "-q", "dspy==3.4.1"]).status().unwrap().success();
        assert!(ok, "pip install dspy==3.4.1 failed");
    }
    py
}

#[derive(Clone)]
struct Rag {
    generate: ChainOfThought,
    check: Predict,
}
rdspy::predictors!(Rag { generate, check });

#[test]
#[ignore = "needs python3 + dspy==3.4.1 from PyPI; run with --ignored"]
fn rdspy_saved_program_formats_identically_in_python_dspy() {
    let mut rag = Rag {
        generate: ChainOfThought::new(Signature::parse("context: list[str], question: str -> answer: str").unwrap()),
        check: Predict::new(Signature::parse("sentence -> sentiment: Literal['positive', 'negative']").unwrap()),
    };
    let sig = rag
        .generate
        .predict
        .signature()
        .with_instructions("Answer from the context.\nBe brief.")
        .with_updated_field("context", |f| f.desc = "facts".into());
    rag.generate.predict.set_signature(sig);
    rag.generate.predict.demos = vec![
        Example::from_json(json!({"context": ["Rome is in Italy."], "question": "Where is Rome?", "reasoning": "Stated.", "answer": "Italy", "augmented": true})).unwrap(),
        Example::from_json(json!({"context": ["x"], "question": "Q2?", "answer": "A2"})).unwrap(),
    ];
    rag.check.demos = vec![Example::from_json(json!({"sentence": "I loved it", "sentiment": "positive"})).unwrap()];
    let dir = std::env::temp_dir().join(format!("rdspy-roundtrip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let program = dir.join("program.json");
    rdspy::save::save(&rag, &program).unwrap();
    let spec = json!({
        "generate": {"spec": "context: list[str], question: str -> answer: str", "module": "chain_of_thought"},
        "check": {"spec": "sentence -> sentiment: Literal['positive', 'negative']", "module": "predict"},
    });
    let inputs = json!({
        "generate.predict": {"context": ["Paris is in France."], "question": "Where is Paris?"},
        "check": {"sentence": "a gorgeous, witty film"},
    });
    std::fs::write(dir.join("spec.json"), spec.to_string()).unwrap();
    std::fs::write(dir.join("inputs.json"), inputs.to_string()).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/roundtrip.py");
    let out =
        Command::new(dspy_python()).arg(script).arg(&program).arg(dir.join("spec.json")).arg(dir.join("inputs.json")).output().unwrap();
    assert!(out.status.success(), "python failed: {}", String::from_utf8_lossy(&out.stderr));
    let python: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (name, p) in rag.named_predictors() {
        let ours = serde_json::to_value(p.preview(inputs[&name].as_object().unwrap())).unwrap();
        assert_eq!(python[&name], ours, "predictor {name} formats differently in Python DSPy");
    }
}
