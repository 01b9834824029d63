//! Components written in other languages, built from `tests/polyglot/` with
//! `weft plugin build` by `cargo xtask polyglot` (which `cargo xtask test`
//! runs first): a JavaScript transform and connector built with
//! componentize-js, a Python transform and connector built with
//! componentize-py. They are 10–20 MB, which is what the compile cache is for.
//! The connectors run against a real json-server.

use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use weft_core::connection::Connection;
use weft_core::plugin::{CallContext, PluginError, PollingStrategy, TriggerKind};
use weft_runtime::cache::CacheOutcome;
use weft_runtime::{CallError, CallOptions, Plugin, Runtime, RuntimeConfig};
use weft_tests::json_server::JsonServer;
use weft_tests::weft::{Weft, workspace};

const EXE: &str = env!("CARGO_BIN_EXE_weft");

/// A built polyglot component (`contact_card.wasm`, `slugify.wasm`, `js_records.wasm`, `py_records.wasm`).
fn component(file: &str) -> PathBuf {
    let dir = std::env::var_os("WEFT_POLYGLOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/polyglot"));
    let path = dir.join(file);
    assert!(
        path.exists(),
        "{} is missing: build the polyglot components with `cargo xtask polyglot` (`cargo xtask test` does)",
        path.display()
    );
    path
}

/// Load `file` twice with one cache folder: compiled the first time, found in
/// the cache by the second runtime (a restart).
async fn load_twice(file: &str) -> (Plugin, tempfile::TempDir) {
    let cache = tempfile::tempdir().unwrap();
    let runtime =
        || Runtime::new(RuntimeConfig { cache_dir: Some(cache.path().into()), ..Default::default() }).unwrap();
    let first = runtime().load_file(&component(file)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.cache_outcome(), CacheOutcome::Compiled);
    let second = runtime().load_file(&component(file)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(second.cache_outcome(), CacheOutcome::Hit);
    (second, cache)
}

#[tokio::test]
async fn a_javascript_transform_runs() {
    let (card, _cache) = load_twice("contact_card.wasm").await;
    assert_eq!(card.name(), "contact-card", "a transform is named by its file");
    let outcome = card
        .transform(&CallOptions::default(), &json!({ "first": "Ada", "last": "Lovelace", "email": "ada@Example.org" }))
        .await;
    assert_eq!(
        outcome.result.unwrap(),
        json!({ "display": "Lovelace, Ada <ada@Example.org>", "domain": "example.org", "language": "javascript" })
    );
    assert_eq!(outcome.logs.len(), 1);
    assert_eq!(outcome.logs[0].message, "contact card for example.org");

    let err = card.transform(&CallOptions::default(), &json!({ "first": "Ada" })).await.result.unwrap_err();
    assert!(matches!(&err, CallError::Plugin { error: PluginError::InvalidInput { .. }, .. }), "{err}");
    assert!(
        err.to_string().ends_with("invalid input: the input needs a text field \"email\" holding an address"),
        "{err}"
    );
}

#[tokio::test]
async fn a_python_transform_runs() {
    let (slugify, _cache) = load_twice("slugify.wasm").await;
    let outcome = slugify.transform(&CallOptions::default(), &json!({ "title": "Hello, Wasm World!" })).await;
    assert_eq!(outcome.result.unwrap(), json!({ "slug": "hello-wasm-world", "words": 3, "language": "python" }));
    assert_eq!(outcome.logs[0].message, "slugified 3 words");

    let err = slugify.transform(&CallOptions::default(), &json!({ "title": 7 })).await.result.unwrap_err();
    assert!(matches!(&err, CallError::Plugin { error: PluginError::InvalidInput { .. }, .. }), "{err}");
    assert!(err.to_string().ends_with("invalid input: the input needs a text field \"title\""), "{err}");
}

/// Both uploaded to a real `weft serve` and chained in one flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_and_python_steps_run_in_one_flow() {
    let (_dir, data, plugin_dir) = workspace(&[]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    for file in ["contact_card.wasm", "slugify.wasm"] {
        let out = weft.cli(&["plugin", "install", component(file).to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let flow = json!({ "name": "polyglot", "trigger": "manual", "steps": [
        { "id": "card", "transform": "contact-card", "input": "{{ trigger }}" },
        { "id": "slug", "transform": "slugify", "input": { "title": "{{ steps.card.output.display }}" } },
    ] });
    weft.ok("POST", "/api/flows", Some(&flow)).await;
    let done = weft
        .ok(
            "POST",
            "/api/flows/polyglot/runs?wait=true",
            Some(&json!({ "first": "Grace", "last": "Hopper", "email": "grace@navy.mil" })),
        )
        .await;
    assert_eq!(done["run"]["status"], "succeeded", "{done:#}");
    assert_eq!(
        done["run"]["output"],
        json!({ "slug": "hopper-grace-grace-navy-mil", "words": 5, "language": "python" })
    );
}

/// A connector component loaded into a runtime whose key-value store lives as
/// long as it does. The compile cache outlives the run (as the CLI tests'
/// does), so a component compiles once until it is rebuilt; loads take turns,
/// so that concurrent tests find what the first one compiled.
async fn connector(file: &str) -> Plugin {
    static LOADING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("polyglot-compile-cache");
    let kv = Arc::new(weft_store::Db::temporary().unwrap());
    let runtime = Runtime::new(RuntimeConfig { cache_dir: Some(cache), kv: Some(kv), ..Default::default() }).unwrap();
    let _one_at_a_time = LOADING.lock().await;
    runtime.load_file(&component(file)).await.unwrap_or_else(|e| panic!("{e}"))
}

/// A connection to `server`: its `base_url`, and its host granted.
fn connection_to(server: &JsonServer) -> Arc<Connection> {
    Arc::new(
        serde_json::from_value(json!({
            "id": "polyglot",
            "settings": { "base_url": server.url() },
            "hosts": [server.grant()],
        }))
        .unwrap(),
    )
}

/// The same connector written in JavaScript and in Python: an HTTP action,
/// a polling trigger, key-value state and logs, against a real json-server.
async fn records_connector_works(file: &str, name: &str) {
    let server = JsonServer::start(&json!({
        "contacts": [{ "id": 1, "name": "Ada" }, { "id": 2, "name": "Bo" }]
    }))
    .await;
    let plugin = connector(file).await;
    assert_eq!(plugin.name(), name, "a connector is named by its manifest");
    let manifest = plugin.manifest().expect("a connector");
    assert_eq!(manifest.actions.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["get", "crash"]);
    let trigger = &manifest.triggers[0];
    assert_eq!(
        (trigger.name.as_str(), trigger.kind, trigger.polling),
        ("new_record", TriggerKind::Polling, Some(PollingStrategy::IncreasingId))
    );

    let connection = connection_to(&server);
    let opts = CallOptions { connection: Some(&connection), ..Default::default() };
    let ctx = CallContext { idempotency_key: "polyglot".into(), attempt: 1 };
    let get = |id: Value| {
        let (plugin, opts, ctx) = (&plugin, &opts, &ctx);
        async move { plugin.invoke(opts, "get", &json!({ "collection": "contacts", "id": id }), ctx).await }
    };

    // The action reads the API through wasi:http and counts its calls in kv.
    let first = get(json!(1)).await;
    assert_eq!(first.result.unwrap(), json!({ "record": { "id": 1, "name": "Ada" }, "calls": 1 }));
    assert_eq!(first.logs.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(), ["fetched contacts/1 (call 1)"]);
    let second = get(json!("2")).await;
    assert_eq!(second.result.unwrap(), json!({ "record": { "id": 2, "name": "Bo" }, "calls": 2 }), "kv kept the count");
    let missing = get(json!(99)).await.result.unwrap_err();
    assert!(matches!(&missing, CallError::Plugin { error: PluginError::InvalidInput { .. }, .. }), "{missing}");
    assert!(missing.to_string().contains("there is no record 99 in \"contacts\""), "{missing}");

    // Without a grant for the server, the host refuses the request.
    let ungranted = Arc::new(Connection { hosts: Arc::default(), ..(*connection).clone() });
    let refused = plugin
        .invoke(
            &CallOptions { connection: Some(&ungranted), ..Default::default() },
            "get",
            &json!({ "collection": "contacts", "id": 1 }),
            &ctx,
        )
        .await;
    assert!(!refused.http_refusals.is_empty(), "{:?}", refused.result);
    assert!(refused.result.is_err());

    // The trigger: everything on the first poll, then only what is new.
    let config = json!({ "collection": "contacts" });
    let polled = plugin.poll(&opts, "new_record", &config, None).await;
    let response = polled.result.unwrap();
    assert_eq!(response.events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["1", "2"]);
    assert_eq!(response.events[1].payload, json!({ "id": 2, "name": "Bo" }));
    assert_eq!(response.next_cursor.as_deref(), Some("2"));
    assert_eq!(polled.logs[0].message, "polled 2 new records from contacts");
    server.add("contacts", &json!({ "name": "Cy" })).await;
    let response = plugin.poll(&opts, "new_record", &config, Some("2")).await.result.unwrap();
    assert_eq!(response.events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["3"]);
    assert_eq!(response.events[0].payload["name"], "Cy");
    assert_eq!(response.next_cursor.as_deref(), Some("3"));
    let response = plugin.poll(&opts, "new_record", &config, Some("3")).await.result.unwrap();
    assert!(response.events.is_empty());
    assert_eq!(response.next_cursor.as_deref(), Some("3"), "the cursor stays when nothing is new");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_javascript_connector_runs_against_a_real_api() {
    records_connector_works("js_records.wasm", "js-records").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_connector_runs_against_a_real_api() {
    records_connector_works("py_records.wasm", "py-records").await;
}

/// A JavaScript `Error` and a Python exception nobody catches trap the call;
/// the error says what the plugin printed: the error's message, the traceback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncaught_errors_show_the_plugins_message() {
    let ctx = CallContext { idempotency_key: "polyglot".into(), attempt: 1 };
    let crash = |plugin: Plugin| {
        let ctx = ctx.clone();
        async move { plugin.invoke(&CallOptions::default(), "crash", &json!({}), &ctx).await.result.unwrap_err() }
    };

    let js = crash(connector("js_records.wasm").await).await;
    assert!(matches!(js, CallError::Trap { .. }), "{js}");
    let text = js.to_string();
    assert!(text.contains("the plugin printed:"), "{text}");
    assert!(text.contains("Error: the crash action always fails"), "the Error's message: {text}");

    let py = crash(connector("py_records.wasm").await).await;
    assert!(matches!(py, CallError::Trap { .. }), "{py}");
    let text = py.to_string();
    assert!(text.contains("Traceback (most recent call last):"), "{text}");
    assert!(text.contains("in check_ledger"), "the frames: {text}");
    assert!(text.contains("TypeError: unsupported operand type(s) for +: 'int' and 'NoneType'"), "{text}");
}

/// The Python connector here uses the HTTP helper `weft plugin new` gives every Python connector:
/// a copy (componentize-py does not follow a symlinked module), kept the same.
#[test]
fn the_python_connector_uses_the_templates_http_helper() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let template = std::fs::read_to_string(root.join("host/cli/templates/python/connector/weft_http.py")).unwrap();
    let copy = std::fs::read_to_string(root.join("tests/polyglot/python/records/weft_http.py")).unwrap();
    assert!(template == copy, "tests/polyglot/python/records/weft_http.py differs from the template's: copy it again");
}
