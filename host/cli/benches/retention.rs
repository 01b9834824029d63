//! Retention at scale: `cargo bench -p weft --bench retention`.
//!
//! A real `weft serve` (the release binary, its own process) gets
//! `WEFT_BENCH_RUNS` (2,000,000) small runs: webhook deliveries of
//! `WEFT_BENCH_BATCH` (25) events each to a flow of one transform, from
//! `WEFT_BENCH_FILL` (2) closed-loop clients, while `WEFT_BENCH_PROBES` (4)
//! more clients send single events to a second such flow and their latency
//! is recorded (ingress: answered 202 once the run is durable).
//!
//! 1. **Without pruning**: succeeded runs are kept for an hour, so the
//!    pruner has nothing to do; the probes' latency over 20 s, once
//!    `WEFT_BENCH_FIRST` (100,000) runs are in.
//! 2. **While the pruner works**: weft restarts with succeeded runs kept
//!    30 s (`--prune-interval 5s`): everything so far is due at once and is
//!    deleted while the same load goes on; the probes' latency over 20 s.
//! 3. **Levelling off**: the load goes on to `WEFT_BENCH_RUNS`; every 10 s the
//!    data directory's size on disk (sled, the write-ahead log), runs created
//!    and pruned. With retention the size must stop growing.

use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use weft_tests::load::{self, Load};
use weft_tests::measure::disk_bytes;
use weft_tests::plugins;
use weft_tests::weft::{Weft, workspace};

const EXE: &str = env!("CARGO_BIN_EXE_weft");

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

fn flow(name: &str) -> Value {
    json!({
        "name": name,
        "trigger": { "webhook": { "connector": "http", "trigger": "incoming", "connection": "inbox" } },
        "steps": [{ "id": "keep", "transform": "identity", "input": "{{ trigger }}" }],
    })
}

async fn counter(weft: &Weft, name: &str) -> u64 {
    let metrics = weft.api("GET", "/metrics", None).await.text();
    metrics.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok()).unwrap_or(0)
}

/// The fill load: batches of events to `url`, for `secs`. Answers other than 202 and 429 are wrong.
fn fill(url: String, clients: usize, batch: usize, secs: u64) -> tokio::task::JoinHandle<Load> {
    tokio::spawn(async move {
        let events = serde_json::to_vec(&(0..batch).map(|i| json!({ "n": i })).collect::<Vec<_>>()).unwrap();
        load::drive(
            &url,
            clients,
            Duration::from_secs(secs),
            move |_, _| events.clone(),
            |status, _, _, _| status == 202 || status == 429,
        )
        .await
    })
}

/// The probes: single events to `url` for `secs`; their latency is what is reported.
async fn probe(url: &str, clients: usize, secs: u64) -> Load {
    load::drive(
        url,
        clients,
        Duration::from_secs(secs),
        |_, _| b"{\"probe\":true}".to_vec(),
        |status, _, _, _| status == 202,
    )
    .await
}

struct Store<'a> {
    data: &'a Path,
}

impl Store<'_> {
    fn line(&self) -> String {
        let (db, wal) = (disk_bytes(&self.data.join("db")), disk_bytes(&self.data.join("wal")));
        format!(
            "data directory {:.0} MiB (sled {:.0}, write-ahead log {:.0})",
            mib(disk_bytes(self.data)),
            mib(db),
            mib(wal)
        )
    }
}

fn main() {
    let total: u64 = env_or("WEFT_BENCH_RUNS", 2_000_000);
    let first: u64 = env_or("WEFT_BENCH_FIRST", 100_000);
    let batch: usize = env_or("WEFT_BENCH_BATCH", 25);
    let fill_clients: usize = env_or("WEFT_BENCH_FILL", 2);
    let probes: usize = env_or("WEFT_BENCH_PROBES", 4);
    let window: u64 = env_or("WEFT_BENCH_SECS", 20);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (_dir, data, plugin_dir) = workspace(&[plugins::HTTP, plugins::IDENTITY]);
        let store = Store { data: &data };
        let common = ["--max-backlog", "100000", "--max-events-per-request", "1000"];
        let keep_all = [&common[..], &["--retention-succeeded", "1h"]].concat();
        let mut weft = Weft::start(EXE, &data, &plugin_dir, &keep_all);
        weft.ok("PUT", "/api/connections/inbox", Some(&json!({ "plugin": "http" }))).await;
        let mut urls = Vec::new();
        for name in ["fill", "probe"] {
            weft.ok("POST", "/api/flows", Some(&flow(name))).await;
            let status = weft.ok("POST", &format!("/api/flows/{name}/activate"), None).await;
            urls.push(status["webhook_url"].as_str().unwrap().to_string());
        }
        let (fill_url, probe_url) = (urls[0].clone(), urls[1].clone());
        println!(
            "retention bench: {total} runs ({batch} events per fill request, {fill_clients} fill clients, {probes} probe clients)"
        );

        // Phase 1: fill, then measure with nothing to prune.
        let started = Instant::now();
        let mut created = 0;
        while created < first {
            fill(fill_url.clone(), fill_clients, batch, 10).await.unwrap();
            created = counter(&weft, "weft_runs_created_total").await;
            println!("  t={:>4.0}s created {created:>7}; {}", started.elapsed().as_secs_f64(), store.line());
        }
        let filling = fill(fill_url.clone(), fill_clients, batch, window);
        let quiet = probe(&probe_url, probes, window).await;
        let filled = filling.await.unwrap();
        println!("without pruning: probes {}", quiet.summary());
        println!("                 fill {}", filled.summary());
        let before_restart = counter(&weft, "weft_runs_created_total").await;

        // Phase 2: everything is due for pruning at once.
        weft.stop();
        let prune = [&common[..], &["--retention-succeeded", "30s", "--prune-interval", "5s"]].concat();
        weft = Weft::start(EXE, &data, &plugin_dir, &prune);
        // A new port: the webhook URLs follow it (the tokens stay).
        let url = |name: &str| {
            let weft = &weft;
            let name = name.to_string();
            async move { weft.ok("GET", &format!("/api/flows/{name}/hook"), None).await["url"].as_str().unwrap().to_string() }
        };
        let (fill_url, probe_url) = (url("fill").await, url("probe").await);
        let filling = fill(fill_url.clone(), fill_clients, batch, window);
        let busy = probe(&probe_url, probes, window).await;
        let filled = filling.await.unwrap();
        let pruned = counter(&weft, "weft_runs_pruned_total").await;
        println!("while pruning:   probes {}", busy.summary());
        println!("                 fill {}", filled.summary());
        println!("                 {pruned} runs pruned meanwhile");
        println!(
            "ingress p99: {:.2} ms without pruning, {:.2} ms while the pruner works ({:.2}x)",
            quiet.percentile_ms(0.99),
            busy.percentile_ms(0.99),
            busy.percentile_ms(0.99) / quiet.percentile_ms(0.99)
        );

        // Phase 3: on to the total, watching the data directory.
        let started = Instant::now();
        let mut created = before_restart + counter(&weft, "weft_runs_created_total").await;
        while created < total {
            fill(fill_url.clone(), fill_clients, batch, 10).await.unwrap();
            created = before_restart + counter(&weft, "weft_runs_created_total").await;
            let pruned = counter(&weft, "weft_runs_pruned_total").await;
            println!(
                "  t={:>4.0}s created {created:>7}, pruned {pruned:>7} since the restart; {}",
                started.elapsed().as_secs_f64(),
                store.line()
            );
        }
        // Once the last runs are past their 30 s, the pruner catches up.
        for _ in 0..8 {
            tokio::time::sleep(Duration::from_secs(10)).await;
            let pruned = counter(&weft, "weft_runs_pruned_total").await;
            println!(
                "  t={:>4.0}s idle, pruned {pruned:>7} since the restart; {}",
                started.elapsed().as_secs_f64(),
                store.line()
            );
        }
        weft.stop();
    });
}
