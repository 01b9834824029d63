//! `weft serve` as a user meets it: a real process on 127.0.0.1, real wasm
//! plugins, a real sled data directory, and a fake SaaS app (records, hook
//! registration, signed webhooks) for the `saas` test connector to talk to.

use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use weft_tests::http::request;
use weft_tests::plugins;
use weft_tests::saas::{Hook, SaasApp, sign};
use weft_tests::weft::{Weft, workspace};

const EXE: &str = env!("CARGO_BIN_EXE_weft");
const SIGNING: &str = "whsec-test-signing-secret";

/// The fake SaaS app, and a `weft serve` with the `saas` connector, `other` and a connection `app` to it.
async fn saas_and_weft(api_key: &str, other: &str, args: &[&str]) -> (SaasApp, tempfile::TempDir, Weft) {
    let app = SaasApp::start(api_key).await;
    let (dir, data, plugin_dir) = workspace(&[plugins::SAAS, other]);
    let weft = Weft::start(EXE, &data, &plugin_dir, args);
    connect(&weft, &app).await;
    (app, dir, weft)
}

async fn connect(weft: &Weft, app: &SaasApp) {
    let connection = json!({
        "plugin": "saas",
        "settings": { "base_url": app.url() },
        "secrets": { "api_key": app.api_key, "signing_secret": SIGNING },
        "hosts": [app.addr.to_string()],
    });
    weft.ok("PUT", "/api/connections/app", Some(&connection)).await;
}

fn webhook_flow(name: &str, trigger: &str, extra: Value) -> Value {
    let mut trigger = json!({ "connector": "saas", "trigger": trigger, "connection": "app" });
    for (k, v) in extra.as_object().unwrap() {
        trigger[k] = v.clone();
    }
    json!({
        "name": name,
        "trigger": { "webhook": trigger },
        "steps": [{ "id": "shape", "transform": "identity",
                    "input": { "kind": "{{ trigger.event }}", "name": "{{ trigger.record.name }}" } }],
    })
}

async fn post_signed(url: &str, body: &Value) -> weft_tests::http::Reply {
    let bytes = body.to_string().into_bytes();
    let signature = sign(SIGNING, &bytes);
    request("POST", url, &[("x-saas-signature", &signature), ("content-type", "application/json")], bytes).await
}

async fn runs_of(weft: &Weft, flow: &str) -> Vec<Value> {
    let mut runs = weft.ok("GET", &format!("/api/runs?flow={flow}&limit=1000"), None).await.as_array().unwrap().clone();
    runs.reverse(); // oldest first
    runs
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_flows_subscribe_verify_answer_and_unsubscribe() {
    let (app, _dir, weft) = saas_and_weft("sk-app-key-1", plugins::IDENTITY, &[]).await;

    let created = weft
        .api("POST", "/api/flows", Some(&webhook_flow("hooked", "record_event", json!({ "events": ["created"] }))))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert!(app.hooks().is_empty(), "nothing is subscribed before activation");

    // Activation subscribes the flow's URL with the events it asked for.
    let status = weft.ok("POST", "/api/flows/hooked/activate", None).await;
    let url = status["webhook_url"].as_str().unwrap().to_string();
    let token = url.rsplit('/').next().unwrap();
    assert_eq!(token.len(), 32, "128 random bits in hex: {url}");
    assert_eq!(status["manual_subscription"], false);
    assert_eq!(app.hooks(), [Hook { id: 1, url: url.clone(), events: vec!["created".into()] }]);

    // A signed event is persisted, acknowledged with its run id, and runs.
    let event = json!({ "event": "created", "record": { "id": 7, "name": "Ada" } });
    let reply = post_signed(&url, &event).await;
    assert_eq!(reply.status, 202, "{}", reply.text());
    let run_id = reply.json()["runs"][0].as_str().unwrap().to_string();
    let done = weft.finished(&run_id).await;
    assert_eq!(done["run"]["status"], "succeeded");
    assert_eq!(done["run"]["output"], json!({ "kind": "created", "name": "Ada" }));
    assert_eq!(done["run"]["trigger"], event);

    // Several events in one request: one run each, in order.
    let batch = json!({ "events": [
        { "event": "created", "record": { "id": 8, "name": "Bo" } },
        { "event": "created", "record": { "id": 9, "name": "Cy" } },
    ] });
    let reply = post_signed(&format!("{url}/extra/path?x=1"), &batch).await;
    assert_eq!(reply.status, 202, "{}", reply.text());
    assert_eq!(reply.json()["runs"].as_array().unwrap().len(), 2);

    // Bad or missing signatures are refused and start nothing.
    let body = event.to_string();
    let forged =
        request("POST", &url, &[("x-saas-signature", &sign("wrong-secret", body.as_bytes()))], body.clone()).await;
    assert_eq!(forged.status, 401);
    assert_eq!(forged.json()["error"], "x-saas-signature does not match the body");
    let unsigned = request("POST", &url, &[], body).await;
    assert_eq!((unsigned.status, unsigned.json()["error"].as_str()), (401, Some("missing x-saas-signature header")));
    // A body that is not JSON: 400 saying why.
    let garbage = request("POST", &url, &[], "{not json").await;
    assert_eq!(garbage.status, 400);
    assert!(
        garbage.json()["error"].as_str().unwrap().starts_with("the body is not JSON: key must be a string"),
        "{}",
        garbage.text()
    );
    assert_eq!(runs_of(&weft, "hooked").await.len(), 3, "refused requests started no run");

    // A handshake is answered by the connector itself.
    let challenge = request("POST", &url, &[], json!({ "challenge": "c-42" }).to_string()).await;
    assert_eq!((challenge.status, challenge.json()), (200, json!({ "challenge": "c-42" })));

    // Bodies over the limit (1 MiB by default) are refused before any plugin runs.
    let huge = request("POST", &url, &[], vec![b' '; 2 << 20]).await;
    assert_eq!(huge.status, 413);

    // Unknown tokens: 404.
    let unknown = request("POST", &weft.url("/hooks/00000000000000000000000000000000"), &[], "{}").await;
    assert_eq!(unknown.status, 404);

    // A sync flow answers with its result.
    weft.ok("POST", "/api/flows", Some(&webhook_flow("hooked-sync", "inbox", json!({ "sync": true })))).await;
    let status = weft.ok("POST", "/api/flows/hooked-sync/activate", None).await;
    let sync_url = status["webhook_url"].as_str().unwrap().to_string();
    let reply = post_signed(&sync_url, &json!({ "event": "created", "record": { "id": 1, "name": "Di" } })).await;
    assert_eq!((reply.status, reply.json()), (200, json!({ "kind": "created", "name": "Di" })), "{}", reply.text());
    assert!(reply.header("x-weft-runs").is_some());

    // A trigger without a subscription API: the user pastes the URL by hand.
    assert_eq!(status["manual_subscription"], true);
    assert_eq!(app.hooks().len(), 1, "the inbox trigger registered nothing");
    let out = weft.cli(&["hooks", "url", "hooked-sync"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), sync_url);

    // Deactivation unsubscribes and the URL stops working; activation again re-subscribes the same URL.
    weft.ok("POST", "/api/flows/hooked/deactivate", None).await;
    assert!(app.hooks().is_empty());
    assert_eq!(post_signed(&url, &event).await.status, 404);
    let out = weft.cli(&["flow", "activate", "hooked"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&url));
    assert_eq!(app.hooks().iter().map(|h| h.url.as_str()).collect::<Vec<_>>(), [url.as_str()]);

    // Deleting the flow unsubscribes too; its runs stay.
    weft.ok("DELETE", "/api/flows/hooked", None).await;
    assert!(app.hooks().is_empty());
    assert_eq!(weft.api("GET", "/api/flows/hooked", None).await.status, 404);
    assert_eq!(post_signed(&url, &event).await.status, 404);
    assert_eq!(runs_of(&weft, "hooked").await.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn subscriptions_are_rechecked_at_restart() {
    let (app, _dir, mut weft) = saas_and_weft("sk-app-key-2", plugins::IDENTITY, &[]).await;
    weft.ok("POST", "/api/flows", Some(&webhook_flow("hooked", "record_event", json!({})))).await;
    let url = weft.ok("POST", "/api/flows/hooked/activate", None).await["webhook_url"].as_str().unwrap().to_string();
    let first = app.hooks();
    assert_eq!(first[0].events, ["created", "updated", "deleted"], "all of the trigger's events by default");

    // Same URL after a restart: the subscription is kept as it is.
    weft.restart(&[]);
    weft.wait_for_log("subscriptions re-checked (1 active flows, 0 problems)", 1);
    assert_eq!(app.hooks(), first);

    // weft now reachable under another public URL: the old hook goes, a new one comes.
    let port = weft.addr.rsplit(':').next().unwrap().to_string();
    weft.restart(&["--public-url", &format!("http://localhost:{port}")]);
    weft.wait_for_log("subscriptions re-checked (1 active flows, 0 problems)", 2);
    let hooks = app.hooks();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_ne!(hooks[0].id, first[0].id, "{}", weft.stderr());
    let token = url.rsplit('/').next().unwrap();
    assert_eq!(hooks[0].url, format!("http://localhost:{port}/hooks/{token}"), "the token is kept");

    // A flow update that changes the events re-subscribes.
    weft.ok(
        "PUT",
        "/api/flows/hooked",
        Some(&webhook_flow("hooked", "record_event", json!({ "events": ["deleted"] }))),
    )
    .await;
    assert_eq!(app.hooks().iter().map(|h| h.events.clone()).collect::<Vec<_>>(), [vec!["deleted".to_string()]]);

    // An active flow changed from webhook to polling: the hook it had is removed with what made it.
    weft.ok("PUT", "/api/flows/hooked", Some(&polling_flow("hooked", "new_record", "1h", "v1"))).await;
    assert!(app.hooks().is_empty(), "{:?}", app.hooks());

    // An application that refuses the subscription: activation fails and says why.
    weft.ok("PUT", "/api/connections/app", Some(&json!({ "plugin": "saas", "secrets": { "api_key": "revoked" } })))
        .await;
    weft.ok("POST", "/api/flows", Some(&webhook_flow("refused", "record_event", json!({})))).await;
    let refused = weft.api("POST", "/api/flows/refused/activate", None).await;
    assert_eq!(refused.status, 502);
    let message = refused.json()["error"].as_str().unwrap().to_string();
    assert!(
        message.contains("subscribing the webhook URL with \"saas\" failed") && message.contains("401"),
        "{message}"
    );
    assert_eq!(weft.ok("GET", "/api/flows/refused", None).await["trigger"]["active"], false);

    // With a polling trigger to fall back on, the flow polls instead, and its URL does not listen.
    weft.ok("PUT", "/api/connections/app", Some(&json!({ "plugin": "saas", "secrets": { "api_key": app.api_key } })))
        .await;
    weft.ok(
        "POST",
        "/api/flows",
        Some(&webhook_flow("inboxed", "inbox", json!({ "fallback_poll": "new_record", "interval": "1h" }))),
    )
    .await;
    let status = weft.ok("POST", "/api/flows/inboxed/activate", None).await;
    assert_eq!(
        (status["polling_fallback"].as_bool(), status["manual_subscription"].as_bool()),
        (Some(true), Some(false))
    );
    weft.ok("POST", "/api/flows/inboxed/poll", None).await; // seeds
    let id = app.add("after the fallback");
    let polled = weft.ok("POST", "/api/flows/inboxed/poll", None).await;
    assert_eq!(polled["runs"].as_array().unwrap().len(), 1, "{polled}");
    let run = weft.ok("GET", &format!("/api/runs/{}", polled["runs"][0].as_str().unwrap()), None).await;
    assert_eq!(run["run"]["trigger"]["id"], id);
    let hook_url = status["webhook_url"].as_str().unwrap();
    assert_eq!(post_signed(hook_url, &json!({ "event": "created", "record": { "id": 1 } })).await.status, 404);
    let bad = weft
        .api("POST", "/api/flows", Some(&webhook_flow("bad", "inbox", json!({ "fallback_poll": "record_event" }))))
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.text()
            .contains("trigger.fallback_poll: trigger \\\"record_event\\\" of \\\"saas\\\" is not a polling trigger"),
        "{}",
        bad.text()
    );
}

/// What the three polling flows must have emitted, in order.
#[derive(Default)]
struct Expected {
    ids: Vec<Value>,
    times: Vec<Value>,
    all: Vec<Value>,
}

fn polling_flow(name: &str, trigger: &str, interval: &str, marker: &str) -> Value {
    json!({
        "name": name,
        "trigger": { "polling": { "connector": "saas", "trigger": trigger, "connection": "app", "interval": interval } },
        "steps": [{ "id": "keep", "transform": "identity", "input": { "record": "{{ trigger }}", "marker": marker } }],
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn polling_emits_each_record_once_across_restarts_and_flow_updates() {
    let (app, _dir, mut weft) = saas_and_weft("sk-app-key-3", plugins::IDENTITY, &[]).await;
    // Records that exist before activation are never emitted: the first poll only seeds.
    let old: Vec<u64> = (0..3).map(|i| app.add(&format!("old{i}"))).collect();
    let flows = [("ids", "new_record"), ("times", "updated_record"), ("all", "any_record")];
    for (name, trigger) in flows {
        weft.ok("POST", "/api/flows", Some(&polling_flow(name, trigger, "1h", "v1"))).await;
        weft.ok("POST", &format!("/api/flows/{name}/activate"), None).await;
        weft.ok("POST", &format!("/api/flows/{name}/poll"), None).await;
    }
    let record = |id: u64| app.records().into_iter().find(|r| r["id"] == id).unwrap();

    let mut expected = Expected::default();
    let mut live: Vec<u64> = old.clone();
    for round in 0..20 {
        let a = app.add(&format!("r{round}a"));
        let b = app.add(&format!("r{round}b"));
        let changed = live[round % live.len()];
        app.update(changed, &format!("r{round}-changed"));
        live.extend([a, b]);
        for id in [a, b] {
            expected.ids.push(record(id));
            expected.all.push(record(id));
        }
        // The timestamp strategy emits in modified order: a, b, then the update.
        expected.times.extend([record(a), record(b), record(changed)]);
        if round % 4 == 1 {
            let gone = live.remove(0);
            app.delete(gone);
        }
        if round == 10 {
            // A new version of a flow keeps its cursor.
            let saved = weft.ok("PUT", "/api/flows/ids", Some(&polling_flow("ids", "new_record", "1h", "v2"))).await;
            assert_eq!(saved["version"], 2);
        }
        // Half the restarts are SIGKILLs.
        if round % 2 == 0 {
            weft.kill();
        }
        weft.restart(&[]);
        for (name, _) in flows {
            weft.ok("POST", &format!("/api/flows/{name}/poll"), None).await;
        }
    }

    for (name, want) in [("ids", &expected.ids), ("times", &expected.times), ("all", &expected.all)] {
        let got: Vec<Value> = runs_of(&weft, name).await.into_iter().map(|r| r["trigger"].clone()).collect();
        assert_eq!(got.len(), want.len(), "{name}: {got:#?}");
        assert_eq!(&got, want, "{name}: each record once, in order");
    }
    let versions: Vec<u64> = runs_of(&weft, "ids").await.iter().map(|r| r["version"].as_u64().unwrap()).collect();
    assert!(versions.contains(&1) && versions.contains(&2));

    // Polls also happen on their own, at the flow's interval.
    weft.ok("PUT", "/api/flows/all", Some(&polling_flow("all", "any_record", "1s", "v2"))).await;
    let id = app.add("automatic");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let runs = runs_of(&weft, "all").await;
        if runs.last().is_some_and(|r| r["trigger"]["id"] == id) {
            assert_eq!(runs.len(), expected.all.len() + 1);
            break;
        }
        assert!(Instant::now() < deadline, "no automatic poll picked up record {id}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = weft.ok("GET", "/api/flows/all", None).await;
    assert!(status["trigger"]["next_ms"].as_u64().is_some(), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_api_needs_the_token_and_documents_itself() {
    let (_dir, data, plugin_dir) = workspace(&[plugins::IDENTITY]);
    // No token configured: the first start makes one and shows it once.
    let mut weft = Weft::start_with(EXE, &data, &plugin_dir, &[], &[]);
    let token = weft.token.clone();
    assert!(token.starts_with("weft_") && token.len() == 69, "{token}");
    weft.restart(&[]);
    assert_eq!(weft.stderr().matches("admin token (shown once").count(), 1, "shown once");
    assert_eq!(weft.token, token);

    let get = |auth: Option<String>, path: &str| {
        let url = weft.url(path);
        async move {
            let headers: Vec<(&str, &str)> = auth.as_deref().map(|a| ("authorization", a)).into_iter().collect();
            request("GET", &url, &headers, Vec::new()).await
        }
    };
    let none = get(None, "/api/flows").await;
    assert_eq!(none.status, 401);
    assert_eq!(none.header("www-authenticate"), Some("Bearer realm=\"weft\""));
    assert!(none.json()["error"].as_str().unwrap().contains("Authorization: Bearer"));
    let wrong = get(Some("Bearer weft_0000".into()), "/api/flows").await;
    assert_eq!((wrong.status, wrong.json()["error"].as_str()), (401, Some("the admin token is not valid")));
    assert_eq!(get(Some(format!("Bearer {token}")), "/api/flows").await.status, 200);
    assert_eq!(get(None, "/healthz").await.status, 200);
    assert_eq!(get(None, "/metrics").await.status, 401);
    let metrics = get(Some(format!("Bearer {token}")), "/metrics").await;
    assert!(metrics.text().contains("# TYPE weft_runs_created_total counter"), "{}", metrics.text());

    // Every documented operation exists and refuses requests without the token.
    let doc = get(None, "/api/openapi.json").await.json();
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            if method == "parameters" || op.get("security").is_some_and(|s| s == &json!([])) {
                continue;
            }
            let concrete = path.replace("{name}", "nothing").replace("{id}", "nothing").replace("{version}", "1");
            let url = weft.url(&concrete);
            let method = method.to_uppercase();
            let anonymous = request(&method, &url, &[], Vec::new()).await;
            assert_eq!(anonymous.status, 401, "{method} {path} without a token");
            if path == "/api/events" {
                // An endless stream (tests/ui.rs reads it).
                checked += 1;
                continue;
            }
            let auth = format!("Bearer {token}");
            let authorized = request(&method, &url, &[("authorization", &auth)], Vec::new()).await;
            let missing_route = authorized.status == 405 || (authorized.status == 404 && authorized.body.is_empty());
            assert!(!missing_route, "{method} {path} is documented but not served ({})", authorized.status);
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked}");
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_never_reach_disk_logs_or_the_api() {
    let app = SaasApp::start("sk-live-SECRET-api-key-4242").await;
    let (_dir, data, plugin_dir) = workspace(&[plugins::SAAS, plugins::IDENTITY]);
    let mut weft = Weft::start_with(
        EXE,
        &data,
        &plugin_dir,
        &[],
        &[("WEFT_ADMIN_TOKEN", weft_tests::weft::TOKEN), ("WEFT_LOG", "debug")],
    );
    connect(&weft, &app).await;
    let shown = weft.ok("GET", "/api/connections/app", None).await;
    assert_eq!(shown["secrets"], json!(["api_key", "signing_secret"]));
    weft.ok("POST", "/api/flows", Some(&webhook_flow("hooked", "record_event", json!({})))).await;
    let url = weft.ok("POST", "/api/flows/hooked/activate", None).await["webhook_url"].as_str().unwrap().to_string();
    let reply = post_signed(&url, &json!({ "event": "created", "record": { "id": 1, "name": "Ada" } })).await;
    let run = reply.json()["runs"][0].as_str().unwrap().to_string();
    let done = weft.finished(&run).await;
    weft.ok("POST", "/api/flows/hooked/deactivate", None).await;
    let listed = weft.api("GET", "/api/connections", None).await.text();
    weft.stop();

    for secret in [app.api_key.as_str(), SIGNING] {
        assert!(!listed.contains(secret) && !done.to_string().contains(secret), "{secret} in an API answer");
        assert!(!weft.stderr().contains(secret), "{secret} in the log");
        for file in weft_tests::files_under(&data) {
            let bytes = std::fs::read(&file).unwrap();
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{secret} in {}", file.display());
        }
    }
    assert!(weft.stderr().contains("DEBUG"), "the log was on at debug level");
    let token = url.rsplit('/').next().unwrap();
    assert!(weft.stderr().contains("path=/hooks/"), "requests are traced:\n{}", weft.stderr());
    assert!(!weft.stderr().contains(token), "the webhook token (a credential) is not logged");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_queue_answers_429_with_retry_after() {
    let (_app, _dir, weft) =
        saas_and_weft("sk-app-key-5", plugins::HOSTILE, &["--workers", "1", "--max-backlog", "2"]).await;
    weft.ok("PUT", "/api/connections/slow", Some(&json!({ "plugin": "hostile" }))).await;
    let flow = json!({
        "name": "slow",
        "trigger": { "webhook": { "connector": "saas", "trigger": "inbox", "connection": "app" } },
        "steps": [{ "id": "wait", "action": "hostile.sleep", "connection": "slow", "input": { "secs": 2 } }],
    });
    weft.ok("POST", "/api/flows", Some(&flow)).await;
    let url = weft.ok("POST", "/api/flows/slow/activate", None).await["webhook_url"].as_str().unwrap().to_string();
    let event = json!({ "event": "created", "record": { "id": 1 } });
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let reply = post_signed(&url, &event).await;
        if reply.status == 429 {
            assert_eq!(reply.header("retry-after"), Some("1"));
        }
        statuses.push(reply.status);
    }
    assert_eq!(statuses, [202, 202, 429, 429]);
    assert_eq!(runs_of(&weft, "slow").await.len(), 2, "a refused event left no run behind");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_flows_apply_and_the_webhook_example_runs() {
    let crm = weft_tests::app::TestApp::start().await;
    let db =
        weft_tests::json_server::JsonServer::start(&json!({ "contacts": [], "orders": [], "shipments": [] })).await;
    let github = weft_tests::github::FakeGithub::start("ghp_examples", &["acme/widgets"]).await;
    let slack = weft_tests::slack::FakeSlack::start().await;
    let (_dir, data, plugin_dir) = workspace(&[
        plugins::HTTP,
        plugins::CLEAN_CONTACT,
        plugins::RECORDS,
        plugins::JQ,
        plugins::GITHUB,
        plugins::SLACK,
        plugins::TEMPLATE,
    ]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    let connections = [
        ("crm", json!({ "plugin": "http", "settings": { "base_url": crm.url("/echo") }, "hosts": [crm.grant()] })),
        ("inbox", json!({ "plugin": "http", "secrets": { "signing_secret": SIGNING } })),
        ("crm-records", json!({ "plugin": "records", "settings": { "base_url": db.url() }, "hosts": [db.grant()] })),
        (
            "github",
            json!({ "plugin": "github", "settings": { "base_url": github.url() }, "hosts": [github.addr.to_string()],
                    "secrets": { "token": "ghp_examples", "webhook_secret": "s" } }),
        ),
        (
            "slack",
            json!({ "plugin": "slack", "hosts": [slack.addr.to_string()],
                    "secrets": { "webhook_url": slack.webhook_url(weft_tests::slack::HOOK_PATH) } }),
        ),
    ];
    for (id, connection) in connections {
        weft.ok("PUT", &format!("/api/connections/{id}"), Some(&connection)).await;
    }
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut files: Vec<_> = std::fs::read_dir(&examples).unwrap().flatten().map(|e| e.path()).collect();
    files.sort();
    let mut args = vec!["flow".to_string(), "apply".into(), "--activate".into()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let out = weft.cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    // The manual example cannot be activated; the others can.
    assert!(stdout.contains("flow incoming-contact is active (webhook trigger)"), "{stdout}");
    assert!(stdout.contains("flow crm-heartbeat is active (schedule trigger)"), "{stdout}");
    assert!(stdout.contains("flow new-contact-to-lead is active (polling trigger)"), "{stdout}");
    assert!(stdout.contains("flow orders-every-minute is active (polling trigger)"), "{stdout}");
    assert!(stdout.contains("flow github-issue-to-slack is active (webhook trigger)"), "{stdout}");
    assert_eq!(github.hooks("acme/widgets").len(), 1, "the GitHub example registered its hook");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("activating contact-sync: flow \"contact-sync\" has a manual trigger")
    );

    let url = weft.ok("GET", "/api/flows/incoming-contact/hook", None).await["url"].as_str().unwrap().to_string();
    let contact = json!({ "name": " Ada Lovelace ", "email": " ADA@Example.COM " });
    let unsigned = request("POST", &url, &[], contact.to_string()).await;
    assert_eq!(unsigned.status, 401, "the inbox has a signing secret");
    let bytes = contact.to_string().into_bytes();
    let signature = sign(SIGNING, &bytes);
    let reply = request("POST", &url, &[("x-weft-signature", &signature)], bytes).await;
    assert_eq!(reply.status, 202, "{}", reply.text());
    let done = weft.finished(reply.json()["runs"][0].as_str().unwrap()).await;
    assert_eq!(done["run"]["status"], "succeeded", "{done}");
    let sent = &done["run"]["output"]["body"];
    assert_eq!(sent["uri"], "/echo/contacts");
    assert_eq!(sent["body"]["email"], "ada@example.com");
}

#[tokio::test(flavor = "multi_thread")]
async fn plugins_connections_and_runs_are_managed_through_the_api() {
    let (_dir, data, plugin_dir) = workspace(&[]);
    let mut weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    let auth = format!("Bearer {}", weft.token);
    let upload = |path: &'static str, bytes: Vec<u8>| {
        let (url, auth) = (weft.url(path), auth.clone());
        async move { request("POST", &url, &[("authorization", &auth)], bytes).await }
    };
    assert_eq!(weft.ok("GET", "/api/plugins", None).await, json!({ "plugins": [], "problems": [] }));
    let garbage = upload("/api/plugins?name=junk", b"definitely not wasm".to_vec()).await;
    assert_eq!(garbage.status, 400);
    assert!(garbage.json()["error"].as_str().unwrap().contains("not a WebAssembly file"), "{}", garbage.text());
    let installed = upload("/api/plugins?name=identity", std::fs::read(plugins::IDENTITY).unwrap()).await;
    assert_eq!(installed.status, 201, "{}", installed.text());
    assert_eq!(
        (installed.json()["name"].as_str(), installed.json()["world"].as_str()),
        (Some("identity"), Some("transform"))
    );
    assert!(plugin_dir.join("identity.wasm").exists());
    let out = weft.cli(&["plugin", "install", plugins::SAAS]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.starts_with("installed saas 1.0.0+") && said.ends_with(" (connector)\n"),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let described = weft.ok("GET", "/api/plugins/saas", None).await;
    assert_eq!(described["manifest"]["triggers"].as_array().unwrap().len(), 5);

    // A flow that needs the transform: removing it is refused unless forced.
    let flow = json!({ "name": "napper", "trigger": "manual", "steps": [
        { "id": "nap", "delay": "1h" }, { "id": "keep", "transform": "identity", "input": "{{ trigger }}" } ] });
    weft.ok("POST", "/api/flows", Some(&flow)).await;
    let refused = weft.api("DELETE", "/api/plugins/identity", None).await;
    assert_eq!(refused.status, 409);
    assert!(refused.json()["error"].as_str().unwrap().contains("used by flows [\"napper\"]"), "{}", refused.text());
    let listed = String::from_utf8_lossy(&weft.cli(&["plugin", "list"]).stdout).into_owned();
    assert!(listed.contains("identity") && listed.contains("used by: [napper]"), "{listed}");

    // Cancel: a waiting run ends at once; cancelling again is a conflict.
    let started = weft.ok("POST", "/api/flows/napper/runs", Some(&json!({ "n": 1 }))).await;
    let id = started["run"]["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    while weft.ok("GET", &format!("/api/runs/{id}"), None).await["run"]["status"] != "waiting" {
        assert!(Instant::now() < deadline, "the run never reached its delay");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let out = weft.cli(&["runs", "cancel", &id]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("run {id} cancelled\n"));
    assert_eq!(weft.api("POST", &format!("/api/runs/{id}/cancel"), None).await.status, 409);

    // A flow whose plugin was removed starts no runs, and says why; it validates
    // and runs again once the plugin is back.
    weft.ok("DELETE", "/api/plugins/identity?force=true", None).await;
    assert!(!plugin_dir.join("identity.wasm").exists());
    let quick = json!({ "name": "quick", "trigger": "manual", "steps": [{ "id": "keep", "transform": "identity", "input": "{{ trigger }}" }] });
    let unknown = weft.api("POST", "/api/flows", Some(&quick)).await;
    assert_eq!(unknown.status, 422, "validated against the installed plugins");
    upload("/api/plugins?name=identity", std::fs::read(plugins::IDENTITY).unwrap()).await;
    weft.ok("POST", "/api/flows", Some(&quick)).await;
    weft.ok("DELETE", "/api/plugins/identity?force=true", None).await;
    let refused = weft.api("POST", "/api/flows/quick/runs?wait=true", Some(&json!({ "x": 1 }))).await;
    assert_eq!(refused.status, 409);
    assert!(
        refused.json()["error"].as_str().unwrap().contains("plugin \"identity\" is not installed"),
        "{}",
        refused.text()
    );
    let listed = weft.ok("GET", "/api/flows", None).await;
    let quick_row = listed.as_array().unwrap().iter().find(|f| f["name"] == "quick").unwrap().clone();
    assert_eq!(quick_row["plugins_missing"], json!(["identity"]));
    assert_eq!(weft.ok("GET", "/api/flows/quick", None).await["trigger"]["plugins_missing"], json!(["identity"]));
    upload("/api/plugins?name=identity", std::fs::read(plugins::IDENTITY).unwrap()).await;
    let ran = weft.ok("POST", "/api/flows/quick/runs?wait=true", Some(&json!({ "x": 1 }))).await;
    assert_eq!(ran["run"]["status"], "succeeded");

    // Re-run takes the plugins installed now: a transform that failed is
    // replaced by a fixed version, and the re-run succeeds on it.
    upload("/api/plugins?name=shape", std::fs::read(plugins::CLEAN_CONTACT).unwrap()).await;
    let shaped = json!({ "name": "shaped", "trigger": "manual", "steps": [{ "id": "shape", "transform": "shape", "input": "{{ trigger }}" }] });
    weft.ok("POST", "/api/flows", Some(&shaped)).await;
    let failed = weft.ok("POST", "/api/flows/shaped/runs?wait=true", Some(&json!({ "x": 1 }))).await;
    assert_eq!(failed["run"]["status"], "failed");
    assert!(failed["run"]["error"].as_str().unwrap().contains("no valid `email`"), "{failed}");
    let fixed = upload("/api/plugins?name=shape", std::fs::read(plugins::IDENTITY).unwrap()).await;
    assert_eq!(fixed.status, 201, "{}", fixed.text());
    let versions = fixed.json()["versions"].as_array().unwrap().clone();
    assert_eq!(versions.len(), 2, "both versions are kept: {versions:?}");
    assert_eq!((versions[0]["current"].as_bool(), versions[1]["current"].as_bool()), (Some(false), Some(true)));
    assert_eq!(versions[1]["flows"], json!(["shaped"]), "new runs of the flow take the new version");
    let rerun = weft.ok("POST", &format!("/api/runs/{}/rerun", failed["run"]["id"].as_str().unwrap()), None).await;
    let done = weft.finished(rerun["run"]["id"].as_str().unwrap()).await;
    assert_eq!((done["run"]["status"].as_str(), &done["run"]["output"]), (Some("succeeded"), &json!({ "x": 1 })));
    assert_eq!(done["run"]["rerun_of"], failed["run"]["id"]);
    assert_eq!(done["run"]["plugins"]["shape"], versions[1]["hash"]);
    assert_eq!(failed["run"]["plugins"]["shape"], versions[0]["hash"]);

    // Connections: create, list without secret values, delete.
    weft.ok("PUT", "/api/connections/acct", Some(&json!({ "plugin": "saas", "secrets": { "api_key": "k-1" } }))).await;
    let bad =
        weft.api("PUT", "/api/connections/acct", Some(&json!({ "plugin": "saas", "hosts": ["http://x/"] }))).await;
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("without scheme or path"), "{}", bad.text());
    let typo = weft.api("PUT", "/api/connections/acct", Some(&json!({ "plugin": "saas", "secret": {} }))).await;
    assert!(
        typo.json()["error"].as_str().unwrap().starts_with("invalid JSON body: secret: unknown field `secret`"),
        "{}",
        typo.text()
    );
    weft.ok("DELETE", "/api/connections/acct", None).await;
    assert_eq!(weft.api("GET", "/api/connections/acct", None).await.status, 404);

    // Installed plugins survive a restart; removed ones stay removed.
    weft.restart(&[]);
    let names: Vec<String> = weft.ok("GET", "/api/plugins", None).await["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["identity", "saas", "shape"]);
}
