//! Settings without a global owner thread.
//!
//! DSPy's `dspy.configure` may only be called from the thread that first called it, and its
//! `dspy.context` does not reach user threads (DSPy issues #1812, #1766). Here:
//!
//! * [`configure`] sets process-wide defaults from anywhere, at any time;
//! * [`context`] overrides them for one async scope through a tokio task-local, so two
//!   concurrent scopes with different LMs never see each other's settings;
//! * [`spawn`] starts a task that inherits the current scope (plain `tokio::spawn` does not
//!   carry task-locals), which is what concurrent evaluation uses.

use crate::adapter::Adapter;
use crate::lm::SharedLM;
use std::future::Future;
use std::sync::{Arc, RwLock};

/// Defaults for predictors that don't set their own.
///
/// ```
/// use rdspy::settings::{self, Settings};
/// settings::configure(Settings::new().adapter(rdspy::adapter::JSONAdapter::default()));
/// assert_eq!(settings::current().adapter.unwrap().name(), "JSONAdapter");
/// ```
#[derive(Clone, Default)]
pub struct Settings {
    /// The LM predictors call when they have none of their own.
    pub lm: Option<SharedLM>,
    /// The adapter (default: `ChatAdapter`).
    pub adapter: Option<Arc<dyn Adapter>>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("lm", &self.lm.as_ref().map(|l| l.model().to_string()))
            .field("adapter", &self.adapter.as_ref().map(|a| a.name()))
            .finish()
    }
}

impl Settings {
    /// Empty settings (every value inherited).
    pub fn new() -> Settings {
        Settings::default()
    }

    /// Set the LM.
    pub fn lm(mut self, lm: SharedLM) -> Settings {
        self.lm = Some(lm);
        self
    }

    /// Set the adapter.
    pub fn adapter(mut self, adapter: impl Adapter + 'static) -> Settings {
        self.adapter = Some(Arc::new(adapter));
        self
    }

    /// `self` with every unset value taken from `base`.
    fn over(self, base: &Settings) -> Settings {
        Settings { lm: self.lm.or_else(|| base.lm.clone()), adapter: self.adapter.or_else(|| base.adapter.clone()) }
    }
}

static GLOBAL: RwLock<Option<Settings>> = RwLock::new(None);

tokio::task_local! {
    static SCOPE: Settings;
}

/// Set the process-wide defaults (values left unset keep their previous value).
pub fn configure(settings: Settings) {
    let mut g = GLOBAL.write().unwrap_or_else(|e| e.into_inner());
    let base = g.take().unwrap_or_default();
    *g = Some(settings.over(&base));
}

/// The settings in force here: the innermost [`context`] over the process defaults.
pub fn current() -> Settings {
    let global = GLOBAL.read().unwrap_or_else(|e| e.into_inner()).clone().unwrap_or_default();
    SCOPE.try_with(|s| s.clone().over(&global)).unwrap_or(global)
}

/// Run `fut` with `overrides` on top of the current settings.
///
/// ```
/// # tokio_test_block_on(async {
/// use rdspy::settings::{self, Settings};
/// let inner = settings::context(Settings::new().adapter(rdspy::adapter::JSONAdapter::default()), async {
///     settings::current().adapter.unwrap().name()
/// }).await;
/// assert_eq!(inner, "JSONAdapter");
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub async fn context<F: Future>(overrides: Settings, fut: F) -> F::Output {
    let scoped = match SCOPE.try_with(Clone::clone) {
        Ok(outer) => overrides.over(&outer),
        Err(_) => overrides,
    };
    SCOPE.scope(scoped, crate::trace::inherit(fut)).await
}

/// `tokio::spawn` that carries the current settings and trace into the new task.
pub fn spawn<F>(fut: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let scoped = SCOPE.try_with(Clone::clone).ok();
    let fut = crate::trace::inherit(fut);
    match scoped {
        Some(s) => tokio::spawn(SCOPE.scope(s, fut)),
        None => tokio::spawn(fut),
    }
}
