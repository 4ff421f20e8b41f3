//! Where the weights live, and which file a `local/...` model string means.
//!
//! Weights are never committed; `scripts/fetch-models.sh` (or `rdspy models fetch`) puts them in
//! a models folder. Resolution order: `$RDSPY_MODELS_DIR`; the repository's `models/` folder
//! when this crate is built from a checkout (a development convenience, found through
//! `CARGO_MANIFEST_DIR` at compile time); the user data dir (`~/.local/share/rdspy/models`).

use std::path::{Path, PathBuf};

/// A model the project knows by name, with its file under the models folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownModel {
    /// The model string after `local/`.
    pub name: &'static str,
    /// The GGUF file name inside the models folder.
    pub file: &'static str,
    /// What it is, for `rdspy models list` and errors.
    pub description: &'static str,
    /// The flag `fetch-models.sh` needs to get it (`None`: fetched by default).
    pub fetch_flag: Option<&'static str>,
}

/// The named models. The first one is the default.
pub const KNOWN_MODELS: &[KnownModel] = &[
    KnownModel {
        name: "smollm2-135m",
        file: "SmolLM2-135M-Instruct.Q4_1.gguf",
        description: "SmolLM2-135M-Instruct Q4_1 (98 MB, Apache-2.0)",
        fetch_flag: None,
    },
    KnownModel {
        name: "qwen2.5-0.5b",
        file: "qwen2.5-coder-0.5b-instruct.gguf",
        description: "Qwen2.5-Coder-0.5B-Instruct Q4_K_M (491 MB, Apache-2.0)",
        fetch_flag: Some("--with qwen"),
    },
];

/// The embedder folder name under the models folder.
pub const MINILM_DIR: &str = "all-MiniLM-L6-v2";

/// The models folder: `$RDSPY_MODELS_DIR`, else the checkout's `models/` if it exists, else
/// the user data dir.
///
/// ```
/// let dir = rdspy_embedded::models_dir();
/// assert!(dir.ends_with("models") || std::env::var_os("RDSPY_MODELS_DIR").is_some());
/// ```
pub fn models_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("RDSPY_MODELS_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    if repo.is_dir() {
        return repo.canonicalize().unwrap_or(repo);
    }
    dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join("rdspy").join("models")
}

/// Turn `local/smollm2-135m`, `local/qwen2.5-0.5b` or `local/<path>.gguf` into a GGUF path.
/// Errors say which file is missing and how to get it.
pub fn resolve_model(model: &str) -> Result<PathBuf, String> {
    let name = model.strip_prefix("local/").unwrap_or(model);
    if name.ends_with(".gguf") {
        let p = PathBuf::from(name);
        let p = if p.is_absolute() || p.exists() { p } else { models_dir().join(&p) };
        return if p.is_file() { Ok(p) } else { Err(format!("{model}: no GGUF file at {}", p.display())) };
    }
    let known = KNOWN_MODELS.iter().find(|k| k.name == name).ok_or_else(|| {
        let names: Vec<String> = KNOWN_MODELS.iter().map(|k| format!("local/{}", k.name)).collect();
        format!("unknown local model `{model}`: use one of {} or local/<path>.gguf", names.join(", "))
    })?;
    let path = models_dir().join(known.file);
    if path.is_file() {
        Ok(path)
    } else {
        let flag = known.fetch_flag.map(|f| format!(" {f}")).unwrap_or_default();
        Err(format!(
            "{model}: weights not found at {}. Run `scripts/fetch-models.sh{flag}` (or `rdspy models fetch{flag}`), \
             or set RDSPY_MODELS_DIR to the folder that holds {}",
            path.display(),
            known.file
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_list_the_known_ones() {
        let e = resolve_model("local/gpt-5").unwrap_err();
        assert!(e.contains("local/smollm2-135m") && e.contains("local/qwen2.5-0.5b"), "{e}");
    }

    #[test]
    fn missing_gguf_path_is_reported() {
        let e = resolve_model("local//nonexistent/x.gguf").unwrap_err();
        assert!(e.contains("/nonexistent/x.gguf"), "{e}");
    }
}
