//! Hot-loading against a real `weft serve`: files dropped into, replaced in
//! and removed from the watched plugins folder; half-written and invalid
//! files; pinned versions; a swap while a call is in flight.
//!
//! `probe` and `probe_v2` are the same connector source built as versions
//! 0.1.0 and 0.2.0; its `fetch` action reports the version that ran it.

use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};
use weft_tests::app::TestApp;
use weft_tests::plugins;
use weft_tests::weft::{Weft, workspace};

const EXE: &str = env!("CARGO_BIN_EXE_weft");

/// Wait until `check` holds for the plugin listing, or fail saying what it was.
async fn until_plugins(weft: &Weft, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let listed = weft.ok("GET", "/api/plugins", None).await;
        if check(&listed) {
            return listed;
        }
        assert!(Instant::now() < deadline, "waited 20 s for {what}; the plugins are {listed:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The version string of the current `probe`, if it is installed.
fn probe_version(listed: &Value) -> Option<String> {
    listed["plugins"].as_array()?.iter().find(|p| p["name"] == "probe")?["version"].as_str().map(str::to_string)
}

fn is_probe(listed: &Value, version: &str) -> bool {
    probe_version(listed).is_some_and(|v| v.starts_with(&format!("{version}+")))
}

/// A manual flow of `fetch` steps through `connector` (`probe` or `probe@…`), one per URL.
fn fetch_flow(name: &str, connector: &str, urls: &[String]) -> Value {
    let steps: Vec<Value> = urls
        .iter()
        .enumerate()
        .map(|(i, url)| {
            json!({ "id": format!("f{i}"), "action": format!("{connector}.fetch"), "connection": "p", "input": { "url": url } })
        })
        .collect();
    json!({ "name": name, "trigger": "manual", "steps": steps })
}

async fn connect(weft: &Weft, app: &TestApp) {
    weft.ok("PUT", "/api/connections/p", Some(&json!({ "plugin": "probe", "hosts": [app.grant()] }))).await;
}

/// Run `flow` to the end; the version each step's `fetch` ran on.
async fn versions_run(weft: &Weft, flow: &str) -> Vec<String> {
    let done = weft.ok("POST", &format!("/api/flows/{flow}/runs?wait=true"), Some(&json!({}))).await;
    assert_eq!(done["run"]["status"], "succeeded", "{done:#}");
    step_versions(&done)
}

fn step_versions(run: &Value) -> Vec<String> {
    run["steps"].as_array().unwrap().iter().map(|s| s["output"]["version"].as_str().unwrap().to_string()).collect()
}

/// Replace `path` the way `cp` does: truncate, then write in place.
fn overwrite(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plugins_folder_is_watched_drop_replace_half_written_invalid_and_remove() {
    let app = TestApp::start().await;
    let (_dir, data, plugin_dir) = workspace(&[]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    let file = plugin_dir.join("probe.wasm");
    let (v1, v2) = (std::fs::read(plugins::PROBE).unwrap(), std::fs::read(plugins::PROBE_V2).unwrap());

    // Drop: a new file is validated and loaded.
    overwrite(&file, &v1);
    until_plugins(&weft, "probe 0.1.0 to load", |l| is_probe(l, "0.1.0")).await;
    connect(&weft, &app).await;
    weft.ok("POST", "/api/flows", Some(&fetch_flow("fetcher", "probe", &[app.url("/json")]))).await;
    assert_eq!(versions_run(&weft, "fetcher").await, ["0.1.0"]);

    // Replace: the new content becomes a new version; new runs take it.
    overwrite(&file, &v2);
    until_plugins(&weft, "probe 0.2.0 to replace 0.1.0", |l| is_probe(l, "0.2.0")).await;
    assert_eq!(versions_run(&weft, "fetcher").await, ["0.2.0"]);
    let listed = String::from_utf8_lossy(&weft.cli(&["plugin", "list"]).stdout).into_owned();
    assert!(listed.contains("probe") && listed.contains("used by: [fetcher]"), "{listed}");
    let rows: Vec<&str> = listed.lines().filter(|l| l.trim_start().starts_with("0.")).collect();
    assert!(rows.len() == 2 && rows[0].contains("retired") && rows[1].contains("current"), "{listed}");
    assert!(rows[1].contains("flows: [fetcher]"), "{listed}");

    // Half-written: a copy that stalls mid-file is never loaded; 0.2.0 keeps serving.
    let mut writer = std::fs::File::create(&file).unwrap();
    writer.write_all(&v1[..v1.len() / 2]).unwrap();
    writer.flush().unwrap();
    let listed = until_plugins(&weft, "the half-written file to be reported", |l| {
        l["problems"].as_array().is_some_and(|p| !p.is_empty())
    })
    .await;
    assert!(is_probe(&listed, "0.2.0"), "{listed:#}");
    assert!(listed["problems"][0]["file"].as_str().unwrap().ends_with("probe.wasm"), "{listed:#}");
    assert_eq!(versions_run(&weft, "fetcher").await, ["0.2.0"]);
    writer.write_all(&v1[v1.len() / 2..]).unwrap();
    drop(writer);
    let listed = until_plugins(&weft, "the finished copy to load", |l| is_probe(l, "0.1.0")).await;
    assert_eq!(listed["problems"], json!([]), "a good file clears the problem");
    assert_eq!(versions_run(&weft, "fetcher").await, ["0.1.0"]);

    // Invalid: a file that is not a component leaves the old version serving, and says why.
    overwrite(&file, b"\0asm but not really a component");
    let listed = until_plugins(&weft, "the invalid file to be reported", |l| {
        l["problems"].as_array().is_some_and(|p| !p.is_empty())
    })
    .await;
    assert!(is_probe(&listed, "0.1.0"), "{listed:#}");
    let why = listed["problems"][0]["error"].as_str().unwrap();
    assert!(why.contains("probe.wasm"), "the problem names the file: {why}");
    assert_eq!(versions_run(&weft, "fetcher").await, ["0.1.0"]);
    // The same through the API: an invalid upload is refused and changes nothing.
    let refused = weft_tests::http::request(
        "POST",
        &weft.url("/api/plugins"),
        &[("authorization", &format!("Bearer {}", weft.token))],
        std::fs::read(plugins::PARTIAL).unwrap(),
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(is_probe(&weft.ok("GET", "/api/plugins", None).await, "0.1.0"));

    // Remove: the plugin unloads and its flows say so instead of failing at random.
    std::fs::remove_file(&file).unwrap();
    until_plugins(&weft, "probe to unload", |l| probe_version(l).is_none()).await;
    let flow = weft.ok("GET", "/api/flows/fetcher", None).await;
    assert_eq!(flow["trigger"]["plugins_missing"], json!(["probe"]), "{flow:#}");
    let refused = weft.api("POST", "/api/flows/fetcher/runs", Some(&json!({}))).await;
    assert_eq!(refused.status, 409);
    assert_eq!(
        refused.json()["error"],
        "flow \"fetcher\" cannot run: plugin \"probe\" is not installed (install it, or put its file back in the plugins folder)"
    );

    // Back through the API (the same path as the folder): the flow runs again.
    let installed = weft.cli(&["plugin", "install", plugins::PROBE_V2]);
    assert!(installed.status.success(), "{}", String::from_utf8_lossy(&installed.stderr));
    assert!(file.exists(), "an upload lands in the folder as <name>.wasm");
    assert_eq!(versions_run(&weft, "fetcher").await, ["0.2.0"]);
    assert_eq!(weft.ok("GET", "/api/flows", None).await[0]["plugins_missing"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_in_flight_finish_on_the_version_they_started_with() {
    let app = TestApp::start().await;
    let (_dir, data, plugin_dir) = workspace(&[plugins::PROBE]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    connect(&weft, &app).await;
    // A slow call, then a quick one: the swap lands between them.
    let urls = [app.url("/delay?ms=2500"), app.url("/json")];
    weft.ok("POST", "/api/flows", Some(&fetch_flow("slow", "probe", &urls))).await;
    let started = weft.ok("POST", "/api/flows/slow/runs", Some(&json!({}))).await;
    let old_run = started["run"]["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !app.log().iter().any(|(_, path, _)| path == "/delay") {
        assert!(Instant::now() < deadline, "the slow call never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Swap while the call is in flight (written aside, then renamed over: atomic).
    let aside = plugin_dir.join(".probe.wasm.new");
    std::fs::copy(plugins::PROBE_V2, &aside).unwrap();
    std::fs::rename(&aside, plugin_dir.join("probe.wasm")).unwrap();
    until_plugins(&weft, "the swap to 0.2.0", |l| is_probe(l, "0.2.0")).await;
    let new_run =
        weft.ok("POST", "/api/flows/slow/runs", Some(&json!({}))).await["run"]["id"].as_str().unwrap().to_string();

    let old = weft.finished(&old_run).await;
    assert_eq!(old["run"]["status"], "succeeded", "{old:#}");
    assert_eq!(step_versions(&old), ["0.1.0", "0.1.0"], "both steps on the version the run started with");
    let new = weft.finished(&new_run).await;
    assert_eq!(step_versions(&new), ["0.2.0", "0.2.0"]);
    let hashes = (old["run"]["plugins"]["probe"].as_str(), new["run"]["plugins"]["probe"].as_str());
    assert!(hashes.0.is_some() && hashes.1.is_some() && hashes.0 != hashes.1, "{hashes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flows_pin_a_version_or_follow_the_latest() {
    let app = TestApp::start().await;
    // Two files provide `probe`: 0.1.0 and 0.2.0 (loaded last, so current).
    let (_dir, data, plugin_dir) = workspace(&[plugins::PROBE, plugins::PROBE_V2]);
    let mut weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    connect(&weft, &app).await;
    let url = [app.url("/json")];
    let listed = weft.ok("GET", "/api/plugins", None).await;
    assert!(is_probe(&listed, "0.2.0"), "{listed:#}");
    let v1_hash = listed["plugins"][0]["versions"][0]["hash"].as_str().unwrap().to_string();

    weft.ok("POST", "/api/flows", Some(&fetch_flow("latest", "probe", &url))).await;
    weft.ok("POST", "/api/flows", Some(&fetch_flow("pinned", "probe@0.1.0", &url))).await;
    weft.ok("POST", "/api/flows", Some(&fetch_flow("by-hash", &format!("probe@{}", &v1_hash[..12]), &url))).await;
    let unknown = weft.api("POST", "/api/flows", Some(&fetch_flow("nope", "probe@9.9.9", &url))).await;
    assert_eq!(unknown.status, 422);
    assert!(unknown.text().contains("unknown connector \\\"probe@9.9.9\\\""), "{}", unknown.text());
    assert_eq!(versions_run(&weft, "latest").await, ["0.2.0"]);
    assert_eq!(versions_run(&weft, "pinned").await, ["0.1.0"]);
    assert_eq!(versions_run(&weft, "by-hash").await, ["0.1.0"]);

    // `weft plugin list` shows each version and the flows on it.
    let listed = String::from_utf8_lossy(&weft.cli(&["plugin", "list"]).stdout).into_owned();
    let v1_row = listed.lines().find(|l| l.trim_start().starts_with("0.1.0+")).unwrap_or_default();
    let v2_row = listed.lines().find(|l| l.trim_start().starts_with("0.2.0+")).unwrap_or_default();
    assert!(v1_row.contains("flows: [by-hash,pinned]") && !v1_row.contains("current"), "{listed}");
    assert!(v2_row.contains("flows: [latest]") && v2_row.contains("current"), "{listed}");

    // Pins hold across a restart (both files are still there).
    weft.restart(&[]);
    assert_eq!(versions_run(&weft, "pinned").await, ["0.1.0"]);

    // Removing the file that provides 0.1.0: the pinned flows miss it, the others run.
    std::fs::remove_file(plugin_dir.join("probe.wasm")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while weft.ok("GET", "/api/flows/pinned", None).await["trigger"]["plugins_missing"] != json!(["probe@0.1.0"]) {
        assert!(Instant::now() < deadline, "the pinned flow never showed its plugin missing");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(weft.api("POST", "/api/flows/pinned/runs", Some(&json!({}))).await.status, 409);
    assert_eq!(versions_run(&weft, "latest").await, ["0.2.0"]);
}
