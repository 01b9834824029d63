//! Runs and step records: what the executor persists, and the traits through
//! which it reaches storage ([`RunStore`]) and plugins ([`Plugins`]).

use crate::catalog::Catalog;
use crate::log::LogLine;
use crate::model::FlowDef;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker is executing it.
    Running,
    /// Waiting for a delay or a retry; holds no worker.
    Waiting,
    Succeeded,
    Failed,
    Cancelled,
}

impl RunStatus {
    pub fn is_final(self) -> bool {
        matches!(self, RunStatus::Succeeded | RunStatus::Failed | RunStatus::Cancelled)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Waiting => "waiting",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        })
    }
}

/// One execution of a flow for one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Time-ordered unique id.
    pub id: String,
    pub flow: String,
    /// The flow version this run executes.
    pub version: u64,
    pub status: RunStatus,
    /// The trigger's event (`trigger` in expressions). Shared: an event may
    /// be large, and a run's record is copied while it executes. The store
    /// keeps it apart from the rest of the record, which it decodes without it.
    #[serde(default)]
    pub trigger: Arc<Value>,
    pub created_ms: u64,
    pub updated_ms: u64,
    /// Why the run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The output of the last step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// When waiting: when it wakes (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wake_ms: Option<u64>,
    /// The run this one re-runs, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun_of: Option<String>,
    /// The exact plugin versions (content hashes) the run uses, by how the
    /// flow names them (`http`, `http@1.2.0`): fixed when the run is created,
    /// so a plugin swapped meanwhile does not change a run in flight.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub plugins: std::collections::BTreeMap<String, String>,
    /// Set on a test run: a run started from the editor with a sample event,
    /// apart from the flow's production runs (listings, statistics and
    /// retention tell them apart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Arc<TestRun>>,
    /// Set on a sub-flow's run: the run and step that called it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentLink>,
    /// Set on an error flow's run: the failed run it reports. Its own
    /// failure starts no error flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_of: Option<String>,
    /// Set on a failed run whose failure started an error flow: that run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_run: Option<String>,
}

/// Where a sub-flow's run was called from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentLink {
    /// The calling run.
    pub run: String,
    /// The path of its `call` step.
    pub step: String,
    /// How deep the call nests: 1 for a sub-flow of a run nothing called.
    pub depth: u32,
}

impl RunRecord {
    /// Whether this is a test run.
    pub fn is_test(&self) -> bool {
        self.test.is_some()
    }

    /// The record without its event, as the stores keep it: the record is
    /// rewritten at every change of the run's status, the event (which may be
    /// large: a webhook's body) once. Read back as a `RunRecord`, its
    /// `trigger` is `null` until the store puts the event in.
    pub fn head(&self) -> RunHead<'_> {
        // Every field named: a field added to `RunRecord` must be added to `RunHead` too.
        let RunRecord {
            id,
            flow,
            version,
            status,
            trigger: _,
            created_ms,
            updated_ms,
            error,
            output,
            wake_ms,
            rerun_of,
            plugins,
            test,
            parent,
            failure_of,
            error_run,
        } = self;
        RunHead {
            id,
            flow,
            version: *version,
            status: *status,
            created_ms: *created_ms,
            updated_ms: *updated_ms,
            error: error.as_deref(),
            output: output.as_ref(),
            wake_ms: *wake_ms,
            rerun_of: rerun_of.as_deref(),
            plugins,
            test: test.as_deref(),
            parent: parent.as_ref(),
            failure_of: failure_of.as_deref(),
            error_run: error_run.as_deref(),
        }
    }
}

/// A run's record without its event ([`RunRecord::head`]), serialized as the
/// `RunRecord` it is read back as.
#[derive(Debug, Serialize)]
pub struct RunHead<'a> {
    id: &'a str,
    flow: &'a str,
    version: u64,
    status: RunStatus,
    created_ms: u64,
    updated_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wake_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rerun_of: Option<&'a str>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    plugins: &'a std::collections::BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    test: Option<&'a TestRun>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<&'a ParentLink>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_of: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_run: Option<&'a str>,
}

/// What a test run runs: a definition that need not be saved, with the
/// outputs of some steps given instead of called.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestRun {
    /// The definition under test (what the editor holds, saved or not).
    pub def: FlowDef,
    /// Steps whose output is given, by step id: they are not called, their
    /// record shows the given output (`pinned`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub pinned: std::collections::BTreeMap<String, Value>,
    /// Stop, succeeded, once this step has run (testing one step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Running,
    Succeeded,
    /// Failed for good; with `on_error: continue` or `branch` the run went on.
    Failed,
    /// Waiting for a delay or a retry.
    Waiting,
}

/// Why a step failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepFailure {
    pub message: String,
    /// Whether another attempt may succeed.
    pub retryable: bool,
    /// The plugin asked to wait at least this long (rate limiting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// What kind of failure: a plugin's error kind (`invalid-input`, `auth`,
    /// `rate-limited`, `transient`, `fatal`), the sandbox stopping a call
    /// (`limit`, `trap`, `bad-output`, `capacity`), or the engine's own
    /// (`input-mapping`, `store`: the store did not answer). Absent for failures with no kind of their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl StepFailure {
    pub fn fatal(message: impl Into<String>) -> Self {
        Self { message: message.into(), retryable: false, retry_after_ms: None, kind: None }
    }

    /// This failure, and another attempt may succeed.
    pub fn retryable(mut self) -> Self {
        self.retryable = true;
        self
    }

    /// This failure, of `kind`.
    pub fn of_kind(mut self, kind: &str) -> Self {
        self.kind = Some(kind.to_string());
        self
    }
}

/// An attempt of a step that failed and was tried again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedAttempt {
    /// 1 for the first attempt.
    pub attempt: u32,
    pub started_ms: u64,
    pub ended_ms: u64,
    pub error: StepFailure,
    /// How long the engine waited before the next attempt (the back-off).
    pub wait_ms: u64,
}

/// What happened to one step of one run (one per step path; loop items have
/// their own paths, e.g. `each[3].clean`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Where in the flow: `create`, `check.then.wait`, `each[3].clean`.
    pub path: String,
    pub step_id: String,
    pub status: StepStatus,
    /// The rendered input (actions and transforms), the evaluated condition or list (control steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<StepFailure>,
    pub attempts: u32,
    /// The attempts before the last that failed and were retried, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retried: Vec<FailedAttempt>,
    pub started_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_ms: Option<u64>,
    /// When waiting: when the step continues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wake_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<LogLine>,
    /// Log lines the plugin wrote beyond what a call keeps (counted, not kept).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped_logs: u64,
    /// Assigned by the store when the record is first written (`seq` 0): the run's step order.
    #[serde(default)]
    pub seq: u64,
    /// A test run gave this step's output: it was not called.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pinned: bool,
    /// The node that executed the step, when several nodes share one store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// A `call` step: the sub-flow's run it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child: Option<String>,
    /// Waiting (until `wake_ms`) for its turn under its connection's rate limit.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub throttled: bool,
    /// An action's host I/O in its last attempt (HTTP exchanges, key-value
    /// operations, clock readings, the random seed; secrets redacted, bodies
    /// cut at the server's cap), so the run can be replayed offline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io: Option<crate::io::IoRecording>,
}

/// How a run ended, as retention tells runs apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndClass {
    Succeeded,
    /// Failed or cancelled.
    Failed,
    /// A test run, however it ended.
    Test,
}

impl EndClass {
    /// The class of `run`, once it has ended.
    pub fn of(run: &RunRecord) -> Option<Self> {
        Self::of_status(run.status, run.is_test())
    }

    /// The class of a run with `status`, a test run or not, once it has ended.
    pub fn of_status(status: RunStatus, test: bool) -> Option<Self> {
        match status {
            _ if !status.is_final() => None,
            _ if test => Some(EndClass::Test),
            RunStatus::Succeeded => Some(EndClass::Succeeded),
            _ => Some(EndClass::Failed),
        }
    }
}

/// An ended run, as retention lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedRun {
    pub id: String,
    pub flow: String,
    pub class: EndClass,
    /// When it ended (ms since the epoch).
    pub ended_ms: u64,
}

/// A filter for listing runs.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub flow: Option<String>,
    pub status: Option<RunStatus>,
    /// Runs created at or after this time (ms since the epoch).
    pub since_ms: Option<u64>,
    /// Runs created before this time (ms since the epoch): the next page of a listing.
    pub before_ms: Option<u64>,
    /// At most this many (0: all).
    pub limit: usize,
    /// List test runs instead of production runs.
    pub test: bool,
}

impl RunFilter {
    /// Whether `run` passes the filter (its limit aside).
    pub fn admits(&self, run: &RunRecord) -> bool {
        self.flow.as_ref().is_none_or(|f| *f == run.flow)
            && self.status.is_none_or(|s| s == run.status)
            && self.since_ms.is_none_or(|t| run.created_ms >= t)
            && self.before_ms.is_none_or(|t| run.created_ms < t)
            && self.test == run.is_test()
    }
}

/// A stored flow version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFlow {
    pub name: String,
    pub version: u64,
    pub def: FlowDef,
    pub updated_ms: u64,
}

/// An error of the storage backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreFailure(pub String);

impl fmt::Display for StoreFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "store: {}", self.0)
    }
}

impl std::error::Error for StoreFailure {}

pub type StoreResult<T> = Result<T, StoreFailure>;

/// Where flows, runs, step records, the queue and timers live. The store
/// crates implement it; the flow engine's tests implement it in memory.
pub trait RunStore: Send + Sync + 'static {
    /// Store `def` as the flow's next version unless it equals the current one.
    fn put_flow(&self, def: &FlowDef, now_ms: u64) -> StoreResult<StoredFlow>;
    /// The flow's current version (shared: the store may keep it decoded).
    fn flow(&self, name: &str) -> StoreResult<Option<Arc<StoredFlow>>>;
    fn flow_version(&self, name: &str, version: u64) -> StoreResult<Option<StoredFlow>>;
    fn flows(&self) -> StoreResult<Vec<StoredFlow>>;
    /// Remove the flow's current definition (its versions stay for its runs).
    /// Whether it existed.
    fn delete_flow(&self, name: &str) -> StoreResult<bool>;

    /// Save a new run and put it on the queue, atomically.
    fn create_run(&self, run: &RunRecord) -> StoreResult<()>;
    fn run(&self, id: &str) -> StoreResult<Option<RunRecord>>;
    /// Save the run; queue, schedule (at `wake_ms`) or neither, by its status.
    fn save_run(&self, run: &RunRecord) -> StoreResult<()>;
    fn runs(&self, filter: &RunFilter) -> StoreResult<Vec<RunRecord>>;
    /// Runs queued or executing: what ingress checks before accepting more.
    fn backlog(&self) -> StoreResult<usize>;

    fn step(&self, run: &str, path: &str) -> StoreResult<Option<StepRecord>>;
    /// Write a step record. A record with `seq` 0 is the step's first: the
    /// store gives it the next place in the run's order (into `step.seq`,
    /// so the caller's later writes of the same step keep it).
    fn put_step(&self, run: &str, step: &mut StepRecord) -> StoreResult<()>;
    /// Write `steps` (in order, each as [`RunStore::put_step`]) and then, if
    /// given, the run (as [`RunStore::save_run`]), all as one write.
    fn put_together(&self, run: &str, steps: &mut [&mut StepRecord], then: Option<&RunRecord>) -> StoreResult<()> {
        self.put_spawning(run, steps, then, &[])
    }
    /// [`RunStore::put_together`], and in the same write create the new runs
    /// `spawn` (as [`RunStore::create_run`]): a sub-flow's run with the step
    /// that calls it, an error flow's run with the end of the run it reports.
    /// A crash leaves all or nothing.
    fn put_spawning(
        &self,
        run: &str,
        steps: &mut [&mut StepRecord],
        then: Option<&RunRecord>,
        spawn: &[RunRecord],
    ) -> StoreResult<()>;
    /// The run's step records in the order they were first written.
    fn steps(&self, run: &str) -> StoreResult<Vec<StepRecord>>;

    /// Runs waiting for a worker, oldest first: queued runs, and runs whose
    /// worker is gone (interrupted while running), that no node holds.
    fn queued(&self, limit: usize) -> StoreResult<Vec<String>>;

    /// Take run `id` for this process to execute; `false` when another node
    /// of a shared store holds it. A store shared by several nodes holds the
    /// run under a lease it renews while this process lives: until the run is
    /// saved waiting or ended, or [`RunStore::release`]d, no other node can
    /// take it, and once another node has taken it (this one paused past the
    /// lease), this one's writes of the run are refused. A store of one
    /// process has nobody to keep out: the default takes every run.
    fn claim(&self, _id: &str) -> StoreResult<bool> {
        Ok(true)
    }

    /// Let go of run `id` without saving it (its execution stopped short);
    /// another node may take it at once. Nothing, for a run not held.
    fn release(&self, _id: &str) -> StoreResult<()> {
        Ok(())
    }
    /// Drop the queue entry of a run that has no record (a crash can leave
    /// one: the entry is written first).
    fn unqueue(&self, id: &str) -> StoreResult<()>;
    /// Waiting runs whose wake time is at or before `now_ms`, moved to the queue.
    fn wake_due(&self, now_ms: u64) -> StoreResult<Vec<String>>;
    /// Move run `id` to the queue now if it is waiting, whatever its wake
    /// time (a sub-flow it waits for has ended). Whether it was waiting.
    fn wake_now(&self, id: &str) -> StoreResult<bool>;
    /// The earliest wake time of any waiting run.
    fn next_wake(&self) -> StoreResult<Option<u64>>;

    /// Make everything written so far durable.
    fn flush(&self) -> BoxFuture<'_, StoreResult<()>>;

    // ---- retention: ended runs, by flow and by how and when they ended ----

    /// Make the listing of ended runs complete: a store written before it was
    /// kept lacks it. Cheap once done.
    fn prepare_retention(&self) -> StoreResult<()>;
    /// The flows (deleted ones too) that have ended runs.
    fn flows_with_ended_runs(&self) -> StoreResult<Vec<String>>;
    /// Ended runs of `flow` in `class` that ended before `before_ms`,
    /// earliest end first, at most `limit`.
    fn ended_runs(&self, flow: &str, class: EndClass, before_ms: u64, limit: usize) -> StoreResult<Vec<EndedRun>>;
    /// Runs of `flow` in `class` that ended in `from_ms..to_ms`, newest first, at most `limit`.
    fn recent_ended(
        &self,
        flow: &str,
        class: EndClass,
        from_ms: u64,
        to_ms: u64,
        limit: usize,
    ) -> StoreResult<Vec<EndedRun>>;
    /// How many ended runs of `flow` in `class` ended before `before_ms`.
    fn count_ended(&self, flow: &str, class: EndClass, before_ms: u64) -> StoreResult<u64>;
    /// How many ended runs `flow` has.
    fn ended_total(&self, flow: &str) -> StoreResult<u64>;
    /// Delete these runs — record, event and step records — and take each
    /// out of the listing of ended runs. A listed run that has not ended (a
    /// crash can leave a stale listing) keeps its records and loses the
    /// listing. Returns how many runs were deleted.
    fn delete_runs(&self, runs: &[EndedRun]) -> StoreResult<usize>;
}

/// The result of one plugin call made for a step.
#[derive(Debug)]
pub struct PluginCall {
    pub result: Result<Value, StepFailure>,
    pub logs: Vec<LogLine>,
    /// Lines beyond the per-call cap, dropped and counted.
    pub dropped_logs: u64,
    /// The call's host I/O, when [`ActionCall::record_io`] asked for it.
    pub io: Option<crate::io::IoRecording>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// How the executor reaches plugins. The `weft` binary's plugin registry
/// implements it over the sandbox; tests implement it without wasm.
pub trait Plugins: Catalog + Send + Sync + 'static {
    /// Run `connector.action` for `connection`.
    fn invoke<'a>(&'a self, call: ActionCall<'a>) -> BoxFuture<'a, PluginCall>;
    /// Run transform `plugin` on `input`.
    fn transform<'a>(
        &'a self,
        plugin: &'a str,
        version: Option<&'a str>,
        input: &'a Value,
    ) -> BoxFuture<'a, PluginCall>;
}

/// One action call.
#[derive(Debug, Clone, Copy)]
pub struct ActionCall<'a> {
    pub connector: &'a str,
    pub version: Option<&'a str>,
    pub action: &'a str,
    pub connection: &'a str,
    pub input: &'a Value,
    /// Stable across attempts: `<run id>/<step path>`.
    pub idempotency_key: &'a str,
    pub attempt: u32,
    /// Record the call's host I/O, keeping up to this many bytes of bodies
    /// and values (0: do not record).
    pub record_io: usize,
}

/// Time, injectable so retries and delays can be tested without sleeping.
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// Resolve no earlier than `when_ms` (a test clock may resolve when advanced).
    fn sleep_until(&self, when_ms: u64) -> BoxFuture<'_, ()>;
}

/// Milliseconds since the Unix epoch, by the wall clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
