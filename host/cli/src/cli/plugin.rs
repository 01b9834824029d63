//! `weft plugin …`: what a plugin author runs while writing a plugin.

use super::fixture;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use weft_core::connection::{Connection, HostRule};
use weft_core::io::IoMode;
use weft_core::plugin::{CallContext, World};
use weft_runtime::{CallOptions, Limits, Outcome, Runtime, RuntimeConfig};
use weft_store::Db;

#[derive(Subcommand)]
pub enum PluginCommand {
    /// Start a plugin project that builds as it is: a connector or a transform,
    /// in Rust, JavaScript or Python, with a test fixture and a README.
    New(Box<super::author::NewArgs>),
    /// Build a plugin project (Rust, JavaScript or Python) into a component,
    /// with stubs for the WASI imports weft does not lend; print its size and imports.
    Build(super::author::BuildArgs),
    /// Load a plugin, check it, and print what it offers.
    Describe {
        /// The plugin's .wasm component.
        file: PathBuf,
        /// Print the full manifest as JSON (with schemas).
        #[arg(long)]
        json: bool,
    },
    /// Load a plugin and run one call: an action of a connector, or a transform.
    Call(Box<CallArgs>),
    /// Poll a connector's polling trigger once, and show what a flow would emit
    /// (the trigger's strategy applied to what came back).
    Poll(Box<PollArgs>),
    /// Hand a connector's webhook trigger one request, as if the application sent it.
    Webhook(Box<WebhookArgs>),
    /// Run a plugin's fixtures (`tests/*.yaml`) offline, answered from their
    /// recorded I/O: a line per fixture, a diff on failure, a failing exit status
    /// when any fails.
    Test(TestArgs),
    #[command(flatten)]
    Server(ServerPluginCommand),
}

/// Plugin commands that drive a running server.
#[derive(Subcommand)]
pub enum ServerPluginCommand {
    /// List the server's plugins, with versions and the flows that use them.
    List,
    /// Upload a .wasm plugin to the server (checked before it is kept).
    Install {
        file: PathBuf,
        /// Name of a transform (default: the file name; connectors are named by their manifest).
        #[arg(long)]
        name: Option<String>,
    },
    /// Remove a plugin from the server.
    Remove {
        name: String,
        /// Remove it even while flows use it.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Args)]
pub struct CallArgs {
    /// The plugin's .wasm component.
    file: PathBuf,
    /// The connector action to run (omit for a transform).
    action: Option<String>,
    /// Input JSON; `@FILE` reads a file, `-` reads standard input.
    #[arg(long, short, default_value = "{}")]
    input: String,
    #[command(flatten)]
    sandbox: SandboxArgs,
    /// Idempotency key passed to the action.
    #[arg(long, default_value = "cli-call")]
    idempotency_key: String,
}

/// The connection a local call runs for, and its limits.
#[derive(Args)]
pub struct SandboxArgs {
    /// Let the call reach HOST (`api.example.com`, `*.example.com`, `127.0.0.1:8080`, `*`). Repeatable.
    /// Loopback and private addresses must be granted by address.
    #[arg(long = "grant-host", value_name = "HOST")]
    grant_hosts: Vec<String>,
    /// A connection setting NAME=VALUE (VALUE is JSON if it parses, else a string). Repeatable.
    #[arg(long = "setting", value_name = "NAME=VALUE")]
    settings: Vec<String>,
    /// A connection secret NAME=VALUE. Repeatable. Redacted from the plugin's logs.
    #[arg(long = "secret", value_name = "NAME=VALUE")]
    secrets: Vec<String>,
    /// Connection id (names its key-value namespace).
    #[arg(long, default_value = "cli")]
    connection: String,
    /// CPU budget in fuel units.
    #[arg(long)]
    fuel: Option<u64>,
    /// Wall-clock limit in milliseconds.
    #[arg(long, value_name = "MS")]
    timeout_ms: Option<u64>,
    /// Memory limit in MiB.
    #[arg(long, value_name = "MIB")]
    memory_mib: Option<usize>,
    /// Record the call's host I/O (HTTP exchanges, key-value operations, clock
    /// readings, the random seed; secrets redacted) and write a fixture to FILE
    /// that `weft plugin test` and `--replay` run without the application.
    #[arg(long, value_name = "FILE", conflicts_with = "replay")]
    record: Option<PathBuf>,
    /// Answer the call from FILE's recording (a fixture) instead of the network
    /// and the key-value store; a request the recording does not hold fails the call.
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
}

#[derive(Args)]
pub struct TestArgs {
    /// The plugin's project (its fixtures are DIR/tests/*.yaml).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// The component to test (default: the one `weft plugin build` makes of DIR).
    #[arg(long, value_name = "FILE")]
    plugin: Option<PathBuf>,
    /// Run only the fixtures whose file name contains TEXT.
    #[arg(long, value_name = "TEXT")]
    only: Option<String>,
}

#[derive(Args)]
pub struct PollArgs {
    /// The connector's .wasm component.
    file: PathBuf,
    /// The polling trigger.
    trigger: String,
    /// The trigger's configuration (JSON; `@FILE` reads a file).
    #[arg(long, default_value = "{}")]
    config: String,
    /// Keep what the host remembers between polls (the cursor, the mark, the ids
    /// seen) in FILE, so the next run polls on from there. Without it every run
    /// is a first poll, which a flow uses only to note what exists.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    #[command(flatten)]
    sandbox: SandboxArgs,
}

#[derive(Args)]
pub struct WebhookArgs {
    /// The connector's .wasm component.
    file: PathBuf,
    /// The webhook trigger.
    trigger: String,
    /// The trigger's configuration (JSON; `@FILE` reads a file).
    #[arg(long, default_value = "{}")]
    config: String,
    /// The request's body: text, `@FILE` (bytes as they are) or `-` (standard input).
    #[arg(long, default_value = "")]
    body: String,
    /// A request header `NAME: VALUE`. Repeatable.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    #[arg(long, default_value = "POST")]
    method: String,
    /// The path and query after the flow's webhook URL.
    #[arg(long, default_value = "")]
    path: String,
    #[command(flatten)]
    sandbox: SandboxArgs,
}

pub async fn run(cmd: PluginCommand, g: &super::Global) -> Result<ExitCode> {
    match cmd {
        PluginCommand::New(args) => super::author::new(*args),
        PluginCommand::Build(args) => super::author::build(args),
        PluginCommand::Describe { file, json } => describe(file, json).await,
        PluginCommand::Call(args) => call(*args, g.data_dir.as_deref()).await,
        PluginCommand::Poll(args) => poll(*args, g.data_dir.as_deref()).await,
        PluginCommand::Webhook(args) => webhook(*args, g.data_dir.as_deref()).await,
        PluginCommand::Test(args) => test(args).await,
        PluginCommand::Server(cmd) => super::remote::plugins(cmd, g).await,
    }
}

/// Where `weft plugin describe|call` keep compiled components between runs, as
/// the server does in its data directory: `WEFT_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/weft/compiled`, else `~/.cache/weft/compiled`; none when
/// none of them can be made.
fn cache_dir() -> Option<PathBuf> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = env("WEFT_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("weft").join("compiled")))
        .or_else(|| env("HOME").map(|d| d.join(".cache").join("weft").join("compiled")))?;
    std::fs::create_dir_all(&dir).ok().map(|()| dir)
}

/// Load `file` through the compile cache, saying on stderr when it had to be compiled.
async fn load(
    runtime: &Runtime,
    file: &std::path::Path,
    cache: Option<&std::path::Path>,
) -> Result<weft_runtime::Plugin> {
    let started = std::time::Instant::now();
    let plugin = runtime.load_file(file).await?;
    if plugin.cache_outcome() != weft_runtime::cache::CacheOutcome::Hit {
        let kept = cache.map(|d| format!(" (kept in {} for the next run)", d.display())).unwrap_or_default();
        eprintln!("[weft] compiled {} in {} ms{kept}", file.display(), started.elapsed().as_millis());
    }
    Ok(plugin)
}

async fn describe(file: PathBuf, json: bool) -> Result<ExitCode> {
    let cache = cache_dir();
    let runtime = Runtime::new(RuntimeConfig { cache_dir: cache.clone(), ..Default::default() })?;
    let plugin = load(&runtime, &file, cache.as_deref()).await?;
    let Some(m) = plugin.manifest() else {
        if json {
            println!("{}", serde_json::json!({ "name": plugin.name(), "world": "transform" }));
        } else {
            println!("{} — a transform (JSON in, JSON out; no HTTP, kv or config)", plugin.name());
            println!("run it: weft plugin call {} --input '{{…}}'", file.display());
        }
        return Ok(ExitCode::SUCCESS);
    };
    if json {
        println!("{}", serde_json::to_string_pretty(m)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} {} — {}", m.name, m.version, m.description);
    println!("world: connector");
    if !m.actions.is_empty() {
        println!("actions:");
        for a in &m.actions {
            println!("  {:<20} {}", a.name, a.description);
        }
    }
    if !m.triggers.is_empty() {
        println!("triggers:");
        for t in &m.triggers {
            let kind = match t.polling {
                Some(strategy) => format!("polling, {}", serde_json::to_value(strategy)?.as_str().unwrap_or("")),
                None => "webhook".into(),
            };
            println!("  {:<20} {} ({kind})", t.name, t.description);
        }
    }
    if !m.settings.is_empty() {
        println!("settings:");
        for s in &m.settings {
            let flags = match (s.secret, s.required) {
                (true, true) => " (secret, required)",
                (true, false) => " (secret)",
                (false, true) => " (required)",
                (false, false) => "",
            };
            println!("  {:<20} {}{flags}", s.name, s.description);
        }
    }
    if !m.hosts.is_empty() {
        println!("wants to reach: {} (granted only if the operator grants it)", m.hosts.join(", "));
    }
    if let Some(o) = &m.oauth2 {
        let grant = match o.grant {
            weft_core::oauth::GrantType::AuthorizationCode => {
                format!("authorization code{}", if o.pkce { " with PKCE" } else { "" })
            }
            weft_core::oauth::GrantType::ClientCredentials => "client credentials".to_string(),
        };
        println!("oauth2: {grant}; token sent to {}", o.hosts.join(", "));
        if !o.authorization_url.is_empty() {
            println!("  authorize at {}", o.authorization_url);
        }
        println!("  token from   {}", o.token_url);
        if !o.scopes.is_empty() {
            println!("  scopes       {}", o.scopes.join(" "));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn read_input(input: &str) -> Result<Value> {
    let (text, origin) = if input == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("reading --input from standard input")?;
        (s, "standard input".to_string())
    } else if let Some(path) = input.strip_prefix('@') {
        (std::fs::read_to_string(path).with_context(|| format!("reading --input file {path}"))?, path.to_string())
    } else {
        (input.to_string(), "--input".to_string())
    };
    serde_json::from_str(&text).with_context(|| format!("{origin} is not valid JSON"))
}

pub(super) fn pairs(list: &[String], flag: &str) -> Result<Vec<(String, String)>> {
    list.iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .with_context(|| format!("{flag} {p:?} must look like NAME=VALUE"))
        })
        .collect()
}

/// A connection from `--setting`, `--secret` and `--grant-host` flags.
pub(super) fn connection_from_flags(
    id: &str,
    settings: &[String],
    secrets: &[String],
    hosts: &[String],
) -> Result<Connection> {
    let hosts = hosts.iter().map(|h| h.parse::<HostRule>().map_err(anyhow::Error::msg)).collect::<Result<Vec<_>>>()?;
    Ok(Connection {
        id: id.to_string(),
        // A setting is JSON when it parses as JSON, else a string.
        settings: pairs(settings, "--setting")?
            .into_iter()
            .map(|(k, v)| (k, serde_json::from_str(&v).unwrap_or(Value::String(v))))
            .collect(),
        secrets: pairs(secrets, "--secret")?.into_iter().collect(),
        hosts: Arc::new(hosts),
        rate_limit: None,
    })
}

/// A connector or transform loaded for a local call, with its connection and key-value store.
struct Local {
    plugin: weft_runtime::Plugin,
    connection: Arc<Connection>,
    db: Arc<Db>,
    /// Recorded, replayed, or neither.
    io: IoMode,
    /// Where a recorded call's fixture goes.
    record: Option<PathBuf>,
}

/// Bytes of bodies and values a recorded local call keeps.
const RECORD_CAP: usize = 16 << 20;

impl SandboxArgs {
    async fn load(&self, file: &std::path::Path, data_dir: Option<&std::path::Path>) -> Result<Local> {
        let connection =
            Arc::new(connection_from_flags(&self.connection, &self.settings, &self.secrets, &self.grant_hosts)?);
        let mut limits = Limits::default();
        if let Some(fuel) = self.fuel {
            limits.fuel = fuel;
        }
        if let Some(ms) = self.timeout_ms {
            limits.timeout = Duration::from_millis(ms);
        }
        if let Some(mib) = self.memory_mib {
            limits.memory_bytes = mib << 20;
        }
        // Key-value data persists only in an explicit data directory.
        let db = Arc::new(match data_dir {
            Some(dir) => Db::open(dir)?,
            None => Db::temporary()?,
        });
        let cache = cache_dir();
        let config =
            RuntimeConfig { kv: Some(db.clone()), defaults: limits, cache_dir: cache.clone(), ..Default::default() };
        let runtime = Runtime::new(config)?;
        let plugin = load(&runtime, file, cache.as_deref()).await?;
        let io = match (&self.record, &self.replay) {
            (Some(_), _) => IoMode::Record { cap: RECORD_CAP },
            (None, Some(path)) => IoMode::Replay(Arc::new(
                fixture::Fixture::read(path)?
                    .io
                    .with_context(|| format!("{} holds no recording (`io`)", path.display()))?,
            )),
            (None, None) => IoMode::Off,
        };
        Ok(Local { plugin, connection, db, io, record: self.record.clone() })
    }
}

impl Local {
    fn opts(&self) -> CallOptions<'_> {
        CallOptions { connection: Some(&self.connection), limits: None, io: Some(&self.io) }
    }

    /// With `--record`: write the call, its I/O and its result as a fixture.
    fn save(&self, call: fixture::Fixture, outcome: &Outcome<Value>) -> Result<()> {
        let Some(path) = &self.record else { return Ok(()) };
        fixture::recorded(call, outcome, &self.connection).write(path)?;
        let io = outcome.io.as_ref();
        eprintln!(
            "[weft] recorded {} HTTP exchange(s) and {} key-value operation(s) into {}{}",
            io.map_or(0, |r| r.http.len()),
            io.map_or(0, |r| r.kv.len()),
            path.display(),
            if io.is_some_and(|r| r.truncated) { " (cut at the recording's cap)" } else { "" }
        );
        Ok(())
    }

    /// The connector's trigger `name` of `kind`, or an error naming the ones it has.
    fn trigger(&self, name: &str, kind: weft_core::plugin::TriggerKind) -> Result<weft_core::plugin::TriggerSpec> {
        let Some(manifest) = self.plugin.manifest() else {
            bail!("{} is a transform: it has no triggers", self.plugin.name());
        };
        let of_kind: Vec<_> = manifest.triggers.iter().filter(|t| t.kind == kind).collect();
        let names = of_kind.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ");
        let kind_name = serde_json::to_value(kind)?.as_str().unwrap_or_default().to_string();
        match of_kind.iter().find(|t| t.name == name) {
            Some(t) => Ok((*t).clone()),
            None if names.is_empty() => bail!("connector {:?} has no {kind_name} trigger", self.plugin.name()),
            None => bail!(
                "connector {:?} has no {kind_name} trigger {name:?}; its {kind_name} triggers: {names}",
                self.plugin.name()
            ),
        }
    }
}

async fn poll(args: PollArgs, data_dir: Option<&std::path::Path>) -> Result<ExitCode> {
    let config = read_input(&args.config).context("--config")?;
    let local = args.sandbox.load(&args.file, data_dir).await?;
    let spec = local.trigger(&args.trigger, weft_core::plugin::TriggerKind::Polling)?;
    let strategy = spec.polling.expect("a polling trigger has a strategy");
    let previous: weft_core::trigger::PollState = match &args.state {
        Some(path) if path.exists() => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("{} is not a poll state weft wrote", path.display()))?
        }
        _ => weft_core::trigger::PollState {
            key: format!("{}/{}", local.plugin.name(), args.trigger),
            ..Default::default()
        },
    };
    let seed =
        previous.mark.is_none() && previous.seen.is_empty() && previous.cursor.is_none() && previous.last_ms == 0;
    let opts = local.opts();
    let Outcome { result, logs, dropped_logs, http_refusals, fuel_used, elapsed, io } =
        local.plugin.poll(&opts, &args.trigger, &config, previous.cursor.as_deref()).await;
    if local.record.is_some() {
        let raw = Outcome {
            result: result.as_ref().map(|r| serde_json::to_value(r).unwrap_or_default()).map_err(Clone::clone),
            logs: Vec::new(),
            dropped_logs: 0,
            http_refusals: Vec::new(),
            fuel_used,
            elapsed,
            io: io.clone(),
        };
        let call = fixture::Fixture {
            trigger: Some(args.trigger.clone()),
            config: config.clone(),
            cursor: previous.cursor.clone(),
            ..Default::default()
        };
        local.save(call, &raw)?;
    }
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as u64;
    let result = match result {
        Err(e) => Err(e),
        Ok(polled) => {
            let returned: Vec<&str> = polled.events.iter().map(|e| e.id.as_str()).collect();
            let returned = json!(returned);
            let next_cursor = polled.next_cursor.clone();
            let (emitted, state) = weft_flow::polling::select(
                strategy,
                &previous,
                weft_flow::polling::Polled {
                    events: polled.events,
                    next_cursor: next_cursor.clone(),
                    seed,
                    room: usize::MAX,
                    now_ms,
                },
            )
            .map_err(|reason| anyhow::anyhow!("the poll's records: {reason}"))?;
            if let Some(path) = &args.state {
                std::fs::write(path, serde_json::to_vec_pretty(&state)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            if seed {
                eprintln!(
                    "[weft] a first poll: a flow emits nothing now, and from the next poll on only what is new{}",
                    if args.state.is_some() { "" } else { " (keep the state with --state FILE)" }
                );
            }
            Ok(json!({
                "strategy": strategy,
                "first_poll": seed,
                "returned": returned,
                "emitted": emitted,
                "next_cursor": next_cursor,
            }))
        }
    };
    local.db.flush()?;
    Ok(report(Outcome { result, logs, dropped_logs, http_refusals, fuel_used, elapsed, io }))
}

async fn webhook(args: WebhookArgs, data_dir: Option<&std::path::Path>) -> Result<ExitCode> {
    let config = read_input(&args.config).context("--config")?;
    let body = if args.body == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).context("reading --body from standard input")?;
        bytes
    } else if let Some(path) = args.body.strip_prefix('@') {
        std::fs::read(path).with_context(|| format!("reading --body file {path}"))?
    } else {
        args.body.clone().into_bytes()
    };
    let headers = args
        .headers
        .iter()
        .map(|h| {
            h.split_once(':')
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                .with_context(|| format!("--header {h:?} must look like NAME: VALUE"))
        })
        .collect::<Result<Vec<_>>>()?;
    let local = args.sandbox.load(&args.file, data_dir).await?;
    local.trigger(&args.trigger, weft_core::plugin::TriggerKind::Webhook)?;
    let request = weft_core::plugin::WebhookRequest {
        trigger: args.trigger.clone(),
        config: config.clone(),
        method: args.method.to_ascii_uppercase(),
        path: args.path.clone(),
        headers,
        body,
    };
    let opts = local.opts();
    let outcome = local.plugin.handle_webhook(&opts, &request).await;
    let outcome = Outcome {
        result: outcome.result.map(fixture::webhook_json),
        logs: outcome.logs,
        dropped_logs: outcome.dropped_logs,
        http_refusals: outcome.http_refusals,
        fuel_used: outcome.fuel_used,
        elapsed: outcome.elapsed,
        io: outcome.io,
    };
    let call = fixture::Fixture {
        trigger: Some(args.trigger.clone()),
        config,
        request: Some(fixture::IncomingRequest {
            method: request.method.clone(),
            path: request.path.clone(),
            headers: request.headers.iter().cloned().collect(),
            body: String::from_utf8_lossy(&request.body).into_owned(),
        }),
        ..Default::default()
    };
    local.save(call, &outcome)?;
    local.db.flush()?;
    Ok(report(outcome))
}

async fn call(args: CallArgs, data_dir: Option<&std::path::Path>) -> Result<ExitCode> {
    let input = read_input(&args.input)?;
    let local = args.sandbox.load(&args.file, data_dir).await?;
    let (plugin, db) = (&local.plugin, &local.db);
    let opts = local.opts();
    let outcome = match (plugin.world(), &args.action) {
        (World::Transform, None) => plugin.transform(&opts, &input).await,
        (World::Transform, Some(action)) => {
            bail!("{} is a transform: it has no actions (drop {action:?} from the command)", plugin.name())
        }
        (World::Connector, action) => {
            let manifest = plugin.manifest().expect("connectors have manifests");
            let names = manifest.actions.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ");
            let Some(action) = action else {
                bail!("{} is a connector: name the action to run (one of: {names})", plugin.name());
            };
            if manifest.action(action).is_none() {
                bail!("connector {:?} has no action {action:?}; its actions: {names}", plugin.name());
            }
            if let Err(problems) = plugin.check_input(action, &input) {
                bail!("the input does not fit the input schema of {}.{action}: {problems}", plugin.name());
            }
            let ctx = CallContext { idempotency_key: args.idempotency_key.clone(), attempt: 1 };
            plugin.invoke(&opts, action, &input, &ctx).await
        }
    };
    let call = fixture::Fixture { action: args.action.clone(), input, ..Default::default() };
    local.save(call, &outcome)?;
    db.flush()?;
    Ok(report(outcome))
}

/// The component `weft plugin build` made of the project in `dir` (in `dir/dist/`).
fn built_component(dir: &std::path::Path) -> Result<PathBuf> {
    let dist = dir.join("dist");
    let found: Vec<PathBuf> = std::fs::read_dir(&dist)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!(
            "no component in {} (build it with `weft plugin build {}`, or name one with --plugin FILE)",
            dist.display(),
            dir.display()
        ),
        many => bail!("{} holds {} components; name the one to test with --plugin FILE", dist.display(), many.len()),
    }
}

/// `weft plugin test`: every fixture of a plugin's project, offline.
async fn test(args: TestArgs) -> Result<ExitCode> {
    let file = match &args.plugin {
        Some(file) => file.clone(),
        None => built_component(&args.dir)?,
    };
    let dir = args.dir.join("tests");
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {} (a plugin's fixtures are tests/*.yaml)", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml" || x == "json"))
        .filter(|p| {
            args.only.as_ref().is_none_or(|o| p.file_name().is_some_and(|n| n.to_string_lossy().contains(o.as_str())))
        })
        .collect();
    fixtures.sort();
    if fixtures.is_empty() {
        bail!(
            "no fixtures in {} (write one with `weft plugin call … --record {}/NAME.yaml`)",
            dir.display(),
            dir.display()
        );
    }
    let cache = cache_dir();
    let db = Arc::new(Db::temporary()?);
    let runtime = Runtime::new(RuntimeConfig { kv: Some(db), cache_dir: cache.clone(), ..Default::default() })?;
    let plugin = load(&runtime, &file, cache.as_deref()).await?;
    let (mut passed, mut failed) = (0, 0);
    for path in &fixtures {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let problems = match fixture::Fixture::read(path) {
            Err(e) => vec![format!("{e:#}")],
            Ok(f) => {
                let connection = Arc::new(f.connection());
                match f.run(&plugin, &connection).await {
                    Err(e) => vec![format!("{e:#}")],
                    Ok(outcome) => {
                        let mut problems = f.check(&outcome);
                        if !problems.is_empty() {
                            problems.extend(outcome.http_refusals.iter().map(|r| format!("(host) {r}")));
                        }
                        problems
                    }
                }
            }
        };
        if problems.is_empty() {
            passed += 1;
            println!("ok      {name}");
        } else {
            failed += 1;
            println!("FAILED  {name}");
            for p in problems {
                println!("        {p}");
            }
        }
    }
    println!("\n{passed} passed, {failed} failed ({})", file.display());
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn report(outcome: Outcome<Value>) -> ExitCode {
    for line in &outcome.logs {
        eprintln!(
            "[{}] {}",
            serde_json::to_value(line.level).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            line.message
        );
    }
    if outcome.dropped_logs > 0 {
        eprintln!("[weft] {} more log lines were dropped", outcome.dropped_logs);
    }
    for denial in &outcome.http_refusals {
        eprintln!("[weft] refused: {denial}");
    }
    eprintln!("[weft] {} ms, {} fuel", outcome.elapsed.as_millis(), outcome.fuel_used);
    match outcome.result {
        Ok(value) => {
            println!("{}", serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string()));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
