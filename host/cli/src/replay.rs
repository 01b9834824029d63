//! Replaying recorded runs ([`weft_core::replay`]) on the sandbox: each action
//! step is called again with the input it had, answered from the host I/O its
//! record keeps; no request leaves the host and nothing is written to the run.

use crate::registry::{Registry, failure};
use serde_json::Value;
use std::sync::Arc;
use weft_core::connection::{Connection, ConnectionStore};
use weft_core::io::IoMode;
use weft_core::plugin::{CallContext, World};
use weft_core::replay::{
    Candidate, ReplayError, ReplayFilter, ReplaySummary, Replays, RunReplay, StepReplay, StepResult, Verdict, json_diff,
};
use weft_core::run::{BoxFuture, RunFilter, RunRecord, RunStatus, RunStore, StepRecord, StepStatus};
use weft_runtime::{CallOptions, Plugin};

/// Runs more than this in one flow replay are left out (newest first).
const MAX_RUNS: usize = 1_000;

/// Replays runs from the store on the registry's plugins.
pub struct Replayer {
    pub store: Arc<dyn RunStore>,
    pub registry: Arc<Registry>,
    pub connections: Arc<dyn ConnectionStore>,
}

/// What a step of the flow calls.
enum Callee {
    Action { connector: String, version: Option<String>, action: String, connection: String },
    Transform { plugin: String, version: Option<String> },
}

impl Replayer {
    async fn candidate(&self, candidate: Option<Candidate>) -> Result<Option<Plugin>, ReplayError> {
        match candidate {
            None => Ok(None),
            Some(Candidate::Installed { name, version }) => match self.registry.find(&name, Some(&version)).await {
                Some(p) => Ok(Some(p)),
                None => Err(ReplayError::Candidate(format!("no plugin {name:?} at version {version:?} is installed"))),
            },
            Some(Candidate::Wasm { name, bytes }) => {
                let plugin =
                    self.registry.runtime().load("the candidate plugin", &name, &bytes).await.map_err(|e| {
                        ReplayError::Candidate(format!("the candidate is not a plugin weft can run: {e}"))
                    })?;
                Ok(Some(plugin))
            }
        }
    }

    async fn replay(&self, run: &RunRecord, candidate: Option<&Plugin>) -> Result<RunReplay, ReplayError> {
        let mut records = self.store.steps(&run.id)?;
        records.sort_by_key(|r| r.seq);
        let def = self.store.flow_version(&run.flow, run.version)?.map(|f| f.def);
        let steps_json = def.as_ref().map(|d| serde_json::to_value(&d.steps).unwrap_or_default()).unwrap_or_default();
        let mut steps = Vec::new();
        for rec in
            records.iter().filter(|r| !r.pinned && matches!(r.status, StepStatus::Succeeded | StepStatus::Failed))
        {
            let Some(callee) = callee(&steps_json, &rec.step_id) else { continue };
            steps.push(self.step(run, rec, callee, candidate).await);
        }
        let (verdict, summary) = verdict(run, &steps);
        Ok(RunReplay {
            run: run.id.clone(),
            flow: run.flow.clone(),
            recorded_status: run.status,
            verdict,
            summary,
            steps,
        })
    }

    async fn step(&self, run: &RunRecord, rec: &StepRecord, callee: Callee, candidate: Option<&Plugin>) -> StepReplay {
        let recorded = StepResult { output: rec.output.clone(), error: rec.error.clone() };
        let mut out = StepReplay {
            path: rec.path.clone(),
            step_id: rec.step_id.clone(),
            plugin: String::new(),
            skipped: None,
            recorded,
            replayed: None,
            same: false,
            differences: Vec::new(),
            unanswered: Vec::new(),
        };
        let pin = |name: &str, version: &Option<String>| {
            let reference = match version {
                Some(v) => format!("{name}@{v}"),
                None => name.to_string(),
            };
            run.plugins.get(&reference).cloned().or_else(|| version.clone())
        };
        let (name, version) = match &callee {
            Callee::Action { connector, version, .. } => (connector.clone(), version.clone()),
            Callee::Transform { plugin, version } => (plugin.clone(), version.clone()),
        };
        let plugin = match candidate.filter(|c| c.name() == name) {
            Some(c) => Some(c.clone()),
            None => self.registry.find(&name, pin(&name, &version).as_deref()).await,
        };
        let Some(plugin) = plugin else {
            out.skipped = Some(format!("plugin {name:?} at the run's version is no longer installed"));
            return out;
        };
        out.plugin = format!("{}@{}", plugin.name(), plugin.version());
        let outcome = match callee {
            Callee::Action { action, connection, .. } => {
                let Some(io) = &rec.io else {
                    out.skipped = Some(
                        "its record keeps no host I/O (the flow has `record_io: false`, or the step ran before \
                         weft kept recordings)"
                            .into(),
                    );
                    return out;
                };
                if plugin.world() != World::Connector {
                    out.skipped = Some(format!("{name:?} is not a connector"));
                    return out;
                }
                // The settings the call read then; the connection's secrets as they are
                // now (they redact the comparison, as they redacted the recording).
                let mut connection = match self.connections.connection(&connection) {
                    Ok(Some((_, c))) => (*c).clone(),
                    _ => Connection {
                        id: connection.clone(),
                        settings: Default::default(),
                        secrets: Default::default(),
                        hosts: Arc::default(),
                        rate_limit: None,
                    },
                };
                if let Some(settings) = &io.settings {
                    connection.settings = settings.clone();
                }
                let connection = Arc::new(connection);
                let io = IoMode::Replay(Arc::new(io.clone()));
                let opts = CallOptions { connection: Some(&connection), limits: None, io: Some(&io) };
                let input = rec.input.clone().unwrap_or(Value::Null);
                let ctx = CallContext { idempotency_key: format!("{}/{}", run.id, rec.path), attempt: rec.attempts };
                plugin.invoke(&opts, &action, &input, &ctx).await
            }
            Callee::Transform { .. } => {
                if plugin.world() != World::Transform {
                    out.skipped = Some(format!("{name:?} is not a transform"));
                    return out;
                }
                plugin.transform(&CallOptions::default(), rec.input.as_ref().unwrap_or(&Value::Null)).await
            }
        };
        out.unanswered = outcome.http_refusals.iter().filter(|r| r.contains("not in the recording")).cloned().collect();
        let replayed = match outcome.result {
            Ok(v) => StepResult { output: Some(v), error: None },
            Err(e) => StepResult { output: None, error: Some(failure(&e)) },
        };
        out.differences = match (&out.recorded, &replayed) {
            (StepResult { error: None, output: Some(want) }, StepResult { output: Some(got), .. }) => {
                json_diff(want, got, false)
            }
            (StepResult { error: Some(want), .. }, StepResult { error: Some(got), .. }) => {
                if want.message == got.message {
                    Vec::new()
                } else {
                    vec![format!("error: before {:?}, now {:?}", want.message, got.message)]
                }
            }
            (StepResult { error: Some(want), .. }, StepResult { output: Some(_), .. }) => {
                vec![format!("failed before ({}), succeeds now", want.message)]
            }
            (_, StepResult { error: Some(got), .. }) => vec![format!("succeeded before, fails now: {}", got.message)],
            _ => Vec::new(),
        };
        out.same = out.differences.is_empty();
        out.replayed = Some(replayed);
        out
    }
}

/// The action or transform the step `id` of a flow's steps calls, found at any depth.
fn callee(steps: &Value, id: &str) -> Option<Callee> {
    match steps {
        Value::Array(items) => items.iter().find_map(|s| callee(s, id)),
        Value::Object(map) => {
            if map.get("id").and_then(Value::as_str) == Some(id) {
                let split = |reference: &str| match reference.split_once('@') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (reference.to_string(), None),
                };
                if let (Some(action), Some(connection)) =
                    (map.get("action").and_then(Value::as_str), map.get("connection").and_then(Value::as_str))
                {
                    let (target, action) = action.rsplit_once('.')?;
                    let (connector, version) = split(target);
                    return Some(Callee::Action {
                        connector,
                        version,
                        action: action.to_string(),
                        connection: connection.to_string(),
                    });
                }
                if let Some(transform) = map.get("transform").and_then(Value::as_str) {
                    let (plugin, version) = split(transform);
                    return Some(Callee::Transform { plugin, version });
                }
            }
            map.values().find_map(|v| if v.is_array() || v.is_object() { callee(v, id) } else { None })
        }
        _ => None,
    }
}

fn verdict(run: &RunRecord, steps: &[StepReplay]) -> (Verdict, String) {
    let replayed: Vec<&StepReplay> = steps.iter().filter(|s| s.replayed.is_some()).collect();
    if replayed.is_empty() {
        let why = steps.iter().find_map(|s| s.skipped.clone()).unwrap_or_else(|| "it called no action".into());
        return (Verdict::NotReplayable, format!("nothing to replay: {why}"));
    }
    if run.status == RunStatus::Failed {
        // The step that failed the run: the last one recorded as failed.
        let Some(failed) = steps.iter().rev().find(|s| s.recorded.error.is_some()) else {
            return (Verdict::NotReplayable, "the run failed outside its actions".into());
        };
        return match &failed.replayed {
            None => (
                Verdict::NotReplayable,
                format!(
                    "the failed step {} was not replayed: {}",
                    failed.path,
                    failed.skipped.clone().unwrap_or_default()
                ),
            ),
            Some(StepResult { error: None, .. }) => {
                (Verdict::NowSucceeds, format!("step {} failed and succeeds now", failed.path))
            }
            Some(StepResult { error: Some(e), .. }) => {
                (Verdict::StillFails, format!("step {} fails again: {}", failed.path, e.message))
            }
        };
    }
    if let Some(s) =
        replayed.iter().find(|s| s.recorded.error.is_none() && s.replayed.as_ref().is_some_and(|r| r.error.is_some()))
    {
        return (Verdict::NowFails, format!("step {} succeeded and fails now", s.path));
    }
    let differ: Vec<&str> = replayed.iter().filter(|s| !s.same).map(|s| s.path.as_str()).collect();
    if differ.is_empty() {
        (Verdict::Same, format!("{} step(s) replayed, every output the same", replayed.len()))
    } else {
        (Verdict::Differs, format!("output differs at {}", differ.join(", ")))
    }
}

fn name_of(plugin: &Option<Plugin>) -> Option<String> {
    plugin.as_ref().map(|p| format!("{}@{}", p.name(), p.version()))
}

impl Replays for Replayer {
    fn replay_run<'a>(
        &'a self,
        id: &'a str,
        candidate: Option<Candidate>,
    ) -> BoxFuture<'a, Result<RunReplay, ReplayError>> {
        Box::pin(async move {
            let run = self.store.run(id)?.ok_or_else(|| ReplayError::UnknownRun(id.to_string()))?;
            let candidate = self.candidate(candidate).await?;
            self.replay(&run, candidate.as_ref()).await
        })
    }

    fn replay_flow<'a>(
        &'a self,
        flow: &'a str,
        filter: ReplayFilter,
        candidate: Option<Candidate>,
    ) -> BoxFuture<'a, Result<ReplaySummary, ReplayError>> {
        Box::pin(async move {
            if self.store.flow(flow)?.is_none() {
                return Err(ReplayError::UnknownFlow(flow.to_string()));
            }
            let candidate = self.candidate(candidate).await?;
            let limit = if filter.limit == 0 { MAX_RUNS } else { filter.limit.min(MAX_RUNS) };
            let runs = self.store.runs(&RunFilter {
                flow: Some(flow.to_string()),
                status: filter.status,
                since_ms: filter.since_ms,
                limit,
                ..Default::default()
            })?;
            let mut results = Vec::with_capacity(runs.len());
            for run in runs.iter().filter(|r| r.status.is_final()) {
                results.push(self.replay(run, candidate.as_ref()).await?);
            }
            Ok(ReplaySummary::of(flow.to_string(), name_of(&candidate), results))
        })
    }
}
