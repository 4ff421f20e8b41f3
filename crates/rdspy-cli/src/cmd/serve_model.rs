//! `rdspy serve-model`: the embedded model behind an OpenAI-compatible HTTP API, so Python
//! DSPy (`dspy.LM("openai/smollm2", api_base="http://127.0.0.1:8080/v1", api_key="x")`), the
//! OpenAI client or curl can use it.

use anyhow::Result;

/// Arguments of `rdspy serve-model`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  rdspy serve-model --model local/smollm2-135m --port 8080\n  curl http://127.0.0.1:8080/v1/chat/completions -d '{\"model\":\"smollm2\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}'"
)]
pub struct Args {
    /// The model: local/smollm2-135m, local/qwen2.5-0.5b or local/<path>.gguf.
    #[arg(long, default_value = "local/smollm2-135m")]
    pub model: String,
    /// The name clients see in /v1/models (default: the model string without `local/`).
    #[arg(long)]
    pub name: Option<String>,
    /// Address to bind (loopback unless told otherwise).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Require `Authorization: Bearer <key>`.
    #[arg(long, env = "RDSPY_SERVE_API_KEY")]
    pub api_key: Option<String>,
}

/// Run the subcommand.
#[cfg(feature = "embedded")]
pub fn run(args: Args) -> Result<()> {
    use anyhow::Context;
    let lm = rdspy_embedded::EmbeddedLM::load(&args.model)?;
    let name = args.name.clone().unwrap_or_else(|| args.model.trim_start_matches("local/").to_string());
    let cfg = rdspy_embedded::server::ServerConfig {
        lm: std::sync::Arc::new(lm),
        model_name: name.clone(),
        // /v1/embeddings with the in-process MiniLM when its weights are there (else a 404 naming the fix).
        embedder: rdspy_embedded::default_embedder(),
        api_key: args.api_key,
    };
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
        let addr = listener.local_addr()?;
        eprintln!("serving {} as `{name}` on http://{addr}/v1 (Ctrl-C to stop)", args.model);
        tokio::select! {
            r = rdspy_embedded::server::serve(listener, cfg) => r.context("the server stopped")?,
            _ = tokio::signal::ctrl_c() => eprintln!("stopping"),
        }
        Ok(())
    })
}

/// Run the subcommand (this build has no embedded model).
#[cfg(not(feature = "embedded"))]
pub fn run(_args: Args) -> Result<()> {
    anyhow::bail!(
        "this rdspy binary was built without the embedded model (--no-default-features); rebuild with the default `embedded` feature"
    )
}
