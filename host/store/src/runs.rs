//! Flows, runs, step records, the run queue and timers in sled.
//!
//! - `flows`: name → the current [`StoredFlow`]; `flow_versions`: name NUL version → every version;
//! - `runs`: run id → [`RunRecord`] without its event; run ids are time-ordered, so key order is
//!   age order;
//! - `events`: run id → the run's trigger event, written once when the run is created. A run's
//!   record is rewritten at every change of its status, and an event may be large (a webhook's
//!   body): kept apart, it is encoded, logged and inserted once per run, not with every change;
//! - `steps`: run id NUL step path → [`StepRecord`];
//! - `queue`: run id → () for runs waiting for a worker (queued or interrupted while running);
//! - `timers`: wake time (big-endian ms) ++ run id → () for waiting runs;
//! - `ended`: flow NUL class (`s` succeeded, `f` failed or cancelled) ++ end time (big-endian
//!   ms) ++ run id → () for every ended run: what retention prunes, oldest end first, without
//!   reading the runs it keeps. Written in the log entry that ends the run.
//!
//! A run's record and its place in `queue`/`timers` change in one log entry
//! (index entries and the event written before the record, removals after it).
//! Records written before events were kept apart carry their event inline;
//! they are read as they are, and their event moves to `events` the next time
//! the record is written.

use super::{Db, StoreError, Writes};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use weft_core::model::FlowDef;
use weft_core::run::{
    BoxFuture, EndClass, EndedRun, RunFilter, RunRecord, RunStatus, RunStore, StepRecord, StoreFailure, StoreResult,
    StoredFlow,
};

#[derive(Clone)]
pub(crate) struct Trees {
    /// Entries in `queue`, kept exactly by every transaction that changes it
    /// (sled's `len` walks the whole tree).
    backlog: std::sync::Arc<std::sync::atomic::AtomicI64>,
    flows: sled::Tree,
    flow_versions: sled::Tree,
    runs: sled::Tree,
    events: sled::Tree,
    steps: sled::Tree,
    queue: sled::Tree,
    timers: sled::Tree,
    ended: sled::Tree,
    /// `ended_indexed`: every ended run is in `ended` (set once a store from
    /// before `ended` existed has been indexed).
    meta: sled::Tree,
    /// Ended runs per flow, counted from `ended` the first time a flow's
    /// number is asked for (those that ended before) and kept up to date by
    /// every write after.
    ended_counts: Arc<std::sync::Mutex<HashMap<String, u64>>>,
    /// Each flow's current version, decoded: webhooks and starts read it on
    /// every event.
    current: super::Decoded<Arc<StoredFlow>>,
}

impl Trees {
    pub(crate) fn open(db: &sled::Db) -> Result<Self, StoreError> {
        let queue = db.open_tree("queue")?;
        let runs = db.open_tree("runs")?;
        let meta = db.open_tree("runs_meta")?;
        if runs.is_empty() {
            // A new store lists every run as it ends: nothing to index.
            meta.insert(INDEXED, &[])?;
        }
        Ok(Self {
            backlog: std::sync::Arc::new(std::sync::atomic::AtomicI64::new(queue.len() as i64)),
            flows: db.open_tree("flows")?,
            flow_versions: db.open_tree("flow_versions")?,
            runs,
            events: db.open_tree("events")?,
            steps: db.open_tree("steps")?,
            queue,
            timers: db.open_tree("timers")?,
            ended: db.open_tree("ended")?,
            meta,
            ended_counts: Default::default(),
            current: Default::default(),
        })
    }
}

fn fail(e: impl std::fmt::Display) -> StoreFailure {
    StoreFailure(e.to_string())
}

fn encode<T: serde::Serialize>(value: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(fail)
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreFailure(format!("a stored record is corrupt: {e}")))
}

/// `run`'s record as `runs` keeps it, without its event (see the module docs).
fn encode_head(run: &RunRecord) -> StoreResult<Vec<u8>> {
    encode(&run.head())
}

fn joined(a: &str, b: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(a.len() + 1 + b.len());
    key.extend_from_slice(a.as_bytes());
    key.push(0);
    key.extend_from_slice(b);
    key
}

const INDEXED: &[u8] = b"ended_indexed";

fn class_byte(class: EndClass) -> u8 {
    match class {
        EndClass::Succeeded => b's',
        EndClass::Failed => b'f',
        EndClass::Test => b't',
    }
}

/// `flow NUL class`: where a flow's ended runs of one class are listed.
fn ended_prefix(flow: &str, class: EndClass) -> Vec<u8> {
    joined(flow, &[class_byte(class)])
}

fn ended_key(flow: &str, class: EndClass, ended_ms: u64, run: &str) -> Vec<u8> {
    let mut key = ended_prefix(flow, class);
    key.extend_from_slice(&ended_ms.to_be_bytes());
    key.extend_from_slice(run.as_bytes());
    key
}

/// Where `run` is listed among ended runs, if it has ended.
fn ended_key_of(run: &RunRecord) -> Option<Vec<u8>> {
    EndClass::of(run).map(|class| ended_key(&run.flow, class, run.updated_ms, &run.id))
}

fn parse_ended(flow: &str, class: EndClass, key: &[u8]) -> Option<EndedRun> {
    let rest = key.get(flow.len() + 2..)?;
    let ended_ms = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
    let id = std::str::from_utf8(&rest[8..]).ok()?.to_string();
    Some(EndedRun { id, flow: flow.to_string(), class, ended_ms })
}

fn timer_key(wake_ms: u64, run: &str) -> Vec<u8> {
    let mut key = wake_ms.to_be_bytes().to_vec();
    key.extend_from_slice(run.as_bytes());
    key
}

impl RunStore for Db {
    fn put_flow(&self, def: &FlowDef, now_ms: u64) -> StoreResult<StoredFlow> {
        let t = &self.trees;
        let stored = self.write(|w| {
            let current: Option<StoredFlow> =
                t.flows.get(&def.name).map_err(StoreError::from)?.map(|v| decode(&v)).transpose()?;
            if let Some(current) = current
                && &current.def == def
            {
                return Ok(current);
            }
            let version = current_version(t, &def.name)? + 1;
            let stored = StoredFlow { name: def.name.clone(), version, def: def.clone(), updated_ms: now_ms };
            let bytes = encode(&stored)?;
            w.insert(&t.flow_versions, joined(&def.name, &version.to_be_bytes()), &bytes)?;
            w.insert(&t.flows, def.name.as_bytes(), &bytes)?;
            Ok(stored)
        });
        t.current.forget(&def.name);
        stored
    }

    fn flow(&self, name: &str) -> StoreResult<Option<Arc<StoredFlow>>> {
        self.trees.current.get_or_load(name, || {
            self.trees.flows.get(name).map_err(fail)?.map(|v| decode(&v).map(Arc::new)).transpose()
        })
    }

    fn flow_version(&self, name: &str, version: u64) -> StoreResult<Option<StoredFlow>> {
        self.trees
            .flow_versions
            .get(joined(name, &version.to_be_bytes()))
            .map_err(fail)?
            .map(|v| decode(&v))
            .transpose()
    }

    fn flows(&self) -> StoreResult<Vec<StoredFlow>> {
        self.trees.flows.iter().values().map(|v| decode(&v.map_err(fail)?)).collect()
    }

    fn create_run(&self, run: &RunRecord) -> StoreResult<()> {
        self.create_runs(std::slice::from_ref(run), |_| Ok(()))
    }

    fn run(&self, id: &str) -> StoreResult<Option<RunRecord>> {
        self.head(id)?.map(|run| self.with_event(run)).transpose()
    }

    fn save_run(&self, run: &RunRecord) -> StoreResult<()> {
        let bytes = encode_head(run)?;
        let delta = self.write(|w| self.put_run(w, run, &bytes))?;
        self.trees.backlog.fetch_add(delta, Ordering::SeqCst);
        Ok(())
    }

    fn backlog(&self) -> StoreResult<usize> {
        Ok(self.trees.backlog.load(Ordering::SeqCst).max(0) as usize)
    }

    fn delete_flow(&self, name: &str) -> StoreResult<bool> {
        // Versions stay: runs keep pointing at the definition they ran.
        let removed = self.write(|w| w.remove(&self.trees.flows, name));
        self.trees.current.forget(name);
        Ok(removed.map_err(fail)?.is_some())
    }

    fn runs(&self, filter: &RunFilter) -> StoreResult<Vec<RunRecord>> {
        let limit = if filter.limit == 0 { usize::MAX } else { filter.limit };
        let mut out = Vec::new();
        // Newest first. Ids begin with the creation time in 12 hex digits,
        // so a time bound is a key bound.
        let below = filter.before_ms.map(|t| format!("{t:012x}").into_bytes());
        let runs = match &below {
            Some(key) => self.trees.runs.range(..key.as_slice()),
            None => self.trees.runs.range::<&[u8], _>(..),
        };
        for value in runs.values().rev() {
            let run: RunRecord = decode(&value.map_err(fail)?)?;
            if filter.since_ms.is_some_and(|t| run.created_ms < t) {
                break;
            }
            if !filter.admits(&run) {
                continue;
            }
            out.push(self.with_event(run)?);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn step(&self, run: &str, path: &str) -> StoreResult<Option<StepRecord>> {
        self.trees.steps.get(joined(run, path.as_bytes())).map_err(fail)?.map(|v| decode(&v)).transpose()
    }

    fn put_step(&self, run: &str, step: &mut StepRecord) -> StoreResult<()> {
        self.put_together(run, &mut [step], None)
    }

    fn put_spawning(
        &self,
        run: &str,
        steps: &mut [&mut StepRecord],
        then: Option<&RunRecord>,
        spawn: &[RunRecord],
    ) -> StoreResult<()> {
        let mut encoded = Vec::with_capacity(steps.len());
        for step in steps.iter_mut() {
            if step.seq == 0 {
                step.seq = self.db.generate_id().map_err(fail)? + 1;
            }
            encoded.push((joined(run, step.path.as_bytes()), encode(&**step)?));
        }
        let then = then.map(|r| Ok::<_, StoreFailure>((r, encode_head(r)?))).transpose()?;
        let spawned = encode_new(spawn)?;
        let delta = self.write(|w| {
            let mut delta = self.insert_new(w, &spawned)?;
            for (key, bytes) in &encoded {
                w.insert(&self.trees.steps, key, bytes)?;
            }
            if let Some((run, bytes)) = &then {
                delta += self.put_run(w, run, bytes)?;
            }
            Ok::<_, StoreFailure>(delta)
        })?;
        self.trees.backlog.fetch_add(delta, Ordering::SeqCst);
        Ok(())
    }

    fn steps(&self, run: &str) -> StoreResult<Vec<StepRecord>> {
        let mut steps: Vec<StepRecord> = self
            .trees
            .steps
            .scan_prefix(joined(run, b""))
            .values()
            .map(|v| decode(&v.map_err(fail)?))
            .collect::<StoreResult<_>>()?;
        steps.sort_by_key(|s| s.seq);
        Ok(steps)
    }

    fn queued(&self, limit: usize) -> StoreResult<Vec<String>> {
        self.trees
            .queue
            .iter()
            .keys()
            .take(limit)
            .map(|k| Ok(String::from_utf8_lossy(&k.map_err(fail)?).into_owned()))
            .collect()
    }

    fn wake_due(&self, now_ms: u64) -> StoreResult<Vec<String>> {
        let mut woken = Vec::new();
        let end = (now_ms.saturating_add(1)).to_be_bytes();
        let due: Vec<_> = self.trees.timers.range(..end.as_slice()).keys().collect::<Result<_, _>>().map_err(fail)?;
        for key in due {
            let run_id = String::from_utf8_lossy(&key[8..]).into_owned();
            // Decided under the write lock, so a run that is being moved on is seen whole.
            // Only the head is read: the event stays as it is in `events`.
            let delta = self.write(|w| match self.head(&run_id)? {
                Some(mut run) if run.status == RunStatus::Waiting => {
                    run.status = RunStatus::Queued;
                    run.wake_ms = None;
                    woken.push(run_id.clone());
                    self.put_run(w, &run, &encode_head(&run)?)
                }
                // A timer whose run is gone or no longer waits (a crash came
                // between the writes that moved the run on): drop it.
                _ => {
                    w.remove(&self.trees.timers, &key)?;
                    Ok(0)
                }
            })?;
            self.trees.backlog.fetch_add(delta, Ordering::SeqCst);
        }
        Ok(woken)
    }

    fn wake_now(&self, id: &str) -> StoreResult<bool> {
        let mut woken = false;
        let delta = self.write(|w| match self.head(id)? {
            Some(mut run) if run.status == RunStatus::Waiting => {
                run.status = RunStatus::Queued;
                run.wake_ms = None;
                woken = true;
                self.put_run(w, &run, &encode_head(&run)?)
            }
            _ => Ok(0),
        })?;
        self.trees.backlog.fetch_add(delta, Ordering::SeqCst);
        Ok(woken)
    }

    fn next_wake(&self) -> StoreResult<Option<u64>> {
        Ok(self
            .trees
            .timers
            .first()
            .map_err(fail)?
            .map(|(k, _)| u64::from_be_bytes(k[..8].try_into().expect("timer keys start with 8 bytes"))))
    }

    fn unqueue(&self, id: &str) -> StoreResult<()> {
        let t = &self.trees;
        // Checked under the write lock: a run being created has its queue entry a moment before its record.
        let removed = self.write(|w| match t.runs.get(id).map_err(StoreError::from)? {
            None => Ok::<_, StoreFailure>(w.remove(&t.queue, id)?.is_some()),
            Some(_) => Ok(false),
        })?;
        if removed {
            t.backlog.fetch_sub(1, Ordering::SeqCst);
        }
        Ok(())
    }

    fn flush(&self) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move { self.sync().await.map_err(fail) })
    }

    fn prepare_retention(&self) -> StoreResult<()> {
        if self.trees.meta.contains_key(INDEXED).map_err(fail)? {
            return Ok(());
        }
        self.index_ended_runs()
    }

    fn flows_with_ended_runs(&self) -> StoreResult<Vec<String>> {
        // One seek per flow: from each flow's first key to past its last (`flow` 0x01).
        let mut flows = Vec::new();
        let mut from: Vec<u8> = Vec::new();
        while let Some((key, _)) = self.trees.ended.range(from.as_slice()..).next().transpose().map_err(fail)? {
            let end = key.iter().position(|b| *b == 0).unwrap_or(key.len());
            let flow = String::from_utf8_lossy(&key[..end]).into_owned();
            from = key[..end].to_vec();
            from.push(1);
            flows.push(flow);
        }
        Ok(flows)
    }

    fn ended_runs(&self, flow: &str, class: EndClass, before_ms: u64, limit: usize) -> StoreResult<Vec<EndedRun>> {
        let prefix = ended_prefix(flow, class);
        let mut end = prefix.clone();
        end.extend_from_slice(&before_ms.to_be_bytes());
        let mut out = Vec::new();
        for key in self.trees.ended.range(prefix.as_slice()..end.as_slice()).keys().take(limit) {
            if let Some(run) = parse_ended(flow, class, &key.map_err(fail)?) {
                out.push(run);
            }
        }
        Ok(out)
    }

    fn recent_ended(
        &self,
        flow: &str,
        class: EndClass,
        from_ms: u64,
        to_ms: u64,
        limit: usize,
    ) -> StoreResult<Vec<EndedRun>> {
        let prefix = ended_prefix(flow, class);
        let (mut start, mut end) = (prefix.clone(), prefix);
        start.extend_from_slice(&from_ms.to_be_bytes());
        end.extend_from_slice(&to_ms.to_be_bytes());
        let mut out = Vec::new();
        for key in self.trees.ended.range(start.as_slice()..end.as_slice()).keys().rev().take(limit) {
            if let Some(run) = parse_ended(flow, class, &key.map_err(fail)?) {
                out.push(run);
            }
        }
        Ok(out)
    }

    fn count_ended(&self, flow: &str, class: EndClass, before_ms: u64) -> StoreResult<u64> {
        let prefix = ended_prefix(flow, class);
        let mut end = prefix.clone();
        end.extend_from_slice(&before_ms.to_be_bytes());
        let mut n = 0;
        for key in self.trees.ended.range(prefix.as_slice()..end.as_slice()).keys() {
            key.map_err(fail)?;
            n += 1;
        }
        Ok(n)
    }

    fn ended_total(&self, flow: &str) -> StoreResult<u64> {
        let t = &self.trees;
        let now = weft_core::run::now_ms();
        {
            let mut counts = t.ended_counts.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = counts.get(flow) {
                return Ok(*n);
            }
            // From here on, runs that end are counted as they end; the
            // listing is counted up to now, without holding up the writers.
            counts.insert(flow.to_string(), 0);
        }
        let mut before = 0;
        for class in [EndClass::Succeeded, EndClass::Failed] {
            before += self.count_ended(flow, class, now)?;
        }
        let mut counts = t.ended_counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = counts.entry(flow.to_string()).or_default();
        *n += before;
        Ok(*n)
    }

    fn delete_runs(&self, runs: &[EndedRun]) -> StoreResult<usize> {
        let t = &self.trees;
        // The step records' keys are read first, outside the write: an ended run gets no new ones.
        let mut steps = Vec::with_capacity(runs.len());
        for run in runs {
            let keys: Vec<sled::IVec> =
                t.steps.scan_prefix(joined(&run.id, b"")).keys().collect::<Result<_, _>>().map_err(fail)?;
            steps.push(keys);
        }
        self.write(|w| {
            let mut deleted = 0;
            for (run, step_keys) in runs.iter().zip(&steps) {
                let listing = ended_key(&run.flow, run.class, run.ended_ms, &run.id);
                let ended = match t.runs.get(&run.id).map_err(StoreError::from)? {
                    Some(head) => decode::<RunRecord>(&head).map(|r| ended_key_of(&r))?,
                    None => None,
                };
                if ended.as_deref() == Some(listing.as_slice()) {
                    // The record first: from then on the run is gone, and what a
                    // crash leaves of the rest is never read.
                    w.remove(&t.runs, &run.id)?;
                    w.remove(&t.events, &run.id)?;
                    for key in step_keys {
                        w.remove(&t.steps, key)?;
                    }
                    deleted += 1;
                }
                if w.remove(&t.ended, &listing)?.is_some() && run.class != EndClass::Test {
                    self.count_ended_change(&run.flow, -1);
                }
            }
            Ok::<_, StoreFailure>(deleted)
        })
    }
}

impl Db {
    /// The run's record without its event (`Value::Null` in its place), unless
    /// it was written before events were kept apart.
    fn head(&self, id: &str) -> StoreResult<Option<RunRecord>> {
        self.trees.runs.get(id).map_err(fail)?.map(|v| decode(&v)).transpose()
    }

    /// `run` as `runs` held it, with its event from `events` (a record
    /// written before events were kept apart has it already).
    fn with_event(&self, mut run: RunRecord) -> StoreResult<RunRecord> {
        if let Some(event) = self.trees.events.get(&run.id).map_err(fail)? {
            run.trigger = Arc::new(decode(&event)?);
        }
        Ok(run)
    }

    /// Write `run` (its head encoded: `bytes`) and move its queue and timer
    /// entries to match its status; the change of the backlog.
    fn put_run(&self, w: &mut Writes, run: &RunRecord, bytes: &[u8]) -> StoreResult<i64> {
        let t = &self.trees;
        let id = run.id.as_bytes();
        let queued = matches!(run.status, RunStatus::Queued | RunStatus::Running);
        let timer = match (run.status, run.wake_ms) {
            (RunStatus::Waiting, Some(wake)) => Some(timer_key(wake, &run.id)),
            _ => None,
        };
        /// All the earlier record is read for: the timer it may hold, and
        /// whether it carries its event inline (written before events were
        /// kept apart).
        #[derive(serde::Deserialize)]
        struct Old {
            #[serde(default)]
            wake_ms: Option<u64>,
            #[serde(default)]
            trigger: Option<serde::de::IgnoredAny>,
            status: RunStatus,
            updated_ms: u64,
        }
        let (old_wake, event_apart, old_ended) = match t.runs.get(id).map_err(StoreError::from)? {
            Some(old) => {
                let old = decode::<Old>(&old)?;
                let ended = EndClass::of_status(old.status, run.is_test())
                    .map(|c| ended_key(&run.flow, c, old.updated_ms, &run.id));
                (old.wake_ms, old.trigger.is_none(), ended)
            }
            None => (None, false, None),
        };
        let new_ended = ended_key_of(run);
        let relisted = new_ended != old_ended;
        // Created here, or its event moves out of the old record.
        if !event_apart {
            w.insert(&t.events, id, encode(&*run.trigger)?)?;
        }
        // Index entries before the record, removals after it (see `Db::write`).
        let mut delta = 0;
        // A run saved as running already has its entry (from when it was queued).
        if queued && !t.queue.contains_key(id).map_err(StoreError::from)? && w.insert(&t.queue, id, [])?.is_none() {
            delta = 1;
        }
        if let Some(key) = &timer {
            w.insert(&t.timers, key, [])?;
        }
        if relisted && let Some(key) = &new_ended {
            w.insert(&t.ended, key, [])?;
        }
        w.insert(&t.runs, id, bytes)?;
        if relisted {
            if let Some(key) = &old_ended {
                w.remove(&t.ended, key)?;
            }
            // Test runs are not counted against the flow's `max_runs`.
            let change = if run.is_test() { 0 } else { new_ended.is_some() as i64 - old_ended.is_some() as i64 };
            self.count_ended_change(&run.flow, change);
        }
        if let Some(wake) = old_wake {
            let old = timer_key(wake, &run.id);
            if timer.as_ref() != Some(&old) {
                w.remove(&t.timers, old)?;
            }
        }
        if !queued && w.remove(&t.queue, id)?.is_some() {
            delta = -1;
        }
        Ok(delta)
    }

    /// Add `change` to the flow's count of ended runs, if it is being kept.
    fn count_ended_change(&self, flow: &str, change: i64) {
        if change == 0 {
            return;
        }
        let mut counts = self.trees.ended_counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(flow) {
            *n = n.saturating_add_signed(change);
        }
    }

    /// List every ended run in `ended` that is not there yet (a store from
    /// before the listing was kept), a batch per write. Runs that end
    /// meanwhile list themselves.
    fn index_ended_runs(&self) -> StoreResult<()> {
        let t = &self.trees;
        let mut from: Vec<u8> = Vec::new();
        loop {
            let mut batch = Vec::new();
            let mut last = None;
            for entry in t.runs.range(from.as_slice()..).take(500) {
                let (key, value) = entry.map_err(fail)?;
                if let Some(listing) = ended_key_of(&decode::<RunRecord>(&value)?) {
                    batch.push(listing);
                }
                last = Some(key);
            }
            let Some(last) = last else { break };
            self.write(|w| {
                for key in &batch {
                    w.insert(&t.ended, key, [])?;
                }
                Ok::<_, StoreFailure>(())
            })?;
            // Just past `last`.
            from = last.to_vec();
            from.push(0);
        }
        self.write(|w| {
            t.ended_counts.lock().unwrap_or_else(|p| p.into_inner()).clear();
            w.insert(&t.meta, INDEXED, []).map_err(StoreFailure::from)
        })?;
        Ok(())
    }

    /// Create `runs` (queued) and, in the same log entry, whatever `also`
    /// writes (the `trigger_state` of the poll that found them).
    pub(crate) fn create_runs(
        &self,
        runs: &[RunRecord],
        also: impl FnOnce(&mut Writes) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let encoded = encode_new(runs)?;
        let added = self.write(|w| {
            let added = self.insert_new(w, &encoded)?;
            also(w)?;
            Ok::<_, StoreFailure>(added)
        })?;
        self.trees.backlog.fetch_add(added, Ordering::SeqCst);
        Ok(())
    }

    /// Write new runs ([`encode_new`]) with their queue entries; how many
    /// entries the queue gained.
    fn insert_new(&self, w: &mut Writes, runs: &[NewRun<'_>]) -> StoreResult<i64> {
        let t = &self.trees;
        let mut added = 0;
        for (id, event, head) in runs {
            // The queue entry and the event before the record (see `Db::write`).
            if w.insert(&t.queue, id, [])?.is_none() {
                added += 1;
            }
            w.insert(&t.events, id, event)?;
            w.insert(&t.runs, id, head)?;
        }
        Ok(added)
    }
}

/// A new run as it is written: id, event, record without the event.
type NewRun<'a> = (&'a str, Vec<u8>, Vec<u8>);

fn encode_new(runs: &[RunRecord]) -> StoreResult<Vec<NewRun<'_>>> {
    runs.iter().map(|r| Ok((r.id.as_str(), encode(&*r.trigger)?, encode_head(r)?))).collect()
}

fn current_version(t: &Trees, name: &str) -> StoreResult<u64> {
    let prefix = joined(name, b"");
    Ok(t.flow_versions
        .scan_prefix(&prefix)
        .keys()
        .next_back()
        .transpose()
        .map_err(fail)?
        .map_or(0, |k| u64::from_be_bytes(k[prefix.len()..].try_into().unwrap_or([0; 8]))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use weft_store_suite::tests::run;

    #[test]
    fn a_runs_event_is_written_once_apart_from_its_record() {
        let db = Db::temporary().unwrap();
        let event = json!({ "contacts": ["a", "b"], "n": 1 });
        let mut r = run("r1", RunStatus::Queued, None);
        r.trigger = event.clone().into();
        db.create_run(&r).unwrap();
        let t = &db.trees;
        let event_bytes = t.events.get("r1").unwrap().unwrap();
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&event_bytes).unwrap(), event);
        for status in [RunStatus::Running, RunStatus::Waiting, RunStatus::Succeeded] {
            r.status = status;
            r.wake_ms = (status == RunStatus::Waiting).then_some(100);
            if status == RunStatus::Succeeded {
                assert_eq!(db.wake_due(100).unwrap(), ["r1"]);
                assert_eq!(*db.run("r1").unwrap().unwrap().trigger, event, "waking reads and writes only the head");
            }
            db.save_run(&r).unwrap();
            let head: serde_json::Value = serde_json::from_slice(&t.runs.get("r1").unwrap().unwrap()).unwrap();
            assert_eq!(head.get("trigger"), None, "the record is written without its event");
            assert_eq!(head["status"], json!(status), "and with everything else");
            assert_eq!(db.run("r1").unwrap().unwrap(), r, "read back whole");
        }
        assert_eq!(t.events.get("r1").unwrap().unwrap(), event_bytes);
        assert_eq!(db.runs(&RunFilter::default()).unwrap(), [r.clone()], "listed whole");

        // A record written whole, before events were kept apart, reads as it
        // is; its event moves to `events` the next time it is written.
        let mut old = run("r0", RunStatus::Waiting, Some(200));
        old.trigger = json!({ "old": true }).into();
        t.runs.insert("r0", serde_json::to_vec(&old).unwrap()).unwrap();
        t.timers.insert(timer_key(200, "r0"), &[]).unwrap();
        assert_eq!(db.run("r0").unwrap().unwrap(), old);
        assert_eq!(db.wake_due(200).unwrap(), ["r0"]);
        let woken = db.run("r0").unwrap().unwrap();
        assert_eq!((woken.status, woken.trigger), (RunStatus::Queued, old.trigger.clone()));
        assert!(t.events.contains_key("r0").unwrap());
        assert!(!String::from_utf8_lossy(&t.runs.get("r0").unwrap().unwrap()).contains("trigger"));
        assert_eq!(db.runs(&RunFilter::default()).unwrap().len(), 2);
    }

    /// What a crash between two writes of one unsynced log entry can leave
    /// behind (index entries are written first and removed last) is dropped.
    #[test]
    fn stale_queue_entries_and_timers_are_dropped() {
        let db = Db::temporary().unwrap();
        let t = &db.trees;
        // A queue entry whose record was never written.
        t.queue.insert("ghost", &[]).unwrap();
        t.backlog.fetch_add(1, Ordering::SeqCst);
        db.create_run(&run("live", RunStatus::Queued, None)).unwrap();
        db.unqueue("live").unwrap();
        assert_eq!(db.queued(10).unwrap(), ["ghost", "live"], "a run with a record keeps its place");
        db.unqueue("ghost").unwrap();
        assert_eq!(db.queued(10).unwrap(), ["live"]);
        assert_eq!(db.backlog().unwrap(), 1);

        // A timer left behind by a run that has since moved on.
        db.save_run(&run("moved", RunStatus::Succeeded, None)).unwrap();
        t.timers.insert(timer_key(100, "moved"), &[]).unwrap();
        assert!(db.wake_due(100).unwrap().is_empty(), "a run that does not wait is not woken");
        assert_eq!(db.next_wake().unwrap(), None, "and its stale timer is gone");
        assert_eq!(db.run("moved").unwrap().unwrap().status, RunStatus::Succeeded);
    }

    fn ended_at(id: &str, flow: &str, status: RunStatus, ended_ms: u64) -> RunRecord {
        RunRecord { flow: flow.into(), updated_ms: ended_ms, ..run(id, status, None) }
    }

    #[test]
    fn a_store_from_before_the_listing_is_indexed_once() {
        let db = Db::temporary().unwrap();
        assert!(db.trees.meta.contains_key(INDEXED).unwrap(), "a new store needs no indexing");
        // Records as an older weft wrote them: no listing of ended runs, and no mark.
        db.trees.meta.remove(INDEXED).unwrap();
        for (id, status) in [("o1", RunStatus::Succeeded), ("o2", RunStatus::Failed), ("o3", RunStatus::Queued)] {
            db.trees.runs.insert(id, serde_json::to_vec(&ended_at(id, "old", status, 50)).unwrap()).unwrap();
        }
        assert!(db.flows_with_ended_runs().unwrap().is_empty());
        db.prepare_retention().unwrap();
        assert_eq!(db.flows_with_ended_runs().unwrap(), ["old"]);
        assert_eq!(db.ended_total("old").unwrap(), 2);
        assert!(db.trees.meta.contains_key(INDEXED).unwrap());
        db.prepare_retention().unwrap();
        assert_eq!(db.ended_total("old").unwrap(), 2);
    }
}
