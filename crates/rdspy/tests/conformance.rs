//! Conformance with Python DSPy 3.4: every case of every `*.jsonl` in `$RDSPY_CONFORMANCE_DIR`
//! (default `<workspace>/../shared/conformance`), plus the extra vectors recorded by
//! `scripts/gen_conformance.py` in `tests/fixtures/conformance-extra`.
//!
//! Run: `cargo test --release -p rdspy --test conformance -- --nocapture`.
//! Prints a tally per file and the line `conformance: P/T passed`; fails when P < T, showing the
//! first differences.

use rdspy::adapter::{Adapter, ChatAdapter, JSONAdapter, Message};
use rdspy::signature::{Field, TypeSpec};
use rdspy::{Example, Signature};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// Build the signature a case names (`spec`, `instructions`, `descs`, `module`).
pub fn case_signature(spec: &Value) -> Result<Signature, String> {
    let text = spec["spec"].as_str().ok_or("signature.spec missing")?;
    let mut sig = Signature::parse(text).map_err(|e| e.to_string())?;
    if let Some(i) = spec["instructions"].as_str() {
        sig = sig.with_instructions(i);
    }
    if let Some(descs) = spec["descs"].as_object() {
        for (k, v) in descs {
            let d = v.as_str().unwrap_or_default().to_string();
            sig = sig.with_updated_field(k, |f| f.desc = d);
        }
    }
    match spec["module"].as_str().unwrap_or("predict") {
        "predict" => Ok(sig),
        "chain_of_thought" => sig.prepend(Field::output("reasoning", TypeSpec::Str)).map_err(|e| e.to_string()),
        other => Err(format!("unknown module kind {other}")),
    }
}

fn adapter(name: &str) -> Box<dyn Adapter> {
    match name {
        "json" => Box::new(JSONAdapter::default()),
        _ => Box::new(ChatAdapter::default()),
    }
}

fn examples(v: &Value) -> Vec<Example> {
    v.as_array().map(|a| a.iter().filter_map(|d| Example::from_json(d.clone()).ok()).collect()).unwrap_or_default()
}

/// A readable diff of two strings: the first differing line with its neighbours.
fn diff_text(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.split('\n').collect(), got.split('\n').collect());
    let i = w.iter().zip(g.iter()).take_while(|(a, b)| a == b).count();
    let mut out = format!("    first difference at line {}:\n", i + 1);
    for j in i.saturating_sub(2)..(i + 3).min(w.len().max(g.len())) {
        let (a, b) = (w.get(j).copied(), g.get(j).copied());
        if a == b {
            out += &format!("      {:>3}   {:?}\n", j + 1, a.unwrap_or(""));
        } else {
            out += &format!("      {:>3} - {:?}\n      {:>3} + {:?}\n", j + 1, a.unwrap_or("<none>"), j + 1, b.unwrap_or("<none>"));
        }
    }
    out
}

fn compare_messages(want: &Value, got: &[Message]) -> Result<(), String> {
    let want: Vec<Message> = serde_json::from_value(want.clone()).map_err(|e| format!("bad expected_messages: {e}"))?;
    if want.len() != got.len() {
        return Err(format!("expected {} messages, got {}", want.len(), got.len()));
    }
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        if w.role != g.role {
            return Err(format!("message {i}: role {:?} != {:?}", g.role, w.role));
        }
        if w.content != g.content {
            return Err(format!("message {i} ({}) content differs:\n{}", w.role, diff_text(&w.content, &g.content)));
        }
    }
    Ok(())
}

/// Python equality of JSON values (`6 == 6.0`).
fn py_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| py_eq(a, b)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| py_eq(v, w))),
        _ => a == b,
    }
}

enum Outcome {
    Pass,
    /// DSPy raised; rdspy returned a value (allowed by the conformance README; printed for review).
    Lenient(String),
    Fail(String),
}

fn run_case(case: &Value) -> Outcome {
    let r = (|| -> Result<Outcome, String> {
        if case.get("program").is_some() {
            return program_load_case(case).map(|_| Outcome::Pass);
        }
        let sig = case_signature(&case["signature"])?;
        let ad = adapter(case["adapter"].as_str().unwrap_or("chat"));
        if let Some(want) = case.get("expected_messages") {
            let inputs: Map<String, Value> = case["inputs"].as_object().cloned().unwrap_or_default();
            let got = ad.format(&sig, &examples(&case["demos"]), &inputs);
            return compare_messages(want, &got).map(|_| Outcome::Pass);
        }
        let completion = case["completion"].as_str().ok_or("completion missing")?;
        let got = ad.parse(&sig, completion);
        match (case.get("expected_outputs"), got) {
            (Some(want), Ok(got)) if py_eq(want, &Value::Object(got.clone())) => Ok(Outcome::Pass),
            (Some(want), Ok(got)) => Err(format!("outputs differ:\n    want {want}\n    got  {}", Value::Object(got))),
            (Some(want), Err(e)) => Err(format!("expected {want}, got a parse error: {}", e.to_string().lines().next().unwrap_or(""))),
            (None, Err(_)) => Ok(Outcome::Pass),
            (None, Ok(got)) => Ok(Outcome::Lenient(format!("DSPy raised, rdspy read {}", Value::Object(got)))),
        }
    })();
    r.unwrap_or_else(Outcome::Fail)
}

/// `program_load.jsonl`: load DSPy's saved JSON into a program of the given shape, then the
/// named predictor must format `inputs` into `expected_messages`.
fn program_load_case(case: &Value) -> Result<(), String> {
    let program = case["program"].as_object().ok_or("program missing")?;
    let mut predictors = Vec::new();
    for (name, spec) in program {
        let sig = case_signature(spec)?;
        let kind = spec["module"].as_str().unwrap_or("predict");
        // DSPy names a ChainOfThought's inner predictor `<name>.predict`.
        let full = if kind == "chain_of_thought" { format!("{name}.predict") } else { name.clone() };
        predictors.push((full, rdspy::predict::Predict::new(sig)));
    }
    let mut prog = rdspy::predict::NamedPredictors(predictors);
    rdspy::save::load_state(&mut prog, &case["saved"]).map_err(|e| e.to_string())?;
    let target = case["predictor"].as_str().ok_or("predictor missing")?;
    let p = prog.0.iter().find(|(n, _)| n == target).map(|(_, p)| p).ok_or_else(|| format!("no predictor {target}"))?;
    let inputs: Map<String, Value> = case["inputs"].as_object().cloned().unwrap_or_default();
    compare_messages(&case["expected_messages"], &p.preview(&inputs))
}

struct Tally {
    passed: usize,
    total: usize,
    failures: Vec<String>,
    lenient: Vec<String>,
}

fn run_dir(dir: &Path, label: &str) -> Tally {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| {
            panic!(
                "{label}: cannot read conformance directory {}: {e}. Set RDSPY_CONFORMANCE_DIR to the folder with DSPy's *.jsonl vectors.",
                dir.display()
            )
        })
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{label}: no *.jsonl files in {}", dir.display());
    let mut t = Tally { passed: 0, total: 0, failures: vec![], lenient: vec![] };
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let (mut p, mut n) = (0, 0);
        for (lineno, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let case: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{}:{}: invalid JSON: {e}", file.display(), lineno + 1));
            if case.get("header").is_some() {
                continue;
            }
            n += 1;
            let id = case["id"].as_str().unwrap_or("?").to_string();
            match run_case(&case) {
                Outcome::Pass => p += 1,
                Outcome::Lenient(why) => {
                    p += 1;
                    t.lenient.push(format!("{id}: {why}"));
                }
                Outcome::Fail(why) => t.failures.push(format!("{} {id}: {why}", file.file_name().unwrap().to_string_lossy())),
            }
        }
        println!("  {:<28} {p}/{n}", file.file_name().unwrap().to_string_lossy());
        t.passed += p;
        t.total += n;
    }
    t
}

fn report(label: &str, t: &Tally) {
    println!("{label}: {}/{} passed", t.passed, t.total);
    for l in &t.lenient {
        println!("  lenient: {l}");
    }
    let show = std::env::var("RDSPY_CONFORMANCE_SHOW").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    for f in t.failures.iter().take(show) {
        println!("  FAIL {f}");
    }
}

#[test]
fn conformance() {
    let dir =
        std::env::var_os("RDSPY_CONFORMANCE_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("../shared/conformance"));
    assert!(
        dir.is_dir(),
        "conformance directory {} does not exist: set RDSPY_CONFORMANCE_DIR or put DSPy's vectors in ../shared/conformance",
        dir.display()
    );
    let shared = run_dir(&dir, "conformance");
    report("conformance", &shared);
    let extra_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance-extra");
    let extra = if extra_dir.is_dir() { Some(run_dir(&extra_dir, "conformance-extra")) } else { None };
    if let Some(e) = &extra {
        report("conformance-extra", e);
    }
    assert_eq!(shared.passed, shared.total, "conformance failures (see above)");
    if let Some(e) = extra {
        assert_eq!(e.passed, e.total, "conformance-extra failures (see above)");
    }
}
