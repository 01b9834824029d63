//! The `weft` command: thin clap entry points over the library.
//!
//! `weft serve` runs the server. The commands that change or read state
//! (`flow`, `runs`, `connection`, `hooks`, `plugin list|install|remove`) drive
//! its admin API (`--server`, `--token`); `plugin describe|call` and
//! `flow schema` work on local files without a server, and `plugin new|build`
//! on a plugin's project.

mod author;
mod backup;
mod fixture;
mod migrate;
mod plugin;
mod remote;
mod serve;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "weft",
    version,
    about = "An integration platform whose connectors are sandboxed WebAssembly components"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command understands.
#[derive(Args, Clone)]
pub struct Global {
    /// The data directory of `weft serve`: sled database and key file (default ./weft-data).
    /// `weft plugin call` keeps key-value data only when this is given.
    #[arg(long, global = true, env = "WEFT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The folder of plugin .wasm files `weft serve` loads (default <data-dir>/plugins).
    #[arg(long, global = true, env = "WEFT_PLUGINS")]
    pub plugins: Option<PathBuf>,
    /// The weft server the API commands talk to.
    #[arg(long, global = true, env = "WEFT_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// The admin API token (shown when the server first started).
    #[arg(long, global = true, env = "WEFT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl Global {
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| PathBuf::from("weft-data"))
    }

    pub fn plugins_dir(&self) -> PathBuf {
        self.plugins.clone().unwrap_or_else(|| self.data_dir().join("plugins"))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: webhooks, polling, schedules, the admin API and the workers.
    Serve(Box<serve::ServeArgs>),
    /// Check and run plugin files locally; list, install and remove a server's plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Apply, activate, run and inspect flows.
    #[command(subcommand)]
    Flow(remote::FlowCommand),
    /// List, inspect, re-run and cancel runs.
    #[command(subcommand)]
    Runs(remote::RunsCommand),
    /// Manage connections (accounts of connectors, with encrypted secrets).
    #[command(subcommand)]
    Connection(remote::ConnectionCommand),
    /// Webhook URLs of flows.
    #[command(subcommand)]
    Hooks(remote::HooksCommand),
    /// Create or upgrade a PostgreSQL database's schema for weft (`weft serve --store` does it too).
    Migrate(migrate::MigrateArgs),
    /// Copy a running server's data directory into a new folder, without stopping it.
    Backup(backup::BackupArgs),
    /// Copy a backup into a new data directory (--data-dir) to start weft on.
    Restore(backup::RestoreArgs),
    /// Write a server's flows and connections to a file (secrets only with --with-secrets, sealed).
    Export(backup::ExportArgs),
    /// Take a file `weft export` wrote into a server: connections, then flows.
    Import(backup::ImportArgs),
}

/// Parse the command line, run, and turn any error into a message and exit code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // A command's output piped into `head` ends quietly when the pipe closes,
    // as other command-line tools do (Rust ignores SIGPIPE, so every print
    // would panic instead). The server keeps ignoring it: a client that goes
    // away is an error it handles.
    #[cfg(unix)]
    if !matches!(cli.command, Command::Serve(_)) {
        // SAFETY: restoring the default disposition of one signal, before any other thread exists.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    let default_filter = if matches!(cli.command, Command::Serve(_)) { "warn" } else { "error" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WEFT_LOG").unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let g = &cli.global;
        match cli.command {
            Command::Serve(args) => serve::run(*args, g).await,
            Command::Plugin(cmd) => plugin::run(cmd, g).await,
            Command::Flow(cmd) => remote::flow(cmd, g).await,
            Command::Runs(cmd) => remote::runs(cmd, g).await,
            Command::Connection(cmd) => remote::connection(cmd, g).await,
            Command::Hooks(cmd) => remote::hooks(cmd, g).await,
            Command::Migrate(args) => migrate::run(args).await,
            Command::Backup(args) => backup::backup(args, g).await,
            Command::Restore(args) => backup::restore(args, g).await,
            Command::Export(args) => backup::export(args, g).await,
            Command::Import(args) => backup::import(args, g).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
