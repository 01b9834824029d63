//! Property tests (proptest, stable Rust) that throw random and mutated input
//! at weft's parsers: the flow format and its validator, the expression
//! language, webhook ingress on a real `weft serve`, and component loading.
//! The properties: no panic, no hang, a clear error for what is refused, and
//! for ingress, a server that stays healthy with every acknowledged event run.
//!
//! `cargo xtask test` runs them bounded (the case counts below). For a longer
//! hunt: `PROPTEST_CASES=20000 cargo test -p weft --test fuzz --release`.
//! A failure prints the minimal input proptest shrank it to, and saves its
//! seed in `host/cli/tests/fuzz.proptest-regressions` to be replayed first.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use weft_core::catalog::Catalog;
use weft_core::model::FlowDef;
use weft_core::plugin::{ActionSpec, Manifest, PollingStrategy, TriggerKind, TriggerSpec};
use weft_flow::expr::{Expr, ExprValue, Mapping};
use weft_flow::validate;
use weft_runtime::{CallOptions, Runtime, RuntimeConfig};
use weft_tests::http::{request, try_request};
use weft_tests::plugins;
use weft_tests::weft::{Weft, workspace};

const EXE: &str = env!("CARGO_BIN_EXE_weft");

/// Cases per property unless `PROPTEST_CASES` says otherwise.
fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(cases);
    Config { cases, failure_persistence: None, ..Config::default() }
}

/// A generous bound that turns a hang into a failure naming its input.
const HANG: Duration = Duration::from_secs(10);

struct FuzzCatalog;

impl Catalog for FuzzCatalog {
    fn connector(&self, name: &str, _version: Option<&str>) -> Option<Manifest> {
        (name == "http").then(|| Manifest {
            name: "http".into(),
            version: "0.1.0".into(),
            description: String::new(),
            triggers: vec![
                TriggerSpec {
                    name: "new-item".into(),
                    description: String::new(),
                    kind: TriggerKind::Polling,
                    polling: Some(PollingStrategy::IncreasingId),
                    events: vec![],
                    config_schema: json!({ "type": "object" }),
                    output_schema: json!({}),
                },
                TriggerSpec {
                    name: "incoming".into(),
                    description: String::new(),
                    kind: TriggerKind::Webhook,
                    polling: None,
                    events: vec!["created".into()],
                    config_schema: json!({ "type": "object" }),
                    output_schema: json!({}),
                },
            ],
            actions: vec![ActionSpec {
                name: "request".into(),
                description: String::new(),
                input_schema: json!({ "type": "object", "required": ["url"], "properties": { "url": { "type": "string" } } }),
                output_schema: json!({}),
            }],
            settings: vec![],
            hosts: vec![],
            oauth2: None,
        })
    }
    fn has_transform(&self, name: &str, _version: Option<&str>) -> bool {
        name == "t"
    }
    fn connection_connector(&self, id: &str) -> Option<String> {
        (id == "crm").then(|| "http".into())
    }
}

/// Pieces expressions are made of, valid and not.
const FRAGMENTS: &[&str] = &[
    "trigger",
    "trigger.x",
    "steps.a.output",
    "steps.b.output.y",
    "steps.zz.output",
    "item",
    "index",
    "loop.index",
    "range(10)",
    "range(99999999)",
    "[1, 2]",
    "{'k': 1}",
    "'text'",
    "1",
    "-",
    "+",
    "*",
    "/",
    "~",
    "|",
    "length",
    "default(0)",
    "==",
    "and",
    "not",
    "(",
    ")",
    "[",
    "]",
    ".",
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    " ",
    "if",
    "else",
    "for x in",
    "endfor",
    "raw",
    "endraw",
    "\\",
    "\"",
    "'",
    "\u{0}",
    "é",
    "steps",
    "namespace()",
    "x.__class__",
];

fn expression() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(FRAGMENTS), 0..12).prop_map(|parts| parts.join(" ")),
        prop::collection::vec(prop::sample::select(FRAGMENTS), 0..12).prop_map(|parts| parts.concat()),
        ".{0,40}",
    ]
}

/// A JSON value whose strings are often expressions.
fn mapping() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        expression().prop_map(|e| json!(format!("{{{{ {e} }}}}"))),
        expression().prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn step_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(&["a", "b", "c", "d", "x_1"][..]).prop_map(|s| json!(s)),
        "[A-Za-z0-9_-]{0,6}".prop_map(|s| json!(s)),
        Just(json!(7)),
    ]
}

/// A step tree: every kind weft has, plus nonsense, nested.
fn steps() -> impl Strategy<Value = Value> {
    let duration = prop_oneof![Just("10s"), Just("2h 30m"), Just("soon"), Just(""), Just("-1s"), Just("99999999999h")];
    let leaf = prop_oneof![
        (step_id(), mapping(), prop::sample::select(&["http.request", "http@0.1.0.request", "nope.x", "http", ""][..]))
            .prop_map(|(id, input, action)| json!({ "id": id, "action": action, "connection": "crm", "input": input })),
        (step_id(), mapping(), prop::sample::select(&["t", "t@abc", "missing"][..]))
            .prop_map(|(id, input, t)| json!({ "id": id, "transform": t, "input": input })),
        (step_id(), duration).prop_map(|(id, d)| json!({ "id": id, "delay": d })),
        (step_id(), expression()).prop_map(|(id, e)| json!({ "id": id, "delay_until": e })),
        (step_id(), mapping())
            .prop_map(|(id, m)| json!({ "id": id, "retry": m, "on_error": "continue", "transform": "t" })),
    ];
    let leaf = prop::collection::vec(leaf, 0..4).prop_map(Value::Array);
    leaf.prop_recursive(3, 32, 3, |inner| {
        prop_oneof![
            (step_id(), expression(), inner.clone(), inner.clone())
                .prop_map(|(id, e, t, f)| json!([{ "id": id, "if": e, "then": t, "else": f }])),
            (step_id(), expression(), inner.clone())
                .prop_map(|(id, e, body)| json!([{ "id": id, "for_each": e, "steps": body, "concurrency": 2 }])),
            (step_id(), expression(), inner.clone(), inner.clone())
                .prop_map(|(id, e, a, d)| json!([{ "id": id, "switch": e, "cases": { "x": a }, "default": d }])),
            (inner.clone(), inner).prop_map(|(a, b)| {
                let mut all = a.as_array().cloned().unwrap_or_default();
                all.extend(b.as_array().cloned().unwrap_or_default());
                Value::Array(all)
            }),
        ]
    })
}

fn trigger() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("manual")),
        Just(json!("sometimes")),
        mapping().prop_map(|c| json!({ "polling": { "connector": "http", "trigger": "new-item", "connection": "crm", "config": c, "interval": "30s" } })),
        Just(json!({ "webhook": { "connector": "http", "trigger": "incoming", "connection": "crm", "events": ["created", "nope"] } })),
        expression().prop_map(|c| json!({ "schedule": { "cron": c, "timezone": "Mars/Olympus" } })),
        Just(json!({ "schedule": { "cron": "*/5 * * * *", "timezone": "Europe/Oslo" } })),
    ]
}

fn check_flow_text(text: &str) -> Result<(), TestCaseError> {
    let started = Instant::now();
    match FlowDef::parse(text) {
        Err(message) => prop_assert!(!message.is_empty()),
        Ok(def) => {
            if let Err(invalid) = validate(def, &FuzzCatalog) {
                prop_assert!(!invalid.problems.is_empty(), "an invalid flow names its problems");
                for problem in &invalid.problems {
                    prop_assert!(!problem.message.is_empty(), "a problem says what is wrong: {problem:?}");
                }
            }
        }
    }
    prop_assert!(started.elapsed() < HANG, "took {:?}", started.elapsed());
    Ok(())
}

#[test]
fn random_flows_are_parsed_and_validated_without_panicking() {
    let strategy = (prop::sample::select(&["f", "flow-1", "", "BAD NAME", "é"][..]), trigger(), steps())
        .prop_map(|(name, trigger, steps)| json!({ "name": name, "trigger": trigger, "steps": steps }));
    TestRunner::new(config(400))
        .run(&strategy, |flow| {
            check_flow_text(&flow.to_string())?;
            check_flow_text(&serde_yaml_ng::to_string(&flow).unwrap())
        })
        .unwrap();
}

#[test]
fn mutated_example_flows_never_panic_the_parser() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let texts: Vec<String> =
        std::fs::read_dir(&examples).unwrap().flatten().map(|e| std::fs::read_to_string(e.path()).unwrap()).collect();
    let strategy =
        (prop::sample::select(texts), prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8));
    TestRunner::new(config(400))
        .run(&strategy, |(text, edits)| {
            let mut bytes = text.into_bytes();
            const INSERTS: &[u8] = b"{}[]:-|'\"\n #&*!%@`";
            for (at, byte) in edits {
                if bytes.is_empty() {
                    break;
                }
                let i = at.index(bytes.len());
                match byte % 3 {
                    0 => bytes[i] = byte,
                    1 => {
                        bytes.remove(i);
                    }
                    _ => bytes.insert(i, INSERTS[byte as usize % INSERTS.len()]),
                }
            }
            check_flow_text(&String::from_utf8_lossy(&bytes))
        })
        .unwrap();
}

#[test]
fn expressions_never_panic_or_hang() {
    let scope = ExprValue::from_json(&json!({
        "trigger": { "x": 1, "list": [1, 2, 3], "name": "Ada" },
        "steps": { "a": { "output": { "y": [1, { "z": null }] } }, "b": { "output": "text" } },
        "item": { "k": "v" },
        "index": 3,
    }));
    TestRunner::new(config(2000))
        .run(&expression(), |source| {
            let started = Instant::now();
            if let Ok(expr) = Expr::compile(&source) {
                let _ = expr.eval(&scope);
                let _ = expr.is_true(&scope);
                let _ = expr.references();
            }
            for text in [source.clone(), format!("{{{{ {source} }}}}"), format!("a {{{{ {source} }}}} b")] {
                match Mapping::compile(&Value::String(text)) {
                    Ok(mapping) => {
                        if let Err(e) = mapping.render(&scope) {
                            prop_assert!(!e.error.to_string().is_empty());
                        }
                    }
                    Err(e) => prop_assert!(!e.error.to_string().is_empty()),
                }
            }
            prop_assert!(started.elapsed() < HANG, "{source:?} took {:?}", started.elapsed());
            Ok(())
        })
        .unwrap();
}

fn tokio() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap())
}

#[test]
fn random_bytes_and_mutated_components_are_refused_or_run_never_panic() {
    let runtime = Runtime::new(RuntimeConfig::default()).expect("runtime");
    let valid = std::fs::read(plugins::IDENTITY).unwrap();
    let strategy = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..2048),
        prop::collection::vec(any::<u8>(), 0..2048).prop_map(|rest| [b"\0asm\x0d\0\x01\0".as_slice(), &rest].concat()),
        (any::<prop::sample::Index>()).prop_map({
            let valid = valid.clone();
            move |at| valid[..at.index(valid.len())].to_vec()
        }),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6).prop_map({
            let valid = valid.clone();
            move |flips| {
                let mut bytes = valid.clone();
                for (at, byte) in flips {
                    let i = at.index(bytes.len());
                    bytes[i] ^= byte | 1;
                }
                bytes
            }
        }),
    ];
    TestRunner::new(config(48))
        .run(&strategy, |bytes| {
            let started = Instant::now();
            match tokio().block_on(runtime.load("fuzz.wasm", "fuzz", &bytes)) {
                Err(e) => prop_assert!(!e.to_string().is_empty()),
                // A flip that still loads must still be contained when called.
                Ok(plugin) => {
                    let _ = tokio().block_on(plugin.transform(&CallOptions::default(), &json!({ "x": 1 }))).result;
                }
            }
            prop_assert!(started.elapsed() < HANG, "took {:?}", started.elapsed());
            Ok(())
        })
        .unwrap();
}

#[test]
fn webhook_ingress_survives_random_requests_and_runs_every_acknowledged_event() {
    let (_dir, data, plugin_dir) = workspace(&[plugins::HTTP, plugins::IDENTITY]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    let (url, sync_url) = tokio().block_on(async {
        weft.ok("PUT", "/api/connections/inbox", Some(&json!({ "plugin": "http" }))).await;
        let mut urls = Vec::new();
        for (name, sync) in [("hook", false), ("hook-sync", true)] {
            let flow = json!({
                "name": name,
                "trigger": { "webhook": { "connector": "http", "trigger": "incoming", "connection": "inbox", "sync": sync } },
                "steps": [{ "id": "echo", "transform": "identity", "input": "{{ trigger }}" }],
            });
            weft.ok("POST", "/api/flows", Some(&flow)).await;
            let status = weft.ok("POST", &format!("/api/flows/{name}/activate"), None).await;
            urls.push(status["webhook_url"].as_str().unwrap().to_string());
        }
        (urls[0].clone(), urls[1].clone())
    });
    let base = weft.url("");
    let header = ("[a-z][a-z0-9-]{0,12}", "[ -~]{0,40}");
    let body = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        mapping().prop_map(|v| v.to_string().into_bytes()),
        mapping().prop_map(|v| json!([v, v]).to_string().into_bytes()),
    ];
    let target = prop_oneof![
        Just(url.clone()),
        Just(sync_url.clone()),
        "[a-zA-Z0-9/._%~-]{0,40}".prop_map(move |p| format!("{url}/{p}")),
        "[a-zA-Z0-9/._%~-]{0,60}".prop_map(move |p| format!("{base}/hooks/{p}")),
    ];
    let method = prop::sample::select(&["POST", "POST", "POST", "GET", "PUT", "DELETE", "PATCH", "OPTIONS"][..]);
    let strategy = (method, target, prop::collection::vec(header, 0..4), body);
    let acknowledged = std::cell::RefCell::new(Vec::new());
    TestRunner::new(config(300))
        .run(&strategy, |(method, url, headers, body)| {
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let reply = tokio().block_on(try_request(method, &url, &headers, body.clone()));
            let reply = reply.map_err(|e| TestCaseError::fail(format!("the server did not answer: {e}")))?;
            prop_assert!(
                matches!(reply.status, 200 | 202 | 400 | 401 | 404 | 405 | 413 | 415 | 429),
                "{method} {url} → {} {}",
                reply.status,
                reply.text()
            );
            if reply.status >= 400 {
                let error: Value = serde_json::from_slice(&reply.body).unwrap_or_default();
                prop_assert!(
                    error["error"].as_str().is_some_and(|e| !e.is_empty()),
                    "errors say why: {}",
                    reply.text()
                );
            }
            if reply.status == 202 {
                for id in reply.json()["runs"].as_array().cloned().unwrap_or_default() {
                    acknowledged.borrow_mut().push(id.as_str().unwrap().to_string());
                }
            }
            Ok(())
        })
        .unwrap();
    tokio().block_on(async {
        // Garbage that is not HTTP at all.
        for junk in [
            &b"\x16\x03\x01\x02\x00\x01"[..],
            b"GET / HTTP/9.9\r\n\r\n",
            b"POST /hooks/x HTTP/1.1\r\ncontent-length: -1\r\n\r\n",
        ] {
            let addr = weft.url("").trim_start_matches("http://").to_string();
            if let Ok(mut stream) = tokio::net::TcpStream::connect(&addr).await {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let _ = stream.write_all(junk).await;
                let mut sink = Vec::new();
                let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut sink)).await;
            }
        }
        assert_eq!(request("GET", &weft.url("/healthz"), &[], Vec::new()).await.status, 200, "still healthy");
        // Every acknowledged event has a run, and every run ends.
        let acknowledged_ids = acknowledged.borrow().clone();
        for id in &acknowledged_ids {
            let done = weft.finished(id).await;
            assert!(matches!(done["run"]["status"].as_str(), Some("succeeded" | "failed")), "{done}");
        }
    });
    assert!(!acknowledged.borrow().is_empty(), "some random requests were valid events");
}

/// What the ingress fuzzer found, kept as plain cases: a percent-encoded token
/// that is not UTF-8 once decoded got axum's plain-text 400, and unknown paths
/// and methods an empty body; every error is `{"error"}` now.
#[test]
fn errors_from_the_router_itself_are_json_too() {
    let (_dir, data, plugin_dir) = workspace(&[plugins::IDENTITY]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    tokio().block_on(async {
        let token = ("authorization", "Bearer wrong");
        for (method, path, status) in [
            ("POST", "/hooks/%aA", 404),
            ("POST", "/hooks/", 404),
            ("GET", "/nowhere", 404),
            ("DELETE", "/healthz", 405),
        ] {
            let reply = request(method, &weft.url(path), &[token], Vec::new()).await;
            assert_eq!(reply.status, status, "{method} {path}: {}", reply.text());
            assert!(reply.json()["error"].as_str().is_some_and(|e| !e.is_empty()), "{method} {path}: {}", reply.text());
        }
        // Headers are capped (hyper's 400 KiB buffer): 431, and the server goes on.
        let huge = "x".repeat(512 * 1024);
        let reply = try_request("POST", &weft.url("/hooks/abc"), &[("x-huge", huge.as_str())], Vec::new()).await;
        assert!(reply.as_ref().map_or(true, |r| r.status == 431), "{:?}", reply.map(|r| r.status));
        assert_eq!(request("GET", &weft.url("/healthz"), &[], Vec::new()).await.status, 200);
        let reply = weft.api("GET", "/api/flows/%ff", None).await;
        assert_eq!(reply.status, 400, "{}", reply.text());
        assert!(reply.json()["error"].as_str().unwrap().contains("UTF-8"), "{}", reply.text());
        let reply = weft.api("GET", "/api/runs?limit=many", None).await;
        assert_eq!(reply.status, 400, "{}", reply.text());
        assert!(reply.json()["error"].as_str().unwrap().contains("limit"), "{}", reply.text());
    });
}
