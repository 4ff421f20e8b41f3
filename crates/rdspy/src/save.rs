//! Save and load programs in Python DSPy's JSON format.
//!
//! The file maps each predictor name (`predict`, `gen.predict`, `layers[0]`) to its state —
//! `traces`, `train`, `demos`, `signature` (instructions and `[{prefix, description}]` by
//! position), `lm` — plus `metadata.dependency_versions`. A program optimized in Python loads
//! here and the other way round.
//!
//! rdspy's own details (its version, each predictor's typed signature so `rdspy run --program`
//! can rebuild a program on its own) live under `metadata.rdspy`, which DSPy's loader ignores.
//! `dependency_versions` keeps exactly DSPy's keys: DSPy looks each saved key up in its own
//! table, so an extra key there would make Python's `load` fail.
//!
//! Writes are atomic (a temporary file in the same folder, then a rename), so a crash never
//! leaves a half-written program.

use crate::adapter::pyfmt::type_name;
use crate::predict::Predictors;
use crate::signature::FieldKind;
use crate::{Error, Example, Result};
use serde_json::{json, Map, Value};
use std::path::Path;

/// The DSPy version whose format we write.
pub const DSPY_FORMAT_VERSION: &str = "3.4.1";

/// A predictor's typed signature as a string our parser reads back (`a: list[str] -> b: int`).
pub fn typed_spec(sig: &crate::Signature) -> String {
    let side = |kind: FieldKind| {
        sig.fields().iter().filter(|f| f.kind == kind).map(|f| format!("{}: {}", f.name, type_name(&f.ty))).collect::<Vec<_>>().join(", ")
    };
    format!("{} -> {}", side(FieldKind::Input), side(FieldKind::Output))
}

/// The program's state as DSPy's `module.dump_state()` plus `metadata`.
///
/// ```
/// use rdspy::predict::ChainOfThought;
/// let cot = ChainOfThought::new(rdspy::Signature::parse("question -> answer").unwrap());
/// let state = rdspy::save::dump_state(&cot);
/// assert_eq!(state["predict"]["signature"]["fields"][1]["prefix"], "Reasoning:");
/// ```
pub fn dump_state(program: &impl Predictors) -> Value {
    let mut out = Map::new();
    let mut typed = Map::new();
    for (name, p) in program.named_predictors() {
        let sig = p.signature();
        let fields: Vec<Value> = sig.fields().iter().map(|f| json!({"prefix": f.prefix, "description": f.desc})).collect();
        out.insert(
            name.clone(),
            json!({
                "traces": [],
                "train": [],
                "demos": p.demos.iter().map(Example::to_json).collect::<Vec<_>>(),
                "signature": {"instructions": sig.instructions(), "fields": fields},
                "lm": p.lm.as_ref().and_then(|l| l.dump_state()).unwrap_or(Value::Null),
            }),
        );
        typed.insert(name, json!({"signature": typed_spec(sig)}));
    }
    out.insert(
        "metadata".into(),
        json!({
            "dependency_versions": {"python": "3.11", "dspy": DSPY_FORMAT_VERSION, "cloudpickle": "3.1"},
            "rdspy": {"version": env!("CARGO_PKG_VERSION"), "predictors": typed},
        }),
    );
    Value::Object(out)
}

/// Load a state written by [`dump_state`] or by Python DSPy's `module.save()`.
///
/// Every mismatch (a predictor missing from the file or from the program, a different number
/// of signature fields) is reported in one error, and nothing is changed unless all match.
pub fn load_state(program: &mut impl Predictors, state: &Value) -> Result<()> {
    let obj = state.as_object().ok_or_else(|| Error::Load("a saved program must be a JSON object".into()))?;
    let mut problems = Vec::new();
    let names: Vec<String> = program.named_predictors().into_iter().map(|(n, _)| n).collect();
    for (name, p) in program.named_predictors() {
        match obj.get(&name) {
            None => problems.push(format!("predictor `{name}` is in the program but not in the file")),
            Some(s) => {
                let want = p.signature().fields().len();
                match s["signature"]["fields"].as_array() {
                    Some(f) if f.len() == want => {}
                    Some(f) => problems.push(format!("predictor `{name}`: the file has {} signature fields, the program {want}", f.len())),
                    None => problems.push(format!("predictor `{name}`: `signature.fields` is missing or not a list")),
                }
                if !s["demos"].is_array() && !s["demos"].is_null() {
                    problems.push(format!("predictor `{name}`: `demos` is not a list"));
                }
                if s["signature"]["instructions"].as_str().is_none() {
                    problems.push(format!("predictor `{name}`: `signature.instructions` is missing"));
                }
            }
        }
    }
    for key in obj.keys().filter(|k| *k != "metadata") {
        if !names.contains(key) {
            problems.push(format!("predictor `{key}` is in the file but not in the program (it has: {})", names.join(", ")));
        }
    }
    if !problems.is_empty() {
        return Err(Error::Load(format!("the saved program does not match this program:\n  - {}", problems.join("\n  - "))));
    }
    for (name, p) in program.named_predictors_mut() {
        let s = &obj[&name];
        let saved_fields = s["signature"]["fields"].as_array().expect("checked above");
        let mut fields = p.signature().fields().to_vec();
        for (f, saved) in fields.iter_mut().zip(saved_fields) {
            if let Some(prefix) = saved["prefix"].as_str() {
                f.prefix = prefix.to_string();
            }
            if let Some(desc) = saved["description"].as_str() {
                f.desc = desc.to_string();
            }
        }
        let instructions = s["signature"]["instructions"].as_str().expect("checked above");
        let sig = p
            .signature()
            .with_fields(fields)
            .map_err(|e| Error::Load(format!("predictor `{name}`: {e}")))?
            .with_instructions_exact(instructions);
        p.set_signature(sig);
        p.demos = s["demos"].as_array().map(|d| d.iter().filter_map(|x| Example::from_json(x.clone()).ok()).collect()).unwrap_or_default();
        if s["lm"].is_null() {
            // DSPy clears the LM when the file has none; keep a programmatically set one instead,
            // since rdspy programs usually get their LM from the settings.
        } else if let Some(lm) = crate::lm::from_state(&s["lm"]) {
            p.lm = Some(lm);
        }
    }
    Ok(())
}

/// Write `program` to `path` as DSPy program JSON (2-space indent, trailing newline), atomically.
pub fn save(program: &impl Predictors, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let mut text = serde_json::to_string_pretty(&dump_state(program)).map_err(|e| Error::Other(e.to_string()))?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Read a program saved by rdspy or by Python DSPy into `program`.
pub fn load(program: &mut impl Predictors, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(format!("cannot read program file {}", path.display()), e))?;
    let state: Value = serde_json::from_str(&text).map_err(|e| Error::Load(format!("{}: not valid JSON: {e}", path.display())))?;
    load_state(program, &state).map_err(|e| Error::Load(format!("{}: {e}", path.display())))
}

/// Write a file atomically: a temporary file beside it, fsync, then rename over it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(format!("cannot write {}", path.display()), e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::predict::{ChainOfThought, NamedPredictors, Predict};
    use crate::Signature;

    fn program() -> NamedPredictors {
        NamedPredictors(vec![
            ("gen.predict".into(), ChainOfThought::new(Signature::parse("context: list[str], question -> answer").unwrap()).predict),
            ("check".into(), Predict::new(Signature::parse("sentence -> ok: bool").unwrap())),
        ])
    }

    #[test]
    fn round_trip_keeps_demos_instructions_and_fields() {
        let mut a = program();
        a.0[0].1.demos = vec![Example::new().with("question", "q").with("answer", "a").with("augmented", true)];
        let sig = a.0[1].1.signature().with_instructions("Be strict.").with_updated_field("ok", |f| f.desc = "is it ok".into());
        a.0[1].1.set_signature(sig);
        let dir = std::env::temp_dir().join(format!("rdspy-save-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("program.json");
        save(&a, &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("}\n"));
        assert!(text.contains("\"dependency_versions\""));
        let mut b = program();
        load(&mut b, &path).unwrap();
        assert_eq!(b.0[0].1.demos, a.0[0].1.demos);
        assert_eq!(b.0[1].1.signature().instructions(), "Be strict.");
        assert_eq!(b.0[1].1.signature().field("ok").unwrap().desc, "is it ok");
        assert_eq!(dump_state(&a), dump_state(&b));
    }

    #[test]
    fn mismatches_are_listed_together_and_nothing_changes() {
        let mut a = program();
        let mut state = dump_state(&a);
        state.as_object_mut().unwrap().remove("check");
        state["gen.predict"]["signature"]["fields"].as_array_mut().unwrap().pop();
        state["extra"] = json!({});
        let before = dump_state(&a);
        let err = load_state(&mut a, &state).unwrap_err().to_string();
        assert!(err.contains("`check` is in the program but not in the file"), "{err}");
        assert!(err.contains("`gen.predict`: the file has 3 signature fields, the program 4"), "{err}");
        assert!(err.contains("`extra` is in the file but not in the program"), "{err}");
        assert_eq!(dump_state(&a), before);
    }
}
