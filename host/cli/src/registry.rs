//! The installed plugins, and the adapter between the sandbox, the store and
//! the flow engine: the registry implements `weft-core`'s [`Catalog`] (for
//! validation), [`Plugins`] (for the executor), [`TriggerPlugins`] (for the
//! triggers) and [`PluginRegistry`] (for the admin API) over plugins loaded
//! in the sandbox and the connections in the store.

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use weft_core::catalog::{Catalog, PluginChange, PluginInfo, PluginRegistry, PluginStore, VersionInfo};
use weft_core::connection::{Connection, ConnectionStore};
use weft_core::io::IoMode;
use weft_core::model::RateLimitDef;
use weft_core::plugin::{CallContext, Manifest, PluginError, PollResponse, WebhookOutcome, WebhookRequest, World};
use weft_core::run::{ActionCall, BoxFuture, PluginCall, Plugins, StepFailure};
use weft_core::trigger::{TriggerCall, TriggerError, TriggerPlugins};
use weft_runtime::{CallError, CallOptions, LoadError, Outcome, Plugin, Runtime};

/// How many versions of one plugin stay in memory (the current one always
/// does); older versions of runs still in flight are loaded again from the
/// version store, through the compile cache.
const KEPT_VERSIONS: usize = 8;

/// Plugins by name and version, and the connections they run for.
///
/// Every version that was ever current is kept (bytes in the version store,
/// the last few in memory), so a run that started on a version finishes on
/// it while new runs take the current one. Swapping the current version is
/// one write under a lock.
#[derive(Clone)]
pub struct Registry {
    runtime: Runtime,
    connections: Arc<dyn ConnectionStore>,
    state: Arc<RwLock<State>>,
    /// Bumped on every change: validated flows are re-checked against it.
    generation: Arc<AtomicU64>,
    /// `<hash>.wasm` of every version, when the registry has a data directory.
    store_dir: Option<PathBuf>,
    /// The plugins folder uploads are written to, when there is one.
    folder: Option<PathBuf>,
    /// Where nodes sharing a store keep the plugins installed through any of them.
    shared: Option<Arc<dyn PluginStore>>,
    /// Connections' rate limits as last read, and when: every action asks,
    /// and a shared store would answer each with a round trip.
    rates: Arc<Mutex<HashMap<String, ReadRate>>>,
}

/// A connection's rate limit, and when it was read.
type ReadRate = (Instant, Option<RateLimitDef>);

/// How long a connection's rate limit is taken as read.
const RATE_FRESH: Duration = Duration::from_secs(1);

#[derive(Default)]
struct State {
    /// Versions by name, oldest first.
    history: BTreeMap<String, Vec<Plugin>>,
    /// The version new runs get, by name; absent when not installed now.
    current: BTreeMap<String, Plugin>,
    /// Which file provides which plugin: name and content hash.
    files: BTreeMap<PathBuf, (String, String)>,
    /// Files that failed to load, and why (the version before stays current).
    problems: BTreeMap<PathBuf, String>,
}

impl State {
    fn installed(&self, plugin: &Plugin) -> bool {
        self.current.get(plugin.name()).is_some_and(|c| c.hash() == plugin.hash())
            || self.files.values().any(|(n, h)| n == plugin.name() && h == plugin.hash())
    }
}

impl Registry {
    /// A registry of plugins run by `runtime` for the connections in
    /// `connections`; with `store_dir`, every version's bytes are kept there.
    pub fn new(runtime: Runtime, connections: Arc<dyn ConnectionStore>, store_dir: Option<PathBuf>) -> Self {
        Self {
            runtime,
            connections,
            state: Arc::default(),
            generation: Arc::default(),
            store_dir,
            folder: None,
            shared: None,
            rates: Arc::default(),
        }
    }

    /// Share installs and removals with the other nodes of `store`, and
    /// follow theirs ([`Registry::follow`]).
    pub fn with_shared(mut self, store: Arc<dyn PluginStore>) -> Self {
        self.shared = Some(store);
        self
    }

    /// Write uploaded plugins into `folder` (the folder it loads and watches).
    pub fn with_folder(mut self, folder: PathBuf) -> Self {
        self.folder = Some(folder);
        self
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Changes so far (loads, swaps, removals).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().expect("plugin registry")
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().expect("plugin registry")
    }

    /// Load every `.wasm` in `dir`. A file that fails to load is reported and
    /// skipped; the others load.
    pub async fn load_dir(&self, dir: &Path) -> Vec<(String, LoadError)> {
        let mut failures = Vec::new();
        let Ok(entries) = std::fs::read_dir(dir) else { return failures };
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).filter(|p| is_plugin_file(p)).collect();
        paths.sort();
        for path in paths {
            if let Err(e) = self.load_path(&path).await {
                failures.push((path.display().to_string(), e));
            }
        }
        failures
    }

    /// Load (or reload) the plugin in `path`: a new file is a new plugin, a
    /// changed one a new version that becomes current. Unchanged content is a
    /// no-op (`Ok(None)`). A file that fails to load changes nothing: the
    /// version before keeps serving, and the problem is kept for `problems`.
    /// A restart's loads take this path: through the compile cache, the file
    /// is hashed but not read into memory.
    pub async fn load_path(&self, path: &Path) -> Result<Option<Plugin>, LoadError> {
        match self.runtime.load_file(path).await {
            Ok(plugin) => {
                if self.read().files.get(path).is_some_and(|(_, loaded)| loaded == plugin.hash()) {
                    return Ok(None);
                }
                self.keep(&plugin, |to| std::fs::copy(path, to).map(drop));
                self.make_current(Some(path), plugin.clone());
                Ok(Some(plugin))
            }
            Err(e) => {
                self.write().problems.insert(path.to_path_buf(), e.to_string());
                Err(e)
            }
        }
    }

    /// [`Registry::load_path`] with the file's bytes already read.
    pub async fn load_bytes(&self, path: &Path, bytes: &[u8]) -> Result<Option<Plugin>, LoadError> {
        let hash = weft_runtime::cache::content_hash(bytes);
        {
            let state = self.read();
            // Events also come from reading a file: only new content counts.
            let unchanged = state.files.get(path).is_some_and(|(_, loaded)| *loaded == hash);
            if unchanged {
                return Ok(None);
            }
        }
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("plugin");
        match self.runtime.load_hashed(&path.display().to_string(), stem, bytes, hash).await {
            Ok(plugin) => {
                self.keep_bytes(&plugin, bytes);
                self.make_current(Some(path), plugin.clone());
                Ok(Some(plugin))
            }
            Err(e) => {
                self.write().problems.insert(path.to_path_buf(), e.to_string());
                Err(e)
            }
        }
    }

    /// The file `path` is gone: its plugin is no longer installed (runs in
    /// flight keep their version). The plugin's name, if the file provided one.
    pub fn unload_path(&self, path: &Path) -> Option<String> {
        let mut state = self.write();
        state.problems.remove(path);
        let (name, hash) = state.files.remove(path)?;
        // Another file may provide the same plugin: its version serves instead.
        let other = state.files.values().find(|(n, _)| *n == name).map(|(_, h)| h.clone());
        let fallback = other.and_then(|h| state.history.get(&name)?.iter().find(|p| p.hash() == h).cloned());
        let serving = state.current.get(&name).is_some_and(|p| p.hash() == hash);
        match fallback {
            Some(plugin) if serving => {
                state.current.insert(name.clone(), plugin);
            }
            Some(_) => {}
            None => {
                state.current.remove(&name);
            }
        }
        drop(state);
        self.generation.fetch_add(1, Ordering::SeqCst);
        tracing::info!(plugin = %name, file = %path.display(), "plugin file removed");
        Some(name)
    }

    fn keep_bytes(&self, plugin: &Plugin, bytes: &[u8]) {
        self.keep(plugin, |to| std::fs::write(to, bytes));
    }

    /// Keep a version's bytes in the version store (`write` puts them at the given path).
    fn keep(&self, plugin: &Plugin, write: impl FnOnce(&Path) -> std::io::Result<()>) {
        let Some(dir) = &self.store_dir else { return };
        let path = dir.join(format!("{}.wasm", plugin.hash()));
        if path.exists() {
            return;
        }
        let partial = weft_runtime::cache::partial_path(&path);
        let written =
            std::fs::create_dir_all(dir).and_then(|()| write(&partial)).and_then(|()| std::fs::rename(&partial, &path));
        if let Err(e) = written {
            tracing::warn!(plugin = plugin.name(), error = %e, "cannot keep the plugin's bytes in the version store");
        }
    }

    /// Swap `plugin` in as the current version of its name, in one step.
    fn make_current(&self, path: Option<&Path>, plugin: Plugin) {
        let name = plugin.name().to_string();
        let mut state = self.write();
        if let Some(path) = path {
            state.problems.remove(path);
            let before = state.files.insert(path.to_path_buf(), (name.clone(), plugin.hash().to_string()));
            // The file held another plugin before: that one is gone unless another file has it.
            if let Some((old, _)) = before
                && old != name
                && !state.files.values().any(|(n, _)| *n == old)
            {
                state.current.remove(&old);
            }
        }
        let previous = state.current.insert(name.clone(), plugin.clone());
        let provided: std::collections::HashSet<String> =
            state.files.values().filter(|(n, _)| *n == name).map(|(_, h)| h.clone()).collect();
        let history = state.history.entry(name.clone()).or_default();
        history.retain(|p| p.hash() != plugin.hash());
        history.push(plugin.clone());
        // Forget the oldest version no file provides (runs still on it reload it from the version store).
        while history.len() > KEPT_VERSIONS {
            let Some(oldest) = history.iter().position(|p| !provided.contains(p.hash()) && p.hash() != plugin.hash())
            else {
                break;
            };
            history.remove(oldest);
        }
        drop(state);
        self.generation.fetch_add(1, Ordering::SeqCst);
        match previous {
            Some(old) if old.hash() != plugin.hash() => {
                tracing::info!(plugin = %name, from = %old.version(), to = %plugin.version(), "plugin swapped")
            }
            _ => tracing::info!(plugin = %name, version = %plugin.version(), "plugin loaded"),
        }
    }

    /// Check and load `bytes` as a plugin, then keep them as `dir/<name>.wasm`
    /// (written to a temporary file and renamed, so a crash or a folder
    /// watcher never sees half a file) and make it current: the same path as a
    /// file dropped into the folder. `fallback_name` names a transform.
    ///
    /// With a shared store, the plugin is kept there first, for every node.
    pub async fn install(&self, dir: &Path, fallback_name: &str, bytes: &[u8]) -> Result<Plugin, LoadError> {
        let plugin = self.runtime.load("the uploaded file", fallback_name, bytes).await?;
        if let Some(shared) = &self.shared {
            shared.install_plugin(plugin.name(), plugin.hash(), bytes).map_err(|e| LoadError::Read {
                path: "the shared store".into(),
                reason: format!("cannot keep the plugin for the other nodes: {e}"),
            })?;
        }
        self.place(dir, &plugin, bytes)?;
        Ok(plugin)
    }

    /// Write `plugin`'s `bytes` as `dir/<name>.wasm` and make it current.
    fn place(&self, dir: &Path, plugin: &Plugin, bytes: &[u8]) -> Result<(), LoadError> {
        let path = dir.join(format!("{}.wasm", plugin.name()));
        let partial = dir.join(format!(".{}.wasm.partial", plugin.name()));
        let written = std::fs::write(&partial, bytes).and_then(|()| std::fs::rename(&partial, &path));
        if let Err(e) = written {
            return Err(LoadError::Read { path: path.display().to_string(), reason: e.to_string() });
        }
        self.keep_bytes(plugin, bytes);
        self.make_current(Some(&path), plugin.clone());
        Ok(())
    }

    /// Follow the plugins installed and removed through other nodes of the
    /// shared store, from change `after` on, looking every `every`; returns
    /// only if there is no shared store or no folder.
    pub async fn follow(&self, mut after: u64, every: std::time::Duration) {
        loop {
            match self.catch_up(after).await {
                Ok(seq) => after = seq,
                Err(e) => tracing::warn!(error = %e, "cannot follow the plugins installed through other nodes"),
            }
            if self.shared.is_none() || self.folder.is_none() {
                return;
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Apply the shared store's plugin changes after `after` (each name's
    /// last): install the versions this node does not serve, remove what
    /// was removed. The last change's place.
    pub async fn catch_up(&self, after: u64) -> Result<u64, String> {
        let (Some(shared), Some(folder)) = (&self.shared, &self.folder) else { return Ok(after) };
        let shared = shared.clone();
        let changes = tokio::task::spawn_blocking(move || shared.plugin_changes(after))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let Some(last) = changes.last().map(|c| c.seq) else { return Ok(after) };
        let mut latest: BTreeMap<String, PluginChange> = BTreeMap::new();
        for change in changes {
            latest.insert(change.name.clone(), change);
        }
        for (name, change) in latest {
            match &change.hash {
                Some(hash) if self.get(&name).is_some_and(|p| p.hash() == hash) => {}
                Some(hash) => {
                    let shared = self.shared.clone().expect("a shared store");
                    let wanted = hash.clone();
                    let bytes = tokio::task::spawn_blocking(move || shared.plugin_bytes(&wanted))
                        .await
                        .map_err(|e| e.to_string())?
                        .map_err(|e| e.to_string())?
                        .ok_or_else(|| format!("the shared store lacks the bytes of {name} {hash}"))?;
                    let plugin = self
                        .runtime
                        .load(&format!("{name} from the shared store"), &name, &bytes)
                        .await
                        .map_err(|e| e.to_string())?;
                    self.place(folder, &plugin, &bytes).map_err(|e| e.to_string())?;
                    tracing::info!(plugin = %name, version = %plugin.version(), "plugin installed through another node");
                }
                None if self.get(&name).is_some() => {
                    self.remove_here(&name).map_err(|e| e.to_string())?;
                    tracing::info!(plugin = %name, "plugin removed through another node");
                }
                None => {}
            }
        }
        Ok(last)
    }

    /// Stop serving plugin `name` and delete the files that provide it (with
    /// a shared store, on every node). Whether it was installed.
    pub fn remove(&self, name: &str) -> std::io::Result<bool> {
        if let Some(shared) = &self.shared {
            shared.remove_plugin(name).map_err(|e| std::io::Error::other(e.to_string()))?;
        }
        self.remove_here(name)
    }

    /// [`Registry::remove`] on this node only.
    fn remove_here(&self, name: &str) -> std::io::Result<bool> {
        let files: Vec<PathBuf> =
            self.read().files.iter().filter(|(_, (n, _))| n.as_str() == name).map(|(p, _)| p.clone()).collect();
        for file in &files {
            match std::fs::remove_file(file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            self.unload_path(file);
        }
        let removed = self.write().current.remove(name).is_some();
        self.generation.fetch_add(1, Ordering::SeqCst);
        Ok(removed || !files.is_empty())
    }

    /// Insert a loaded plugin as current (tests and tools; no file).
    pub fn insert(&self, plugin: Plugin) {
        self.make_current(None, plugin);
    }

    /// The current version of `name`.
    pub fn get(&self, name: &str) -> Option<Plugin> {
        self.read().current.get(name).cloned()
    }

    /// The version of `name` that `pin` names: `None` is the current one; a
    /// pin is a content hash (or a prefix of 8+ hex digits), a full version
    /// (`1.2.0+3f9a0c1b2d4e`), or a manifest version (`1.2.0`: the latest such).
    /// Pins match installed versions (the current one, and every version a
    /// file in the folder provides); a full 64-digit hash, which is how runs
    /// record the version they started on, also matches a version no longer
    /// installed while it is still in memory.
    pub fn get_version(&self, name: &str, pin: Option<&str>) -> Option<Plugin> {
        let Some(pin) = pin else { return self.get(name) };
        let state = self.read();
        let exact = is_full_hash(pin);
        state.history.get(name)?.iter().rev().find(|p| (exact || state.installed(p)) && matches_pin(p, pin)).cloned()
    }

    /// Like [`Registry::get_version`], and for a full content hash no longer in
    /// memory, loads that version again from the version store.
    pub async fn find(&self, name: &str, pin: Option<&str>) -> Option<Plugin> {
        if let Some(found) = self.get_version(name, pin) {
            return Some(found);
        }
        let pin = pin?;
        if !is_full_hash(pin) {
            return None;
        }
        let local = self.store_dir.as_ref().map(|d| d.join(format!("{pin}.wasm"))).filter(|p| p.exists());
        let (source, bytes) = match (local, &self.shared) {
            (Some(path), _) => (path.display().to_string(), tokio::fs::read(&path).await.ok()?),
            // Kept by another node of the shared store (this node's disk may be new).
            (None, Some(shared)) => {
                let (shared, wanted) = (shared.clone(), pin.to_string());
                let bytes = tokio::task::spawn_blocking(move || shared.plugin_bytes(&wanted)).await.ok()?.ok()??;
                (format!("{name} {pin} from the shared store"), bytes)
            }
            (None, None) => return None,
        };
        let plugin = self.runtime.load(&source, name, &bytes).await.ok()?;
        if plugin.name() != name || plugin.hash() != pin {
            return None;
        }
        self.keep_bytes(&plugin, &bytes);
        Some(plugin)
    }

    /// The current versions.
    pub fn list(&self) -> Vec<Plugin> {
        self.read().current.values().cloned().collect()
    }

    /// The versions of `name` kept in memory, oldest first.
    pub fn versions(&self, name: &str) -> Vec<VersionInfo> {
        let state = self.read();
        let current = state.current.get(name).map(|p| p.hash().to_string());
        state
            .history
            .get(name)
            .into_iter()
            .flatten()
            .map(|p| VersionInfo {
                version: p.version(),
                hash: p.hash().to_string(),
                current: current.as_deref() == Some(p.hash()),
                installed: state.installed(p),
            })
            .collect()
    }

    /// Files that failed to load, and why.
    pub fn problems(&self) -> Vec<(PathBuf, String)> {
        self.read().problems.iter().map(|(p, e)| (p.clone(), e.clone())).collect()
    }
}

/// The message for a plugin (version) that is not installed.
fn missing(name: &str, version: Option<&str>) -> String {
    match version {
        None => format!("plugin {name:?} is not installed"),
        Some(v) => format!("plugin {name:?} has no version {v:?} installed"),
    }
}

/// Whether `path` looks like a plugin: `*.wasm`, not hidden (uploads and
/// editors write hidden temporary files first).
pub fn is_plugin_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "wasm")
        && !path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'))
}

/// A whole content hash (how runs record the version they started on).
fn is_full_hash(pin: &str) -> bool {
    pin.len() == 64 && pin.bytes().all(|b| b.is_ascii_hexdigit())
}

fn matches_pin(plugin: &Plugin, pin: &str) -> bool {
    let hex = pin.len() >= 8 && pin.bytes().all(|b| b.is_ascii_hexdigit());
    (hex && plugin.hash().starts_with(pin))
        || plugin.version() == pin
        || plugin.manifest().is_some_and(|m| m.version == pin)
}

pub(crate) fn failure(error: &CallError) -> StepFailure {
    let retry_after_ms = match error {
        CallError::Plugin { error, .. } => error.retry_after().map(|d| d.as_millis() as u64),
        _ => None,
    };
    StepFailure {
        message: error.to_string(),
        retryable: error.is_retryable(),
        retry_after_ms,
        kind: Some(error.kind().to_string()),
    }
}

fn to_call(outcome: Outcome<Value>) -> PluginCall {
    PluginCall {
        result: outcome.result.map_err(|e| failure(&e)),
        logs: outcome.logs,
        dropped_logs: outcome.dropped_logs,
        io: outcome.io,
    }
}

/// A call that failed before reaching the plugin.
fn failed(failure: StepFailure) -> PluginCall {
    PluginCall { result: Err(failure), logs: Vec::new(), dropped_logs: 0, io: None }
}

impl Catalog for Registry {
    fn connector(&self, name: &str, version: Option<&str>) -> Option<Manifest> {
        self.get_version(name, version)?.manifest().cloned()
    }

    fn has_connector(&self, name: &str, version: Option<&str>) -> bool {
        self.get_version(name, version).is_some_and(|p| p.world() == World::Connector)
    }

    fn has_transform(&self, name: &str, version: Option<&str>) -> bool {
        self.get_version(name, version).is_some_and(|p| p.world() == World::Transform)
    }

    fn connection_connector(&self, id: &str) -> Option<String> {
        self.connections.connection(id).ok().flatten().map(|(plugin, _)| plugin)
    }

    fn connection_rate_limit(&self, id: &str) -> Option<RateLimitDef> {
        let mut rates = self.rates.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((read, rate)) = rates.get(id)
            && read.elapsed() < RATE_FRESH
        {
            return *rate;
        }
        let rate = self.connections.connection(id).ok().flatten().and_then(|(_, c)| c.rate_limit);
        rates.insert(id.to_string(), (Instant::now(), rate));
        rate
    }

    fn resolve(&self, name: &str, version: Option<&str>) -> Option<String> {
        self.get_version(name, version).map(|p| p.hash().to_string())
    }

    fn generation(&self) -> u64 {
        Registry::generation(self)
    }
}

impl Registry {
    /// The connector plugin `name` (at `version`) and the connection `id` it runs for.
    async fn connector_for(
        &self,
        name: &str,
        version: Option<&str>,
        id: &str,
    ) -> Result<(Plugin, Arc<Connection>), StepFailure> {
        let Some(plugin) = self.find(name, version).await.filter(|p| p.world() == World::Connector) else {
            return Err(StepFailure::fatal(missing(name, version)));
        };
        match self.connections.connection(id) {
            Ok(Some((_, connection))) => Ok((plugin, connection)),
            Ok(None) => Err(StepFailure::fatal(format!("connection {id:?} does not exist"))),
            Err(e) => Err(StepFailure::fatal(e.to_string()).retryable().of_kind("store")),
        }
    }

    async fn trigger_call<T>(
        &self,
        call: TriggerCall<'_>,
        run: impl AsyncFnOnce(Plugin, CallOptions<'_>) -> Outcome<T>,
    ) -> Result<T, TriggerError> {
        let (plugin, connection) =
            self.connector_for(call.connector, call.version, call.connection).await.map_err(|f| {
                match f.kind.as_deref() {
                    Some("store") => TriggerError::Unavailable(f.message),
                    _ => TriggerError::Failed(f.message),
                }
            })?;
        let opts = CallOptions { connection: Some(&connection), limits: None, io: None };
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
            let (plugin, connection) = match self.connector_for(call.connector, call.version, call.connection).await {
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
            let io = match call.record_io {
                0 => IoMode::Off,
                cap => IoMode::Record { cap },
            };
            let opts = CallOptions { connection: Some(&connection), limits: None, io: Some(&io) };
            to_call(plugin.invoke(&opts, call.action, call.input, &ctx).await)
        })
    }

    fn transform<'a>(&'a self, name: &'a str, version: Option<&'a str>, input: &'a Value) -> BoxFuture<'a, PluginCall> {
        Box::pin(async move {
            let Some(plugin) = self.find(name, version).await.filter(|p| p.world() == World::Transform) else {
                return failed(StepFailure::fatal(missing(name, version)));
            };
            to_call(plugin.transform(&CallOptions::default(), input).await)
        })
    }
}

/// A plugin's current version as the admin API shows it.
fn info(plugin: &Plugin) -> PluginInfo {
    PluginInfo {
        name: plugin.name().to_string(),
        world: plugin.world(),
        version: plugin.version(),
        hash: plugin.hash().to_string(),
        manifest: plugin.manifest().cloned(),
    }
}

impl PluginRegistry for Registry {
    fn installed(&self) -> Vec<PluginInfo> {
        self.list().iter().map(info).collect()
    }

    fn installed_count(&self) -> usize {
        self.read().current.len()
    }

    fn plugin(&self, name: &str) -> Option<PluginInfo> {
        self.get(name).as_ref().map(info)
    }

    fn versions(&self, name: &str) -> Vec<VersionInfo> {
        Registry::versions(self, name)
    }

    fn problems(&self) -> Vec<(String, String)> {
        Registry::problems(self).into_iter().map(|(file, error)| (file.display().to_string(), error)).collect()
    }

    fn install<'a>(&'a self, fallback_name: &'a str, bytes: &'a [u8]) -> BoxFuture<'a, Result<PluginInfo, String>> {
        Box::pin(async move {
            let Some(folder) = &self.folder else {
                return Err("this weft has no plugins folder to install into".to_string());
            };
            let plugin = Registry::install(self, folder, fallback_name, bytes).await.map_err(|e| e.to_string())?;
            Ok(info(&plugin))
        })
    }

    fn remove(&self, name: &str) -> std::io::Result<bool> {
        Registry::remove(self, name)
    }
}
