//! `/metrics` in the Prometheus text format (version 0.0.4).

use super::Shared;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::Ordering;

/// Counters the server keeps itself (the executor keeps its own).
#[derive(Default)]
pub(crate) struct Metrics {
    hooks: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Count one webhook request by how it ended.
    pub fn hook(&self, outcome: &'static str) {
        *self.hooks.lock().expect("metrics").entry(outcome).or_default() += 1;
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

pub(super) async fn render(State(state): State<Shared>) -> Response {
    let mut out = String::new();
    family(&mut out, "weft_webhook_requests_total", "counter", "Webhook requests by outcome.");
    for (outcome, n) in state.metrics.hooks.lock().expect("metrics").iter() {
        let _ = writeln!(out, "weft_webhook_requests_total{{outcome=\"{outcome}\"}} {n}");
    }
    let stats = state.executor.stats();
    family(&mut out, "weft_runs_created_total", "counter", "Runs created by triggers, the API and re-runs.");
    let _ = writeln!(out, "weft_runs_created_total {}", stats.created.load(Ordering::Relaxed));
    family(&mut out, "weft_runs_finished_total", "counter", "Runs that ended, by status.");
    for (status, counter) in
        [("succeeded", &stats.succeeded), ("failed", &stats.failed), ("cancelled", &stats.cancelled)]
    {
        let _ = writeln!(out, "weft_runs_finished_total{{status=\"{status}\"}} {}", counter.load(Ordering::Relaxed));
    }
    family(&mut out, "weft_runs_pruned_total", "counter", "Ended runs deleted by retention.");
    let _ = writeln!(out, "weft_runs_pruned_total {}", state.pruner.pruned());
    family(&mut out, "weft_run_backlog", "gauge", "Runs queued or executing.");
    let _ = writeln!(out, "weft_run_backlog {}", state.store.backlog().unwrap_or_default());
    family(&mut out, "weft_runs_executing", "gauge", "Runs executing now.");
    let _ = writeln!(out, "weft_runs_executing {}", state.executor.running());
    let written = state.store.write_stats();
    for (name, help, counter) in [
        ("weft_store_writes_total", "Store writes (one write-ahead log entry each).", written.writes),
        (
            "weft_store_syncs_total",
            "fdatasyncs of the write-ahead log (group commit: one for all waiting).",
            written.syncs,
        ),
        ("weft_store_log_bytes_total", "Bytes appended to the write-ahead log.", written.log_bytes),
    ] {
        family(&mut out, name, "counter", help);
        let _ = writeln!(out, "{name} {counter}");
    }
    let health = state.store.health();
    family(&mut out, "weft_store_up", "gauge", "Whether the store answers (1) or not (0), by backend.");
    let _ = writeln!(out, "weft_store_up{{backend=\"{}\"}} {}", health.backend, health.error.is_none() as u8);
    if let Some(pool) = health.pool {
        family(&mut out, "weft_store_pool_connections", "gauge", "Database connections in the pool, by state.");
        let _ = writeln!(out, "weft_store_pool_connections{{state=\"open\"}} {}", pool.open);
        let _ = writeln!(out, "weft_store_pool_connections{{state=\"idle\"}} {}", pool.idle);
        let _ = writeln!(out, "weft_store_pool_connections{{state=\"max\"}} {}", pool.max);
        family(&mut out, "weft_store_pool_waiting", "gauge", "Callers waiting for a database connection.");
        let _ = writeln!(out, "weft_store_pool_waiting {}", pool.waiting);
        family(&mut out, "weft_store_statements_total", "counter", "Statements sent to the database (round trips).");
        let _ = writeln!(out, "weft_store_statements_total {}", pool.statements);
        family(&mut out, "weft_node_runs_held", "gauge", "Runs this node holds (executes) now, in a shared store.");
        let _ = writeln!(out, "weft_node_runs_held {}", pool.held);
        family(&mut out, "weft_node_claims_total", "counter", "Runs this node has taken to execute.");
        let _ = writeln!(out, "weft_node_claims_total {}", pool.claims);
    }
    family(&mut out, "weft_plugins_loaded", "gauge", "Plugins loaded.");
    let _ = writeln!(out, "weft_plugins_loaded {}", state.plugins.installed_count());
    family(&mut out, "weft_flows_active", "gauge", "Flows whose trigger is active.");
    let active = state.store.triggers().map(|t| t.iter().filter(|r| r.active).count()).unwrap_or_default();
    let _ = writeln!(out, "weft_flows_active {active}");
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
