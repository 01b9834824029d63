//! Hostile plugins in flows, next to a well-behaved flow under load, on a real
//! `weft serve`. Every attack must end as a step error naming its cause (or,
//! where the host's answer is to absorb it, as a bounded success), the host
//! must stay healthy, and the well-behaved flow must answer every request.
//! The latency figures (p99 with and without the attacks) are measured by
//! the benchmark, not here.

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use weft_tests::app::TestApp;
use weft_tests::http::request;
use weft_tests::plugins;
use weft_tests::weft::{Weft, workspace};

const EXE: &str = env!("CARGO_BIN_EXE_weft");

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn attacks_end_as_step_errors_and_the_neighbour_flow_keeps_answering() {
    let app = TestApp::start().await;
    let other = TestApp::start().await; // never granted
    let (_dir, data, plugin_dir) = workspace(&[plugins::HOSTILE, plugins::IDENTITY, plugins::HTTP]);
    let weft = Arc::new(Weft::start(EXE, &data, &plugin_dir, &[]));
    for (id, plugin, hosts) in
        [("h", "hostile", json!([app.grant()])), ("h2", "hostile", json!([])), ("inbox", "http", json!([]))]
    {
        let connection = json!({ "plugin": plugin, "hosts": hosts, "settings": { "who": id }, "secrets": { "key": format!("secret-of-{id}") } });
        weft.ok("PUT", &format!("/api/connections/{id}"), Some(&connection)).await;
    }

    // The neighbour: a sync webhook flow through a transform.
    let neighbour = json!({
        "name": "neighbour",
        "trigger": { "webhook": { "connector": "http", "trigger": "incoming", "connection": "inbox", "sync": true } },
        "steps": [{ "id": "echo", "transform": "identity", "input": "{{ trigger }}" }],
    });
    weft.ok("POST", "/api/flows", Some(&neighbour)).await;
    let hook =
        weft.ok("POST", "/api/flows/neighbour/activate", None).await["webhook_url"].as_str().unwrap().to_string();

    // (attack, action, connection, input, what the step error must say)
    let attacks: Vec<(&str, &str, &str, Value, &str)> = vec![
        ("cpu-spin", "spin", "h", json!({}), "exceeded its CPU budget"),
        ("memory-growth", "memory", "h", json!({}), "exceeded its memory limit"),
        (
            "huge-allocation",
            "huge-alloc",
            "h",
            json!({}),
            "exceeded its memory limit (128 MiB; it asked for 2048 MiB at once)",
        ),
        ("log-call-loop", "log-loop", "h", json!({}), "exceeded its CPU budget"),
        ("kv-call-loop", "kv-get-loop", "h", json!({}), "exceeded its CPU budget"),
        ("deep-recursion", "recurse", "h", json!({}), "exceeded its stack limit"),
        ("big-frames", "recurse-big", "h", json!({}), "hostile"),
        ("huge-output", "big-output", "h", json!({ "mb": 8 }), "exceeded its output cap (returned 8 MiB, cap 4 MiB)"),
        ("trap", "panic", "h", json!({}), "the hostile plugin panicked on purpose"),
        (
            "malformed-json",
            "bad-json",
            "h",
            json!({}),
            "returned invalid output from invoke(\"bad-json\"): not valid JSON",
        ),
        ("never-returns", "sleep", "h", json!({ "secs": 3600 }), "exceeded its time limit (30000 ms)"),
        (
            "metadata-address",
            "fetch",
            "h",
            json!({ "url": "http://169.254.169.254/latest/meta-data/" }),
            "169.254.169.254",
        ),
        (
            "loopback-not-granted",
            "fetch",
            "h",
            json!({ "url": other.url("/json") }),
            "is not granted to this connection",
        ),
        (
            "host-not-granted",
            "fetch",
            "h",
            json!({ "url": "http://example.com/" }),
            "is not granted to this connection",
        ),
        (
            "redirect-to-denied",
            "fetch",
            "h",
            json!({ "url": app.url("/redirect?to=http://169.254.169.254/latest/meta-data/iam") }),
            "GET http://169.254.169.254/latest/meta-data/iam",
        ),
        ("slow-server", "fetch", "h", json!({ "url": app.url("/slow") }), "ConnectionReadTimeout"),
    ];
    for (name, action, connection, input, _) in &attacks {
        let flow = json!({ "name": name, "trigger": "manual", "steps": [
            { "id": "attack", "action": format!("hostile.{action}"), "connection": connection, "input": input, "retry": { "max_attempts": 1 } } ] });
        weft.ok("POST", "/api/flows", Some(&flow)).await;
    }

    // All attacks at once, while the neighbour is hit at concurrency 4.
    let mut runs = Vec::new();
    for (name, _, _, _, expected) in attacks.iter().cloned() {
        let weft = weft.clone();
        runs.push(tokio::spawn(async move {
            (name, expected, weft.ok("POST", &format!("/api/flows/{name}/runs?wait=true"), Some(&json!({}))).await)
        }));
    }
    let mut load = Vec::new();
    for worker in 0..4 {
        let hook = hook.clone();
        load.push(tokio::spawn(async move {
            let mut answered = 0;
            for n in 0..50 {
                let body = json!({ "worker": worker, "n": n });
                let reply = request("POST", &hook, &[("content-type", "application/json")], body.to_string()).await;
                assert_eq!((reply.status, reply.json()), (200, body), "the neighbour answered");
                answered += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            answered
        }));
    }
    let mut answered = 0;
    for worker in load {
        answered += worker.await.unwrap();
    }
    assert_eq!(answered, 200);

    for run in runs {
        let (name, expected, done) = run.await.unwrap();
        assert_eq!(done["run"]["status"], "failed", "{name}: {done}");
        let step = &done["steps"][0];
        let message = step["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{name}: expected {expected:?} in {message:?}");
        assert_eq!(step["attempts"], 1, "{name}: a limit is not retried");
    }

    // Absorbed, not failed: 100,000 log lines keep 1,000 and count the rest;
    // a kv flood stops at the quota and the plugin is told so.
    let flood = json!({ "name": "floods", "trigger": "manual", "steps": [
        { "id": "logs", "action": "hostile.log-flood", "connection": "h", "input": { "lines": 100000 } },
        { "id": "kv", "action": "hostile.kv-flood", "connection": "h", "input": {} } ] });
    weft.ok("POST", "/api/flows", Some(&flood)).await;
    let done = weft.ok("POST", "/api/flows/floods/runs?wait=true", Some(&json!({}))).await;
    assert_eq!(done["run"]["status"], "succeeded", "{done}");
    let logs = &done["steps"][0];
    assert_eq!(logs["logs"].as_array().unwrap().len(), 1000);
    assert_eq!(logs["dropped_logs"], 99_000, "the dropped lines are counted in the step record");
    let kv = &done["steps"][1]["output"];
    assert!(kv["error"].as_str().unwrap().contains("QuotaExceeded"), "{kv}");

    // One connection's kv is not another's, even for the same plugin.
    let kv_flow = |connection: &str, action: &str| {
        json!({ "name": format!("kv-{connection}-{action}"), "trigger": "manual", "steps": [
        { "id": "kv", "action": format!("hostile.{action}"), "connection": connection, "input": { "key": "shared-name", "value": "h's data" } } ] })
    };
    for (connection, action) in [("h", "kv-set"), ("h2", "kv-get")] {
        weft.ok("POST", "/api/flows", Some(&kv_flow(connection, action))).await;
    }
    assert_eq!(
        weft.ok("POST", "/api/flows/kv-h-kv-set/runs?wait=true", Some(&json!({}))).await["run"]["status"],
        "succeeded"
    );
    let read = weft.ok("POST", "/api/flows/kv-h2-kv-get/runs?wait=true", Some(&json!({}))).await;
    assert_eq!(read["steps"][0]["output"], json!({ "value": null }), "h2 cannot see h's kv");

    // A component importing what weft does not lend is refused at upload.
    let sneaky = std::fs::read(plugins::SNEAKY).unwrap();
    let auth = format!("Bearer {}", weft.token);
    let refused = request("POST", &weft.url("/api/plugins"), &[("authorization", &auth)], sneaky).await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(refused.text().contains("wasi:filesystem"), "{}", refused.text());

    // And the host is healthy, the neighbour still answers.
    assert_eq!(request("GET", &weft.url("/healthz"), &[], Vec::new()).await.status, 200);
    let reply = request("POST", &hook, &[], json!({ "after": true }).to_string()).await;
    assert_eq!((reply.status, reply.json()), (200, json!({ "after": true })));
    let secrets_seen = weft.stderr();
    assert!(!secrets_seen.contains("secret-of-h"), "no secret reached the log");
}
