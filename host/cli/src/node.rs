//! One weft node: the pieces of `weft serve` put together.
//!
//! [`Node::open`] opens the store (the data directory's sled store, or a
//! PostgreSQL database shared with other nodes), makes or checks the admin token, starts the sandbox with the store's key-value namespaces,
//! loads the plugins folder into the [`Registry`] and watches it, and builds
//! the executor, the triggers and the pruner over the store and the registry;
//! [`Node::serve`] hands them to the HTTP server until a shutdown signal.

use crate::registry::Registry;
use crate::watch::{self, FolderWatch};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use weft_core::SessionStore;
use weft_core::Store;
use weft_core::catalog::{Catalog, PluginStore};
use weft_core::kv::KvStore;
use weft_core::seal::Sealer;
use weft_flow::retention::{Pruner, PrunerConfig, RetentionPolicy};
use weft_flow::{Executor, ExecutorConfig, SystemClock, TriggerConfig, Triggers};
use weft_runtime::oauth::TokenKeeper;
use weft_runtime::{Runtime, RuntimeConfig};
use weft_server::{HttpConfig, Parts, Server, listen};
use weft_store::{Db, StoreOptions};
use weft_store_pg::{PgOptions, PgStore};

/// How to run a node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Plugin `.wasm` files (default `<data-dir>/plugins`).
    pub plugins_dir: PathBuf,
    /// Compiled components (default `<data-dir>/cache`).
    pub cache_dir: PathBuf,
    /// The base of webhook URLs (default `http://<listen>`).
    pub public_url: Option<String>,
    /// Runs executing at once.
    pub workers: usize,
    /// Bytes of host I/O an action's step record keeps (0: none).
    pub record_io_cap: usize,
    /// Runs queued or executing beyond which webhooks answer 429 and polls wait.
    pub max_backlog: usize,
    /// Events one webhook request or one poll may turn into runs.
    pub max_events_per_request: usize,
    /// Largest request body on `/hooks/` and `/api/` (plugin uploads: 64 MiB).
    pub max_body: usize,
    /// How long clients may take, and how many may be connected.
    pub connections: listen::ConnectionLimits,
    /// How long ended runs are kept, unless a flow says otherwise.
    pub retention: RetentionPolicy,
    /// How often ended runs are pruned.
    pub prune_interval: Duration,
    /// How the data directory is opened (sled's cache).
    pub store: StoreOptions,
    /// Keep state in this PostgreSQL database instead of the data directory.
    pub database: Option<Database>,
    /// Use this admin token (stored hashed) instead of the existing or a generated one.
    pub admin_token: Option<String>,
    /// The error flow of flows that name none (`on_failure`).
    pub error_flow: Option<String>,
}

impl NodeConfig {
    /// Serve `data_dir` on `listen` with every other setting at its default.
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Self {
        let http = HttpConfig::default();
        Self {
            listen,
            plugins_dir: data_dir.join("plugins"),
            cache_dir: data_dir.join("cache"),
            data_dir,
            public_url: None,
            workers: 64,
            record_io_cap: weft_flow::RECORD_IO_CAP,
            max_backlog: 10_000,
            max_events_per_request: 1_000,
            max_body: http.max_body,
            connections: http.connections,
            retention: RetentionPolicy::default(),
            prune_interval: Duration::from_secs(60),
            store: StoreOptions::default(),
            database: None,
            admin_token: None,
            error_flow: None,
        }
    }
}

/// A PostgreSQL database the node keeps its state in, shared with other nodes.
#[derive(Debug, Clone)]
pub struct Database {
    /// `postgres://user:pass@host:5432/db`.
    pub url: String,
    /// The key that seals connection secrets: every node of the database is given the same.
    pub key: Sealer,
    pub options: PgOptions,
}

/// A store as the node's parts reach it: everything, key-value namespaces,
/// and (when nodes share it) the plugins installed through any of them.
type StoreParts = (Arc<dyn Store>, Arc<dyn KvStore>, Option<Shared>);

/// What nodes sharing a store share beyond the storage traits.
struct Shared {
    plugins: Arc<dyn PluginStore>,
    sessions: Arc<dyn SessionStore>,
}

/// The store a node opened: either backend, with the admin token's hash.
enum Opened {
    Sled(Box<Db>),
    Pg(PgStore),
}

impl Opened {
    fn admin_token_hash(&self) -> anyhow::Result<Option<[u8; 32]>> {
        Ok(match self {
            Opened::Sled(db) => db.admin_token_hash()?,
            Opened::Pg(db) => db.admin_token_hash()?,
        })
    }

    fn set_admin_token_hash(&self, hash: [u8; 32]) -> anyhow::Result<()> {
        match self {
            Opened::Sled(db) => db.set_admin_token_hash(hash)?,
            Opened::Pg(db) => db.set_admin_token_hash(hash)?,
        }
        Ok(())
    }

    /// The store, the same store as plugins' key-value namespaces see it,
    /// and, when nodes share it, as the plugins installed through any of them.
    fn into_parts(self) -> StoreParts {
        match self {
            Opened::Sled(db) => {
                let db = Arc::new(*db);
                (db.clone(), db, None)
            }
            Opened::Pg(db) => {
                let db = Arc::new(db);
                (db.clone(), db.clone(), Some(Shared { plugins: db.clone(), sessions: db }))
            }
        }
    }
}

/// A node, open and ready to serve.
pub struct Node {
    server: Server,
    /// The admin token when it was made now (shown once).
    pub new_token: Option<String>,
    /// Plugin files that failed to load.
    pub skipped: Vec<(String, String)>,
    /// The database the node keeps its state in (without its password), if not the data directory.
    pub store_target: Option<String>,
    /// Keeps the registry in step with the plugins folder while the node lives.
    _watch: FolderWatch,
    /// Follows the plugins installed through other nodes while the node lives.
    _follow: Option<AbortOnDrop>,
}

/// A task stopped when this is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A new admin token: `weft_` and 256 random bits in hex.
fn new_admin_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random number generator");
    format!("weft_{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

impl Node {
    /// Open the store, load the plugins, and build the executor and triggers.
    pub async fn open(config: NodeConfig) -> anyhow::Result<Self> {
        let db = match &config.database {
            None => Opened::Sled(Box::new(Db::open_with(&config.data_dir, config.store)?)),
            Some(database) => {
                let database = database.clone();
                // Connecting waits on the network: off the async workers.
                Opened::Pg(
                    tokio::task::spawn_blocking(move || {
                        PgStore::connect(&database.url, database.key, database.options)
                    })
                    .await??,
                )
            }
        };
        let (token_hash, new_token) = match (&config.admin_token, db.admin_token_hash()?) {
            (Some(token), _) => {
                anyhow::ensure!(token.len() >= 16, "the admin token must be at least 16 characters");
                db.set_admin_token_hash(weft_server::token_hash(token))?;
                (weft_server::token_hash(token), None)
            }
            (None, Some(hash)) => (hash, None),
            (None, None) => {
                let token = new_admin_token();
                db.set_admin_token_hash(weft_server::token_hash(&token))?;
                (weft_server::token_hash(&token), Some(token))
            }
        };
        let store_target = match &db {
            Opened::Pg(db) => Some(db.target().to_string()),
            Opened::Sled(_) => None,
        };
        let (store, kv, shared) = db.into_parts();
        // The token keeper asks the registry for connectors' OAuth settings;
        // the registry is made after the runtime that lends the tokens.
        let catalog: Arc<std::sync::OnceLock<Arc<Registry>>> = Arc::default();
        let spec_of: weft_runtime::oauth::SpecOf = {
            let catalog = catalog.clone();
            Arc::new(move |plugin: &str| catalog.get()?.connector(plugin, None)?.oauth2)
        };
        let node_name = config.database.as_ref().map_or_else(|| "weft".to_string(), |d| d.options.node.clone());
        let keeper =
            Arc::new(TokenKeeper::new(store.clone(), spec_of, node_name, weft_runtime::limits::Limits::default()));
        let runtime = Runtime::new(RuntimeConfig {
            kv: Some(kv),
            cache_dir: Some(config.cache_dir.clone()),
            credentials: Some(keeper.clone()),
            ..Default::default()
        })?;
        let mut registry = Registry::new(runtime, store.clone(), Some(config.data_dir.join("versions")))
            .with_folder(config.plugins_dir.clone());
        if let Some(shared) = &shared {
            registry = registry.with_shared(shared.plugins.clone());
        }
        std::fs::create_dir_all(&config.plugins_dir)?;
        // Watch first, so a file written while the folder loads is not missed.
        let watch = watch::watch(registry.clone(), &config.plugins_dir)?;
        let skipped =
            registry.load_dir(&config.plugins_dir).await.into_iter().map(|(file, e)| (file, e.to_string())).collect();
        // With a shared store: what was installed through any node, then its changes as they come.
        let follow = match &shared {
            None => None,
            Some(_) => {
                let after = match registry.catch_up(0).await {
                    Ok(seq) => seq,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot install the plugins installed through other nodes");
                        0
                    }
                };
                let follower = registry.clone();
                Some(AbortOnDrop(tokio::spawn(async move {
                    follower.follow(after, Duration::from_millis(500)).await;
                })))
            }
        };
        let registry = Arc::new(registry);
        let _ = catalog.set(registry.clone());
        let clock = Arc::new(SystemClock);
        let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{}", config.listen));
        let executor = Executor::new(
            store.clone(),
            registry.clone(),
            clock.clone(),
            ExecutorConfig {
                workers: config.workers,
                node: config.database.as_ref().map(|d| d.options.node.clone()),
                error_flow: config.error_flow.clone(),
                public_url: Some(public_url.clone()),
                record_io_cap: config.record_io_cap,
            },
        );
        let secure_cookies = public_url.starts_with("https://");
        let public_url_for_server = public_url.clone();
        let triggers = Triggers::new(
            executor.clone(),
            store.clone(),
            registry.clone(),
            clock.clone(),
            TriggerConfig {
                public_url,
                max_backlog: config.max_backlog,
                max_events_per_request: config.max_events_per_request,
                sync_timeout: Duration::from_secs(30),
            },
        );
        let pruner = Pruner::new(
            store.clone(),
            clock,
            config.retention,
            PrunerConfig { interval: config.prune_interval, ..PrunerConfig::default() },
        );
        let replays = Arc::new(crate::replay::Replayer {
            store: store.clone(),
            registry: registry.clone(),
            connections: store.clone(),
        });
        let server = Server::new(
            Parts {
                replays,
                store,
                plugins: registry,
                executor,
                triggers,
                pruner,
                token_hash,
                sessions: shared.map(|s| s.sessions),
                authorizer: keeper,
                public_url: public_url_for_server,
            },
            HttpConfig { max_body: config.max_body, connections: config.connections, secure_cookies },
        );
        Ok(Self { server, new_token, skipped, store_target, _watch: watch, _follow: follow })
    }

    /// Serve until `shutdown` resolves (see [`Server::serve`]).
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self { server, _watch, _follow, .. } = self;
        server.serve(listener, shutdown).await
    }
}
