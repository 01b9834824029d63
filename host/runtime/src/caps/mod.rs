//! What the host lends plugins, and nothing more.
//!
//! Each call gets a fresh [`CallState`] as its store data. It holds the only
//! ways out of the sandbox:
//! - [`http`]: `wasi:http/outgoing-handler`, checked request by request against
//!   the connection's granted hosts (private addresses need an explicit grant);
//! - [`kv`]: a key-value namespace private to (plugin, connection), with quotas;
//! - [`log`]: lines into `tracing` and into the call's record, bounded;
//! - [`config`]: the calling connection's settings and secrets, no one else's;
//! - a minimal WASI: clocks, random, empty environment and arguments, no stdin,
//!   stdout discarded, stderr captured (bounded) so panics can be reported.
//!
//! No filesystem and no sockets are linked at all, so a plugin that imports
//! them fails to load (see [`LENT_INTERFACES`]).

pub mod address;
pub mod config;
pub mod http;
pub mod io;
pub mod kv;
pub mod log;

use crate::bindings;
use crate::limits::Limits;
use std::sync::Arc;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};
use weft_core::connection::Connection;
use weft_core::kv::KvStore;
use weft_core::plugin::World;

/// Interfaces (without version) a plugin of each world may import. Anything
/// else is refused when the plugin is loaded.
pub const LENT_INTERFACES: &[(&str, &[World])] = &[
    ("wasi:io/error", &[World::Connector, World::Transform]),
    ("wasi:io/poll", &[World::Connector, World::Transform]),
    ("wasi:io/streams", &[World::Connector, World::Transform]),
    ("wasi:clocks/wall-clock", &[World::Connector, World::Transform]),
    ("wasi:clocks/monotonic-clock", &[World::Connector, World::Transform]),
    ("wasi:random/random", &[World::Connector, World::Transform]),
    ("wasi:random/insecure", &[World::Connector, World::Transform]),
    ("wasi:random/insecure-seed", &[World::Connector, World::Transform]),
    ("wasi:cli/environment", &[World::Connector, World::Transform]),
    ("wasi:cli/exit", &[World::Connector, World::Transform]),
    ("wasi:cli/stdin", &[World::Connector, World::Transform]),
    ("wasi:cli/stdout", &[World::Connector, World::Transform]),
    ("wasi:cli/stderr", &[World::Connector, World::Transform]),
    ("wasi:cli/terminal-input", &[World::Connector, World::Transform]),
    ("wasi:cli/terminal-output", &[World::Connector, World::Transform]),
    ("wasi:cli/terminal-stdin", &[World::Connector, World::Transform]),
    ("wasi:cli/terminal-stdout", &[World::Connector, World::Transform]),
    ("wasi:cli/terminal-stderr", &[World::Connector, World::Transform]),
    ("wasi:http/types", &[World::Connector]),
    ("wasi:http/outgoing-handler", &[World::Connector]),
    ("weft:plugin/types", &[World::Connector, World::Transform]),
    ("weft:plugin/log", &[World::Connector, World::Transform]),
    ("weft:plugin/kv", &[World::Connector]),
    ("weft:plugin/config", &[World::Connector]),
];

/// Bytes of a plugin's stderr kept per call (panic messages land there).
const STDERR_CAPTURE_BYTES: usize = 16 << 10;

/// What weft's host calls cost in fuel, so a plugin's CPU budget bounds a
/// loop of host calls as it bounds a loop of wasm. A fuel unit is about one
/// wasm instruction; on the reference machine a wasm loop burns about 8,500
/// units per microsecond (docs/security.md), and each price is the call's
/// measured host time in those units, rounded, plus a price per byte that
/// crosses. Charged when the call returns to the plugin.
pub mod fuel {
    /// Every call of `log`, `kv` or `config`, before its own price (a dropped log line: ~0.12 µs).
    pub const CALL: u64 = 1_000;
    /// `log`, per byte of the message.
    pub const LOG_BYTE: u64 = 2;
    /// `kv.get` and `kv.list-keys`: a store read (~0.4 µs).
    pub const KV_READ: u64 = 3_000;
    /// `kv.set` and `kv.delete`: a logged store write (4.5–10 µs).
    pub const KV_WRITE: u64 = 50_000;
    /// `kv`, per byte of keys and values in or out.
    pub const KV_BYTE: u64 = 2;
    /// `config`, per byte returned.
    pub const CONFIG_BYTE: u64 = 1;
    /// Each outgoing HTTP request: the host's share of a request and its response (~120 µs).
    pub const HTTP_REQUEST: u64 = 1_000_000;
}

/// The store data of one plugin call: everything the call may touch.
pub struct CallState {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    outbound: http::OutboundHttp,
    limiter: CallLimiter,
    pub(crate) log: log::CallLog,
    pub(crate) kv: Option<kv::Namespace>,
    pub(crate) connection: Option<Arc<Connection>>,
    lender: Option<Arc<http::Lender>>,
    /// The call's host I/O, recorded or replayed.
    pub(crate) tape: Option<Arc<io::Tape>>,
    stderr: MemoryOutputPipe,
    /// Fuel the host calls since the last return to the plugin cost (see [`fuel`]).
    host_fuel: u64,
}

/// Who is calling, and with what: the inputs to [`CallState::new`].
pub struct CallScope<'a> {
    pub plugin: &'a Arc<str>,
    pub world: World,
    pub limits: &'a Limits,
    pub connection: Option<&'a Arc<Connection>>,
    /// Where the call's key-value namespace lives.
    pub kv: Option<&'a Arc<dyn KvStore>>,
    /// The export being called, e.g. `invoke("create")`, for logs.
    pub call: String,
    /// The host's OAuth tokens for the connection, when its connector has OAuth 2.0.
    pub lender: Option<Arc<http::Lender>>,
    /// Record the call's host I/O, or answer it from a recording.
    pub io: &'a weft_core::io::IoMode,
}

impl CallState {
    pub fn new(scope: CallScope<'_>) -> Self {
        let limits = scope.limits;
        let mut table = ResourceTable::new();
        table.set_max_capacity(limits.max_host_resources);
        let stderr = MemoryOutputPipe::new(STDERR_CAPTURE_BYTES);
        let mut wasi = WasiCtxBuilder::new();
        wasi.stderr(stderr.clone()).allow_blocking_current_thread(false);
        let connection = scope.connection.cloned();
        let redact: io::Redactor = match &connection {
            Some(c) => {
                let c = c.clone();
                Arc::new(move |text: &str| c.redact(text))
            }
            None => Arc::new(|text: &str| text.to_string()),
        };
        let tape = match scope.io {
            weft_core::io::IoMode::Off => None,
            weft_core::io::IoMode::Record { cap } => Some(Arc::new(io::Tape::record(*cap, redact))),
            weft_core::io::IoMode::Replay(recording) => Some(Arc::new(io::Tape::replay(recording.clone(), redact))),
        };
        if let Some(tape) = &tape {
            wasi.wall_clock(io::Wall(tape.clone()))
                .monotonic_clock(io::Monotonic { tape: tape.clone(), real: Default::default() })
                .secure_random(tape.rng(0))
                .insecure_random(tape.rng(1))
                .insecure_random_seed(tape.insecure_seed());
        }
        // A namespace belongs to a (plugin, connection): calls made for no
        // connection (describe, for one) get no key-value store at all.
        let kv = match (scope.world, scope.kv, &connection) {
            (World::Connector, Some(store), Some(c)) => Some(kv::Namespace::new(store, scope.plugin, &c.id, limits.kv)),
            _ => None,
        };
        let hosts = connection.as_ref().map(|c| c.hosts.clone()).unwrap_or_default();
        Self {
            table,
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            outbound: http::OutboundHttp::new(scope.plugin.clone(), hosts, limits, scope.lender.clone(), tape.clone()),
            limiter: CallLimiter::new(limits),
            log: log::CallLog::new(
                scope.plugin.clone(),
                connection.as_ref().map(|c| c.id.clone()),
                scope.call,
                limits.max_log_lines,
            ),
            kv,
            connection,
            lender: scope.lender,
            tape,
            stderr,
            host_fuel: 0,
        }
    }

    /// Add `fuel` to what the current host call costs.
    pub(crate) fn charge(&mut self, fuel: u64) {
        self.host_fuel = self.host_fuel.saturating_add(fuel);
    }

    /// What the host calls cost since this was last asked, to be taken from the call's fuel.
    pub fn take_host_fuel(&mut self) -> u64 {
        std::mem::take(&mut self.host_fuel).saturating_add(self.outbound.take_charged())
    }

    /// The limiter wasmtime consults on every memory or table growth.
    pub fn limiter(&mut self) -> &mut dyn ResourceLimiter {
        &mut self.limiter
    }

    /// Whether the call asked for more memory than it was allowed.
    pub fn memory_denied(&self) -> bool {
        self.limiter.memory_denied
    }

    /// The linear memory the call has (bytes), as the limiter last saw it.
    pub fn memory_in_use(&self) -> usize {
        self.limiter.in_use
    }

    /// The tail of what the plugin wrote to stderr (a panic message, usually).
    pub fn stderr_tail(&self) -> String {
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim();
        let tail: String = text.chars().rev().take(2000).collect::<Vec<_>>().into_iter().rev().collect();
        tail
    }

    /// Outbound HTTP requests the host refused or cut short during this call, with why.
    pub fn http_refusals(&self) -> Vec<String> {
        self.outbound.refusals()
    }

    /// Whether the host's policy denied one of the call's requests.
    pub fn http_denied(&self) -> bool {
        self.outbound.denied()
    }

    /// `text` with the calling connection's secrets, and any OAuth token lent
    /// during the call, redacted.
    pub fn redact(&self, text: &str) -> String {
        let mut out = match &self.connection {
            Some(c) => c.redact(text),
            None => text.to_string(),
        };
        if let Some(lender) = &self.lender
            && let Ok(lent) = lender.lent.lock()
        {
            for token in lent.iter().filter(|t| t.len() >= 4) {
                out = out.replace(token.as_str(), "[redacted]");
            }
        }
        out
    }

    /// Why the connection's OAuth token could not be had during the call.
    pub fn auth_failure(&self) -> Option<weft_core::oauth::AuthError> {
        self.lender.as_ref().and_then(|l| l.failure.lock().ok().and_then(|f| f.clone()))
    }

    /// What the call's tape recorded (none when it did not record).
    pub fn take_recording(&self) -> Option<weft_core::io::IoRecording> {
        self.tape.as_ref().filter(|t| !t.replaying()).map(|t| t.take())
    }

    /// The call's log, taken out of the state.
    pub fn take_log(&mut self) -> log::CallLog {
        std::mem::take(&mut self.log)
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for CallState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.outbound }
    }
}

/// Memory and table limits, remembering whether a growth was refused so a
/// resulting trap can be reported as "exceeded its memory limit".
struct CallLimiter {
    inner: StoreLimits,
    memory_denied: bool,
    /// The size of the last memory growth allowed.
    in_use: usize,
}

impl CallLimiter {
    fn new(limits: &Limits) -> Self {
        let inner = StoreLimitsBuilder::new()
            .memory_size(limits.memory_bytes)
            .table_elements(limits.table_elements)
            .instances(64)
            .tables(64)
            .memories(8)
            .build();
        Self { inner, memory_denied: false, in_use: 0 }
    }
}

impl ResourceLimiter for CallLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let ok = self.inner.memory_growing(current, desired, maximum)?;
        self.memory_denied |= !ok;
        if ok {
            self.in_use = desired;
        }
        Ok(ok)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.memory_denied = true;
        self.inner.memory_grow_failed(error)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }
    fn tables(&self) -> usize {
        self.inner.tables()
    }
    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// Link what a connector is lent.
pub fn link_connector(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    link_common(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    bindings::kv::add_to_linker::<_, HasSelf<CallState>>(linker, |s| s)?;
    bindings::config::add_to_linker::<_, HasSelf<CallState>>(linker, |s| s)?;
    Ok(())
}

/// Link what a transform is lent.
pub fn link_transform(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    link_common(linker)
}

/// WASI without filesystem or sockets, and weft's log.
fn link_common(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::cli::{WasiCli, WasiCliView as _};
    use wasmtime_wasi::p2::bindings::{cli, random};
    use wasmtime_wasi::random::WasiRandom;

    // io, clocks, random, stdin/stdout/stderr:
    wasmtime_wasi::p2::add_to_linker_proxy_interfaces_async(linker)?;
    let l = linker;
    random::insecure::add_to_linker::<CallState, WasiRandom>(l, |t| t.wasi.random())?;
    random::insecure_seed::add_to_linker::<CallState, WasiRandom>(l, |t| t.wasi.random())?;
    cli::exit::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::environment::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::terminal_input::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::terminal_output::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::terminal_stdin::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::terminal_stdout::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::terminal_stderr::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    bindings::log::add_to_linker::<_, HasSelf<CallState>>(l, |s| s)?;
    // `weft:plugin/types` holds only types; some toolchains still import it.
    l.instance("weft:plugin/types@0.1.1")?;
    Ok(())
}
