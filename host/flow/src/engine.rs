//! The executor: runs flows durably.
//!
//! A run is executed by walking its flow's steps in order. Before a step runs,
//! the executor looks for the step's record: a finished step is not run again,
//! its recorded output is reused. So a run interrupted anywhere (a crash, a
//! SIGKILL) resumes from its last completed step when a worker picks it up
//! again, and each step runs at least once and, once recorded, never again.
//! An action's record is flushed to disk before the next step starts; a
//! transform's (no effects outside its output) goes with the next flush.
//!
//! Records nothing waits on — a transform's result, a branch's choice, the
//! run's `running` status — are held back and written together with the
//! run's next write (an action's record, a wait, the run's end) as one
//! entry: a run of the webhook → transform → action → transform flow
//! makes 3 writes instead of 6. They were never flushed on their own, so a
//! crash finds the same state as before; the store shows them a little later.
//!
//! A run that reaches a delay, or a step waiting to retry, is saved as
//! `waiting` with a wake time and its task ends: waiting runs hold no worker
//! and no task, only a timer entry in the store.
//!
//! Concurrency: a global budget of runs executing at once, and each flow's
//! optional `concurrency` limit; runs beyond them wait in the queue.

use super::expr::{ExprValue, Mapping};
use super::rate::Limiter;
use super::validate::{self, Flow, OnError, RetryPolicy, Step, StepKind};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore, broadcast, oneshot};
use weft_core::catalog::Catalog;
use weft_core::run::{
    ActionCall, BoxFuture, Clock, FailedAttempt, ParentLink, PluginCall, Plugins, RunRecord, RunStatus, RunStore,
    StepFailure, StepRecord, StepStatus, StoreFailure, StoredFlow, TestRun,
};

/// The wall clock, with tokio's timer.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        weft_core::run::now_ms()
    }

    fn sleep_until(&self, when_ms: u64) -> BoxFuture<'_, ()> {
        let wait = when_ms.saturating_sub(self.now_ms());
        Box::pin(tokio::time::sleep(Duration::from_millis(wait)))
    }
}

/// How the executor runs.
#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    /// Runs executing at once, all flows together.
    pub workers: usize,
    /// This node's name, recorded on every step it executes: set when nodes share a store.
    pub node: Option<String>,
    /// The error flow of flows that name none (`on_failure`).
    pub error_flow: Option<String>,
    /// Where the web UI is, for the run links error flows get (`<url>/runs/<id>`).
    pub public_url: Option<String>,
    /// Bytes of bodies and values an action's step record keeps of its host
    /// I/O, for replays (0: none; a flow can turn it off with `record_io: false`).
    pub record_io_cap: usize,
}

/// The default of [`ExecutorConfig::record_io_cap`].
pub const RECORD_IO_CAP: usize = 64 << 10;

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self { workers: 64, node: None, error_flow: None, public_url: None, record_io_cap: RECORD_IO_CAP }
    }
}

/// How deep sub-flows may nest: a run called by a run called by … this many.
pub const MAX_CALL_DEPTH: u32 = 8;

/// Why the executor could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("no flow named {0:?}")]
    UnknownFlow(String),
    #[error("no run {0:?}")]
    UnknownRun(String),
    #[error("run {0} has not failed; only failed runs can be re-run")]
    NotFailed(String),
    #[error("run {0} has already ended ({1})")]
    Ended(String, RunStatus),
    #[error("flow {flow:?} cannot run: {} not installed (install it, or put its file back in the plugins folder)", missing_list(.plugins))]
    PluginMissing { flow: String, plugins: Vec<String> },
    #[error(transparent)]
    Invalid(#[from] validate::InvalidFlow),
    #[error("{0}")]
    BadTest(String),
    #[error(transparent)]
    Store(#[from] StoreFailure),
}

/// Runs flows. Cheap to clone.
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn RunStore>,
    plugins: Arc<dyn Plugins>,
    clock: Arc<dyn Clock>,
    global: Arc<Semaphore>,
    per_flow: Mutex<HashMap<String, Arc<Semaphore>>>,
    running: Mutex<HashSet<String>>,
    /// Runs this process queued or woke, oldest first, not yet started.
    ready: Mutex<VecDeque<String>>,
    /// Validated flows by name, version and the plugins they were checked against.
    flows: Mutex<HashMap<(String, u64, u64), Arc<Flow>>>,
    notify: Notify,
    /// Runs asked to stop; checked before every step.
    cancelled: Mutex<HashSet<String>>,
    /// Callers waiting for runs to end.
    waiters: Mutex<HashMap<String, Vec<oneshot::Sender<RunRecord>>>>,
    stats: Stats,
    /// This node's name, for its step records.
    node: Option<String>,
    error_flow: Option<String>,
    public_url: Option<String>,
    record_io_cap: usize,
    /// Runs whose sub-flow ended while this process executed them: woken
    /// again when their worker lets go, in case they had just looked.
    nudged: Mutex<HashSet<String>>,
    /// Callers waiting for a run's `respond` step (sync webhooks).
    responders: Mutex<HashMap<String, oneshot::Sender<Value>>>,
    /// Rate limits: each flow's on runs beginning, each connection's on
    /// action calls (and its pause after the application said "slow down").
    flow_rates: Mutex<HashMap<String, Limiter>>,
    connection_rates: Mutex<HashMap<String, Limiter>>,
    /// The earliest moment a run held back by its flow's rate may begin
    /// (`u64::MAX`: none is): the workers look at the queue again then.
    next_slot: AtomicU64,
    /// Run and step changes, for whoever watches ([`Executor::changes`]).
    changes: broadcast::Sender<Change>,
    /// How many [`Changes`] receivers exist: nothing is sent while it is 0.
    watchers: Arc<AtomicUsize>,
}

/// A change to a run, as watchers see it: a run was queued or changed
/// status, or one of its step records was written. Sent after the store has
/// the change (not necessarily flushed to disk yet).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    Run {
        id: String,
        flow: String,
        status: RunStatus,
        created_ms: u64,
        updated_ms: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// A test run (started from the editor), not a production run.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        test: bool,
    },
    Step {
        run: String,
        path: String,
        status: StepStatus,
    },
}

impl Change {
    fn of_run(run: &RunRecord) -> Self {
        Change::Run {
            id: run.id.clone(),
            flow: run.flow.clone(),
            status: run.status,
            created_ms: run.created_ms,
            updated_ms: run.updated_ms,
            error: run.error.clone(),
            test: run.is_test(),
        }
    }
}

/// Changes a slow watcher may fall behind by before it misses some (and is told so).
const CHANGES_BUFFERED: usize = 4096;

/// A watcher of [`Change`]s, from [`Executor::changes`].
pub struct Changes {
    receiver: broadcast::Receiver<Change>,
    watchers: Arc<AtomicUsize>,
}

impl Changes {
    /// The next change; `Lagged(n)` when this watcher fell `n` changes behind
    /// (it goes on from the oldest still buffered).
    pub async fn recv(&mut self) -> Result<Change, broadcast::error::RecvError> {
        self.receiver.recv().await
    }

    /// The next change if one is waiting.
    pub fn try_recv(&mut self) -> Result<Change, broadcast::error::TryRecvError> {
        self.receiver.try_recv()
    }
}

impl Drop for Changes {
    fn drop(&mut self) {
        self.watchers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What [`Executor::try_start`] did with a queued run.
enum Start {
    Started,
    /// Running already, ended, or held back by its flow's limit.
    Skipped,
    /// The global budget is spent.
    NoPermit(String),
}

/// How a run answers the webhook request that started it ([`Executor::answer`]).
#[derive(Debug)]
pub enum Answer {
    /// A `respond` step's `{status, headers, body}`; the run may still be going.
    Respond(Value),
    /// The run ended without responding.
    Ended(Box<RunRecord>),
}

/// Counters since start, for metrics.
#[derive(Debug, Default)]
pub struct Stats {
    pub created: AtomicU64,
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    pub cancelled: AtomicU64,
    pub steps: AtomicU64,
}

/// Why a run failed: the message it records, and for its error flow the
/// step that failed and the kind of failure.
#[derive(Debug, Clone)]
struct Failure {
    message: String,
    step: Option<String>,
    kind: Option<String>,
}

impl Failure {
    fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), step: None, kind: None }
    }
}

/// Where a walk of steps stopped, when it did not finish.
enum Stop {
    /// Waiting until this time (ms).
    Wait(u64),
    /// The run fails.
    Fail(Failure),
    /// The run was cancelled.
    Cancelled,
    /// A test run reached the step it was to stop after, with this output.
    Reached(Value),
    Store(StoreFailure),
}

impl From<StoreFailure> for Stop {
    fn from(e: StoreFailure) -> Self {
        Stop::Store(e)
    }
}

/// What expressions see while a run executes.
#[derive(Clone)]
struct Scope {
    run_id: Arc<str>,
    /// The plugin versions the run started with (reference → content hash).
    pins: Arc<BTreeMap<String, String>>,
    /// The scope's pieces, each converted for expressions once (see
    /// [`ExprValue`]): a step's cost must not grow with what earlier steps
    /// gathered, nor a loop item's with the size of the event.
    trigger: ExprValue,
    run: ExprValue,
    /// The step records that existed when this execution began, by path. A
    /// step runs at most once per execution, so it never needs its own
    /// record from this execution back.
    existing: Arc<HashMap<String, StepRecord>>,
    /// `steps.<id>`: `{ output, error? }` of every step that ran.
    steps: BTreeMap<String, ExprValue>,
    item: Option<(ExprValue, usize)>,
    /// Held-back writes, shared by the run's loop items.
    pending: Arc<Mutex<Pending>>,
    /// A test run's pinned outputs and where it stops.
    test: Option<Arc<TestRun>>,
    /// How deep this run nests as a sub-flow (0: nothing called it).
    depth: u32,
    /// Bytes of host I/O each action call keeps in its record (0: none).
    record_io: usize,
}

/// What a run has not written yet: its `running` record and step records
/// nothing waits on. They go out with the run's next write.
#[derive(Default)]
struct Pending {
    run: Option<RunRecord>,
    steps: Vec<StepRecord>,
}

/// Held-back step records written at once, so a long loop of transforms
/// keeps neither its records in memory nor the store behind.
const MAX_PENDING: usize = 32;

impl Scope {
    /// What expressions see: `trigger`, `steps`, `run`, and in a loop `item` and `index`.
    fn context(&self) -> ExprValue {
        let steps = ExprValue::map(self.steps.iter().map(|(id, entry)| (id.as_str(), entry.clone())));
        let mut vars = vec![("trigger", self.trigger.clone()), ("steps", steps), ("run", self.run.clone())];
        if let Some((item, index)) = &self.item {
            vars.push(("item", item.clone()));
            vars.push(("index", ExprValue::from_json(&json!(index))));
        }
        ExprValue::map(vars)
    }

    fn record(&mut self, id: &str, output: &Value, error: Option<&StepFailure>) {
        let mut entry = vec![("output", ExprValue::from_json(output))];
        if let Some(error) = error {
            let error = json!({ "message": error.message, "retryable": error.retryable });
            entry.push(("error", ExprValue::from_json(&error)));
        }
        self.steps.insert(id.to_string(), ExprValue::map(entry));
    }
}

/// A new time-ordered run id: 12 hex digits of milliseconds, 16 random.
/// A new run of `flow` at `version` for `trigger`, queued at `now_ms`.
fn queued_run(
    id: String,
    flow: &str,
    version: u64,
    trigger: Value,
    now_ms: u64,
    plugins: BTreeMap<String, String>,
) -> RunRecord {
    RunRecord {
        id,
        flow: flow.to_string(),
        version,
        status: RunStatus::Queued,
        trigger: Arc::new(trigger),
        created_ms: now_ms,
        updated_ms: now_ms,
        error: None,
        output: None,
        wake_ms: None,
        rerun_of: None,
        plugins,
        test: None,
        parent: None,
        failure_of: None,
        error_run: None,
    }
}

fn new_run_id(now_ms: u64) -> String {
    new_run_ids(now_ms, 1).pop().expect("one id")
}

/// `n` run ids in order: the same millisecond, consecutive from a random start.
fn new_run_ids(now_ms: u64, n: usize) -> Vec<String> {
    let start = fastrand::u64(..u64::MAX / 2);
    (0..n as u64).map(|i| format!("{:012x}{:016x}", now_ms, start + i)).collect()
}

/// The wait before attempt `attempt + 1`: exponential from `initial_backoff`,
/// capped, with "equal jitter" (between half and all of it) drawn
/// deterministically from the step, so a replayed schedule is the same.
pub fn backoff(policy: &RetryPolicy, attempt: u32, seed: &str, retry_after: Option<Duration>) -> Duration {
    let exp = policy.initial_backoff.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
    let base = exp.min(policy.max_backoff);
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (seed, attempt).hash(&mut hasher);
    let fraction = (hasher.finish() % 1000) as f64 / 1000.0;
    let jittered = base.mul_f64(0.5 + fraction / 2.0);
    jittered.max(retry_after.unwrap_or_default())
}

impl Executor {
    pub fn new(
        store: Arc<dyn RunStore>,
        plugins: Arc<dyn Plugins>,
        clock: Arc<dyn Clock>,
        config: ExecutorConfig,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                plugins,
                clock,
                global: Arc::new(Semaphore::new(config.workers.max(1))),
                per_flow: Mutex::default(),
                running: Mutex::default(),
                ready: Mutex::default(),
                flows: Mutex::default(),
                notify: Notify::new(),
                cancelled: Mutex::default(),
                waiters: Mutex::default(),
                stats: Stats::default(),
                node: config.node,
                error_flow: config.error_flow,
                public_url: config.public_url,
                record_io_cap: config.record_io_cap,
                nudged: Mutex::default(),
                responders: Mutex::default(),
                flow_rates: Mutex::default(),
                connection_rates: Mutex::default(),
                next_slot: AtomicU64::new(u64::MAX),
                changes: broadcast::channel(CHANGES_BUFFERED).0,
                watchers: Arc::default(),
            }),
        }
    }

    pub fn store(&self) -> &Arc<dyn RunStore> {
        &self.inner.store
    }

    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    /// Watch run and step changes from now on. A receiver that falls more
    /// than a few thousand changes behind gets `Lagged` and goes on from the
    /// newest; it should read the state it shows again.
    pub fn changes(&self) -> Changes {
        self.inner.watchers.fetch_add(1, Ordering::SeqCst);
        Changes { receiver: self.inner.changes.subscribe(), watchers: self.inner.watchers.clone() }
    }

    fn watched(&self) -> bool {
        self.inner.watchers.load(Ordering::Relaxed) > 0
    }

    /// Tell watchers, if there are any (one atomic load when nobody watches).
    fn announce(&self, change: impl FnOnce() -> Change) {
        if self.watched() {
            let _ = self.inner.changes.send(change());
        }
    }

    fn announce_steps(&self, run: &str, steps: &[&mut StepRecord]) {
        if self.watched() {
            for step in steps {
                let _ = self.inner.changes.send(Change::Step {
                    run: run.to_string(),
                    path: step.path.clone(),
                    status: step.status,
                });
            }
        }
    }

    /// Queue a run of the current version of `flow` for `trigger`.
    pub fn start(&self, flow: &str, trigger: Value) -> Result<RunRecord, ExecError> {
        let inner = &self.inner;
        let stored = inner.store.flow(flow)?.ok_or_else(|| ExecError::UnknownFlow(flow.to_string()))?;
        self.runnable(&stored)?;
        let run = self.prepare_runs(&stored, std::iter::once(trigger)).pop().expect("one run");
        inner.store.create_run(&run)?;
        self.submit(std::slice::from_ref(&run));
        Ok(run)
    }

    /// New queued run records of `flow`, one per trigger event, in order; the
    /// caller stores them (with whatever must change in the same transaction)
    /// and then calls [`Executor::submit`].
    pub fn prepare_runs(&self, flow: &StoredFlow, triggers: impl ExactSizeIterator<Item = Value>) -> Vec<RunRecord> {
        let now = self.inner.clock.now_ms();
        self.inner.stats.created.fetch_add(triggers.len() as u64, Ordering::Relaxed);
        let pins = self.pins(&flow.name, flow.version);
        new_run_ids(now, triggers.len())
            .into_iter()
            .zip(triggers)
            .map(|(id, trigger)| queued_run(id, &flow.name, flow.version, trigger, now, pins.clone()))
            .collect()
    }

    /// Queue a test run: `test.def` (saved or not) runs for `trigger`, the
    /// steps in `test.pinned` give their output without being called, and
    /// the run stops after `test.until` when given. Delays are not waited.
    /// The run is listed apart from production runs and kept for a week.
    pub fn start_test(&self, test: TestRun, trigger: Value) -> Result<RunRecord, ExecError> {
        let inner = &self.inner;
        let flow = validate::validate(test.def.clone(), inner.plugins.as_ref())?;
        let mut calls = HashSet::new();
        let mut all = HashSet::new();
        validate::walk_steps(&flow.steps, &mut |step| {
            all.insert(step.id.clone());
            if matches!(step.kind, StepKind::Action { .. } | StepKind::Transform { .. }) {
                calls.insert(step.id.clone());
            }
        });
        for id in test.pinned.keys() {
            if !calls.contains(id) {
                let why = if all.contains(id) { "is not an action or transform" } else { "is not a step of the flow" };
                return Err(ExecError::BadTest(format!("pinned output for {id:?}: {id:?} {why}")));
            }
        }
        if let Some(until) = &test.until
            && !all.contains(until)
        {
            return Err(ExecError::BadTest(format!("until: {until:?} is not a step of the flow")));
        }
        let mut pins = BTreeMap::new();
        validate::walk_plugins(&flow.steps, &mut |name, version| {
            if let Some(hash) = inner.plugins.resolve(name, version) {
                pins.insert(reference(name, version), hash);
            }
        });
        let now = inner.clock.now_ms();
        let version = inner.store.flow(&flow.def.name)?.map_or(0, |f| f.version);
        let run = RunRecord {
            test: Some(Arc::new(test)),
            ..queued_run(new_run_id(now), &flow.def.name, version, trigger, now, pins)
        };
        inner.store.create_run(&run)?;
        self.submit(std::slice::from_ref(&run));
        Ok(run)
    }

    /// The exact plugin versions a new run of a flow uses: what each of its
    /// plugin references (`http`, `http@1.2.0`) resolves to now.
    fn pins(&self, flow: &str, version: u64) -> BTreeMap<String, String> {
        let Ok(validated) = self.flow(flow, version) else { return BTreeMap::new() };
        let mut pins = BTreeMap::new();
        validate::walk_plugins(&validated.steps, &mut |name, version| {
            if let Some(hash) = self.inner.plugins.resolve(name, version) {
                pins.insert(reference(name, version), hash);
            }
        });
        pins
    }

    /// The plugins `flow` names that are not installed now (empty when it can run).
    pub fn missing_plugins(&self, flow: &StoredFlow) -> Vec<String> {
        validate::missing_plugins(&flow.def, self.inner.plugins.as_ref())
    }

    /// Refuse to start runs of a flow whose plugins are missing: triggers pause
    /// and say why instead of creating runs that fail at a random step.
    pub fn runnable(&self, flow: &StoredFlow) -> Result<(), ExecError> {
        let plugins = self.missing_plugins(flow);
        if plugins.is_empty() { Ok(()) } else { Err(ExecError::PluginMissing { flow: flow.name.clone(), plugins }) }
    }

    /// Tell the workers that these runs were queued (their records are stored).
    pub fn submit(&self, runs: &[RunRecord]) {
        self.inner.ready.lock().expect("ready runs").extend(runs.iter().map(|r| r.id.clone()));
        self.inner.notify.notify_one();
        for run in runs {
            self.announce(|| Change::of_run(run));
        }
    }

    /// Check that `flow` can run: it validates against the installed plugins and connections.
    pub fn check(&self, flow: &StoredFlow) -> Result<(), ExecError> {
        self.flow(&flow.name, flow.version).map(drop)
    }

    /// Wait until run `id` has ended (succeeded, failed or cancelled).
    pub async fn finished(&self, id: &str) -> Result<RunRecord, ExecError> {
        let (tx, rx) = oneshot::channel();
        self.inner.waiters.lock().expect("waiters").entry(id.to_string()).or_default().push(tx);
        let run = self.inner.store.run(id)?.ok_or_else(|| ExecError::UnknownRun(id.to_string()))?;
        if run.status.is_final() {
            self.inner.waiters.lock().expect("waiters").remove(id);
            // Its worker may not have synced the end yet: nobody is told before that.
            self.inner.store.flush().await?;
            return Ok(run);
        }
        // A run that waits (a delay) ends later; its waiter stays until then.
        // Another node of a shared store may be the one that ends it (it took
        // the run over, or woke it): the store is looked at now and then too.
        let mut rx = rx;
        loop {
            tokio::select! {
                ended = &mut rx => return ended.map_err(|_| ExecError::UnknownRun(id.to_string())),
                _ = tokio::time::sleep(Duration::from_millis(250)) => {
                    let run = self.inner.store.run(id)?.ok_or_else(|| ExecError::UnknownRun(id.to_string()))?;
                    if run.status.is_final() {
                        drop(rx);
                        let mut waiters = self.inner.waiters.lock().expect("waiters");
                        if let Some(list) = waiters.get_mut(id) {
                            list.retain(|tx| !tx.is_closed());
                            if list.is_empty() {
                                waiters.remove(id);
                            }
                        }
                        return Ok(run);
                    }
                }
            }
        }
    }

    fn ended(&self, run: &RunRecord) {
        let counter = match run.status {
            RunStatus::Succeeded => &self.inner.stats.succeeded,
            RunStatus::Failed => &self.inner.stats.failed,
            RunStatus::Cancelled => &self.inner.stats.cancelled,
            _ => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.inner.responders.lock().expect("responders").remove(&run.id);
        if let Some(waiters) = self.inner.waiters.lock().expect("waiters").remove(&run.id) {
            for tx in waiters {
                let _ = tx.send(run.clone());
            }
        }
        if let Some(parent) = &run.parent {
            self.wake_caller(&parent.run);
        }
    }

    /// A sub-flow's run ended: the run waiting for it goes on now (not at its
    /// next look). If this process is executing it, it is woken again when
    /// its worker lets go, in case it looked just before the end.
    fn wake_caller(&self, id: &str) {
        if self.inner.running.lock().expect("running set").contains(id) {
            self.inner.nudged.lock().expect("nudged runs").insert(id.to_string());
        }
        match self.inner.store.wake_now(id) {
            Ok(true) => {
                self.inner.ready.lock().expect("ready runs").push_back(id.to_string());
                self.inner.notify.notify_one();
            }
            Ok(false) => {}
            // It looks again at its next wake time.
            Err(e) => tracing::warn!(run = %id, error = %e, "cannot wake the run waiting for a sub-flow"),
        }
    }

    /// Wait for run `id`'s answer to the webhook request that started it: the
    /// first `respond` step's `{status, headers, body}`, or the run's end.
    /// Call it before the run is submitted, so an early answer is not missed.
    pub fn answer(&self, id: &str) -> impl Future<Output = Result<Answer, ExecError>> + Send + '_ {
        let (tx, mut rx) = oneshot::channel();
        self.inner.responders.lock().expect("responders").insert(id.to_string(), tx);
        let id = id.to_string();
        async move {
            let finished = self.finished(&id);
            tokio::pin!(finished);
            tokio::select! {
                biased;
                Ok(response) = &mut rx => Ok(Answer::Respond(response)),
                run = &mut finished => {
                    self.inner.responders.lock().expect("responders").remove(&id);
                    let run = run?;
                    // It may have responded on another node of a shared store.
                    match self.recorded_response(&run)? {
                        Some(response) => Ok(Answer::Respond(response)),
                        None => Ok(Answer::Ended(Box::new(run))),
                    }
                }
            }
        }
    }

    /// The answer a `respond` step of `run` recorded, the first if several did.
    fn recorded_response(&self, run: &RunRecord) -> Result<Option<Value>, ExecError> {
        let Ok(flow) = self.flow_for(run) else { return Ok(None) };
        if !flow.responds {
            return Ok(None);
        }
        let mut responders = HashSet::new();
        validate::walk_steps(&flow.steps, &mut |step| {
            if matches!(step.kind, StepKind::Respond(_)) {
                responders.insert(step.id.clone());
            }
        });
        if responders.is_empty() {
            return Ok(None);
        }
        Ok(self
            .inner
            .store
            .steps(&run.id)?
            .into_iter()
            .find(|s| s.status == StepStatus::Succeeded && responders.contains(&s.step_id))
            .and_then(|s| s.output))
    }

    /// Cancel a run that has not ended. A queued or waiting run ends at once;
    /// an executing one stops before its next step (the step in progress
    /// finishes and is recorded).
    pub async fn cancel(&self, id: &str) -> Result<RunRecord, ExecError> {
        let inner = &self.inner;
        let patience = std::time::Instant::now() + Duration::from_secs(5);
        let run = loop {
            let mut run = inner.store.run(id)?.ok_or_else(|| ExecError::UnknownRun(id.to_string()))?;
            if run.status.is_final() {
                return Err(ExecError::Ended(id.to_string(), run.status));
            }
            let held = {
                // Holding `running` keeps a dispatcher from starting the run meanwhile.
                let running = inner.running.lock().expect("running set");
                let held = running.contains(id);
                if held && (run.status != RunStatus::Waiting || std::time::Instant::now() >= patience) {
                    // The dispatcher acts on the flag when the worker lets go, if the run has not ended.
                    inner.cancelled.lock().expect("cancelled set").insert(id.to_string());
                    return Ok(run);
                }
                if !held {
                    run.status = RunStatus::Cancelled;
                    run.error = Some("cancelled".into());
                    run.wake_ms = None;
                    run.updated_ms = inner.clock.now_ms();
                    inner.store.save_run(&run)?;
                    self.announce(|| Change::of_run(&run));
                }
                held
            };
            if !held {
                break run;
            }
            // Its worker has saved the wait and is letting go: cancel right after.
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        inner.store.flush().await?;
        self.ended(&run);
        self.cancel_children(id).await;
        Ok(run)
    }

    /// Cancel the sub-flow runs a cancelled run was waiting for.
    fn cancel_children<'a>(&'a self, id: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let steps = match self.inner.store.steps(id) {
                Ok(steps) => steps,
                Err(e) => {
                    return tracing::warn!(run = %id, error = %e, "cannot read the run's sub-flows to cancel them");
                }
            };
            for child in steps.iter().filter(|s| s.status == StepStatus::Waiting).filter_map(|s| s.child.as_deref()) {
                match self.cancel(child).await {
                    Ok(_) | Err(ExecError::Ended(..)) | Err(ExecError::UnknownRun(_)) => {}
                    Err(e) => tracing::warn!(run = %child, error = %e, "cannot cancel the sub-flow's run"),
                }
            }
        })
    }

    fn is_cancelled(&self, id: &str) -> bool {
        self.inner.cancelled.lock().expect("cancelled set").contains(id)
    }

    /// Re-run a failed run from its failed step: a new run whose completed
    /// steps are copied from the old one (so they are not run again), on the
    /// same flow version, or on the current one with `current_version`.
    pub fn rerun(&self, run_id: &str, current_version: bool) -> Result<RunRecord, ExecError> {
        let inner = &self.inner;
        let old = inner.store.run(run_id)?.ok_or_else(|| ExecError::UnknownRun(run_id.to_string()))?;
        if old.status != RunStatus::Failed {
            return Err(ExecError::NotFailed(run_id.to_string()));
        }
        let version = if current_version {
            inner.store.flow(&old.flow)?.ok_or_else(|| ExecError::UnknownFlow(old.flow.clone()))?.version
        } else {
            old.version
        };
        let now = inner.clock.now_ms();
        let run = RunRecord {
            id: new_run_id(now),
            version,
            status: RunStatus::Queued,
            created_ms: now,
            updated_ms: now,
            error: None,
            output: None,
            wake_ms: None,
            rerun_of: Some(old.id.clone()),
            // The calling run waits for the run it called, not for a re-run of it.
            parent: None,
            error_run: None,
            // A re-run takes the plugins installed now (often the fix for the failure).
            plugins: self.pins(&old.flow, version),
            ..old.clone()
        };
        for mut step in inner.store.steps(&old.id)? {
            if step.status == StepStatus::Succeeded {
                inner.store.put_step(&run.id, &mut step)?;
            }
        }
        inner.store.create_run(&run)?;
        inner.stats.created.fetch_add(1, Ordering::Relaxed);
        self.submit(std::slice::from_ref(&run));
        Ok(run)
    }

    /// Execute one run in this task until it ends or waits, and return its record.
    pub async fn execute(&self, run_id: &str) -> Result<RunRecord, ExecError> {
        let run = self.inner.store.run(run_id)?.ok_or_else(|| ExecError::UnknownRun(run_id.to_string()))?;
        self.execute_record(run).await
    }

    /// [`Executor::execute`] with the run's record already read.
    async fn execute_record(&self, mut run: RunRecord) -> Result<RunRecord, ExecError> {
        let inner = &self.inner;
        if run.status.is_final() {
            // Saving it again drops a queue entry a crash may have left behind.
            inner.store.save_run(&run)?;
            return Ok(run);
        }
        let flow = match self.flow_for(&run) {
            Ok(flow) => flow,
            Err(e) => {
                run.status = RunStatus::Failed;
                run.error = Some(e.to_string());
                run.updated_ms = inner.clock.now_ms();
                let def = inner.store.flow_version(&run.flow, run.version)?.map(|f| f.def);
                let failure = Failure { kind: Some("invalid-flow".into()), ..Failure::new(e.to_string()) };
                let report = self.error_run(&mut run, def.as_ref(), &failure);
                inner.store.put_spawning(&run.id, &mut [], Some(&run), report.as_slice())?;
                self.announce(|| Change::of_run(&run));
                inner.store.flush().await?;
                self.submit(report.as_slice());
                self.ended(&run);
                return Ok(run);
            }
        };
        run.status = RunStatus::Running;
        run.wake_ms = None;
        run.updated_ms = inner.clock.now_ms();
        // Watchers hear it now; the store has it with the run's first write.
        self.announce(|| Change::of_run(&run));
        let pending = Arc::new(Mutex::new(Pending { run: Some(run.clone()), steps: Vec::new() }));

        // What earlier executions recorded (nothing, for a new run), read once.
        let existing = inner.store.steps(&run.id)?.into_iter().map(|r| (r.path.clone(), r)).collect();
        let mut scope = Scope {
            run_id: Arc::from(run.id.as_str()),
            pins: Arc::new(run.plugins.clone()),
            trigger: ExprValue::from_json(&run.trigger),
            run: ExprValue::from_json(&json!({ "id": &run.id })),
            existing: Arc::new(existing),
            steps: BTreeMap::new(),
            item: None,
            pending,
            test: run.test.clone(),
            depth: run.parent.as_ref().map_or(0, |p| p.depth),
            record_io: if flow.def.record_io { inner.record_io_cap } else { 0 },
        };
        let outcome = self.steps(&flow.steps, "", &mut scope).await;
        let mut held = std::mem::take(&mut *scope.pending.lock().expect("pending writes"));
        run.updated_ms = inner.clock.now_ms();
        let mut failure = None;
        match outcome {
            Ok(output) => {
                run.status = RunStatus::Succeeded;
                run.output = Some(output);
            }
            Err(Stop::Wait(wake_ms)) => {
                run.status = RunStatus::Waiting;
                run.wake_ms = Some(wake_ms);
            }
            Err(Stop::Fail(f)) => {
                run.status = RunStatus::Failed;
                run.error = Some(f.message.clone());
                failure = Some(f);
            }
            Err(Stop::Cancelled) => {
                run.status = RunStatus::Cancelled;
                run.error = Some("cancelled".into());
            }
            Err(Stop::Reached(output)) => {
                run.status = RunStatus::Succeeded;
                run.output = Some(output);
            }
            Err(Stop::Store(e)) => return Err(e.into()),
        }
        if run.status == RunStatus::Waiting && self.is_cancelled(&run.id) {
            run.status = RunStatus::Cancelled;
            run.error = Some("cancelled".into());
            run.wake_ms = None;
        }
        // A failure for good starts the error flow, in the same write as the end.
        let report = failure.and_then(|f| self.error_run(&mut run, Some(&flow.def), &f));
        let mut steps: Vec<&mut StepRecord> = held.steps.iter_mut().collect();
        inner.store.put_spawning(&run.id, &mut steps, Some(&run), report.as_slice())?;
        self.announce_steps(&run.id, &steps);
        self.announce(|| Change::of_run(&run));
        inner.store.flush().await?;
        self.submit(report.as_slice());
        self.ended(&run);
        Ok(run)
    }

    /// The run of the error flow that reports `run`'s failure, if one is to
    /// start: `def`'s `on_failure`, else the server's default; never for a
    /// test run, nor for a run that reports another (no loops). Marks `run`
    /// with it; the caller writes both together.
    fn error_run(
        &self,
        run: &mut RunRecord,
        def: Option<&weft_core::model::FlowDef>,
        failure: &Failure,
    ) -> Option<RunRecord> {
        if run.is_test() || run.failure_of.is_some() {
            return None;
        }
        // A sub-flow's failure reaches the server's default through its caller's.
        let default = if run.parent.is_none() { self.inner.error_flow.clone() } else { None };
        let name = def.and_then(|d| d.on_failure.clone()).or(default)?;
        let stored = match self.inner.store.flow(&name) {
            Ok(Some(stored)) => stored,
            Ok(None) => {
                tracing::warn!(run = %run.id, flow = %name, "the error flow does not exist: the failure is reported to no flow");
                return None;
            }
            Err(e) => {
                tracing::warn!(run = %run.id, flow = %name, error = %e, "cannot read the error flow");
                return None;
            }
        };
        let url = self.inner.public_url.as_deref().map(|u| format!("{}/runs/{}", u.trim_end_matches('/'), run.id));
        let summary = json!({
            "flow": run.flow,
            "version": run.version,
            "run": run.id,
            "url": url,
            "failed_step": failure.step,
            "error": { "kind": failure.kind, "message": failure.message },
            "started_ms": run.created_ms,
            "failed_ms": run.updated_ms,
            "event": &*run.trigger,
        });
        let mut report = self.prepare_runs(&stored, std::iter::once(summary)).pop()?;
        report.failure_of = Some(run.id.clone());
        run.error_run = Some(report.id.clone());
        Some(report)
    }

    /// Write `rec`, after the run's held-back writes, as one write.
    fn put(&self, scope: &Scope, rec: &mut StepRecord) -> Result<(), StoreFailure> {
        self.put_spawning(scope, rec, &[])
    }

    /// [`Executor::put`], creating the runs `spawn` in the same write.
    fn put_spawning(&self, scope: &Scope, rec: &mut StepRecord, spawn: &[RunRecord]) -> Result<(), StoreFailure> {
        let mut pending = scope.pending.lock().expect("pending writes");
        self.write_pending(&scope.run_id, &mut pending, Some(rec), spawn)
    }

    /// Hold `rec` back until the run's next write (see the module's notes).
    fn defer(&self, scope: &Scope, rec: StepRecord) -> Result<(), StoreFailure> {
        let mut pending = scope.pending.lock().expect("pending writes");
        pending.steps.push(rec);
        if pending.steps.len() < MAX_PENDING {
            return Ok(());
        }
        self.write_pending(&scope.run_id, &mut pending, None, &[])
    }

    /// Write what `pending` holds, then `rec`, as one write; `pending` is empty after.
    fn write_pending(
        &self,
        run_id: &str,
        pending: &mut Pending,
        rec: Option<&mut StepRecord>,
        spawn: &[RunRecord],
    ) -> Result<(), StoreFailure> {
        let run = pending.run.take();
        let mut steps: Vec<&mut StepRecord> = pending.steps.iter_mut().chain(rec).collect();
        let written = self.inner.store.put_spawning(run_id, &mut steps, run.as_ref(), spawn);
        if written.is_ok() {
            self.announce_steps(run_id, &steps);
        }
        pending.steps.clear();
        written
    }

    /// The validated flow of `name` at `version` against the plugins installed now, cached.
    fn flow(&self, name: &str, version: u64) -> Result<Arc<Flow>, ExecError> {
        self.validated(name, version, &BTreeMap::new())
    }

    /// The validated flow a run executes: checked against the plugin versions
    /// the run started with, so a swap meanwhile cannot change what it runs.
    fn flow_for(&self, run: &RunRecord) -> Result<Arc<Flow>, ExecError> {
        if let Some(test) = &run.test {
            // A test run carries its definition; it is validated for each execution.
            let catalog = Pinned { plugins: self.inner.plugins.as_ref(), pins: &run.plugins };
            return Ok(Arc::new(validate::validate(test.def.clone(), &catalog)?));
        }
        self.validated(&run.flow, run.version, &run.plugins)
    }

    fn validated(&self, name: &str, version: u64, pins: &BTreeMap<String, String>) -> Result<Arc<Flow>, ExecError> {
        // Unpinned validation holds until the installed plugins change.
        let fingerprint = {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            if pins.is_empty() {
                self.inner.plugins.generation().hash(&mut hasher);
            } else {
                pins.hash(&mut hasher);
            }
            hasher.finish()
        };
        let key = (name.to_string(), version, fingerprint);
        if let Some(flow) = self.inner.flows.lock().expect("flow cache").get(&key) {
            return Ok(flow.clone());
        }
        let stored = self
            .inner
            .store
            .flow_version(name, version)?
            .ok_or_else(|| ExecError::UnknownFlow(format!("{name} v{version}")))?;
        let catalog = Pinned { plugins: self.inner.plugins.as_ref(), pins };
        let flow = Arc::new(validate::validate(stored.def, &catalog)?);
        let mut cache = self.inner.flows.lock().expect("flow cache");
        if cache.len() >= FLOW_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(key, flow.clone());
        Ok(flow)
    }

    fn steps<'a>(
        &'a self,
        steps: &'a [Step],
        prefix: &'a str,
        scope: &'a mut Scope,
    ) -> BoxFuture<'a, Result<Value, Stop>> {
        Box::pin(async move {
            let mut last = Value::Null;
            for step in steps {
                let path = if prefix.is_empty() { step.id.clone() } else { format!("{prefix}.{}", step.id) };
                if self.is_cancelled(&scope.run_id) {
                    return Err(Stop::Cancelled);
                }
                last = self.step(step, &path, scope).await?;
                if scope.test.as_ref().and_then(|t| t.until.as_deref()) == Some(step.id.as_str()) {
                    return Err(Stop::Reached(last));
                }
            }
            Ok(last)
        })
    }

    async fn step(&self, step: &Step, path: &str, scope: &mut Scope) -> Result<Value, Stop> {
        let inner = &self.inner;
        let store = &inner.store;
        let run_id = scope.run_id.clone();
        let existing = scope.existing.get(path).cloned();
        let seq = existing.as_ref().map_or(0, |r| r.seq);
        let now = inner.clock.now_ms();
        let record = |status, input: Option<Value>, output: Option<Value>, attempts, started_ms| StepRecord {
            path: path.to_string(),
            step_id: step.id.clone(),
            status,
            input,
            output,
            error: None,
            attempts,
            retried: Vec::new(),
            started_ms,
            ended_ms: None,
            wake_ms: None,
            logs: Vec::new(),
            dropped_logs: 0,
            seq,
            pinned: false,
            node: inner.node.clone(),
            child: None,
            throttled: false,
            io: None,
        };

        match &step.kind {
            StepKind::Action { .. } | StepKind::Transform { .. } => {
                if let Some(done) = self.replay(step, path, scope, existing.as_ref()).await {
                    return done;
                }
                match &existing {
                    Some(r) if r.status == StepStatus::Waiting && r.wake_ms.is_some_and(|w| w > now) => {
                        return Err(Stop::Wait(r.wake_ms.unwrap_or(now)));
                    }
                    _ => {}
                }
                let attempt = existing.as_ref().map_or(0, |r| r.attempts) + 1;
                let started_ms = existing.as_ref().map_or(now, |r| r.started_ms);
                let input_mapping = match &step.kind {
                    StepKind::Action { input, .. } | StepKind::Transform { input, .. } => input,
                    _ => unreachable!("matched above"),
                };
                if let Some(output) = scope.test.as_ref().and_then(|t| t.pinned.get(&step.id)).cloned() {
                    // A test run gave this step's output: it is not called. The
                    // input is rendered all the same (when it can be), to show.
                    let input = input_mapping.render(&scope.context()).ok();
                    let mut rec = record(StepStatus::Succeeded, input, Some(output.clone()), 0, started_ms);
                    rec.pinned = true;
                    rec.ended_ms = Some(inner.clock.now_ms());
                    self.put(scope, &mut rec)?;
                    scope.record(&step.id, &output, None);
                    return Ok(output);
                }
                let input = match input_mapping.render(&scope.context()) {
                    Ok(input) => input,
                    Err(e) => {
                        let failure =
                            StepFailure::fatal(format!("input mapping at {}: {}", display_path(&e.path), e.error))
                                .of_kind("input-mapping");
                        let mut rec = record(StepStatus::Failed, None, None, attempt, started_ms);
                        rec.error = Some(failure.clone());
                        rec.ended_ms = Some(inner.clock.now_ms());
                        self.put(scope, &mut rec)?;
                        store.flush().await?;
                        return self.after_failure(step, path, scope, failure).await;
                    }
                };
                // An action over its connection's rate waits for its slot, holding
                // no worker (not when it has just waited for it).
                if let StepKind::Action { connection, .. } = &step.kind
                    && !existing.as_ref().is_some_and(|r| r.throttled && r.status == StepStatus::Waiting)
                    && let Some(slot) = self.connection_slot(connection, now)
                {
                    let mut rec = record(StepStatus::Waiting, Some(input), None, attempt - 1, started_ms);
                    rec.retried = existing.as_ref().map(|r| r.retried.clone()).unwrap_or_default();
                    rec.wake_ms = Some(slot);
                    rec.throttled = true;
                    self.put(scope, &mut rec)?;
                    return Err(Stop::Wait(slot));
                }
                // An action is recorded as running before it is called: after a
                // crash, the attempt counts and the record shows what was sent.
                // A transform takes microseconds and has no effects: only its
                // result is recorded.
                let mut seq = seq;
                let retried = existing.as_ref().map(|r| r.retried.clone()).unwrap_or_default();
                let call_started = inner.clock.now_ms();
                if matches!(step.kind, StepKind::Action { .. }) {
                    let mut running = record(StepStatus::Running, Some(input.clone()), None, attempt, started_ms);
                    running.retried = retried.clone();
                    self.put(scope, &mut running)?;
                    seq = running.seq;
                }
                let idempotency_key = format!("{run_id}/{path}");
                // The version the run started with, else what the step pins.
                let pinned = |name: &str, version: &Option<String>| {
                    scope.pins.get(&reference(name, version.as_deref())).cloned().or_else(|| version.clone())
                };
                let call = match &step.kind {
                    StepKind::Action { connector, version, action, connection, .. } => {
                        let version = pinned(connector, version);
                        inner
                            .plugins
                            .invoke(ActionCall {
                                connector,
                                version: version.as_deref(),
                                action,
                                connection,
                                input: &input,
                                idempotency_key: &idempotency_key,
                                attempt,
                                record_io: scope.record_io,
                            })
                            .await
                    }
                    StepKind::Transform { plugin, version, .. } => {
                        let version = pinned(plugin, version);
                        inner.plugins.transform(plugin, version.as_deref(), &input).await
                    }
                    _ => unreachable!("matched above"),
                };
                let PluginCall { result, logs, dropped_logs, io } = call;
                let mut rec = record(StepStatus::Succeeded, Some(input), None, attempt, started_ms);
                rec.seq = seq;
                rec.retried = retried;
                rec.logs = logs;
                rec.dropped_logs = dropped_logs;
                rec.io = io;
                rec.ended_ms = Some(inner.clock.now_ms());
                // The application said "slow down": not only this run, every
                // action of the connection waits its retry-after.
                if let (Err(failure), StepKind::Action { connection, .. }) = (&result, &step.kind)
                    && let Some(wait) = failure.retry_after_ms.filter(|ms| *ms > 0)
                {
                    self.pause_connection(connection, inner.clock.now_ms() + wait);
                }
                match result {
                    Ok(output) => {
                        rec.output = Some(output.clone());
                        // An action's result is durable before anything else
                        // happens, so a crash never repeats it. A transform
                        // has no effects outside its output: its record is
                        // held back for the run's next write and goes to disk
                        // with the next flush (the next action's, or the
                        // run's end); a crash before that re-runs it.
                        if matches!(step.kind, StepKind::Action { .. }) {
                            self.put(scope, &mut rec)?;
                            store.flush().await?;
                        } else {
                            self.defer(scope, rec)?;
                        }
                        scope.record(&step.id, &output, None);
                        Ok(output)
                    }
                    Err(failure) if failure.retryable && attempt < step.retry.max_attempts => {
                        let retry_after = failure.retry_after_ms.map(Duration::from_millis);
                        let wait = backoff(&step.retry, attempt, &idempotency_key, retry_after);
                        let ended_ms = inner.clock.now_ms();
                        let wake = ended_ms + wait.as_millis() as u64;
                        rec.retried.push(FailedAttempt {
                            attempt,
                            started_ms: call_started,
                            ended_ms,
                            error: failure.clone(),
                            wait_ms: wait.as_millis() as u64,
                        });
                        rec.status = StepStatus::Waiting;
                        rec.error = Some(failure);
                        rec.wake_ms = Some(wake);
                        self.put(scope, &mut rec)?;
                        store.flush().await?;
                        Err(Stop::Wait(wake))
                    }
                    Err(failure) => {
                        rec.status = StepStatus::Failed;
                        rec.error = Some(failure.clone());
                        self.put(scope, &mut rec)?;
                        store.flush().await?;
                        self.after_failure(step, path, scope, failure).await
                    }
                }
            }

            StepKind::If { condition, then, otherwise } => {
                let taken = match existing.as_ref().and_then(|r| r.input.as_ref()).and_then(Value::as_bool) {
                    Some(taken) => taken,
                    None => {
                        let taken = condition
                            .is_true(&scope.context())
                            .map_err(|e| fail_step(&step.id, path, &e.to_string()))?;
                        let mut rec = record(StepStatus::Succeeded, Some(json!(taken)), None, 1, now);
                        rec.ended_ms = Some(now);
                        self.defer(scope, rec)?;
                        taken
                    }
                };
                let (arm, name) = if taken { (then, "then") } else { (otherwise, "else") };
                let output = self.steps(arm, &format!("{path}.{name}"), scope).await?;
                scope.record(&step.id, &output, None);
                Ok(output)
            }

            StepKind::Switch { value, cases, default } => {
                let chosen = match existing.as_ref().and_then(|r| r.input.clone()) {
                    Some(Value::String(chosen)) => chosen,
                    _ => {
                        let v = value.eval(&scope.context()).map_err(|e| fail_step(&step.id, path, &e.to_string()))?;
                        let text = match v {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        let mut rec = record(StepStatus::Succeeded, Some(json!(text)), None, 1, now);
                        rec.ended_ms = Some(now);
                        self.defer(scope, rec)?;
                        text
                    }
                };
                let (arm, name) = match cases.iter().find(|(case, _)| *case == chosen) {
                    Some((case, steps)) => (steps, format!("cases.{case}")),
                    None => (default, "default".to_string()),
                };
                let output = self.steps(arm, &format!("{path}.{name}"), scope).await?;
                scope.record(&step.id, &output, None);
                Ok(output)
            }

            StepKind::ForEach { list, steps, concurrency } => {
                let (items, seq) = match existing.as_ref().and_then(|r| r.input.clone()) {
                    Some(Value::Array(items)) => (items, seq),
                    _ => {
                        let items = match list
                            .eval(&scope.context())
                            .map_err(|e| fail_step(&step.id, path, &e.to_string()))?
                        {
                            Value::Array(items) => items,
                            Value::Null => Vec::new(),
                            other => {
                                return Err(fail_step(&step.id, path, &format!("for_each needs a list, got {other}")));
                            }
                        };
                        let mut rec = record(StepStatus::Running, Some(Value::Array(items.clone())), None, 1, now);
                        self.put(scope, &mut rec)?;
                        (items, rec.seq)
                    }
                };
                // Items run `concurrency` at a time, each with its own scope.
                let mut outputs = Vec::with_capacity(items.len());
                let mut wait: Option<u64> = None;
                let width = (*concurrency as usize).max(1);
                for chunk in (0..items.len()).collect::<Vec<_>>().chunks(width) {
                    let mut batch: Vec<BoxFuture<'_, Result<Value, Stop>>> = Vec::with_capacity(chunk.len());
                    for &index in chunk {
                        let mut item_scope = scope.clone();
                        item_scope.item = Some((ExprValue::from_json(&items[index]), index));
                        let item_path = format!("{path}[{index}]");
                        batch.push(Box::pin(async move { self.steps(steps, &item_path, &mut item_scope).await }));
                    }
                    for result in futures::future::join_all(batch).await {
                        match result {
                            Ok(v) => outputs.push(v),
                            Err(Stop::Wait(w)) => wait = Some(wait.map_or(w, |x| x.min(w))),
                            Err(other) => return Err(other),
                        }
                    }
                }
                if let Some(w) = wait {
                    return Err(Stop::Wait(w));
                }
                let output = Value::Array(outputs);
                let mut rec = record(StepStatus::Succeeded, Some(Value::Array(items)), Some(output.clone()), 1, now);
                rec.seq = seq;
                rec.started_ms = existing.as_ref().map_or(now, |r| r.started_ms);
                rec.ended_ms = Some(inner.clock.now_ms());
                self.put(scope, &mut rec)?;
                scope.record(&step.id, &output, None);
                Ok(output)
            }

            StepKind::Call { flow: target, input: mapping } => {
                if let Some(done) = self.replay(step, path, scope, existing.as_ref()).await {
                    return done;
                }
                let fail = |rec: &mut StepRecord, failure: &StepFailure| {
                    rec.status = StepStatus::Failed;
                    rec.error = Some(failure.clone());
                    rec.wake_ms = None;
                    rec.ended_ms = Some(inner.clock.now_ms());
                };
                if let Some(mut rec) = existing.clone()
                    && let Some(child_id) = rec.child.clone()
                {
                    // The sub-flow's run was started (with this record): how is it doing?
                    let failure = match store.run(&child_id)? {
                        Some(child) if child.status == RunStatus::Succeeded => {
                            let output = child.output.clone().unwrap_or(Value::Null);
                            rec.status = StepStatus::Succeeded;
                            rec.output = Some(output.clone());
                            rec.wake_ms = None;
                            rec.ended_ms = Some(inner.clock.now_ms());
                            // Nothing is lost if a crash forgets it: the child's record holds the output.
                            self.defer(scope, rec)?;
                            scope.record(&step.id, &output, None);
                            return Ok(output);
                        }
                        Some(child) if child.status.is_final() => StepFailure::fatal(format!(
                            "sub-flow {target:?} (run {child_id}) {}: {}",
                            child.status,
                            child.error.as_deref().unwrap_or("no error given")
                        ))
                        .of_kind("sub-flow"),
                        Some(_) => return Err(Stop::Wait(now + recheck_ms(now.saturating_sub(rec.started_ms)))),
                        None => StepFailure::fatal(format!("sub-flow {target:?}: its run {child_id} no longer exists"))
                            .of_kind("sub-flow"),
                    };
                    fail(&mut rec, &failure);
                    self.put(scope, &mut rec)?;
                    store.flush().await?;
                    return self.after_failure(step, path, scope, failure).await;
                }
                // Start the sub-flow's run, in the same write as this step's record.
                let mut rec = record(StepStatus::Waiting, None, None, 1, now);
                let started = match mapping.render(&scope.context()) {
                    Err(e) => {
                        Err(StepFailure::fatal(format!("input mapping at {}: {}", display_path(&e.path), e.error))
                            .of_kind("input-mapping"))
                    }
                    Ok(input) => {
                        rec.input = Some(input.clone());
                        self.child_run(target, input, scope, path)
                    }
                };
                match started {
                    Ok(child) => {
                        rec.child = Some(child.id.clone());
                        let wake = now + recheck_ms(0);
                        rec.wake_ms = Some(wake);
                        self.put_spawning(scope, &mut rec, std::slice::from_ref(&child))?;
                        store.flush().await?;
                        self.submit(std::slice::from_ref(&child));
                        Err(Stop::Wait(wake))
                    }
                    Err(failure) => {
                        fail(&mut rec, &failure);
                        self.put(scope, &mut rec)?;
                        store.flush().await?;
                        self.after_failure(step, path, scope, failure).await
                    }
                }
            }

            StepKind::Respond(mapping) => {
                // Answered before (the run resumed): not again.
                if let Some(done) = self.replay(step, path, scope, existing.as_ref()).await {
                    return done;
                }
                let rendered = mapping.render(&scope.context()).map_err(|e| {
                    fail_step(&step.id, path, &format!("respond at {}: {}", display_path(&e.path), e.error))
                })?;
                let status = validate::response_status(&rendered["status"])
                    .map_err(|m| fail_step(&step.id, path, &format!("respond.status: {m}")))?;
                let mut headers = serde_json::Map::new();
                for (name, value) in rendered["headers"].as_object().into_iter().flatten() {
                    // A whole expression keeps its type: a number or a flag is written out.
                    let text = match value {
                        Value::String(text) => Some(text.clone()),
                        Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
                        _ => None,
                    };
                    let Some(text) = text.filter(|t| http_token(name) && !t.contains(['\r', '\n'])) else {
                        return Err(fail_step(
                            &step.id,
                            path,
                            &format!("respond.headers: {name:?}: {value} is not a valid header"),
                        ));
                    };
                    headers.insert(name.to_ascii_lowercase(), Value::String(text));
                }
                let response = json!({ "status": status, "headers": headers, "body": rendered["body"] });
                let mut rec = record(StepStatus::Succeeded, None, Some(response.clone()), 1, now);
                rec.ended_ms = Some(now);
                self.put(scope, &mut rec)?;
                if let Some(tx) = inner.responders.lock().expect("responders").remove(&*run_id) {
                    let _ = tx.send(response.clone());
                }
                scope.record(&step.id, &response, None);
                Ok(response)
            }

            StepKind::Delay(_) | StepKind::DelayUntil(_) => {
                if let Some(r) = &existing
                    && r.status == StepStatus::Succeeded
                {
                    let output = r.output.clone().unwrap_or(Value::Null);
                    scope.record(&step.id, &output, None);
                    return Ok(output);
                }
                // The wait this step recorded before, or a new one.
                let (mut rec, wake, new) = match existing.as_ref().and_then(|r| Some((r.clone(), r.wake_ms?))) {
                    Some((rec, wake)) => (rec, wake, false),
                    None => {
                        let wake = match &step.kind {
                            StepKind::Delay(d) => now + d.as_millis() as u64,
                            StepKind::DelayUntil(mapping) => {
                                until_ms(mapping, &scope.context()).map_err(|m| fail_step(&step.id, path, &m))?
                            }
                            _ => unreachable!("matched above"),
                        };
                        let mut rec = record(StepStatus::Waiting, None, None, 1, now);
                        rec.wake_ms = Some(wake);
                        (rec, wake, true)
                    }
                };
                // A test run does not wait: it goes on at once, as if the time had come.
                let testing = scope.test.is_some();
                if wake > now && !testing {
                    // Written with the run's `waiting` record, which comes next.
                    if new {
                        self.defer(scope, rec)?;
                    }
                    return Err(Stop::Wait(wake));
                }
                // Due (or a time already past when the step began): go on at once.
                let output = if wake > now {
                    json!({ "waited_until_ms": wake, "not_waited": true })
                } else {
                    json!({ "waited_until_ms": wake })
                };
                rec.status = StepStatus::Succeeded;
                rec.output = Some(output.clone());
                rec.ended_ms = Some(now);
                self.put(scope, &mut rec)?;
                store.flush().await?;
                scope.record(&step.id, &output, None);
                Ok(output)
            }
        }
    }

    /// A new run of flow `target` for a `call` step at `path`, with `input` as its event.
    fn child_run(&self, target: &str, input: Value, scope: &Scope, path: &str) -> Result<RunRecord, StepFailure> {
        let sub = |m: String| StepFailure::fatal(m).of_kind("sub-flow");
        let depth = scope.depth + 1;
        if depth > MAX_CALL_DEPTH {
            return Err(sub(format!(
                "calling {target:?} would nest sub-flows {depth} deep; the limit is {MAX_CALL_DEPTH} \
                 (does a chain of calls lead back to a flow it came from?)"
            )));
        }
        let stored = match self.inner.store.flow(target) {
            Ok(Some(stored)) => stored,
            Ok(None) => return Err(sub(format!("no flow named {target:?}"))),
            Err(e) => return Err(StepFailure::fatal(e.to_string()).of_kind("store").retryable()),
        };
        self.runnable(&stored).map_err(|e| sub(e.to_string()))?;
        let mut child = self.prepare_runs(&stored, std::iter::once(input)).pop().expect("one run");
        child.parent = Some(ParentLink { run: scope.run_id.to_string(), step: path.to_string(), depth });
        if scope.test.is_some() {
            // A test run's sub-flow is a test run too: listed apart, not waiting on delays.
            child.test = Some(Arc::new(TestRun { def: stored.def.clone(), pinned: BTreeMap::new(), until: None }));
        }
        Ok(child)
    }

    /// What a step that already finished (an earlier execution recorded it)
    /// gives, without running it again: its recorded output, or its recorded
    /// failure through its `on_error`. `None` when it has not finished.
    async fn replay(
        &self,
        step: &Step,
        path: &str,
        scope: &mut Scope,
        existing: Option<&StepRecord>,
    ) -> Option<Result<Value, Stop>> {
        let r = existing?;
        match r.status {
            StepStatus::Succeeded => {
                let output = r.output.clone().unwrap_or(Value::Null);
                scope.record(&step.id, &output, None);
                Some(Ok(output))
            }
            StepStatus::Failed => {
                let failure = r.error.clone().unwrap_or_else(|| StepFailure::fatal("failed"));
                Some(self.after_failure(step, path, scope, failure).await)
            }
            StepStatus::Running | StepStatus::Waiting => None,
        }
    }

    /// A step failed for good: apply its `on_error`.
    async fn after_failure(
        &self,
        step: &Step,
        path: &str,
        scope: &mut Scope,
        failure: StepFailure,
    ) -> Result<Value, Stop> {
        match &step.on_error {
            OnError::Fail => Err(Stop::Fail(Failure {
                message: format!("step {:?} failed: {}", step.id, failure.message),
                step: Some(path.to_string()),
                kind: failure.kind.clone(),
            })),
            OnError::Continue => {
                let output = json!({ "error": failure.message });
                scope.record(&step.id, &output, Some(&failure));
                Ok(output)
            }
            OnError::Branch(steps) => {
                scope.record(&step.id, &Value::Null, Some(&failure));
                self.steps(steps, &format!("{path}.on_error"), scope).await
            }
        }
    }

    // ---- workers ---------------------------------------------------------------------------

    /// Wake due runs and start as many queued runs as the budgets allow.
    /// Returns how many runs were started.
    ///
    /// Runs this process queued (or woke) are taken from `ready`, in order,
    /// without looking at the store's queue. The queue is scanned only when
    /// it holds more runs than are executing: runs left by a restart, or held
    /// back by a flow's limit.
    pub fn dispatch(&self) -> Result<usize, ExecError> {
        let inner = &self.inner;
        let woken = inner.store.wake_due(inner.clock.now_ms())?;
        let mut started = 0;
        inner.ready.lock().expect("ready runs").extend(woken);
        loop {
            if inner.global.available_permits() == 0 {
                return Ok(started);
            }
            let Some(run_id) = inner.ready.lock().expect("ready runs").pop_front() else { break };
            match self.try_start(run_id, false)? {
                Start::Started => started += 1,
                Start::Skipped => {}
                Start::NoPermit(run_id) => {
                    inner.ready.lock().expect("ready runs").push_front(run_id);
                    return Ok(started);
                }
            }
        }
        if inner.store.backlog()? <= self.running() {
            return Ok(started);
        }
        // Runs already executing are at the head of the queue: look a little past them.
        let look = self.running() + inner.global.available_permits() * 4 + 16;
        for run_id in inner.store.queued(look)? {
            match self.try_start(run_id, true)? {
                Start::Started => started += 1,
                Start::Skipped => {}
                Start::NoPermit(_) => break,
            }
        }
        Ok(started)
    }

    /// Start executing queued run `run_id` in a task of its own, if the
    /// budgets allow. `scanned`: found in the store's queue (which a crash
    /// can leave holding entries of ended runs, or of no run).
    fn try_start(&self, run_id: String, scanned: bool) -> Result<Start, ExecError> {
        let inner = &self.inner;
        if inner.running.lock().expect("running set").contains(&run_id) {
            return Ok(Start::Skipped);
        }
        let Ok(global) = inner.global.clone().try_acquire_owned() else { return Ok(Start::NoPermit(run_id)) };
        // Held before the record is read: a cancel either finds the run
        // held (and flags it) or has saved it cancelled before this read.
        if !inner.running.lock().expect("running set").insert(run_id.clone()) {
            return Ok(Start::Skipped);
        }
        let let_go = || inner.running.lock().expect("running set").remove(&run_id);
        // Another node of a shared store may hold it.
        match inner.store.claim(&run_id) {
            Ok(true) => {}
            Ok(false) => {
                let_go();
                return Ok(Start::Skipped);
            }
            Err(e) => {
                let_go();
                return Err(e.into());
            }
        }
        let let_go = || {
            let_go();
            if let Err(e) = inner.store.release(&run_id) {
                tracing::warn!(run = %run_id, error = %e, "cannot let go of the run");
            }
        };
        let run = match inner.store.run(&run_id) {
            // Ended meanwhile (a cancel): only a stale queue entry needs the run saved again.
            // Waiting: a scan started it before this process's ready list came to it, and it
            // has already reached its delay. It runs again when its timer wakes it.
            Ok(Some(run)) if scanned || !(run.status.is_final() || run.status == RunStatus::Waiting) => run,
            Ok(Some(_)) => {
                let_go();
                return Ok(Start::Skipped);
            }
            Ok(None) => {
                let_go();
                inner.store.unqueue(&run_id)?;
                return Ok(Start::Skipped);
            }
            Err(e) => {
                let_go();
                return Err(e.into());
            }
        };
        // The flow's limits, from its validated definition (read once).
        let flow = self.flow_for(&run).ok();
        let flow_permit = match flow.as_ref().and_then(|f| self.flow_limit(&run.flow, f)) {
            None => None,
            Some(sem) => match sem.try_acquire_owned() {
                Ok(p) => Some(p),
                // It stays queued in the store; a later scan starts it.
                Err(_) => {
                    let_go();
                    return Ok(Start::Skipped);
                }
            },
        };
        // A run beginning (not resuming) over its flow's rate stays queued too.
        if run.status == RunStatus::Queued
            && run.created_ms == run.updated_ms
            && let Some(rate) = flow.as_ref().and_then(|f| f.def.rate_limit)
            && let Err(at) = self.flow_rate(&run.flow, rate)
        {
            self.inner.next_slot.fetch_min(at, Ordering::SeqCst);
            let_go();
            return Ok(Start::Skipped);
        }
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = this.execute_record(run).await {
                tracing::error!(run = %run_id, error = %e, "run execution failed");
            }
            drop((global, flow_permit));
            // Saved waiting or ended, the run was let go of with that write;
            // stopped short (a store error), it is let go of here, for another node.
            if let Err(e) = this.inner.store.release(&run_id) {
                tracing::warn!(run = %run_id, error = %e, "cannot let go of the run");
            }
            this.inner.running.lock().expect("running set").remove(&run_id);
            // A sub-flow that ended while the worker held the run.
            let nudged = this.inner.nudged.lock().expect("nudged runs").remove(&run_id);
            if nudged {
                this.wake_caller(&run_id);
            }
            // A cancel that came while the worker held the run, and found it not yet waiting.
            let flagged = this.inner.cancelled.lock().expect("cancelled set").remove(&run_id);
            if flagged {
                match this.cancel(&run_id).await {
                    Ok(_) | Err(ExecError::Ended(..)) => {}
                    Err(e) => tracing::error!(run = %run_id, error = %e, "cancelling the run failed"),
                }
            }
            this.inner.notify.notify_one();
        });
        Ok(Start::Started)
    }

    /// Count a run of flow `name` beginning now under its `rate`; when it
    /// may not, the moment it could.
    fn flow_rate(&self, name: &str, rate: weft_core::model::RateLimitDef) -> Result<(), u64> {
        let now = self.inner.clock.now_ms();
        let mut rates = self.inner.flow_rates.lock().expect("flow rates");
        let limiter = rates.entry(name.to_string()).or_insert_with(|| Limiter::new(Some(rate)));
        if limiter.rate() != Some(rate) {
            limiter.set_rate(Some(rate));
        }
        limiter.try_take(now)
    }

    /// The moment an action of `connection` may call the application, when
    /// that is later than `now` (the slot is reserved: the caller waits for it).
    fn connection_slot(&self, connection: &str, now: u64) -> Option<u64> {
        let rate = self.inner.plugins.connection_rate_limit(connection);
        let mut rates = self.inner.connection_rates.lock().expect("connection rates");
        let limiter = match rates.get_mut(connection) {
            // The common case: no limit, no pause, nothing kept.
            None if rate.is_none() => return None,
            None => rates.entry(connection.to_string()).or_insert_with(|| Limiter::new(rate)),
            Some(limiter) => limiter,
        };
        if limiter.rate() != rate {
            limiter.set_rate(rate);
        }
        if limiter.is_idle(now) {
            return None;
        }
        let slot = limiter.reserve(now);
        (slot > now).then_some(slot)
    }

    /// Connection `id` was changed or removed: its pause (a new token may
    /// have a fresh allowance) and its pacing start afresh.
    pub fn connection_changed(&self, id: &str) {
        self.inner.connection_rates.lock().expect("connection rates").remove(id);
    }

    /// The application told an action of `connection` to slow down: every
    /// action of the connection waits until `until`.
    fn pause_connection(&self, connection: &str, until: u64) {
        let rate = self.inner.plugins.connection_rate_limit(connection);
        let mut rates = self.inner.connection_rates.lock().expect("connection rates");
        rates.entry(connection.to_string()).or_insert_with(|| Limiter::new(rate)).pause_until(until);
    }

    fn flow_limit(&self, name: &str, flow: &Flow) -> Option<Arc<Semaphore>> {
        let limit = flow.def.concurrency? as usize;
        let mut per_flow = self.inner.per_flow.lock().expect("per-flow limits");
        Some(per_flow.entry(name.to_string()).or_insert_with(|| Arc::new(Semaphore::new(limit))).clone())
    }

    /// Runs executing now.
    pub fn running(&self) -> usize {
        self.inner.running.lock().expect("running set").len()
    }

    /// Work until no run is queued or running (waiting runs stay waiting).
    pub async fn run_until_idle(&self) -> Result<(), ExecError> {
        loop {
            let notified = self.inner.notify.notified();
            self.dispatch()?;
            if self.running() == 0 && self.inner.store.queued(1)?.is_empty() {
                return Ok(());
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        }
    }

    /// Work forever: dispatch queued runs and wake waiting ones when due. A
    /// store that fails (a database restarting) is tried again a second later.
    pub async fn work(&self) -> Result<(), ExecError> {
        loop {
            let notified = self.inner.notify.notified();
            let now = self.inner.clock.now_ms();
            let dispatched = self.dispatch().and_then(|_| Ok(self.inner.store.next_wake()?));
            // A run held back by its flow's rate may begin then.
            let slot = self.inner.next_slot.swap(u64::MAX, Ordering::SeqCst);
            let next = match dispatched {
                Ok(next) => next.unwrap_or(u64::MAX).min(slot).min(now + 1000),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot dispatch runs; trying again in a second");
                    now + 1000
                }
            };
            tokio::select! {
                _ = notified => {}
                _ = self.inner.clock.sleep_until(next) => {}
            }
        }
    }
}

fn missing_list(plugins: &[String]) -> String {
    match plugins {
        [one] => format!("plugin {one:?} is"),
        many => format!("plugins {} are", many.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>().join(", ")),
    }
}

/// Validated flows kept; past it the cache starts over.
const FLOW_CACHE_LIMIT: usize = 4096;

/// The catalog as a run sees it: each plugin reference at the version the run
/// started with, when that version is still known; otherwise as installed now.
struct Pinned<'a> {
    plugins: &'a dyn Plugins,
    pins: &'a BTreeMap<String, String>,
}

impl Pinned<'_> {
    fn pin<'v>(&'v self, name: &str, version: Option<&'v str>) -> Option<&'v str> {
        self.pins.get(&reference(name, version)).map(String::as_str)
    }
}

impl Catalog for Pinned<'_> {
    fn connector(&self, name: &str, version: Option<&str>) -> Option<weft_core::plugin::Manifest> {
        self.pin(name, version)
            .and_then(|hash| self.plugins.connector(name, Some(hash)))
            .or_else(|| self.plugins.connector(name, version))
    }

    fn has_transform(&self, name: &str, version: Option<&str>) -> bool {
        self.pin(name, version).is_some_and(|hash| self.plugins.has_transform(name, Some(hash)))
            || self.plugins.has_transform(name, version)
    }

    fn connection_connector(&self, id: &str) -> Option<String> {
        self.plugins.connection_connector(id)
    }
}

/// How a flow names a plugin: `http`, or `http@1.2.0` when pinned.
fn reference(name: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{name}@{v}"),
        None => name.to_string(),
    }
}

fn fail_step(id: &str, path: &str, message: &str) -> Stop {
    Stop::Fail(Failure {
        message: format!("step {id:?} failed: {message}"),
        step: Some(path.to_string()),
        kind: Some("expression".into()),
    })
}

/// How long a run waiting for a sub-flow waits before it looks at it again,
/// having waited `waited_ms`. The sub-flow's end wakes it at once; the look
/// is for an end nobody heard (a crash between the two): 1 s, growing to 30 s.
fn recheck_ms(waited_ms: u64) -> u64 {
    (waited_ms / 2).clamp(1_000, 30_000)
}

/// Whether `name` is an HTTP header name (RFC 9110 token).
fn http_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn display_path(path: &str) -> &str {
    if path.is_empty() { "the input" } else { path }
}

fn until_ms(mapping: &Mapping, scope: &ExprValue) -> Result<u64, String> {
    let value = mapping.render(scope).map_err(|e| e.error.to_string())?;
    let text = value.as_str().ok_or_else(|| format!("delay_until needs an RFC 3339 time, got {value}"))?;
    let time = humantime::parse_rfc3339_weak(text).map_err(|e| format!("{text:?} is not an RFC 3339 time: {e}"))?;
    Ok(time.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_jittered_and_honours_retry_after() {
        let policy = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
        };
        let waits: Vec<Duration> = (1..=6).map(|a| backoff(&policy, a, "run/step", None)).collect();
        for (attempt, wait) in waits.iter().enumerate() {
            let base = Duration::from_secs(1 << attempt).min(Duration::from_secs(10));
            assert!(
                *wait >= base / 2 && *wait <= base,
                "attempt {}: {wait:?} not in [{:?}, {base:?}]",
                attempt + 1,
                base / 2
            );
        }
        assert_eq!(backoff(&policy, 3, "run/step", None), waits[2], "deterministic per step and attempt");
        assert_eq!(backoff(&policy, 1, "run/step", Some(Duration::from_secs(30))), Duration::from_secs(30));
    }
}
