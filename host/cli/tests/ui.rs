//! The web UI as its users meet it: what `weft serve` gives a browser (the
//! session cookie, CSRF, the security headers, the live event stream, the
//! statistics and flow versions the pages read), and the app itself driven
//! in headless Chromium through WebDriver against a real `weft serve` with
//! real plugins.

use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use weft_tests::browser::Browser;
use weft_tests::http::request;
use weft_tests::plugins;
use weft_tests::weft::{TOKEN, Weft, workspace};

const EXE: &str = env!("CARGO_BIN_EXE_weft");

/// The example flow with a transform and an action: the browser's main subject.
fn contact_sync() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/contact-sync.yaml")).unwrap()
}

/// A weft with the clean-contact transform and the http connector, the
/// `crm` connection to a real records API (json-server), and the
/// contact-sync example flow.
async fn weft_with_contact_sync() -> (weft_tests::json_server::JsonServer, tempfile::TempDir, Weft) {
    let crm = weft_tests::json_server::JsonServer::start(&json!({ "contacts": [] })).await;
    let (dir, data, plugin_dir) = workspace(&[plugins::HTTP, plugins::CLEAN_CONTACT, plugins::IDENTITY]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    let connection = json!({ "plugin": "http", "settings": { "base_url": crm.url() }, "hosts": [crm.grant()] });
    weft.ok("PUT", "/api/connections/crm", Some(&connection)).await;
    let reply =
        request("POST", &weft.url("/api/flows"), &[("authorization", &format!("Bearer {TOKEN}"))], contact_sync())
            .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    (crm, dir, weft)
}

/// The `weft_session` cookie a sign-in set, as `name=value`.
fn session_cookie(reply: &weft_tests::http::Reply) -> String {
    let set = reply.header("set-cookie").unwrap_or_else(|| panic!("no cookie: {}", reply.text()));
    set.split(';').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_cookie_replaces_the_token_and_changes_need_the_csrf_token() {
    let (_crm, _dir, weft) = weft_with_contact_sync().await;
    let sign_in = |token: &str| {
        let url = weft.url("/api/session");
        let body = json!({ "token": token }).to_string();
        async move { request("POST", &url, &[("content-type", "application/json")], body).await }
    };
    let wrong = sign_in("not-the-token").await;
    assert_eq!((wrong.status, wrong.json()["error"].as_str()), (401, Some("the admin token is not valid")));
    assert_eq!(wrong.header("set-cookie"), None);
    let malformed = request("POST", &weft.url("/api/session"), &[], "{\"tok\": 1}").await;
    assert_eq!(malformed.status, 400);
    assert!(malformed.json()["error"].as_str().unwrap().contains("unknown field `tok`"), "{}", malformed.text());

    let reply = sign_in(TOKEN).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let set = reply.header("set-cookie").unwrap().to_string();
    for part in ["weft_session=", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(part), "{set} lacks {part}");
    }
    assert!(!set.contains("Secure"), "plain http: a Secure cookie would never come back");
    assert!(!set.contains(TOKEN) && !reply.text().contains(TOKEN), "the token is not handed back");
    let csrf = reply.json()["csrf"].as_str().unwrap().to_string();
    let cookie = session_cookie(&reply);

    // Reads need only the cookie; the page gets its CSRF token back after a reload.
    let flows = request("GET", &weft.url("/api/flows"), &[("cookie", &cookie)], Vec::new()).await;
    assert_eq!(flows.status, 200, "{}", flows.text());
    let again = request("GET", &weft.url("/api/session"), &[("cookie", &cookie)], Vec::new()).await;
    assert_eq!(again.json()["csrf"], json!(csrf));
    assert_eq!(request("GET", &weft.url("/api/session"), &[], Vec::new()).await.status, 401);
    let forged = request("GET", &weft.url("/api/flows"), &[("cookie", "weft_session=0123")], Vec::new()).await;
    assert_eq!(forged.status, 401);

    // Changes need the CSRF token too; nothing happens without it.
    let start = |headers: Vec<(&'static str, String)>| {
        let url = weft.url("/api/flows/contact-sync/runs");
        async move {
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            request("POST", &url, &headers, "{}").await
        }
    };
    let refused = start(vec![("cookie", cookie.clone())]).await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert!(refused.json()["error"].as_str().unwrap().contains("X-Weft-Csrf"));
    let wrong_csrf = start(vec![("cookie", cookie.clone()), ("x-weft-csrf", "0".repeat(64))]).await;
    assert_eq!(wrong_csrf.status, 403);
    assert_eq!(weft.ok("GET", "/api/runs", None).await, json!([]), "no run was started");
    let accepted = start(vec![("cookie", cookie.clone()), ("x-weft-csrf", csrf.clone())]).await;
    assert_eq!(accepted.status, 202, "{}", accepted.text());
    // The CLI's bearer token needs no CSRF token.
    assert_eq!(weft.api("POST", "/api/flows/contact-sync/runs", Some(&json!({}))).await.status, 202);

    // Signing out needs the CSRF token, ends the session and clears the cookie.
    let out = request("DELETE", &weft.url("/api/session"), &[("cookie", &cookie)], Vec::new()).await;
    assert_eq!(out.status, 403);
    let out =
        request("DELETE", &weft.url("/api/session"), &[("cookie", &cookie), ("x-weft-csrf", &csrf)], Vec::new()).await;
    assert_eq!(out.status, 200, "{}", out.text());
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(request("GET", &weft.url("/api/flows"), &[("cookie", &cookie)], Vec::new()).await.status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_and_api_answers_carry_a_strict_content_security_policy() {
    let (_crm, _dir, weft) = weft_with_contact_sync().await;
    for path in ["/", "/runs/0123", "/api/flows", "/api/session"] {
        let reply = request("GET", &weft.url(path), &[("authorization", &format!("Bearer {TOKEN}"))], Vec::new()).await;
        let csp = reply.header("content-security-policy").unwrap_or_else(|| panic!("{path}: no CSP"));
        for directive in ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{path}: {csp}");
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"), "{path}");
    }
    // The app's page routes in the browser: any page path gets index.html,
    // which loads only files from this origin and no inline script.
    let page = request("GET", &weft.url("/runs/0123"), &[], Vec::new()).await;
    if page.header("content-type").is_some_and(|t| t.starts_with("text/html")) {
        let html = page.text();
        assert!(html.contains("<div id=\"root\">"), "{html}");
        assert!(!html.contains("<script>") && !html.contains("<script type=\"module\">"), "no inline script: {html}");
        let script = html.split("src=\"").nth(1).unwrap().split('"').next().unwrap();
        let asset = request("GET", &weft.url(script), &[("accept-encoding", "gzip")], Vec::new()).await;
        assert_eq!(asset.status, 200);
        assert_eq!(asset.header("content-encoding"), Some("gzip"));
        assert!(asset.header("cache-control").unwrap().contains("immutable"));
        assert!(asset.header("content-type").unwrap().contains("javascript"));
        assert_eq!(request("GET", &weft.url("/assets/nothing.js"), &[], Vec::new()).await.status, 404);
    } else {
        // A weft built without the UI says how to build it.
        assert!(request("GET", &weft.url("/"), &[], Vec::new()).await.text().contains("cargo xtask ui"));
    }
    // API paths that do not exist stay JSON errors, not the app's page.
    let missing =
        request("GET", &weft.url("/api/nothing"), &[("authorization", &format!("Bearer {TOKEN}"))], Vec::new()).await;
    assert_eq!(missing.status, 404);
    assert!(missing.json()["error"].is_string());
}

/// Read server-sent events from `url` (with `cookie`) until `done` says so; every event seen.
async fn read_events(url: &str, cookie: &str, done: impl Fn(&[(String, Value)]) -> bool) -> Vec<(String, Value)> {
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let head =
        format!("GET {path} HTTP/1.1\r\nhost: {authority}\r\ncookie: {cookie}\r\naccept: text/event-stream\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut lines = BufReader::new(stream).lines();
    let mut events = Vec::new();
    let mut name = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done(&events) {
        let line = tokio::time::timeout_at(deadline.into(), lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("no more events; saw {events:?}"))
            .unwrap()
            .expect("the stream stays open");
        if let Some(n) = line.strip_prefix("event: ") {
            name = n.to_string();
        } else if let Some(data) = line.strip_prefix("data: ") {
            events.push((name.clone(), serde_json::from_str(data).unwrap()));
        }
    }
    events
}

#[tokio::test(flavor = "multi_thread")]
async fn the_event_stream_tells_run_and_step_changes_as_they_happen() {
    let (_crm, _dir, weft) = weft_with_contact_sync().await;
    let reply = request("POST", &weft.url("/api/session"), &[], json!({ "token": TOKEN }).to_string()).await;
    let cookie = session_cookie(&reply);
    assert_eq!(
        request("GET", &weft.url("/api/events"), &[], Vec::new()).await.status,
        401,
        "the stream needs a session"
    );

    let url = weft.url("/api/events");
    let watcher = tokio::spawn(async move {
        read_events(&url, &cookie, |events| events.iter().any(|(name, e)| name == "run" && e["status"] == "succeeded"))
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let run = weft
        .ok("POST", "/api/flows/contact-sync/runs", Some(&json!({ "name": "Ada", "email": "ada@example.com" })))
        .await;
    let id = run["run"]["id"].as_str().unwrap().to_string();
    let events = tokio::time::timeout(Duration::from_secs(30), watcher).await.unwrap().unwrap();
    let seen: Vec<String> = events
        .iter()
        .map(|(name, e)| match name.as_str() {
            "run" => {
                assert_eq!((e["id"].as_str(), e["flow"].as_str()), (Some(id.as_str()), Some("contact-sync")));
                format!("run {}", e["status"].as_str().unwrap())
            }
            _ => {
                assert_eq!(e["run"].as_str(), Some(id.as_str()));
                format!("{} {}", e["path"].as_str().unwrap(), e["status"].as_str().unwrap())
            }
        })
        .collect();
    assert_eq!(seen.first().map(String::as_str), Some("run queued"), "{seen:?}");
    assert_eq!(seen.get(1).map(String::as_str), Some("run running"), "{seen:?}");
    for expected in ["clean succeeded", "create running", "create succeeded", "check.then.done succeeded"] {
        assert!(seen.iter().any(|s| s == expected), "{expected} in {seen:?}");
    }
    assert_eq!(seen.last().map(String::as_str), Some("run succeeded"), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn flow_versions_yaml_statistics_and_runs_by_time_are_served() {
    let (_crm, _dir, weft) = weft_with_contact_sync().await;
    // A second version: the description changed.
    let v2 = contact_sync().replace("Tidy a new contact", "Tidy every new contact");
    let reply =
        request("PUT", &weft.url("/api/flows/contact-sync"), &[("authorization", &format!("Bearer {TOKEN}"))], v2)
            .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let versions = weft.ok("GET", "/api/flows/contact-sync/versions", None).await;
    let numbers: Vec<u64> = versions.as_array().unwrap().iter().map(|v| v["version"].as_u64().unwrap()).collect();
    assert_eq!(numbers, [2, 1], "newest first");
    let first = weft.ok("GET", "/api/flows/contact-sync/versions/1", None).await;
    let yaml = first["yaml"].as_str().unwrap();
    assert!(yaml.contains("Tidy a new contact") && yaml.contains("transform: clean-contact"), "{yaml}");
    assert_eq!(weft.api("GET", "/api/flows/contact-sync/versions/9", None).await.status, 404);
    // The YAML of the current version applies back to the same flow, unchanged.
    let current = weft.ok("GET", "/api/flows/contact-sync", None).await;
    let yaml = current["yaml"].as_str().unwrap().to_string();
    let reapplied =
        request("PUT", &weft.url("/api/flows/contact-sync"), &[("authorization", &format!("Bearer {TOKEN}"))], yaml)
            .await;
    assert_eq!(reapplied.json()["changed"], json!(false), "{}", reapplied.text());

    // Two runs that succeed, one that fails.
    let mut ids = Vec::new();
    for input in [
        json!({ "name": "Ada Lovelace", "email": "a@example.com" }),
        json!({ "name": "Alan Turing", "email": "b@example.com" }),
        json!({ "name": "No Email" }),
    ] {
        let run = weft.ok("POST", "/api/flows/contact-sync/runs", Some(&input)).await;
        let id = run["run"]["id"].as_str().unwrap().to_string();
        let done = weft.finished(&id).await;
        let expected = if input.get("email").is_some() { "succeeded" } else { "failed" };
        assert_eq!(done["run"]["status"], expected, "{done}");
        ids.push(id);
    }
    let stats = weft.ok("GET", "/api/stats", None).await;
    let flow = &stats["flows"]["contact-sync"];
    assert_eq!((flow["runs_24h"].as_u64(), flow["failed_24h"].as_u64()), (Some(3), Some(1)), "{stats}");
    assert_eq!(flow["last_run"]["id"], json!(ids[2]), "{stats}");
    assert_eq!(flow["last_run"]["status"], "failed");
    let minutes = stats["minutes"].as_array().unwrap();
    assert_eq!(minutes.len(), 60);
    let total: u64 = minutes.iter().map(|m| m["succeeded"].as_u64().unwrap() + m["failed"].as_u64().unwrap()).sum();
    assert_eq!(total, 3, "{stats}");
    assert!(minutes.windows(2).all(|w| w[1]["t"].as_u64() == w[0]["t"].as_u64().map(|t| t + 60_000)));
    assert_eq!(stats["backlog"], 0);
    // A run that has not ended is its flow's last run.
    let later = json!({ "name": "later", "trigger": "manual", "steps": [ { "id": "pause", "delay": "1h" } ] });
    weft.ok("POST", "/api/flows", Some(&later)).await;
    let waiting = weft.ok("POST", "/api/flows/later/runs", Some(&json!({}))).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = weft.ok("GET", "/api/stats", None).await;
        let last = &stats["flows"]["later"]["last_run"];
        if last["status"] == "waiting" {
            assert_eq!(last["id"], waiting["run"]["id"]);
            assert_eq!(stats["flows"]["later"]["runs_24h"], 0, "not ended: not counted");
            break;
        }
        assert!(Instant::now() < deadline, "{stats}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Runs by time: a page before the newest, and none from the future.
    let all = weft.ok("GET", "/api/runs?flow=contact-sync", None).await;
    let listed: Vec<&str> = all.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [ids[2].as_str(), ids[1].as_str(), ids[0].as_str()]);
    let newest_ms = all[0]["created_ms"].as_u64().unwrap();
    let older = weft.ok("GET", &format!("/api/runs?before_ms={newest_ms}"), None).await;
    assert!(older.as_array().unwrap().iter().all(|r| r["created_ms"].as_u64().unwrap() < newest_ms), "{older}");
    let future = weft.ok("GET", &format!("/api/runs?since_ms={}", newest_ms + 60_000), None).await;
    assert_eq!(future, json!([]));
    let bad = weft.api("GET", "/api/runs?since_ms=yesterday", None).await;
    assert_eq!(bad.status, 400, "{}", bad.text());
}

// ---- the app in a real browser ---------------------------------------------------------------------

/// The assertions a user makes with their eyes, in order: sign in, find the
/// failed run and why, fix it and watch it succeed, switch a flow off,
/// install plugins, add a connection, and never have plugin output run as script.
#[tokio::test(flavor = "multi_thread")]
async fn the_web_ui_in_headless_chromium() {
    let (_crm, dir, weft) = weft_with_contact_sync().await;
    // A schedule flow to switch off, and runs to look at.
    let nightly = json!({
        "name": "nightly", "trigger": { "schedule": { "cron": "0 3 * * *" } },
        "steps": [ { "id": "tidy", "transform": "clean-contact", "input": { "email": "ops@example.com" } } ]
    });
    weft.ok("POST", "/api/flows", Some(&nightly)).await;
    weft.ok("POST", "/api/flows/nightly/activate", None).await;
    let good = weft
        .ok("POST", "/api/flows/contact-sync/runs", Some(&json!({ "name": "Ada", "email": "ada@example.com" })))
        .await;
    weft.finished(good["run"]["id"].as_str().unwrap()).await;
    let bad = weft.ok("POST", "/api/flows/contact-sync/runs", Some(&json!({ "name": "Grace Hopper" }))).await;
    let failed = bad["run"]["id"].as_str().unwrap().to_string();
    assert_eq!(weft.finished(&failed).await["run"]["status"], "failed");

    let browser = Browser::start().await;
    let started = Instant::now();
    let b = &browser;

    // Sign in: a wrong token is refused with weft's reason; the right one opens the app.
    b.client.goto(&weft.url("/")).await.unwrap();
    b.type_into("[data-testid=token]", "wrong-token").await;
    b.click("[data-testid=sign-in]").await;
    b.text_until("[data-testid=sign-in-error]", |t| t.contains("not valid")).await;
    b.type_into("[data-testid=token]", TOKEN).await;
    b.click("[data-testid=sign-in]").await;
    b.click("a[href='/flows']").await;
    b.find("[data-testid=flow-row-contact-sync]").await;
    b.find("[data-testid=flow-row-nightly]").await;
    b.screenshot("flows").await;
    // The token is in no browser storage; the session cookie is HttpOnly.
    let storage =
        b.script("return JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie").await;
    assert!(!storage.as_str().unwrap().contains(TOKEN), "{storage}");
    let cookies = b.client.get_all_cookies().await.unwrap();
    let session = cookies.iter().find(|c| c.name() == "weft_session").expect("a session cookie");
    assert_eq!(session.http_only(), Some(true));
    assert_eq!(format!("{:?}", session.same_site()), "Some(Strict)");

    // Switch the schedule off from its row.
    b.click("[data-testid=toggle-nightly]").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while weft.ok("GET", "/api/flows/nightly", None).await["trigger"]["active"] != json!(false) {
        assert!(Instant::now() < deadline, "the toggle did not deactivate the flow");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The failed run, and why it failed.
    b.click("a[href='/runs']").await;
    b.find(&format!("[data-testid=run-row-{failed}]")).await;
    b.text_until(&format!("[data-testid=run-status-{failed}]"), |t| t.contains("failed")).await;
    b.screenshot("runs").await;
    b.click(&format!("[data-testid=run-row-{failed}] a[href='/runs/{failed}']")).await;
    b.text_until("[data-testid=run-status]", |t| t.contains("failed")).await;
    let error = b.text_until("[data-testid=step-error]", |t| !t.is_empty()).await;
    assert!(error.contains("the contact has no valid `email`"), "{error}");
    b.find("[data-testid='step-row-clean']").await;
    b.screenshot("run-inspector").await;

    // Replayed offline on the run's own versions: it fails the same way, and the page says so.
    b.click("[data-testid=replay-run]").await;
    let replayed = b.text_until("[data-testid=replay-result]", |t| t.contains("Still fails")).await;
    assert!(replayed.contains("step clean fails again"), "{replayed}");
    b.screenshot("run-replay").await;

    // Fix its input and run it again: the new run's page turns green by itself.
    b.script("window.__weftNoReload = true; return null").await;
    b.click("[data-testid=edit-rerun]").await;
    b.type_into("[data-testid=edit-rerun-input]", r#"{"name": "Grace Hopper", "email": "grace@example.com"}"#).await;
    b.click("[data-testid=edit-rerun-submit]").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.client.current_url().await.unwrap().path() == format!("/runs/{failed}") {
        assert!(Instant::now() < deadline, "no new run page");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.text_until("[data-testid=run-status]", |t| t.contains("succeeded")).await;
    assert_eq!(b.script("return window.__weftNoReload === true").await, json!(true), "no page reload");

    // The runs list updates live: a run started elsewhere appears without a reload.
    b.click("a[href='/runs']").await;
    b.find("[data-testid=runs-table]").await;
    let live = weft
        .ok("POST", "/api/flows/contact-sync/runs", Some(&json!({ "name": "Live Run", "email": "live@example.com" })))
        .await;
    let live = live["run"]["id"].as_str().unwrap().to_string();
    b.text_until(&format!("[data-testid=run-status-{live}]"), |t| t.contains("succeeded")).await;
    assert_eq!(b.script("return window.__weftNoReload === true").await, json!(true), "no page reload");

    // Failed runs re-run in bulk: tick them, re-run, and the new runs appear.
    let before = weft.ok("GET", "/api/runs?status=succeeded&limit=1000", None).await.as_array().unwrap().len();
    let broken = weft.ok("POST", "/api/flows/contact-sync/runs", Some(&json!({ "name": "No Mail" }))).await;
    let broken = broken["run"]["id"].as_str().unwrap().to_string();
    b.text_until(&format!("[data-testid=run-status-{broken}]"), |t| t.contains("failed")).await;
    // Fix what made it fail (the flow now gives a default email), then re-run on the current version.
    let fixed = contact_sync().replace(
        "input: \"{{ trigger }}\"",
        "input: { name: \"{{ trigger.name }}\", email: \"{{ trigger.email | default('fixed@example.com') }}\" }",
    );
    let reply =
        request("PUT", &weft.url("/api/flows/contact-sync"), &[("authorization", &format!("Bearer {TOKEN}"))], fixed)
            .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    b.click(&format!("[data-testid=select-{broken}]")).await;
    b.click(&format!("[data-testid=select-{failed}]")).await;
    b.click("[data-testid=rerun-current-version]").await;
    b.click("[data-testid=rerun-selected]").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let runs = weft.ok("GET", "/api/runs?limit=1000", None).await;
        let reruns: Vec<&Value> = runs
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["rerun_of"] == json!(broken) || r["rerun_of"] == json!(failed))
            .collect();
        if reruns.len() == 2 && reruns.iter().all(|r| r["status"] == "succeeded") {
            break;
        }
        assert!(Instant::now() < deadline, "bulk re-run: {reruns:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        weft.ok("GET", "/api/runs?status=succeeded&limit=1000", None).await.as_array().unwrap().len() >= before + 2
    );

    // A waiting run is cancelled from its page.
    let later = json!({ "name": "later", "trigger": "manual", "steps": [ { "id": "pause", "delay": "1h" } ] });
    weft.ok("POST", "/api/flows", Some(&later)).await;
    let waiting = weft.ok("POST", "/api/flows/later/runs", Some(&json!({}))).await;
    let waiting = waiting["run"]["id"].as_str().unwrap().to_string();
    b.client.goto(&weft.url(&format!("/runs/{waiting}"))).await.unwrap();
    b.text_until("[data-testid=run-status]", |t| t.contains("waiting")).await;
    b.click("[data-testid=cancel]").await;
    b.text_until("[data-testid=run-status]", |t| t.contains("cancelled")).await;

    // Plugin output is shown as text and never runs: a step output with markup.
    let payload = r#"<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>"#;
    let xss = weft
        .ok("POST", "/api/flows/contact-sync/runs", Some(&json!({ "name": payload, "email": "x@example.com" })))
        .await;
    let xss = xss["run"]["id"].as_str().unwrap().to_string();
    weft.finished(&xss).await;
    b.client.goto(&weft.url(&format!("/runs/{xss}"))).await.unwrap();
    b.click("[data-testid='step-row-clean']").await;
    b.text_until("[data-testid=step-detail]", |t| t.contains("<img src=x onerror=")).await;
    assert_eq!(b.script("return window.__pwned === undefined").await, json!(true), "plugin output ran as script");
    assert_eq!(
        b.script(
            "return document.querySelectorAll('[data-testid=step-detail] img, [data-testid=step-detail] script').length"
        )
        .await,
        json!(0)
    );

    // The flow's diagram, drawn from its definition.
    b.click("a[href='/flows']").await;
    b.click("[data-testid=flow-row-contact-sync] a[href='/flows/contact-sync']").await;
    for step in ["clean", "create", "check", "done"] {
        b.find(&format!("[data-testid=node-{step}]")).await;
    }
    b.find("[data-testid=flow-yaml]").await;
    b.screenshot("flow-diagram").await;

    // Plugins: a broken file is refused with weft's reason; a good one is installed.
    b.click("a[href='/plugins']").await;
    let broken = dir.path().join("broken.wasm");
    std::fs::write(&broken, b"\0asm this is not a component").unwrap();
    b.find("[data-testid=plugin-file]").await.send_keys(&broken.display().to_string()).await.unwrap();
    let refused = b.text_until("[data-testid=plugin-upload-error]", |t| !t.is_empty()).await;
    assert!(refused.to_lowercase().contains("wasm") || refused.contains("component"), "{refused}");
    b.type_into("[data-testid=plugin-name]", "echo-back").await;
    b.find("[data-testid=plugin-file]").await.send_keys(plugins::IDENTITY).await.unwrap();
    b.find("[data-testid=plugin-row-echo-back]").await;
    assert!(weft.ok("GET", "/api/plugins/echo-back", None).await["name"] == "echo-back");
    b.screenshot("plugins").await;

    // A connection whose secret is written once and never shown again.
    let secret = "sk-live-never-shown-again-42";
    b.click("a[href='/connections']").await;
    b.click("[data-testid=conn-new]").await;
    b.type_into("[data-testid=conn-id]", "billing").await;
    b.find("[data-testid=conn-plugin]").await.select_by_value("http").await.unwrap();
    b.type_into("[data-testid=conn-setting-base_url]", "https://billing.example.com").await;
    b.type_into("[data-testid=conn-secret-signing_secret]", secret).await;
    b.type_into("[data-testid=conn-hosts]", "billing.example.com").await;
    b.click("[data-testid=conn-save]").await;
    b.find("[data-testid=connection-row-billing]").await;
    let stored = weft.ok("GET", "/api/connections/billing", None).await;
    assert_eq!(stored["secrets"], json!(["signing_secret"]), "{stored}");
    assert_eq!(stored["settings"]["base_url"], "https://billing.example.com");
    b.client.refresh().await.unwrap();
    b.find("[data-testid=connection-row-billing]").await;
    let page = b.client.source().await.unwrap();
    assert!(!page.contains(secret), "the secret came back to the browser");

    // Sign out: the app asks for the token again, and the cookie no longer works.
    b.click("[data-testid=sign-out]").await;
    b.find("[data-testid=token]").await;
    let status = b.client.execute_async("fetch('/api/flows').then(r => arguments[0](r.status))", vec![]).await.unwrap();
    assert_eq!(status, json!(401));
    eprintln!("browser tests took {:.1} s", started.elapsed().as_secs_f64());
    browser.close().await;
}

/// OAuth 2.0 on the connections page, against a real authorization server:
/// a connection not yet authorized, its Authorize button opening the sign-in
/// in a new tab that ends on weft's callback page, the row turning
/// "Authorized" by itself, and the client shown in the form as stored and
/// saved unchanged without losing the authorization.
#[tokio::test(flavor = "multi_thread")]
async fn an_oauth_connection_is_authorized_from_the_connections_page() {
    let oauth = weft_tests::oauth::OAuthServer::start();
    let (_dir, data, plugin_dir) = workspace(&[plugins::OAUTH_APP, plugins::HTTP]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    let secret = "client-secret-of-the-ui-test";
    let connection = json!({
        "plugin": "oauth-app",
        "hosts": [oauth.grant()],
        "oauth": {
            "client_id": "weft-ui-app", "client_secret": secret,
            "authorization_url": oauth.authorize_url(), "token_url": oauth.token_url(),
            "token_hosts": ["127.0.0.1:1"],
        },
    });
    weft.ok("PUT", "/api/connections/crm-oauth", Some(&connection)).await;
    // A connection whose connector offers OAuth and has no client yet, and one without OAuth.
    weft.ok("PUT", "/api/connections/crm-later", Some(&json!({ "plugin": "oauth-app", "hosts": ["api.example.com"] })))
        .await;
    let plain = json!({ "plugin": "http", "settings": { "base_url": "https://crm.example.com" }, "hosts": ["crm.example.com"] });
    weft.ok("PUT", "/api/connections/crm", Some(&plain)).await;

    let browser = Browser::start().await;
    let b = &browser;
    b.client.goto(&weft.url("/connections")).await.unwrap();
    b.type_into("[data-testid=token]", TOKEN).await;
    b.click("[data-testid=sign-in]").await;
    b.text_until("[data-testid=oauth-status-crm-oauth]", |t| t == "Not authorized").await;
    b.text_until("[data-testid=authorize-crm-oauth]", |t| t == "Authorize").await;
    b.text_until("[data-testid=oauth-status-crm-later]", |t| t.starts_with("OAuth available")).await;
    let bare = "return [document.querySelector('[data-testid=oauth-status-crm]'), \
                document.querySelector('[data-testid=authorize-crm]'), \
                document.querySelector('[data-testid=authorize-crm-later]')].every(e => e === null)";
    assert_eq!(b.script(bare).await, json!(true), "no OAuth badge or button where there is no client");
    b.screenshot("connections-oauth-not-authorized").await;

    // Authorize: the sign-in opens in a new tab, goes through the authorization
    // server (which approves at once) and ends on weft's callback page.
    let page = b.client.window().await.unwrap();
    b.click("[data-testid=authorize-crm-oauth]").await;
    b.text_until("[data-testid=oauth-note-crm-oauth]", |t| t.contains("Finish signing in in the new tab")).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let tab = loop {
        let windows = b.client.windows().await.unwrap();
        if let Some(tab) = windows.into_iter().find(|w| *w != page) {
            break tab;
        }
        assert!(Instant::now() < deadline, "Authorize opened no tab");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    b.client.switch_to_window(tab).await.unwrap();
    b.text_until("#outcome", |t| t.contains("Connection crm-oauth is authorized")).await;
    assert_eq!(b.script("return window.opener === null").await, json!(true), "the tab has no way back to the page");
    b.client.close_window().await.unwrap();
    b.client.switch_to_window(page).await.unwrap();

    // Back on the page, the row says so without a reload.
    b.text_until("[data-testid=oauth-status-crm-oauth]", |t| t == "Authorized").await;
    b.text_until("[data-testid=oauth-detail-crm-oauth]", |t| t.starts_with("token until ")).await;
    b.text_until("[data-testid=authorize-crm-oauth]", |t| t == "Re-authorize").await;
    assert_eq!(
        b.script("return document.querySelector('[data-testid=oauth-note-crm-oauth]') === null").await,
        json!(true)
    );
    assert_eq!(oauth.token_requests("authorization_code").len(), 1);
    let shown = weft.ok("GET", "/api/connections/crm-oauth", None).await;
    assert_eq!(shown["oauth"]["status"], "authorized", "{shown}");
    b.screenshot("connections-oauth").await;

    // The form shows the client as stored; saved unchanged, it stays authorized.
    b.click("[data-testid=conn-edit-crm-oauth]").await;
    let value = |css: &'static str| async move { b.find(css).await.prop("value").await.unwrap().unwrap_or_default() };
    assert_eq!(value("[data-testid=conn-oauth-client-id]").await, "weft-ui-app");
    assert_eq!(value("[data-testid=conn-oauth-client-secret]").await, "");
    let placeholder = b.find("[data-testid=conn-oauth-client-secret]").await.attr("placeholder").await.unwrap();
    assert_eq!(placeholder.as_deref(), Some("•••• stored"));
    assert_eq!(value("[data-testid=conn-oauth-token-url]").await, oauth.token_url());
    assert_eq!(value("[data-testid=conn-oauth-token-hosts]").await, "127.0.0.1:1");
    assert_eq!(value("[data-testid=conn-oauth-scopes]").await, "", "the connector's scopes stay its default");
    b.script("document.querySelector('[data-testid=conn-oauth]').scrollIntoView({ block: 'center' }); return null")
        .await;
    b.screenshot("connections-oauth-form").await;
    b.click("[data-testid=conn-save]").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.script("return document.querySelector('[data-testid=conn-form]') !== null").await == json!(true) {
        assert!(Instant::now() < deadline, "the form did not close");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.text_until("[data-testid=oauth-status-crm-oauth]", |t| t == "Authorized").await;
    let saved = weft.ok("GET", "/api/connections/crm-oauth", None).await;
    assert_eq!(saved["oauth"]["status"], "authorized", "{saved}");
    assert_eq!(saved["oauth"]["client_secret"], true, "{saved}");
    assert_eq!(saved["oauth"]["token_url"], json!(oauth.token_url()), "{saved}");
    assert_eq!(saved["oauth"]["scopes"], json!(["items:read", "items:write"]), "{saved}");

    // No token and no client secret ever reach the browser.
    let source = b.client.source().await.unwrap();
    assert!(!source.contains(secret), "the client secret came back to the browser");
    for token in oauth.issued_tokens() {
        assert!(!source.contains(&token), "a token came back to the browser");
    }
    browser.close().await;
}
