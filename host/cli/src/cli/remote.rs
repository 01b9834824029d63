//! The commands that drive a running server's admin API.

use super::Global;
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::process::ExitCode;
use weft_server::client::{Client, encode};

#[derive(Subcommand)]
pub enum FlowCommand {
    /// Print the JSON Schema of the flow format (for editors: `# yaml-language-server: $schema=…`).
    Schema,
    /// Validate flow files (YAML or JSON) and store them; a changed flow gets a new version.
    Apply {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Also activate each flow's trigger.
        #[arg(long)]
        activate: bool,
    },
    /// Write flows (all, or those named) as YAML files, `<dir>/<name>.yaml`, that `flow apply`
    /// takes back.
    Export {
        names: Vec<String>,
        /// The folder to write to (made if missing).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// List flows with their version, trigger and whether they are active.
    List,
    /// Show a flow's definition and its trigger's state.
    Show { name: String },
    /// Activate a flow's trigger: subscribe its webhook, start polling or its schedule.
    Activate { name: String },
    /// Deactivate a flow's trigger (unsubscribes its webhook).
    Deactivate { name: String },
    /// Delete a flow (its runs stay).
    Delete { name: String },
    /// Start a run by hand with an input, and wait for it to end.
    Run {
        name: String,
        /// The trigger payload (JSON; `@FILE` reads a file, `-` standard input).
        #[arg(long, short, default_value = "{}")]
        input: String,
        /// Print the run id and return at once.
        #[arg(long)]
        no_wait: bool,
        /// Print the full run record as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Poll a polling flow now and print the runs it started.
    Poll { name: String },
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
    /// Re-run a failed run from its failed step (completed steps are not run again).
    Rerun {
        id: String,
        /// Use the flow's current version instead of the one the run had.
        #[arg(long)]
        current_version: bool,
    },
    /// Cancel a run that has not ended.
    Cancel { id: String },
    /// Replay runs offline from the host I/O their steps recorded: each action
    /// called again with its recorded input, answered from its recording (no
    /// application is reached, nothing is written to the run), on the run's
    /// plugin versions or on a candidate; shows where the outputs differ.
    Replay(Box<ReplayArgs>),
    /// Prune ended runs now, by each flow's retention (the server also does this every minute).
    Prune {
        /// Only say what would be pruned.
        #[arg(long)]
        dry_run: bool,
        /// The whole report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
pub struct ReplayArgs {
    /// The run to replay (or `--flow` for many).
    #[arg(required_unless_present = "flow", conflicts_with = "flow")]
    id: Option<String>,
    /// Replay this flow's ended runs and summarise how they fare.
    #[arg(long)]
    flow: Option<String>,
    /// With `--flow`: runs that ended so: failed, succeeded, cancelled or any.
    #[arg(long, default_value = "failed", requires = "flow")]
    status: String,
    /// With `--flow`: runs created within this long (`7d`, `12h`).
    #[arg(long, requires = "flow", value_parser = humantime::parse_duration)]
    since: Option<std::time::Duration>,
    /// With `--flow`: at most this many runs, newest first.
    #[arg(long, default_value = "100", requires = "flow")]
    limit: usize,
    /// Replay with this plugin instead of the run's version of it: an installed
    /// `NAME@VERSION`, or a .wasm FILE (not installed).
    #[arg(long, value_name = "NAME@VERSION|FILE")]
    plugin: Option<String>,
    /// The whole report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum ConnectionCommand {
    /// Create or update a connection: an account of one connector.
    Set {
        id: String,
        /// The connector plugin this connection is for.
        #[arg(long)]
        plugin: String,
        /// A setting NAME=VALUE (JSON if it parses). Repeatable; replaces all settings when given.
        #[arg(long = "setting", value_name = "NAME=VALUE")]
        settings: Vec<String>,
        /// A secret NAME=VALUE, stored encrypted; other stored secrets are kept. Repeatable.
        #[arg(long = "secret", value_name = "NAME=VALUE")]
        secrets: Vec<String>,
        /// A host the connection's calls may reach. Repeatable; replaces all grants when given.
        #[arg(long = "grant-host", value_name = "HOST")]
        hosts: Vec<String>,
        /// How often actions may call the application with this connection: N/s or N/m.
        #[arg(long, value_name = "RATE")]
        rate_limit: Option<String>,
        /// With --rate-limit: calls that may go at once after a quiet spell [default: 1].
        #[arg(long, requires = "rate_limit")]
        burst: Option<u32>,
        /// Remove the connection's rate limit.
        #[arg(long, conflicts_with = "rate_limit")]
        no_rate_limit: bool,
        #[command(flatten)]
        oauth: Box<OAuthArgs>,
    },
    /// Authorize an OAuth 2.0 connection: print the URL to sign in at, then
    /// wait until the application sends the person back (client credentials:
    /// get a token now).
    Authorize {
        id: String,
        /// Print the URL and return without waiting.
        #[arg(long)]
        no_wait: bool,
        /// How long to wait for the sign-in, in seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// List connections (secret values are never shown).
    List,
    /// Delete a connection.
    Delete { id: String },
}

/// The OAuth 2.0 client of a connection whose connector offers OAuth 2.0.
#[derive(clap::Args)]
pub struct OAuthArgs {
    /// The OAuth client id (the application registered with the provider).
    #[arg(long, value_name = "ID")]
    client_id: Option<String>,
    /// The OAuth client secret, stored encrypted; kept when not given.
    #[arg(
        long,
        value_name = "SECRET",
        env = "WEFT_OAUTH_CLIENT_SECRET",
        hide_env_values = true,
        requires = "client_id"
    )]
    client_secret: Option<String>,
    /// Sign in here instead of at the connector's authorization URL (a self-hosted instance).
    #[arg(long, value_name = "URL", requires = "client_id")]
    authorization_url: Option<String>,
    /// Get tokens here instead of at the connector's token URL.
    #[arg(long, value_name = "URL", requires = "client_id")]
    token_url: Option<String>,
    /// A scope to ask for instead of the connector's. Repeatable.
    #[arg(long = "scope", value_name = "SCOPE", requires = "client_id")]
    scopes: Vec<String>,
    /// A host the token is sent to instead of the connector's. Repeatable.
    #[arg(long = "token-host", value_name = "HOST", requires = "client_id")]
    token_hosts: Vec<String>,
    /// Remove the OAuth client and forget its tokens.
    #[arg(long, conflicts_with = "client_id")]
    no_oauth: bool,
}

impl OAuthArgs {
    /// The `oauth` member of a connection's body, when these say anything.
    fn body(self) -> Option<Value> {
        if self.no_oauth {
            return Some(Value::Null);
        }
        let id = self.client_id?;
        let mut o = json!({ "client_id": id });
        if let Some(secret) = self.client_secret {
            o["client_secret"] = json!(secret);
        }
        let set = |o: &mut Value, key: &str, v: Option<Value>| {
            if let Some(v) = v {
                o[key] = v;
            }
        };
        set(&mut o, "authorization_url", self.authorization_url.map(Value::String));
        set(&mut o, "token_url", self.token_url.map(Value::String));
        set(&mut o, "scopes", (!self.scopes.is_empty()).then(|| json!(self.scopes)));
        set(&mut o, "token_hosts", (!self.token_hosts.is_empty()).then(|| json!(self.token_hosts)));
        Some(o)
    }
}

/// A connection's OAuth state in a few words.
fn oauth_status(c: &Value) -> String {
    let o = &c["oauth"];
    match str_of(o, "status") {
        "" => String::new(),
        "authorized" => match o["expires_ms"].as_u64() {
            Some(at) => format!("oauth: authorized, token until {}", time(at)),
            None => "oauth: authorized".into(),
        },
        "needs_reauthorization" => format!("oauth: NEEDS RE-AUTHORIZATION ({})", str_of(o, "reason")),
        _ => "oauth: not authorized yet".into(),
    }
}

#[derive(Subcommand)]
pub enum HooksCommand {
    /// Print a webhook flow's URL (to paste into an application that cannot be subscribed).
    Url { flow: String },
}

fn client(g: &Global) -> Result<Client> {
    Client::new(&g.server, g.token.clone())
}

fn print_json(value: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn time(ms: u64) -> String {
    humantime::format_rfc3339_millis(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms)).to_string()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

pub async fn flow(cmd: FlowCommand, g: &Global) -> Result<ExitCode> {
    if let FlowCommand::Schema = cmd {
        print_json(&weft_core::model::FlowDef::json_schema())?;
        return Ok(ExitCode::SUCCESS);
    }
    let api = client(g)?;
    match cmd {
        FlowCommand::Schema => unreachable!("handled above"),
        FlowCommand::Apply { files, activate } => {
            let mut failed = false;
            let mut texts = Vec::with_capacity(files.len());
            for file in files {
                let text = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
                texts.push((file, text));
            }
            // Flows may name each other (`call`, `on_failure`): a file refused
            // while others are saved is tried again after them, so the order of
            // the files does not matter.
            let mut pending = texts;
            loop {
                let mut refused = Vec::new();
                let before = pending.len();
                for (file, text) in pending {
                    match api.call("POST", "/api/flows", Some(("application/yaml", text.clone()))).await {
                        Ok(saved) => {
                            let name = str_of(&saved, "name").to_string();
                            println!("flow {name} is at version {}", saved["version"]);
                            if let Some(w) = saved.get("warning").and_then(Value::as_str) {
                                eprintln!("warning: {name}: {w}");
                            }
                            if activate {
                                let status =
                                    api.post_json(&format!("/api/flows/{}/activate", encode(&name)), &json!({})).await;
                                match status {
                                    Ok(status) => print_activation(&status),
                                    Err(e) => {
                                        eprintln!("error: activating {name}: {e:#}");
                                        failed = true;
                                    }
                                }
                            }
                        }
                        Err(e) => refused.push((file, text, e)),
                    }
                }
                if refused.is_empty() || refused.len() == before {
                    for (file, _, e) in &refused {
                        eprintln!("error: {}: {e:#}", file.display());
                        failed = true;
                    }
                    break;
                }
                pending = refused.into_iter().map(|(file, text, _)| (file, text)).collect();
            }
            Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        FlowCommand::Export { names, dir } => {
            let names: Vec<String> = if names.is_empty() {
                let flows = api.get("/api/flows").await?;
                flows.as_array().into_iter().flatten().map(|f| str_of(f, "name").to_string()).collect()
            } else {
                names
            };
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            for name in names {
                let flow = api.get(&format!("/api/flows/{}", encode(&name))).await?;
                let path = dir.join(format!("{name}.yaml"));
                std::fs::write(&path, str_of(&flow, "yaml")).with_context(|| format!("writing {}", path.display()))?;
                println!("wrote {}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        FlowCommand::List => {
            for f in api.get("/api/flows").await?.as_array().into_iter().flatten() {
                let active = if f["active"] == true { "active" } else { "inactive" };
                println!(
                    "{:<32} v{:<4} {:<9} {:<8} {} steps",
                    str_of(f, "name"),
                    f["version"],
                    str_of(f, "trigger"),
                    active,
                    f["steps"]
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        FlowCommand::Show { name } => {
            print_json(&api.get(&format!("/api/flows/{}", encode(&name))).await?)?;
            Ok(ExitCode::SUCCESS)
        }
        FlowCommand::Activate { name } => {
            let status = api.post_json(&format!("/api/flows/{}/activate", encode(&name)), &json!({})).await?;
            print_activation(&status);
            Ok(ExitCode::SUCCESS)
        }
        FlowCommand::Deactivate { name } => {
            let out = api.post_json(&format!("/api/flows/{}/deactivate", encode(&name)), &json!({})).await?;
            println!("flow {name} is inactive");
            if let Some(w) = out.get("warning").and_then(Value::as_str) {
                eprintln!("warning: {w}");
            }
            Ok(ExitCode::SUCCESS)
        }
        FlowCommand::Delete { name } => {
            let out = api.call("DELETE", &format!("/api/flows/{}", encode(&name)), None).await?;
            println!("flow {name} deleted");
            if let Some(w) = out.get("warning").and_then(Value::as_str) {
                eprintln!("warning: {w}");
            }
            Ok(ExitCode::SUCCESS)
        }
        FlowCommand::Run { name, input, no_wait, json } => {
            let trigger = super::plugin::read_input(&input)?;
            let wait = if no_wait { "" } else { "?wait=true" };
            let out = api.post_json(&format!("/api/flows/{}/runs{wait}", encode(&name)), &trigger).await?;
            if no_wait {
                println!("{}", str_of(&out["run"], "id"));
                return Ok(ExitCode::SUCCESS);
            }
            report(&out, json)
        }
        FlowCommand::Poll { name } => {
            let out = api.post_json(&format!("/api/flows/{}/poll", encode(&name)), &json!({})).await?;
            let runs = out["runs"].as_array().cloned().unwrap_or_default();
            println!("{} new record(s)", runs.len());
            for id in runs {
                println!("{}", id.as_str().unwrap_or_default());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_activation(status: &Value) {
    let flow = str_of(status, "flow");
    println!("flow {flow} is active ({} trigger)", str_of(status, "kind"));
    if let Some(url) = status.get("webhook_url").and_then(Value::as_str) {
        if status["manual_subscription"] == true {
            println!("its connector cannot register webhooks: paste this URL into the application:\n  {url}");
        } else {
            println!("webhook URL (registered with the application): {url}");
        }
    }
}

pub async fn runs(cmd: RunsCommand, g: &Global) -> Result<ExitCode> {
    let api = client(g)?;
    match cmd {
        RunsCommand::List { flow, status, limit } => {
            let mut query = format!("/api/runs?limit={limit}");
            if let Some(flow) = flow {
                query.push_str(&format!("&flow={}", encode(&flow)));
            }
            if let Some(status) = status {
                query.push_str(&format!("&status={}", encode(&status)));
            }
            for run in api.get(&query).await?.as_array().into_iter().flatten() {
                let error = run.get("error").and_then(Value::as_str).map(|e| format!("  {e}")).unwrap_or_default();
                println!(
                    "{}  {:<24} v{:<3} {:<9} {}{error}",
                    str_of(run, "id"),
                    str_of(run, "flow"),
                    run["version"],
                    str_of(run, "status"),
                    time(run["created_ms"].as_u64().unwrap_or_default())
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        RunsCommand::Show { id, json } => report(&api.get(&format!("/api/runs/{}", encode(&id))).await?, json),
        RunsCommand::Rerun { id, current_version } => {
            let path = format!("/api/runs/{}/rerun?current_version={current_version}", encode(&id));
            let out = api.post_json(&path, &json!({})).await?;
            let new_id = str_of(&out["run"], "id").to_string();
            println!("re-running {id} as {new_id}");
            let done = wait_for(&api, &new_id).await?;
            report(&done, false)
        }
        RunsCommand::Replay(args) => replay(&api, *args).await,
        RunsCommand::Cancel { id } => {
            let out = api.post_json(&format!("/api/runs/{}/cancel", encode(&id)), &json!({})).await?;
            let status = str_of(&out["run"], "status");
            if status == "cancelled" {
                println!("run {id} cancelled");
            } else {
                println!("run {id} is executing; it stops before its next step");
            }
            Ok(ExitCode::SUCCESS)
        }
        RunsCommand::Prune { dry_run, json } => {
            let out = api.post_json(&format!("/api/runs/prune?dry_run={dry_run}"), &json!({})).await?;
            if json {
                print_json(&out)?;
                return Ok(ExitCode::SUCCESS);
            }
            let verb = if dry_run { "would prune" } else { "pruned" };
            println!("{verb} {} ended runs", out["runs"]);
            for f in out["flows"].as_array().into_iter().flatten() {
                println!(
                    "  {:<24} {} succeeded, {} failed or cancelled (older than the flow keeps), {} over its max_runs, {} test runs",
                    str_of(f, "flow"),
                    f["succeeded"],
                    f["failed"],
                    f["over_max_runs"],
                    f["test"].as_u64().unwrap_or(0)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `weft runs replay`.
async fn replay(api: &Client, args: ReplayArgs) -> Result<ExitCode> {
    let mut query = Vec::new();
    let mut body = None;
    if let Some(plugin) = &args.plugin {
        let path = std::path::Path::new(plugin);
        if path.is_file() {
            let bytes = std::fs::read(path).with_context(|| format!("reading {plugin}"))?;
            let stem = path.file_stem().map(|s| s.to_string_lossy().replace('_', "-")).unwrap_or_default();
            query.push(format!("name={}", encode(&stem)));
            body = Some(("application/wasm", bytes));
        } else if plugin.contains('@') {
            query.push(format!("plugin={}", encode(plugin)));
        } else {
            anyhow::bail!("--plugin {plugin:?} is neither a file nor NAME@VERSION");
        }
    }
    let path = match (&args.id, &args.flow) {
        (Some(id), _) => format!("/api/runs/{}/replay", encode(id)),
        (None, Some(flow)) => {
            query.push(format!("status={}", encode(&args.status)));
            query.push(format!("limit={}", args.limit));
            if let Some(since) = args.since {
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
                query.push(format!("since_ms={}", now.saturating_sub(since).as_millis()));
            }
            format!("/api/flows/{}/replay", encode(flow))
        }
        (None, None) => unreachable!("clap requires one"),
    };
    let path = if query.is_empty() { path } else { format!("{path}?{}", query.join("&")) };
    let out = api.call("POST", &path, body).await?;
    if args.json {
        print_json(&out)?;
    }
    if args.id.is_some() {
        if !args.json {
            print_replay(&out);
        }
        let fine = matches!(out["verdict"].as_str(), Some("same" | "now_succeeds"));
        return Ok(if fine { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    }
    if !args.json {
        for run in out["results"].as_array().into_iter().flatten() {
            println!("{}  {:<13} {}", str_of(run, "run"), str_of(run, "verdict"), str_of(run, "summary"));
        }
        let candidate = out["candidate"].as_str().map(|c| format!(" on {c}")).unwrap_or_default();
        println!(
            "\n{} run(s) of {} replayed{candidate}: {} now succeed, {} still fail, {} now fail, {} the same, {} differ, {} not replayable",
            out["runs"],
            str_of(&out, "flow"),
            out["now_succeed"],
            out["still_fail"],
            out["now_fail"],
            out["same"],
            out["differ"],
            out["not_replayable"]
        );
    }
    let worse = out["now_fail"].as_u64().unwrap_or(0) > 0;
    Ok(if worse { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// A run's replay, step by step.
fn print_replay(out: &Value) {
    println!("run {}  flow {}  recorded {}", str_of(out, "run"), str_of(out, "flow"), str_of(out, "recorded_status"));
    for step in out["steps"].as_array().into_iter().flatten() {
        let plugin = step["plugin"].as_str().map(|p| format!("  ({p})")).unwrap_or_default();
        let mark = if let Some(why) = step["skipped"].as_str() {
            format!("skipped: {why}")
        } else if step["same"].as_bool() == Some(true) {
            "same".to_string()
        } else {
            "DIFFERS".to_string()
        };
        println!("  {:<24} {mark}{plugin}", str_of(step, "path"));
        for d in step["differences"].as_array().into_iter().flatten() {
            println!("      {}", d.as_str().unwrap_or_default());
        }
        for u in step["unanswered"].as_array().into_iter().flatten() {
            println!("      unanswered: {}", u.as_str().unwrap_or_default());
        }
    }
    println!("{}: {}", str_of(out, "verdict"), str_of(out, "summary"));
}

/// Poll a run until it ends or waits (for a delay or a retry).
async fn wait_for(api: &Client, id: &str) -> Result<Value> {
    loop {
        let out = api.get(&format!("/api/runs/{}", encode(id))).await?;
        let status = str_of(&out["run"], "status");
        if !matches!(status, "queued" | "running") {
            return Ok(out);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Print a run (`{run, steps}`) as a timeline, or as JSON; exit 1 when it failed.
fn report(out: &Value, json: bool) -> Result<ExitCode> {
    let run = &out["run"];
    if json {
        print_json(out)?;
    } else {
        println!(
            "run {}  flow {} v{}  {}",
            str_of(run, "id"),
            str_of(run, "flow"),
            run["version"],
            str_of(run, "status")
        );
        if let Some(parent) = run["parent"].as_object() {
            println!(
                "  called by run {} (step {})",
                parent["run"].as_str().unwrap_or_default(),
                parent["step"].as_str().unwrap_or_default()
            );
        }
        if let Some(failed) = run["failure_of"].as_str() {
            println!("  reports the failure of run {failed}");
        }
        if let Some(report) = run["error_run"].as_str() {
            println!("  its failure is reported by run {report}");
        }
        for s in out["steps"].as_array().into_iter().flatten() {
            let took = match (s["started_ms"].as_u64(), s["ended_ms"].as_u64()) {
                (Some(a), Some(b)) => format!("{} ms", b.saturating_sub(a)),
                _ => "-".into(),
            };
            let status = match str_of(s, "status") {
                "succeeded" => "ok",
                other => other,
            };
            let mut line = format!("  {:<32} {:<8} attempts {:<2} {took:>9}", str_of(s, "path"), status, s["attempts"]);
            if let (Some(wake), "waiting") = (s["wake_ms"].as_u64(), status) {
                line.push_str(&format!("  until {}", time(wake)));
            }
            if let Some(node) = s["node"].as_str() {
                line.push_str(&format!("  on {node}"));
            }
            if let Some(child) = s["child"].as_str() {
                line.push_str(&format!("  sub-flow run {child}"));
            }
            if let Some(e) = s["error"]["message"].as_str() {
                line.push_str(&format!("  {e}"));
            }
            println!("{line}");
        }
        match str_of(run, "status") {
            "succeeded" => println!("output: {}", serde_json::to_string(&run["output"])?),
            "failed" => println!("error: {}", str_of(run, "error")),
            "waiting" => println!("waiting until {}", time(run["wake_ms"].as_u64().unwrap_or_default())),
            _ => {}
        }
    }
    if str_of(run, "status") == "failed" {
        bail!("run {} failed", str_of(run, "id"));
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn connection(cmd: ConnectionCommand, g: &Global) -> Result<ExitCode> {
    let api = client(g)?;
    match cmd {
        ConnectionCommand::Set { id, plugin, settings, secrets, hosts, rate_limit, burst, no_rate_limit, oauth } => {
            let mut body = json!({ "plugin": plugin });
            if let Some(oauth) = oauth.body() {
                body["oauth"] = oauth;
            }
            if !settings.is_empty() {
                let map: Map<String, Value> = super::plugin::pairs(&settings, "--setting")?
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::from_str(&v).unwrap_or(Value::String(v))))
                    .collect();
                body["settings"] = Value::Object(map);
            }
            if !secrets.is_empty() {
                let map: Map<String, Value> = super::plugin::pairs(&secrets, "--secret")?
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect();
                body["secrets"] = Value::Object(map);
            }
            if !hosts.is_empty() {
                body["hosts"] = json!(hosts);
            }
            if let Some(rate) = rate_limit {
                let (n, per) = rate
                    .split_once('/')
                    .and_then(|(n, per)| Some((n.trim().parse::<u32>().ok()?, per.trim())))
                    .with_context(|| format!("--rate-limit {rate:?}: write N/s or N/m, e.g. 10/s"))?;
                let unit = match per {
                    "s" | "sec" | "second" => "per_second",
                    "m" | "min" | "minute" => "per_minute",
                    _ => anyhow::bail!("--rate-limit {rate:?}: write N/s or N/m, e.g. 10/s"),
                };
                body["rate_limit"] = json!({ unit: n, "burst": burst });
            }
            if no_rate_limit {
                body["rate_limit"] = Value::Null;
            }
            let bytes = serde_json::to_vec(&body)?;
            let saved = api
                .call("PUT", &format!("/api/connections/{}", encode(&id)), Some(("application/json", bytes)))
                .await?;
            println!(
                "connection {id} saved ({}, {} settings, {} secrets)",
                str_of(&saved, "plugin"),
                saved["settings"].as_object().map_or(0, Map::len),
                saved["secrets"].as_array().map_or(0, Vec::len)
            );
            if saved["oauth"].is_object() && saved["oauth"]["status"] != "authorized" {
                println!("next: weft connection authorize {id}");
            }
        }
        ConnectionCommand::Authorize { id, no_wait, timeout } => {
            let path = format!("/api/connections/{}", encode(&id));
            let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as u64;
            let begun = api.call("POST", &format!("{path}/authorize"), None).await?;
            let Some(url) = begun["authorize_url"].as_str() else {
                let until = begun["expires_ms"].as_u64().map(|t| format!("; the token is good until {}", time(t)));
                println!("connection {id} authorized (client credentials){}", until.unwrap_or_default());
                return Ok(ExitCode::SUCCESS);
            };
            println!("Open this URL in a browser and sign in to authorize connection {id}:\n\n  {url}\n");
            println!("(the application sends you back to {})", str_of(&begun, "callback"));
            if no_wait {
                return Ok(ExitCode::SUCCESS);
            }
            println!("waiting for the sign-in (up to {timeout} s)…");
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(timeout);
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                let c = api.get(&path).await?;
                let o = &c["oauth"];
                let fresh = o["status_ms"].as_u64().is_some_and(|t| t >= started);
                if str_of(o, "status") == "authorized" && fresh {
                    println!("connection {id} authorized");
                    return Ok(ExitCode::SUCCESS);
                }
                if o["pending"] == false {
                    bail!(
                        "the authorization of {id} did not complete: the page the application sent you back to says why"
                    );
                }
                if std::time::Instant::now() >= deadline {
                    bail!("no sign-in within {timeout} s; run `weft connection authorize {id}` again");
                }
            }
        }
        ConnectionCommand::List => {
            for c in api.get("/api/connections").await?.as_array().into_iter().flatten() {
                let join = |key: &str| {
                    c[key].as_array().into_iter().flatten().filter_map(Value::as_str).collect::<Vec<_>>().join(",")
                };
                println!(
                    "{:<24} {:<16} secrets: [{}] hosts: [{}] {}",
                    str_of(c, "id"),
                    str_of(c, "plugin"),
                    join("secrets"),
                    join("hosts"),
                    oauth_status(c)
                );
            }
        }
        ConnectionCommand::Delete { id } => {
            api.call("DELETE", &format!("/api/connections/{}", encode(&id)), None).await?;
            println!("connection {id} deleted");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn hooks(cmd: HooksCommand, g: &Global) -> Result<ExitCode> {
    let api = client(g)?;
    match cmd {
        HooksCommand::Url { flow } => {
            let out = api.get(&format!("/api/flows/{}/hook", encode(&flow))).await?;
            println!("{}", str_of(&out, "url"));
            if out["active"] != true {
                eprintln!("note: flow {flow} is not active; requests to this URL get 404 until it is");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `weft plugin list|install|remove`.
pub async fn plugins(cmd: super::plugin::ServerPluginCommand, g: &Global) -> Result<ExitCode> {
    use super::plugin::ServerPluginCommand as C;
    let api = client(g)?;
    match cmd {
        C::List => {
            let listed = api.get("/api/plugins").await?;
            fn names(v: &Value) -> Vec<&str> {
                v.as_array().into_iter().flatten().filter_map(Value::as_str).collect()
            }
            for p in listed["plugins"].as_array().into_iter().flatten() {
                println!(
                    "{:<24} {:<9} {:<24} used by: [{}]",
                    str_of(p, "name"),
                    str_of(p, "world"),
                    str_of(p, "version"),
                    names(&p["used_by"]).join(",")
                );
                // Every version kept, with the flows whose new runs take it.
                for v in p["versions"].as_array().into_iter().flatten() {
                    let mark = match (v["current"] == true, v["installed"] == true) {
                        (true, _) => "current",
                        (false, true) => "",
                        (false, false) => "retired",
                    };
                    println!("    {:<28} {:<8} flows: [{}]", str_of(v, "version"), mark, names(&v["flows"]).join(","));
                }
            }
            for problem in listed["problems"].as_array().into_iter().flatten() {
                eprintln!("not loaded: {}: {}", str_of(problem, "file"), str_of(problem, "error"));
            }
        }
        C::Install { file, name } => {
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let fallback = name.or_else(|| file.file_stem().and_then(|s| s.to_str()).map(str::to_string));
            let path = match fallback {
                Some(n) => format!("/api/plugins?name={}", encode(&n)),
                None => "/api/plugins".into(),
            };
            let out = api.call("POST", &path, Some(("application/wasm", bytes))).await?;
            println!("installed {} {} ({})", str_of(&out, "name"), str_of(&out, "version"), str_of(&out, "world"));
        }
        C::Remove { name, force } => {
            api.call("DELETE", &format!("/api/plugins/{}?force={force}", encode(&name)), None).await?;
            println!("removed {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
