//! `weft flow …`, `weft runs …`, `weft connection …` and `weft worker`: flows
//! and their runs, against the data directory.

use crate::flow::run::{RunFilter, RunRecord, RunStatus, RunStore, StepStatus, SystemClock};
use crate::flow::{Executor, ExecutorConfig, FlowDef};
use crate::runtime::registry::Registry;
use crate::runtime::{Runtime, RuntimeConfig};
use crate::store::Db;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Where weft keeps its state and finds its plugins.
#[derive(Args, Clone)]
pub struct DataArgs {
    /// The data directory: sled database and key file (default ./weft-data; `weft plugin call`
    /// uses a temporary store unless this is given).
    #[arg(long, global = true, env = "WEFT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The folder of plugin .wasm files (default: <data-dir>/plugins).
    #[arg(long, global = true, env = "WEFT_PLUGINS")]
    pub plugins: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum FlowCommand {
    /// Print the JSON Schema of the flow format (for editors: `# yaml-language-server: $schema=…`).
    Schema,
    /// Validate flow files (YAML or JSON) and store them; a changed flow gets a new version.
    Apply {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List flows with their current version.
    List,
    /// Start a run of a flow with an input, and work until it finishes or waits.
    Run {
        name: String,
        /// The trigger payload (JSON; `@FILE` reads a file).
        #[arg(long, short, default_value = "{}")]
        input: String,
        /// Print the full run record as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum RunsCommand {
    /// List runs, newest first.
    List {
        #[arg(long)]
        flow: Option<String>,
        /// queued, running, waiting, succeeded, failed or cancelled.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value = "50")]
        limit: usize,
    },
    /// Show a run as a timeline of its steps.
    Show {
        id: String,
        /// The run and every step record as JSON (inputs, outputs, errors, logs).
        #[arg(long)]
        json: bool,
    },
    /// Finish interrupted runs and those whose wait is over, then exit
    /// (`weft worker` does the same and keeps going).
    Resume,
    /// Re-run a failed run from its failed step (completed steps are not run again).
    Rerun {
        id: String,
        /// Use the flow's current version instead of the one the run had.
        #[arg(long)]
        current_version: bool,
    },
}

#[derive(Subcommand)]
pub enum ConnectionCommand {
    /// Create or replace a connection: an account of one connector.
    Set {
        id: String,
        /// The connector plugin this connection is for.
        #[arg(long)]
        plugin: String,
        /// A setting NAME=VALUE (JSON if it parses). Repeatable.
        #[arg(long = "setting", value_name = "NAME=VALUE")]
        settings: Vec<String>,
        /// A secret NAME=VALUE, stored encrypted. Repeatable.
        #[arg(long = "secret", value_name = "NAME=VALUE")]
        secrets: Vec<String>,
        /// A host the connection's calls may reach. Repeatable.
        #[arg(long = "grant-host", value_name = "HOST")]
        hosts: Vec<String>,
    },
    /// List connections (secret values are never shown).
    List,
}

/// The opened data directory: store, plugins and executor.
struct Workspace {
    db: Db,
    registry: Registry,
    executor: Executor,
}

impl DataArgs {
    pub fn dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| PathBuf::from("weft-data"))
    }
}

async fn open(data: &DataArgs) -> Result<Workspace> {
    let db = Db::open(&data.dir())?;
    let runtime = Runtime::new(RuntimeConfig { db: Some(db.clone()), ..Default::default() })?;
    let registry = Registry::new(runtime, db.clone());
    let dir = data.plugins.clone().unwrap_or_else(|| data.dir().join("plugins"));
    for (file, error) in registry.load_dir(&dir).await {
        eprintln!("warning: skipped plugin {file}: {error}");
    }
    let executor = Executor::new(
        Arc::new(db.clone()),
        Arc::new(registry.clone()),
        Arc::new(SystemClock),
        ExecutorConfig::default(),
    );
    Ok(Workspace { db, registry, executor })
}

pub fn read_json(input: &str, what: &str) -> Result<Value> {
    let text = match input.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {what} file {path}"))?,
        None => input.to_string(),
    };
    serde_json::from_str(&text).with_context(|| format!("{what} is not valid JSON"))
}

pub async fn flow(cmd: FlowCommand, data: &DataArgs) -> Result<ExitCode> {
    if let FlowCommand::Schema = cmd {
        println!("{}", serde_json::to_string_pretty(&FlowDef::json_schema())?);
        return Ok(ExitCode::SUCCESS);
    }
    let ws = open(data).await?;
    match cmd {
        FlowCommand::Schema => unreachable!("handled above"),
        FlowCommand::Apply { files } => {
            let mut failed = false;
            for file in files {
                let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
                let def = match FlowDef::parse(&text) {
                    Ok(def) => def,
                    Err(e) => {
                        eprintln!("error: {}: {e}", file.display());
                        failed = true;
                        continue;
                    }
                };
                if let Err(e) = crate::flow::validate(def.clone(), &ws.registry) {
                    eprintln!("error: {}: {e}", file.display());
                    failed = true;
                    continue;
                }
                let stored = ws.db.put_flow(&def, now_ms())?;
                println!("flow {} is at version {}", stored.name, stored.version);
            }
            ws.db.flush()?;
            Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        FlowCommand::List => {
            for f in ws.db.flows()? {
                let trigger = serde_json::to_value(&f.def.trigger)?;
                let kind = match &trigger {
                    Value::String(s) => s.clone(),
                    Value::Object(m) => m.keys().next().cloned().unwrap_or_default(),
                    _ => String::new(),
                };
                println!("{:<32} v{:<4} {:<9} {} steps", f.name, f.version, kind, f.def.steps.len());
            }
            Ok(ExitCode::SUCCESS)
        }
        FlowCommand::Run { name, input, json } => {
            let trigger = read_json(&input, "--input")?;
            let run = ws.executor.start(&name, trigger)?;
            let run = finish(&ws, &run.id).await?;
            report(&ws, &run, json)
        }
    }
}

pub async fn runs(cmd: RunsCommand, data: &DataArgs) -> Result<ExitCode> {
    let ws = open(data).await?;
    match cmd {
        RunsCommand::List { flow, status, limit } => {
            let status = match status.as_deref() {
                None => None,
                Some(s) => Some(serde_json::from_value::<RunStatus>(Value::String(s.to_string())).map_err(|_| {
                    anyhow::anyhow!(
                        "unknown status {s:?}: use queued, running, waiting, succeeded, failed or cancelled"
                    )
                })?),
            };
            for run in ws.db.runs(&RunFilter { flow, status, limit })? {
                let error = run.error.as_deref().map(|e| format!("  {e}")).unwrap_or_default();
                println!(
                    "{}  {:<24} v{:<3} {:<9} {}{error}",
                    run.id,
                    run.flow,
                    run.version,
                    run.status,
                    time(run.created_ms)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        RunsCommand::Show { id, json } => {
            let run = ws.db.run(&id)?.with_context(|| format!("no run {id:?}"))?;
            report(&ws, &run, json)
        }
        RunsCommand::Resume => {
            let before: Vec<String> = ws.db.queued(usize::MAX)?;
            ws.executor.run_until_idle().await?;
            for id in before {
                if let Some(run) = ws.db.run(&id)? {
                    println!("{}  {:<24} {}", run.id, run.flow, run.status);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        RunsCommand::Rerun { id, current_version } => {
            let run = ws.executor.rerun(&id, current_version)?;
            println!("re-running {id} as {}", run.id);
            let run = finish(&ws, &run.id).await?;
            report(&ws, &run, false)
        }
    }
}

pub async fn connection(cmd: ConnectionCommand, data: &DataArgs) -> Result<ExitCode> {
    let db = Db::open(&data.dir())?;
    match cmd {
        ConnectionCommand::Set { id, plugin, settings, secrets, hosts } => {
            let connection = super::plugin::connection_from_flags(&id, &settings, &secrets, &hosts)?;
            db.put_connection(&id, &plugin, &connection)?;
            db.flush()?;
            println!(
                "connection {id} saved ({plugin}, {} settings, {} secrets)",
                connection.settings.len(),
                connection.secrets.len()
            );
        }
        ConnectionCommand::List => {
            for c in db.connections()? {
                let hosts = c.hosts.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
                println!("{:<24} {:<16} secrets: [{}] hosts: [{hosts}]", c.id, c.plugin, c.secret_names.join(","));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Work on queued runs and wake waiting ones, until interrupted.
pub async fn worker(data: &DataArgs) -> Result<ExitCode> {
    let ws = open(data).await?;
    eprintln!(
        "weft worker: {} plugins; resuming queued runs and waking waiting ones (Ctrl-C stops)",
        ws.registry.list().len()
    );
    tokio::select! {
        result = ws.executor.work() => result?,
        _ = tokio::signal::ctrl_c() => eprintln!("stopping"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Work until run `id` ends, staying for waits (retries, short delays) of up
/// to a minute; longer waits are left to `weft worker`.
async fn finish(ws: &Workspace, id: &str) -> Result<RunRecord> {
    loop {
        ws.executor.run_until_idle().await?;
        let run = ws.db.run(id)?.context("the run vanished")?;
        match run.wake_ms {
            Some(wake) if run.status == RunStatus::Waiting && wake.saturating_sub(now_ms()) <= 60_000 => {
                tokio::time::sleep(std::time::Duration::from_millis(wake.saturating_sub(now_ms()))).await;
            }
            _ => return Ok(run),
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn time(ms: u64) -> String {
    humantime::format_rfc3339_millis(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms)).to_string()
}

fn report(ws: &Workspace, run: &RunRecord, json: bool) -> Result<ExitCode> {
    let steps = ws.db.steps(&run.id)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "run": run, "steps": steps }))?);
    } else {
        println!("run {}  flow {} v{}  {}", run.id, run.flow, run.version, run.status);
        for s in &steps {
            let took =
                s.ended_ms.map(|e| format!("{} ms", e.saturating_sub(s.started_ms))).unwrap_or_else(|| "-".into());
            let status = match s.status {
                StepStatus::Running => "running",
                StepStatus::Succeeded => "ok",
                StepStatus::Failed => "failed",
                StepStatus::Waiting => "waiting",
            };
            let mut line = format!("  {:<32} {:<8} attempts {:<2} {took:>9}", s.path, status, s.attempts);
            if let Some(wake) = s.wake_ms.filter(|_| s.status == StepStatus::Waiting) {
                line.push_str(&format!("  until {}", time(wake)));
            }
            if let Some(e) = &s.error {
                line.push_str(&format!("  {}", e.message));
            }
            println!("{line}");
        }
        match run.status {
            RunStatus::Succeeded => {
                println!("output: {}", serde_json::to_string(run.output.as_ref().unwrap_or(&Value::Null))?);
            }
            RunStatus::Failed => println!("error: {}", run.error.as_deref().unwrap_or("?")),
            RunStatus::Waiting => {
                println!("waiting until {}; `weft worker` resumes it", time(run.wake_ms.unwrap_or_default()));
            }
            _ => {}
        }
    }
    if run.status == RunStatus::Failed {
        bail!("run {} failed", run.id);
    }
    Ok(ExitCode::SUCCESS)
}
