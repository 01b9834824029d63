//! The installed plugins, and the bridge from the flow engine to them: the
//! registry implements [`Catalog`] (for validation) and [`Plugins`] (for the
//! executor) over loaded wasm plugins and the stored connections.

use super::{CallContext, CallError, CallOptions, Outcome, Plugin, Runtime};
use crate::caps::Connection;
use crate::caps::World;
use crate::flow::run::{ActionCall, BoxFuture, PluginCall, Plugins, StepFailure};
use crate::flow::triggers::{TriggerCall, TriggerError, TriggerPlugins};
use crate::flow::validate::Catalog;
use crate::runtime::{Manifest, PluginError, PollResponse, WebhookOutcome, WebhookRequest};
use crate::store::Db;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

/// Plugins by name, and the connections they run for.
#[derive(Clone)]
pub struct Registry {
    runtime: Runtime,
    db: Db,
    plugins: Arc<RwLock<BTreeMap<String, Plugin>>>,
}

impl Registry {
    pub fn new(runtime: Runtime, db: Db) -> Self {
        Self { runtime, db, plugins: Arc::default() }
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Load every `.wasm` in `dir`. A file that fails to load is reported and
    /// skipped; the others load.
    pub async fn load_dir(&self, dir: &Path) -> Vec<(String, super::LoadError)> {
        let mut failures = Vec::new();
        let Ok(entries) = std::fs::read_dir(dir) else { return failures };
        let mut paths: Vec<_> =
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "wasm")).collect();
        paths.sort();
        for path in paths {
            match self.runtime.load_file(&path).await {
                Ok(plugin) => self.insert(plugin),
                Err(e) => failures.push((path.display().to_string(), e)),
            }
        }
        failures
    }

    /// Check and load `bytes` as a plugin, then keep them as `dir/<name>.wasm`
    /// (written to a temporary file and renamed, so a crash leaves no half
    /// file) and serve the plugin. `fallback_name` names a transform.
    pub async fn install(&self, dir: &Path, fallback_name: &str, bytes: &[u8]) -> Result<Plugin, super::LoadError> {
        let plugin = self.runtime.load("the uploaded file", fallback_name, bytes).await?;
        let path = dir.join(format!("{}.wasm", plugin.name()));
        let partial = dir.join(format!(".{}.wasm.partial", plugin.name()));
        let written = std::fs::write(&partial, bytes).and_then(|()| std::fs::rename(&partial, &path));
        if let Err(e) = written {
            return Err(super::LoadError::Read { path: path.display().to_string(), reason: e.to_string() });
        }
        self.insert(plugin.clone());
        Ok(plugin)
    }

    /// Stop serving plugin `name` and delete `dir/<name>.wasm`. Whether it was loaded.
    pub fn remove(&self, dir: &Path, name: &str) -> std::io::Result<bool> {
        let removed = self.plugins.write().expect("plugin registry").remove(name).is_some();
        match std::fs::remove_file(dir.join(format!("{name}.wasm"))) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        Ok(removed)
    }

    pub fn insert(&self, plugin: Plugin) {
        self.plugins.write().expect("plugin registry").insert(plugin.name().to_string(), plugin);
    }

    pub fn get(&self, name: &str) -> Option<Plugin> {
        self.plugins.read().expect("plugin registry").get(name).cloned()
    }

    pub fn list(&self) -> Vec<Plugin> {
        self.plugins.read().expect("plugin registry").values().cloned().collect()
    }
}

fn failure(error: &CallError) -> StepFailure {
    let retry_after_ms = match error {
        CallError::Plugin { error, .. } => error.retry_after().map(|d| d.as_millis() as u64),
        _ => None,
    };
    StepFailure { message: error.to_string(), retryable: error.is_retryable(), retry_after_ms }
}

fn to_call(outcome: Outcome<Value>) -> PluginCall {
    PluginCall { result: outcome.result.map_err(|e| failure(&e)), logs: outcome.logs }
}

/// A call that failed before reaching the plugin.
fn failed(failure: StepFailure) -> PluginCall {
    PluginCall { result: Err(failure), logs: Vec::new() }
}

impl Catalog for Registry {
    fn connector(&self, name: &str, version: Option<&str>) -> Option<Manifest> {
        let plugin = self.get(name)?;
        let manifest = plugin.manifest()?;
        if version.is_some_and(|v| v != manifest.version) {
            return None;
        }
        Some(manifest.clone())
    }

    fn has_transform(&self, name: &str, version: Option<&str>) -> bool {
        version.is_none() && self.get(name).is_some_and(|p| p.world() == World::Transform)
    }

    fn connection_connector(&self, id: &str) -> Option<String> {
        self.db.connection(id).ok().flatten().map(|(plugin, _)| plugin)
    }
}

impl Registry {
    /// The connector plugin `name` and the connection `id` it runs for.
    fn connector_for(&self, name: &str, id: &str) -> Result<(Plugin, Arc<Connection>), StepFailure> {
        let Some(plugin) = self.get(name).filter(|p| p.world() == World::Connector) else {
            return Err(StepFailure::fatal(format!("connector {name:?} is not installed")));
        };
        match self.db.connection(id) {
            Ok(Some((_, connection))) => Ok((plugin, Arc::new(connection))),
            Ok(None) => Err(StepFailure::fatal(format!("connection {id:?} does not exist"))),
            Err(e) => Err(StepFailure { message: e.to_string(), retryable: true, retry_after_ms: None }),
        }
    }

    async fn trigger_call<T>(
        &self,
        call: TriggerCall<'_>,
        run: impl AsyncFnOnce(Plugin, CallOptions<'_>) -> Outcome<T>,
    ) -> Result<T, TriggerError> {
        let (plugin, connection) =
            self.connector_for(call.connector, call.connection).map_err(|f| TriggerError::Failed(f.message))?;
        let opts = CallOptions { connection: Some(&connection), limits: None };
        let outcome = run(plugin, opts).await;
        for line in &outcome.logs {
            tracing::debug!(plugin = call.connector, trigger = call.trigger, "{}", line.message);
        }
        outcome.result.map_err(|e| match e {
            CallError::Plugin { error: PluginError::InvalidInput { message }, .. } => TriggerError::Invalid(message),
            CallError::Plugin { error: PluginError::Auth { message }, .. } => TriggerError::Unauthorized(message),
            other => TriggerError::Failed(other.to_string()),
        })
    }
}

impl TriggerPlugins for Registry {
    fn poll<'a>(
        &'a self,
        call: TriggerCall<'a>,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<PollResponse, TriggerError>> {
        Box::pin(self.trigger_call(call, async move |p: Plugin, o: CallOptions<'_>| {
            p.poll(&o, call.trigger, call.config, cursor).await
        }))
    }

    fn subscribe<'a>(
        &'a self,
        call: TriggerCall<'a>,
        url: &'a str,
        events: &'a [String],
    ) -> BoxFuture<'a, Result<Value, TriggerError>> {
        Box::pin(self.trigger_call(call, async move |p: Plugin, o: CallOptions<'_>| {
            p.subscribe(&o, call.trigger, call.config, url, events).await
        }))
    }

    fn unsubscribe<'a>(
        &'a self,
        call: TriggerCall<'a>,
        subscription: &'a Value,
    ) -> BoxFuture<'a, Result<(), TriggerError>> {
        Box::pin(self.trigger_call(call, async move |p: Plugin, o: CallOptions<'_>| {
            p.unsubscribe(&o, call.trigger, call.config, subscription).await
        }))
    }

    fn webhook<'a>(
        &'a self,
        call: TriggerCall<'a>,
        request: &'a WebhookRequest,
    ) -> BoxFuture<'a, Result<WebhookOutcome, TriggerError>> {
        Box::pin(
            self.trigger_call(call, async move |p: Plugin, o: CallOptions<'_>| p.handle_webhook(&o, request).await),
        )
    }
}

impl Plugins for Registry {
    fn invoke<'a>(&'a self, call: ActionCall<'a>) -> BoxFuture<'a, PluginCall> {
        Box::pin(async move {
            let (plugin, connection) = match self.connector_for(call.connector, call.connection) {
                Ok(found) => found,
                Err(failure) => return failed(failure),
            };
            if let Err(problems) = plugin.check_input(call.action, call.input) {
                return failed(StepFailure::fatal(format!(
                    "the input does not fit the input schema of {}.{}: {problems}",
                    call.connector, call.action
                )));
            }
            let ctx = CallContext { idempotency_key: call.idempotency_key.to_string(), attempt: call.attempt };
            let opts = CallOptions { connection: Some(&connection), limits: None };
            to_call(plugin.invoke(&opts, call.action, call.input, &ctx).await)
        })
    }

    fn transform<'a>(
        &'a self,
        name: &'a str,
        _version: Option<&'a str>,
        input: &'a Value,
    ) -> BoxFuture<'a, PluginCall> {
        Box::pin(async move {
            let Some(plugin) = self.get(name).filter(|p| p.world() == World::Transform) else {
                return failed(StepFailure::fatal(format!("transform {name:?} is not installed")));
            };
            to_call(plugin.transform(&CallOptions::default(), input).await)
        })
    }
}
