//! An in-memory [`RunStore`] and [`TriggerStore`] for the engine's tests: the
//! same contract as the store crates (queue and timers follow a run's status,
//! ended runs are listed for retention, a poll's runs and state land
//! together), without a disk, so the engine is tested without a backend.
//! Every write is counted, as a backend's log entries are.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use weft_core::model::FlowDef;
use weft_core::run::{
    BoxFuture, EndClass, EndedRun, RunFilter, RunRecord, RunStatus, RunStore, StepRecord, StoreResult, StoredFlow,
};
use weft_core::trigger::{PollState, TriggerRecord, TriggerStore};

#[derive(Default)]
pub(crate) struct MemoryStore {
    state: Mutex<State>,
    writes: AtomicU64,
}

#[derive(Default)]
struct State {
    flows: BTreeMap<String, Arc<StoredFlow>>,
    versions: BTreeMap<(String, u64), StoredFlow>,
    runs: BTreeMap<String, RunRecord>,
    steps: BTreeMap<(String, String), StepRecord>,
    step_seq: u64,
    queue: BTreeSet<String>,
    timers: BTreeSet<(u64, String)>,
    /// (flow, class, end time, run id) of every ended run.
    ended: BTreeSet<(String, u8, u64, String)>,
    triggers: BTreeMap<String, TriggerRecord>,
    hooks: BTreeMap<String, String>,
    polls: BTreeMap<String, PollState>,
}

fn class_key(class: EndClass) -> u8 {
    match class {
        EndClass::Succeeded => 0,
        EndClass::Failed => 1,
        EndClass::Test => 2,
    }
}

fn listing(run: &RunRecord) -> Option<(String, u8, u64, String)> {
    EndClass::of(run).map(|c| (run.flow.clone(), class_key(c), run.updated_ms, run.id.clone()))
}

impl State {
    /// Save `run` and move its queue, timer and ended entries to match its status.
    fn put_run(&mut self, run: &RunRecord) {
        if let Some(old) = self.runs.get(&run.id) {
            if let Some(wake) = old.wake_ms {
                self.timers.remove(&(wake, run.id.clone()));
            }
            if let Some(old_listing) = listing(old) {
                self.ended.remove(&old_listing);
            }
        }
        if matches!(run.status, RunStatus::Queued | RunStatus::Running) {
            self.queue.insert(run.id.clone());
        } else {
            self.queue.remove(&run.id);
        }
        if let (RunStatus::Waiting, Some(wake)) = (run.status, run.wake_ms) {
            self.timers.insert((wake, run.id.clone()));
        }
        if let Some(new_listing) = listing(run) {
            self.ended.insert(new_listing);
        }
        self.runs.insert(run.id.clone(), run.clone());
    }

    fn create_run(&mut self, run: &RunRecord) {
        self.queue.insert(run.id.clone());
        self.runs.insert(run.id.clone(), run.clone());
    }

    fn put_step(&mut self, run: &str, step: &mut StepRecord) {
        if step.seq == 0 {
            self.step_seq += 1;
            step.seq = self.step_seq;
        }
        self.steps.insert((run.to_string(), step.path.clone()), step.clone());
    }

    fn steps_of<'a>(&'a self, run: &'a str) -> impl Iterator<Item = (&'a (String, String), &'a StepRecord)> + 'a {
        self.steps.range((run.to_string(), String::new())..).take_while(move |((r, _), _)| r == run)
    }

    fn ended_of<'a>(&'a self, flow: &'a str, class: EndClass, before_ms: u64) -> impl Iterator<Item = EndedRun> + 'a {
        let from = (flow.to_string(), class_key(class), 0, String::new());
        self.ended
            .range(from..)
            .take_while(move |(f, c, at, _)| f == flow && *c == class_key(class) && *at < before_ms)
            .map(move |(f, _, at, id)| EndedRun { id: id.clone(), flow: f.clone(), class, ended_ms: *at })
    }
}

impl MemoryStore {
    /// Writes so far (each call that changes the store is one).
    pub(crate) fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    fn write<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        self.writes.fetch_add(1, Ordering::SeqCst);
        f(&mut self.state.lock().expect("memory store"))
    }

    fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.state.lock().expect("memory store"))
    }
}

impl RunStore for MemoryStore {
    fn put_flow(&self, def: &FlowDef, now_ms: u64) -> StoreResult<StoredFlow> {
        if let Some(current) = self.read(|s| s.flows.get(&def.name).cloned())
            && &current.def == def
        {
            return Ok((*current).clone());
        }
        Ok(self.write(|s| {
            let last = s.versions.keys().filter(|(name, _)| *name == def.name).map(|(_, v)| *v).max();
            let version = last.unwrap_or(0) + 1;
            let stored = StoredFlow { name: def.name.clone(), version, def: def.clone(), updated_ms: now_ms };
            s.versions.insert((def.name.clone(), version), stored.clone());
            s.flows.insert(def.name.clone(), Arc::new(stored.clone()));
            stored
        }))
    }

    fn flow(&self, name: &str) -> StoreResult<Option<Arc<StoredFlow>>> {
        Ok(self.read(|s| s.flows.get(name).cloned()))
    }

    fn flow_version(&self, name: &str, version: u64) -> StoreResult<Option<StoredFlow>> {
        Ok(self.read(|s| s.versions.get(&(name.to_string(), version)).cloned()))
    }

    fn flows(&self) -> StoreResult<Vec<StoredFlow>> {
        Ok(self.read(|s| s.flows.values().map(|f| (**f).clone()).collect()))
    }

    fn delete_flow(&self, name: &str) -> StoreResult<bool> {
        Ok(self.write(|s| s.flows.remove(name).is_some()))
    }

    fn create_run(&self, run: &RunRecord) -> StoreResult<()> {
        self.write(|s| s.create_run(run));
        Ok(())
    }

    fn run(&self, id: &str) -> StoreResult<Option<RunRecord>> {
        Ok(self.read(|s| s.runs.get(id).cloned()))
    }

    fn save_run(&self, run: &RunRecord) -> StoreResult<()> {
        self.write(|s| s.put_run(run));
        Ok(())
    }

    fn runs(&self, filter: &RunFilter) -> StoreResult<Vec<RunRecord>> {
        let limit = if filter.limit == 0 { usize::MAX } else { filter.limit };
        Ok(self.read(|s| s.runs.values().rev().filter(|r| filter.admits(r)).take(limit).cloned().collect()))
    }

    fn backlog(&self) -> StoreResult<usize> {
        Ok(self.read(|s| s.queue.len()))
    }

    fn step(&self, run: &str, path: &str) -> StoreResult<Option<StepRecord>> {
        Ok(self.read(|s| s.steps.get(&(run.to_string(), path.to_string())).cloned()))
    }

    fn put_step(&self, run: &str, step: &mut StepRecord) -> StoreResult<()> {
        self.write(|s| s.put_step(run, step));
        Ok(())
    }

    fn put_spawning(
        &self,
        run: &str,
        steps: &mut [&mut StepRecord],
        then: Option<&RunRecord>,
        spawn: &[RunRecord],
    ) -> StoreResult<()> {
        self.write(|s| {
            for new in spawn {
                s.create_run(new);
            }
            for step in steps.iter_mut() {
                s.put_step(run, step);
            }
            if let Some(record) = then {
                s.put_run(record);
            }
        });
        Ok(())
    }

    fn steps(&self, run: &str) -> StoreResult<Vec<StepRecord>> {
        let mut steps: Vec<StepRecord> = self.read(|s| s.steps_of(run).map(|(_, step)| step.clone()).collect());
        steps.sort_by_key(|s| s.seq);
        Ok(steps)
    }

    fn queued(&self, limit: usize) -> StoreResult<Vec<String>> {
        Ok(self.read(|s| s.queue.iter().take(limit).cloned().collect()))
    }

    fn unqueue(&self, id: &str) -> StoreResult<()> {
        if self.read(|s| !s.runs.contains_key(id) && s.queue.contains(id)) {
            self.write(|s| s.queue.remove(id));
        }
        Ok(())
    }

    fn wake_due(&self, now_ms: u64) -> StoreResult<Vec<String>> {
        let due: Vec<(u64, String)> =
            self.read(|s| s.timers.iter().take_while(|(at, _)| *at <= now_ms).cloned().collect());
        let mut woken = Vec::new();
        for (at, id) in due {
            self.write(|s| match s.runs.get(&id).cloned() {
                Some(mut run) if run.status == RunStatus::Waiting => {
                    run.status = RunStatus::Queued;
                    run.wake_ms = None;
                    s.put_run(&run);
                    woken.push(id);
                }
                _ => {
                    s.timers.remove(&(at, id));
                }
            });
        }
        Ok(woken)
    }

    fn wake_now(&self, id: &str) -> StoreResult<bool> {
        Ok(self.write(|s| match s.runs.get(id).cloned() {
            Some(mut run) if run.status == RunStatus::Waiting => {
                run.status = RunStatus::Queued;
                run.wake_ms = None;
                s.put_run(&run);
                true
            }
            _ => false,
        }))
    }

    fn next_wake(&self) -> StoreResult<Option<u64>> {
        Ok(self.read(|s| s.timers.first().map(|(at, _)| *at)))
    }

    fn flush(&self) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn prepare_retention(&self) -> StoreResult<()> {
        Ok(())
    }

    fn flows_with_ended_runs(&self) -> StoreResult<Vec<String>> {
        let flows: BTreeSet<String> = self.read(|s| s.ended.iter().map(|(f, ..)| f.clone()).collect());
        Ok(flows.into_iter().collect())
    }

    fn ended_runs(&self, flow: &str, class: EndClass, before_ms: u64, limit: usize) -> StoreResult<Vec<EndedRun>> {
        Ok(self.read(|s| s.ended_of(flow, class, before_ms).take(limit).collect()))
    }

    fn recent_ended(
        &self,
        flow: &str,
        class: EndClass,
        from_ms: u64,
        to_ms: u64,
        limit: usize,
    ) -> StoreResult<Vec<EndedRun>> {
        Ok(self.read(|s| {
            let mut runs: Vec<EndedRun> = s.ended_of(flow, class, to_ms).filter(|r| r.ended_ms >= from_ms).collect();
            runs.reverse();
            runs.truncate(limit);
            runs
        }))
    }

    fn count_ended(&self, flow: &str, class: EndClass, before_ms: u64) -> StoreResult<u64> {
        Ok(self.read(|s| s.ended_of(flow, class, before_ms).count() as u64))
    }

    fn ended_total(&self, flow: &str) -> StoreResult<u64> {
        Ok(self.read(|s| {
            s.ended.iter().filter(|(f, class, ..)| f == flow && *class != class_key(EndClass::Test)).count() as u64
        }))
    }

    fn delete_runs(&self, runs: &[EndedRun]) -> StoreResult<usize> {
        Ok(self.write(|s| {
            let mut deleted = 0;
            for run in runs {
                let listed = (run.flow.clone(), class_key(run.class), run.ended_ms, run.id.clone());
                if s.runs.get(&run.id).and_then(listing).as_ref() == Some(&listed) {
                    s.runs.remove(&run.id);
                    let keys: Vec<(String, String)> = s.steps_of(&run.id).map(|(k, _)| k.clone()).collect();
                    for key in keys {
                        s.steps.remove(&key);
                    }
                    deleted += 1;
                }
                s.ended.remove(&listed);
            }
            deleted
        }))
    }
}

impl TriggerStore for MemoryStore {
    fn trigger(&self, flow: &str) -> StoreResult<Option<TriggerRecord>> {
        Ok(self.read(|s| s.triggers.get(flow).cloned()))
    }

    fn triggers(&self) -> StoreResult<Vec<TriggerRecord>> {
        Ok(self.read(|s| s.triggers.values().cloned().collect()))
    }

    fn put_trigger(&self, record: &TriggerRecord) -> StoreResult<()> {
        self.write(|s| {
            let old = s.triggers.insert(record.flow.clone(), record.clone()).and_then(|o| o.hook_token);
            if let Some(token) = old.filter(|t| record.hook_token.as_ref() != Some(t)) {
                s.hooks.remove(&token);
            }
            if let Some(token) = &record.hook_token {
                s.hooks.insert(token.clone(), record.flow.clone());
            }
        });
        Ok(())
    }

    fn delete_trigger(&self, flow: &str) -> StoreResult<()> {
        self.write(|s| {
            if let Some(token) = s.triggers.remove(flow).and_then(|r| r.hook_token) {
                s.hooks.remove(&token);
            }
            s.polls.remove(flow);
        });
        Ok(())
    }

    fn hook(&self, token: &str) -> StoreResult<Option<String>> {
        Ok(self.read(|s| s.hooks.get(token).cloned()))
    }

    fn poll_state(&self, flow: &str) -> StoreResult<Option<PollState>> {
        Ok(self.read(|s| s.polls.get(flow).cloned()))
    }

    fn delete_poll_state(&self, flow: &str) -> StoreResult<()> {
        self.write(|s| s.polls.remove(flow));
        Ok(())
    }

    fn record_events(&self, flow: &str, state: Option<&PollState>, runs: &[RunRecord]) -> StoreResult<()> {
        self.write(|s| {
            for run in runs {
                s.create_run(run);
            }
            if let Some(state) = state {
                s.polls.insert(flow.to_string(), state.clone());
            }
        });
        Ok(())
    }
}
