//! What a full key-value namespace costs on disk and in memory:
//! `cargo bench -p weft --bench kv`.
//!
//! A real plugin (`hostile`'s `kv-fill`) fills one namespace of a data
//! directory on disk until the store refuses (`quota-exceeded`), with the
//! default limits (16 MiB quota, 65,536 keys), for three value sizes: tiny
//! values (the number of keys binds), 1 KiB and 60 KiB values (the quota
//! binds). Then it rewrites every entry twice, as a plugin keeping state
//! would. Each case runs in a process of its own (this binary again), so its
//! memory is its own. Printed per case: entries stored, the data directory's
//! size on disk — sled, and the write-ahead log, which holds what was written
//! since the last checkpoint and is bounded for the whole store — against
//! the quota, and the process's resident memory before and after.
//! `WEFT_BENCH_CACHE_MIB` sets sled's cache (default: weft's, 128 MiB),
//! `WEFT_BENCH_KV_REWRITES` the number of rewrites (2).

/// weft's own allocator, so memory is measured as weft would use it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use serde_json::json;
use std::sync::Arc;
use weft_core::connection::Connection;
use weft_core::plugin::CallContext;
use weft_runtime::{CallOptions, Limits, Runtime, RuntimeConfig};
use weft_store::{Db, StoreOptions};
use weft_tests::measure::{disk_bytes, rss_mib};
use weft_tests::plugins;

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

/// The environment variable that makes this binary run one case.
const CASE: &str = "WEFT_BENCH_KV_VALUE_BYTES";

fn main() {
    let cache_mib: u64 = std::env::var("WEFT_BENCH_CACHE_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(128);
    let limits = Limits::default();
    let Some(value_bytes) = std::env::var(CASE).ok().and_then(|v| v.parse::<u64>().ok()) else {
        println!(
            "kv namespace: quota {} MiB, at most {} keys, {} bytes charged per entry beyond key and value; sled cache {cache_mib} MiB",
            limits.kv.quota_bytes >> 20,
            limits.kv.max_keys,
            weft_store::KV_ENTRY_BYTES
        );
        let exe = std::env::current_exe().unwrap();
        for value_bytes in [8u64, 1024, 60 << 10] {
            let status = std::process::Command::new(&exe).env(CASE, value_bytes.to_string()).status().unwrap();
            assert!(status.success(), "the {value_bytes}-byte case failed");
        }
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let quota = limits.kv.quota_bytes;
        {
            let dir = tempfile::tempdir().unwrap();
            let db = Db::open_with(dir.path(), StoreOptions { cache_bytes: cache_mib << 20 }).unwrap();
            let runtime = Runtime::new(RuntimeConfig { kv: Some(Arc::new(db.clone())), ..Default::default() }).unwrap();
            let plugin = runtime.load_file(plugins::HOSTILE.as_ref()).await.unwrap();
            let conn = Arc::new(Connection { id: "c".into(), ..Default::default() });
            let opts = CallOptions { connection: Some(&conn), limits: None, io: None };
            let ctx = CallContext { idempotency_key: "bench".into(), attempt: 1 };
            let rss_before = rss_mib();
            let (empty_sled, empty_wal) = (disk_bytes(&dir.path().join("db")), disk_bytes(&dir.path().join("wal")));
            let mut stored = 0;
            // Fill, then rewrite everything twice: a rewrite replaces every
            // entry and stops at the first new key, which no longer fits. A
            // call's CPU budget covers 10,000 writes.
            let rewrites: u64 = std::env::var("WEFT_BENCH_KV_REWRITES").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
            for round in 0..=rewrites {
                let mut from = 0;
                loop {
                    let input = json!({ "value_bytes": value_bytes, "from": from, "count": 10_000 });
                    let out = plugin.invoke(&opts, "kv-fill", &input, &ctx).await.result.expect("kv-fill");
                    from += out["stored"].as_u64().unwrap();
                    if !out["error"].is_null() {
                        assert_eq!(out["error"], json!(format!("KvError::QuotaExceeded({quota})")), "{out}");
                        break;
                    }
                }
                if round == 0 {
                    stored = from;
                } else {
                    assert_eq!(from, stored, "a rewrite replaces every entry");
                }
                db.flush().unwrap();
                let sled = disk_bytes(&dir.path().join("db")).saturating_sub(empty_sled);
                let wal = disk_bytes(&dir.path().join("wal")).saturating_sub(empty_wal);
                let what = if round == 0 { "filled".to_string() } else { format!("rewritten x{round}") };
                println!(
                    "  {value_bytes:>6}-byte values, {stored:>6} entries, {what:<13}: sled +{:.1} MiB = {:.2}x the quota, \
                     write-ahead log +{:.1} MiB; RSS {rss_before:.0} -> {:.0} MiB",
                    mib(sled),
                    sled as f64 / quota as f64,
                    mib(wal),
                    rss_mib()
                );
            }
        }
    });
}
