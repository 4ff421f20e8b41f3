//! A program rdspy saves loads in Python DSPy 3.4.1 into the same shape and formats the same
//! prompts. Finds Python DSPy as `tests/common` says (`.venv-dspy` from `scripts/setup.sh`, or
//! `RDSPY_DSPY_PYTHON`; `RDSPY_SKIP_PYTHON=1` skips).

mod common;

use rdspy::predict::{ChainOfThought, Predict, Predictors};
use rdspy::{Example, Signature};
use serde_json::json;

#[derive(Clone)]
struct Rag {
    generate: ChainOfThought,
    check: Predict,
}
rdspy::predictors!(Rag { generate, check });

#[test]
fn rdspy_saved_program_formats_identically_in_python_dspy() {
    let Some(py) = common::dspy_python() else { return };
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
    let dir = common::tempdir("roundtrip");
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
    let python = common::run_python(
        &py,
        "roundtrip.py",
        &[program.as_os_str(), dir.join("spec.json").as_os_str(), dir.join("inputs.json").as_os_str()],
    );
    for (name, p) in rag.named_predictors() {
        let ours = serde_json::to_value(p.preview(inputs[&name].as_object().unwrap())).unwrap();
        assert_eq!(python[&name], ours, "predictor {name} formats differently in Python DSPy");
    }
}
