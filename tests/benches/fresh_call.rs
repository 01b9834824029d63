//! The cost of one fresh-instance call of a trivial transform, with every limit
//! on (fuel, epoch deadline, memory/table limits, output cap, WASI context and
//! log capture built per call): `cargo bench -p weft-tests --bench fresh_call`.
//!
//! Prints per-call latency (mean, p50, p99) for sequential calls on one thread,
//! and throughput with calls spread over all cores.

use serde_json::json;
use std::time::{Duration, Instant};
use weft::runtime::{CallOptions, Runtime, RuntimeConfig};
use weft_tests::plugins;

fn main() {
    let calls: usize = std::env::var("WEFT_BENCH_CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
        let started = Instant::now();
        let plugin = runtime.load_file(plugins::IDENTITY.as_ref()).await.unwrap();
        println!("load (compile) of identity.wasm: {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
        let input = json!({ "id": 1, "name": "Ada" });
        let opts = CallOptions::default();

        for _ in 0..2_000 {
            plugin.transform(&opts, &input).await.result.unwrap();
        }

        let mut samples = Vec::with_capacity(calls);
        let total = Instant::now();
        for _ in 0..calls {
            let t = Instant::now();
            let out = plugin.transform(&opts, &input).await;
            samples.push(t.elapsed());
            debug_assert!(out.result.is_ok());
        }
        let total = total.elapsed();
        samples.sort();
        let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        println!(
            "fresh-instance transform call, sequential: mean {:.2} µs, p50 {:.2} µs, p99 {:.2} µs ({calls} calls)",
            us(total) / calls as f64,
            us(pct(0.50)),
            us(pct(0.99)),
        );

        let tasks = std::thread::available_parallelism().map_or(2, |n| n.get()) * 4;
        let per_task = calls / tasks;
        let total = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let plugin = plugin.clone();
                let input = input.clone();
                tokio::spawn(async move {
                    for _ in 0..per_task {
                        plugin.transform(&CallOptions::default(), &input).await.result.unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        let elapsed = total.elapsed().as_secs_f64();
        println!(
            "fresh-instance transform calls, {tasks} concurrent tasks: {:.0} calls/s",
            (per_task * tasks) as f64 / elapsed
        );
    });
}
