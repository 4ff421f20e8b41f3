//! Tools: async Rust functions an agent ([`crate::predict::ReAct`]) may call.
//!
//! A [`Tool`] wraps an `async fn(Args) -> Result<R, E>` whose `Args` is a struct deriving
//! `serde::Deserialize` and [`crate::SignatureType`]. The argument schema shown to the LM comes
//! from that struct through the same Python type model the adapters use, so a Rust tool renders
//! in ReAct's instructions exactly as the equivalent Python function does in DSPy 3.4
//! (`calculator, whose description is <desc>…</desc>. It takes arguments {'expression': {'type': 'string'}}.`).
//!
//! Calling a tool never panics and never fails the agent: unknown arguments, arguments that do
//! not deserialize, the function's `Err`, and even a panic inside the function come back as a
//! [`ToolError`], whose text ReAct shows the LM as the observation so it can correct itself.

mod pyrepr;

pub use pyrepr::py_repr;

use crate::adapter::pyfmt::json_schema;
use crate::signature::{SignatureType, TypeSpec};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

type ToolFuture = Pin<Box<dyn Future<Output = Result<Value, ToolError>> + Send>>;
type ToolFn = Arc<dyn Fn(Map<String, Value>) -> ToolFuture + Send + Sync>;

/// Why a tool call produced no result. The `Display` text is what the LM sees after
/// `Execution error in <tool>: `.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToolError {
    /// The LM passed an argument the tool does not take (DSPy's wording).
    #[error("Arg {arg} is not in the tool's args.")]
    UnknownArg {
        /// The argument name.
        arg: String,
    },
    /// The arguments do not deserialize into the tool's argument type.
    #[error("invalid arguments {args}: {message}")]
    InvalidArgs {
        /// The arguments as received, as JSON.
        args: String,
        /// serde's explanation (missing field, wrong type, ...).
        message: String,
    },
    /// The function returned `Err`.
    #[error("{0}")]
    Failed(String),
    /// The function panicked.
    #[error("the tool panicked: {0}")]
    Panicked(String),
    /// The function's result could not be turned into JSON.
    #[error("the tool's result cannot be serialized: {0}")]
    Output(String),
}

/// One argument's schema pieces, kept apart so the rendered order is always DSPy's: the type's
/// schema keys, then `default`, then `description`.
#[derive(Debug, Clone)]
struct ArgSpec {
    name: String,
    schema: Map<String, Value>,
    default: Option<Value>,
    description: Option<String>,
}

/// A function an agent can call, with the name, description and argument schema the LM sees.
///
/// ```
/// use rdspy::tool::Tool;
///
/// #[derive(serde::Deserialize, rdspy::SignatureType)]
/// struct Add { a: i64, b: i64 }
///
/// let add = Tool::new("add", |x: Add| async move { Ok::<_, String>(x.a + x.b) })
///     .desc("Add two integers.");
/// assert_eq!(add.to_string(), "add, whose description is <desc>Add two integers.</desc>. \
///     It takes arguments {'a': {'type': 'integer'}, 'b': {'type': 'integer'}}.");
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let args = serde_json::json!({"a": 2, "b": 40});
/// assert_eq!(add.call(args.as_object().unwrap()).await, Ok(serde_json::json!(42)));
/// let bad = serde_json::json!({"a": 2, "c": 1});
/// assert_eq!(add.call(bad.as_object().unwrap()).await.unwrap_err().to_string(), "Arg c is not in the tool's args.");
/// # });
/// ```
#[derive(Clone)]
pub struct Tool {
    name: String,
    desc: String,
    specs: Vec<ArgSpec>,
    args: Map<String, Value>,
    func: ToolFn,
}

impl std::fmt::Debug for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tool").field("name", &self.name).field("desc", &self.desc).field("args", &self.args).finish()
    }
}

impl Tool {
    /// A tool named `name` that runs `func`. The arguments are the fields of `A`, a struct
    /// deriving `Deserialize` and [`crate::SignatureType`]; doc comments on its fields become
    /// the arguments' descriptions, and `Option` fields are optional with default `None` (as a
    /// Python parameter `x: T | None = None`).
    ///
    /// # Panics
    /// When `A` is not a struct with named fields (its type must map to an object), a mistake
    /// in the program rather than a runtime condition.
    pub fn new<A, F, Fut, R, E>(name: impl Into<String>, func: F) -> Tool
    where
        A: DeserializeOwned + SignatureType + Send + 'static,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
        R: Serialize,
        E: std::fmt::Display,
    {
        let name = name.into();
        let TypeSpec::Object { fields, .. } = A::type_spec() else {
            panic!("tool `{name}`: its argument type must be a struct with named fields deriving rdspy::SignatureType");
        };
        let specs = fields
            .iter()
            .map(|f| ArgSpec {
                name: f.name.clone(),
                schema: match resolve_refs(pydantic_sort(&json_schema(&f.ty), None)) {
                    Value::Object(m) => m,
                    _ => Map::new(),
                },
                default: (!f.required).then_some(Value::Null),
                description: f.description.clone(),
            })
            .collect();
        let func = Arc::new(func);
        let call: ToolFn = Arc::new(move |args: Map<String, Value>| {
            let parsed = serde_json::from_value::<A>(Value::Object(args.clone()));
            let func = func.clone();
            Box::pin(async move {
                let a = parsed.map_err(|e| ToolError::InvalidArgs { args: Value::Object(args).to_string(), message: e.to_string() })?;
                match func(a).await {
                    Ok(r) => serde_json::to_value(r).map_err(|e| ToolError::Output(e.to_string())),
                    Err(e) => Err(ToolError::Failed(e.to_string())),
                }
            })
        });
        let mut tool = Tool { name, desc: String::new(), specs, args: Map::new(), func: call };
        tool.render_args();
        tool
    }

    /// A tool with no arguments and a fixed reply: ReAct's `finish`.
    pub(crate) fn constant(name: &str, desc: String, reply: &'static str) -> Tool {
        let func: ToolFn = Arc::new(move |_| Box::pin(async move { Ok(Value::String(reply.into())) }));
        Tool { name: name.into(), desc, specs: Vec::new(), args: Map::new(), func }
    }

    /// With a description (DSPy takes the function's docstring; newlines show as two spaces).
    pub fn desc(mut self, desc: impl Into<String>) -> Tool {
        self.desc = desc.into();
        self
    }

    /// With a description for one argument (DSPy's `arg_desc`). A doc comment on the field
    /// does the same; this one wins.
    ///
    /// # Panics
    /// When the tool has no argument `arg`.
    pub fn arg_desc(mut self, arg: &str, desc: impl Into<String>) -> Tool {
        self.spec_mut(arg).description = Some(desc.into());
        self.render_args();
        self
    }

    /// With a default for one argument, shown to the LM as `'default': ...` (as DSPy shows a
    /// Python parameter's default) and filled in when the LM leaves the argument out.
    ///
    /// # Panics
    /// When the tool has no argument `arg`.
    pub fn arg_default(mut self, arg: &str, value: impl Into<Value>) -> Tool {
        self.spec_mut(arg).default = Some(value.into());
        self.render_args();
        self
    }

    fn spec_mut(&mut self, arg: &str) -> &mut ArgSpec {
        let known: Vec<String> = self.specs.iter().map(|s| s.name.clone()).collect();
        let name = &self.name;
        self.specs
            .iter_mut()
            .find(|s| s.name == arg)
            .unwrap_or_else(|| panic!("tool `{name}` has no argument `{arg}` (it has: {})", known.join(", ")))
    }

    fn render_args(&mut self) {
        self.args = self
            .specs
            .iter()
            .map(|s| {
                let mut m = s.schema.clone();
                if let Some(d) = &s.default {
                    m.insert("default".into(), d.clone());
                }
                if let Some(d) = &s.description {
                    m.insert("description".into(), Value::String(d.clone()));
                }
                (s.name.clone(), Value::Object(m))
            })
            .collect();
    }

    /// The name the LM calls the tool by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The description.
    pub fn description(&self) -> &str {
        &self.desc
    }

    /// Argument name → JSON schema (DSPy's `Tool.args`).
    pub fn args(&self) -> &Map<String, Value> {
        &self.args
    }

    /// The OpenAI `tools` entry for native function calling (DSPy's
    /// `format_as_litellm_function_call`).
    ///
    /// ```
    /// # #[derive(serde::Deserialize, rdspy::SignatureType)] struct Q { query: String }
    /// let t = rdspy::tool::Tool::new("search", |q: Q| async move { Ok::<_, String>(q.query) });
    /// assert_eq!(t.function_schema()["function"]["parameters"]["required"][0], "query");
    /// ```
    pub fn function_schema(&self) -> Value {
        let required: Vec<&String> = self.specs.iter().filter(|s| s.default.is_none()).map(|s| &s.name).collect();
        serde_json::json!({
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.desc,
                "parameters": {"type": "object", "properties": self.args, "required": required},
            },
        })
    }

    /// Run the tool on the LM's arguments. Defaults fill in missing arguments; the function
    /// runs in its own task, so a panic in it is reported as [`ToolError::Panicked`].
    pub async fn call(&self, args: &Map<String, Value>) -> Result<Value, ToolError> {
        if let Some(arg) = args.keys().find(|k| !self.args.contains_key(*k)) {
            return Err(ToolError::UnknownArg { arg: arg.clone() });
        }
        let mut full = Map::new();
        for s in &self.specs {
            match (args.get(&s.name), &s.default) {
                (Some(v), _) => full.insert(s.name.clone(), v.clone()),
                (None, Some(d)) => full.insert(s.name.clone(), d.clone()),
                (None, None) => None,
            };
        }
        match crate::settings::spawn((self.func)(full)).await {
            Ok(r) => r,
            Err(e) if e.is_panic() => {
                let payload = e.into_panic();
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".into());
                Err(ToolError::Panicked(msg))
            }
            Err(e) => Err(ToolError::Failed(format!("the tool's task was cancelled: {e}"))),
        }
    }
}

/// DSPy's `str(tool)`, the line ReAct lists the tool with.
impl std::fmt::Display for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)?;
        if self.desc.is_empty() {
            f.write_str(".")?;
        } else {
            write!(f, "{}", format!(", whose description is <desc>{}</desc>.", self.desc).replace('\n', "  "))?;
        }
        write!(f, " It takes arguments {}.", py_repr(&Value::Object(self.args.clone())))
    }
}

/// Pydantic's last step of `json_schema()`: keys sorted alphabetically at every level except
/// directly under `properties` and `default`, whose order is data.
fn pydantic_sort(v: &Value, parent_key: Option<&str>) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            if !matches!(parent_key, Some("properties" | "default")) {
                keys.sort();
            }
            Value::Object(keys.into_iter().map(|k| (k.clone(), pydantic_sort(&m[k], Some(k)))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| pydantic_sort(i, parent_key)).collect()),
        other => other.clone(),
    }
}

/// Inline every `$ref` from `$defs` and drop `$defs`, as DSPy does for argument schemas (a
/// `$ref` object is replaced whole by its definition).
fn resolve_refs(schema: Value) -> Value {
    let Some(defs) = schema.get("$defs").cloned() else { return schema };
    fn walk(v: &Value, defs: &Value) -> Value {
        match v {
            Value::Object(m) => match m.get("$ref").and_then(Value::as_str) {
                Some(r) => walk(&defs[r.rsplit('/').next().unwrap_or(r)], defs),
                None => Value::Object(m.iter().map(|(k, v)| (k.clone(), walk(v, defs))).collect()),
            },
            Value::Array(items) => Value::Array(items.iter().map(|i| walk(i, defs)).collect()),
            other => other.clone(),
        }
    }
    let mut out = walk(&schema, &defs);
    if let Value::Object(m) = &mut out {
        m.shift_remove("$defs");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    use crate::signature::ObjectField;

    // The derive names `::rdspy`, which this crate cannot; spell out what it generates.
    #[derive(Deserialize)]
    struct Search {
        query: String,
        k: Option<i64>,
    }
    impl SignatureType for Search {
        fn type_spec() -> TypeSpec {
            let f = |name: &str, ty, required, description: Option<&str>| ObjectField {
                name: name.into(),
                ty,
                required,
                description: description.map(Into::into),
            };
            TypeSpec::Object {
                name: "Search".into(),
                fields: vec![
                    f("query", TypeSpec::Str, true, Some("what to look for")),
                    f("k", TypeSpec::optional(TypeSpec::Int), false, None),
                ],
                description: None,
            }
        }
    }

    fn search() -> Tool {
        Tool::new("search", |s: Search| async move {
            if s.query.is_empty() {
                return Err("empty query".to_string());
            }
            Ok(vec![s.query; s.k.unwrap_or(1) as usize])
        })
    }

    #[test]
    fn renders_like_dspy() {
        let t = search().desc("Search.\nReturns passages.");
        assert_eq!(
            t.to_string(),
            "search, whose description is <desc>Search.  Returns passages.</desc>. It takes arguments \
             {'query': {'type': 'string', 'description': 'what to look for'}, 'k': {'anyOf': [{'type': 'integer'}, {'type': 'null'}], 'default': None}}."
        );
        let t = search().arg_desc("k", "how many").arg_default("k", 3);
        assert_eq!(t.args()["k"], json!({"anyOf": [{"type": "integer"}, {"type": "null"}], "default": 3, "description": "how many"}));
        assert_eq!(Tool::constant("finish", String::new(), "Completed.").to_string(), "finish. It takes arguments {}.");
    }

    #[tokio::test]
    async fn errors_are_values() {
        let t = search().arg_default("k", 2);
        let call = |v: Value| {
            let t = t.clone();
            async move { t.call(v.as_object().unwrap()).await }
        };
        assert_eq!(call(json!({"query": "a"})).await, Ok(json!(["a", "a"])));
        assert_eq!(call(json!({"query": ""})).await, Err(ToolError::Failed("empty query".into())));
        let e = call(json!({"query": 3})).await.unwrap_err();
        assert!(matches!(&e, ToolError::InvalidArgs { message, .. } if message.contains("expected a string")), "{e}");
        let e = call(json!({})).await.unwrap_err();
        assert!(e.to_string().contains("missing field `query`"), "{e}");
        #[derive(Deserialize)]
        struct Boom {}
        impl SignatureType for Boom {
            fn type_spec() -> TypeSpec {
                TypeSpec::Object { name: "Boom".into(), fields: vec![], description: None }
            }
        }
        let boom = Tool::new("boom", |_: Boom| async move {
            if true {
                panic!("kaboom");
            }
            Ok::<i64, String>(1)
        });
        assert_eq!(boom.call(&Map::new()).await, Err(ToolError::Panicked("kaboom".into())));
    }

    #[test]
    #[should_panic(expected = "has no argument `nope`")]
    fn arg_desc_on_a_missing_arg_panics() {
        let _ = search().arg_desc("nope", "x");
    }

    #[test]
    fn nested_schemas_are_inlined() {
        let s = json!({"$defs": {"P": {"type": "object", "title": "P"}}, "anyOf": [{"$ref": "#/$defs/P"}, {"type": "null"}]});
        assert_eq!(resolve_refs(s), json!({"anyOf": [{"type": "object", "title": "P"}, {"type": "null"}]}));
    }
}
