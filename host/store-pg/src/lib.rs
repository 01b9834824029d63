//! # weft-store-pg
//!
//! weft's state in PostgreSQL, shared by every node that is given the same
//! database: flows and their versions; runs, step records and events, with
//! the queue, the timers and the listing of ended runs as columns of each
//! run's row; trigger records, hook tokens and poll states; connections with
//! their secrets sealed under a key the nodes hold and the database never
//! sees; plugins' key-value namespaces with exact quotas; the admin token's
//! hash. `migrations/` holds the schema, applied in order by [`migrate`].
//!
//! [`PgStore`] implements every storage trait of `weft-core`: `RunStore`,
//! `TriggerStore`, `ConnectionStore`, `KvStore` and `Store`. Those traits are
//! synchronous (the embedded store answers in microseconds); here each call
//! is a task on the store's own small runtime, which owns the connection
//! pool, and the caller waits for it (on a tokio worker, with
//! `block_in_place`, so the worker's other tasks move on meanwhile). Every
//! write is committed before the call returns: `flush` has nothing to wait for.
//!
//! **Architecture invariant:** with the embedded store, the only weft crate
//! that names a database; this one names the Postgres client. It depends on
//! `weft-core` alone (`cargo xtask edges` enforces it).

mod kv;
mod plugins;
mod runs;
mod sessions;
mod triggers;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use weft_core::run::{StoreFailure, StoreResult};
use weft_core::seal::Sealer;

/// The migrations, in order: (version, name, SQL). A migration is applied
/// once, in one transaction with its row in `weft_migrations`.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/0001_initial.sql")),
    (2, "oauth", include_str!("../migrations/0002_oauth.sql")),
];

/// How to open a database.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Connections in the pool.
    pub pool_size: usize,
    /// How long a call waits for a connection (or to make one) before it fails.
    pub timeout: Duration,
    /// This node's name, as runs record which node held them (default `<host>:<pid>`).
    pub node: String,
    /// How long a node holds a run it executes without renewing the lease:
    /// after a node dies, its runs wait this long before another takes them.
    pub lease: Duration,
    /// How long the backlog's count (runs queued or executing, across the
    /// cluster) is reused: ingress and the workers ask for it on every event,
    /// and counting costs a scan. Zero counts every time.
    pub backlog_ttl: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            pool_size: 16,
            timeout: Duration::from_secs(5),
            node: default_node_name(),
            lease: Duration::from_secs(30),
            backlog_ttl: Duration::from_millis(100),
        }
    }
}

/// `<host>:<pid>`: unique among the processes of a cluster.
pub fn default_node_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "node".into());
    format!("{host}:{}", std::process::id())
}

/// The store on a PostgreSQL database.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// Runs the calls; shut down (without waiting) when the last handle goes.
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    sealer: Sealer,
    stats: Arc<Stats>,
    /// Where the database is, without its password: for messages.
    target: String,
    node: String,
    lease: Duration,
    /// The runs this node holds, with their lease tokens: renewed every
    /// third of the lease, and carried by every write of those runs.
    held: Held,
    /// The flows whose tick this node holds, with their lease tokens.
    ticks: Held,
    backlog_ttl: Duration,
    /// The backlog as last counted, and when.
    backlog: std::sync::Mutex<Option<(std::time::Instant, usize)>>,
}

pub(crate) type Held = Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>;

/// Remember `key` as held under `token`, if a claim gave one; whether it did.
pub(crate) fn hold(held: &Held, key: String, token: Option<i64>) -> bool {
    let Some(token) = token else { return false };
    held.lock().unwrap_or_else(|p| p.into_inner()).insert(key, token);
    true
}

#[derive(Default)]
pub(crate) struct Stats {
    /// Statements sent (each a round trip).
    pub(crate) statements: AtomicU64,
    /// Transactions committed that wrote something.
    pub(crate) writes: AtomicU64,
    /// Bytes of records written (JSON and values), as sent.
    pub(crate) bytes: AtomicU64,
    /// Runs this node took to execute.
    pub(crate) claims: AtomicU64,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The database's own error, in words.
pub(crate) fn db(e: tokio_postgres::Error) -> StoreFailure {
    match e.as_db_error() {
        Some(d) => StoreFailure(format!("database: {}", d.message())),
        None if e.is_closed() => StoreFailure("database: the connection was closed".into()),
        None => match std::error::Error::source(&e) {
            Some(source) => StoreFailure(format!("database: {e}: {source}")),
            None => StoreFailure(format!("database: {e}")),
        },
    }
}

pub(crate) fn pool(e: deadpool_postgres::PoolError) -> StoreFailure {
    StoreFailure(format!("cannot reach the database: {e}"))
}

pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreFailure {
    StoreFailure(format!("a stored {what} is corrupt: {e}"))
}

/// A time in ms as the database keeps it (`bigint`): times past i64's range are the end of time.
pub(crate) fn ms(t: u64) -> i64 {
    t.min(i64::MAX as u64) as i64
}

/// `postgres://user:secret@host/db` without the secret.
fn without_password(url: &str) -> String {
    match tokio_postgres::Config::from_str(url) {
        Ok(config) => {
            let host = config
                .get_hosts()
                .iter()
                .map(|h| match h {
                    tokio_postgres::config::Host::Tcp(h) => h.clone(),
                    #[cfg(unix)]
                    tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
                })
                .collect::<Vec<_>>()
                .join(",");
            let port = config.get_ports().first().map(|p| format!(":{p}")).unwrap_or_default();
            format!("postgres://{}@{host}{port}/{}", config.get_user().unwrap_or(""), config.get_dbname().unwrap_or(""))
        }
        Err(_) => "postgres://…".into(),
    }
}

impl PgStore {
    /// Connect to the database at `url` (`postgres://user:pass@host:5432/db`),
    /// apply the migrations it lacks, and check that `sealer` opens the
    /// secrets sealed there before (every node must be given the same key).
    pub fn connect(url: &str, sealer: Sealer, options: PgOptions) -> StoreResult<Self> {
        let lease = options.lease.max(Duration::from_millis(300));
        let config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StoreFailure(format!("{} is not a PostgreSQL URL: {e}", without_password(url))))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("weft-pg")
            .enable_all()
            .build()
            .map_err(|e| StoreFailure(format!("cannot start the database runtime: {e}")))?;
        let handle = runtime.handle().clone();
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = {
            let _entered = handle.enter();
            Pool::builder(manager)
                .max_size(options.pool_size.max(1))
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .wait_timeout(Some(options.timeout))
                .create_timeout(Some(options.timeout))
                .recycle_timeout(Some(options.timeout))
                .build()
                .map_err(|e| StoreFailure(format!("cannot make the connection pool: {e}")))?
        };
        let store = Self {
            inner: Arc::new(Inner {
                pool,
                runtime: Some(runtime),
                handle,
                sealer,
                stats: Arc::default(),
                target: without_password(url),
                node: options.node.clone(),
                lease,
                held: Held::default(),
                ticks: Held::default(),
                backlog_ttl: options.backlog_ttl,
                backlog: std::sync::Mutex::default(),
            }),
        };
        let target = store.inner.target.clone();
        let at = target.clone();
        store
            .call(move |cx| async move {
                let mut client = cx.pool.get().await.map_err(pool_err_at(&at))?;
                migrate(&mut client).await?;
                Ok(())
            })
            .map_err(|e| if e.0.contains(&target) { e } else { StoreFailure(format!("{} ({target})", e.0)) })?;
        store.check_key()?;
        store.inner.handle.spawn(runs::renew_leases(
            store.inner.pool.clone(),
            store.inner.stats.clone(),
            store.inner.held.clone(),
            lease,
        ));
        Ok(store)
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.inner.node
    }

    pub(crate) fn lease_ms(&self) -> i64 {
        self.inner.lease.as_millis() as i64
    }

    pub(crate) fn held(&self) -> &Held {
        &self.inner.held
    }

    pub(crate) fn ticks(&self) -> &Held {
        &self.inner.ticks
    }

    /// The backlog counted within the last `backlog_ttl`, if any.
    pub(crate) fn recent_backlog(&self) -> Option<usize> {
        let recent = *self.inner.backlog.lock().unwrap_or_else(|p| p.into_inner());
        recent.filter(|(at, _)| at.elapsed() < self.inner.backlog_ttl).map(|(_, n)| n)
    }

    pub(crate) fn counted_backlog(&self, n: usize) {
        *self.inner.backlog.lock().unwrap_or_else(|p| p.into_inner()) = Some((std::time::Instant::now(), n));
    }

    /// Runs this node holds now.
    pub fn held_runs(&self) -> usize {
        self.inner.held.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Run `f` on the store's runtime and wait for what it gives.
    pub(crate) fn call<T, F, Fut>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(Cx) -> Fut,
        Fut: Future<Output = StoreResult<T>> + Send + 'static,
        T: Send + 'static,
    {
        let task = f(Cx { pool: self.inner.pool.clone(), stats: self.inner.stats.clone() });
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.inner.handle.spawn(async move {
            let _ = tx.send(task.await);
        });
        let wait = move || rx.recv().unwrap_or_else(|_| Err(StoreFailure("the database call was cut off".into())));
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait)
            }
            _ => wait(),
        }
    }

    pub(crate) fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    pub(crate) fn sealer(&self) -> &Sealer {
        &self.inner.sealer
    }

    /// Where the database is (its URL without the password).
    pub fn target(&self) -> &str {
        &self.inner.target
    }

    /// The pool's figures: connections open, idle, and callers waiting for one.
    pub fn pool_status(&self) -> PoolStatus {
        let s = self.inner.pool.status();
        PoolStatus { max: s.max_size, open: s.size, idle: s.available, waiting: s.waiting }
    }

    /// Round trips made (statements sent) since the store was opened.
    pub fn statements(&self) -> u64 {
        self.inner.stats.statements.load(Ordering::Relaxed)
    }

    /// Whether the database answers, within the pool's timeout.
    pub fn ping(&self) -> StoreResult<()> {
        self.call(|cx| async move {
            let client = cx.pool.get().await.map_err(crate::pool)?;
            client.simple_query("SELECT 1").await.map_err(db)?;
            Ok(())
        })
    }

    /// A value from `weft_meta`.
    fn meta(&self, key: &'static str) -> StoreResult<Option<Vec<u8>>> {
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let row = c.q().query_opt("SELECT value FROM weft_meta WHERE key = $1", &[&key]).await?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    fn set_meta(&self, key: &'static str, value: Vec<u8>) -> StoreResult<()> {
        self.call(move |cx| async move {
            let c = cx.client().await?;
            c.q()
                .write(
                    "INSERT INTO weft_meta (key, value) VALUES ($1, $2) \
                     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    &[&key, &value],
                )
                .await?;
            Ok(())
        })
    }

    /// The SHA-256 of the admin API token, once one was made.
    pub fn admin_token_hash(&self) -> StoreResult<Option<[u8; 32]>> {
        Ok(self.meta("admin_token_sha256")?.and_then(|v| v.as_slice().try_into().ok()))
    }

    /// Replace the admin API token's hash (the token itself is never stored).
    pub fn set_admin_token_hash(&self, hash: [u8; 32]) -> StoreResult<()> {
        self.set_meta("admin_token_sha256", hash.to_vec())
    }

    /// The database keeps a value sealed with the key the first node was
    /// given; a node given another key is refused before it seals anything.
    fn check_key(&self) -> StoreResult<()> {
        const CHECK: &[u8] = b"weft key check";
        match self.meta("key_check")? {
            Some(sealed) => match self.sealer().open(&sealed) {
                Ok(plain) if plain == CHECK => Ok(()),
                _ => Err(StoreFailure(format!(
                    "the key this node was given does not open the secrets in {}: every node must be given the same key",
                    self.target()
                ))),
            },
            None => {
                let sealed = self.sealer().seal(CHECK).map_err(StoreFailure)?;
                // Two nodes starting at once: the first check written wins, and is checked again.
                self.call(move |cx| async move {
                    let c = cx.client().await?;
                    c.q()
                        .write(
                            "INSERT INTO weft_meta (key, value) VALUES ('key_check', $1) ON CONFLICT (key) DO NOTHING",
                            &[&sealed],
                        )
                        .await?;
                    Ok(())
                })?;
                self.check_key_once()
            }
        }
    }

    fn check_key_once(&self) -> StoreResult<()> {
        match self.meta("key_check")? {
            Some(sealed) if self.sealer().open(&sealed).is_ok() => Ok(()),
            _ => Err(StoreFailure(format!(
                "the key this node was given does not open the secrets in {}: every node must be given the same key",
                self.target()
            ))),
        }
    }
}

/// What a call gets to work with: the pool, and the counters it adds to.
pub(crate) struct Cx {
    pub(crate) pool: Pool,
    pub(crate) stats: Arc<Stats>,
}

impl Cx {
    /// A connection from the pool.
    pub(crate) async fn client(&self) -> StoreResult<Conn> {
        Ok(Conn { obj: self.pool.get().await.map_err(pool)?, stats: self.stats.clone() })
    }
}

/// A pooled connection.
pub(crate) struct Conn {
    obj: deadpool_postgres::Object,
    stats: Arc<Stats>,
}

impl Conn {
    /// Statements on the connection, outside a transaction (each commits on its own).
    pub(crate) fn q(&self) -> Q<'_, deadpool_postgres::Object> {
        Q { c: &self.obj, stats: &self.stats }
    }

    /// Begin a transaction.
    pub(crate) async fn begin(&mut self) -> StoreResult<Tx<'_>> {
        self.stats.statements.fetch_add(1, Ordering::Relaxed);
        Ok(Tx { tx: self.obj.transaction().await.map_err(db)?, stats: &self.stats })
    }
}

/// A transaction; dropped without [`Tx::commit`], it is rolled back.
pub(crate) struct Tx<'a> {
    tx: deadpool_postgres::Transaction<'a>,
    stats: &'a Stats,
}

impl<'a> Tx<'a> {
    pub(crate) fn q(&self) -> Q<'_, deadpool_postgres::Transaction<'a>> {
        Q { c: &self.tx, stats: self.stats }
    }

    /// Commit: one write, as `/metrics` counts them.
    pub(crate) async fn commit(self) -> StoreResult<()> {
        self.stats.statements.fetch_add(1, Ordering::Relaxed);
        self.tx.commit().await.map_err(db)?;
        self.stats.writes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

type Params<'p> = &'p [&'p (dyn tokio_postgres::types::ToSql + Sync)];

/// Statements (prepared once per connection, then by name), each counted as a round trip.
pub(crate) struct Q<'a, C> {
    c: &'a C,
    stats: &'a Stats,
}

impl<C: deadpool_postgres::GenericClient + Sync> Q<'_, C> {
    async fn prepared(&self, sql: &str) -> StoreResult<tokio_postgres::Statement> {
        self.stats.statements.fetch_add(1, Ordering::Relaxed);
        self.c.prepare_cached(sql).await.map_err(db)
    }

    pub(crate) async fn query(&self, sql: &str, params: Params<'_>) -> StoreResult<Vec<tokio_postgres::Row>> {
        let statement = self.prepared(sql).await?;
        self.c.query(&statement, params).await.map_err(db)
    }

    pub(crate) async fn query_opt(&self, sql: &str, params: Params<'_>) -> StoreResult<Option<tokio_postgres::Row>> {
        let statement = self.prepared(sql).await?;
        self.c.query_opt(&statement, params).await.map_err(db)
    }

    pub(crate) async fn query_one(&self, sql: &str, params: Params<'_>) -> StoreResult<tokio_postgres::Row> {
        let statement = self.prepared(sql).await?;
        self.c.query_one(&statement, params).await.map_err(db)
    }

    /// A statement that changes something; how many rows it changed.
    pub(crate) async fn execute(&self, sql: &str, params: Params<'_>) -> StoreResult<u64> {
        let statement = self.prepared(sql).await?;
        self.c.execute(&statement, params).await.map_err(db)
    }

    /// A statement that commits on its own (outside a transaction): one write.
    pub(crate) async fn write(&self, sql: &str, params: Params<'_>) -> StoreResult<u64> {
        let n = self.execute(sql, params).await?;
        self.stats.writes.fetch_add(1, Ordering::Relaxed);
        Ok(n)
    }
}

/// JSON already encoded, sent as `json` or `jsonb` without another pass.
#[derive(Debug)]
pub(crate) struct RawJson(pub(crate) Vec<u8>);

impl tokio_postgres::types::ToSql for RawJson {
    fn to_sql(
        &self,
        ty: &tokio_postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        if *ty == tokio_postgres::types::Type::JSONB {
            out.extend_from_slice(&[1]); // jsonb's binary format version
        }
        out.extend_from_slice(&self.0);
        Ok(tokio_postgres::types::IsNull::No)
    }

    tokio_postgres::types::accepts!(JSON, JSONB);
    tokio_postgres::types::to_sql_checked!();
}

/// `value` as JSON, counted as written.
pub(crate) fn json<T: serde::Serialize + ?Sized>(stats: &Stats, value: &T) -> StoreResult<RawJson> {
    let bytes = serde_json::to_vec(value).map_err(|e| StoreFailure(format!("cannot encode a record: {e}")))?;
    wrote(stats, bytes.len());
    Ok(RawJson(bytes))
}

/// Count `bytes` of records written.
pub(crate) fn wrote(stats: &Stats, bytes: usize) {
    stats.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
}

fn pool_err_at(target: &str) -> impl Fn(deadpool_postgres::PoolError) -> StoreFailure + '_ {
    move |e| StoreFailure(format!("cannot reach the database at {target}: {e}"))
}

/// The connection pool's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    pub max: usize,
    pub open: usize,
    pub idle: usize,
    pub waiting: usize,
}

/// What [`migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    /// The migrations applied now, (version, name).
    pub applied: Vec<(i32, String)>,
    /// The schema's version after.
    pub version: i32,
}

/// Bring the database's schema up to date: apply, in order and each in one
/// transaction, the migrations it lacks. Nodes starting at once take turns
/// (an advisory lock); a database migrated by a newer weft is refused.
pub async fn migrate(client: &mut tokio_postgres::Client) -> StoreResult<Migrated> {
    /// The advisory lock the migrating node holds: "weft" in ASCII.
    const LOCK: i64 = 0x7765_6674;
    let tx = client.transaction().await.map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK]).await.map_err(db)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS weft_migrations (\
            version integer PRIMARY KEY, \
            name text NOT NULL, \
            applied_at timestamptz NOT NULL DEFAULT now())",
    )
    .await
    .map_err(db)?;
    let current: i32 =
        tx.query_one("SELECT coalesce(max(version), 0) FROM weft_migrations", &[]).await.map_err(db)?.get(0);
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > latest {
        return Err(StoreFailure(format!(
            "the database's schema is version {current}, newer than this weft knows ({latest}): upgrade weft"
        )));
    }
    let mut applied = Vec::new();
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.batch_execute(sql).await.map_err(|e| StoreFailure(format!("migration {version} ({name}): {}", db(e).0)))?;
        tx.execute("INSERT INTO weft_migrations (version, name) VALUES ($1, $2)", &[version, name])
            .await
            .map_err(db)?;
        applied.push((*version, name.to_string()));
    }
    tx.commit().await.map_err(db)?;
    Ok(Migrated { applied, version: latest.max(current) })
}

/// Connect to `url` once and bring its schema up to date (`weft migrate`).
pub fn migrate_url(url: &str) -> StoreResult<Migrated> {
    let config = tokio_postgres::Config::from_str(url)
        .map_err(|e| StoreFailure(format!("{} is not a PostgreSQL URL: {e}", without_password(url))))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StoreFailure(format!("cannot start the database runtime: {e}")))?;
    let target = without_password(url);
    runtime.block_on(async move {
        let (mut client, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|e| StoreFailure(format!("cannot reach the database at {target}: {}", db(e).0)))?;
        let connection = tokio::spawn(connection);
        let migrated = migrate(&mut client).await;
        drop(client);
        let _ = connection.await;
        migrated
    })
}

impl weft_core::Store for PgStore {
    fn write_stats(&self) -> weft_core::WriteStats {
        let s = self.stats();
        let writes = s.writes.load(Ordering::Relaxed);
        weft_core::WriteStats { writes, syncs: writes, log_bytes: s.bytes.load(Ordering::Relaxed) }
    }

    fn health(&self) -> weft_core::StoreHealth {
        let pool = self.pool_status();
        weft_core::StoreHealth {
            backend: "postgres",
            target: self.target().to_string(),
            error: self.ping().err().map(|e| e.0),
            pool: Some(weft_core::PoolFigures {
                max: pool.max as u64,
                open: pool.open as u64,
                idle: pool.idle as u64,
                waiting: pool.waiting as u64,
                statements: self.statements(),
                held: self.held_runs() as u64,
                claims: self.stats().claims.load(Ordering::Relaxed),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_core::kv::{KvQuota, KvSet, KvStore, entry_cost};
    use weft_core::run::{RunStatus, RunStore};
    use weft_store_suite::pg::PgServer;

    /// Options for tests: the backlog counted every time (exact).
    fn exact() -> PgOptions {
        PgOptions { backlog_ttl: Duration::ZERO, ..PgOptions::default() }
    }

    fn open_at(url: &str, sealer: Sealer) -> PgStore {
        PgStore::connect(url, sealer, exact()).unwrap()
    }

    fn open() -> PgStore {
        open_at(&PgServer::shared().fresh_database(), Sealer::ephemeral())
    }

    /// Node `name` on `url`, given `key`.
    fn named(url: &str, key: &str, name: &str) -> PgStore {
        let options = PgOptions { node: name.into(), ..exact() };
        PgStore::connect(url, Sealer::from_hex(key).unwrap(), options).unwrap()
    }

    /// What every backend must do (`weft-store-suite`), on PostgreSQL.
    mod suite {
        weft_store_suite::suite!(super::open());
    }

    #[test]
    fn migrations_are_applied_once_and_a_newer_schema_is_refused() {
        let server = PgServer::shared();
        let url = server.fresh_database();
        let first = migrate_url(&url).unwrap();
        assert_eq!(first.applied.len(), MIGRATIONS.len());
        assert_eq!(first.version, MIGRATIONS.last().unwrap().0);
        let again = migrate_url(&url).unwrap();
        assert!(again.applied.is_empty(), "nothing to do the second time");
        let db = url.rsplit('/').next().unwrap();
        assert_eq!(server.psql(db, "SELECT count(*) FROM weft_migrations").trim(), MIGRATIONS.len().to_string());
        server.psql(db, "INSERT INTO weft_migrations (version, name) VALUES (9999, 'from the future')");
        let refused = PgStore::connect(&url, Sealer::ephemeral(), PgOptions::default()).err().unwrap();
        assert!(refused.0.contains("newer than this weft knows"), "{refused}");
    }

    #[test]
    fn nodes_given_another_key_are_refused() {
        let url = PgServer::shared().fresh_database();
        let key = Sealer::new_key_hex();
        let first = open_at(&url, Sealer::from_hex(&key).unwrap());
        let again = open_at(&url, Sealer::from_hex(&key).unwrap());
        let refused = PgStore::connect(&url, Sealer::ephemeral(), PgOptions::default()).err().unwrap();
        assert!(refused.0.contains("every node must be given the same key"), "{refused}");
        assert_eq!(first.admin_token_hash().unwrap(), None);
        first.set_admin_token_hash([7; 32]).unwrap();
        assert_eq!(again.admin_token_hash().unwrap(), Some([7; 32]), "one node's token is every node's");
    }

    #[test]
    fn unreachable_and_malformed_databases_are_named_in_the_error() {
        let options = || PgOptions { timeout: Duration::from_secs(1), ..PgOptions::default() };
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("postgres://weft:hunter2@127.0.0.1:{port}/nothing");
        let e = PgStore::connect(&url, Sealer::ephemeral(), options()).err().unwrap();
        assert!(e.0.contains("cannot reach the database at postgres://weft@127.0.0.1"), "{e}");
        assert!(!e.0.contains("hunter2"), "the password is never shown: {e}");
        let e = PgStore::connect("postgres://[nope", Sealer::ephemeral(), options()).err().unwrap();
        assert!(e.0.contains("is not a PostgreSQL URL"), "{e}");
    }

    #[test]
    fn a_timer_is_woken_once_however_many_nodes_look() {
        let url2 = PgServer::shared().fresh_database();
        let key = Sealer::new_key_hex();
        let nodes: Vec<PgStore> = (0..3).map(|_| open_at(&url2, Sealer::from_hex(&key).unwrap())).collect();
        for i in 0..50 {
            let mut run = weft_store_suite::tests::run(&format!("r{i:03}"), RunStatus::Queued, None);
            nodes[0].create_run(&run).unwrap();
            run.status = RunStatus::Waiting;
            run.wake_ms = Some(100);
            nodes[0].save_run(&run).unwrap();
        }
        let woken: Vec<Vec<String>> = std::thread::scope(|s| {
            let handles: Vec<_> = nodes.iter().map(|n| s.spawn(move || n.wake_due(100).unwrap())).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut all: Vec<String> = woken.concat();
        all.sort();
        assert_eq!(all.len(), 50, "each run woken once: {woken:?}");
        all.dedup();
        assert_eq!(all.len(), 50);
        assert_eq!(nodes[1].backlog().unwrap(), 50);
    }

    #[test]
    fn a_quota_holds_exactly_under_writers_on_many_nodes() {
        let url = PgServer::shared().fresh_database();
        let key = Sealer::new_key_hex();
        let nodes: Vec<PgStore> = (0..4).map(|_| open_at(&url, Sealer::from_hex(&key).unwrap())).collect();
        let quota = KvQuota { bytes: 10 * entry_cost("k00", 10), max_keys: 1000 };
        let stored: usize = std::thread::scope(|s| {
            let handles: Vec<_> = nodes
                .iter()
                .enumerate()
                .map(|(n, node)| {
                    s.spawn(move || {
                        (0..10)
                            .filter(|i| {
                                node.kv_set(b"ns", &format!("k{n}{i}"), &[0; 10], quota).unwrap() == KvSet::Stored
                            })
                            .count()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(stored, 10, "40 writers, room for 10");
        assert_eq!(nodes[0].kv_usage(b"ns").unwrap(), (quota.bytes, 10));
        assert_eq!(nodes[3].kv_list(b"ns", "", 100).unwrap().len(), 10);
    }

    #[test]
    fn a_run_is_held_by_one_node_and_a_node_that_lost_it_cannot_write_it() {
        let server = PgServer::shared();
        let url = server.fresh_database();
        let key = Sealer::new_key_hex();
        let node = |name: &str| named(&url, &key, name);
        let (a, b) = (node("a"), node("b"));
        let mut run = weft_store_suite::tests::run("r1", RunStatus::Queued, None);
        a.create_run(&run).unwrap();
        a.create_run(&weft_store_suite::tests::run("r2", RunStatus::Queued, None)).unwrap();
        assert!(a.claim("r1").unwrap());
        assert!(!b.claim("r1").unwrap(), "one node at a time");
        assert_eq!(b.queued(10).unwrap(), ["r2"], "a held run is not offered");
        assert_eq!(a.backlog().unwrap(), 2, "but counts in the backlog");
        let db = url.rsplit('/').next().unwrap();
        assert_eq!(server.psql(db, "SELECT claimed_by FROM runs WHERE id = 'r1'").trim(), "a");

        // a pauses past its lease; b takes the run over.
        server.psql(db, "UPDATE runs SET lease_until = 0 WHERE id = 'r1'");
        assert_eq!(b.queued(10).unwrap(), ["r1", "r2"], "an expired lease is offered again");
        assert!(b.claim("r1").unwrap());
        run.status = RunStatus::Running;
        let mut step = weft_store_suite::tests::step("fetch", weft_core::run::StepStatus::Succeeded);
        let refused = a.put_together("r1", &mut [&mut step], Some(&run)).unwrap_err();
        assert!(refused.0.contains("held by another node now"), "{refused}");
        assert!(a.steps("r1").unwrap().is_empty(), "nothing of the refused write landed");
        run.status = RunStatus::Failed;
        assert!(a.save_run(&run).is_err(), "nor can a end it");
        assert!(a.save_run(&run).is_err(), "however often it tries");
        a.release("r1").unwrap();
        assert_eq!(a.held_runs(), 0, "a lets go of a run it lost");
        assert_eq!(
            server.psql(db, "SELECT claimed_by FROM runs WHERE id = 'r1'").trim(),
            "b",
            "a's release does nothing"
        );

        run.status = RunStatus::Running;
        b.put_together("r1", &mut [&mut step], Some(&run)).unwrap();
        run.status = RunStatus::Succeeded;
        b.save_run(&run).unwrap();
        assert_eq!(b.held_runs(), 0, "saving it ended lets it go");
        assert_eq!(server.psql(db, "SELECT coalesce(claimed_by, '-') FROM runs WHERE id = 'r1'").trim(), "-");
        assert_eq!(b.run("r1").unwrap().unwrap().status, RunStatus::Succeeded);
        assert_eq!(b.steps("r1").unwrap().len(), 1);

        // A node that dies holding a run lets it go when its lease runs out.
        let short = PgOptions { node: "c".into(), lease: Duration::from_millis(400), ..PgOptions::default() };
        let c = PgStore::connect(&url, Sealer::from_hex(&key).unwrap(), short).unwrap();
        assert!(c.claim("r2").unwrap());
        std::thread::sleep(Duration::from_millis(700));
        assert!(!b.claim("r2").unwrap(), "renewed while c lives");
        drop(c);
        std::thread::sleep(Duration::from_millis(600));
        assert!(b.claim("r2").unwrap(), "taken over once c is gone");
        b.release("r2").unwrap();
        assert!(a.claim("r2").unwrap(), "a release lets go at once");
    }

    #[test]
    fn one_node_ticks_a_flow_and_a_tick_taken_over_commits_nothing() {
        use weft_core::trigger::{PollState, TriggerStore};
        let server = PgServer::shared();
        let url = server.fresh_database();
        let key = Sealer::new_key_hex();
        let node = |name: &str| named(&url, &key, name);
        let (a, b) = (node("a"), node("b"));
        assert!(a.claim_tick("f").unwrap());
        assert!(!b.claim_tick("f").unwrap(), "one node at a time");
        assert!(b.claim_tick("g").unwrap(), "other flows are free");
        let state = PollState { key: "k".into(), mark: Some("1".into()), ..Default::default() };
        let event = weft_store_suite::tests::run("e1", RunStatus::Queued, None);
        a.record_events("f", Some(&state), std::slice::from_ref(&event)).unwrap();
        assert!(b.claim_tick("f").unwrap(), "the tick's commit lets go of it");
        b.release_tick("f").unwrap();

        // a pauses past its lease while polling; b polls in its place.
        assert!(a.claim_tick("f").unwrap());
        let db = url.rsplit('/').next().unwrap();
        server.psql(db, "UPDATE trigger_ticks SET lease_until = 0");
        assert!(b.claim_tick("f").unwrap());
        let later = PollState { mark: Some("2".into()), ..state.clone() };
        b.record_events("f", Some(&later), &[weft_store_suite::tests::run("e2", RunStatus::Queued, None)]).unwrap();
        let stale = PollState { mark: Some("9".into()), ..state };
        let refused = a
            .record_events("f", Some(&stale), &[weft_store_suite::tests::run("e3", RunStatus::Queued, None)])
            .unwrap_err();
        assert!(refused.0.contains("another node took over polling"), "{refused}");
        assert_eq!(b.poll_state("f").unwrap(), Some(later), "the lost tick changed nothing");
        assert_eq!(b.run("e3").unwrap(), None, "and queued nothing");
        // Webhook events (no tick) are not held up by a tick.
        assert!(a.claim_tick("f").unwrap());
        b.record_events("f", None, &[weft_store_suite::tests::run("e4", RunStatus::Queued, None)]).unwrap();
        a.release_tick("f").unwrap();
        assert!(b.claim_tick("f").unwrap());
    }

    /// docs/cluster.md shows the SQL the migrations create: it must be today's.
    #[test]
    fn the_documented_schema_is_the_migrations() {
        let doc = include_str!("../../../docs/cluster.md");
        for (version, name, sql) in MIGRATIONS {
            assert!(doc.contains(sql.trim()), "docs/cluster.md lacks migration {version} ({name}) as it is now");
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn calls_work_from_any_runtime() {
        let store = open();
        store.create_run(&weft_store_suite::tests::run("a", RunStatus::Queued, None)).unwrap();
        let multi = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
        let other = store.clone();
        let queued = multi.spawn(async move { other.queued(10).unwrap() });
        assert_eq!(queued.await.unwrap(), ["a"]);
        multi.shutdown_background();
        assert!(store.ping().is_ok());
        assert!(store.statements() > 0);
    }
}
