//! Black-box tests of the runtime and capabilities with real wasm plugins.

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft_core::connection::Connection;
use weft_core::plugin::{CallContext, PluginError, WebhookRequest};
use weft_runtime::{CallError, CallOptions, LimitKind, Limits, LoadError, Plugin, Runtime, RuntimeConfig};
use weft_tests::app::TestApp;
use weft_tests::plugins;

/// A runtime whose plugins' key-value namespaces live in a temporary store.
fn runtime() -> Runtime {
    let kv = Arc::new(weft_store::Db::temporary().expect("a temporary store"));
    Runtime::new(RuntimeConfig { kv: Some(kv), ..Default::default() }).expect("runtime")
}

async fn load(rt: &Runtime, path: &str) -> Plugin {
    rt.load_file(path.as_ref()).await.unwrap_or_else(|e| panic!("{e}"))
}

fn connection(id: &str, hosts: &[&str]) -> Arc<Connection> {
    Arc::new(Connection {
        id: id.into(),
        hosts: Arc::new(hosts.iter().map(|h| h.parse().unwrap()).collect()),
        ..Default::default()
    })
}

fn ctx() -> CallContext {
    CallContext { idempotency_key: "run-1/step-a".into(), attempt: 1 }
}

async fn invoke(p: &Plugin, conn: &Arc<Connection>, action: &str, input: Value) -> Result<Value, CallError> {
    p.invoke(&CallOptions { connection: Some(conn), limits: None, io: None }, action, &input, &ctx()).await.result
}

async fn invoke_limited(p: &Plugin, limits: &Limits, action: &str, input: Value) -> Result<Value, CallError> {
    let conn = connection("c", &[]);
    p.invoke(&CallOptions { connection: Some(&conn), limits: Some(limits), io: None }, action, &input, &ctx())
        .await
        .result
}

fn limit_of(result: Result<Value, CallError>) -> LimitKind {
    match result {
        Err(CallError::Limit { limit, .. }) => limit,
        other => panic!("expected a limit error, got {other:?}"),
    }
}

// ---- happy paths -------------------------------------------------------------------------

#[tokio::test]
async fn transform_runs_and_logs() {
    let rt = runtime();
    let clean = load(&rt, plugins::CLEAN_CONTACT).await;
    assert_eq!(clean.name(), "clean-contact");
    let outcome =
        clean.transform(&CallOptions::default(), &json!({ "name": " Ada Lovelace ", "email": "ADA@X.ORG " })).await;
    assert_eq!(
        outcome.result.unwrap(),
        json!({ "name": "Ada Lovelace", "email": "ada@x.org", "first_name": "Ada", "last_name": "Lovelace" })
    );
    assert_eq!(outcome.logs.len(), 1);
    assert_eq!(outcome.logs[0].message, "cleaned contact ada@x.org");

    let err = clean.transform(&CallOptions::default(), &json!({ "name": "x" })).await.result.unwrap_err();
    assert!(matches!(&err, CallError::Plugin { error: PluginError::InvalidInput { .. }, .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "plugin \"clean-contact\" failed in transform(): invalid input: the contact has no valid `email`"
    );

    let identity = load(&rt, plugins::IDENTITY).await;
    assert_eq!(
        identity.transform(&CallOptions::default(), &json!([1, "two"])).await.result.unwrap(),
        json!([1, "two"])
    );
}

/// The contract grows in 0.1.x minor versions: a connector built against the
/// first one (`weft:plugin@0.1.0`, its WIT frozen in the plugin's folder)
/// loads and runs on a host of a later 0.1.x, and one built by today's SDK
/// declares its OAuth 2.0 through the `oauth` export 0.1.1 added.
#[tokio::test]
async fn plugins_of_every_0_1_contract_load() {
    let rt = runtime();
    let old = load(&rt, plugins::CONTRACT_0_1_0).await;
    let manifest = old.manifest().unwrap();
    assert_eq!((manifest.name.as_str(), manifest.oauth2.is_none()), ("contract-0-1-0", true));
    let outcome = old
        .invoke(
            &CallOptions { connection: Some(&connection("c", &[])), limits: None, io: None },
            "echo",
            &json!({"a": 1}),
            &ctx(),
        )
        .await;
    assert_eq!(outcome.result.unwrap(), json!({"a": 1}));
    assert_eq!(outcome.logs[0].message, "echo from a 0.1.0 plugin");

    let code = load(&rt, plugins::OAUTH_APP).await;
    let spec = code.manifest().unwrap().oauth2.clone().expect("oauth-app declares OAuth 2.0");
    assert_eq!(spec.grant, weft_core::oauth::GrantType::AuthorizationCode);
    assert!(spec.pkce, "PKCE is on by default");
    assert_eq!(
        (spec.hosts, spec.scopes),
        (vec!["api.example.com".to_string()], vec!["items:read".into(), "items:write".into()])
    );
    let m2m = load(&rt, plugins::OAUTH_M2M).await;
    assert_eq!(m2m.manifest().unwrap().oauth2.as_ref().unwrap().grant, weft_core::oauth::GrantType::ClientCredentials);
    // An SDK connector that declares no OAuth exports `oauth` all the same, answering none.
    assert!(load(&rt, plugins::HTTP).await.manifest().unwrap().oauth2.is_none());
}

#[tokio::test]
async fn http_plugin_calls_a_granted_host() {
    let app = TestApp::start().await;
    let rt = runtime();
    let http = load(&rt, plugins::HTTP).await;
    let manifest = http.manifest().unwrap();
    assert_eq!(manifest.name, "http");
    assert!(manifest.action("request").is_some());

    let conn = connection("c1", &[&app.grant()]);
    let out = invoke(&http, &conn, "request", json!({ "url": app.url("/json") })).await.unwrap();
    assert_eq!(out["status"], 200);
    assert_eq!(out["body"], json!({ "hello": "world" }));
    assert_eq!(out["headers"]["content-type"], "application/json");

    // Settings, secrets, query, headers and a JSON body all arrive.
    let mut conn = (*conn).clone();
    conn.settings.insert("base_url".into(), json!(app.url("")));
    conn.secrets.insert("authorization".into(), "Bearer s3cret-token".into());
    let conn = Arc::new(conn);
    let out = invoke(
        &http,
        &conn,
        "request",
        json!({ "method": "POST", "url": "/echo", "query": { "q": "a b", "n": 2 },
                "headers": { "x-trace": "t1" }, "body": { "name": "Ada" } }),
    )
    .await
    .unwrap();
    let echo = &out["body"];
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["uri"], "/echo?n=2&q=a%20b");
    assert_eq!(echo["headers"]["authorization"], "Bearer s3cret-token");
    assert_eq!(echo["headers"]["x-trace"], "t1");
    assert_eq!(echo["headers"]["idempotency-key"], "run-1/step-a");
    assert_eq!(echo["headers"]["host"], app.grant());
    assert_eq!(echo["body"], json!({ "name": "Ada" }));

    // Error statuses become errors the engine can act on.
    let err = invoke(&http, &conn, "request", json!({ "url": "/status/503" })).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    let err = invoke(&http, &conn, "request", json!({ "url": "/status/401" })).await.unwrap_err();
    assert!(matches!(err, CallError::Plugin { error: PluginError::Auth { .. }, .. }), "{err}");
    let out =
        invoke(&http, &conn, "request", json!({ "url": "/status/404", "fail_on_error_status": false })).await.unwrap();
    assert_eq!(out["status"], 404);
}

#[tokio::test]
async fn kv_config_log_and_context_reach_the_plugin() {
    let rt = runtime();
    let probe = load(&rt, plugins::PROBE).await;
    let mut conn = Connection { id: "acct-1".into(), ..Default::default() };
    conn.settings.insert("greeting".into(), json!("hej"));
    conn.secrets.insert("token".into(), "tok-123456".into());
    let conn = Arc::new(conn);

    invoke(&probe, &conn, "kv-set", json!({ "key": "a/1", "value": "one" })).await.unwrap();
    invoke(&probe, &conn, "kv-set", json!({ "key": "a/2", "value": "two" })).await.unwrap();
    invoke(&probe, &conn, "kv-set", json!({ "key": "b/1", "value": "three" })).await.unwrap();
    assert_eq!(invoke(&probe, &conn, "kv-get", json!({ "key": "a/2" })).await.unwrap(), json!({ "value": "two" }));
    assert_eq!(
        invoke(&probe, &conn, "kv-list", json!({ "prefix": "a/" })).await.unwrap(),
        json!({ "keys": ["a/1", "a/2"] })
    );
    invoke(&probe, &conn, "kv-delete", json!({ "key": "a/1" })).await.unwrap();
    assert_eq!(invoke(&probe, &conn, "kv-get", json!({ "key": "a/1" })).await.unwrap(), json!({ "value": null }));

    let config = invoke(&probe, &conn, "config", json!({})).await.unwrap();
    assert_eq!(config, json!({ "settings": { "greeting": "hej" }, "greeting": "hej", "secret": "tok-123456" }));

    let context = invoke(&probe, &conn, "context", json!({})).await.unwrap();
    assert_eq!(context, json!({ "idempotency_key": "run-1/step-a", "attempt": 1 }));

    let outcome = probe
        .invoke(&CallOptions { connection: Some(&conn), limits: None, io: None }, "log", &json!({ "lines": 3 }), &ctx())
        .await;
    assert_eq!(outcome.logs.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(), ["line 0", "line 1", "line 2"]);
}

#[tokio::test]
async fn secrets_are_redacted_from_plugin_logs() {
    let rt = runtime();
    let probe = load(&rt, plugins::PROBE).await;
    let mut conn = Connection { id: "acct".into(), ..Default::default() };
    conn.secrets.insert("token".into(), "line".into()); // the probe logs "line N"
    let conn = Arc::new(conn);
    let outcome = probe
        .invoke(&CallOptions { connection: Some(&conn), limits: None, io: None }, "log", &json!({ "lines": 1 }), &ctx())
        .await;
    assert_eq!(outcome.logs[0].message, "[redacted] 0");
}

#[tokio::test]
async fn trigger_exports_work() {
    let rt = runtime();
    let probe = load(&rt, plugins::PROBE).await;
    let conn = connection("c", &[]);
    let opts = CallOptions { connection: Some(&conn), limits: None, io: None };

    let polled = probe.poll(&opts, "numbers", &json!({ "count": 2 }), Some("5")).await.result.unwrap();
    assert_eq!(polled.events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["6", "7"]);
    assert_eq!(polled.events[0].payload, json!({ "n": 6 }));
    assert_eq!(polled.next_cursor.as_deref(), Some("7"));

    let sub = probe
        .subscribe(&opts, "echo", &json!({}), "http://127.0.0.1:8080/hooks/abc", &["created".into()])
        .await
        .result
        .unwrap();
    assert_eq!(sub, json!({ "hook_id": 42, "url": "http://127.0.0.1:8080/hooks/abc", "events": ["created"] }));
    probe.unsubscribe(&opts, "echo", &json!({}), &sub).await.result.unwrap();

    let mut request = WebhookRequest {
        trigger: "echo".into(),
        config: json!({}),
        method: "POST".into(),
        path: "/".into(),
        headers: vec![],
        body: br#"{"id":7}"#.to_vec(),
    };
    let outcome = probe.handle_webhook(&opts, &request).await.result.unwrap();
    assert_eq!(outcome.events[0].payload, json!({ "id": 7 }));
    assert!(outcome.response.is_none());
    request.headers.push(("x-challenge".into(), "abc123".into()));
    let outcome = probe.handle_webhook(&opts, &request).await.result.unwrap();
    assert!(outcome.events.is_empty());
    assert_eq!(outcome.response.unwrap().body, b"abc123");
}

// ---- outbound HTTP policy ----------------------------------------------------------------

#[tokio::test]
async fn ungranted_hosts_and_loopback_are_denied() {
    let app = TestApp::start().await;
    let rt = runtime();
    let http = load(&rt, plugins::HTTP).await;

    // Nothing granted.
    let none = connection("c", &[]);
    let outcome = http
        .invoke(
            &CallOptions { connection: Some(&none), limits: None, io: None },
            "request",
            &json!({ "url": app.url("/json") }),
            &ctx(),
        )
        .await;
    let err = outcome.result.unwrap_err();
    assert!(matches!(&err, CallError::Plugin { error: PluginError::Fatal { .. }, .. }), "{err}");
    assert!(err.to_string().contains("is not granted to this connection (no hosts are granted)"), "{err}");
    assert_eq!(outcome.http_refusals.len(), 1);

    // Any public host granted: loopback is still refused.
    let any = connection("c", &["*"]);
    let err = invoke(&http, &any, "request", json!({ "url": app.url("/json") })).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("not globally reachable: loopback (127.0.0.0/8); such addresses need an explicit grant"),
        "{err}"
    );

    // A different port on the same address is not granted either.
    let other_port = connection("c", &["127.0.0.1:1"]);
    assert!(invoke(&http, &other_port, "request", json!({ "url": app.url("/json") })).await.is_err());

    // The cloud metadata address.
    let err =
        invoke(&http, &any, "request", json!({ "url": "http://169.254.169.254/latest/meta-data/" })).await.unwrap_err();
    assert!(err.to_string().contains("link-local (cloud metadata)"), "{err}");

    assert_eq!(app.requests(), 0, "no denied request reached the app");

    // A plugin that calls the denial "network trouble, try again" still fails for
    // good: a denied request is the operator's to fix, never worth a retry.
    let careless = load(&rt, plugins::SAAS).await;
    let err = invoke(&careless, &none, "fetch_any", json!({ "url": app.url("/json") })).await.unwrap_err();
    match &err {
        CallError::Plugin { error: PluginError::Fatal { message }, .. } => {
            assert!(message.starts_with("network trouble, try again"), "{message}");
            assert!(message.contains("[weft refused: GET http://127.0.0.1:"), "{message}");
        }
        other => panic!("expected a fatal error, got {other:?}"),
    }
    assert!(!err.is_retryable());

    // Granted by address: allowed.
    let granted = connection("c", &["127.0.0.1"]);
    assert_eq!(invoke(&http, &granted, "request", json!({ "url": app.url("/json") })).await.unwrap()["status"], 200);
    assert_eq!(app.requests(), 1);
}

#[tokio::test]
async fn redirects_are_checked_again() {
    let app = TestApp::start().await;
    let rt = runtime();
    let http = load(&rt, plugins::HTTP).await;
    let conn = connection("c", &[&app.grant()]);

    // Within the grant: followed.
    let out = invoke(&http, &conn, "request", json!({ "url": app.url("/redirect") })).await.unwrap();
    assert_eq!(out["body"], json!({ "hello": "world" }));

    // To a host that is not granted: refused, and the refused URL is named.
    let to = "http://169.254.169.254/latest/meta-data/iam";
    let err =
        invoke(&http, &conn, "request", json!({ "url": app.url(&format!("/redirect?to={to}")) })).await.unwrap_err();
    assert!(err.to_string().contains("GET http://169.254.169.254/latest/meta-data/iam"), "{err}");
}

#[tokio::test]
async fn http_bodies_and_waits_are_capped() {
    let app = TestApp::start().await;
    let rt = runtime();
    let http = load(&rt, plugins::HTTP).await;
    let conn = connection("c", &[&app.grant()]);
    let limits =
        Limits { max_http_response_bytes: 64 << 10, http_timeout: Duration::from_millis(300), ..Limits::default() };
    let opts = CallOptions { connection: Some(&conn), limits: Some(&limits), io: None };

    let err = http
        .invoke(&opts, "request", &json!({ "url": app.url("/big?bytes=1000000") }), &ctx())
        .await
        .result
        .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(err.to_string().contains("the response body is over the 64 KiB cap"), "{err}");
    let ok = http.invoke(&opts, "request", &json!({ "url": app.url("/big?bytes=1000") }), &ctx()).await.result.unwrap();
    assert_eq!(ok["body"].as_str().unwrap().len(), 1000);

    let started = Instant::now();
    let err = http.invoke(&opts, "request", &json!({ "url": app.url("/slow") }), &ctx()).await.result.unwrap_err();
    assert!(err.is_retryable(), "a timeout is transient: {err}");
    assert!(started.elapsed() < Duration::from_secs(10), "the HTTP timeout cut the wait");
}

// ---- key-value isolation and quota ------------------------------------------------------

#[tokio::test]
async fn kv_is_isolated_between_plugins_and_connections() {
    let rt = runtime();
    let probe = load(&rt, plugins::PROBE).await;
    let hostile = load(&rt, plugins::HOSTILE).await;
    let a = connection("a", &[]);
    let b = connection("b", &[]);

    invoke(&probe, &a, "kv-set", json!({ "key": "k", "value": "probe-a" })).await.unwrap();
    invoke(&probe, &b, "kv-set", json!({ "key": "k", "value": "probe-b" })).await.unwrap();
    invoke(&hostile, &a, "kv-set", json!({ "key": "k", "value": "hostile-a" })).await.unwrap();

    assert_eq!(invoke(&probe, &a, "kv-get", json!({ "key": "k" })).await.unwrap()["value"], "probe-a");
    assert_eq!(invoke(&probe, &b, "kv-get", json!({ "key": "k" })).await.unwrap()["value"], "probe-b");
    assert_eq!(invoke(&hostile, &a, "kv-get", json!({ "key": "k" })).await.unwrap()["value"], "hostile-a");
    assert_eq!(invoke(&hostile, &b, "kv-get", json!({ "key": "k" })).await.unwrap()["value"], Value::Null);
    assert_eq!(invoke(&probe, &a, "kv-list", json!({})).await.unwrap()["keys"], json!(["k"]));
}

#[tokio::test]
async fn kv_quota_and_sizes_are_enforced() {
    let rt = runtime();
    let hostile = load(&rt, plugins::HOSTILE).await;
    let mut limits = Limits::default();
    limits.kv.quota_bytes = 1 << 20;
    let out = invoke_limited(&hostile, &limits, "kv-flood", json!({})).await.unwrap();
    // 60 KiB values: 17 fit in 1 MiB with their keys, the 18th does not.
    assert_eq!(out["stored"], 17);
    assert_eq!(out["error"], "KvError::QuotaExceeded(1048576)");

    // Tiny entries stop at the key cap, bigger ones at the quota, each entry
    // counting its key, its value and what the store spends on it (128 bytes).
    for (value_bytes, expected) in [(8u64, 65_536u64), (1024, (16 << 20) / (8 + 1024 + 128))] {
        let conn = connection(&format!("fill-{value_bytes}"), &[]);
        let mut stored = 0;
        loop {
            let input = json!({ "value_bytes": value_bytes, "from": stored, "count": 10_000 });
            let out = invoke(&hostile, &conn, "kv-fill", input).await.unwrap();
            stored += out["stored"].as_u64().unwrap();
            if !out["error"].is_null() {
                assert_eq!(out["error"], "KvError::QuotaExceeded(16777216)");
                break;
            }
        }
        assert_eq!(stored, expected, "{value_bytes}-byte values");
    }

    let probe = load(&rt, plugins::PROBE).await;
    let conn = connection("c", &[]);
    let long_key = "k".repeat(513);
    let err = invoke(&probe, &conn, "kv-set", json!({ "key": long_key, "value": "v" })).await.unwrap_err();
    assert!(err.to_string().contains("kv key is empty or over 512 bytes"), "{err}");
}

// ---- limits ------------------------------------------------------------------------------

#[tokio::test(flavor = "current_thread")]
async fn a_busy_loop_stops_at_its_budget_without_starving_other_calls() {
    // One thread only: the spinning plugin must yield for the other call to run at all.
    let rt = runtime();
    let hostile = load(&rt, plugins::HOSTILE).await;
    let identity = load(&rt, plugins::IDENTITY).await;
    let limits = Limits { fuel: u64::MAX / 2, timeout: Duration::from_millis(1500), ..Limits::default() };

    let started = Instant::now();
    let spin = tokio::spawn({
        let hostile = hostile.clone();
        async move {
            let conn = connection("c", &[]);
            let opts = CallOptions { connection: Some(&conn), limits: Some(&limits), io: None };
            let result = hostile.invoke(&opts, "spin", &json!({}), &ctx()).await.result;
            (result, started.elapsed())
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let quick = identity.transform(&CallOptions::default(), &json!({ "ok": true })).await;
    let quick_done = started.elapsed();
    assert_eq!(quick.result.unwrap(), json!({ "ok": true }));

    let (result, spin_done) = spin.await.unwrap();
    assert_eq!(limit_of(result), LimitKind::Time { limit: Duration::from_millis(1500) });
    assert!(quick_done < spin_done, "the quick call ({quick_done:?}) finished while the spin ran ({spin_done:?})");
    assert!(quick_done < Duration::from_millis(1000), "the quick call was not held up: {quick_done:?}");

    // Fuel is the deterministic budget.
    let limits = Limits { fuel: 50_000_000, ..Limits::default() };
    let err = invoke_limited(&hostile, &limits, "spin", json!({})).await.unwrap_err();
    assert_eq!(err.to_string(), r#"plugin "hostile" exceeded its CPU budget (50000000 fuel) in invoke("spin")"#);
}

/// A loop of host calls spends the CPU budget as a loop of wasm does: it is
/// stopped by its fuel, not by the wall-clock deadline, and at the same point
/// every time.
#[tokio::test]
async fn host_calls_cost_fuel_so_loops_of_them_stop_at_the_budget() {
    let rt = runtime();
    let hostile = load(&rt, plugins::HOSTILE).await;
    let conn = connection("c", &[]);
    let limits = Limits { timeout: Duration::from_secs(25), ..Limits::default() };
    for action in ["log-loop", "kv-get-loop"] {
        let opts = CallOptions { connection: Some(&conn), limits: Some(&limits), io: None };
        let outcome = hostile.invoke(&opts, action, &json!({}), &ctx()).await;
        assert_eq!(limit_of(outcome.result), LimitKind::Cpu { fuel: limits.fuel }, "{action}");
        assert!(outcome.fuel_used >= limits.fuel, "{action}: all of the budget went ({})", outcome.fuel_used);
    }
    let small = Limits { fuel: 20_000_000, ..Limits::default() };
    let opts = CallOptions { connection: Some(&conn), limits: Some(&small), io: None };
    let lines = |o: &weft_runtime::Outcome<Value>| o.logs.len() as u64 + o.dropped_logs;
    let first = hostile.invoke(&opts, "log-loop", &json!({}), &ctx()).await;
    let second = hostile.invoke(&opts, "log-loop", &json!({}), &ctx()).await;
    assert!(lines(&first) > 1_000, "some lines were logged before the budget ran out: {}", lines(&first));
    assert_eq!(lines(&first), lines(&second), "the budget stops a loop of host calls at the same call");
}

#[tokio::test]
async fn memory_stack_output_and_traps_are_contained() {
    let rt = runtime();
    let hostile = load(&rt, plugins::HOSTILE).await;
    let limits = Limits { memory_bytes: 32 << 20, ..Limits::default() };

    let err = invoke_limited(&hostile, &limits, "memory", json!({})).await.unwrap_err();
    assert_eq!(err.to_string(), r#"plugin "hostile" exceeded its memory limit (32 MiB) in invoke("memory")"#);
    // One allocation too big to ever fit, which the plugin's allocator refuses itself.
    let err = invoke_limited(&hostile, &limits, "huge-alloc", json!({})).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"plugin "hostile" exceeded its memory limit (32 MiB; it asked for 2048 MiB at once) in invoke("huge-alloc")"#
    );
    let err = invoke_limited(&hostile, &limits, "huge-alloc", json!({ "bytes": 100 << 20 })).await.unwrap_err();
    assert_eq!(err.to_string(), r#"plugin "hostile" exceeded its memory limit (32 MiB) in invoke("huge-alloc")"#);

    let err = invoke_limited(&hostile, &limits, "recurse", json!({})).await.unwrap_err();
    assert_eq!(err.to_string(), r#"plugin "hostile" exceeded its stack limit (512 KiB) in invoke("recurse")"#);

    let err = invoke_limited(&hostile, &limits, "recurse-big", json!({})).await.unwrap_err();
    assert!(matches!(err, CallError::Trap { .. }), "{err}");
    assert!(err.to_string().contains("out of bounds memory access"), "{err}");

    let err = invoke_limited(&hostile, &Limits::default(), "big-output", json!({ "mb": 8 })).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"plugin "hostile" exceeded its output cap (returned 8 MiB, cap 4 MiB) in invoke("big-output")"#
    );

    let err = invoke_limited(&hostile, &limits, "panic", json!({})).await.unwrap_err();
    assert!(matches!(err, CallError::Trap { .. }), "{err}");
    assert!(err.to_string().contains("the hostile plugin panicked on purpose"), "the panic message is shown: {err}");

    let err = invoke_limited(&hostile, &limits, "bad-json", json!({})).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"plugin "hostile" returned invalid output from invoke("bad-json"): not valid JSON: key must be a string at line 1 column 3"#
    );

    let short = Limits { timeout: Duration::from_millis(200), ..Limits::default() };
    let err = invoke_limited(&hostile, &short, "sleep", json!({ "secs": 3600 })).await.unwrap_err();
    assert_eq!(err.to_string(), r#"plugin "hostile" exceeded its time limit (200 ms) in invoke("sleep")"#);

    let outcome = hostile
        .invoke(
            &CallOptions { connection: None, limits: None, io: None },
            "log-flood",
            &json!({ "lines": 100_000 }),
            &ctx(),
        )
        .await;
    assert!(outcome.result.is_ok());
    assert_eq!(outcome.logs.len(), 1000);
    assert_eq!(outcome.dropped_logs, 99_000);

    // Contract breaches in the other exports.
    let conn = connection("c", &[]);
    let opts = CallOptions { connection: Some(&conn), limits: None, io: None };
    let err = hostile.subscribe(&opts, "t", &json!({}), "http://x/", &[]).await.result.unwrap_err();
    assert!(matches!(err, CallError::BadOutput { .. }), "{err}");
    let err = hostile.unsubscribe(&opts, "t", &json!({}), &json!({})).await.result.unwrap_err();
    assert!(err.to_string().contains("the hostile plugin traps in unsubscribe"), "{err}");

    // After all that, the host and the same plugin still work.
    assert_eq!(invoke_limited(&hostile, &limits, "ok", json!({})).await.unwrap(), json!({ "ok": true }));
}

// ---- loading -----------------------------------------------------------------------------

async fn load_error(bytes: &[u8]) -> String {
    match runtime().load("bad.wasm", "bad", bytes).await {
        Ok(_) => panic!("loaded"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn bad_files_are_rejected_with_a_reason() {
    assert_eq!(
        load_error(b"#!/bin/sh\necho hi").await,
        "bad.wasm: not a WebAssembly file (it starts with 23 21 2f 62 69 6e 2f 73, not the \\0asm magic); a weft plugin is a .wasm component"
    );
    assert!(load_error(b"").await.contains("the file is empty"));
    assert!(load_error(b"(module)").await.contains("looks like WebAssembly text"));
    let core = load_error(b"\0asm\x01\0\0\0").await;
    assert!(core.contains("core WebAssembly module, not a component") && core.contains("wasm32-wasip2"), "{core}");
    let truncated = std::fs::read(plugins::IDENTITY).unwrap();
    let truncated = load_error(&truncated[..truncated.len() / 2]).await;
    assert!(truncated.starts_with("bad.wasm: not a valid component:"), "{truncated}");

    let rt = runtime();
    let err = rt.load_file(plugins::CLI_COMMAND.as_ref()).await.err().unwrap().to_string();
    assert!(err.contains("is not a weft plugin: it exports `wasi:cli/run@0.2.0`"), "{err}");

    let err = rt.load_file(plugins::SNEAKY.as_ref()).await.err().unwrap();
    assert!(matches!(err, LoadError::NotLent { .. }));
    let err = err.to_string();
    assert!(err.contains("`wasi:filesystem/types@0.2.6`") && err.contains("`wasi:sockets/tcp@0.2.6`"), "{err}");
    assert!(err.contains("wasi:filesystem is not available to plugins"), "{err}");

    let err = rt.load_file(plugins::PARTIAL.as_ref()).await.err().unwrap().to_string();
    assert!(err.contains("the connector exports do not match weft:plugin@0.1.x"), "{err}");

    let missing = rt.load_file("/nonexistent/x.wasm".as_ref()).await.err().unwrap().to_string();
    assert!(missing.starts_with("cannot read /nonexistent/x.wasm"), "{missing}");
}

#[tokio::test]
async fn a_full_pool_answers_capacity_instead_of_queueing() {
    let config = RuntimeConfig {
        ceilings: weft_runtime::Ceilings { max_concurrent_instances: 2, ..Default::default() },
        ..Default::default()
    };
    let rt = Runtime::new(config).unwrap();
    let hostile = load(&rt, plugins::HOSTILE).await;
    let limits = Limits { timeout: Duration::from_millis(1500), ..Limits::default() };
    let sleepers: Vec<_> = (0..2)
        .map(|_| {
            let (hostile, limits) = (hostile.clone(), limits.clone());
            tokio::spawn(async move { invoke_limited(&hostile, &limits, "sleep", json!({ "secs": 3600 })).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let err = invoke_limited(&hostile, &limits, "ok", json!({})).await.unwrap_err();
    assert!(matches!(err, CallError::Capacity { .. }), "{err}");
    assert!(err.is_retryable());
    for s in sleepers {
        assert!(matches!(limit_of(s.await.unwrap()), LimitKind::Time { .. }));
    }
    // The slots are free again.
    assert_eq!(invoke_limited(&hostile, &limits, "ok", json!({})).await.unwrap(), json!({ "ok": true }));
}

#[tokio::test]
async fn a_transform_is_not_a_connector() {
    let rt = runtime();
    let identity = load(&rt, plugins::IDENTITY).await;
    let err = identity.invoke(&CallOptions::default(), "x", &json!({}), &ctx()).await.result.unwrap_err();
    assert_eq!(err.to_string(), r#"plugin "identity" is a transform and has no invoke("x")"#);
}

// ---- compile cache -------------------------------------------------------------------------

#[tokio::test]
async fn the_compile_cache_is_used_and_a_corrupt_entry_is_rebuilt() {
    use weft_runtime::cache::CacheOutcome;
    let dir = tempfile::tempdir().unwrap();
    let cached = || Runtime::new(RuntimeConfig { cache_dir: Some(dir.path().into()), ..Default::default() }).unwrap();
    let identity = |rt: Runtime| async move {
        let p = load(&rt, plugins::IDENTITY).await;
        let out = p.transform(&CallOptions::default(), &json!({ "x": 1 })).await.result.unwrap();
        assert_eq!(out, json!({ "x": 1 }));
        p.cache_outcome()
    };
    assert_eq!(identity(cached()).await, CacheOutcome::Compiled);
    assert_eq!(identity(cached()).await, CacheOutcome::Hit, "a new runtime (a restart) finds the entry");
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    assert_eq!(entries.len(), 1, "one compiled entry (beside its .sum)");
    let name = entries[0].file_name().unwrap().to_str().unwrap().to_string();
    let hash = load(&runtime(), plugins::IDENTITY).await.hash().to_string();
    assert!(name.starts_with(&format!("{hash}-")) && name.ends_with(".cwasm"), "{name}");

    // A flipped bit in the compiled code: detected by the checksum, rebuilt, still correct.
    let mut bytes = std::fs::read(&entries[0]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&entries[0], &bytes).unwrap();
    assert_eq!(identity(cached()).await, CacheOutcome::Rebuilt);
    assert_eq!(identity(cached()).await, CacheOutcome::Hit);
    // A torn write (truncated entry) and garbage: the same.
    let len = std::fs::metadata(&entries[0]).unwrap().len();
    std::fs::File::options().write(true).open(&entries[0]).unwrap().set_len(len / 3).unwrap();
    assert_eq!(identity(cached()).await, CacheOutcome::Rebuilt);
    std::fs::write(&entries[0], b"not a cache entry at all").unwrap();
    assert_eq!(identity(cached()).await, CacheOutcome::Rebuilt);
    assert_eq!(identity(cached()).await, CacheOutcome::Hit);
}

// ---- recording and replaying host I/O ------------------------------------------------------

#[tokio::test]
async fn a_recorded_call_replays_exactly_clocks_and_randomness_included() {
    use weft_core::io::IoMode;
    let rt = runtime();
    let probe = load(&rt, plugins::PROBE).await;
    let conn = connection("c", &[]);
    let call = |io: IoMode| {
        let (probe, conn) = (probe.clone(), conn.clone());
        async move {
            let opts = CallOptions { connection: Some(&conn), limits: None, io: Some(&io) };
            probe.invoke(&opts, "entropy", &json!({}), &ctx()).await
        }
    };
    let first = call(IoMode::Record { cap: 1 << 20 }).await;
    let recording = first.io.clone().expect("a recording");
    assert!(!recording.wall_clock.is_empty() && recording.random_seed.is_some(), "{recording:?}");
    let output = first.result.unwrap();
    // Another recorded call reads other random bytes and a later clock …
    let second = call(IoMode::Record { cap: 1 << 20 }).await.result.unwrap();
    assert_ne!(second["hash"], output["hash"]);
    tokio::time::sleep(Duration::from_millis(2)).await;
    // … a replay reads the recorded ones: the same output, and the same fuel.
    let replayed = call(IoMode::Replay(Arc::new(recording))).await;
    assert_eq!(replayed.result.unwrap(), output);
    assert_eq!(replayed.fuel_used, first.fuel_used);
    assert!(replayed.io.is_none(), "a replay records nothing");
}

#[tokio::test]
async fn recordings_are_capped_and_redacted() {
    use weft_core::io::IoMode;
    let app = TestApp::start().await;
    let rt = runtime();
    let probe = load(&rt, plugins::PROBE).await;
    let conn = Arc::new(Connection {
        id: "c".into(),
        hosts: Arc::new(vec![app.grant().parse().unwrap()]),
        secrets: [("token".to_string(), "tok-secret-123".to_string())].into_iter().collect(),
        ..Default::default()
    });
    let io = IoMode::Record { cap: 100 };
    let opts = CallOptions { connection: Some(&conn), limits: None, io: Some(&io) };
    let input = json!({ "url": app.url("/big?bytes=5000&t=tok-secret-123") });
    let outcome = probe.invoke(&opts, "fetch", &input, &ctx()).await;
    assert_eq!(outcome.result.unwrap()["status"], 200, "the call itself gets every byte");
    let recording = outcome.io.unwrap();
    let exchange = &recording.http[0];
    assert_eq!(exchange.request.url, app.url("/big?bytes=5000&t=[redacted]"));
    let body = exchange.response.as_ref().unwrap().body.to_bytes().unwrap();
    assert_eq!(body.len(), 100, "the cap is on bodies and values");
    assert!(recording.truncated);
    assert!(!serde_json::to_string(&recording).unwrap().contains("tok-secret-123"));
}

#[tokio::test]
async fn a_replayed_response_has_the_headers_and_body_the_plugin_saw() {
    use weft_core::io::IoMode;
    let app = TestApp::start().await;
    let rt = runtime();
    let http = load(&rt, plugins::HTTP).await;
    let conn = connection("c", &[&app.grant()]);
    let call = |io: IoMode, path: &str| {
        let (http, conn, url) = (http.clone(), conn.clone(), app.url(path));
        async move {
            let opts = CallOptions { connection: Some(&conn), limits: None, io: Some(&io) };
            http.invoke(&opts, "request", &json!({ "url": url }), &ctx()).await
        }
    };
    // The http connector answers the status, every header and the body.
    let recorded = call(IoMode::Record { cap: 1 << 20 }, "/json").await;
    let output = recorded.result.unwrap();
    assert!(output["headers"]["content-length"].is_string(), "{output}");
    let replayed = call(IoMode::Replay(Arc::new(recorded.io.unwrap())), "/json").await;
    assert_eq!(replayed.result.unwrap(), output);

    // A body cut at the recording's cap is replayed cut, without the length it no longer has.
    let recorded = call(IoMode::Record { cap: 10 }, "/big?bytes=100").await;
    let recording = recorded.io.unwrap();
    assert!(recording.truncated);
    let replayed = call(IoMode::Replay(Arc::new(recording)), "/big?bytes=100").await.result.unwrap();
    assert_eq!(replayed["body"].as_str().map(str::len), Some(10), "{replayed}");
    assert!(replayed["headers"].get("content-length").is_none(), "{replayed}");
}
