//! Retention: ended runs are pruned by age and by number, so the store's size
//! levels off however busy a flow is.
//!
//! Each flow keeps its succeeded runs for `succeeded` (default 14 days) after
//! they ended, its failed and cancelled runs for `failed` (default 60 days),
//! and at most `max_runs` ended runs (default 100,000; the oldest go first).
//! A flow's `retention:` overrides the server's defaults field by field; runs
//! of a deleted flow follow the defaults. Runs that have not ended — queued,
//! running, waiting on a delay or a retry — are never pruned.
//!
//! The [`Pruner`] runs a pass at start-up and then at an interval, on a
//! thread of its own, deleting in small batches with a pause between them at
//! least as long as the batch took: each batch is one short store write, so
//! ingress, which writes through the same store, is never held up for long,
//! and the pruner takes at most half of one core (the server also runs it at
//! the lowest OS priority). Like the rest of this crate, it reaches the
//! store only through [`RunStore`].

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use weft_core::model::RetentionDef;
use weft_core::run::{Clock, EndClass, EndedRun, RunStore, StoreResult};

/// How long a flow's ended runs are kept, and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub succeeded: Duration,
    /// Failed and cancelled runs.
    pub failed: Duration,
    pub max_runs: u64,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            succeeded: Duration::from_secs(14 * 86_400),
            failed: Duration::from_secs(60 * 86_400),
            max_runs: 100_000,
        }
    }
}

impl RetentionPolicy {
    /// The policy of a flow with `def` (its `retention:`), over these defaults.
    /// Durations are checked when the flow is validated; one that does not
    /// parse here keeps the default.
    pub fn with(&self, def: Option<&RetentionDef>) -> Self {
        let Some(def) = def else { return *self };
        let parse = |text: &Option<String>, default| {
            text.as_deref().and_then(|t| humantime::parse_duration(t).ok()).unwrap_or(default)
        };
        Self {
            succeeded: parse(&def.succeeded, self.succeeded),
            failed: parse(&def.failed, self.failed),
            max_runs: def.max_runs.unwrap_or(self.max_runs),
        }
    }

    fn age(&self, class: EndClass) -> Duration {
        match class {
            EndClass::Succeeded => self.succeeded,
            EndClass::Failed => self.failed,
            EndClass::Test => TEST_RUNS_AGE,
        }
    }
}

/// Test runs (started from the editor) are kept this long after they end…
pub const TEST_RUNS_AGE: Duration = Duration::from_secs(7 * 86_400);
/// …and at most this many per flow, the newest.
pub const TEST_RUNS_MAX: u64 = 100;

/// How the pruner paces itself.
#[derive(Debug, Clone, Copy)]
pub struct PrunerConfig {
    /// Time between passes.
    pub interval: Duration,
    /// Runs deleted per store write.
    pub batch: usize,
    /// The shortest pause after a batch; the pause is at least as long as
    /// the batch took, so the pruner takes at most half of one core and
    /// other writers get the store between its writes.
    pub pause: Duration,
}

impl Default for PrunerConfig {
    fn default() -> Self {
        Self { interval: Duration::from_secs(60), batch: 64, pause: Duration::from_millis(1) }
    }
}

/// What a pass pruned (or, dry, would prune) of one flow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FlowPruned {
    pub flow: String,
    /// Succeeded runs older than the flow's `succeeded`.
    pub succeeded: u64,
    /// Failed and cancelled runs older than the flow's `failed`.
    pub failed: u64,
    /// Further runs beyond the flow's `max_runs`, oldest first.
    pub over_max_runs: u64,
    /// Test runs older than 7 days or beyond the newest 100.
    pub test: u64,
}

impl FlowPruned {
    fn total(&self) -> u64 {
        self.succeeded + self.failed + self.over_max_runs + self.test
    }
}

/// What a pass pruned, by flow (flows with nothing to prune are left out).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    pub dry_run: bool,
    pub runs: u64,
    pub flows: Vec<FlowPruned>,
}

/// Prunes ended runs. Cheap to clone.
#[derive(Clone)]
pub struct Pruner {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn RunStore>,
    clock: Arc<dyn Clock>,
    defaults: RetentionPolicy,
    config: PrunerConfig,
    pruned: AtomicU64,
    /// One pass at a time (the background one or an API call's).
    pass: std::sync::Mutex<()>,
}

impl Pruner {
    pub fn new(
        store: Arc<dyn RunStore>,
        clock: Arc<dyn Clock>,
        defaults: RetentionPolicy,
        config: PrunerConfig,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                defaults,
                config,
                pruned: AtomicU64::new(0),
                pass: std::sync::Mutex::new(()),
            }),
        }
    }

    /// The server's defaults.
    pub fn defaults(&self) -> &RetentionPolicy {
        &self.inner.defaults
    }

    /// Runs pruned since start.
    pub fn pruned(&self) -> u64 {
        self.inner.pruned.load(Ordering::Relaxed)
    }

    /// Prune now, or with `dry_run` only count what would go. Runs off the async workers.
    pub async fn prune(&self, dry_run: bool) -> StoreResult<PruneReport> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.pass(dry_run))
            .await
            .unwrap_or_else(|e| Err(weft_core::run::StoreFailure(format!("the pruner stopped: {e}"))))
    }

    /// A pass at once and then every interval, until `stop` says so; blocks
    /// (run it on a thread of its own, at whatever priority the host gives
    /// background work).
    pub fn run_blocking(&self, stop: &std::sync::atomic::AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            match self.pass(false) {
                Ok(report) if report.runs > 0 => tracing::info!(runs = report.runs, "pruned ended runs"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "pruning runs failed"),
            }
            let until = std::time::Instant::now() + self.inner.config.interval;
            while !stop.load(Ordering::Relaxed) && std::time::Instant::now() < until {
                std::thread::sleep(Duration::from_millis(100).min(self.inner.config.interval));
            }
        }
    }

    /// The policy of every flow that has ended runs.
    fn policies(&self) -> StoreResult<BTreeMap<String, RetentionPolicy>> {
        let store = &self.inner.store;
        let defined: BTreeMap<String, RetentionPolicy> =
            store.flows()?.into_iter().map(|f| (f.name, self.inner.defaults.with(f.def.retention.as_ref()))).collect();
        Ok(store
            .flows_with_ended_runs()?
            .into_iter()
            .map(|flow| {
                let policy = defined.get(&flow).copied().unwrap_or(self.inner.defaults);
                (flow, policy)
            })
            .collect())
    }

    fn pass(&self, dry_run: bool) -> StoreResult<PruneReport> {
        let _one = self.inner.pass.lock().unwrap_or_else(|p| p.into_inner());
        let store = &self.inner.store;
        store.prepare_retention()?;
        let now = self.inner.clock.now_ms();
        let mut report = PruneReport { dry_run, ..PruneReport::default() };
        for (flow, policy) in self.policies()? {
            let mut pruned = FlowPruned { flow: flow.clone(), ..FlowPruned::default() };
            for class in [EndClass::Succeeded, EndClass::Failed, EndClass::Test] {
                let cutoff = now.saturating_sub(policy.age(class).as_millis() as u64);
                let n = if dry_run {
                    store.count_ended(&flow, class, cutoff)?
                } else {
                    self.delete_while(|limit| store.ended_runs(&flow, class, cutoff, limit))?
                };
                match class {
                    EndClass::Succeeded => pruned.succeeded = n,
                    EndClass::Failed => pruned.failed = n,
                    EndClass::Test => pruned.test = n,
                }
            }
            // Test runs beyond the newest TEST_RUNS_MAX, oldest first.
            let tests_left = store.count_ended(&flow, EndClass::Test, u64::MAX)?.saturating_sub(if dry_run {
                pruned.test
            } else {
                0
            });
            if tests_left > TEST_RUNS_MAX {
                pruned.test += if dry_run {
                    tests_left - TEST_RUNS_MAX
                } else {
                    self.delete_while(|limit| {
                        let excess = store.count_ended(&flow, EndClass::Test, u64::MAX)?.saturating_sub(TEST_RUNS_MAX);
                        store.ended_runs(&flow, EndClass::Test, u64::MAX, (excess as usize).min(limit))
                    })?
                };
            }
            let left =
                store.ended_total(&flow)?.saturating_sub(if dry_run { pruned.succeeded + pruned.failed } else { 0 });
            if left > policy.max_runs {
                pruned.over_max_runs = if dry_run {
                    left - policy.max_runs
                } else {
                    self.delete_while(|limit| {
                        let excess = store.ended_total(&flow)?.saturating_sub(policy.max_runs) as usize;
                        oldest_ended(store.as_ref(), &flow, excess.min(limit))
                    })?
                };
            }
            if pruned.total() > 0 {
                report.runs += pruned.total();
                report.flows.push(pruned);
            }
        }
        Ok(report)
    }

    /// Delete the runs `next` lists, a batch at a time, until it lists none; how many went.
    fn delete_while(&self, mut next: impl FnMut(usize) -> StoreResult<Vec<EndedRun>>) -> StoreResult<u64> {
        let config = &self.inner.config;
        let mut deleted = 0;
        let mut previous: Option<String> = None;
        loop {
            let started = std::time::Instant::now();
            let batch = next(config.batch.max(1))?;
            // `delete_runs` takes every listed run out of the listing (a run
            // that turns out not to have ended loses its stale entry), so a
            // batch never comes twice; stop should a store break that.
            if batch.is_empty() || previous.as_deref() == Some(batch[0].id.as_str()) {
                return Ok(deleted);
            }
            previous = Some(batch[0].id.clone());
            let n = self.inner.store.delete_runs(&batch)? as u64;
            deleted += n;
            self.inner.pruned.fetch_add(n, Ordering::Relaxed);
            std::thread::sleep(config.pause.max(started.elapsed()));
        }
    }
}

/// The `limit` oldest ended runs of `flow`, whatever their end.
fn oldest_ended(store: &dyn RunStore, flow: &str, limit: usize) -> StoreResult<Vec<EndedRun>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut both = store.ended_runs(flow, EndClass::Succeeded, u64::MAX, limit)?;
    both.extend(store.ended_runs(flow, EndClass::Failed, u64::MAX, limit)?);
    both.sort_by_key(|r| r.ended_ms);
    both.truncate(limit);
    Ok(both)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;
    use std::sync::atomic::AtomicU64;
    use weft_core::model::FlowDef;
    use weft_core::run::{BoxFuture, RunFilter, RunRecord, RunStatus};

    struct At(AtomicU64);

    impl Clock for At {
        fn now_ms(&self) -> u64 {
            self.0.load(Ordering::SeqCst)
        }
        fn sleep_until(&self, _: u64) -> BoxFuture<'_, ()> {
            Box::pin(std::future::ready(()))
        }
    }

    const DAY: u64 = 86_400_000;

    fn ended(db: &MemoryStore, id: &str, flow: &str, status: RunStatus, ended_ms: u64) {
        let run = RunRecord {
            id: id.into(),
            flow: flow.into(),
            version: 1,
            status,
            trigger: Default::default(),
            created_ms: 0,
            updated_ms: ended_ms,
            error: None,
            output: None,
            wake_ms: (status == RunStatus::Waiting).then_some(u64::MAX / 2),
            rerun_of: None,
            plugins: Default::default(),
            test: None,
            parent: None,
            failure_of: None,
            error_run: None,
        };
        db.create_run(&RunRecord { status: RunStatus::Queued, wake_ms: None, ..run.clone() }).unwrap();
        db.save_run(&run).unwrap();
    }

    #[tokio::test]
    async fn runs_go_by_age_and_number_per_flow_and_runs_in_progress_stay() {
        let db = Arc::new(MemoryStore::default());
        let flow = |text: &str| FlowDef::parse(text).unwrap();
        db.put_flow(
            &flow("name: keep-two\ntrigger: manual\nretention: { max_runs: 2 }\nsteps: [ { id: d, delay: 1s } ]"),
            0,
        )
        .unwrap();
        db.put_flow(&flow("name: short\ntrigger: manual\nretention: { succeeded: 1d, failed: 3d }\nsteps: [ { id: d, delay: 1s } ]"), 0)
            .unwrap();
        let now = 100 * DAY;
        // `short`: succeeded after 1 day, failed after 3.
        ended(&db, "s1", "short", RunStatus::Succeeded, now - 2 * DAY);
        ended(&db, "s2", "short", RunStatus::Succeeded, now - DAY / 2);
        ended(&db, "s3", "short", RunStatus::Failed, now - 2 * DAY);
        ended(&db, "s4", "short", RunStatus::Cancelled, now - 4 * DAY);
        ended(&db, "s5", "short", RunStatus::Waiting, 0);
        // `keep-two`: the newest two ended runs, whatever their end.
        for (i, status) in
            [RunStatus::Failed, RunStatus::Succeeded, RunStatus::Succeeded, RunStatus::Failed].iter().enumerate()
        {
            ended(&db, &format!("k{i}"), "keep-two", *status, now - 10 + i as u64);
        }
        // A deleted flow's runs follow the defaults (succeeded 14 days).
        ended(&db, "g1", "gone", RunStatus::Succeeded, now - 15 * DAY);
        ended(&db, "g2", "gone", RunStatus::Succeeded, now - 13 * DAY);

        let pruner = Pruner::new(
            db.clone(),
            Arc::new(At(AtomicU64::new(now))),
            RetentionPolicy::default(),
            PrunerConfig { pause: Duration::ZERO, batch: 1, ..PrunerConfig::default() },
        );
        let dry = pruner.prune(true).await.unwrap();
        assert_eq!(dry.runs, 5);
        let wet = pruner.prune(false).await.unwrap();
        assert_eq!(wet, PruneReport { dry_run: false, ..dry.clone() }, "a dry run says what a pass does");
        let by = |flow: &str| wet.flows.iter().find(|f| f.flow == flow).cloned().unwrap_or_default();
        assert_eq!((by("short").succeeded, by("short").failed, by("short").over_max_runs), (1, 1, 0));
        assert_eq!(by("keep-two").over_max_runs, 2);
        assert_eq!(by("gone").succeeded, 1);
        let left: Vec<String> = {
            let mut ids: Vec<String> = db.runs(&Default::default()).unwrap().into_iter().map(|r| r.id).collect();
            ids.sort();
            ids
        };
        assert_eq!(left, ["g2", "k2", "k3", "s2", "s3", "s5"]);
        assert_eq!(pruner.pruned(), 5);
        assert_eq!(pruner.prune(false).await.unwrap().runs, 0, "nothing more to prune");
    }

    #[tokio::test]
    async fn test_runs_go_after_a_week_or_beyond_the_newest_hundred_and_leave_max_runs_alone() {
        let db = Arc::new(MemoryStore::default());
        let def =
            FlowDef::parse("name: t\ntrigger: manual\nretention: { max_runs: 1 }\nsteps: [ { id: d, delay: 1s } ]")
                .unwrap();
        db.put_flow(&def, 0).unwrap();
        let now = 100 * DAY;
        let test = Some(Arc::new(weft_core::run::TestRun { def, pinned: Default::default(), until: None }));
        let tested = |id: String, ended_ms: u64| {
            let run = RunRecord {
                id,
                flow: "t".into(),
                version: 1,
                status: RunStatus::Queued,
                trigger: Default::default(),
                created_ms: 0,
                updated_ms: 0,
                error: None,
                output: None,
                wake_ms: None,
                rerun_of: None,
                plugins: Default::default(),
                test: test.clone(),
                parent: None,
                failure_of: None,
                error_run: None,
            };
            db.create_run(&run).unwrap();
            db.save_run(&RunRecord { status: RunStatus::Succeeded, updated_ms: ended_ms, ..run }).unwrap();
        };
        tested("old".into(), now - 8 * DAY);
        for i in 0..103 {
            tested(format!("t{i:03}"), now - 1000 + i);
        }
        ended(&db, "p1", "t", RunStatus::Succeeded, now - 5);
        let pruner = Pruner::new(
            db.clone(),
            Arc::new(At(AtomicU64::new(now))),
            RetentionPolicy::default(),
            PrunerConfig { pause: Duration::ZERO, ..PrunerConfig::default() },
        );
        let dry = pruner.prune(true).await.unwrap();
        let wet = pruner.prune(false).await.unwrap();
        assert_eq!(wet, PruneReport { dry_run: false, ..dry });
        assert_eq!((wet.flows[0].test, wet.flows[0].over_max_runs), (4, 0), "{wet:?}");
        let left = db.runs(&RunFilter { test: true, ..Default::default() }).unwrap();
        assert_eq!(left.len(), 100);
        assert!(left.iter().all(|r| r.id.as_str() >= "t003"), "the oldest went first");
        assert_eq!(db.runs(&Default::default()).unwrap().len(), 1, "the production run stays");
    }

    #[test]
    fn a_flows_retention_overrides_the_defaults_field_by_field() {
        let defaults = RetentionPolicy::default();
        let def = RetentionDef { succeeded: Some("7d".into()), failed: None, max_runs: Some(10) };
        let policy = defaults.with(Some(&def));
        assert_eq!(policy.succeeded, Duration::from_secs(7 * 86_400));
        assert_eq!(policy.failed, defaults.failed);
        assert_eq!(policy.max_runs, 10);
        assert_eq!(defaults.with(None), defaults);
    }
}
