//! weft stays bounded under attack and over time, on a real `weft serve`:
//! one request cannot queue more runs than the backlog holds, a poll takes
//! only what fits, slow or idle clients cannot hold connections, too many
//! clients cannot starve the rest, and ended runs are pruned.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weft_tests::http::{request, try_request};
use weft_tests::plugins;
use weft_tests::saas::SaasApp;
use weft_tests::weft::{Weft, raise_open_file_limit, workspace};

const EXE: &str = env!("CARGO_BIN_EXE_weft");

/// The `http` connector's generic webhook, one run per element of a JSON array.
async fn incoming_flow(weft: &Weft, name: &str) -> String {
    weft.ok("PUT", "/api/connections/inbox", Some(&json!({ "plugin": "http" }))).await;
    let flow = json!({
        "name": name,
        "trigger": { "webhook": { "connector": "http", "trigger": "incoming", "connection": "inbox" } },
        "steps": [{ "id": "keep", "transform": "identity", "input": "{{ trigger }}" }],
    });
    weft.ok("POST", "/api/flows", Some(&flow)).await;
    weft.ok("POST", &format!("/api/flows/{name}/activate"), None).await["webhook_url"].as_str().unwrap().to_string()
}

/// A run that holds the only worker for `secs` seconds, so what comes after it stays queued.
async fn block_the_worker(weft: &Weft, secs: u64) {
    weft.ok("PUT", "/api/connections/h", Some(&json!({ "plugin": "hostile" }))).await;
    let flow = json!({ "name": "block", "trigger": "manual", "steps": [
        { "id": "sleep", "action": "hostile.sleep", "connection": "h", "input": { "secs": secs } } ] });
    weft.ok("POST", "/api/flows", Some(&flow)).await;
    let run = weft.ok("POST", "/api/flows/block/runs", Some(&json!({}))).await;
    let id = run["run"]["id"].as_str().unwrap().to_string();
    for _ in 0..200 {
        if weft.ok("GET", &format!("/api/runs/{id}"), None).await["run"]["status"] == "running" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the blocking run never started");
}

async fn count_runs(weft: &Weft, flow: &str) -> usize {
    weft.ok("GET", &format!("/api/runs?flow={flow}&limit=1000"), None).await.as_array().unwrap().len()
}

async fn backlog(weft: &Weft) -> u64 {
    request("GET", &weft.url("/healthz"), &[], "").await.json()["backlog"].as_u64().unwrap()
}

fn numbers(n: usize) -> String {
    serde_json::to_string(&(0..n).collect::<Vec<_>>()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_that_does_not_fit_is_refused_whole_and_creates_no_run() {
    let (_dir, data, plugin_dir) = workspace(&[plugins::HTTP, plugins::IDENTITY, plugins::HOSTILE]);
    let args = ["--workers", "1", "--max-backlog", "20", "--max-events-per-request", "30"];
    let weft = Weft::start(EXE, &data, &plugin_dir, &args);
    let url = incoming_flow(&weft, "fanout").await;
    block_the_worker(&weft, 20).await;
    assert_eq!(backlog(&weft).await, 1);

    let too_many = request("POST", &url, &[], numbers(31)).await;
    assert_eq!(too_many.status, 413, "{}", too_many.text());
    assert_eq!(
        too_many.json()["error"],
        "this request holds 31 events; weft takes at most 30 per request (--max-events-per-request): send them in \
         smaller batches"
    );
    let never_fits = request("POST", &url, &[], numbers(25)).await;
    assert_eq!(never_fits.status, 413, "{}", never_fits.text());
    assert!(
        never_fits.json()["error"].as_str().unwrap().contains("more than weft ever queues at once (20, --max-backlog)")
    );
    assert_eq!(count_runs(&weft, "fanout").await, 0, "a refused delivery creates no run");

    let accepted = request("POST", &url, &[], numbers(12)).await;
    assert_eq!(accepted.status, 202, "{}", accepted.text());
    assert_eq!(accepted.json()["runs"].as_array().unwrap().len(), 12);
    assert_eq!(backlog(&weft).await, 13);
    // 13 + 10 > 20: refused whole, with Retry-After, before any run exists.
    let busy = request("POST", &url, &[], numbers(10)).await;
    assert_eq!(busy.status, 429, "{}", busy.text());
    assert_eq!(busy.header("retry-after"), Some("1"));
    assert_eq!(count_runs(&weft, "fanout").await, 12);
    let fits = request("POST", &url, &[], numbers(7)).await;
    assert_eq!(fits.status, 202, "{}", fits.text());
    assert_eq!(backlog(&weft).await, 20, "the backlog is full, and never more than full");
    assert_eq!(request("POST", &url, &[], numbers(1)).await.status, 429);
    // The server counts what it refused.
    let metrics = weft.api("GET", "/metrics", None).await.text();
    assert!(metrics.contains("weft_webhook_requests_total{outcome=\"too_large\"} 2"), "{metrics}");
}

fn polling_flow(name: &str, trigger: &str) -> Value {
    json!({
        "name": name,
        "trigger": { "polling": { "connector": "saas", "trigger": trigger, "connection": "app", "interval": "1h" } },
        "steps": [{ "id": "keep", "transform": "identity", "input": "{{ trigger }}" }],
    })
}

async fn saas_weft(args: &[&str]) -> (SaasApp, tempfile::TempDir, Weft) {
    let app = SaasApp::start("sk-bounds").await;
    let (dir, data, plugin_dir) = workspace(&[plugins::SAAS, plugins::IDENTITY, plugins::HOSTILE]);
    let weft = Weft::start(EXE, &data, &plugin_dir, args);
    let connection = json!({
        "plugin": "saas", "settings": { "base_url": app.url() }, "secrets": { "api_key": "sk-bounds" },
        "hosts": [app.addr.to_string()],
    });
    weft.ok("PUT", "/api/connections/app", Some(&connection)).await;
    (app, dir, weft)
}

const POLLING: [(&str, &str); 3] = [("ids", "new_record"), ("times", "updated_record"), ("all", "any_record")];

/// Each polling flow's runs, oldest first: the record ids they carry.
async fn emitted(weft: &Weft, flow: &str) -> Vec<u64> {
    let runs = weft.ok("GET", &format!("/api/runs?flow={flow}&limit=1000"), None).await;
    let mut ids: Vec<u64> = runs.as_array().unwrap().iter().map(|r| r["trigger"]["id"].as_u64().unwrap()).collect();
    ids.reverse();
    ids
}

async fn poll(weft: &Weft, flow: &str) -> usize {
    weft.ok("POST", &format!("/api/flows/{flow}/poll"), None).await["runs"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poll_takes_what_fits_and_the_next_poll_the_rest() {
    let (app, _dir, weft) = saas_weft(&["--max-events-per-request", "4"]).await;
    for (name, trigger) in POLLING {
        weft.ok("POST", "/api/flows", Some(&polling_flow(name, trigger))).await;
        weft.ok("POST", &format!("/api/flows/{name}/activate"), None).await;
        assert_eq!(poll(&weft, name).await, 0, "the first poll seeds");
    }
    let added: Vec<u64> = (0..10).map(|i| app.add(&format!("r{i}"))).collect();
    for (name, _) in POLLING {
        let sizes = [poll(&weft, name).await, poll(&weft, name).await, poll(&weft, name).await];
        assert_eq!(sizes, [4, 4, 2], "{name}: 4 per poll, the rest on the next");
        let status = weft.ok("GET", &format!("/api/flows/{name}"), None).await;
        assert_eq!(status["trigger"]["poll_state"]["error"], Value::Null, "{name}: {status}");
        assert_eq!(poll(&weft, name).await, 0, "{name}: nothing left");
    }
    // The dedupe strategy sees the app's list oldest first, like the others.
    for (name, _) in POLLING {
        assert_eq!(emitted(&weft, name).await, added, "{name}: every record once, in order");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poll_takes_only_the_room_the_backlog_has_and_waits_when_it_has_none() {
    let (app, _dir, weft) = saas_weft(&["--workers", "1", "--max-backlog", "7", "--max-events-per-request", "4"]).await;
    for (name, trigger) in POLLING {
        weft.ok("POST", "/api/flows", Some(&polling_flow(name, trigger))).await;
        weft.ok("POST", &format!("/api/flows/{name}/activate"), None).await;
        poll(&weft, name).await;
    }
    let added: Vec<u64> = (0..6).map(|i| app.add(&format!("r{i}"))).collect();
    block_the_worker(&weft, 3).await;
    // 1 running: room for 6, at most 4 per poll.
    assert_eq!(poll(&weft, "ids").await, 4);
    assert_eq!(poll(&weft, "times").await, 2, "what the backlog had left");
    assert_eq!(poll(&weft, "all").await, 0, "no room: the poll waits");
    let status = weft.ok("GET", "/api/flows/all", None).await;
    assert_eq!(
        status["trigger"]["poll_state"]["error"], "poll skipped: 7 runs are queued or executing (--max-backlog)",
        "{status}"
    );
    // Once the backlog drains, the polls take the rest.
    let deadline = Instant::now() + Duration::from_secs(30);
    while backlog(&weft).await > 0 {
        assert!(Instant::now() < deadline, "the backlog never drained");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (name, _) in POLLING {
        while poll(&weft, name).await > 0 {}
        assert_eq!(emitted(&weft, name).await, added, "{name}: every record once, in order");
    }
}

// ---- slow, idle and too many clients ------------------------------------------------------------

/// A client that sends its request head one byte at a time, every `every`, and never finishes.
async fn slowloris(addr: String, every: Duration) -> Option<TcpStream> {
    let mut stream = TcpStream::connect(&addr).await.ok()?;
    stream.write_all(b"POST /hooks/0123456789abcdef HTTP/1.1\r\nHost: x\r\n").await.ok()?;
    let mut ticker = tokio::time::interval(every);
    loop {
        ticker.tick().await;
        if stream.write_all(b"X").await.is_err() {
            return None;
        }
    }
}

/// Open `n` slow clients; they run until the returned tasks are aborted.
async fn slow_clients(addr: &str, n: usize) -> Vec<tokio::task::JoinHandle<Option<TcpStream>>> {
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        clients.push(tokio::spawn(slowloris(addr.to_string(), Duration::from_millis(500))));
        // Don't overrun the listen queue.
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    clients
}

/// Whether the server closes `stream` within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// `healthz` and a webhook answer, each within a few seconds.
async fn still_serving(weft: &Weft, hook: &str) {
    let healthz =
        tokio::time::timeout(Duration::from_secs(5), try_request("GET", &weft.url("/healthz"), &[], "")).await;
    assert!(matches!(&healthz, Ok(Ok(r)) if r.status == 200), "healthz did not answer: {healthz:?}");
    let webhook = tokio::time::timeout(Duration::from_secs(5), try_request("POST", hook, &[], "{\"a\":1}")).await;
    assert!(matches!(&webhook, Ok(Ok(r)) if r.status == 202), "the webhook did not answer: {webhook:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_and_idle_clients_are_cut_off_while_others_are_served() {
    raise_open_file_limit();
    let (_dir, data, plugin_dir) = workspace(&[plugins::HTTP, plugins::IDENTITY]);
    let args = ["--header-timeout", "2s", "--idle-timeout", "3s", "--body-timeout", "2s"];
    let weft = Weft::start(EXE, &data, &plugin_dir, &args);
    let hook = incoming_flow(&weft, "hooked").await;

    // A thousand clients dripping their heads: everybody else is still served.
    let clients = slow_clients(&weft.addr, 1000).await;
    for _ in 0..3 {
        still_serving(&weft, &hook).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Past the header timeout they are closed: their writes start failing.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut cut = 0;
    for client in clients {
        let ended = tokio::time::timeout(Duration::from_secs(10), client).await;
        if matches!(ended, Ok(Ok(None))) {
            cut += 1;
        }
    }
    assert_eq!(cut, 1000, "every slow client was cut off");

    // A client that connects and sends nothing is closed at the header timeout too.
    let mut silent = TcpStream::connect(&weft.addr).await.unwrap();
    assert!(closed_within(&mut silent, Duration::from_secs(6)).await, "a silent connection stays open");

    // An idle kept-alive connection is closed after the idle timeout, not before its first request ends.
    let mut kept = TcpStream::connect(&weft.addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 4096];
    let n = kept.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
    assert!(closed_within(&mut kept, Duration::from_secs(8)).await, "an idle connection stays open");

    // A body that arrives too slowly gets 408, saying why.
    let mut slow_body = TcpStream::connect(&weft.addr).await.unwrap();
    let head = format!("POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789", hook_path(&hook));
    slow_body.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(8), slow_body.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#"{"error":"the request body did not arrive within 2 s (--body-timeout)"}"#), "{answer}");
    assert_eq!(count_runs(&weft, "hooked").await, 3, "only the three whole webhook requests made runs");
}

fn hook_path(url: &str) -> &str {
    &url[url.find("/hooks/").unwrap()..]
}

#[tokio::test(flavor = "multi_thread")]
async fn past_the_connection_cap_the_longest_waiting_client_makes_room() {
    raise_open_file_limit();
    let (_dir, data, plugin_dir) = workspace(&[plugins::HTTP, plugins::IDENTITY]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &["--max-connections", "50"]);
    let hook = incoming_flow(&weft, "capped").await;
    let clients = slow_clients(&weft.addr, 80).await;
    for _ in 0..3 {
        still_serving(&weft, &hook).await;
    }
    weft.wait_for_log("connection limit reached (50 open): closed the connection that waited longest", 1);
    // A closed client notices at its next write or two.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let open = clients.iter().filter(|c| !c.is_finished()).count();
    assert!(open <= 50, "{open} slow clients still connected past the cap of 50");
    for client in clients {
        client.abort();
    }

    // With the process's open-file limit at 300, the cap follows it (3/4), and
    // 400 slow clients still leave room for everybody else.
    let (_dir, data, plugin_dir) = workspace(&[plugins::HTTP, plugins::IDENTITY]);
    let weft = Weft::start_with_open_files(EXE, &data, &plugin_dir, &[], 300);
    let hook = incoming_flow(&weft, "capped").await;
    let clients = slow_clients(&weft.addr, 400).await;
    for _ in 0..3 {
        still_serving(&weft, &hook).await;
    }
    weft.wait_for_log("connection limit reached (225 open)", 1);
    assert!(!weft.stderr().contains("Too many open files"), "{}", weft.stderr());
    for client in clients {
        client.abort();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_requests_get_a_clear_answer() {
    let (_dir, data, plugin_dir) = workspace(&[plugins::HTTP, plugins::IDENTITY]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &["--max-body", "1000"]);
    let hook = incoming_flow(&weft, "small").await;
    for (url, headers) in
        [(hook.clone(), vec![]), (weft.url("/api/flows"), vec![("authorization", format!("Bearer {}", weft.token))])]
    {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let big = request("POST", &url, &headers, vec![b'1'; 5000]).await;
        assert_eq!(big.status, 413, "{url}");
        assert_eq!(big.json(), json!({ "error": "the request body is over 1000 bytes (--max-body): send less" }));
    }
    // The admin API reads no body before the token checks out.
    let mut upload = TcpStream::connect(&weft.addr).await.unwrap();
    upload.write_all(b"POST /api/plugins HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n").await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), upload.read(&mut answer)).await.unwrap().unwrap();
    assert!(
        String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 401"),
        "{}",
        String::from_utf8_lossy(&answer[..n])
    );

    // A request head the parser refuses (over 100 headers) is answered by the HTTP layer itself: 431, no body.
    let mut stream = TcpStream::connect(&weft.addr).await.unwrap();
    let headers: String = (0..150).map(|i| format!("X-H{i}: {i}\r\n")).collect();
    let head = format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 431"), "{}", String::from_utf8_lossy(&answer));
}

/// Bodies held at once are capped for all requests together (256 MiB): 300
/// clients each holding most of a 1 MiB body cannot take weft's memory.
#[tokio::test(flavor = "multi_thread")]
async fn bodies_held_at_once_are_capped_in_all() {
    raise_open_file_limit();
    let (_dir, data, plugin_dir) = workspace(&[plugins::HTTP, plugins::IDENTITY]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &["--body-timeout", "5s"]);
    let hook = incoming_flow(&weft, "bodies").await;
    let path = hook_path(&hook).to_string();
    let mut clients = Vec::new();
    for _ in 0..300 {
        let (addr, path) = (weft.addr.clone(), path.clone());
        clients.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(&addr).await.unwrap();
            let head = format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", 1 << 20);
            stream.write_all(head.as_bytes()).await.unwrap();
            // All but the last byte: the body is held, unfinished.
            let _ = stream.write_all(&vec![b' '; (1 << 20) - 1]).await;
            let mut answer = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut answer)).await;
            String::from_utf8_lossy(&answer).into_owned()
        }));
    }
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    for client in clients {
        let answer = client.await.unwrap();
        *statuses.entry(answer.get(9..12).unwrap_or("none").to_string()).or_default() += 1;
        if answer.starts_with("HTTP/1.1 503") {
            assert!(answer.contains("too many request bodies at once"), "{answer}");
            assert!(answer.to_ascii_lowercase().contains("retry-after: 1"), "{answer}");
        }
    }
    // 256 fit (and time out unfinished, 408), the rest are turned away.
    assert_eq!(
        statuses.get("503").copied().unwrap_or(0) + statuses.get("408").copied().unwrap_or(0),
        300,
        "{statuses:?}"
    );
    assert!(statuses.get("503").copied().unwrap_or(0) >= 40, "{statuses:?}");
    // Once they are gone, bodies are taken again.
    assert_eq!(request("POST", &hook, &[], "{\"a\":1}").await.status, 202);
}

// ---- retention ----------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn ended_runs_are_pruned_by_their_flows_retention_and_runs_in_progress_stay() {
    let (_dir, data, plugin_dir) = workspace(&[plugins::IDENTITY, plugins::HOSTILE]);
    let args = ["--retention-succeeded", "2s", "--retention-failed", "1h", "--prune-interval", "500ms"];
    let weft = Weft::start(EXE, &data, &plugin_dir, &args);
    weft.ok("PUT", "/api/connections/h", Some(&json!({ "plugin": "hostile" }))).await;
    for flow in [
        json!({ "name": "ok", "trigger": "manual", "steps": [{ "id": "a", "transform": "identity", "input": "{{ trigger }}" }] }),
        json!({ "name": "fails", "trigger": "manual", "steps": [
            { "id": "a", "action": "hostile.panic", "connection": "h", "input": {}, "retry": { "max_attempts": 1 } }] }),
        json!({ "name": "waits", "trigger": "manual", "steps": [{ "id": "a", "delay": "1h" }] }),
        json!({ "name": "few", "trigger": "manual", "retention": { "max_runs": 2, "succeeded": "1h" },
                "steps": [{ "id": "a", "transform": "identity", "input": "{{ trigger }}" }] }),
    ] {
        weft.ok("POST", "/api/flows", Some(&flow)).await;
    }
    let run = |flow: &'static str| {
        let weft = &weft;
        async move {
            let out =
                weft.ok("POST", &format!("/api/flows/{flow}/runs?wait={}", flow != "waits"), Some(&json!({}))).await;
            out["run"]["id"].as_str().unwrap().to_string()
        }
    };
    let ok = [run("ok").await, run("ok").await];
    let failed = run("fails").await;
    let waiting = run("waits").await;
    let few: Vec<String> = [run("few").await, run("few").await, run("few").await, run("few").await].into();

    let dry = weft.cli(&["runs", "prune", "--dry-run"]);
    let stdout = String::from_utf8_lossy(&dry.stdout);
    assert!(dry.status.success(), "{stdout}{}", String::from_utf8_lossy(&dry.stderr));
    assert!(stdout.contains("would prune"), "{stdout}");

    // The two oldest runs of `few` go at once; `ok`'s once 2 s have passed.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let gone = |id: &String| {
            let weft = &weft;
            let id = id.clone();
            async move { weft.api("GET", &format!("/api/runs/{id}"), None).await.status == 404 }
        };
        if gone(&ok[0]).await && gone(&ok[1]).await && gone(&few[0]).await && gone(&few[1]).await {
            break;
        }
        assert!(Instant::now() < deadline, "the runs past their retention were not pruned");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (id, status) in [(&failed, "failed"), (&waiting, "waiting"), (&few[2], "succeeded"), (&few[3], "succeeded")] {
        let kept = weft.ok("GET", &format!("/api/runs/{id}"), None).await;
        assert_eq!(kept["run"]["status"], status, "{id} is kept");
    }
    let metrics = weft.api("GET", "/metrics", None).await.text();
    assert!(metrics.contains("weft_runs_pruned_total 4"), "{metrics}");
    let report = weft.ok("POST", "/api/runs/prune?dry_run=true", None).await;
    assert_eq!(report, json!({ "dry_run": true, "runs": 0, "flows": [] }));

    // A flow whose retention is not a duration is refused, saying where.
    let bad = json!({ "name": "bad", "trigger": "manual", "retention": { "succeeded": "a week" },
                      "steps": [{ "id": "a", "delay": "1s" }] });
    let refused = weft.api("POST", "/api/flows", Some(&bad)).await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert!(refused.text().contains("retention.succeeded: \\\"a week\\\" is not a duration"), "{}", refused.text());
}
