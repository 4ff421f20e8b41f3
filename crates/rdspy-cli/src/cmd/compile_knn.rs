//! `rdspy compile --optimizer knn`: KNNFewShot, and rebuilding a saved KNN program.
//!
//! A KNN program has no fixed demos: each input gets its `k` nearest training examples
//! (by sentence embedding), bootstrapped through the program, as DSPy's `KNNFewShot` does. So
//! the saved file keeps what that needs — `k`, the embedder, the bootstrap settings and the
//! training examples, with their embeddings so loading need not embed them again — under
//! `metadata.rdspy.knn`. Python DSPy's loader ignores that key and
//! loads the (demo-less) predictor; `rdspy run/eval --program` rebuilds the KNN program.

use super::program::CliProgram;
use anyhow::{anyhow, bail, Context, Result};
use base64::prelude::{Engine, BASE64_STANDARD};
use rdspy::embed::Embedder;
use rdspy::evaluate::{metric_by_name, SharedMetric};
use rdspy::optimize::{BootstrapFewShot, KNNFewShot, KnnIndex};
use rdspy::predict::Predictors;
use rdspy::Example;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

/// The local MiniLM embedder's name.
const LOCAL_EMBEDDER: &str = "local/all-MiniLM-L6-v2";

/// `rdspy compile --optimizer knn` options.
#[derive(clap::Args, Debug)]
pub struct KnnArgs {
    /// knn: nearest training examples per input, bootstrapped into its demos (DSPy's `k`).
    #[arg(long, default_value_t = 3)]
    pub k: usize,
    /// knn: the sentence embedder: local/all-MiniLM-L6-v2 (in-process) or openai/<model>
    /// (the `/v1/embeddings` endpoint of --embedder-api-base, else --api-base).
    #[arg(long, default_value = LOCAL_EMBEDDER)]
    pub embedder: String,
    /// knn: the server of an `openai/<model>` embedder (…/v1), when it is not --api-base.
    #[arg(long)]
    pub embedder_api_base: Option<String>,
}

/// A KNN index beside a CLI program, with the settings it is saved with.
#[derive(Clone)]
pub struct CliKnn {
    /// The embedded trainset and KNNFewShot settings.
    pub index: KnnIndex,
    /// `metadata.rdspy.knn` of the saved program.
    pub spec: Value,
}

impl std::fmt::Debug for CliKnn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CliKnn")
            .field("k", &self.spec["k"])
            .field("embedder", &self.spec["embedder"])
            .field("trainset", &self.index.trainset().len())
            .finish()
    }
}

/// The embedder `name` names: the in-process MiniLM, or an OpenAI-compatible endpoint.
pub fn embedder(name: &str, api_base: Option<&str>) -> Result<Arc<dyn Embedder>> {
    if name == LOCAL_EMBEDDER || name == "local/minilm" {
        #[cfg(feature = "embeddings")]
        return rdspy_embedded::default_embedder().ok_or_else(|| {
            anyhow!(
                "--embedder {name}: the all-MiniLM-L6-v2 weights were not found in {}; run scripts/fetch-models.sh \
                 (or `rdspy models fetch`), or point RDSPY_MODELS_DIR at them",
                rdspy_embedded::models_dir().join(rdspy_embedded::MINILM_DIR).display()
            )
        });
        #[cfg(not(feature = "embeddings"))]
        bail!(
            "--embedder {name}: this rdspy binary was built without the in-process embedder (the `embeddings` \
             feature, on by default); rebuild with `cargo build --release -p rdspy-cli`, or use \
             --embedder openai/<model> with an OpenAI-compatible server (e.g. `rdspy serve-model`)"
        );
    }
    if let Some(model) = name.strip_prefix("openai/") {
        let Some(base) = api_base else {
            bail!("--embedder {name}: an OpenAI-compatible embedder needs a server: pass --embedder-api-base URL (…/v1) or --api-base");
        };
        return Ok(Arc::new(rdspy::embed::OpenAIEmbedder::new(model, base)?));
    }
    bail!("--embedder {name}: unknown embedder; use {LOCAL_EMBEDDER} or openai/<model>")
}

/// Compile: embed the trainset; the returned program bootstraps each input's neighbours when run.
pub async fn compile(
    args: &super::compile::Args,
    student: &CliProgram,
    train: &[Example],
    bootstrap: BootstrapFewShot,
) -> rdspy::Result<CliProgram> {
    let knn = &args.knn;
    let api_base = knn.embedder_api_base.as_deref().or(args.lm.api_base.as_deref());
    let embedder = embedder(&knn.embedder, api_base).map_err(|e| rdspy::Error::Other(format!("{e:#}")))?;
    let input_keys = train.first().and_then(Example::input_keys).map(<[String]>::to_vec).unwrap_or_default();
    let spec = json!({
        "k": knn.k,
        "embedder": knn.embedder,
        "embedder_api_base": if knn.embedder.starts_with("openai/") { api_base.map(Value::from).unwrap_or(Value::Null) } else { Value::Null },
        "metric": args.metric,
        "max_bootstrapped_demos": bootstrap.max_bootstrapped_demos,
        "max_labeled_demos": bootstrap.max_labeled_demos,
        "max_rounds": bootstrap.max_rounds,
        "max_errors": bootstrap.max_errors,
        "seed": bootstrap.seed,
        "input_keys": input_keys,
        "trainset": train.iter().map(Example::to_json).collect::<Vec<_>>(),
    });
    // Checkpoints journal compile-time LM calls; KNN makes its LM calls per input at run time.
    let opt = KNNFewShot { k: knn.k, embedder, bootstrap: BootstrapFewShot { checkpoint: None, ..bootstrap } };
    let index = opt.index(train).await?;
    let mut spec = spec;
    spec["vectors"] = vectors_json(index.settings().embedder.model(), index.vectors());
    let mut program = rdspy::optimize::reset_copy(student);
    program.1 = Some(Arc::new(CliKnn { index, spec }));
    Ok(program)
}

/// Put `metadata.rdspy.knn` into a saved program's state.
pub fn save_into(program: &CliProgram, state: &mut Value) {
    if let Some(knn) = &program.1 {
        if let Some(rdspy) = state.pointer_mut("/metadata/rdspy").and_then(Value::as_object_mut) {
            rdspy.insert("knn".into(), knn.spec.clone());
        }
    }
}

/// Rebuild the KNN index of a saved program (`None` when it is not a KNN program). Embeds the
/// saved trainset again, so it needs the same embedder as the compile.
pub fn load_from(state: &Value, path: &Path) -> Result<Option<Arc<CliKnn>>> {
    let Some(spec) = state.pointer("/metadata/rdspy/knn") else { return Ok(None) };
    let ctx = || format!("{}: metadata.rdspy.knn", path.display());
    let field = |name: &str| spec.get(name).with_context(|| format!("{}: no `{name}`", ctx()));
    let count = |name: &str| -> Result<usize> {
        field(name)?.as_u64().map(|n| n as usize).with_context(|| format!("{}: `{name}` must be a non-negative integer", ctx()))
    };
    let name = field("embedder")?.as_str().with_context(|| format!("{}: `embedder` must be a string", ctx()))?;
    let embedder = embedder(name, spec["embedder_api_base"].as_str()).with_context(ctx)?;
    let metric: Option<SharedMetric> = match spec["metric"].as_str() {
        Some(m) => Some(metric_by_name(m).with_context(ctx)?),
        None => None,
    };
    let keys: Vec<String> =
        spec["input_keys"].as_array().map(|ks| ks.iter().filter_map(|k| k.as_str().map(str::to_string)).collect()).unwrap_or_default();
    let rows = field("trainset")?.as_array().with_context(|| format!("{}: `trainset` must be a list", ctx()))?;
    let mut train = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let ex = Example::from_json(row.clone()).with_context(|| format!("{}: trainset[{i}]", ctx()))?;
        train.push(if keys.is_empty() { ex } else { ex.with_inputs(&keys) });
    }
    let bootstrap = BootstrapFewShot {
        metric,
        max_bootstrapped_demos: count("max_bootstrapped_demos")?,
        max_labeled_demos: count("max_labeled_demos")?,
        max_rounds: count("max_rounds")?,
        max_errors: count("max_errors")?,
        seed: field("seed")?.as_u64().unwrap_or(0),
        ..BootstrapFewShot::default()
    };
    let opt = KNNFewShot { k: count("k")?, embedder, bootstrap };
    let index = match vectors_from(spec, opt.embedder.model(), train.len()) {
        Some(vectors) => opt.index_with_vectors(&train, vectors)?,
        None => {
            if spec.get("vectors").is_some() {
                eprintln!("{}: the saved vectors do not fit the trainset or embedder {}; embedding again", ctx(), opt.embedder.model());
            }
            opt.index_blocking(&train).with_context(|| format!("{}: embedding the trainset", ctx()))?
        }
    };
    Ok(Some(Arc::new(CliKnn { index, spec: spec.clone() })))
}

/// The trainset's embeddings as saved: little-endian f32, base64, with the embedder's name
/// (a program loaded with another embedder embeds again rather than mixing vector spaces).
fn vectors_json(model: &str, vectors: &[Vec<f32>]) -> Value {
    let dim = vectors.first().map_or(0, Vec::len);
    let bytes: Vec<u8> = vectors.iter().flatten().flat_map(|x| x.to_le_bytes()).collect();
    json!({"model": model, "dim": dim, "f32le_base64": BASE64_STANDARD.encode(bytes)})
}

/// Saved vectors, when they were made by `model` and there is one of the right size per example.
fn vectors_from(spec: &Value, model: &str, n: usize) -> Option<Vec<Vec<f32>>> {
    let v = spec.get("vectors")?;
    if v["model"].as_str()? != model {
        return None;
    }
    let dim = usize::try_from(v["dim"].as_u64()?).ok()?;
    let bytes = BASE64_STANDARD.decode(v["f32le_base64"].as_str()?).ok()?;
    if dim == 0 || bytes.len() != n * dim * 4 {
        return None;
    }
    let floats: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    Some(floats.chunks(dim).map(<[f32]>::to_vec).collect())
}

/// The report's account of a KNN program, whose demos are picked per input: the settings, and
/// for one input (the first validation example) its neighbours and the demos it gets. Getting
/// those demos bootstraps the neighbours through the program, as answering that input does —
/// with the cache on, the same calls the compiled program's scoring already made.
pub async fn report_section(program: &CliProgram, input: &Example) -> rdspy::Result<Option<(String, String)>> {
    let Some(knn) = &program.1 else { return Ok(None) };
    use rdspy::optimize::report::{esc, example_html};
    let row = |ex: &Example| format!("<tr><td>{}</td></tr>", example_html(ex));
    let index = &knn.index;
    let boot = &index.settings().bootstrap;
    let mut h = format!(
        "<p>KNNFewShot has no fixed demos: for each input it takes the <b>k = {}</b> training examples nearest to it \
         (cosine similarity of <code>{}</code> embeddings, over {} training examples) and bootstraps them through the \
         program (BootstrapFewShot: up to {} bootstrapped and {} demos in all), then answers with those demos.</p>",
        index.settings().k,
        esc(index.settings().embedder.model()),
        index.trainset().len(),
        boot.max_bootstrapped_demos,
        boot.max_labeled_demos,
    );
    let inputs = input.inputs();
    h.push_str("<p>For example, the first validation input:</p><table>");
    h.push_str(&row(&inputs));
    h.push_str("</table><p>Its neighbours, most similar first:</p><table>");
    for n in index.neighbours(&inputs).await? {
        h.push_str(&row(&n));
    }
    h.push_str("</table>");
    let compiled = index.compile_for(&CliProgram(program.0.clone(), None), &inputs).await?;
    for (name, p) in compiled.named_predictors() {
        let _ = std::fmt::Write::write_fmt(
            &mut h,
            format_args!("<p>The demos <code>{}</code> gets for it ({}):</p><table>", esc(&name), p.demos.len()),
        );
        for d in &p.demos {
            let tag = if d.get("augmented").and_then(Value::as_bool) == Some(true) { "<i>bootstrapped</i>" } else { "<i>labeled</i>" };
            h.push_str(&row(d).replacen("<td>", &format!("<td>{tag}<br>"), 1));
        }
        h.push_str("</table>");
    }
    Ok(Some(("Demos per input (KNNFewShot)".into(), h)))
}
