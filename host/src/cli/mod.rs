//! The `weft` command: thin clap entry points over the library.

mod flow;
mod plugin;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "weft",
    version,
    about = "An integration platform whose connectors are sandboxed WebAssembly components"
)]
struct Cli {
    #[command(flatten)]
    data: flow::DataArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load, check and run plugins (.wasm components).
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Apply, list and run flows.
    #[command(subcommand)]
    Flow(flow::FlowCommand),
    /// List, inspect and re-run runs.
    #[command(subcommand)]
    Runs(flow::RunsCommand),
    /// Manage connections (accounts of connectors, with encrypted secrets).
    #[command(subcommand)]
    Connection(flow::ConnectionCommand),
    /// Execute queued runs and wake waiting ones until stopped.
    Worker,
}

/// Parse the command line, run, and turn any error into a message and exit code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("WEFT_LOG").unwrap_or_else(|_| "error".into()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Plugin(cmd) => plugin::run(cmd, &cli.data).await,
            Command::Flow(cmd) => flow::flow(cmd, &cli.data).await,
            Command::Runs(cmd) => flow::runs(cmd, &cli.data).await,
            Command::Connection(cmd) => flow::connection(cmd, &cli.data).await,
            Command::Worker => flow::worker(&cli.data).await,
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
