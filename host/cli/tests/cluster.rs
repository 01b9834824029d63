//! Several `weft serve` nodes on one real PostgreSQL (started by the test
//! harness, a fresh database per test): state lives in the database, any
//! node serves any request, a run is executed by one node at a time, and the
//! runs of a node that dies are finished by the others.

use serde_json::{Value, json};
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use weft_store_suite::pg::PgServer;
use weft_tests::app::TestApp;
use weft_tests::http::try_request;
use weft_tests::plugins;
use weft_tests::weft::{TOKEN, Weft, workspace};

const EXE: &str = env!("CARGO_BIN_EXE_weft");

/// The tests here run one at a time: each starts several nodes and a load,
/// and a node starved of CPU for longer than its lease would (rightly) lose
/// its runs to another node, which would call a step again.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The key every node of a test's database is given.
const KEY: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";

/// A node on database `url`, in a workspace (data directory, plugins folder) of its own.
fn node(url: &str, name: &str, extra: &[&str]) -> (tempfile::TempDir, Weft) {
    let (dir, data, plugin_dir) = workspace(&[plugins::HTTP, plugins::IDENTITY]);
    let mut args = vec!["--store", url, "--node-name", name, "--lease", "2s"];
    args.extend_from_slice(extra);
    let weft = Weft::start_with(EXE, &data, &plugin_dir, &args, &[("WEFT_ADMIN_TOKEN", TOKEN), ("WEFT_KEY", KEY)]);
    (dir, weft)
}

/// The flow the tests run: a webhook, an action, a transform, an action (the
/// second one slow), against the test app.
async fn set_up(weft: &Weft, app: &TestApp, steps: Value) -> String {
    let connection = json!({ "plugin": "http", "settings": { "base_url": app.url("") }, "hosts": [app.grant()] });
    weft.ok("PUT", "/api/connections/app", Some(&connection)).await;
    weft.ok("PUT", "/api/connections/inbox", Some(&json!({ "plugin": "http" }))).await;
    let flow = json!({
        "name": "shared",
        "trigger": { "webhook": { "connector": "http", "trigger": "incoming", "connection": "inbox" } },
        "steps": steps,
    });
    weft.ok("POST", "/api/flows", Some(&flow)).await;
    let url = weft.ok("POST", "/api/flows/shared/activate", None).await["webhook_url"].as_str().unwrap().to_string();
    // The path is every node's: `/hooks/<token>`.
    url.split_once("/hooks/").map(|(_, token)| format!("/hooks/{token}")).unwrap()
}

fn three_steps() -> Value {
    json!([
        { "id": "first", "action": "http.request", "connection": "app",
          "input": { "method": "POST", "url": "/echo/first", "body": "{{ trigger }}" } },
        { "id": "shape", "transform": "identity", "input": { "n": "{{ trigger.n }}" } },
        { "id": "second", "action": "http.request", "connection": "app",
          "input": { "method": "POST", "url": "/echo/second?delay", "body": "{{ steps.shape.output }}" } },
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_keeps_everything_in_the_database_and_any_node_serves_it() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = PgServer::shared();
    let url = server.fresh_database();
    let app = TestApp::start().await;
    let (_a_dir, mut a) = node(&url, "a", &[]);
    let hook = set_up(&a, &app, three_steps()).await;
    let reply =
        weft_tests::http::request("POST", &a.url(&hook), &[("content-type", "application/json")], r#"{"n":1}"#).await;
    assert_eq!(reply.status, 202, "{}", reply.text());
    let first = reply.json()["runs"][0].as_str().unwrap().to_string();
    let done = a.finished(&first).await;
    assert_eq!(done["run"]["status"], "succeeded", "{done}");
    assert!(done["steps"].as_array().unwrap().iter().all(|s| s["node"] == "a"), "steps record their node: {done}");
    a.stop();

    // A second node with an empty data directory of its own finds everything.
    let (_b_dir, b) = node(&url, "b", &[]);
    assert_eq!(b.ok("GET", "/api/flows/shared", None).await["flow"]["name"], "shared");
    assert_eq!(b.ok("GET", &format!("/api/runs/{first}"), None).await["run"]["status"], "succeeded");
    let connections = b.ok("GET", "/api/connections", None).await;
    assert!(connections.to_string().contains("inbox"), "{connections}");
    // The same webhook path, on the other node, runs the flow there.
    let reply =
        weft_tests::http::request("POST", &b.url(&hook), &[("content-type", "application/json")], r#"{"n":2}"#).await;
    assert_eq!(reply.status, 202, "{}", reply.text());
    let second = reply.json()["runs"][0].as_str().unwrap().to_string();
    let done = b.finished(&second).await;
    assert_eq!(done["run"]["status"], "succeeded", "{done}");
    assert!(done["steps"].as_array().unwrap().iter().all(|s| s["node"] == "b"), "{done}");
    let shown = b.cli(&["runs", "show", &second]);
    assert!(String::from_utf8_lossy(&shown.stdout).contains("on b"), "the CLI shows the node: {shown:?}");

    // /healthz reports the database and the pool.
    let health = weft_tests::http::request("GET", &b.url("/healthz"), &[], Vec::new()).await.json();
    assert_eq!(health["store"]["backend"], "postgres", "{health}");
    assert_eq!(health["store"]["ok"], true, "{health}");
    assert!(health["store"]["pool"]["open"].as_u64().unwrap() >= 1, "{health}");
    let metrics = b.api("GET", "/metrics", None).await.text();
    assert!(metrics.contains("weft_store_up{backend=\"postgres\"} 1"), "{metrics}");
    assert!(metrics.contains("weft_store_statements_total"), "{metrics}");
    assert!(metrics.contains("weft_node_claims_total 1"), "b took the one run it ran: {metrics}");

    // A browser signed in through one node is signed in on every node, and signed out on all.
    let (_c_dir, c) = node(&url, "c", &[]);
    let signed_in =
        weft_tests::http::request("POST", &b.url("/api/session"), &[], json!({ "token": TOKEN }).to_string()).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text());
    let cookie = signed_in.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
    let csrf = signed_in.json()["csrf"].as_str().unwrap().to_string();
    let listed = weft_tests::http::request("GET", &c.url("/api/flows"), &[("cookie", &cookie)], Vec::new()).await;
    assert_eq!(listed.status, 200, "the session works on another node: {}", listed.text());
    let current = weft_tests::http::request("GET", &c.url("/api/session"), &[("cookie", &cookie)], Vec::new()).await;
    assert_eq!(current.json()["csrf"], csrf.as_str());
    let out = weft_tests::http::request(
        "DELETE",
        &c.url("/api/session"),
        &[("cookie", &cookie), ("x-weft-csrf", &csrf)],
        Vec::new(),
    )
    .await;
    assert_eq!(out.status, 200, "{}", out.text());
    let after = weft_tests::http::request("GET", &b.url("/api/flows"), &[("cookie", &cookie)], Vec::new()).await;
    assert_eq!(after.status, 401, "signed out through one node, out on all");

    // A node given another key is refused before it serves anything.
    let (_d_dir, data, plugin_dir) = workspace(&[]);
    let out = Command::new(EXE)
        .args(["serve", "--listen", "127.0.0.1:0", "--store", &url, "--data-dir"])
        .arg(&data)
        .arg("--plugins")
        .arg(&plugin_dir)
        .env("WEFT_KEY", "00".repeat(32))
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("every node must be given the same key"), "{stderr}");
    let out = Command::new(EXE).args(["serve", "--listen", "127.0.0.1:0", "--store", &url]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("--key-file"), "{stderr}");
    let out = Command::new(EXE).args(["migrate", "--store", &url]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "the schema is up to date (version 2)", "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delay_wakes_on_whichever_node_is_there() {
    let _one = ONE_AT_A_TIME.lock().await;
    let url = PgServer::shared().fresh_database();
    let app = TestApp::start().await;
    let (_a_dir, mut a) = node(&url, "a", &[]);
    let steps = json!([
        { "id": "before", "transform": "identity", "input": { "n": "{{ trigger.n }}" } },
        { "id": "wait", "delay": "2s" },
        { "id": "after", "action": "http.request", "connection": "app",
          "input": { "method": "POST", "url": "/echo/after", "body": "{{ steps.before.output }}" } },
    ]);
    let hook = set_up(&a, &app, steps).await;
    let (_b_dir, b) = node(&url, "b", &[]);
    let reply =
        weft_tests::http::request("POST", &a.url(&hook), &[("content-type", "application/json")], r#"{"n":7}"#).await;
    let id = reply.json()["runs"][0].as_str().unwrap().to_string();
    // Once the run waits, the node that started it dies.
    for _ in 0..100 {
        if a.ok("GET", &format!("/api/runs/{id}"), None).await["run"]["status"] == "waiting" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.kill();
    let done = b.finished(&id).await;
    assert_eq!(done["run"]["status"], "succeeded", "{done}");
    let nodes: Vec<&str> = done["steps"].as_array().unwrap().iter().map(|s| s["node"].as_str().unwrap()).collect();
    assert_eq!(nodes.first(), Some(&"a"), "{done}");
    assert_eq!(nodes.last(), Some(&"b"), "woken and finished on the node that was there: {done}");
}

/// A small xorshift generator: kill moments vary per run without a dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Three nodes under webhook load from four senders spread over them; one node
/// SIGKILLed at a random moment, again and again, and started again. Checked
/// afterwards, as the single-node crash test checks: every acknowledged event
/// has exactly one run and it succeeds; a step called twice always had a kill
/// between the calls; no step is called again once the next one started; and
/// runs the killed nodes held were finished by the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_nodes_runs_are_finished_by_the_others_and_no_completed_step_runs_again() {
    let _one = ONE_AT_A_TIME.lock().await;
    let kills: usize = std::env::var("WEFT_CLUSTER_KILLS").ok().and_then(|k| k.parse().ok()).unwrap_or(10);
    let url = PgServer::shared().fresh_database();
    let app = TestApp::start().await;
    let mut nodes = Vec::new();
    let mut dirs = Vec::new();
    // No --node-name: a node is named `<host>:<pid>`, so a killed node started
    // again is a new node, as it is in production. Which process was which node:
    let mut node_of_pid: HashMap<u32, usize> = HashMap::new();
    for i in 0..3 {
        let (dir, data, plugin_dir) = workspace(&[plugins::HTTP, plugins::IDENTITY]);
        let args = ["--store", url.as_str(), "--lease", "2s"];
        let weft = Weft::start_with(EXE, &data, &plugin_dir, &args, &[("WEFT_ADMIN_TOKEN", TOKEN), ("WEFT_KEY", KEY)]);
        node_of_pid.insert(weft.pid().unwrap(), i);
        dirs.push(dir);
        nodes.push(weft);
    }
    let hook = set_up(&nodes[0], &app, three_steps()).await;
    let addrs: Vec<String> = nodes.iter().map(|n| n.url(&hook)).collect();

    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let running = Arc::new(AtomicBool::new(true));
    let mut senders = Vec::new();
    for sender in 0..4usize {
        let (addrs, acknowledged, running) = (addrs.clone(), acknowledged.clone(), running.clone());
        senders.push(tokio::spawn(async move {
            let mut n = 0u64;
            // Each sender starts on its own node and moves on when that one is down.
            let mut at = sender % addrs.len();
            while running.load(Ordering::Relaxed) {
                n += 1;
                let body = json!({ "sender": sender, "n": n }).to_string();
                match try_request("POST", &addrs[at], &[("content-type", "application/json")], body).await {
                    Ok(reply) if reply.status == 202 => {
                        let ids = reply.json()["runs"].as_array().cloned().unwrap_or_default();
                        acknowledged.lock().unwrap().extend(ids.iter().map(|i| i.as_str().unwrap().to_string()));
                    }
                    Ok(reply) => {
                        assert!(matches!(reply.status, 429 | 503), "unexpected {} {}", reply.status, reply.text());
                        at = (at + 1) % addrs.len();
                    }
                    Err(_) => {
                        at = (at + 1) % addrs.len();
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        }));
    }

    let mut seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    println!("kill schedule seed: {seed}");
    let mut kill_marks = Vec::new();
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(200 + next(&mut seed) % 600)).await;
        let victim = (next(&mut seed) % 3) as usize;
        nodes[victim].kill();
        kill_marks.push(app.log().len());
        tokio::time::sleep(Duration::from_millis(next(&mut seed) % 300)).await;
        nodes[victim].restart(&[]);
        node_of_pid.insert(nodes[victim].pid().unwrap(), victim);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.store(false, Ordering::Relaxed);
    for sender in senders {
        sender.await.unwrap();
    }

    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() > kills, "the load kept going: only {} events acknowledged", acknowledged.len());
    let mut finished = Vec::new();
    for (i, id) in acknowledged.iter().enumerate() {
        let done = nodes[i % 3].finished(id).await;
        assert_eq!(done["run"]["status"], "succeeded", "every acknowledged event runs to the end: {done}");
        finished.push((id, done));
    }
    let db = url.rsplit('/').next().unwrap();
    let runs: usize =
        PgServer::shared().psql(db, "SELECT count(*) FROM runs WHERE flow = 'shared'").trim().parse().unwrap();
    let events: usize = PgServer::shared()
        .psql(db, "SELECT count(DISTINCT event) FROM runs WHERE flow = 'shared'")
        .trim()
        .parse()
        .unwrap();
    // A node killed after committing an event but before answering leaves a
    // run nobody was told of: there may be more runs than acknowledgements,
    // but never two runs of one event.
    assert_eq!(runs, events, "no event has two runs");
    assert!(runs >= acknowledged.len() && runs <= acknowledged.len() + kills, "{runs} runs");

    let repeated_after_a_kill = weft_tests::crash::check_calls(&app, &finished, &kill_marks);
    // Runs begun by one node and finished by another one (not the same node started again).
    let node_index = |step: &Value| {
        let pid: u32 = step["node"].as_str().unwrap().rsplit(':').next().unwrap().parse().unwrap();
        node_of_pid[&pid]
    };
    let taken_over = finished
        .iter()
        .filter(|(_, done)| {
            let steps = done["steps"].as_array().unwrap();
            node_index(&steps[0]) != node_index(steps.last().unwrap())
        })
        .count();
    println!(
        "{kills} SIGKILLs over 3 nodes; {} events acknowledged, all run to success once; {taken_over} runs finished by \
         another node than the one that began them; {repeated_after_a_kill} steps re-called after a kill cut them off",
        acknowledged.len()
    );
    assert!(taken_over > 0, "some runs of killed nodes were finished by the others");
}

/// A polling flow (every second) and a schedule (every second) on three
/// nodes while records keep arriving, with a node killed in between and
/// started again: every record is emitted exactly once, and no occurrence
/// of the schedule fires twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn polls_and_schedule_fires_happen_once_across_nodes() {
    let _one = ONE_AT_A_TIME.lock().await;
    use weft_tests::saas::SaasApp;
    let url = PgServer::shared().fresh_database();
    let app = SaasApp::start("sk-cluster").await;
    let mut nodes = Vec::new();
    let mut dirs = Vec::new();
    for name in ["p0", "p1", "p2"] {
        let (dir, data, plugin_dir) = workspace(&[plugins::SAAS, plugins::IDENTITY]);
        let args = ["--store", &url, "--node-name", name, "--lease", "2s"];
        nodes.push(Weft::start_with(EXE, &data, &plugin_dir, &args, &[("WEFT_ADMIN_TOKEN", TOKEN), ("WEFT_KEY", KEY)]));
        dirs.push(dir);
    }
    let connection = json!({
        "plugin": "saas", "settings": { "base_url": app.url() }, "secrets": { "api_key": "sk-cluster" },
        "hosts": [app.addr.to_string()],
    });
    nodes[0].ok("PUT", "/api/connections/app", Some(&connection)).await;
    let polling = json!({
        "name": "records",
        "trigger": { "polling": { "connector": "saas", "trigger": "new_record", "connection": "app", "interval": "1s" } },
        "steps": [{ "id": "keep", "transform": "identity", "input": "{{ trigger }}" }],
    });
    let schedule = json!({
        "name": "tick",
        "trigger": { "schedule": { "cron": "* * * * * *" } },
        "steps": [{ "id": "keep", "transform": "identity", "input": "{{ trigger }}" }],
    });
    for flow in [&polling, &schedule] {
        nodes[1].ok("POST", "/api/flows", Some(flow)).await;
        let name = flow["name"].as_str().unwrap();
        nodes[2].ok("POST", &format!("/api/flows/{name}/activate"), None).await;
    }
    // Records arrive while the nodes poll; one node dies and comes back.
    let mut added = Vec::new();
    for i in 0..120 {
        added.push(app.add(&format!("r{i}")));
        tokio::time::sleep(Duration::from_millis(50)).await;
        if i == 40 {
            nodes[0].kill();
        }
        if i == 80 {
            nodes[0].restart(&[]);
        }
    }
    // Wait until every record was emitted (polls run every second).
    let emitted = |runs: &Value| -> Vec<u64> {
        let mut ids: Vec<u64> = runs.as_array().unwrap().iter().filter_map(|r| r["trigger"]["id"].as_u64()).collect();
        ids.sort();
        ids
    };
    let mut ids = Vec::new();
    for _ in 0..100 {
        ids = emitted(&nodes[1].ok("GET", "/api/runs?flow=records&limit=1000", None).await);
        if ids.len() >= added.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The first poll seeds: records added before it are not emitted.
    let first = *ids.first().expect("records were emitted");
    let expected: Vec<u64> = added.iter().copied().filter(|id| *id >= first).collect();
    assert_eq!(ids, expected, "every record after the seed emitted exactly once");
    assert!(expected.len() > 100, "the seed came early: {}", expected.len());

    let fires = nodes[2].ok("GET", "/api/runs?flow=tick&limit=1000", None).await;
    let mut at: Vec<String> =
        fires.as_array().unwrap().iter().map(|r| r["trigger"]["scheduled_at"].as_str().unwrap().to_string()).collect();
    let n = at.len();
    at.sort();
    at.dedup();
    assert_eq!(at.len(), n, "no occurrence fired twice: {fires}");
    assert!(n >= 5, "the schedule kept firing: {n} fires");
    println!("{} records emitted once each over 3 nodes; {n} schedule fires, none twice", ids.len());
}

/// A plugin installed through one node is loaded by every node within a
/// second, survives every node's disk being wiped, and a removal through any
/// node reaches every node.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_plugin_installed_through_one_node_runs_on_every_node() {
    let _one = ONE_AT_A_TIME.lock().await;
    use weft_tests::http::request;
    let url = PgServer::shared().fresh_database();
    let start = |name: &str| {
        // Nothing in the nodes' plugins folders: the database brings what is installed.
        let (dir, data, plugin_dir) = workspace(&[]);
        let args = ["--store", url.as_str(), "--node-name", name, "--lease", "2s"];
        (dir, Weft::start_with(EXE, &data, &plugin_dir, &args, &[("WEFT_ADMIN_TOKEN", TOKEN), ("WEFT_KEY", KEY)]))
    };
    let (_a_dir, a) = start("a");
    let (_b_dir, b) = start("b");
    let auth = format!("Bearer {TOKEN}");
    let bytes = std::fs::read(plugins::IDENTITY).unwrap();
    let installed = request("POST", &a.url("/api/plugins?name=identity"), &[("authorization", &auth)], bytes).await;
    assert_eq!(installed.status, 201, "{}", installed.text());
    let flow = json!({
        "name": "echo", "trigger": "manual",
        "steps": [{ "id": "same", "transform": "identity", "input": { "x": "{{ trigger.x }}" } }],
    });
    // Node b has it within a second, and runs a flow on it.
    let started = std::time::Instant::now();
    while b.api("GET", "/api/plugins/identity", None).await.status != 200 {
        assert!(started.elapsed() < Duration::from_secs(3), "node b never loaded the plugin");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("installed through a, loaded by b in {} ms", started.elapsed().as_millis());
    b.ok("POST", "/api/flows", Some(&flow)).await;
    let run = b.ok("POST", "/api/flows/echo/runs?wait=true", Some(&json!({ "x": 1 }))).await;
    assert_eq!(run["run"]["status"], "succeeded", "{run}");
    assert_eq!(run["steps"][0]["node"], "b", "{run}");

    // Every node's disk wiped: a new node on the database has it all the same.
    drop((a, b));
    let (_c_dir, c) = start("c");
    let run = c.ok("POST", "/api/flows/echo/runs?wait=true", Some(&json!({ "x": 2 }))).await;
    assert_eq!(run["run"]["status"], "succeeded", "{run}");
    assert_eq!(run["run"]["output"], json!({ "x": 2 }), "{run}");

    // Removed through one node, gone on every node.
    let (_d_dir, d) = start("d");
    let in_use = d.api("DELETE", "/api/plugins/identity", None).await;
    assert_eq!(in_use.status, 409, "a flow uses it: {}", in_use.text());
    assert_eq!(d.api("DELETE", "/api/flows/echo", None).await.status, 200);
    let removed = d.api("DELETE", "/api/plugins/identity", None).await;
    assert_eq!(removed.status, 200, "{}", removed.text());
    let started = std::time::Instant::now();
    while c.api("GET", "/api/plugins/identity", None).await.status != 404 {
        assert!(started.elapsed() < Duration::from_secs(3), "node c still serves the removed plugin");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The database stopped and started again under webhook load: while it is
/// down, requests are answered 503 (never 2xx for what was not stored); the
/// nodes reconnect once it is back, and every acknowledged event runs to the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_restart_loses_nothing_acknowledged() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = PgServer::start();
    let url = server.fresh_database();
    let app = TestApp::start().await;
    let (_a_dir, a) = node(&url, "a", &[]);
    let (_b_dir, b) = node(&url, "b", &[]);
    let hook = set_up(&a, &app, three_steps()).await;
    let addrs = [a.url(&hook), b.url(&hook)];

    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let refused = Arc::new(Mutex::new(0usize));
    let running = Arc::new(AtomicBool::new(true));
    let mut senders = Vec::new();
    for sender in 0..4usize {
        let (addr, acknowledged, refused, running) =
            (addrs[sender % 2].clone(), acknowledged.clone(), refused.clone(), running.clone());
        senders.push(tokio::spawn(async move {
            let mut n = 0u64;
            while running.load(Ordering::Relaxed) {
                n += 1;
                let body = json!({ "sender": sender, "n": n }).to_string();
                let reply = try_request("POST", &addr, &[("content-type", "application/json")], body).await.unwrap();
                match reply.status {
                    202 => {
                        let ids = reply.json()["runs"].as_array().cloned().unwrap_or_default();
                        acknowledged.lock().unwrap().extend(ids.iter().map(|i| i.as_str().unwrap().to_string()));
                    }
                    503 => {
                        assert!(reply.header("retry-after").is_some(), "503 says when to retry");
                        *refused.lock().unwrap() += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    429 => tokio::time::sleep(Duration::from_millis(50)).await,
                    other => panic!("unexpected {other} {}", reply.text()),
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = acknowledged.lock().unwrap().len();
    server.stop();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = acknowledged.lock().unwrap().len();
    server.run();
    tokio::time::sleep(Duration::from_secs(3)).await;
    running.store(false, Ordering::Relaxed);
    for sender in senders {
        sender.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let refused = *refused.lock().unwrap();
    assert!(
        before > 0 && acknowledged.len() > during,
        "load before and after: {before}, {during}, {}",
        acknowledged.len()
    );
    assert!(refused > 0, "requests during the outage were refused");
    for (i, id) in acknowledged.iter().enumerate() {
        let node = if i % 2 == 0 { &a } else { &b };
        let done = node.finished(id).await;
        assert_eq!(done["run"]["status"], "succeeded", "every acknowledged event runs to the end: {done}");
    }
    println!(
        "{} events acknowledged ({before} before the database stopped, {} while it was down, {} after); \
         {refused} refused with 503; all ran to success",
        acknowledged.len(),
        during - before,
        acknowledged.len() - during
    );
}

/// Two nodes sharing a connection's OAuth grant: calls on both at the
/// token's expiry make one refresh between them (the refreshing node holds a
/// lease in the grant; the other waits for its result), so a rotating
/// refresh token is never spent twice.
#[tokio::test(flavor = "multi_thread")]
async fn nodes_sharing_an_oauth_connection_refresh_its_token_once() {
    let _one = ONE_AT_A_TIME.lock().await;
    use weft_tests::http::request;
    let oauth = weft_tests::oauth::OAuthServer::start();
    oauth.set_ttl(6);
    let api = weft_tests::oauth::ProtectedApi::start().await;
    let url = PgServer::shared().fresh_database();
    let start = |name: &str| {
        let (dir, data, plugin_dir) = workspace(&[plugins::OAUTH_APP]);
        let args = ["--store", url.as_str(), "--node-name", name, "--lease", "2s"];
        (dir, Weft::start_with(EXE, &data, &plugin_dir, &args, &[("WEFT_ADMIN_TOKEN", TOKEN), ("WEFT_KEY", KEY)]))
    };
    let (_a_dir, a) = start("a");
    let (_b_dir, b) = start("b");
    let connection = json!({
        "plugin": "oauth-app",
        "hosts": [api.grant(), oauth.grant()],
        "oauth": { "client_id": "weft-cluster", "client_secret": "cluster-client-secret",
                   "authorization_url": oauth.authorize_url(), "token_url": oauth.token_url(),
                   "token_hosts": [api.grant()] },
    });
    a.ok("PUT", "/api/connections/app", Some(&connection)).await;
    let flow = json!({ "name": "fetch", "trigger": "manual", "steps": [
        { "id": "fetch", "action": "oauth-app.get", "connection": "app", "input": { "url": "{{ trigger.url }}" },
          "retry": { "max_attempts": 1 } } ] });
    a.ok("POST", "/api/flows", Some(&flow)).await;
    // Authorized through node a; node b serves the same grant.
    let begun = a.ok("POST", "/api/connections/app/authorize", None).await;
    let approved = request("GET", begun["authorize_url"].as_str().unwrap(), &[], Vec::new()).await;
    let back = request("GET", approved.header("location").unwrap(), &[], Vec::new()).await;
    assert_eq!(back.status, 200, "{}", back.text());
    assert_eq!(b.ok("GET", "/api/connections/app", None).await["oauth"]["status"], "authorized");

    // Into the token's last seconds, with a slow token endpoint: 24 runs started on both nodes at once.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    oauth.slow_tokens(500);
    let event = json!({ "url": api.url() + "/me" });
    let starts = (0..24).map(|i| {
        let node = if i % 2 == 0 { &a } else { &b };
        node.ok("POST", "/api/flows/fetch/runs", Some(&event))
    });
    let started = futures::future::join_all(starts).await;
    let mut nodes = std::collections::HashSet::new();
    for s in started {
        let done = a.finished(s["run"]["id"].as_str().unwrap()).await;
        assert_eq!(done["run"]["status"], "succeeded", "{done}");
        nodes.insert(done["steps"][0]["node"].as_str().unwrap().to_string());
    }
    oauth.slow_tokens(0);
    assert_eq!(nodes.len(), 2, "both nodes ran calls: {nodes:?}");
    let refreshes = oauth.token_requests("refresh_token");
    assert_eq!(refreshes.len(), 1, "one refresh for the cluster: {refreshes:?}");
    assert_eq!(refreshes[0]["status"], 200);
    assert!(api.requests().iter().all(|s| s.status == 200), "no call was refused: {:?}", api.requests());
}
