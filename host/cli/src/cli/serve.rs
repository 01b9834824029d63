//! `weft serve`.

use crate::node::{Node, NodeConfig};
use anyhow::{Context, Result};
use clap::Args;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The base of webhook URLs as applications reach weft (default http://<listen>).
    #[arg(long, env = "WEFT_PUBLIC_URL")]
    public_url: Option<String>,
    /// Runs executing at once [default: 64].
    #[arg(long, env = "WEFT_WORKERS")]
    workers: Option<usize>,
    /// Bytes of HTTP bodies and key-value values an action's step record keeps
    /// of its host I/O, for `weft runs replay` (0: keep none) [default: 65536].
    #[arg(long, env = "WEFT_RECORD_IO_CAP", value_name = "BYTES")]
    record_io_cap: Option<usize>,
    /// Runs queued or executing beyond which webhooks answer 429 and polls wait [default: 10000].
    #[arg(long)]
    max_backlog: Option<usize>,
    /// Events one webhook request or one poll may turn into runs; a request with more is refused
    /// with 413 [default: 1000].
    #[arg(long)]
    max_events_per_request: Option<usize>,
    /// Largest request body in bytes (plugin uploads may be up to 64 MiB) [default: 1048576].
    #[arg(long)]
    max_body: Option<usize>,
    /// Time a client has to send a request's head, from connecting or from the first byte of a
    /// next request [default: 10s].
    #[arg(long, value_parser = humantime::parse_duration)]
    header_timeout: Option<Duration>,
    /// Time a client has to send a request's body once its head has arrived (408 after) [default: 30s].
    #[arg(long, value_parser = humantime::parse_duration)]
    body_timeout: Option<Duration>,
    /// A kept-alive connection with no request for this long is closed [default: 60s].
    #[arg(long, value_parser = humantime::parse_duration)]
    idle_timeout: Option<Duration>,
    /// Connections open at once; past it the one that waited longest on its client is closed
    /// [default: 10000, at most 3/4 of the open-file limit].
    #[arg(long)]
    max_connections: Option<usize>,
    /// Keep succeeded runs this long after they end, unless a flow says otherwise [default: 14d].
    #[arg(long, env = "WEFT_RETENTION_SUCCEEDED", value_parser = humantime::parse_duration)]
    retention_succeeded: Option<Duration>,
    /// Keep failed and cancelled runs this long after they end [default: 60d].
    #[arg(long, env = "WEFT_RETENTION_FAILED", value_parser = humantime::parse_duration)]
    retention_failed: Option<Duration>,
    /// Keep at most this many ended runs per flow, the newest [default: 100000].
    #[arg(long, env = "WEFT_RETENTION_MAX_RUNS")]
    retention_max_runs: Option<u64>,
    /// How often ended runs are pruned [default: 1m].
    #[arg(long, value_parser = humantime::parse_duration)]
    prune_interval: Option<Duration>,
    /// Keep weft's state in this PostgreSQL database (postgres://user:pass@host:5432/db), shared by
    /// every node given the same; without it, in the data directory's embedded store.
    #[arg(long, env = "WEFT_STORE", hide_env_values = true)]
    store: Option<String>,
    #[command(flatten)]
    key: KeyArgs,
    /// Connections to the database each node keeps at most [default: 16].
    #[arg(long, env = "WEFT_DB_POOL")]
    db_pool: Option<usize>,
    /// With --store: this node's name, as runs record which node executed them [default: <host>:<pid>].
    #[arg(long, env = "WEFT_NODE")]
    node_name: Option<String>,
    /// With --store: how long a node holds a run without renewing its lease; a node that dies
    /// leaves its runs to the others this long after [default: 30s].
    #[arg(long, env = "WEFT_LEASE", value_parser = humantime::parse_duration)]
    lease: Option<Duration>,
    /// Memory the store may use for its cache, in MiB [default: 128].
    #[arg(long, env = "WEFT_STORE_CACHE_MIB")]
    store_cache_mib: Option<u64>,
    /// Where compiled plugins are cached (default <data-dir>/cache).
    #[arg(long, env = "WEFT_CACHE_DIR")]
    cache_dir: Option<std::path::PathBuf>,
    /// Set the admin API token (kept only as a hash). Without it, the first
    /// start makes a token and prints it once.
    #[arg(long, env = "WEFT_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// The error flow: when a run fails for good and its flow names no `on_failure`, a run of
    /// this flow starts with a summary of the failure.
    #[arg(long, env = "WEFT_ERROR_FLOW")]
    error_flow: Option<String>,
}

/// The key that seals connection secrets in a database.
#[derive(Args)]
pub struct KeyArgs {
    /// With --store: the file holding the key that seals connection secrets (made if missing);
    /// every node of one database must be given the same key.
    #[arg(long, env = "WEFT_KEY_FILE")]
    key_file: Option<std::path::PathBuf>,
    /// With --store: the key itself, 64 hex digits (instead of --key-file).
    #[arg(long = "key", env = "WEFT_KEY", hide_env_values = true, hide = true)]
    key_hex: Option<String>,
}

impl KeyArgs {
    pub fn sealer(&self) -> Result<weft_core::seal::Sealer> {
        match (&self.key_file, &self.key_hex) {
            (Some(_), Some(_)) => anyhow::bail!("give the key once: --key-file or WEFT_KEY, not both"),
            (Some(path), None) => weft_core::seal::Sealer::load_or_create(path).map_err(anyhow::Error::msg),
            (None, Some(hex)) => weft_core::seal::Sealer::from_hex(hex).map_err(|e| anyhow::anyhow!("WEFT_KEY: {e}")),
            (None, None) => anyhow::bail!(
                "with --store, give the key that seals connection secrets: --key-file PATH (made if missing) \
                 or WEFT_KEY (64 hex digits); every node of the database needs the same key"
            ),
        }
    }
}

/// `url` if it names a PostgreSQL database.
pub fn database_url(url: &str) -> Result<&str> {
    anyhow::ensure!(
        url.starts_with("postgres://") || url.starts_with("postgresql://"),
        "--store takes a postgres:// URL (postgres://user:pass@host:5432/db); without --store, weft keeps its \
         state in --data-dir"
    );
    Ok(url)
}

pub async fn run(args: ServeArgs, g: &super::Global) -> Result<ExitCode> {
    let files = raise_open_file_limit();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let listen = listener.local_addr()?;
    let mut config = NodeConfig::new(listen, g.data_dir());
    config.plugins_dir = g.plugins_dir();
    if let Some(dir) = args.cache_dir {
        config.cache_dir = dir;
    }
    config.public_url = args.public_url;
    config.admin_token = args.admin_token;
    config.error_flow = args.error_flow;
    let set = |value: Option<usize>, field: &mut usize| {
        if let Some(v) = value {
            *field = v;
        }
    };
    set(args.workers, &mut config.workers);
    set(args.record_io_cap, &mut config.record_io_cap);
    set(args.max_backlog, &mut config.max_backlog);
    set(args.max_events_per_request, &mut config.max_events_per_request);
    set(args.max_body, &mut config.max_body);
    let limits = &mut config.connections;
    for (value, field) in [
        (args.header_timeout, &mut limits.header_timeout),
        (args.body_timeout, &mut limits.body_timeout),
        (args.idle_timeout, &mut limits.idle_timeout),
    ] {
        if let Some(v) = value {
            *field = v;
        }
    }
    // Room for the store, plugins and outbound HTTP beside the clients.
    let fit = files.map_or(usize::MAX, |n| (n as usize / 4 * 3).max(16));
    limits.max_connections = match args.max_connections {
        Some(n) if n > fit => {
            eprintln!(
                "warning: --max-connections {n} is more than 3/4 of the open-file limit ({}); using {fit}",
                files.unwrap_or_default()
            );
            fit
        }
        Some(n) => n.max(1),
        None => limits.max_connections.min(fit),
    };
    anyhow::ensure!(config.max_events_per_request > 0, "--max-events-per-request must be at least 1");
    let retention = &mut config.retention;
    for (value, field, flag) in [
        (args.retention_succeeded, &mut retention.succeeded, "--retention-succeeded"),
        (args.retention_failed, &mut retention.failed, "--retention-failed"),
    ] {
        if let Some(v) = value {
            anyhow::ensure!(!v.is_zero(), "{flag} must be longer than 0s");
            *field = v;
        }
    }
    if let Some(n) = args.retention_max_runs {
        anyhow::ensure!(n > 0, "--retention-max-runs must be at least 1");
        retention.max_runs = n;
    }
    if let Some(interval) = args.prune_interval {
        anyhow::ensure!(!interval.is_zero(), "--prune-interval must be longer than 0s");
        config.prune_interval = interval;
    }
    if let Some(mib) = args.store_cache_mib {
        config.store.cache_bytes = mib.max(1) << 20;
    }
    if let Some(url) = &args.store {
        let mut options = weft_store_pg::PgOptions::default();
        if let Some(n) = args.db_pool {
            anyhow::ensure!(n > 0, "--db-pool must be at least 1");
            options.pool_size = n;
        }
        if let Some(name) = args.node_name {
            anyhow::ensure!(!name.trim().is_empty(), "--node-name must not be empty");
            options.node = name;
        }
        if let Some(lease) = args.lease {
            anyhow::ensure!(lease >= Duration::from_millis(300), "--lease must be at least 300ms");
            options.lease = lease;
        }
        config.database =
            Some(crate::node::Database { url: database_url(url)?.to_string(), key: args.key.sealer()?, options });
    }
    let server = Node::open(config.clone()).await?;
    for (file, error) in &server.skipped {
        eprintln!("warning: skipped plugin {file}: {error}");
    }
    if let Some(token) = &server.new_token {
        eprintln!("admin token (shown once; only its hash is kept): {token}");
    }
    let state = match &server.store_target {
        Some(target) => format!("store {target}"),
        None => format!("data {}", config.data_dir.display()),
    };
    eprintln!("weft listening on http://{listen} ({state}, plugins {})", config.plugins_dir.display());
    let ui = config.public_url.clone().unwrap_or_else(|| format!("http://{listen}"));
    if weft_server::ui::built() {
        eprintln!("web UI: {}/ (sign in with the admin token)", ui.trim_end_matches('/'));
    } else {
        eprintln!("web UI: not built into this binary (run `cargo xtask ui`, then build weft again)");
    }
    server.serve(listener, shutdown()).await?;
    eprintln!("weft stopped");
    Ok(ExitCode::SUCCESS)
}

/// Raise this process's soft limit on open files to its hard limit (every
/// client connection is a file); the limit now, if it could be read.
fn raise_open_file_limit() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let mut limit = getrlimit(Resource::Nofile);
        if let Some(hard) = limit.maximum
            && limit.current.is_some_and(|soft| soft < hard)
        {
            limit.current = Some(hard);
            if setrlimit(Resource::Nofile, limit).is_err() {
                limit = getrlimit(Resource::Nofile);
            }
        }
        limit.current
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Ctrl-C or SIGTERM.
async fn shutdown() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
