//! The cost of one fresh-instance call of a trivial transform, with every limit
//! on (fuel, epoch deadline, memory/table limits, output cap, WASI context and
//! log capture built per call): `cargo bench -p weft-tests --bench fresh_call`.
//!
//! Prints per-call latency (mean, p50, p99) for sequential calls on one thread,
//! and throughput with calls spread over all cores. Then the mean of each of
//! the four calls a run of the end-to-end bench's flow makes (`e2e.rs`), alone
//! and sequential: the http connector's `handle-webhook`, the `clean-contact`
//! transform, the connector's `request` action (a POST over wasi-http to a
//! loopback app in this process) and `identity`.

use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft_core::connection::Connection;
use weft_core::plugin::{CallContext, WebhookRequest};
use weft_runtime::{CallOptions, Plugin, Runtime, RuntimeConfig};
use weft_tests::{cpu_time, plugins};

/// One call to measure, owning what it needs.
type Call = Pin<Box<dyn Future<Output = bool> + Send>>;

/// Calls per second and this process's CPU µs per call of `n` runs of
/// `call`, made by `tasks` concurrent tasks (after a warm-up of `n / 10`).
async fn measure<F>(n: usize, tasks: usize, call: F) -> (f64, f64)
where
    F: Fn() -> Call + Clone + Send + 'static,
{
    let round = async |n: usize| {
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let call = call.clone();
                tokio::spawn(async move {
                    for _ in 0..n / tasks {
                        assert!(call().await, "the call failed");
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
    };
    round(n / 10).await;
    let (started, cpu) = (Instant::now(), cpu_time("self").unwrap_or_default());
    round(n).await;
    let calls = (n / tasks * tasks) as f64;
    (calls / started.elapsed().as_secs_f64(), (cpu_time("self").unwrap_or_default() - cpu).as_secs_f64() * 1e6 / calls)
}

/// A call of `plugin`'s transform on `input`.
fn transform(plugin: Plugin, input: Arc<Value>) -> impl Fn() -> Call + Clone + Send + 'static {
    move || -> Call {
        let (plugin, input) = (plugin.clone(), input.clone());
        Box::pin(async move { plugin.transform(&CallOptions::default(), &input).await.result.is_ok() })
    }
}

/// The four calls of the e2e flow, each alone, 16 at a time (the e2e bench's
/// concurrency).
async fn flow_calls(runtime: &Runtime, calls: usize) {
    let app = weft_tests::app::TestApp::start().await;
    let load = async |path: &str| runtime.load_file(path.as_ref()).await.unwrap();
    let (http, clean, identity) =
        (load(plugins::HTTP).await, load(plugins::CLEAN_CONTACT).await, load(plugins::IDENTITY).await);
    let connection = |value: Value| Arc::new(serde_json::from_value::<Connection>(value).unwrap());
    let inbox = connection(json!({ "id": "inbox" }));
    let target = connection(json!({ "id": "app", "settings": { "base_url": app.url("") }, "hosts": [app.grant()] }));
    let contact = Arc::new(json!({ "name": " Ada Lovelace ", "email": " Ada.1@Example.COM " }));
    let request = Arc::new(WebhookRequest {
        trigger: "incoming".into(),
        config: json!({}),
        method: "POST".into(),
        path: String::new(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: contact.to_string().into_bytes(),
    });
    let action = Arc::new(
        json!({ "method": "POST", "url": "/echo", "body": { "name": "Ada Lovelace", "email": "ada.1@example.com" } }),
    );
    let ctx = Arc::new(CallContext { idempotency_key: "run/post".into(), attempt: 1 });
    let reply = Arc::new(json!({ "email": "ada.1@example.com", "serial": 1 }));
    let (n, tasks) = (calls / 10, 16);
    let figures = [
        ("http handle-webhook", {
            let http = http.clone();
            let call = move || -> Call {
                let (http, inbox, request) = (http.clone(), inbox.clone(), request.clone());
                Box::pin(async move {
                    let opts = CallOptions { connection: Some(&inbox), limits: None, io: None };
                    http.handle_webhook(&opts, &request).await.result.is_ok()
                })
            };
            measure(n, tasks, call).await
        }),
        ("clean-contact transform", measure(n, tasks, transform(clean, contact)).await),
        ("http request action (a POST over wasi-http to a loopback app in this process)", {
            let call = move || -> Call {
                let (http, target, action, ctx) = (http.clone(), target.clone(), action.clone(), ctx.clone());
                Box::pin(async move {
                    let opts = CallOptions { connection: Some(&target), limits: None, io: None };
                    http.invoke(&opts, "request", &action, &ctx).await.result.is_ok()
                })
            };
            measure(n, tasks, call).await
        }),
        ("identity transform", measure(n, tasks, transform(identity, reply)).await),
    ];
    for (name, (rate, cpu)) in &figures {
        println!(
            "the e2e flow's calls, each alone, {tasks} at a time: {name}: {rate:.0} calls/s, {cpu:.1} µs of CPU per call"
        );
    }
    println!(
        "the e2e flow's calls, sum: {:.1} µs of CPU per run ({n} calls each; this process's CPU, the app's included)",
        figures.iter().map(|(_, m)| m.1).sum::<f64>()
    );
}

fn main() {
    let calls: usize = std::env::var("WEFT_BENCH_CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        // Connector calls get a key-value namespace, as in `weft serve`.
        let kv = Arc::new(weft_store::Db::temporary().unwrap());
        let runtime = Runtime::new(RuntimeConfig { kv: Some(kv), ..Default::default() }).unwrap();
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

        flow_calls(&runtime, calls).await;
    });
}
