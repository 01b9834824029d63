//! Hot-loading figures: `cargo bench -p weft-tests --bench hotload`
//! (run `cargo xtask polyglot` first for the JavaScript and Python rows).
//!
//! 1. First compile and cached load of a component: the trivial Rust
//!    transform, the JavaScript one (componentize-js, ~12 MB) and the Python
//!    one (componentize-py, ~18 MB). A cached load is what a restart pays.
//! 2. Swap under load: a `weft serve` (in this process, on 127.0.0.1) takes
//!    synchronous webhook requests at concurrency 16 while the connector the
//!    flow uses is swapped between two versions 20 times through the watched
//!    plugins folder. Every request must succeed and every run must end
//!    `succeeded` in the store.

use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use weft_runtime::cache::CacheOutcome;
use weft_runtime::{Runtime, RuntimeConfig};
use weft_tests::http::request;
use weft_tests::plugins;

mod common;
use common::{TOKEN, api};

const CONCURRENCY: usize = 16;
const SWAPS: usize = 20;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// First compile, then the median and worst of 10 cached loads (each by a new runtime, as after a restart).
async fn load_times(label: &str, path: &Path) {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    let cache = tempfile::tempdir().unwrap();
    let runtime =
        || Runtime::new(RuntimeConfig { cache_dir: Some(cache.path().into()), ..Default::default() }).unwrap();
    let rt = runtime();
    let started = Instant::now();
    let first = rt.load_file(path).await.unwrap_or_else(|e| panic!("{e}"));
    let compile = started.elapsed();
    assert_eq!(first.cache_outcome(), CacheOutcome::Compiled);
    let mut cached = Vec::new();
    for _ in 0..10 {
        let rt = runtime();
        let started = Instant::now();
        let plugin = rt.load_file(path).await.unwrap();
        cached.push(started.elapsed());
        assert_eq!(plugin.cache_outcome(), CacheOutcome::Hit);
    }
    cached.sort();
    println!(
        "{label:<34} {size:>6.1} MB  first compile {:>8.1} ms  cached load median {:>6.2} ms, worst {:>6.2} ms",
        ms(compile),
        ms(cached[cached.len() / 2]),
        ms(cached[cached.len() - 1]),
    );
}

fn polyglot(file: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("WEFT_POLYGLOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/polyglot"));
    let path = dir.join(file);
    if path.exists() {
        Some(path)
    } else {
        println!("{file}: not built (run `cargo xtask polyglot`)");
        None
    }
}

async fn current_probe(base: &str) -> String {
    let listed = api(base, "GET", "/api/plugins", None).await;
    listed["plugins"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "probe"))
        .and_then(|p| p["hash"].as_str())
        .unwrap_or_default()
        .to_string()
}

async fn swap_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let (data, plugin_dir) = (dir.path().join("data"), dir.path().join("plugins"));
    std::fs::create_dir_all(&plugin_dir).unwrap();
    let probe = plugin_dir.join("probe.wasm");
    std::fs::copy(plugins::PROBE, &probe).unwrap();
    std::fs::copy(plugins::IDENTITY, plugin_dir.join("identity.wasm")).unwrap();
    let server = common::InProcess::start(&data, &plugin_dir).await;
    let base = server.base.clone();
    api(&base, "PUT", "/api/connections/p", Some(json!({ "plugin": "probe" }))).await;
    let flow = json!({
        "name": "swapped",
        "trigger": { "webhook": { "connector": "probe", "trigger": "echo", "connection": "p", "sync": true } },
        "steps": [
            { "id": "echo", "action": "probe.echo", "connection": "p", "input": "{{ trigger }}" },
            { "id": "keep", "transform": "identity", "input": "{{ steps.echo.output }}" },
        ],
    });
    api(&base, "POST", "/api/flows", Some(flow)).await;
    let hook =
        api(&base, "POST", "/api/flows/swapped/activate", None).await["webhook_url"].as_str().unwrap().to_string();

    let running = Arc::new(AtomicBool::new(true));
    let (sent, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut load = Vec::new();
    for worker in 0..CONCURRENCY {
        let (running, sent, failed, hook) = (running.clone(), sent.clone(), failed.clone(), hook.clone());
        load.push(tokio::spawn(async move {
            let mut n = 0u64;
            while running.load(Ordering::Relaxed) {
                let body = json!({ "worker": worker, "n": n }).to_string();
                let reply = request("POST", &hook, &[("content-type", "application/json")], body).await;
                sent.fetch_add(1, Ordering::Relaxed);
                if reply.status != 200 || reply.json() != json!({ "worker": worker, "n": n }) {
                    failed.fetch_add(1, Ordering::Relaxed);
                    eprintln!("failed: {} {}", reply.status, reply.text());
                }
                n += 1;
            }
        }));
    }

    // Swap 20 times through the folder: written aside, renamed over, picked up by the watcher.
    let versions = [std::fs::read(plugins::PROBE_V2).unwrap(), std::fs::read(plugins::PROBE).unwrap()];
    let started = Instant::now();
    let mut swap_times = Vec::new();
    for i in 0..SWAPS {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let before = current_probe(&base).await;
        let aside = plugin_dir.join(".probe.wasm.new");
        std::fs::write(&aside, &versions[i % 2]).unwrap();
        let swapped_at = Instant::now();
        std::fs::rename(&aside, &probe).unwrap();
        while current_probe(&base).await == before {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        swap_times.push(swapped_at.elapsed());
    }
    running.store(false, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    // What the store says: every run of the flow, by status (the API reads sled).
    let auth = format!("Bearer {TOKEN}");
    let metrics = request("GET", &format!("{base}/metrics"), &[("authorization", &auth)], Vec::new()).await.text();
    let counter = |status: &str| -> u64 {
        let prefix = format!("weft_runs_finished_total{{status=\"{status}\"}} ");
        metrics.lines().find_map(|l| l.strip_prefix(prefix.as_str())?.parse().ok()).unwrap_or(0)
    };
    let succeeded = counter("succeeded");
    let not_ok = counter("failed") + counter("cancelled");
    let failed_runs = api(&base, "GET", "/api/runs?flow=swapped&status=failed&limit=1000", None).await;
    assert_eq!(failed_runs, json!([]), "no run of the flow failed in the store");
    let recent = api(&base, "GET", "/api/runs?flow=swapped&limit=1000", None).await;
    let hashes: std::collections::BTreeSet<String> =
        recent.as_array().unwrap().iter().filter_map(|r| r["plugins"]["probe"].as_str().map(str::to_string)).collect();
    server.stop().await;
    swap_times.sort();
    let (sent, failed) = (sent.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    println!(
        "swap under load: {SWAPS} swaps in {secs:.1} s at concurrency {CONCURRENCY}: {sent} sync webhook requests ({:.0}/s), {failed} failed; {succeeded} runs succeeded, {not_ok} failed or cancelled; the last 1,000 runs ran on {} versions; file renamed → new version serving: median {:.0} ms",
        sent as f64 / secs,
        hashes.len(),
        ms(swap_times[swap_times.len() / 2]),
    );
    assert_eq!((failed, not_ok), (0, 0), "every run succeeds while the plugin is swapped");
    assert_eq!(succeeded, sent, "one run per request, each succeeded");
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        load_times("Rust transform (identity)", plugins::IDENTITY.as_ref()).await;
        if let Some(js) = polyglot("contact_card.wasm") {
            load_times("JavaScript transform (componentize-js)", &js).await;
        }
        if let Some(py) = polyglot("slugify.wasm") {
            load_times("Python transform (componentize-py)", &py).await;
        }
        swap_under_load().await;
    });
}
