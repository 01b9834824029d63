//! The installed plugins, and the bridge from the flow engine to them: the
//! registry implements [`Catalog`] (for validation) and [`Plugins`] (for the
//! executor) over loaded wasm plugins and the stored connections.

use super::{CallContext, CallError, CallOptions, Outcome, Plugin, Runtime};
use crate::caps::World;
use crate::flow::run::{ActionCall, BoxFuture, PluginCall, Plugins, StepFailure};
use crate::flow::validate::Catalog;
use crate::runtime::Manifest;
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

impl Plugins for Registry {
    fn invoke<'a>(&'a self, call: ActionCall<'a>) -> BoxFuture<'a, PluginCall> {
        Box::pin(async move {
            let Some(plugin) = self.get(call.connector).filter(|p| p.world() == World::Connector) else {
                return failed(StepFailure::fatal(format!("connector {:?} is not installed", call.connector)));
            };
            let connection = match self.db.connection(call.connection) {
                Ok(Some((_, connection))) => Arc::new(connection),
                Ok(None) => {
                    return failed(StepFailure::fatal(format!("connection {:?} does not exist", call.connection)));
                }
                Err(e) => return failed(StepFailure { message: e.to_string(), retryable: true, retry_after_ms: None }),
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
