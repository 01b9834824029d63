//! `weft serve`.

use crate::server::{Server, ServerConfig};
use anyhow::{Context, Result};
use clap::Args;
use std::net::SocketAddr;
use std::process::ExitCode;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The base of webhook URLs as applications reach weft (default http://<listen>).
    #[arg(long, env = "WEFT_PUBLIC_URL")]
    public_url: Option<String>,
    /// Runs executing at once.
    #[arg(long, env = "WEFT_WORKERS", default_value = "64")]
    workers: usize,
    /// Runs queued or executing beyond which webhooks answer 429.
    #[arg(long, default_value = "10000")]
    max_backlog: usize,
    /// Largest request body in bytes (plugin uploads may be up to 64 MiB).
    #[arg(long, default_value = "1048576")]
    max_body: usize,
    /// Where compiled plugins are cached (default <data-dir>/cache).
    #[arg(long, env = "WEFT_CACHE_DIR")]
    cache_dir: Option<std::path::PathBuf>,
    /// Set the admin API token (kept only as a hash). Without it, the first
    /// start makes a token and prints it once.
    #[arg(long, env = "WEFT_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
}

pub async fn run(args: ServeArgs, g: &super::Global) -> Result<ExitCode> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let listen = listener.local_addr()?;
    let config = ServerConfig {
        listen,
        data_dir: g.data_dir(),
        plugins_dir: g.plugins_dir(),
        cache_dir: args.cache_dir.unwrap_or_else(|| g.data_dir().join("cache")),
        public_url: args.public_url,
        workers: args.workers,
        max_backlog: args.max_backlog,
        max_body: args.max_body,
        admin_token: args.admin_token,
    };
    let server = Server::open(config.clone()).await?;
    for (file, error) in &server.skipped {
        eprintln!("warning: skipped plugin {file}: {error}");
    }
    if let Some(token) = &server.new_token {
        eprintln!("admin token (shown once; only its hash is kept): {token}");
    }
    eprintln!(
        "weft listening on http://{listen} (data {}, plugins {})",
        config.data_dir.display(),
        config.plugins_dir.display()
    );
    server.serve(listener, shutdown()).await?;
    eprintln!("weft stopped");
    Ok(ExitCode::SUCCESS)
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
