//! Flow executor figures: `cargo bench -p weft-tests --bench flow`.
//!
//! 1. Steps per second of a 3-step flow of trivial wasm transforms, every
//!    step record durable (flushed, with group commit) before the next starts.
//! 2. Memory (RSS) of 10,000 runs waiting on a one-hour delay.
//! 3. A large event: 500 contacts (~100 KiB of JSON) read by a 5-step flow,
//!    and looped over by a `for_each` with one transform per contact. What
//!    this measures is how each step's cost grows with the size of the data
//!    the run has already gathered.

use serde_json::json;
use std::sync::Arc;
use std::time::Instant;
use weft::registry::Registry;
use weft_core::model::FlowDef;
use weft_core::run::{RunFilter, RunStatus, RunStore};
use weft_flow::{Executor, ExecutorConfig, SystemClock};
use weft_runtime::{Runtime, RuntimeConfig};
use weft_store::Db;
use weft_tests::measure::rss_mib;
use weft_tests::plugins;

/// Runs of `flow` on `event` until idle; all must succeed. Returns seconds.
async fn timed_runs(executor: &Executor, db: &Db, flow: &str, event: &serde_json::Value, runs: usize) -> f64 {
    let started = Instant::now();
    for _ in 0..runs {
        executor.start(flow, event.clone()).unwrap();
    }
    executor.run_until_idle().await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    let ok = db
        .runs(&RunFilter { flow: Some(flow.into()), status: Some(RunStatus::Succeeded), ..Default::default() })
        .unwrap();
    assert_eq!(ok.len(), runs, "every run of {flow} succeeded");
    secs
}

async fn large_event(executor: &Executor, db: &Db) {
    let contacts: Vec<_> = (0..500)
        .map(|i| {
            json!({
                "id": i, "name": format!("Contact {i}"), "email": format!("contact{i}@example.org"),
                "tags": ["lead", "newsletter", "2026"], "note": "n".repeat(120),
            })
        })
        .collect();
    let event = json!({ "contacts": contacts });
    let kib = event.to_string().len() as f64 / 1024.0;

    let mut wide = String::from("name: wide\ntrigger: manual\nsteps:\n");
    for i in 0..5 {
        wide.push_str(&format!(
            "  - {{ id: s{i}, transform: identity, input: {{ n: \"{{{{ trigger.contacts | length }}}}\", last: \"{{{{ trigger.contacts[499].email }}}}\" }} }}\n"
        ));
    }
    db.put_flow(&FlowDef::parse(&wide).unwrap(), 0).unwrap();
    let runs = 200;
    let logged = db.log_stats().bytes.load(std::sync::atomic::Ordering::Relaxed);
    let secs = timed_runs(executor, db, "wide", &event, runs).await;
    let logged = db.log_stats().bytes.load(std::sync::atomic::Ordering::Relaxed) - logged;
    println!(
        "5-step flow on a {kib:.0} KiB event (each step reads two fields): {:.0} runs/s, {:.0} µs per step, {:.0} KiB logged per run",
        runs as f64 / secs,
        secs * 1e6 / (5 * runs) as f64,
        logged as f64 / 1024.0 / runs as f64
    );

    let each = "name: each\ntrigger: manual\nsteps:\n  - id: each\n    for_each: trigger.contacts\n    steps: [ { id: one, transform: identity, input: { email: \"{{ item.email }}\", i: \"{{ index }}\" } } ]\n";
    db.put_flow(&FlowDef::parse(each).unwrap(), 0).unwrap();
    let runs = 10;
    let secs = timed_runs(executor, db, "each", &event, runs).await;
    println!(
        "for_each over the same event's 500 contacts, one transform each: {:.0} items/s, {:.0} µs per item",
        (500 * runs) as f64 / secs,
        secs * 1e6 / (500 * runs) as f64
    );
}

fn main() {
    let runs: usize = std::env::var("WEFT_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5_000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let store = Arc::new(db.clone());
        let runtime = Runtime::new(RuntimeConfig { kv: Some(store.clone()), ..Default::default() }).unwrap();
        let registry = Registry::new(runtime.clone(), store.clone(), None);
        registry.insert(runtime.load_file(plugins::IDENTITY.as_ref()).await.unwrap());
        let executor = Executor::new(store, Arc::new(registry), Arc::new(SystemClock), ExecutorConfig::default());

        let three = FlowDef::parse(
            "name: three\ntrigger: manual\nsteps:\n  - { id: a, transform: identity, input: \"{{ trigger }}\" }\n  - { id: b, transform: identity, input: \"{{ steps.a.output }}\" }\n  - { id: c, transform: identity, input: { n: \"{{ steps.b.output.n }}\" } }\n",
        )
        .unwrap();
        db.put_flow(&three, 0).unwrap();
        for i in 0..200 {
            executor.start("three", json!({ "n": i })).unwrap();
        }
        executor.run_until_idle().await.unwrap();

        let started = Instant::now();
        for i in 0..runs {
            executor.start("three", json!({ "n": i })).unwrap();
        }
        executor.run_until_idle().await.unwrap();
        let secs = started.elapsed().as_secs_f64();
        let ok = db.runs(&RunFilter { flow: Some("three".into()), status: Some(RunStatus::Succeeded), ..Default::default() }).unwrap();
        assert_eq!(ok.len(), runs + 200, "every run succeeded");
        println!(
            "3-step flow of wasm transforms, durable step records: {runs} runs in {secs:.2} s = {:.0} runs/s, {:.0} steps/s",
            runs as f64 / secs,
            3.0 * runs as f64 / secs
        );

        let later = FlowDef::parse("name: later\ntrigger: manual\nsteps:\n  - { id: wait, delay: 1h }\n").unwrap();
        db.put_flow(&later, 0).unwrap();
        let before = rss_mib();
        for i in 0..10_000 {
            executor.start("later", json!({ "i": i })).unwrap();
        }
        executor.run_until_idle().await.unwrap();
        let waiting = db.runs(&RunFilter { flow: Some("later".into()), status: Some(RunStatus::Waiting), ..Default::default() }).unwrap();
        assert_eq!(waiting.len(), 10_000);
        drop(waiting);
        println!(
            "10,000 runs waiting on a delay: process RSS {:.1} MiB ({:+.1} MiB for the waiting runs), {} executing, {} tokio tasks alive",
            rss_mib(),
            rss_mib() - before,
            executor.running(),
            tokio::runtime::Handle::current().metrics().num_alive_tasks(),
        );

        large_event(&executor, &db).await;
    });
}
