//! # weft-core
//!
//! The ground every layer of weft stands on: plain domain types and the
//! traits the layers meet at.
//!
//! - [`plugin`]: what crosses the plugin boundary — [`Manifest`](plugin::Manifest),
//!   [`PluginError`](plugin::PluginError), [`Event`](plugin::Event), webhook requests and answers;
//! - [`model`]: the flow format users write ([`FlowDef`](model::FlowDef));
//! - [`run`]: runs and step records, and the traits the executor reaches
//!   storage ([`RunStore`]), plugins ([`Plugins`](run::Plugins)) and time
//!   ([`Clock`](run::Clock)) through;
//! - [`trigger`]: trigger records and poll states, [`TriggerStore`] and
//!   [`TriggerPlugins`](trigger::TriggerPlugins);
//! - [`catalog`]: the installed plugins as validation ([`Catalog`](catalog::Catalog)) and the admin
//!   API ([`PluginRegistry`](catalog::PluginRegistry)) see them;
//! - [`connection`]: connections, host grants, [`ConnectionStore`];
//! - [`kv`]: plugins' key-value namespaces, [`KvStore`](kv::KvStore);
//! - [`replay`]: replaying recorded runs on their plugins or a candidate ([`Replays`](replay::Replays));
//! - [`io`]: recordings of a call's host I/O ([`IoRecording`](io::IoRecording)), to replay it;
//! - [`log`]: the lines plugins log;
//! - [`seal`]: sealing secrets at rest under a key kept apart ([`Sealer`](seal::Sealer)).
//!
//! **Architecture invariant:** this crate depends on no other weft crate and
//! on none of wasmtime, sled, hyper, axum or tokio. Everything here is data,
//! pure functions over it, or a trait another crate implements, so the flow
//! engine can be tested with fakes and a storage backend is a drop-in. The
//! edge check (`cargo xtask edges`) enforces it.

pub mod catalog;
pub mod connection;
pub mod io;
pub mod kv;
pub mod log;
pub mod model;
pub mod oauth;
pub mod plugin;
pub mod replay;
pub mod run;
pub mod seal;
pub mod trigger;

use connection::ConnectionStore;
use run::RunStore;
use trigger::TriggerStore;

/// Everything the server keeps in one storage backend: runs and flows,
/// triggers, connections.
pub trait Store: RunStore + TriggerStore + ConnectionStore {
    /// What the backend has written since it was opened, for `/metrics`.
    fn write_stats(&self) -> WriteStats;

    /// Which backend this is and whether it answers, for `/healthz` and `/metrics`.
    fn health(&self) -> StoreHealth;

    /// Copy everything the store holds into `to` (a new folder), while it
    /// serves: the copy is the store as it was at one moment, and a data
    /// directory weft starts on. A store whose database has backup tools of
    /// its own says so.
    fn backup(&self, to: &std::path::Path) -> run::StoreResult<BackupReport> {
        let _ = to;
        Err(run::StoreFailure(format!(
            "{} is backed up with its own tools (for PostgreSQL: pg_dump, or continuous archiving)",
            self.health().backend
        )))
    }
}

/// What a backup copied.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BackupReport {
    /// Where the copy is.
    pub path: String,
    /// Keys copied from the store.
    pub entries: u64,
    /// Writes made while it copied, applied again to the copy.
    pub redone: u64,
    /// The last write the copy holds (the log's sequence number).
    pub seq: u64,
    /// Plugin files copied (the versions runs use).
    pub files: u64,
    /// How long it took, in milliseconds.
    pub took_ms: u64,
}

/// Where the web UI's sign-in sessions live when nodes share a store, so a
/// browser signed in through one node is signed in on every node. (A node on
/// its own keeps them in memory.) Sessions are keyed by the SHA-256 of their
/// id: the id itself is never stored.
pub trait SessionStore: Send + Sync + 'static {
    /// Keep a new session with its CSRF token, used at `now_ms`; sessions
    /// unused for `idle_ms` are dropped meanwhile.
    fn open_session(&self, id_hash: [u8; 32], csrf: &str, now_ms: u64, idle_ms: u64) -> run::StoreResult<()>;
    /// The CSRF token of the session, if it was used within `idle_ms` of
    /// `now_ms` (which marks it used).
    fn session(&self, id_hash: [u8; 32], now_ms: u64, idle_ms: u64) -> run::StoreResult<Option<String>>;
    /// Sign the session out.
    fn close_session(&self, id_hash: [u8; 32]) -> run::StoreResult<()>;
}

/// A storage backend's state, as `/healthz` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoreHealth {
    /// `sled` or `postgres`.
    pub backend: &'static str,
    /// Where (a data directory, a database URL without its password).
    pub target: String,
    /// Why the backend cannot be used now (the database does not answer).
    pub error: Option<String>,
    /// A connection pool's figures, for a backend that has one.
    pub pool: Option<PoolFigures>,
}

/// A connection pool's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolFigures {
    /// Connections it may open.
    pub max: u64,
    /// Connections open.
    pub open: u64,
    /// Connections open and idle.
    pub idle: u64,
    /// Callers waiting for a connection.
    pub waiting: u64,
    /// Statements sent to the database (each a round trip).
    pub statements: u64,
    /// Runs this node holds now (executing them), in a store nodes share.
    pub held: u64,
    /// Runs this node has taken to execute since it started.
    pub claims: u64,
}

/// Counters of a storage backend's writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Writes (one log entry, or one transaction, each).
    pub writes: u64,
    /// Syncs to disk (group commit: one for every writer waiting at the time).
    pub syncs: u64,
    /// Bytes of log written.
    pub log_bytes: u64,
}

/// `n` bytes for people: `512 bytes`, `1.5 KiB`, `64 MiB`, `2 GiB`.
pub fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64).replace(".0 ", " "),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0).replace(".0 ", " "),
        n => format!("{n} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(512 << 10), "512 KiB");
        assert_eq!(human_bytes(1 << 30), "1 GiB");
        assert_eq!(human_bytes(1536 << 10), "1.5 MiB");
        assert_eq!(human_bytes(10), "10 bytes");
    }
}
