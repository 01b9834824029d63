//! The neighbour's latency under attack: `cargo bench -p weft-tests --bench hostile`.
//!
//! A `weft serve` (in this process, on 127.0.0.1) runs a synchronous webhook
//! flow (the `http` connector's webhook → the identity transform) that 4
//! clients hit back to back. Phase 1 measures its latency alone; phase 2 the
//! same while hostile runs go on without pause, 2 at a time, cycling through
//! CPU spin, memory growth, deep recursion, an 8 MiB output, a 100,000-line
//! log flood, a trap and malformed JSON. Printed: p50/p90/p99 of both phases
//! and the p99 ratio (the issue's target: within 1.2×), and how the attacks ended.

use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use weft_tests::http::request;
use weft_tests::plugins;

mod common;
use common::api;

const CLIENTS: usize = 4;
const PHASE: Duration = Duration::from_secs(12);
const ATTACKERS: usize = 2;
const ATTACKS: &[(&str, &str)] = &[
    ("spin", "{}"),
    ("memory", "{}"),
    ("recurse", "{}"),
    ("big-output", r#"{"mb": 8}"#),
    ("log-flood", r#"{"lines": 100000}"#),
    ("panic", "{}"),
    ("bad-json", "{}"),
];

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Hit the neighbour for `PHASE` with `CLIENTS` clients; the sorted latencies.
async fn measure(hook: &str) -> Vec<Duration> {
    let until = Instant::now() + PHASE;
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let hook = hook.to_string();
        clients.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0u64;
            while Instant::now() < until {
                let body = json!({ "client": client, "n": n });
                let started = Instant::now();
                let reply = request("POST", &hook, &[("content-type", "application/json")], body.to_string()).await;
                latencies.push(started.elapsed());
                assert_eq!((reply.status, reply.json()), (200, body), "the neighbour answers");
                n += 1;
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for client in clients {
        all.extend(client.await.unwrap());
    }
    all.sort();
    all
}

fn report(label: &str, latencies: &[Duration]) -> f64 {
    let p99 = percentile(latencies, 0.99);
    println!(
        "{label}: {} requests in {} s ({:.0}/s); p50 {:.2} ms, p90 {:.2} ms, p99 {p99:.2} ms, max {:.2} ms",
        latencies.len(),
        PHASE.as_secs(),
        latencies.len() as f64 / PHASE.as_secs_f64(),
        percentile(latencies, 0.5),
        percentile(latencies, 0.9),
        percentile(latencies, 1.0),
    );
    p99
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let (data, plugin_dir) = (dir.path().join("data"), dir.path().join("plugins"));
        std::fs::create_dir_all(&plugin_dir).unwrap();
        for plugin in [plugins::HTTP, plugins::IDENTITY, plugins::HOSTILE] {
            let path = std::path::Path::new(plugin);
            std::fs::copy(path, plugin_dir.join(path.file_name().unwrap())).unwrap();
        }
        let server = common::InProcess::start(&data, &plugin_dir).await;
        let base = server.base.clone();
        api(&base, "PUT", "/api/connections/inbox", Some(json!({ "plugin": "http" }))).await;
        api(&base, "PUT", "/api/connections/h", Some(json!({ "plugin": "hostile" }))).await;
        let neighbour = json!({
            "name": "neighbour",
            "trigger": { "webhook": { "connector": "http", "trigger": "incoming", "connection": "inbox", "sync": true } },
            "steps": [{ "id": "echo", "transform": "identity", "input": "{{ trigger }}" }],
        });
        api(&base, "POST", "/api/flows", Some(neighbour)).await;
        let hook = api(&base, "POST", "/api/flows/neighbour/activate", None).await["webhook_url"].as_str().unwrap().to_string();
        for (action, input) in ATTACKS {
            let flow = json!({ "name": format!("attack-{action}"), "trigger": "manual", "steps": [
                { "id": "attack", "action": format!("hostile.{action}"), "connection": "h",
                  "input": serde_json::from_str::<Value>(input).unwrap(), "retry": { "max_attempts": 1 } } ] });
            api(&base, "POST", "/api/flows", Some(flow)).await;
        }

        measure(&hook).await; // warm-up
        let calm = measure(&hook).await;

        let running = Arc::new(AtomicBool::new(true));
        let (failed, other) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        // `WEFT_ATTACKS=spin,memory` narrows the attacks to those named.
        let chosen: Vec<&str> = match std::env::var("WEFT_ATTACKS") {
            Ok(names) => ATTACKS.iter().map(|(a, _)| *a).filter(|a| names.split(',').any(|n| n == *a)).collect(),
            Err(_) => ATTACKS.iter().map(|(a, _)| *a).collect(),
        };
        assert!(!chosen.is_empty(), "WEFT_ATTACKS names none of {ATTACKS:?}");
        let chosen = Arc::new(chosen);
        let mut attackers = Vec::new();
        for attacker in 0..ATTACKERS {
            let chosen = chosen.clone();
            let (running, failed, other, base) = (running.clone(), failed.clone(), other.clone(), base.clone());
            attackers.push(tokio::spawn(async move {
                let mut i = attacker;
                while running.load(Ordering::Relaxed) {
                    let action = chosen[i % chosen.len()];
                    let done = api(&base, "POST", &format!("/api/flows/attack-{action}/runs?wait=true"), Some(json!({}))).await;
                    let counter = if done["run"]["status"] == "failed" { &failed } else { &other };
                    counter.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            }));
        }
        let attacked = measure(&hook).await;
        running.store(false, Ordering::Relaxed);
        for attacker in attackers {
            attacker.await.unwrap();
        }
        server.stop().await;

        let p99_calm = report("neighbour alone      ", &calm);
        let p99_attacked = report("neighbour under attack", &attacked);
        println!(
            "p99 under attack / alone: {:.2}x (target ≤ 1.2x); attacks: {} ended as failed steps, {} otherwise (log floods succeed, bounded)",
            p99_attacked / p99_calm,
            failed.load(Ordering::Relaxed),
            other.load(Ordering::Relaxed),
        );
    });
}
