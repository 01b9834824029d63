//! # weft-runtime
//!
//! The sandbox: one wasmtime [`Engine`] per process, plugins compiled once and
//! pre-instantiated, and a fresh, limited store for every call.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use weft_runtime::{CallOptions, Runtime, RuntimeConfig};
//! let runtime = Runtime::new(RuntimeConfig::default())?;
//! let plugin = runtime.load_file("plugins/clean_contact.wasm".as_ref()).await?;
//! let outcome = plugin.transform(&CallOptions::default(), &serde_json::json!({"email": " A@B.C "})).await;
//! println!("{}", outcome.result?);
//! # Ok(()) }
//! ```
//!
//! Every call runs under [`Limits`]: a fuel budget (deterministic CPU), an
//! epoch-based wall-clock deadline (the plugin yields to tokio every tick, so a
//! spinning plugin never starves other tasks), memory and table limits, the
//! engine's stack limit, an output cap, and caps on host resources. Whatever
//! goes wrong becomes a [`CallError`] naming the plugin, the export and why.
//!
//! What a plugin is lent lives in [`caps`]: outbound HTTP to granted hosts,
//! a key-value namespace, logging, its connection's settings and secrets.
//!
//! **Architecture invariant:** this is the only weft crate that names
//! wasmtime, and nothing outside it sees a generated binding: callers get
//! `weft-core`'s [`Manifest`], [`PluginError`],
//! [`Event`](weft_core::plugin::Event)… and this crate's [`CallError`] and
//! [`Outcome`]. It reaches storage only through `weft-core`'s [`KvStore`]
//! trait: it depends on no store, no flow engine and no server (`cargo xtask
//! edges` enforces it).

pub mod bindings;
pub mod cache;
pub mod caps;
mod lane;
pub mod limits;
mod load;
pub mod oauth;
mod wit;

use crate::caps::{CallScope, CallState};
use bindings::api;
pub use lane::LONG_CALL;
pub use limits::{Ceilings, KvLimits, Limits};
pub use load::LoadError;
use serde_json::Value;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use thiserror::Error;
use wasmtime::component::{Component, Linker, ResourceTableError};
use wasmtime::{
    CallHook, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap, UpdateDeadline,
};
use weft_core::connection::Connection;
use weft_core::io::{IoMode, IoRecording};
use weft_core::kv::KvStore;
use weft_core::log::LogLine;
use weft_core::plugin::{
    CallContext, Manifest, PluginError, PollResponse, WebhookOutcome, WebhookRequest, WebhookResponse, World,
};

/// How often the engine's epoch advances: the granularity of wall-clock
/// deadlines and of a running plugin's yields to the async scheduler.
const EPOCH_TICK: Duration = Duration::from_millis(1);

/// What to build a [`Runtime`] with.
#[derive(Clone, Default)]
pub struct RuntimeConfig {
    /// Engine-wide ceilings (pool sizes, stack).
    pub ceilings: Ceilings,
    /// Limits of calls that do not bring their own.
    pub defaults: Limits,
    /// Where plugins' key-value namespaces live; calls get no key-value
    /// store when `None`.
    pub kv: Option<Arc<dyn KvStore>>,
    /// Where compiled components are cached; no cache when `None`.
    pub cache_dir: Option<std::path::PathBuf>,
    /// The host's OAuth tokens, lent to the connections of connectors that
    /// declare OAuth 2.0; such connections get none when `None`.
    pub credentials: Option<Arc<dyn weft_core::oauth::Credentials>>,
}

/// Why the runtime could not start.
#[derive(Debug, Error)]
#[error("cannot start the wasm runtime: {0}")]
pub struct RuntimeError(String);

/// Loads plugins and runs their calls. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    shared: Arc<Shared>,
}

struct Shared {
    engine: Engine,
    connector_linker: Linker<CallState>,
    transform_linker: Linker<CallState>,
    defaults: Limits,
    ceilings: Ceilings,
    kv: Option<Arc<dyn KvStore>>,
    credentials: Option<Arc<dyn weft_core::oauth::Credentials>>,
    cache: Option<cache::CompileCache>,
    ticking: Arc<AtomicBool>,
    /// Where long calls finish, and when they may run (see [`LONG_CALL`]).
    lane: lane::Lane,
}

/// The guest side of a call, borrowing the call's store.
type CallFuture<'s, R> = std::pin::Pin<Box<dyn Future<Output = Raw<R>> + Send + 's>>;

impl Drop for Shared {
    fn drop(&mut self) {
        self.ticking.store(false, Ordering::Relaxed);
        self.lane.shut_down();
    }
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Result<Self, RuntimeError> {
        let err = |e: wasmtime::Error| RuntimeError(format!("{e:#}"));
        let engine = Engine::new(&engine_config(&config.ceilings)).map_err(err)?;
        let mut connector_linker = Linker::new(&engine);
        caps::link_connector(&mut connector_linker).map_err(err)?;
        let mut transform_linker = Linker::new(&engine);
        caps::link_transform(&mut transform_linker).map_err(err)?;

        let ticking = Arc::new(AtomicBool::new(true));
        let (tick_engine, flag) = (engine.clone(), ticking.clone());
        std::thread::Builder::new()
            .name("weft-epoch".into())
            .spawn(move || {
                while flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    tick_engine.increment_epoch();
                }
            })
            .map_err(|e| RuntimeError(format!("cannot start the epoch thread: {e}")))?;

        let mut defaults = config.defaults;
        defaults.memory_bytes = defaults.memory_bytes.min(config.ceilings.max_memory_bytes);
        let cache = config.cache_dir.as_deref().map(|dir| cache::CompileCache::new(dir, &engine));
        Ok(Self {
            shared: Arc::new(Shared {
                engine,
                connector_linker,
                transform_linker,
                defaults,
                ceilings: config.ceilings,
                kv: config.kv,
                credentials: config.credentials,
                cache,
                ticking,
                lane: lane::Lane::default(),
            }),
        })
    }

    /// The limits of calls that bring none.
    pub fn default_limits(&self) -> &Limits {
        &self.shared.defaults
    }

    /// Load a plugin from a file. With a compile cache, a hit (a restart) hashes
    /// the file in pieces and never reads it into memory.
    pub async fn load_file(&self, path: &Path) -> Result<Plugin, LoadError> {
        let read_error =
            |e: std::io::Error| LoadError::Read { path: path.display().to_string(), reason: e.to_string() };
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("plugin");
        let origin = path.display().to_string();
        if self.shared.cache.is_none() {
            let bytes = tokio::fs::read(path).await.map_err(read_error)?;
            return self.load(&origin, stem, &bytes).await;
        }
        let file = path.to_path_buf();
        let hash = tokio::task::spawn_blocking(move || cache::content_hash_file(&file))
            .await
            .map_err(|e| LoadError::Invalid { origin: origin.clone(), reason: e.to_string() })?
            .map_err(read_error)?;
        match self.cached(&origin, &hash).await? {
            Ok(component) => self.prepare(&origin, stem, component, hash, cache::CacheOutcome::Hit).await,
            Err(outcome) => {
                let bytes = tokio::fs::read(path).await.map_err(read_error)?;
                self.compile(&origin, stem, &bytes, hash, outcome).await
            }
        }
    }

    /// Validate, compile and pre-instantiate a plugin.
    ///
    /// `origin` names the source in errors; `fallback_name` names a transform
    /// (connectors are named by their manifest). Connectors are described once
    /// here, and their manifest is validated.
    pub async fn load(&self, origin: &str, fallback_name: &str, bytes: &[u8]) -> Result<Plugin, LoadError> {
        self.load_hashed(origin, fallback_name, bytes, cache::content_hash(bytes)).await
    }

    /// [`Runtime::load`] for bytes whose content hash the caller has computed.
    pub async fn load_hashed(
        &self,
        origin: &str,
        fallback_name: &str,
        bytes: &[u8],
        hash: String,
    ) -> Result<Plugin, LoadError> {
        load::check_bytes(origin, bytes)?;
        match self.cached(origin, &hash).await? {
            Ok(component) => self.prepare(origin, fallback_name, component, hash, cache::CacheOutcome::Hit).await,
            Err(outcome) => self.compile(origin, fallback_name, bytes, hash, outcome).await,
        }
    }

    /// The compiled component for content hash `hash` from the compile cache,
    /// or why there is none: `Compiled` (no cache, no entry) or `Rebuilt` (an
    /// entry failed its checks and was deleted). Off the async workers.
    async fn cached(&self, origin: &str, hash: &str) -> Result<Result<Component, cache::CacheOutcome>, LoadError> {
        let Some(cache) = self.shared.cache.clone() else { return Ok(Err(cache::CacheOutcome::Compiled)) };
        let (engine, key) = (self.shared.engine.clone(), hash.to_string());
        let found = tokio::task::spawn_blocking(move || cache.lookup(&engine, &key))
            .await
            .map_err(|e| LoadError::Invalid { origin: origin.into(), reason: e.to_string() })?;
        Ok(match found {
            Ok(Some(component)) => Ok(component),
            Ok(None) => Err(cache::CacheOutcome::Compiled),
            Err(why) => {
                tracing::warn!(plugin = origin, %why, "compile cache entry rejected; rebuilding it");
                Err(cache::CacheOutcome::Rebuilt)
            }
        })
    }

    /// Check `bytes`, compile them (storing the result in the compile cache) and prepare the plugin.
    async fn compile(
        &self,
        origin: &str,
        fallback_name: &str,
        bytes: &[u8],
        hash: String,
        outcome: cache::CacheOutcome,
    ) -> Result<Plugin, LoadError> {
        load::check_bytes(origin, bytes)?;
        let invalid = |reason: String| LoadError::Invalid { origin: origin.into(), reason };
        let (engine, cache, bytes, key) =
            (self.shared.engine.clone(), self.shared.cache.clone(), bytes.to_vec(), hash.clone());
        // Compiling is CPU-heavy: keep it off the async workers.
        let compiled = tokio::task::spawn_blocking(move || match &cache {
            Some(cache) => cache.compile(&engine, &key, &bytes),
            None => Component::new(&engine, &bytes),
        })
        .await
        .map_err(|e| invalid(e.to_string()))?;
        let component = compiled.map_err(|e| invalid(format!("{e:#}")))?;
        self.prepare(origin, fallback_name, component, hash, outcome).await
    }

    /// Check a compiled component's world and imports, pre-instantiate it,
    /// and describe a connector.
    async fn prepare(
        &self,
        origin: &str,
        fallback_name: &str,
        component: Component,
        hash: String,
        cached: cache::CacheOutcome,
    ) -> Result<Plugin, LoadError> {
        let shared = &self.shared;
        let ty = component.component_type();
        let world = load::world_of(ty.exports(&shared.engine).map(|(name, _)| name)).map_err(|exports| {
            let exports = if exports.is_empty() {
                "nothing".to_string()
            } else {
                exports.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")
            };
            LoadError::WrongWorld { origin: origin.into(), exports }
        })?;
        let refused = load::refused_imports(world, ty.imports(&shared.engine).map(|(name, _)| name));
        if !refused.is_empty() {
            return Err(LoadError::NotLent { origin: origin.into(), world, imports: refused });
        }
        let linker = match world {
            World::Connector => &shared.connector_linker,
            World::Transform => &shared.transform_linker,
        };
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Link { origin: origin.into(), reason: format!("{e:#}") })?;
        let exports_err =
            |e: wasmtime::Error| LoadError::Exports { origin: origin.into(), world, reason: format!("{e:#}") };
        let pre = match world {
            World::Connector => {
                Pre::Connector(bindings::connector::ConnectorPre::new(instance_pre).map_err(exports_err)?)
            }
            World::Transform => {
                Pre::Transform(bindings::transform::TransformPre::new(instance_pre).map_err(exports_err)?)
            }
        };
        let mut plugin = Plugin {
            inner: Arc::new(PluginInner {
                shared: shared.clone(),
                name: Arc::from(sanitize_name(fallback_name)),
                world,
                pre,
                manifest: None,
                oauth2: None,
                input_validators: Default::default(),
                hash: Arc::from(hash.as_str()),
                cached,
            }),
        };
        if world == World::Connector {
            let outcome = plugin.describe_raw().await;
            let raw =
                outcome.result.map_err(|e| LoadError::Describe { origin: origin.into(), reason: e.to_string() })?;
            let manifest =
                wit::manifest(raw).map_err(|reason| LoadError::Manifest { origin: origin.into(), reason })?;
            let mut manifest = manifest;
            if load::exports_oauth(ty.exports(&shared.engine).map(|(name, _)| name)) {
                let outcome = plugin.oauth2_raw().await;
                let raw =
                    outcome.result.map_err(|e| LoadError::Describe { origin: origin.into(), reason: e.to_string() })?;
                manifest.oauth2 = raw
                    .map(wit::oauth2)
                    .transpose()
                    .map_err(|reason| LoadError::Manifest { origin: origin.into(), reason })?;
            }
            let inner = Arc::get_mut(&mut plugin.inner).expect("the plugin is not shared yet");
            inner.name = Arc::from(manifest.name.as_str());
            for action in &manifest.actions {
                let validator = jsonschema::validator_for(&action.input_schema).map_err(|e| LoadError::Manifest {
                    origin: origin.into(),
                    reason: format!("the input-schema of action {:?} is not a valid JSON Schema: {e}", action.name),
                })?;
                inner.input_validators.insert(action.name.clone(), validator);
            }
            inner.oauth2 = manifest.oauth2.clone().map(Arc::new);
            inner.manifest = Some(manifest);
        }
        Ok(plugin)
    }
}

fn engine_config(ceilings: &Ceilings) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.consume_fuel(true);
    config.epoch_interruption(true);
    config.max_wasm_stack(ceilings.max_wasm_stack);
    // The fiber stack holds the wasm stack plus host frames beneath it.
    config.async_stack_size(ceilings.max_wasm_stack + (1 << 20));

    let n = ceilings.max_concurrent_instances;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(n)
        // componentize-py components hold 38 core instances (CPython and its
        // WASI stubs); slots are address space, reserved, not resident memory.
        .total_core_instances(n * 64)
        .total_memories(n)
        .total_tables(n * 4)
        .total_stacks(n)
        .max_core_instances_per_component(64)
        .max_memories_per_component(4)
        .max_tables_per_component(16)
        .max_memory_size(ceilings.max_memory_bytes)
        .table_elements(100_000)
        // Reset a slot between calls by rewriting only the pages the last call
        // dirtied (PAGEMAP_SCAN, Linux 6.7+), keeping them resident: no madvise,
        // no page faults on the next call. Elsewhere the first bytes are memset.
        .pagemap_scan(wasmtime::Enabled::Auto)
        .linear_memory_keep_resident(2 << 20)
        .table_keep_resident(1 << 20)
        .max_unused_warm_slots(64);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// Plugin names are used in keys, logs and URLs: keep them tame.
fn sanitize_name(name: &str) -> String {
    let cleaned: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' })
        .take(64)
        .collect();
    if cleaned.is_empty() { "plugin".into() } else { cleaned }
}

/// Which export a call went to, for error messages and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Export {
    Describe,
    OAuth2,
    Invoke(String),
    Poll(String),
    Subscribe(String),
    Unsubscribe(String),
    HandleWebhook(String),
    Transform,
}

impl fmt::Display for Export {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Export::Describe => f.write_str("describe()"),
            Export::OAuth2 => f.write_str("oauth2()"),
            Export::Invoke(a) => write!(f, "invoke({a:?})"),
            Export::Poll(t) => write!(f, "poll({t:?})"),
            Export::Subscribe(t) => write!(f, "subscribe({t:?})"),
            Export::Unsubscribe(t) => write!(f, "unsubscribe({t:?})"),
            Export::HandleWebhook(t) => write!(f, "handle-webhook({t:?})"),
            Export::Transform => f.write_str("transform()"),
        }
    }
}

/// Which limit a call ran into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitKind {
    Cpu {
        fuel: u64,
    },
    Time {
        limit: Duration,
    },
    /// `asked`: a single allocation that could never fit, which the plugin's
    /// allocator refused without asking the host to grow its memory.
    Memory {
        bytes: usize,
        asked: Option<u64>,
    },
    Stack {
        bytes: usize,
    },
    Output {
        bytes: usize,
        cap: usize,
    },
    HostResources {
        max: usize,
    },
}

impl fmt::Display for LimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitKind::Cpu { fuel } => write!(f, "CPU budget ({fuel} fuel)"),
            LimitKind::Time { limit } => write!(f, "time limit ({} ms)", limit.as_millis()),
            LimitKind::Memory { bytes, asked: None } => {
                write!(f, "memory limit ({})", weft_core::human_bytes(*bytes as u64))
            }
            LimitKind::Memory { bytes, asked: Some(asked) } => {
                write!(
                    f,
                    "memory limit ({}; it asked for {} at once)",
                    weft_core::human_bytes(*bytes as u64),
                    weft_core::human_bytes(*asked)
                )
            }
            LimitKind::Stack { bytes } => write!(f, "stack limit ({})", weft_core::human_bytes(*bytes as u64)),
            LimitKind::Output { bytes, cap } => {
                write!(
                    f,
                    "output cap (returned {}, cap {})",
                    weft_core::human_bytes(*bytes as u64),
                    weft_core::human_bytes(*cap as u64)
                )
            }
            LimitKind::HostResources { max } => {
                write!(f, "host resource limit ({max} open handles)")
            }
        }
    }
}

/// Why a plugin call did not produce a result.
#[derive(Debug, Clone, Error)]
pub enum CallError {
    /// The plugin returned one of the contract's errors.
    #[error("plugin {plugin:?} failed in {export}: {error}")]
    Plugin { plugin: String, export: Export, error: PluginError },
    /// The call ran into a limit and was stopped.
    #[error("plugin {plugin:?} exceeded its {limit} in {export}")]
    Limit { plugin: String, export: Export, limit: LimitKind },
    /// The plugin trapped (a panic, an unreachable, a bad memory access…).
    #[error("plugin {plugin:?} trapped in {export}: {reason}")]
    Trap { plugin: String, export: Export, reason: String },
    /// The plugin returned something that breaks the contract (invalid JSON…).
    #[error("plugin {plugin:?} returned invalid output from {export}: {reason}")]
    BadOutput { plugin: String, export: Export, reason: String },
    /// The host could not run the call now (all instance slots busy); retry.
    #[error("no room to run plugin {plugin:?} right now ({reason}); retry shortly")]
    Capacity { plugin: String, reason: String },
    /// The plugin is not of a world that has this export.
    #[error("plugin {plugin:?} is a {world} and has no {export}")]
    WrongWorld { plugin: String, export: Export, world: World },
}

impl CallError {
    /// What kind of failure: the plugin's error kind, or how the sandbox stopped the call.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::Plugin { error, .. } => error.kind(),
            CallError::Limit { .. } => "limit",
            CallError::Trap { .. } => "trap",
            CallError::BadOutput { .. } => "bad-output",
            CallError::Capacity { .. } => "capacity",
            CallError::WrongWorld { .. } => "wrong-world",
        }
    }

    /// Whether the engine may retry the call.
    pub fn is_retryable(&self) -> bool {
        match self {
            CallError::Plugin { error, .. } => error.is_retryable(),
            CallError::Capacity { .. } => true,
            _ => false,
        }
    }
}

/// The result of one call with what was observed along the way.
#[derive(Debug)]
pub struct Outcome<T> {
    pub result: Result<T, CallError>,
    /// Lines the plugin logged (at most `Limits::max_log_lines`).
    pub logs: Vec<LogLine>,
    /// Lines past the limit, counted and dropped.
    pub dropped_logs: u64,
    /// Outbound HTTP requests the host refused or cut short, with why.
    pub http_refusals: Vec<String>,
    pub fuel_used: u64,
    pub elapsed: Duration,
    /// The call's host I/O, when it was recorded ([`CallOptions::io`]).
    pub io: Option<IoRecording>,
}

/// Per-call choices: whose connection, and which limits.
#[derive(Default, Clone, Copy)]
pub struct CallOptions<'a> {
    /// The connection whose settings, secrets, grants and kv namespace the call uses.
    pub connection: Option<&'a Arc<Connection>>,
    /// Limits for this call; the runtime's defaults when `None`.
    pub limits: Option<&'a Limits>,
    /// Record the call's host I/O, or answer it from a recording; off when `None`.
    pub io: Option<&'a IoMode>,
}

/// A loaded plugin. Cheap to clone; calls on it may run concurrently, each in
/// its own instance.
#[derive(Clone)]
pub struct Plugin {
    inner: Arc<PluginInner>,
}

struct PluginInner {
    shared: Arc<Shared>,
    name: Arc<str>,
    world: World,
    pre: Pre,
    manifest: Option<Manifest>,
    /// The manifest's OAuth 2.0 settings, shared with every call's lender.
    oauth2: Option<Arc<weft_core::oauth::OAuth2Spec>>,
    /// Compiled input schemas of the connector's actions.
    input_validators: std::collections::HashMap<String, jsonschema::Validator>,
    /// BLAKE3 of the component's bytes.
    hash: Arc<str>,
    /// Whether the compiled code came from the compile cache.
    cached: cache::CacheOutcome,
}

enum Pre {
    Connector(bindings::connector::ConnectorPre<CallState>),
    Transform(bindings::transform::TransformPre<CallState>),
}

/// A raw result from the guest: a trap, or the contract's own result.
type Raw<T> = wasmtime::Result<Result<T, bindings::types::Error>>;

/// Returned by the epoch callback when the wall-clock deadline has passed.
#[derive(Debug)]
struct DeadlinePassed;

impl fmt::Display for DeadlinePassed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("wall-clock deadline passed")
    }
}

impl std::error::Error for DeadlinePassed {}

impl Plugin {
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    pub fn world(&self) -> World {
        self.inner.world
    }

    /// The BLAKE3 hash of the component's bytes, in hex.
    pub fn hash(&self) -> &str {
        &self.inner.hash
    }

    /// The version: the manifest's version (connectors) and the first 12
    /// digits of the content hash, e.g. `1.2.0+3f9a0c1b2d4e`; transforms have
    /// the hash alone.
    pub fn version(&self) -> String {
        let short = &self.inner.hash[..12];
        match &self.inner.manifest {
            Some(m) => format!("{}+{short}", m.version),
            None => short.to_string(),
        }
    }

    /// Whether loading it compiled the component or found it in the compile cache.
    pub fn cache_outcome(&self) -> cache::CacheOutcome {
        self.inner.cached
    }

    /// The connector's manifest (`None` for transforms).
    pub fn manifest(&self) -> Option<&Manifest> {
        self.inner.manifest.as_ref()
    }

    /// Check `input` against the input schema of `action`: every violation,
    /// with its path (`/body/email: "x" is not a "email"`), or `Ok`.
    pub fn check_input(&self, action: &str, input: &Value) -> Result<(), String> {
        let Some(validator) = self.inner.input_validators.get(action) else {
            return Err(format!("{:?} has no action {action:?}", self.name()));
        };
        let problems: Vec<String> = validator
            .iter_errors(input)
            .map(|e| {
                let at = e.instance_path().to_string();
                if at.is_empty() { e.to_string() } else { format!("{at}: {e}") }
            })
            .collect();
        if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
    }

    /// Run an action.
    pub async fn invoke(
        &self,
        opts: &CallOptions<'_>,
        action: &str,
        input: &Value,
        ctx: &CallContext,
    ) -> Outcome<Value> {
        let export = Export::Invoke(action.to_string());
        let request = api::InvokeRequest {
            action: action.to_string(),
            input: input.to_string(),
            context: api::CallContext { idempotency_key: ctx.idempotency_key.clone(), attempt: ctx.attempt },
        };
        self.call_connector(
            opts,
            export,
            move |c, store| Box::pin(async move { c.weft_plugin_connector_api().call_invoke(store, &request).await }),
            parse_json,
        )
        .await
    }

    /// Fetch new records of a polling trigger.
    pub async fn poll(
        &self,
        opts: &CallOptions<'_>,
        trigger: &str,
        config: &Value,
        cursor: Option<&str>,
    ) -> Outcome<PollResponse> {
        let request = api::PollRequest {
            trigger: trigger.to_string(),
            config: config.to_string(),
            cursor: cursor.map(str::to_string),
        };
        self.call_connector(
            opts,
            Export::Poll(trigger.to_string()),
            move |c, store| Box::pin(async move { c.weft_plugin_connector_api().call_poll(store, &request).await }),
            |r: api::PollResponse| {
                let events = r.events.into_iter().map(wit::event).collect::<Result<_, _>>()?;
                Ok(PollResponse { events, next_cursor: r.next_cursor })
            },
        )
        .await
    }

    /// Register a webhook URL with the application; returns the subscription state.
    pub async fn subscribe(
        &self,
        opts: &CallOptions<'_>,
        trigger: &str,
        config: &Value,
        webhook_url: &str,
        events: &[String],
    ) -> Outcome<Value> {
        let request = api::SubscribeRequest {
            trigger: trigger.to_string(),
            config: config.to_string(),
            webhook_url: webhook_url.to_string(),
            events: events.to_vec(),
        };
        self.call_connector(
            opts,
            Export::Subscribe(trigger.to_string()),
            move |c, store| {
                Box::pin(async move { c.weft_plugin_connector_api().call_subscribe(store, &request).await })
            },
            parse_json,
        )
        .await
    }

    /// Remove a registration made by [`Plugin::subscribe`].
    pub async fn unsubscribe(
        &self,
        opts: &CallOptions<'_>,
        trigger: &str,
        config: &Value,
        subscription: &Value,
    ) -> Outcome<()> {
        let request = api::UnsubscribeRequest {
            trigger: trigger.to_string(),
            config: config.to_string(),
            subscription: subscription.to_string(),
        };
        self.call_connector(
            opts,
            Export::Unsubscribe(trigger.to_string()),
            move |c, store| {
                Box::pin(async move { c.weft_plugin_connector_api().call_unsubscribe(store, &request).await })
            },
            Ok,
        )
        .await
    }

    /// Turn an incoming webhook request into events (or a direct answer).
    pub async fn handle_webhook(&self, opts: &CallOptions<'_>, request: &WebhookRequest) -> Outcome<WebhookOutcome> {
        let request = api::WebhookRequest {
            trigger: request.trigger.clone(),
            config: request.config.to_string(),
            method: request.method.clone(),
            path: request.path.clone(),
            headers: request.headers.clone(),
            body: request.body.clone(),
        };
        let export = Export::HandleWebhook(request.trigger.clone());
        self.call_connector(
            opts,
            export,
            move |c, store| {
                Box::pin(async move { c.weft_plugin_connector_api().call_handle_webhook(store, &request).await })
            },
            |o: api::WebhookOutcome| {
                Ok(WebhookOutcome {
                    events: o.events.into_iter().map(wit::event).collect::<Result<_, _>>()?,
                    response: o.response.map(|r| WebhookResponse {
                        status: r.status,
                        headers: r.headers,
                        body: r.body,
                    }),
                })
            },
        )
        .await
    }

    /// Run a transform on `input`.
    pub async fn transform(&self, opts: &CallOptions<'_>, input: &Value) -> Outcome<Value> {
        let Pre::Transform(pre) = &self.inner.pre else {
            return self.wrong_world(Export::Transform);
        };
        let (pre, input) = (pre.clone(), input.to_string());
        self.call(
            opts,
            Export::Transform,
            move |store| {
                Box::pin(async move {
                    let instance = pre.instantiate_async(&mut *store).await?;
                    instance.call_transform(store, &input).await
                })
            },
            parse_json,
        )
        .await
    }

    async fn describe_raw(&self) -> Outcome<api::Manifest> {
        self.call_connector(
            &CallOptions::default(),
            Export::Describe,
            move |c, store| Box::pin(async move { c.weft_plugin_connector_api().call_describe(store).await.map(Ok) }),
            Ok,
        )
        .await
    }

    /// The optional `oauth` export (0.1.1), looked up on its own.
    async fn oauth2_raw(&self) -> Outcome<Option<bindings::oauth::Oauth2Spec>> {
        let Pre::Connector(pre) = &self.inner.pre else {
            return self.wrong_world(Export::OAuth2);
        };
        let instance_pre = pre.instance_pre().clone();
        let indices = match bindings::oauth::GuestIndices::new(&instance_pre) {
            Ok(indices) => indices,
            Err(e) => {
                let reason = format!("its oauth export does not match weft:plugin@0.1.x: {e:#}");
                return Outcome {
                    result: Err(CallError::BadOutput { plugin: self.name().into(), export: Export::OAuth2, reason }),
                    ..self.wrong_world(Export::OAuth2)
                };
            }
        };
        self.call(
            &CallOptions::default(),
            Export::OAuth2,
            move |store| {
                Box::pin(async move {
                    let instance = instance_pre.instantiate_async(&mut *store).await?;
                    let guest = indices.load(&mut *store, &instance)?;
                    guest.call_oauth2(&mut *store).await.map(Ok)
                })
            },
            Ok,
        )
        .await
    }

    fn limits<'a>(&'a self, opts: &CallOptions<'a>) -> &'a Limits {
        opts.limits.unwrap_or(&self.inner.shared.defaults)
    }

    /// Instantiate the connector in a fresh store and run `f` on it under the call's limits.
    async fn call_connector<R, T>(
        &self,
        opts: &CallOptions<'_>,
        export: Export,
        f: impl for<'s> FnOnce(&'s bindings::connector::Connector, &'s mut Store<CallState>) -> CallFuture<'s, R>
        + Send
        + 'static,
        convert: impl FnOnce(R) -> Result<T, String>,
    ) -> Outcome<T>
    where
        R: OutputSize + Send + 'static,
    {
        let Pre::Connector(pre) = &self.inner.pre else {
            return self.wrong_world(export);
        };
        let pre = pre.clone();
        self.call(
            opts,
            export,
            move |store| {
                Box::pin(async move {
                    let instance = pre.instantiate_async(&mut *store).await?;
                    f(&instance, store).await
                })
            },
            convert,
        )
        .await
    }

    /// One call: a fresh store with every limit set, `run` under the deadline,
    /// then the outcome classified.
    async fn call<R: OutputSize + Send + 'static, T>(
        &self,
        opts: &CallOptions<'_>,
        export: Export,
        run: impl for<'s> FnOnce(&'s mut Store<CallState>) -> CallFuture<'s, R> + Send + 'static,
        convert: impl FnOnce(R) -> Result<T, String>,
    ) -> Outcome<T> {
        let limits = self.limits(opts);
        let (mut store, started, long) = self.begin(opts, &export);
        let timeout = limits.timeout;
        let work = async move {
            let raw = tokio::time::timeout(timeout, run(&mut store)).await;
            (store, raw)
        };
        let (store, raw) = self.inner.shared.lane.run(work, long).await;
        self.finish(store, started, limits, export, raw, convert)
    }

    fn wrong_world<T>(&self, export: Export) -> Outcome<T> {
        Outcome {
            result: Err(CallError::WrongWorld { plugin: self.name().into(), export, world: self.inner.world }),
            logs: Vec::new(),
            dropped_logs: 0,
            http_refusals: Vec::new(),
            fuel_used: 0,
            elapsed: Duration::ZERO,
            io: None,
        }
    }

    /// A fresh store with every limit set.
    fn begin(&self, opts: &CallOptions<'_>, export: &Export) -> (Store<CallState>, Instant, Arc<AtomicBool>) {
        let shared = &self.inner.shared;
        let limits = self.limits(opts);
        let lender = match (
            &shared.credentials,
            opts.connection,
            self.inner.manifest.as_ref().and_then(|m| m.oauth2.as_ref()),
        ) {
            (Some(credentials), Some(connection), Some(spec)) => Some(Arc::new(caps::http::Lender {
                credentials: credentials.clone(),
                connection: connection.id.clone(),
                spec: self.inner.oauth2.clone().unwrap_or_else(|| Arc::new(spec.clone())),
                lent: Default::default(),
                failure: Default::default(),
            })),
            _ => None,
        };
        let state = CallState::new(CallScope {
            plugin: &self.inner.name,
            world: self.inner.world,
            limits,
            connection: opts.connection,
            kv: shared.kv.as_ref(),
            call: export.to_string(),
            lender,
            io: opts.io.unwrap_or(&IoMode::Off),
        });
        let mut store = Store::new(&shared.engine, state);
        store.limiter(|s| s.limiter());
        store.set_fuel(limits.fuel).expect("fuel is enabled on the engine");
        // Host calls cost fuel too (see `caps::fuel`): charged as each returns,
        // so the budget stops a loop of host calls at the same point every time.
        store.call_hook(|mut ctx, hook| {
            if !matches!(hook, CallHook::ReturningFromHost) {
                return Ok(());
            }
            let cost = ctx.data_mut().take_host_fuel();
            if cost == 0 {
                return Ok(());
            }
            let left = ctx.get_fuel()?;
            if cost > left {
                ctx.set_fuel(0)?;
                return Err(wasmtime::Error::new(Trap::OutOfFuel));
            }
            ctx.set_fuel(left - cost)
        });
        let started = Instant::now();
        let deadline = started + limits.timeout;
        store.set_epoch_deadline(1);
        let long = Arc::new(AtomicBool::new(false));
        let (marked, pace) = (long.clone(), shared.lane.pace());
        store.epoch_deadline_callback(move |_| {
            let now = Instant::now();
            if now >= deadline {
                return Err(wasmtime::Error::new(DeadlinePassed));
            }
            if now.duration_since(started) < LONG_CALL {
                // Let other tasks run, then come back next tick.
                return Ok(UpdateDeadline::Yield(1));
            }
            marked.store(true, Ordering::Relaxed);
            // Move to the long lane, and wait there for a slice while short
            // calls are about.
            Ok(match pace.wait_for_slice(now) {
                None => UpdateDeadline::Yield(1),
                Some(slot) => UpdateDeadline::YieldCustom(1, Box::pin(tokio::time::sleep_until(slot.into()))),
            })
        });
        (store, started, long)
    }

    /// Classify what happened and collect the call's observations.
    fn finish<R: OutputSize, T>(
        &self,
        mut store: Store<CallState>,
        started: Instant,
        limits: &Limits,
        export: Export,
        raw: Result<Raw<R>, tokio::time::error::Elapsed>,
        convert: impl FnOnce(R) -> Result<T, String>,
    ) -> Outcome<T> {
        let plugin = self.name().to_string();
        let fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let http_refusals = store.data().http_refusals();
        let auth_failure = store.data().auth_failure();
        let result = match raw {
            Err(_elapsed) => Err(CallError::Limit { plugin, export, limit: LimitKind::Time { limit: limits.timeout } }),
            Ok(Err(trap)) => {
                Err(classify_trap(&trap, store.data(), plugin, export, limits, &self.inner.shared.ceilings))
            }
            Ok(Ok(Err(error))) => {
                let mut error = wit::plugin_error(error);
                let message = error.message_mut();
                if !http_refusals.is_empty() {
                    message.push_str(&format!(" [weft refused: {}]", http_refusals.join("; ")));
                }
                // Errors end up in run records: never with a secret in them.
                *message = store.data().redact(message);
                Err(CallError::Plugin { plugin, export, error })
            }
            Ok(Ok(Ok(value))) => {
                let bytes = value.output_size();
                if bytes > limits.max_output_bytes {
                    let limit = LimitKind::Output { bytes, cap: limits.max_output_bytes };
                    Err(CallError::Limit { plugin, export, limit })
                } else {
                    convert(value).map_err(|reason| CallError::BadOutput { plugin, export, reason })
                }
            }
        };
        // A call that failed after the host could not lend it a token failed
        // for that reason, whatever the plugin made of it.
        // An authorization server that cannot be reached is a failure that may
        // pass; a connection that must be authorized (again) is not.
        let result = match (result, auth_failure) {
            (Err(CallError::Plugin { plugin, export, .. }), Some(why))
            | (Err(CallError::Trap { plugin, export, .. }), Some(why)) => {
                let error = match why {
                    weft_core::oauth::AuthError::Unavailable(message) => PluginError::Transient { message },
                    other => PluginError::Auth { message: other.to_string() },
                };
                Err(CallError::Plugin { plugin, export, error })
            }
            (result, _) => result,
        };
        // A request the host denied is the operator's to fix (a grant), never
        // worth retrying, whatever the plugin made of the refusal: a failed
        // call that had one fails for good, saying so.
        let result = match result {
            Err(CallError::Plugin { plugin, export, mut error })
                if store.data().http_denied() && error.is_retryable() =>
            {
                let mut message = std::mem::take(error.message_mut());
                if !message.contains("[weft refused:") {
                    message.push_str(&format!(" [weft refused: {}]", http_refusals.join("; ")));
                }
                let message = store.data().redact(&message);
                Err(CallError::Plugin { plugin, export, error: PluginError::Fatal { message } })
            }
            Err(CallError::Trap { plugin, export, reason }) if store.data().http_denied() => {
                let message = store.data().redact(&format!("{reason} [weft refused: {}]", http_refusals.join("; ")));
                Err(CallError::Plugin { plugin, export, error: PluginError::Fatal { message } })
            }
            result => result,
        };
        let log = store.data_mut().take_log();
        Outcome {
            result,
            logs: log.lines,
            dropped_logs: log.dropped,
            http_refusals,
            fuel_used,
            elapsed: started.elapsed(),
            io: store.data().take_recording(),
        }
    }
}

fn parse_json(text: String) -> Result<Value, String> {
    serde_json::from_str(&text).map_err(|e| format!("not valid JSON: {e}"))
}

fn classify_trap(
    error: &wasmtime::Error,
    state: &CallState,
    plugin: String,
    export: Export,
    limits: &Limits,
    ceilings: &Ceilings,
) -> CallError {
    let limit = |limit| CallError::Limit { plugin: plugin.clone(), export: export.clone(), limit };
    if error.downcast_ref::<DeadlinePassed>().is_some() {
        return limit(LimitKind::Time { limit: limits.timeout });
    }
    if let Some(trap) = error.downcast_ref::<Trap>() {
        match trap {
            Trap::OutOfFuel => return limit(LimitKind::Cpu { fuel: limits.fuel }),
            Trap::StackOverflow => {
                return limit(LimitKind::Stack { bytes: ceilings.max_wasm_stack });
            }
            Trap::Interrupt => {
                return limit(LimitKind::Time { limit: limits.timeout });
            }
            _ => {}
        }
    }
    if let Some(ResourceTableError::Full) = error.downcast_ref::<ResourceTableError>() {
        return limit(LimitKind::HostResources { max: limits.max_host_resources });
    }
    // The pool's ceiling applies when a grant asked for more.
    let memory_limit = limits.memory_bytes.min(ceilings.max_memory_bytes);
    if state.memory_denied() {
        return limit(LimitKind::Memory { bytes: memory_limit, asked: None });
    }
    let stderr = state.stderr_tail();
    // An allocation too big to ever fit is refused by the plugin's own
    // allocator (wasi-libc's refuses 2 GiB and more outright), so the host is
    // never asked to grow: Rust then aborts with this message.
    if let Some(asked) = failed_allocation(&stderr)
        && asked.saturating_add(state.memory_in_use() as u64) > memory_limit as u64
    {
        return limit(LimitKind::Memory { bytes: memory_limit, asked: Some(asked) });
    }
    let text = format!("{error:#}");
    if error.downcast_ref::<wasmtime::PoolConcurrencyLimitError>().is_some() {
        return CallError::Capacity { plugin, reason: first_line(&text) };
    }
    let mut reason = match error.downcast_ref::<wasmtime_wasi::I32Exit>() {
        Some(exit) => format!("the plugin exited with status {}", exit.0),
        None => match error.downcast_ref::<Trap>() {
            Some(Trap::MemoryOutOfBounds) => format!(
                "{} (in a Rust or C plugin, often its shadow stack overflowing: unbounded recursion)",
                Trap::MemoryOutOfBounds
            ),
            Some(trap) => trap.to_string(),
            None => first_line(&text),
        },
    };
    if !stderr.is_empty() {
        reason.push_str(&format!("; the plugin printed: {stderr}"));
    }
    CallError::Trap { plugin, export, reason: state.redact(&reason) }
}

/// The size in Rust's "memory allocation of N bytes failed", if the plugin printed it.
fn failed_allocation(stderr: &str) -> Option<u64> {
    let (_, rest) = stderr.rsplit_once("memory allocation of ")?;
    let (n, rest) = rest.split_once(' ')?;
    rest.starts_with("bytes failed").then(|| n.parse().ok()).flatten()
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or(text).to_string()
}

/// Bytes a result carries, checked against `Limits::max_output_bytes`.
trait OutputSize {
    fn output_size(&self) -> usize;
}

impl OutputSize for String {
    fn output_size(&self) -> usize {
        self.len()
    }
}

impl OutputSize for () {
    fn output_size(&self) -> usize {
        0
    }
}

fn events_size(events: &[api::Event]) -> usize {
    events.iter().map(|e| e.id.len() + e.payload.len() + e.timestamp.as_ref().map_or(0, String::len)).sum()
}

impl OutputSize for api::PollResponse {
    fn output_size(&self) -> usize {
        events_size(&self.events) + self.next_cursor.as_ref().map_or(0, String::len)
    }
}

impl OutputSize for api::WebhookOutcome {
    fn output_size(&self) -> usize {
        events_size(&self.events) + self.response.as_ref().map_or(0, |r| r.body.len())
    }
}

impl OutputSize for Option<bindings::oauth::Oauth2Spec> {
    fn output_size(&self) -> usize {
        self.as_ref().map_or(0, |o| {
            o.authorization_url.len()
                + o.token_url.len()
                + o.scopes.iter().chain(&o.hosts).map(String::len).sum::<usize>()
        })
    }
}

impl OutputSize for api::Manifest {
    fn output_size(&self) -> usize {
        let actions: usize =
            self.actions.iter().map(|a| a.input_schema.len() + a.output_schema.len() + a.description.len()).sum();
        let triggers: usize =
            self.triggers.iter().map(|t| t.config_schema.len() + t.output_schema.len() + t.description.len()).sum();
        actions + triggers + self.description.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_name_plugin_export_and_reason() {
        let e = CallError::Limit {
            plugin: "slow".into(),
            export: Export::Invoke("create".into()),
            limit: LimitKind::Cpu { fuel: 1000 },
        };
        assert_eq!(e.to_string(), r#"plugin "slow" exceeded its CPU budget (1000 fuel) in invoke("create")"#);
        let e = CallError::Limit {
            plugin: "big".into(),
            export: Export::Transform,
            limit: LimitKind::Output { bytes: 8 << 20, cap: 4 << 20 },
        };
        assert_eq!(e.to_string(), r#"plugin "big" exceeded its output cap (returned 8 MiB, cap 4 MiB) in transform()"#);
    }
}
