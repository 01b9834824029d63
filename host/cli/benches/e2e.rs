//! weft end to end: `cargo bench -p weft --bench e2e`.
//!
//! Starts a real `weft serve` (the release binary, its own process) on
//! 127.0.0.1 with a fresh sled store, and a small loopback app (in this
//! process). Registers the flow
//!
//! ```text
//! webhook (http.incoming) → clean-contact (transform) → http.request POST /echo (to the app) → identity (transform)
//! ```
//!
//! and drives its webhook URL with a closed-loop load generator (this
//! process): `WEFT_BENCH_CONCURRENCY` clients (16), each on a keep-alive
//! connection, for `WEFT_BENCH_SECS` (10 s) per mode. Server, app and load
//! generator share the machine's cores.
//!
//! - **async**: the webhook answers 202 once the event is persisted; the run
//!   goes on after. Reported: acknowledged events/s, their latency, and the
//!   time until every run has finished (runs/s end to end).
//! - **sync**: the webhook answers with the flow's result; each answer is
//!   checked (the cleaned email and the app's serial). Reported: runs/s and
//!   latency.
//!
//! After both, weft is stopped and the store is opened here: every
//! acknowledged event must be a run recorded as succeeded, and none failed.
//! `WEFT_BENCH_MODES=sync` runs one mode; `ingress` (not in the default
//! set) measures webhook ingress alone: a flow whose run only parks on a
//! one-hour delay, acknowledged 202 after the event is persisted.
//! `WEFT_BENCH_EXE=<path>` measures another build of weft with the same
//! load and app (an A/B comparison in one sitting).
//!
//! `WEFT_BENCH_STORE=postgres` runs weft on PostgreSQL instead of sled: a
//! real server started for the bench (Debian's, as the tests start it), on
//! the same machine; `WEFT_BENCH_NODES=N` starts N nodes on it and spreads
//! the clients over them. The CPU per run then counts every node and every
//! PostgreSQL process, and the store's work per run adds the statements
//! (round trips) the nodes sent. `WEFT_BENCH_DATABASE=postgres://…` uses an
//! existing, empty database instead (its server's CPU is then not counted).
//!
//! `floor` (not in the default set) measures no weft at all: the same load
//! and checks against a minimal hyper server in its own process that does
//! the flow's work in plain Rust (parse the contact, clean it, POST it to the
//! app on a pooled keep-alive connection, answer with the email and serial),
//! with no sandbox, no store and no durability. It is what this machine's
//! cores can do for the HTTP plumbing alone: the ceiling for any server
//! running this flow here.
//!
//! `sandbox-floor` (not in the default set) is that server doing what
//! DESIGN asks of weft for this flow and nothing more: the same four plugin
//! calls (`handle-webhook`, the two transforms, the action over wasi-http),
//! each in a fresh instance from weft's own runtime; the run persisted and
//! synced in weft's own store before it runs, and its three step records and
//! succeeded status persisted and synced before the answer (group commit).
//! No flow engine, triggers, expressions, router or budgets. It is the
//! ceiling for weft's design on this machine; the distance from it to
//! `sync` is what weft's engine costs. Killed at the end, its store must
//! hold every answered run as succeeded. `plugins-floor` is the same
//! without the store: the plugin calls' share of the ceiling.

/// weft's own allocator, so the floors' servers (this binary) allocate as
/// weft does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use weft_core::connection::Connection;
use weft_core::plugin::{CallContext, WebhookRequest};
use weft_core::run::{Clock, RunFilter, RunRecord, RunStatus, RunStore, StepRecord, StepStatus};
use weft_core::seal::Sealer;
use weft_flow::SystemClock;
use weft_runtime::{CallOptions, Outcome, Plugin, Runtime, RuntimeConfig};
use weft_store::Db;
use weft_store_suite::pg::PgServer;
use weft_tests::load::{self, Load};
use weft_tests::weft::{TOKEN, Weft, workspace};

/// The key every node of the bench's database is given.
const KEY: &str = "be4cbe4cbe4cbe4cbe4cbe4cbe4cbe4cbe4cbe4cbe4cbe4cbe4cbe4cbe4cbe4c";
use weft_tests::{cpu_time, plugins};

const EXE: &str = env!("CARGO_BIN_EXE_weft");

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn flow(name: &str, sync: bool) -> Value {
    if name == "ingress" {
        // The run is created, persisted and acknowledged, and then parks.
        return json!({
            "name": name,
            "trigger": { "webhook": { "connector": "http", "trigger": "incoming", "connection": "inbox" } },
            "steps": [{ "id": "park", "delay": "1h" }],
        });
    }
    json!({
        "name": name,
        "trigger": { "webhook": { "connector": "http", "trigger": "incoming", "connection": "inbox", "sync": sync } },
        "steps": [
            { "id": "clean", "transform": "clean-contact", "input": "{{ trigger }}" },
            { "id": "post", "action": "http.request", "connection": "app",
              "input": { "method": "POST", "url": "/echo", "body": "{{ steps.clean.output }}" } },
            { "id": "reply", "transform": "identity",
              "input": { "email": "{{ steps.clean.output.email }}", "serial": "{{ steps.post.output.body.serial }}" } },
        ],
    })
}

fn contact(client: usize, n: u64) -> Vec<u8> {
    json!({ "name": format!(" Ada Lovelace{client} "), "email": format!(" Ada.{client}.{n}@Example.COM ") })
        .to_string()
        .into_bytes()
}

/// A sync answer is right: 200, the cleaned email of this client's `n`th
/// contact, and the app's serial number of the request.
fn answered(status: u16, body: &[u8], client: usize, n: u64) -> bool {
    let reply: Value = serde_json::from_slice(body).unwrap_or_default();
    status == 200 && reply["email"] == format!("ada.{client}.{n}@example.com") && reply["serial"].is_u64()
}

/// CPU per run of the servers (weft's nodes, and PostgreSQL's processes when
/// it runs under them) and of this process (the load generator and the app),
/// between two [`cpu_time`] readings.
struct Cpu {
    nodes: Vec<String>,
    postgres: Option<u32>,
    start: (Duration, Duration, Option<Duration>),
}

/// The CPU time of `pids`, summed.
fn cpu_of(pids: &[String]) -> Duration {
    pids.iter().filter_map(|p| cpu_time(p)).sum()
}

/// A PostgreSQL postmaster and its children (the backends): their pids.
fn postgres_processes(postmaster: u32) -> Vec<String> {
    let mut pids = vec![postmaster.to_string()];
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{name}/stat")) else { continue };
        let parent = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
        if parent == Some(postmaster) {
            pids.push(name);
        }
    }
    pids
}

impl Cpu {
    fn start(nodes: Vec<u32>, postgres: Option<u32>) -> Cpu {
        let nodes: Vec<String> = nodes.iter().map(u32::to_string).collect();
        let pg = postgres.map(|p| cpu_of(&postgres_processes(p)));
        let start = (cpu_of(&nodes), cpu_time("self").unwrap_or_default(), pg);
        Cpu { nodes, postgres, start }
    }

    fn per_run(&self, runs: u64) -> String {
        let per = |d: Duration| format!("{:.0} µs", d.as_secs_f64() * 1e6 / runs.max(1) as f64);
        let nodes = cpu_of(&self.nodes).saturating_sub(self.start.0);
        let this = cpu_time("self").unwrap_or_default().saturating_sub(self.start.1);
        match (self.postgres, self.start.2) {
            (Some(postmaster), Some(before)) => {
                let pg = cpu_of(&postgres_processes(postmaster)).saturating_sub(before);
                format!(
                    "CPU per run: server {} (weft {}, PostgreSQL {}), load generator + app {}",
                    per(nodes + pg),
                    per(nodes),
                    per(pg),
                    per(this)
                )
            }
            _ => format!("CPU per run: server {}, load generator + app {}", per(nodes), per(this)),
        }
    }
}

fn report(mode: &str, load: &Load) {
    println!("{mode:>5}: {}", load.summary());
    if let Some(e) = &load.first_wrong {
        println!("       first wrong answer: {e}");
    }
    if let Some(e) = &load.first_error {
        println!("       first error: {e}");
    }
}

/// The store's counters from `/metrics`, summed over the nodes: writes,
/// fdatasyncs, log (or record) bytes, statements sent to a database (`None`
/// from a build that does not report them: an A/B against an old one).
async fn store_counters(nodes: &[&Weft]) -> Option<[u64; 4]> {
    let mut sum = [0u64; 4];
    for weft in nodes {
        let metrics = weft.api("GET", "/metrics", None).await.text();
        let read =
            |name: &str| metrics.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok());
        let counters = [
            read("weft_store_writes_total")?,
            read("weft_store_syncs_total")?,
            read("weft_store_log_bytes_total")?,
            read("weft_store_statements_total").unwrap_or(0),
        ];
        for (total, n) in sum.iter_mut().zip(counters) {
            *total += n;
        }
    }
    Some(sum)
}

/// The store's work per run between two [`store_counters`] readings.
fn store_per_run(before: Option<[u64; 4]>, after: Option<[u64; 4]>, runs: u64, database: bool) -> String {
    let (Some(before), Some(after)) = (before, after) else {
        return "store per run: this build does not report its store counters".to_string();
    };
    let per = |i: usize| (after[i] - before[i]) as f64 / runs.max(1) as f64;
    if database {
        format!(
            "store per run: {:.2} transactions, {:.1} statements (round trips), {:.0} bytes of records",
            per(0),
            per(3),
            per(2)
        )
    } else {
        format!("store per run: {:.2} writes, {:.2} fdatasyncs, {:.0} log bytes", per(0), per(1), per(2))
    }
}

/// Wait until no run is queued or executing (the server's own gauge).
async fn drained(weft: &Weft) -> Duration {
    let started = Instant::now();
    loop {
        let metrics = weft.api("GET", "/metrics", None).await.text();
        let backlog = metrics.lines().find_map(|l| l.strip_prefix("weft_run_backlog ")).map(str::trim);
        if backlog == Some("0") {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(120), "runs still pending after 2 minutes: {backlog:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What the `sandbox-floor` server needs beyond the app: the plugins' files
/// and a data directory for its store.
const SANDBOX_ENV: &str = "WEFT_BENCH_FLOOR_SANDBOX";

/// The `sandbox-floor` server's parts: the plugins of the flow, loaded by
/// weft's runtime, its two connections, and weft's store.
struct Sandbox {
    http: Plugin,
    clean: Plugin,
    identity: Plugin,
    inbox: Arc<Connection>,
    app: Arc<Connection>,
    db: Db,
    /// Whether runs are persisted: `sandbox-floor`, not `plugins-floor`.
    durable: bool,
    runs: AtomicU64,
}

impl Sandbox {
    /// `spec`: `DATA_DIR|HTTP_WASM|CLEAN_CONTACT_WASM|IDENTITY_WASM|APP_GRANT|DURABLE` (`1` or `0`).
    async fn open(spec: &str, echo: &str) -> Sandbox {
        let [data, http, clean, identity, grant, durable] = spec.split('|').collect::<Vec<_>>()[..] else {
            panic!("{SANDBOX_ENV}: {spec:?} is not DATA|HTTP|CLEAN|IDENTITY|GRANT|DURABLE");
        };
        let db = Db::open(Path::new(data)).expect("open the floor's store");
        let runtime =
            Runtime::new(RuntimeConfig { kv: Some(Arc::new(db.clone())), ..Default::default() }).expect("a runtime");
        let load = async |path: &str| runtime.load_file(Path::new(path)).await.expect("load a plugin");
        let connection = |value: Value| Arc::new(serde_json::from_value::<Connection>(value).expect("a connection"));
        let base = echo.strip_suffix("/echo").expect("the app's /echo URL");
        Sandbox {
            http: load(http).await,
            clean: load(clean).await,
            identity: load(identity).await,
            inbox: connection(json!({ "id": "inbox" })),
            app: connection(json!({ "id": "app", "settings": { "base_url": base }, "hosts": [grant] })),
            db,
            durable: durable == "1",
            runs: AtomicU64::new(0),
        }
    }

    /// The flow's work as DESIGN asks it of weft, and nothing more: the
    /// connector turns the request into an event; if `durable`, the run is
    /// persisted (synced) before it runs; the two transforms and the action
    /// run in fresh instances; if `durable`, the three step records and the
    /// succeeded run are persisted (synced) before the answer.
    async fn run(&self, headers: Vec<(String, String)>, body: Vec<u8>) -> Result<Value, String> {
        let opts = |connection| CallOptions { connection: Some(connection), limits: None, io: None };
        let request = WebhookRequest {
            trigger: "incoming".into(),
            config: json!({}),
            method: "POST".into(),
            path: String::new(),
            headers,
            body,
        };
        let outcome = self.http.handle_webhook(&opts(&self.inbox), &request).await.result.map_err(|e| e.to_string())?;
        let event = outcome.events.into_iter().next().ok_or("the connector made no event")?;
        let now = || SystemClock.now_ms();
        let id = format!("floor-{}", self.runs.fetch_add(1, Ordering::Relaxed));
        let mut run = RunRecord {
            id: id.clone(),
            flow: "sandbox-floor".into(),
            version: 1,
            status: RunStatus::Queued,
            trigger: Arc::new(event.payload),
            created_ms: now(),
            updated_ms: now(),
            error: None,
            output: None,
            wake_ms: None,
            rerun_of: None,
            plugins: Default::default(),
            test: None,
            parent: None,
            failure_of: None,
            error_run: None,
        };
        if self.durable {
            self.db.create_run(&run).map_err(|e| e.to_string())?;
            RunStore::flush(&self.db).await.map_err(|e| e.to_string())?;
        }

        let step = |id: &str, input: Value, outcome: Outcome<Value>| -> Result<StepRecord, String> {
            let output = outcome.result.map_err(|e| format!("{id}: {e}"))?;
            let (ended, elapsed) = (now(), outcome.elapsed.as_millis() as u64);
            Ok(StepRecord {
                path: id.into(),
                step_id: id.into(),
                status: StepStatus::Succeeded,
                input: Some(input),
                output: Some(output),
                error: None,
                attempts: 1,
                retried: Vec::new(),
                started_ms: ended - elapsed.min(ended),
                ended_ms: Some(ended),
                wake_ms: None,
                logs: outcome.logs,
                dropped_logs: outcome.dropped_logs,
                seq: 0,
                pinned: false,
                node: None,
                child: None,
                throttled: false,
                io: None,
            })
        };
        let input = (*run.trigger).clone();
        let outcome = self.clean.transform(&CallOptions::default(), &input).await;
        let mut clean = step("clean", input, outcome)?;
        let contact = clean.output.clone().unwrap_or_default();
        let input = json!({ "method": "POST", "url": "/echo", "body": contact });
        let ctx = CallContext { idempotency_key: format!("{id}/post"), attempt: 1 };
        let outcome = self.http.invoke(&opts(&self.app), "request", &input, &ctx).await;
        let mut post = step("post", input, outcome)?;
        let serial = post.output.as_ref().map_or(Value::Null, |o| o["body"]["serial"].clone());
        let input = json!({ "email": contact["email"], "serial": serial });
        let outcome = self.identity.transform(&CallOptions::default(), &input).await;
        let mut reply = step("reply", input, outcome)?;

        run.status = RunStatus::Succeeded;
        run.output = reply.output.clone();
        run.updated_ms = now();
        if self.durable {
            let steps = &mut [&mut clean, &mut post, &mut reply];
            self.db.put_together(&id, steps, Some(&run)).map_err(|e| e.to_string())?;
            RunStore::flush(&self.db).await.map_err(|e| e.to_string())?;
        }
        Ok(run.output.unwrap_or_default())
    }
}

/// The `floor` server (run as this bench's own child process): prints
/// `listening ADDR`, then serves until killed. With a [`Sandbox`] it is the
/// `plugins-floor` or the `sandbox-floor`: the flow's plugins (and weft's
/// store) instead of plain Rust.
fn floor_server(echo_url: String, sandbox: Option<String>) {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let echo: hyper::Uri = echo_url.parse().expect("the app's URL");
        let sandbox = match sandbox {
            Some(spec) => Some(Arc::new(Sandbox::open(&spec, &echo_url).await)),
            None => None,
        };
        let (addr, task) = weft_tests::serve(move |req, _| {
            let (client, echo, sandbox) = (client.clone(), echo.clone(), sandbox.clone());
            async move {
                let answer = async {
                    let (parts, body) = req.into_parts();
                    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
                    if let Some(sandbox) = sandbox {
                        // The connector sees the headers; the plain floor does not read them.
                        let headers = parts
                            .headers
                            .iter()
                            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
                            .collect();
                        return sandbox.run(headers, body.to_vec()).await;
                    }
                    let contact: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
                    let text = |key: &str| contact[key].as_str().unwrap_or_default().trim().to_string();
                    let clean = json!({ "name": text("name"), "email": text("email").to_lowercase() });
                    let request = hyper::Request::post(echo)
                        .header("content-type", "application/json")
                        .body(Full::new(bytes::Bytes::from(clean.to_string())))
                        .map_err(|e| e.to_string())?;
                    let response = client.request(request).await.map_err(|e| e.to_string())?;
                    let reply = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
                    let reply: Value = serde_json::from_slice(&reply).map_err(|e| e.to_string())?;
                    Ok::<_, String>(json!({ "email": clean["email"], "serial": reply["serial"] }))
                };
                let (status, body) = match answer.await {
                    Ok(value) => (200, value.to_string()),
                    Err(e) => (500, e),
                };
                let response = hyper::Response::builder().status(status).body(Full::new(bytes::Bytes::from(body)));
                Ok(response.expect("a valid response"))
            }
        })
        .await;
        println!("listening {addr}");
        task.await.unwrap();
    });
}

/// Start the `floor` server (with `sandbox`: the `sandbox-floor`) as a child
/// process; its address.
fn start_floor(echo_url: &str, sandbox: Option<&str>) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut command = std::process::Command::new(std::env::current_exe().expect("this bench's path"));
    command.env(FLOOR_ENV, echo_url).stdout(std::process::Stdio::piped());
    if let Some(spec) = sandbox {
        command.env(SANDBOX_ENV, spec);
    }
    let mut child = command.spawn().expect("start the floor server");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("its address");
    let addr = line.trim().strip_prefix("listening ").expect("`listening ADDR`").to_string();
    (child, addr)
}

const FLOOR_ENV: &str = "WEFT_BENCH_FLOOR_APP";

fn main() {
    if let Ok(echo_url) = std::env::var(FLOOR_ENV) {
        return floor_server(echo_url, std::env::var(SANDBOX_ENV).ok());
    }
    let concurrency: usize = env_or("WEFT_BENCH_CONCURRENCY", 16);
    let secs: u64 = env_or("WEFT_BENCH_SECS", 10);
    let modes: String = env_or("WEFT_BENCH_MODES", "async,sync".to_string());
    let store: String = env_or("WEFT_BENCH_STORE", "sled".to_string());
    let node_count: usize = env_or("WEFT_BENCH_NODES", 1);
    assert!(matches!(store.as_str(), "sled" | "postgres"), "WEFT_BENCH_STORE: {store:?} is not sled or postgres");
    assert!(
        node_count >= 1 && (node_count == 1 || store == "postgres"),
        "WEFT_BENCH_NODES > 1 needs WEFT_BENCH_STORE=postgres"
    );
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let app = weft_tests::app::TestApp::start().await;
        // `WEFT_BENCH_EXE`: another build of weft to measure (an A/B comparison).
        let exe = std::env::var("WEFT_BENCH_EXE").unwrap_or_else(|_| EXE.to_string());
        // `WEFT_BENCH_DATABASE`: an existing, empty database instead of a server started here.
        let given = std::env::var("WEFT_BENCH_DATABASE").ok().filter(|_| store == "postgres");
        let postgres = (store == "postgres" && given.is_none()).then(PgServer::start);
        let database = given.or_else(|| postgres.as_ref().map(PgServer::fresh_database));
        let mut nodes = Vec::new();
        for i in 0..node_count {
            let (dir, data, plugin_dir) = workspace(&[plugins::HTTP, plugins::CLEAN_CONTACT, plugins::IDENTITY]);
            let weft = match &database {
                None => Weft::start(&exe, &data, &plugin_dir, &[]),
                Some(url) => {
                    let name = format!("n{i}");
                    let args = ["--store", url.as_str(), "--node-name", name.as_str()];
                    Weft::start_with(&exe, &data, &plugin_dir, &args, &[("WEFT_ADMIN_TOKEN", TOKEN), ("WEFT_KEY", KEY)])
                }
            };
            nodes.push((dir, data, weft));
        }
        let data = nodes[0].1.clone();
        let weft = &nodes[0].2;
        weft.ok("PUT", "/api/connections/inbox", Some(&json!({ "plugin": "http" }))).await;
        let app_connection =
            json!({ "plugin": "http", "settings": { "base_url": app.url("") }, "hosts": [app.grant()] });
        weft.ok("PUT", "/api/connections/app", Some(&app_connection)).await;
        println!(
            "weft end to end: webhook → transform → http action (loopback app) → transform; {concurrency} clients, keep-alive, {secs} s per mode, {} cores shared by weft, the app and the load",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        println!(
            "store: {}",
            match &database {
                None => "sled (embedded), 1 node".to_string(),
                Some(_) => format!("PostgreSQL on this machine, {node_count} node(s), the clients spread over them"),
            }
        );
        let all: Vec<&Weft> = nodes.iter().map(|(_, _, w)| w).collect();
        let pids = || all.iter().map(|w| w.pid().expect("weft runs")).collect::<Vec<u32>>();
        let postmaster = postgres.as_ref().and_then(PgServer::pid);

        let mut acknowledged = 0u64;
        for mode in modes.split(',') {
            if mode.ends_with("floor") {
                let store = tempfile::tempdir().expect("a data directory");
                let durable = match mode {
                    "floor" | "plugins-floor" => false,
                    "sandbox-floor" => true,
                    other => panic!("WEFT_BENCH_MODES: {other:?} is not floor, plugins-floor or sandbox-floor"),
                };
                let spec = format!(
                    "{}|{}|{}|{}|{}|{}",
                    store.path().display(),
                    plugins::HTTP,
                    plugins::CLEAN_CONTACT,
                    plugins::IDENTITY,
                    app.grant(),
                    durable as u8,
                );
                let (mut child, addr) = start_floor(&app.url("/echo"), (mode != "floor").then_some(spec.as_str()));
                let hook = format!("http://{addr}/hook");
                let warm_up = load::drive(&hook, concurrency, Duration::from_secs(1), contact, answered).await;
                let cpu = Cpu::start(vec![child.id()], None);
                let load = load::drive(&hook, concurrency, Duration::from_secs(secs), contact, answered).await;
                report(mode, &load);
                println!("       {}", cpu.per_run(load.with_status(200)));
                let _ = child.kill();
                let _ = child.wait();
                if durable {
                    // Killed, not stopped: what was acknowledged must be durable.
                    let db = Db::open(store.path()).expect("open the floor's store");
                    let filter = |status| RunFilter { flow: Some(mode.to_string()), status: Some(status), ..Default::default() };
                    let succeeded = db.runs(&filter(RunStatus::Succeeded)).unwrap().len() as u64;
                    let answered = warm_up.with_status(200) + load.with_status(200);
                    println!("       its store: {succeeded} runs recorded as succeeded; {answered} answered (warm-up included)");
                    assert_eq!(succeeded, answered, "every answered run is in the floor's store");
                }
                continue;
            }
            let sync = match mode {
                "async" | "ingress" => false,
                "sync" => true,
                other => panic!("WEFT_BENCH_MODES: {other:?} is not async, sync, ingress or one of the floors"),
            };
            weft.ok("POST", "/api/flows", Some(&flow(mode, sync))).await;
            let activated = weft.ok("POST", &format!("/api/flows/{mode}/activate"), None).await;
            let hook = activated["webhook_url"].as_str().expect("a webhook URL").to_string();
            // Every node answers the same path.
            let path = hook.split_once("/hooks/").map(|(_, token)| format!("/hooks/{token}")).expect("a hook path");
            let hooks: Vec<String> = all.iter().map(|w| w.url(&path)).collect();

            // Warm up: compile caches, connections, sled's first pages.
            let ok_status = if sync { 200 } else { 202 };
            let warm_up =
                load::drive_spread(&hooks, concurrency, Duration::from_secs(1), contact, |_, _, _, _| true).await;
            acknowledged += warm_up.with_status(ok_status);
            drained(weft).await;
            let warm = app.requests();

            let cpu = Cpu::start(pids(), postmaster);
            let counters = store_counters(&all).await;
            let load = if sync {
                load::drive_spread(&hooks, concurrency, Duration::from_secs(secs), contact, answered).await
            } else {
                // 429 is weft shedding load once its backlog is full (documented
                // back-pressure): not acknowledged, not wrong.
                load::drive_spread(&hooks, concurrency, Duration::from_secs(secs), contact, |status, _, _, _| {
                    status == 202 || status == 429
                })
                .await
            };
            report(mode, &load);
            let tail = drained(weft).await;
            let ok = load.with_status(ok_status);
            acknowledged += ok;
            if !sync {
                println!(
                    "       acknowledged (202): {ok} = {:.0}/s; shed (429, backlog full): {}",
                    ok as f64 / load.elapsed.as_secs_f64(),
                    load.with_status(429)
                );
            }
            let end_to_end = load.elapsed + tail;
            println!(
                "       {ok} runs: every one finished {:.2} s after the load stopped = {:.0} runs/s end to end; the app got {} requests",
                tail.as_secs_f64(),
                ok as f64 / end_to_end.as_secs_f64(),
                app.requests() - warm,
            );
            println!("       {} (the load and the tail)", cpu.per_run(ok));
            let after = store_counters(&all).await;
            println!("       {} (shed requests write nothing)", store_per_run(counters, after, ok, database.is_some()));
        }
        drop(all);
        for (_, _, weft) in &mut nodes {
            weft.stop();
        }

        // Count in the store itself.
        let db: Box<dyn RunStore> = match &database {
            None => Box::new(Db::open(&data).expect("open the stopped server's store")),
            Some(url) => Box::new(
                weft_store_pg::PgStore::connect(url, Sealer::from_hex(KEY).unwrap(), Default::default())
                    .expect("open the database"),
            ),
        };
        let mut succeeded = 0u64;
        let mut failed = 0u64;
        for mode in modes.split(',').filter(|m| !m.ends_with("floor")) {
            let filter = |status| RunFilter { flow: Some(mode.to_string()), status: Some(status), ..Default::default() };
            // Ingress runs park on their delay: waiting is their success.
            let done = if mode == "ingress" { RunStatus::Waiting } else { RunStatus::Succeeded };
            succeeded += db.runs(&filter(done)).unwrap().len() as u64;
            failed += db.runs(&filter(RunStatus::Failed)).unwrap().len() as u64;
        }
        println!(
            "store: {succeeded} runs recorded as succeeded (ingress: waiting), {failed} failed; {acknowledged} events were acknowledged (warm-ups included)"
        );
        assert_eq!((succeeded, failed), (acknowledged, 0), "every acknowledged event is a succeeded run");
    });
}
