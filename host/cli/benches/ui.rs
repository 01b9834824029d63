//! The web UI's weight and speed: the built assets' sizes (raw and gzipped,
//! as weft sends them), and the time to first render of the run inspector
//! for a run of 200 steps in headless Chromium — from navigation start to the
//! first frame in which the waterfall shows the run's last step — measured
//! on fresh page loads against a real `weft serve`.
//!
//! `cargo bench -p weft --bench ui` (needs Debian's chromium and
//! chromium-driver, and the UI built: `cargo xtask ui`).

use serde_json::json;
use std::path::Path;
use weft_tests::browser::Browser;
use weft_tests::plugins;
use weft_tests::weft::{TOKEN, Weft, workspace};

const EXE: &str = env!("CARGO_BIN_EXE_weft");
const STEPS: usize = 200;
const LOADS: usize = 15;

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` asks for a list of tests: there are none.
    }
    assets();

    let (_dir, data, plugin_dir) = workspace(&[plugins::IDENTITY]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    let steps: Vec<_> = (0..STEPS)
        .map(|i| json!({ "id": format!("s{i}"), "transform": "identity", "input": { "step": i, "contact": "{{ trigger }}" } }))
        .collect();
    weft.ok("POST", "/api/flows", Some(&json!({ "name": "long", "trigger": "manual", "steps": steps }))).await;
    let trigger = json!({ "name": "Ada Lovelace", "email": "ada@example.com", "tags": ["a", "b", "c"] });
    let run = weft.ok("POST", "/api/flows/long/runs?wait=true", Some(&trigger)).await;
    assert_eq!(run["run"]["status"], "succeeded", "{run}");
    assert_eq!(run["steps"].as_array().unwrap().len(), STEPS);
    let id = run["run"]["id"].as_str().unwrap();

    let browser = Browser::start().await;
    browser.client.goto(&weft.url("/")).await.unwrap();
    browser.type_into("[data-testid=token]", TOKEN).await;
    browser.click("[data-testid=sign-in]").await;
    browser.find("[data-testid=sign-out]").await;
    let last = format!("[data-testid=\"step-row-s{}\"]", STEPS - 1);
    let mut times = Vec::new();
    for _ in 0..LOADS {
        browser.client.goto(&weft.url(&format!("/runs/{id}"))).await.unwrap();
        let script = format!(
            "const done = arguments[0];
             const look = () => document.querySelector('{}') ? done(performance.now()) : requestAnimationFrame(look);
             look();",
            last.replace('\'', "\\'")
        );
        let ms = browser.client.execute_async(&script, vec![]).await.unwrap().as_f64().unwrap();
        times.push(ms);
    }
    browser.close().await;
    times.sort_by(f64::total_cmp);
    println!(
        "run inspector, {STEPS} steps, first render after navigation: median {:.0} ms, min {:.0} ms, max {:.0} ms ({LOADS} loads)",
        times[LOADS / 2],
        times[0],
        times[LOADS - 1]
    );
}

/// The built UI's files, raw and as sent gzipped, with the total a first visit loads.
fn assets() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/dist");
    let mut files = Vec::new();
    let mut dirs = vec![dist.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask ui`)", dir.display()))
        {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_none_or(|x| x != "gz") {
                files.push(path);
            }
        }
    }
    files.sort();
    let (mut raw, mut gzipped) = (0, 0);
    for file in &files {
        let size = std::fs::metadata(file).unwrap().len();
        let gz = std::fs::metadata(
            file.with_extension(format!("{}.gz", file.extension().and_then(|x| x.to_str()).unwrap_or_default())),
        )
        .map(|m| m.len())
        .unwrap_or(size);
        raw += size;
        gzipped += gz;
        println!("{:>9} B {:>9} B gzipped  {}", size, gz, file.strip_prefix(&dist).unwrap().display());
    }
    println!("{raw:>9} B {gzipped:>9} B gzipped  all assets");
}
