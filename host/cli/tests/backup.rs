//! Backups, restores, exports and imports, against real `weft serve`s: a
//! backup taken under webhook load holds every run acknowledged before it
//! began and starts as a server of its own; an export moves flows and
//! connections (secrets only sealed, re-sealed under the target's key).

use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use weft_tests::http::request;
use weft_tests::plugins;
use weft_tests::saas::SaasApp;
use weft_tests::weft::{Weft, workspace};

const EXE: &str = env!("CARGO_BIN_EXE_weft");

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

async fn connect(weft: &Weft, app: &SaasApp) {
    let mut connection = app.connection(None);
    connection["rate_limit"] = json!({ "per_second": 50, "burst": 10 });
    weft.ok("PUT", "/api/connections/app", Some(&connection)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_under_webhook_load_holds_every_acknowledged_run_and_starts() {
    let app = SaasApp::start("sk-backup").await;
    let (dir, data, plugin_dir) = workspace(&[plugins::SAAS]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    connect(&weft, &app).await;
    let flow = json!({ "name": "inbox", "trigger": { "webhook": { "connector": "saas", "trigger": "inbox", "connection": "app" } },
        "steps": [ { "id": "keep", "action": "saas.echo", "connection": "app", "input": "{{ trigger }}" }, { "id": "rest", "delay": "50ms" } ] });
    weft.ok("POST", "/api/flows", Some(&flow)).await;
    let url = weft.ok("POST", "/api/flows/inbox/activate", None).await["webhook_url"].as_str().unwrap().to_string();

    // Four senders; each acknowledged run is noted with when its 202 came.
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let mut senders = Vec::new();
    for s in 0..4 {
        let (url, stop, acked) = (url.clone(), stop.clone(), acked.clone());
        senders.push(tokio::spawn(async move {
            let mut refused = 0;
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let reply =
                    request("POST", &url, &[], json!({ "record": { "id": s * 1_000_000 + n } }).to_string()).await;
                n += 1;
                match reply.status {
                    202 => {
                        let id = reply.json()["runs"][0].as_str().unwrap().to_string();
                        acked.lock().unwrap().push((Instant::now(), id));
                    }
                    _ => refused += 1,
                }
            }
            refused
        }));
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let began = Instant::now();
    let copy = dir.path().join("backup");
    let out = weft.cli(&["backup", &copy.display().to_string()]);
    let took = began.elapsed();
    assert!(out.status.success(), "{}", text(&out));
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let mut refused = 0;
    for s in senders {
        refused += s.await.unwrap();
    }
    assert_eq!(refused, 0, "weft kept serving while it copied");
    let acked = acked.lock().unwrap().clone();
    let before: Vec<&String> = acked.iter().filter(|(at, _)| *at < began).map(|(_, id)| id).collect();
    let after = acked.len() - before.len();
    assert!(before.len() > 50 && after > 0, "load before ({}) and during/after ({after}) the backup", before.len());

    // The copy starts as a server of its own, and every run acknowledged before the backup began is in it.
    let again = Weft::start(EXE, &copy, &plugin_dir, &[]);
    for id in &before {
        let shown = again.api("GET", &format!("/api/runs/{id}"), None).await;
        assert_eq!(shown.status, 200, "run {id}, acknowledged before the backup, is missing from it");
    }
    println!(
        "backup under load: {} runs acknowledged before it began, all in the copy; {after} during and after; it took {took:?}: {}",
        before.len(),
        text(&out).lines().next().unwrap_or_default()
    );
    // Its runs go on there: the copy's connections open with the copied key.
    let last = before.last().unwrap();
    let done = again.finished(last).await;
    assert_eq!(done["run"]["status"], "succeeded", "{done}");

    // `weft restore` puts a backup into a new data directory; a non-empty one is refused.
    let restored = dir.path().join("restored");
    let restore = |to: &std::path::Path| {
        std::process::Command::new(EXE)
            .args(["restore", &copy.display().to_string(), "--data-dir", &to.display().to_string()])
            .output()
            .unwrap()
    };
    drop(again);
    let out = restore(&restored);
    assert!(out.status.success(), "{}", text(&out));
    let out = restore(&restored);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("is not empty: restore into a new data directory"), "{}", text(&out));
    let third = Weft::start(EXE, &restored, &plugin_dir, &[]);
    assert_eq!(third.api("GET", &format!("/api/runs/{}", before[0]), None).await.status, 200);
    // A backup into a folder that holds something is refused, and says why.
    let refused = weft.api("POST", "/api/backup", Some(&json!({ "dir": copy }))).await;
    assert_eq!(refused.status, 400);
    assert!(refused.text().contains("is not empty: a backup goes into a new folder"), "{}", refused.text());
    let relative = weft.api("POST", "/api/backup", Some(&json!({ "dir": "backup" }))).await;
    assert!(relative.text().contains("is not an absolute path"), "{}", relative.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_moves_flows_and_connections_and_secrets_only_sealed() {
    let app = SaasApp::start("sk-export-secret-4242").await;
    let (dir, data, plugin_dir) = workspace(&[plugins::SAAS]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    connect(&weft, &app).await;
    let create = json!({ "name": "create", "trigger": "manual", "on_failure": "alert",
        "steps": [ { "id": "make", "action": "saas.create_record", "connection": "app", "input": { "name": "{{ trigger.name }}" } } ] });
    let alert = json!({ "name": "alert", "trigger": "manual", "steps": [ { "id": "say", "action": "saas.echo", "connection": "app", "input": "{{ trigger }}" } ] });
    let wrapper = json!({ "name": "wrapper", "trigger": "manual", "steps": [ { "id": "sub", "call": "create", "input": "{{ trigger }}" } ] });
    weft.ok("POST", "/api/flows", Some(&alert)).await;
    weft.ok("POST", "/api/flows", Some(&create)).await;
    weft.ok("POST", "/api/flows", Some(&wrapper)).await;

    // Without secrets: no secret leaves, in any form.
    let plain = dir.path().join("plain.json");
    let out = weft.cli(&["export", &plain.display().to_string()]);
    assert!(out.status.success(), "{}", text(&out));
    let written = std::fs::read_to_string(&plain).unwrap();
    assert!(!written.contains(&app.api_key) && !written.contains("sealed_secrets"), "{written}");
    // With them: sealed under a new key written beside it; neither file is readable by others.
    let sealed = dir.path().join("sealed.json");
    let out = weft.cli(&["export", &sealed.display().to_string(), "--with-secrets"]);
    assert!(out.status.success(), "{}", text(&out));
    let written = std::fs::read_to_string(&sealed).unwrap();
    assert!(written.contains("sealed_secrets") && !written.contains(&app.api_key), "{written}");
    let key_file = dir.path().join("sealed.json.key");
    use std::os::unix::fs::PermissionsExt;
    for file in [&sealed, &key_file] {
        assert_eq!(std::fs::metadata(file).unwrap().permissions().mode() & 0o777, 0o600, "{}", file.display());
    }
    // The API will not hand secrets out without a key to seal them under.
    let refused = weft.api("GET", "/api/export?secrets=true", None).await;
    assert_eq!(refused.status, 400);
    assert!(refused.text().contains("secrets=true needs x-weft-export-key"), "{}", refused.text());

    // Another installation, with its own key: the flows (which name each other) and the
    // connection come across, and the secret works there.
    let (_other_dir, other_data, other_plugins) = workspace(&[plugins::SAAS]);
    let other = Weft::start(EXE, &other_data, &other_plugins, &[]);
    let moved = std::env::temp_dir().join(format!("weft-import-{}.json", std::process::id()));
    std::fs::copy(&sealed, &moved).unwrap();
    let out = other.cli(&["import", &moved.display().to_string()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("its secrets are sealed: send the export's key"), "{}", text(&out));
    let out = other.cli(&["import", &sealed.display().to_string()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("flow wrapper is at version 1"), "{}", text(&out));
    for name in ["alert", "create", "wrapper"] {
        let there = other.ok("GET", &format!("/api/flows/{name}"), None).await;
        let here = weft.ok("GET", &format!("/api/flows/{name}"), None).await;
        assert_eq!(there["flow"]["def"], here["flow"]["def"], "{name}");
    }
    let connection = other.ok("GET", "/api/connections/app", None).await;
    assert_eq!(connection["secrets"], json!(["api_key"]));
    assert_eq!(connection["rate_limit"], json!({ "per_second": 50, "burst": 10 }));
    let done = other.ok("POST", "/api/flows/wrapper/runs?wait=true", Some(&json!({ "name": "moved" }))).await;
    assert_eq!(done["run"]["status"], "succeeded", "{done}");
    assert_eq!(app.records().last().unwrap()["name"], "moved", "the re-sealed secret called the app");
    let data_files = walk(&other_data);
    for file in data_files {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            !bytes.windows(app.api_key.len()).any(|w| w == app.api_key.as_bytes()),
            "{} holds the secret",
            file.display()
        );
    }

    // The export without secrets: the connection arrives without them, and weft says so.
    let (_third_dir, third_data, third_plugins) = workspace(&[plugins::SAAS]);
    let third = Weft::start(EXE, &third_data, &third_plugins, &[]);
    let out = third.cli(&["import", &plain.display().to_string()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("connection app has no secrets here"), "{}", text(&out));
    let bad = third.api("POST", "/api/import", Some(&json!({ "weft_export": 1, "flows": [{ "name": "x" }] }))).await;
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("flows[0]: invalid flow: missing field"), "{}", bad.text());
    let _: Value = third.ok("GET", "/api/flows/create", None).await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}
