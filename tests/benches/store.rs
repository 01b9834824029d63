//! The store's cost per step record: `cargo bench -p weft-tests --bench store`.
//!
//! On a fresh sled store in a temporary directory (on disk):
//! 1. writing one step record (a contact-sized input and output), no flush;
//! 2. a durable step record: write, then the group-commit flush the executor
//!    awaits, from 1 writer and from 16 concurrent writers (how many records
//!    one flush covers then).

use serde_json::json;
use std::sync::Arc;
use std::time::Instant;
use weft_core::run::{RunStore, StepRecord, StepStatus};
use weft_store::Db;

fn record(i: u64) -> StepRecord {
    let contact = json!({ "name": "Ada Lovelace", "email": format!("ada.{i}@example.com"), "first_name": "Ada", "last_name": "Lovelace" });
    StepRecord {
        path: "clean".into(),
        step_id: "clean".into(),
        status: StepStatus::Succeeded,
        input: Some(contact.clone()),
        output: Some(contact),
        error: None,
        attempts: 1,
        retried: Vec::new(),
        started_ms: 1_700_000_000_000 + i,
        ended_ms: Some(1_700_000_000_001 + i),
        wake_ms: None,
        logs: Vec::new(),
        dropped_logs: 0,
        seq: 0,
        pinned: false,
        node: None,
        child: None,
        throttled: false,
        io: None,
    }
}

fn main() {
    let n: u64 = std::env::var("WEFT_BENCH_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path()).unwrap());

        let started = Instant::now();
        for i in 0..n {
            db.put_step(&format!("run-a-{i:08}"), &mut record(i)).unwrap();
        }
        let write = started.elapsed().as_secs_f64() * 1e6 / n as f64;
        println!("step record write (no flush): {write:.2} µs per record ({n} records)");

        let durable = n / 10;
        let started = Instant::now();
        for i in 0..durable {
            db.put_step(&format!("run-b-{i:08}"), &mut record(i)).unwrap();
            RunStore::flush(&*db).await.unwrap();
        }
        let one = started.elapsed().as_secs_f64() * 1e6 / durable as f64;
        println!("durable step record, 1 writer (write + flush each): {one:.1} µs per record ({durable} records)");

        let writers = 16u64;
        let per = durable / writers * 4;
        let started = Instant::now();
        let tasks: Vec<_> = (0..writers)
            .map(|w| {
                let db = db.clone();
                tokio::spawn(async move {
                    for i in 0..per {
                        db.put_step(&format!("run-c-{w:02}-{i:08}"), &mut record(i)).unwrap();
                        RunStore::flush(&*db).await.unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let total = writers * per;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "durable step records, {writers} concurrent writers (group commit): {:.1} µs per record, {:.0} records/s ({total} records)",
            secs * 1e6 / total as f64,
            total as f64 / secs
        );
    });
}
