//! Replaying recorded runs offline: each action step called again with the
//! input it had, answered from the host I/O its record keeps, on the run's
//! plugin versions or on a candidate; the outputs compared step by step.

use crate::run::{BoxFuture, RunStatus, StepFailure};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A plugin version to replay with instead of the run's.
#[derive(Debug, Clone)]
pub enum Candidate {
    /// An installed version: `name` at `version` (a manifest version, a full
    /// version or a content hash, as flows pin them).
    Installed { name: String, version: String },
    /// A component not installed: the `.wasm` bytes, and the name a
    /// transform goes by (a connector is named by its manifest).
    Wasm { name: String, bytes: Vec<u8> },
}

/// Which of a flow's runs to replay.
#[derive(Debug, Clone, Default)]
pub struct ReplayFilter {
    /// Runs that ended so (e.g. failed).
    pub status: Option<RunStatus>,
    /// Runs created at or after this time (ms since the epoch).
    pub since_ms: Option<u64>,
    /// At most this many, newest first.
    pub limit: usize,
}

/// What replaying one run showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReplay {
    pub run: String,
    pub flow: String,
    /// How the recorded run ended.
    pub recorded_status: RunStatus,
    pub verdict: Verdict,
    /// One line for people.
    pub summary: String,
    pub steps: Vec<StepReplay>,
}

/// The replay's finding for a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every replayed step gave what it gave before.
    Same,
    /// Some step's output differs (both succeeded).
    Differs,
    /// The step that failed succeeds now.
    NowSucceeds,
    /// The step that failed fails again.
    StillFails,
    /// A step that succeeded fails now.
    NowFails,
    /// No step could be replayed (no recordings kept, plugins gone).
    NotReplayable,
}

/// One step of a replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReplay {
    pub path: String,
    pub step_id: String,
    /// The plugin called, `name@version`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub plugin: String,
    /// Why the step was not replayed (no recording, the plugin is gone…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// What the run recorded.
    pub recorded: StepResult,
    /// What the replay gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayed: Option<StepResult>,
    /// Whether the replay gave what the run recorded.
    pub same: bool,
    /// Where the outputs differ, by JSON path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<String>,
    /// Requests the replayed plugin made that the recording could not answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unanswered: Vec<String>,
}

/// A step's output or failure.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<StepFailure>,
}

/// What replaying many runs of a flow showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplaySummary {
    pub flow: String,
    /// The candidate replayed with (`name@version`), when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<String>,
    /// Runs replayed.
    pub runs: usize,
    pub now_succeed: usize,
    pub still_fail: usize,
    pub now_fail: usize,
    pub same: usize,
    pub differ: usize,
    pub not_replayable: usize,
    pub results: Vec<RunReplay>,
}

impl ReplaySummary {
    /// Count `results` by verdict.
    pub fn of(flow: String, candidate: Option<String>, results: Vec<RunReplay>) -> Self {
        let count = |v: Verdict| results.iter().filter(|r| r.verdict == v).count();
        Self {
            flow,
            candidate,
            runs: results.len(),
            now_succeed: count(Verdict::NowSucceeds),
            still_fail: count(Verdict::StillFails),
            now_fail: count(Verdict::NowFails),
            same: count(Verdict::Same),
            differ: count(Verdict::Differs),
            not_replayable: count(Verdict::NotReplayable),
            results,
        }
    }
}

/// Why a replay could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no run {0:?}")]
    UnknownRun(String),
    #[error("no flow named {0:?}")]
    UnknownFlow(String),
    /// The candidate is not a plugin, or not one the run uses.
    #[error("{0}")]
    Candidate(String),
    #[error(transparent)]
    Store(#[from] crate::run::StoreFailure),
}

/// Replays recorded runs. The `weft` binary implements it over the sandbox.
pub trait Replays: Send + Sync + 'static {
    /// Replay run `id`, with `candidate` in place of its version of that plugin.
    fn replay_run<'a>(
        &'a self,
        id: &'a str,
        candidate: Option<Candidate>,
    ) -> BoxFuture<'a, Result<RunReplay, ReplayError>>;

    /// Replay the runs of `flow` that `filter` admits.
    fn replay_flow<'a>(
        &'a self,
        flow: &'a str,
        filter: ReplayFilter,
        candidate: Option<Candidate>,
    ) -> BoxFuture<'a, Result<ReplaySummary, ReplayError>>;
}

/// Where `got` differs from `want`, one line per difference, by JSON path
/// (`$.items[2].name: expected "a", got "b"`). With `subset`, fields `got`
/// has beyond `want`'s are not differences.
pub fn json_diff(want: &Value, got: &Value, subset: bool) -> Vec<String> {
    let mut out = Vec::new();
    walk("$", want, got, subset, &mut out);
    out
}

fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 200 { format!("{}…", text.chars().take(200).collect::<String>()) } else { text }
}

fn walk(at: &str, want: &Value, got: &Value, subset: bool, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                let path = format!("{at}.{k}");
                match g.get(k) {
                    Some(gv) => walk(&path, wv, gv, subset, out),
                    None => out.push(format!("{path}: expected {}, missing", short(wv))),
                }
            }
            if !subset {
                for (k, gv) in g {
                    if !w.contains_key(k) {
                        out.push(format!("{at}.{k}: not expected, got {}", short(gv)));
                    }
                }
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            for (i, wv) in w.iter().enumerate() {
                match g.get(i) {
                    Some(gv) => walk(&format!("{at}[{i}]"), wv, gv, subset, out),
                    None => out.push(format!("{at}[{i}]: expected {}, missing", short(wv))),
                }
            }
            if g.len() > w.len() && !subset {
                out.push(format!("{at}: expected {} items, got {}", w.len(), g.len()));
            }
        }
        (w, g) if w == g => {}
        (w, g) => out.push(format!("{at}: expected {}, got {}", short(w), short(g))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_are_named_by_path() {
        let want = json!({ "id": 1, "tags": ["a", "b"], "owner": { "name": "Ada" } });
        let got = json!({ "id": 1, "tags": ["a"], "owner": { "name": "Grace" }, "extra": true });
        assert_eq!(
            json_diff(&want, &got, false),
            vec![
                "$.owner.name: expected \"Ada\", got \"Grace\"",
                "$.tags[1]: expected \"b\", missing",
                "$.extra: not expected, got true",
            ]
        );
        assert_eq!(json_diff(&json!({ "id": 1 }), &got, true), Vec::<String>::new());
    }
}
