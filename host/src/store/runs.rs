//! Flows, runs, step records, the run queue and timers in sled.
//!
//! - `flows`: name → the current [`StoredFlow`]; `flow_versions`: name NUL version → every version;
//! - `runs`: run id → [`RunRecord`]; run ids are time-ordered, so key order is age order;
//! - `steps`: run id NUL step path → [`StepRecord`];
//! - `queue`: run id → () for runs waiting for a worker (queued or interrupted while running);
//! - `timers`: wake time (big-endian ms) ++ run id → () for waiting runs.
//!
//! A run's record and its place in `queue`/`timers` change in one transaction.

use super::{Db, StoreError};
use crate::flow::FlowDef;
use crate::flow::run::{
    BoxFuture, RunFilter, RunRecord, RunStatus, RunStore, StepRecord, StoreFailure, StoreResult, StoredFlow,
};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use std::sync::atomic::Ordering;

#[derive(Clone)]
pub(crate) struct Trees {
    /// Entries in `queue`, kept exactly by every transaction that changes it
    /// (sled's `len` walks the whole tree).
    backlog: std::sync::Arc<std::sync::atomic::AtomicI64>,
    flows: sled::Tree,
    flow_versions: sled::Tree,
    runs: sled::Tree,
    steps: sled::Tree,
    queue: sled::Tree,
    timers: sled::Tree,
}

impl Trees {
    pub(crate) fn open(db: &sled::Db) -> Result<Self, StoreError> {
        let queue = db.open_tree("queue")?;
        Ok(Self {
            backlog: std::sync::Arc::new(std::sync::atomic::AtomicI64::new(queue.len() as i64)),
            flows: db.open_tree("flows")?,
            flow_versions: db.open_tree("flow_versions")?,
            runs: db.open_tree("runs")?,
            steps: db.open_tree("steps")?,
            queue,
            timers: db.open_tree("timers")?,
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

fn joined(a: &str, b: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(a.len() + 1 + b.len());
    key.extend_from_slice(a.as_bytes());
    key.push(0);
    key.extend_from_slice(b);
    key
}

fn timer_key(wake_ms: u64, run: &str) -> Vec<u8> {
    let mut key = wake_ms.to_be_bytes().to_vec();
    key.extend_from_slice(run.as_bytes());
    key
}

fn transaction_error<E: std::fmt::Debug>(e: TransactionError<E>) -> StoreFailure {
    match e {
        TransactionError::Abort(e) => StoreFailure(format!("{e:?}")),
        TransactionError::Storage(e) => fail(e),
    }
}

impl RunStore for Db {
    fn put_flow(&self, def: &FlowDef, now_ms: u64) -> StoreResult<StoredFlow> {
        let t = &self.trees;
        let current: Option<StoredFlow> = t.flows.get(&def.name).map_err(fail)?.map(|v| decode(&v)).transpose()?;
        if let Some(current) = current
            && &current.def == def
        {
            return Ok(current);
        }
        let version = current_version(t, &def.name)? + 1;
        let stored = StoredFlow { name: def.name.clone(), version, def: def.clone(), updated_ms: now_ms };
        let bytes = encode(&stored)?;
        (&t.flows, &t.flow_versions)
            .transaction(|(flows, versions)| {
                flows.insert(def.name.as_bytes(), bytes.as_slice())?;
                versions.insert(joined(&def.name, &version.to_be_bytes()), bytes.as_slice())?;
                Ok::<_, ConflictableTransactionError<()>>(())
            })
            .map_err(transaction_error)?;
        Ok(stored)
    }

    fn flow(&self, name: &str) -> StoreResult<Option<StoredFlow>> {
        self.trees.flows.get(name).map_err(fail)?.map(|v| decode(&v)).transpose()
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
        self.trees.runs.get(id).map_err(fail)?.map(|v| decode(&v)).transpose()
    }

    fn save_run(&self, run: &RunRecord) -> StoreResult<()> {
        let bytes = encode(run)?;
        let t = &self.trees;
        let delta = std::cell::Cell::new(0i64);
        (&t.runs, &t.queue, &t.timers)
            .transaction(|(runs, queue, timers)| {
                delta.set(0);
                if let Some(old) = runs.get(run.id.as_bytes())? {
                    let old: RunRecord =
                        serde_json::from_slice(&old).map_err(|e| ConflictableTransactionError::Abort(e.to_string()))?;
                    if let Some(wake) = old.wake_ms {
                        timers.remove(timer_key(wake, &run.id))?;
                    }
                }
                runs.insert(run.id.as_bytes(), bytes.as_slice())?;
                match run.status {
                    RunStatus::Queued | RunStatus::Running => {
                        if queue.insert(run.id.as_bytes(), &[])?.is_none() {
                            delta.set(1);
                        }
                    }
                    RunStatus::Waiting => {
                        if queue.remove(run.id.as_bytes())?.is_some() {
                            delta.set(-1);
                        }
                        if let Some(wake) = run.wake_ms {
                            timers.insert(timer_key(wake, &run.id), &[])?;
                        }
                    }
                    RunStatus::Succeeded | RunStatus::Failed | RunStatus::Cancelled => {
                        if queue.remove(run.id.as_bytes())?.is_some() {
                            delta.set(-1);
                        }
                    }
                }
                Ok(())
            })
            .map_err(transaction_error)?;
        t.backlog.fetch_add(delta.get(), Ordering::SeqCst);
        Ok(())
    }

    fn backlog(&self) -> StoreResult<usize> {
        Ok(self.trees.backlog.load(Ordering::SeqCst).max(0) as usize)
    }

    fn delete_flow(&self, name: &str) -> StoreResult<bool> {
        // Versions stay: runs keep pointing at the definition they ran.
        Ok(self.trees.flows.remove(name).map_err(fail)?.is_some())
    }

    fn runs(&self, filter: &RunFilter) -> StoreResult<Vec<RunRecord>> {
        let limit = if filter.limit == 0 { usize::MAX } else { filter.limit };
        let mut out = Vec::new();
        // Newest first.
        for value in self.trees.runs.iter().values().rev() {
            let run: RunRecord = decode(&value.map_err(fail)?)?;
            if filter.flow.as_ref().is_some_and(|f| *f != run.flow) || filter.status.is_some_and(|s| s != run.status) {
                continue;
            }
            out.push(run);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn step(&self, run: &str, path: &str) -> StoreResult<Option<StepRecord>> {
        self.trees.steps.get(joined(run, path.as_bytes())).map_err(fail)?.map(|v| decode(&v)).transpose()
    }

    fn put_step(&self, run: &str, step: &StepRecord) -> StoreResult<()> {
        let key = joined(run, step.path.as_bytes());
        let seq = match self.trees.steps.get(&key).map_err(fail)? {
            Some(old) => decode::<StepRecord>(&old)?.seq,
            None => self.db.generate_id().map_err(fail)?,
        };
        let mut step = step.clone();
        step.seq = seq;
        self.trees.steps.insert(key, encode(&step)?).map_err(fail)?;
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
            let Some(mut run) = self.run(&run_id)? else {
                self.trees.timers.remove(&key).map_err(fail)?;
                continue;
            };
            run.status = RunStatus::Queued;
            run.wake_ms = None;
            self.save_run(&run)?;
            woken.push(run_id);
        }
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

    fn flush(&self) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move { self.commit.flush(&self.db).await.map_err(fail) })
    }
}

impl Db {
    /// Create `runs` (queued) and, in the same transaction, whatever `also`
    /// writes to the `trigger_state` tree.
    pub(crate) fn create_runs(
        &self,
        runs: &[RunRecord],
        also: impl Fn(&sled::transaction::TransactionalTree) -> Result<(), ConflictableTransactionError<String>>,
    ) -> StoreResult<()> {
        let encoded: Vec<(&str, Vec<u8>)> =
            runs.iter().map(|r| Ok((r.id.as_str(), encode(r)?))).collect::<StoreResult<_>>()?;
        let t = &self.trees;
        let added = std::cell::Cell::new(0i64);
        (&t.runs, &t.queue, &self.trigger_state)
            .transaction(|(runs, queue, state)| {
                added.set(0);
                for (id, bytes) in &encoded {
                    runs.insert(id.as_bytes(), bytes.as_slice())?;
                    if queue.insert(id.as_bytes(), &[])?.is_none() {
                        added.set(added.get() + 1);
                    }
                }
                also(state)
            })
            .map_err(transaction_error)?;
        t.backlog.fetch_add(added.get(), Ordering::SeqCst);
        Ok(())
    }
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

    fn run(id: &str, status: RunStatus, wake_ms: Option<u64>) -> RunRecord {
        RunRecord {
            id: id.into(),
            flow: "f".into(),
            version: 1,
            status,
            trigger: json!({}),
            created_ms: 0,
            updated_ms: 0,
            error: None,
            output: None,
            wake_ms,
            rerun_of: None,
            plugins: Default::default(),
        }
    }

    #[test]
    fn flows_get_a_new_version_only_when_changed() {
        let db = Db::temporary().unwrap();
        let def = FlowDef::parse("name: f\ntrigger: manual\nsteps: [ { id: a, delay: 1s } ]").unwrap();
        assert_eq!(db.put_flow(&def, 1).unwrap().version, 1);
        assert_eq!(db.put_flow(&def, 2).unwrap().version, 1);
        let changed = FlowDef::parse("name: f\ntrigger: manual\nsteps: [ { id: a, delay: 2s } ]").unwrap();
        assert_eq!(db.put_flow(&changed, 3).unwrap().version, 2);
        assert_eq!(db.flow_version("f", 1).unwrap().unwrap().def, def);
        assert_eq!(db.flow("f").unwrap().unwrap().def, changed);
    }

    #[test]
    fn runs_move_between_queue_and_timers() {
        let db = Db::temporary().unwrap();
        db.create_run(&run("r1", RunStatus::Queued, None)).unwrap();
        db.create_run(&run("r2", RunStatus::Queued, None)).unwrap();
        assert_eq!(db.queued(10).unwrap(), ["r1", "r2"]);
        db.save_run(&run("r1", RunStatus::Waiting, Some(500))).unwrap();
        assert_eq!(db.queued(10).unwrap(), ["r2"]);
        assert_eq!(db.next_wake().unwrap(), Some(500));
        assert!(db.wake_due(499).unwrap().is_empty());
        assert_eq!(db.wake_due(500).unwrap(), ["r1"]);
        assert_eq!(db.next_wake().unwrap(), None);
        assert_eq!(db.queued(10).unwrap(), ["r1", "r2"]);
        db.save_run(&run("r1", RunStatus::Succeeded, None)).unwrap();
        assert_eq!(db.queued(10).unwrap(), ["r2"]);
        assert_eq!(db.run("r1").unwrap().unwrap().status, RunStatus::Succeeded);
    }
}
