//! Flows, runs, step records, the queue and timers (implements [`RunStore`]).
//!
//! A run is one row of `runs`: its record without its event (`head`),
//! rewritten at every change; its event, written once; and the columns the
//! partial indexes keep the queue (`in_queue`: queued or running), the timers
//! (`wake_ms`) and the listing of ended runs (`ended_class`, `ended_ms`) on.
//! So a run and its place in each always change in one statement.

use crate::{Cx, PgStore, RawJson, Tx, corrupt, json, ms};
use std::sync::Arc;
use tokio_postgres::types::Json;
use weft_core::model::FlowDef;
use weft_core::run::{
    BoxFuture, EndClass, EndedRun, RunFilter, RunRecord, RunStatus, RunStore, StepRecord, StoreFailure, StoreResult,
    StoredFlow,
};
use weft_core::trigger::PollState;

fn class_code(class: EndClass) -> &'static str {
    match class {
        EndClass::Succeeded => "s",
        EndClass::Failed => "f",
        EndClass::Test => "t",
    }
}

/// A run as its row is written: the head encoded, and the indexed columns.
pub(crate) struct RunRow {
    id: String,
    flow: String,
    status: String,
    test: bool,
    created_ms: i64,
    in_queue: bool,
    wake_ms: Option<i64>,
    ended_class: Option<&'static str>,
    ended_ms: Option<i64>,
    origin: String,
    head: RawJson,
}

impl RunRow {
    pub(crate) fn of(store: &PgStore, run: &RunRecord) -> StoreResult<Self> {
        let ended = EndClass::of(run);
        Ok(Self {
            id: run.id.clone(),
            flow: run.flow.clone(),
            status: run.status.to_string(),
            test: run.is_test(),
            created_ms: ms(run.created_ms),
            in_queue: matches!(run.status, RunStatus::Queued | RunStatus::Running),
            wake_ms: match run.status {
                RunStatus::Waiting => run.wake_ms.map(ms),
                _ => None,
            },
            ended_class: ended.map(class_code),
            ended_ms: ended.map(|_| ms(run.updated_ms)),
            origin: store.node().to_string(),
            head: json(store.stats(), &run.head())?,
        })
    }
}

const INSERT_RUN: &str = "INSERT INTO runs \
    (id, flow, status, test, created_ms, in_queue, wake_ms, ended_class, ended_ms, head, event, origin) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// Save a run, creating its row (with `event`) if there is none.
const UPSERT_RUN: &str = "INSERT INTO runs \
    (id, flow, status, test, created_ms, in_queue, wake_ms, ended_class, ended_ms, head, event, origin) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
    ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, in_queue = EXCLUDED.in_queue, \
    wake_ms = EXCLUDED.wake_ms, ended_class = EXCLUDED.ended_class, ended_ms = EXCLUDED.ended_ms, \
    head = EXCLUDED.head, \
    claimed_by = CASE WHEN EXCLUDED.in_queue THEN runs.claimed_by END, \
    lease = CASE WHEN EXCLUDED.in_queue THEN runs.lease END, \
    lease_until = CASE WHEN EXCLUDED.in_queue THEN runs.lease_until END";

/// Save a run this node holds, if it still does (`$10`: its lease token): a
/// run that leaves the queue (waiting, ended) is let go of; one still
/// executing has its lease renewed (`$11` ms).
const FENCED_RUN: &str = "UPDATE runs SET status = $2, in_queue = $3, wake_ms = $4, ended_class = $5, \
    ended_ms = $6, head = $7, \
    claimed_by = CASE WHEN $3 THEN claimed_by END, lease = CASE WHEN $3 THEN lease END, \
    lease_until = CASE WHEN $3 THEN weft_now_ms() + $8 END \
    WHERE id = $1 AND lease = $9";

/// How long a run another node just created is left to that node, which
/// executes it at once (and answers a sync webhook the moment it ends): its
/// workers hear of it in process, the other nodes only when they look.
const FRESH_MS: i64 = 2_000;

/// Renew the lease of a run this node holds, if it still does.
const RENEW: &str = "UPDATE runs SET lease_until = weft_now_ms() + $3 WHERE id = $1 AND lease = $2";

const UPSERT_STEP: &str = "INSERT INTO steps (run_id, path, seq, record) \
    VALUES ($1, $2, coalesce($3, nextval('step_seq')), $4) \
    ON CONFLICT (run_id, path) DO UPDATE SET record = EXCLUDED.record RETURNING seq";

/// Save `row` of a run this node holds under `token`; refused when another node holds it now.
async fn write_held_run(tx: &Tx<'_>, row: &RunRow, token: i64, lease_ms: i64) -> StoreResult<()> {
    let n = tx
        .q()
        .execute(
            FENCED_RUN,
            &[
                &row.id,
                &row.status,
                &row.in_queue,
                &row.wake_ms,
                &row.ended_class,
                &row.ended_ms,
                &row.head,
                &lease_ms,
                &token,
            ],
        )
        .await?;
    if n == 0 {
        return Err(lost(&row.id));
    }
    Ok(())
}

/// The error of a write by a node that no longer holds the run.
fn lost(id: &str) -> StoreFailure {
    StoreFailure(format!(
        "run {id} is held by another node now: this node's lease on it ran out, and its writes of it are refused"
    ))
}

/// Renew, every third of the lease, the leases of the runs this node holds;
/// forget those it has lost. Runs on the store's runtime until it stops.
pub(crate) async fn renew_leases(
    pool: deadpool_postgres::Pool,
    stats: std::sync::Arc<crate::Stats>,
    held: crate::Held,
    lease: std::time::Duration,
) {
    let cx = Cx { pool, stats };
    let lease_ms = lease.as_millis() as i64;
    loop {
        tokio::time::sleep(lease / 3).await;
        let tokens: Vec<i64> = held.lock().unwrap_or_else(|p| p.into_inner()).values().copied().collect();
        if tokens.is_empty() {
            continue;
        }
        let renewed = async {
            let c = cx.client().await?;
            let rows = c
                .q()
                .query(
                    "UPDATE runs SET lease_until = weft_now_ms() + $2 WHERE lease = ANY($1) RETURNING lease",
                    &[&tokens, &lease_ms],
                )
                .await?;
            Ok::<_, StoreFailure>(rows.iter().map(|r| r.get::<_, i64>(0)).collect::<std::collections::HashSet<i64>>())
        }
        .await;
        match renewed {
            Ok(renewed) => {
                // A token missing was let go of meanwhile, or lost to another node: a
                // lost run stays held here (its writes refused) until the executor lets go.
                let held = held.lock().unwrap_or_else(|p| p.into_inner());
                let lost = tokens.iter().filter(|t| !renewed.contains(t) && held.values().any(|h| h == *t)).count();
                if lost > 0 {
                    tracing::warn!(lost, "runs taken over by other nodes (this node's leases on them ran out)");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot renew the leases of the runs this node executes"),
        }
    }
}

async fn write_run(tx: &Tx<'_>, sql: &str, row: &RunRow, event: &RawJson) -> StoreResult<()> {
    tx.q()
        .execute(
            sql,
            &[
                &row.id,
                &row.flow,
                &row.status,
                &row.test,
                &row.created_ms,
                &row.in_queue,
                &row.wake_ms,
                &row.ended_class,
                &row.ended_ms,
                &row.head,
                event,
                &row.origin,
            ],
        )
        .await?;
    Ok(())
}

/// A run's row read back: the head with the event put in.
fn run_of(head: Json<RunRecord>, event: Json<serde_json::Value>) -> RunRecord {
    let mut run = head.0;
    run.trigger = Arc::new(event.0);
    run
}

fn decode_run(row: &tokio_postgres::Row) -> StoreResult<RunRecord> {
    let head: Json<RunRecord> = row.try_get(0).map_err(|e| corrupt("run", e))?;
    let event: Json<serde_json::Value> = row.try_get(1).map_err(|e| corrupt("event", e))?;
    Ok(run_of(head, event))
}

fn decode_flow(row: &tokio_postgres::Row) -> StoreResult<StoredFlow> {
    let def: Json<FlowDef> = row.try_get(2).map_err(|e| corrupt("flow", e))?;
    Ok(StoredFlow {
        name: row.get(0),
        version: row.get::<_, i64>(1) as u64,
        def: def.0,
        updated_ms: row.get::<_, i64>(3) as u64,
    })
}

const SELECT_FLOW: &str = "SELECT v.name, v.version, v.def, v.updated_ms FROM flows f \
    JOIN flow_versions v ON v.name = f.name AND v.version = f.version";

fn decode_ended(flow: &str, class: EndClass, row: &tokio_postgres::Row) -> EndedRun {
    EndedRun { id: row.get(0), flow: flow.to_string(), class, ended_ms: row.get::<_, i64>(1) as u64 }
}

/// Steps with a new record get their place in the run's order from the database.
fn step_params(store: &PgStore, steps: &[&mut StepRecord]) -> StoreResult<Vec<(String, Option<i64>, RawJson)>> {
    steps
        .iter()
        .map(|s| Ok((s.path.clone(), (s.seq != 0).then_some(s.seq as i64), json(store.stats(), &**s)?)))
        .collect()
}

impl PgStore {
    /// Create `runs` (queued) and save the poll state `state` of `flow`, in one transaction.
    ///
    /// `ticked`: the events of a trigger's tick. When this node holds the
    /// flow's tick, this is the tick's commit: it lets go of the tick, and
    /// writes nothing if another node has taken it over.
    pub(crate) fn create_runs(
        &self,
        flow: &str,
        ticked: bool,
        runs: &[RunRecord],
        state: Option<&PollState>,
    ) -> StoreResult<()> {
        let rows = runs
            .iter()
            .map(|r| Ok((RunRow::of(self, r)?, json(self.stats(), &*r.trigger)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        let state = state.map(|s| json(self.stats(), s)).transpose()?;
        let tick = if ticked { self.ticks().lock().unwrap_or_else(|p| p.into_inner()).remove(flow) } else { None };
        let flow = flow.to_string();
        self.call(move |cx: Cx| async move {
            let mut c = cx.client().await?;
            let tx = c.begin().await?;
            if let Some(token) = tick
                && tx.q().execute("DELETE FROM trigger_ticks WHERE flow = $1 AND lease = $2", &[&flow, &token]).await?
                    == 0
            {
                return Err(StoreFailure(format!(
                    "another node took over polling {flow:?} (this node's lease ran out): this poll's events are dropped"
                )));
            }
            for (row, event) in &rows {
                write_run(&tx, INSERT_RUN, row, event).await?;
            }
            if let Some(state) = &state {
                tx.q()
                    .execute(
                        "INSERT INTO poll_states (flow, state) VALUES ($1, $2) \
                         ON CONFLICT (flow) DO UPDATE SET state = EXCLUDED.state",
                        &[&flow, state],
                    )
                    .await?;
            }
            tx.commit().await
        })
    }
}

impl RunStore for PgStore {
    fn put_flow(&self, def: &FlowDef, now_ms: u64) -> StoreResult<StoredFlow> {
        let def = def.clone();
        let encoded = json(self.stats(), &def)?;
        self.call(move |cx| async move {
            let mut c = cx.client().await?;
            let tx = c.begin().await?;
            // One writer per flow name at a time, across every node.
            tx.q().execute("SELECT pg_advisory_xact_lock(hashtext('flow:' || $1))", &[&def.name]).await?;
            let current = tx.q().query_opt(&format!("{SELECT_FLOW} WHERE f.name = $1"), &[&def.name]).await?;
            if let Some(row) = current {
                let current = decode_flow(&row)?;
                if current.def == def {
                    return Ok(current);
                }
            }
            let version: i64 = tx
                .q()
                .query_one("SELECT coalesce(max(version), 0) + 1 FROM flow_versions WHERE name = $1", &[&def.name])
                .await?
                .get(0);
            tx.q()
                .execute(
                    "INSERT INTO flow_versions (name, version, updated_ms, def) VALUES ($1, $2, $3, $4)",
                    &[&def.name, &version, &ms(now_ms), &encoded],
                )
                .await?;
            tx.q()
                .execute(
                    "INSERT INTO flows (name, version) VALUES ($1, $2) \
                     ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version",
                    &[&def.name, &version],
                )
                .await?;
            tx.commit().await?;
            Ok(StoredFlow { name: def.name.clone(), version: version as u64, def, updated_ms: now_ms })
        })
    }

    fn flow(&self, name: &str) -> StoreResult<Option<Arc<StoredFlow>>> {
        let name = name.to_string();
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let row = c.q().query_opt(&format!("{SELECT_FLOW} WHERE f.name = $1"), &[&name]).await?;
            row.map(|r| decode_flow(&r).map(Arc::new)).transpose()
        })
    }

    fn flow_version(&self, name: &str, version: u64) -> StoreResult<Option<StoredFlow>> {
        let name = name.to_string();
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let row = c
                .q()
                .query_opt(
                    "SELECT name, version, def, updated_ms FROM flow_versions WHERE name = $1 AND version = $2",
                    &[&name, &(version as i64)],
                )
                .await?;
            row.map(|r| decode_flow(&r)).transpose()
        })
    }

    fn flows(&self) -> StoreResult<Vec<StoredFlow>> {
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let rows = c.q().query(&format!("{SELECT_FLOW} ORDER BY f.name"), &[]).await?;
            rows.iter().map(decode_flow).collect()
        })
    }

    fn delete_flow(&self, name: &str) -> StoreResult<bool> {
        let name = name.to_string();
        self.call(move |cx| async move {
            let c = cx.client().await?;
            // Versions stay: runs keep pointing at the definition they ran.
            Ok(c.q().write("DELETE FROM flows WHERE name = $1", &[&name]).await? > 0)
        })
    }

    fn create_run(&self, run: &RunRecord) -> StoreResult<()> {
        self.create_runs(&run.flow, false, std::slice::from_ref(run), None)
    }

    fn run(&self, id: &str) -> StoreResult<Option<RunRecord>> {
        let id = id.to_string();
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let row = c.q().query_opt("SELECT head, event FROM runs WHERE id = $1", &[&id]).await?;
            row.map(|r| decode_run(&r)).transpose()
        })
    }

    fn save_run(&self, run: &RunRecord) -> StoreResult<()> {
        self.put_together(&run.id, &mut [], Some(run))
    }

    fn runs(&self, filter: &RunFilter) -> StoreResult<Vec<RunRecord>> {
        let flow = filter.flow.clone();
        let status = filter.status.map(|s| s.to_string());
        let since = filter.since_ms.map(ms);
        // Ids begin with the creation time in 12 hex digits: a time bound is a key bound.
        let below = filter.before_ms.map(|t| format!("{t:012x}"));
        let limit = (filter.limit > 0).then_some(filter.limit as i64);
        let test = filter.test;
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let rows = c
                .q()
                .query(
                    "SELECT head, event FROM runs \
                     WHERE ($1::text IS NULL OR flow = $1) AND ($2::text IS NULL OR status = $2) \
                     AND ($3::bigint IS NULL OR created_ms >= $3) AND ($4::text IS NULL OR id < $4) \
                     AND test = $5 ORDER BY id DESC LIMIT $6",
                    &[&flow, &status, &since, &below, &test, &limit],
                )
                .await?;
            rows.iter().map(decode_run).collect()
        })
    }

    fn backlog(&self) -> StoreResult<usize> {
        // Counted across the cluster at most every `backlog_ttl` (a scan).
        if let Some(n) = self.recent_backlog() {
            return Ok(n);
        }
        let n = self.call(move |cx| async move {
            let c = cx.client().await?;
            let n: i64 = c.q().query_one("SELECT count(*) FROM runs WHERE in_queue", &[]).await?.get(0);
            Ok(n as usize)
        })?;
        self.counted_backlog(n);
        Ok(n)
    }

    fn step(&self, run: &str, path: &str) -> StoreResult<Option<StepRecord>> {
        let (run, path) = (run.to_string(), path.to_string());
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let row = c
                .q()
                .query_opt("SELECT seq, record FROM steps WHERE run_id = $1 AND path = $2", &[&run, &path])
                .await?;
            row.map(|r| decode_step(&r)).transpose()
        })
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
        let params = step_params(self, steps)?;
        let spawned = spawn
            .iter()
            .map(|r| Ok((RunRow::of(self, r)?, json(self.stats(), &*r.trigger)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        let then = then
            .map(|r| Ok::<_, StoreFailure>((RunRow::of(self, r)?, json(self.stats(), &*r.trigger)?)))
            .transpose()?;
        let token = self.held().lock().unwrap_or_else(|p| p.into_inner()).get(run).copied();
        let lets_go = then.as_ref().is_some_and(|(row, _)| !row.in_queue);
        let run = run.to_string();
        let lease_ms = self.lease_ms();
        let id = run.clone();
        let written = self.call(move |cx| async move {
            let mut c = cx.client().await?;
            let tx = c.begin().await?;
            // A run this node holds is written only while it still does.
            if let Some(token) = token
                && !(params.is_empty() && then.is_some())
                && tx.q().execute(RENEW, &[&run, &token, &lease_ms]).await? == 0
            {
                return Err(lost(&run));
            }
            for (row, event) in &spawned {
                write_run(&tx, INSERT_RUN, row, event).await?;
            }
            let mut seqs = Vec::with_capacity(params.len());
            for (path, seq, record) in &params {
                let row = tx.q().query_one(UPSERT_STEP, &[&run, path, seq, record]).await?;
                seqs.push(row.get::<_, i64>(0) as u64);
            }
            match (&then, token) {
                (Some((row, _)), Some(token)) => write_held_run(&tx, row, token, lease_ms).await?,
                (Some((row, event)), None) => write_run(&tx, UPSERT_RUN, row, event).await?,
                (None, _) => {}
            }
            tx.commit().await?;
            Ok(seqs)
        });
        let held = |f: &mut dyn FnMut(&mut std::collections::HashMap<String, i64>)| {
            f(&mut self.held().lock().unwrap_or_else(|p| p.into_inner()))
        };
        match written {
            Ok(seqs) => {
                for (step, seq) in steps.iter_mut().zip(seqs) {
                    step.seq = seq;
                }
                if lets_go && token.is_some() {
                    held(&mut |h| {
                        h.remove(&id);
                    });
                }
                Ok(())
            }
            // A run lost to another node stays held here, so every later
            // write of it from this node is refused too, until it is let go of.
            Err(e) => Err(e),
        }
    }

    fn steps(&self, run: &str) -> StoreResult<Vec<StepRecord>> {
        let run = run.to_string();
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let rows = c.q().query("SELECT seq, record FROM steps WHERE run_id = $1 ORDER BY seq", &[&run]).await?;
            rows.iter().map(decode_step).collect()
        })
    }

    fn queued(&self, limit: usize) -> StoreResult<Vec<String>> {
        let limit = limit.min(i64::MAX as usize) as i64;
        let node = self.node().to_string();
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let rows = c
                .q()
                .query(
                    "SELECT id FROM runs WHERE in_queue AND (lease_until IS NULL OR lease_until < weft_now_ms()) \
                     AND (origin = $2 OR origin IS NULL OR created_ms < weft_now_ms() - $3) \
                     ORDER BY id LIMIT $1",
                    &[&limit, &node, &FRESH_MS],
                )
                .await?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    fn unqueue(&self, _id: &str) -> StoreResult<()> {
        // A run's place in the queue is a column of its row: there is no
        // entry without a record to drop.
        Ok(())
    }

    fn claim(&self, id: &str) -> StoreResult<bool> {
        let (id, node, lease_ms) = (id.to_string(), self.node().to_string(), self.lease_ms());
        let key = id.clone();
        let token = self.call(move |cx| async move {
            let c = cx.client().await?;
            let row = c
                .q()
                .query_opt(
                    "UPDATE runs SET claimed_by = $2, lease = nextval('lease_seq'), lease_until = weft_now_ms() + $3 \
                     WHERE id = $1 AND in_queue AND (lease_until IS NULL OR lease_until < weft_now_ms()) \
                     RETURNING lease",
                    &[&id, &node, &lease_ms],
                )
                .await?;
            if row.is_some() {
                cx.stats.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(row.map(|r| r.get::<_, i64>(0)))
        })?;
        if token.is_some() {
            self.stats().claims.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(crate::hold(self.held(), key, token))
    }

    fn release(&self, id: &str) -> StoreResult<()> {
        let Some(token) = self.held().lock().unwrap_or_else(|p| p.into_inner()).remove(id) else { return Ok(()) };
        let id = id.to_string();
        self.call(move |cx| async move {
            let c = cx.client().await?;
            c.q()
                .write(
                    "UPDATE runs SET claimed_by = NULL, lease = NULL, lease_until = NULL WHERE id = $1 AND lease = $2",
                    &[&id, &token],
                )
                .await?;
            Ok(())
        })
    }

    fn wake_due(&self, now_ms: u64) -> StoreResult<Vec<String>> {
        self.call(move |cx| async move {
            let c = cx.client().await?;
            // Rows another node is waking at the same moment are waited for,
            // then seen no longer waiting: each run is woken once.
            let rows = c
                .q()
                .query(
                    "UPDATE runs SET status = 'queued', in_queue = true, wake_ms = NULL, \
                     head = (head - 'wake_ms') || '{\"status\": \"queued\"}'::jsonb \
                     WHERE wake_ms <= $1 AND status = 'waiting' RETURNING id",
                    &[&ms(now_ms)],
                )
                .await?;
            if !rows.is_empty() {
                cx.stats.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            let mut woken: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
            woken.sort();
            Ok(woken)
        })
    }

    fn wake_now(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_string();
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let n = c
                .q()
                .execute(
                    "UPDATE runs SET status = 'queued', in_queue = true, wake_ms = NULL, \
                     head = (head - 'wake_ms') || '{\"status\": \"queued\"}'::jsonb \
                     WHERE id = $1 AND status = 'waiting'",
                    &[&id],
                )
                .await?;
            if n > 0 {
                cx.stats.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(n > 0)
        })
    }

    fn next_wake(&self) -> StoreResult<Option<u64>> {
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let row = c.q().query_one("SELECT min(wake_ms) FROM runs WHERE wake_ms IS NOT NULL", &[]).await?;
            Ok(row.get::<_, Option<i64>>(0).map(|t| t.max(0) as u64))
        })
    }

    fn flush(&self) -> BoxFuture<'_, StoreResult<()>> {
        // Every write was committed before it returned.
        Box::pin(std::future::ready(Ok(())))
    }

    fn prepare_retention(&self) -> StoreResult<()> {
        // The listing is a column of every run's row, from the first migration on.
        Ok(())
    }

    fn flows_with_ended_runs(&self) -> StoreResult<Vec<String>> {
        self.call(move |cx| async move {
            let c = cx.client().await?;
            // One index probe per flow (a loose index scan), not a walk over every ended run.
            let rows = c
                .q()
                .query(
                    "WITH RECURSIVE f(flow) AS ( \
                       (SELECT flow FROM runs WHERE ended_ms IS NOT NULL ORDER BY flow LIMIT 1) \
                       UNION ALL \
                       SELECT (SELECT r.flow FROM runs r WHERE r.ended_ms IS NOT NULL AND r.flow > f.flow \
                               ORDER BY r.flow LIMIT 1) FROM f WHERE f.flow IS NOT NULL) \
                     SELECT flow FROM f WHERE flow IS NOT NULL",
                    &[],
                )
                .await?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    fn ended_runs(&self, flow: &str, class: EndClass, before_ms: u64, limit: usize) -> StoreResult<Vec<EndedRun>> {
        let flow = flow.to_string();
        let limit = limit.min(i64::MAX as usize) as i64;
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let rows = c
                .q()
                .query(
                    "SELECT id, ended_ms FROM runs WHERE ended_ms IS NOT NULL AND flow = $1 AND ended_class = $2 \
                     AND ended_ms < $3 ORDER BY ended_ms, id LIMIT $4",
                    &[&flow, &class_code(class), &ms(before_ms), &limit],
                )
                .await?;
            Ok(rows.iter().map(|r| decode_ended(&flow, class, r)).collect())
        })
    }

    fn recent_ended(
        &self,
        flow: &str,
        class: EndClass,
        from_ms: u64,
        to_ms: u64,
        limit: usize,
    ) -> StoreResult<Vec<EndedRun>> {
        let flow = flow.to_string();
        let limit = limit.min(i64::MAX as usize) as i64;
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let rows = c
                .q()
                .query(
                    "SELECT id, ended_ms FROM runs WHERE ended_ms IS NOT NULL AND flow = $1 AND ended_class = $2 \
                     AND ended_ms >= $3 AND ended_ms < $4 ORDER BY ended_ms DESC, id DESC LIMIT $5",
                    &[&flow, &class_code(class), &ms(from_ms), &ms(to_ms), &limit],
                )
                .await?;
            Ok(rows.iter().map(|r| decode_ended(&flow, class, r)).collect())
        })
    }

    fn count_ended(&self, flow: &str, class: EndClass, before_ms: u64) -> StoreResult<u64> {
        let flow = flow.to_string();
        self.call(move |cx| async move {
            let c = cx.client().await?;
            let n: i64 = c
                .q()
                .query_one(
                    "SELECT count(*) FROM runs WHERE ended_ms IS NOT NULL AND flow = $1 AND ended_class = $2 \
                     AND ended_ms < $3",
                    &[&flow, &class_code(class), &ms(before_ms)],
                )
                .await?
                .get(0);
            Ok(n as u64)
        })
    }

    fn ended_total(&self, flow: &str) -> StoreResult<u64> {
        let flow = flow.to_string();
        self.call(move |cx| async move {
            let c = cx.client().await?;
            // Test runs are not counted against the flow's `max_runs`.
            let n: i64 = c
                .q()
                .query_one(
                    "SELECT count(*) FROM runs WHERE ended_ms IS NOT NULL AND flow = $1 AND ended_class IN ('s', 'f')",
                    &[&flow],
                )
                .await?
                .get(0);
            Ok(n as u64)
        })
    }

    fn delete_runs(&self, runs: &[EndedRun]) -> StoreResult<usize> {
        let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
        let ended: Vec<i64> = runs.iter().map(|r| ms(r.ended_ms)).collect();
        let classes: Vec<&str> = runs.iter().map(|r| class_code(r.class)).collect();
        let ids: Vec<String> = ids.into_iter().map(str::to_string).collect();
        let classes: Vec<String> = classes.into_iter().map(str::to_string).collect();
        self.call(move |cx| async move {
            let mut c = cx.client().await?;
            let tx = c.begin().await?;
            // Only runs that ended as listed: one that has not (or not then) keeps its records.
            let deleted: Vec<String> = tx
                .q()
                .query(
                    "DELETE FROM runs r USING unnest($1::text[], $2::bigint[], $3::text[]) AS d(id, ended_ms, class) \
                     WHERE r.id = d.id AND r.ended_ms = d.ended_ms AND r.ended_class = d.class RETURNING r.id",
                    &[&ids, &ended, &classes],
                )
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
            if !deleted.is_empty() {
                tx.q().execute("DELETE FROM steps WHERE run_id = ANY($1)", &[&deleted]).await?;
            }
            tx.commit().await?;
            Ok(deleted.len())
        })
    }
}

fn decode_step(row: &tokio_postgres::Row) -> StoreResult<StepRecord> {
    let record: Json<StepRecord> = row.try_get(1).map_err(|e| corrupt("step record", e))?;
    let mut step = record.0;
    step.seq = row.get::<_, i64>(0) as u64;
    Ok(step)
}
