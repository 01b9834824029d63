//! Plugin fixtures: one call of a plugin, the host I/O it is answered from, and
//! what it must give back. `weft plugin call|poll|webhook --record FILE` writes
//! one; `--replay FILE` and `weft plugin test` run them without the network.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use weft_core::io::{IoMode, IoRecording};
use weft_core::plugin::{CallContext, TriggerKind, WebhookRequest, World};
use weft_core::replay::json_diff as diff;
use weft_runtime::{CallError, CallOptions, Outcome, Plugin};

/// One fixture file (YAML or JSON).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// What the fixture shows, for the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The connector action called (neither this nor `trigger`: a transform).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The trigger called: a polling trigger is polled, a webhook trigger handed `request`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// The action's or the transform's input.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub input: Value,
    /// The trigger's configuration.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub config: Value,
    /// A polling trigger's cursor (what the previous poll returned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// A webhook trigger's incoming request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<IncomingRequest>,
    /// The connection's settings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, Value>,
    /// The connection's secrets (a recording keeps them redacted: `[redacted]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
    /// The recorded host I/O the call is answered from (none: the call may not reach anything).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io: Option<IoRecording>,
    /// What the call must give back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
}

/// A webhook request in a fixture.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncomingRequest {
    #[serde(default = "post")]
    pub method: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body: String,
}

fn post() -> String {
    "POST".into()
}

/// The expected result: exactly one of the three.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The output, exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// A JSON subset of the output: every field given must be there, equal
    /// (objects may hold more fields; arrays match element by element).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_subset: Option<Value>,
    /// A failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ExpectedError>,
}

/// An expected failure: its kind, and text its message contains.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedError {
    /// `invalid-input`, `auth`, `rate-limited`, `transient`, `fatal`, `trap`, `limit`, `bad-output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Fixture {
    /// Read a fixture, saying where it is malformed.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let de = serde_yaml_ng::Deserializer::from_str(&text);
        let fixture: Fixture = serde_path_to_error::deserialize(de)
            .map_err(|e| anyhow::anyhow!("{} is not a fixture: at {}: {}", path.display(), e.path(), e.inner()))?;
        let expect = &fixture.expect;
        if let Some(e) = expect {
            let given =
                [e.output.is_some(), e.output_subset.is_some(), e.error.is_some()].iter().filter(|b| **b).count();
            if given > 1 {
                bail!("{}: `expect` takes one of `output`, `output_subset` or `error`", path.display());
            }
        }
        if fixture.action.is_some() && fixture.trigger.is_some() {
            bail!("{}: a fixture calls an action or a trigger, not both", path.display());
        }
        Ok(fixture)
    }

    /// Write it as YAML.
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut text = String::from(
            "# A weft plugin fixture: the call, the host I/O it is answered from, and what it gives back.\n\
             # Run it with `weft plugin test`; replay it with `weft plugin call|poll|webhook --replay FILE`.\n",
        );
        text.push_str(&serde_yaml_ng::to_string(self)?);
        if !text.ends_with('\n') {
            text.push('\n');
        }
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
    }

    /// The connection the fixture's call runs for.
    pub fn connection(&self) -> weft_core::connection::Connection {
        weft_core::connection::Connection {
            id: "fixture".into(),
            settings: self.settings.clone().into_iter().collect(),
            secrets: self.secrets.clone().into_iter().collect(),
            hosts: Arc::default(),
            rate_limit: None,
        }
    }

    /// Run the fixture's call on `plugin`, answered from its recording.
    pub async fn run(
        &self,
        plugin: &Plugin,
        connection: &Arc<weft_core::connection::Connection>,
    ) -> Result<Outcome<Value>> {
        let io = IoMode::Replay(Arc::new(self.io.clone().unwrap_or_default()));
        let opts = CallOptions { connection: Some(connection), limits: None, io: Some(&io) };
        let manifest = plugin.manifest();
        Ok(match (plugin.world(), &self.action, &self.trigger) {
            (World::Transform, None, None) => plugin.transform(&opts, &self.input).await,
            (World::Transform, _, _) => {
                bail!("{} is a transform: a fixture for it names no action or trigger", plugin.name())
            }
            (World::Connector, None, None) => bail!("a connector's fixture names its `action` or `trigger`"),
            (World::Connector, Some(action), None) => {
                let m = manifest.expect("connectors have manifests");
                if m.action(action).is_none() {
                    let names = m.actions.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ");
                    bail!("connector {:?} has no action {action:?}; its actions: {names}", plugin.name());
                }
                if let Err(problems) = plugin.check_input(action, &self.input) {
                    bail!("the input does not fit the input schema of {}.{action}: {problems}", plugin.name());
                }
                let ctx = CallContext { idempotency_key: "fixture".into(), attempt: 1 };
                plugin.invoke(&opts, action, &self.input, &ctx).await
            }
            (World::Connector, _, Some(trigger)) => {
                let m = manifest.expect("connectors have manifests");
                let Some(spec) = m.triggers.iter().find(|t| &t.name == trigger) else {
                    let names = m.triggers.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ");
                    bail!("connector {:?} has no trigger {trigger:?}; its triggers: {names}", plugin.name());
                };
                let config =
                    if self.config.is_null() { Value::Object(Default::default()) } else { self.config.clone() };
                match spec.kind {
                    TriggerKind::Polling => {
                        let o = plugin.poll(&opts, trigger, &config, self.cursor.as_deref()).await;
                        map_outcome(o, |r| serde_json::to_value(r).unwrap_or_default())
                    }
                    TriggerKind::Webhook => {
                        let incoming = self.request.clone().unwrap_or_default();
                        let request = WebhookRequest {
                            trigger: trigger.clone(),
                            config,
                            method: incoming.method.to_ascii_uppercase(),
                            path: incoming.path,
                            headers: incoming.headers.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect(),
                            body: incoming.body.into_bytes(),
                        };
                        let o = plugin.handle_webhook(&opts, &request).await;
                        map_outcome(o, webhook_json)
                    }
                }
            }
        })
    }

    /// How `outcome` differs from what the fixture expects (nothing: it passed).
    pub fn check(&self, outcome: &Outcome<Value>) -> Vec<String> {
        let Some(expect) = &self.expect else {
            return match &outcome.result {
                Ok(_) => Vec::new(),
                Err(e) => vec![format!("failed: {e}")],
            };
        };
        match (&outcome.result, expect) {
            (Ok(got), Expect { output: Some(want), .. }) => diff(want, got, false),
            (Ok(got), Expect { output_subset: Some(want), .. }) => diff(want, got, true),
            (Ok(got), Expect { error: Some(e), .. }) => vec![format!(
                "expected a failure{}, got output {}",
                e.kind.as_deref().map(|k| format!(" ({k})")).unwrap_or_default(),
                short(got)
            )],
            (Ok(_), _) => Vec::new(),
            (Err(got), Expect { error: Some(want), .. }) => {
                let mut problems = Vec::new();
                if let Some(kind) = &want.kind
                    && kind != got.kind()
                {
                    problems.push(format!("expected a {kind} error, got {}: {got}", got.kind()));
                }
                if let Some(text) = &want.message
                    && !got.to_string().contains(text.as_str())
                {
                    problems.push(format!("expected the error to say {text:?}, it says: {got}"));
                }
                problems
            }
            (Err(got), _) => vec![format!("expected output, the call failed ({}): {got}", got.kind())],
        }
    }
}

/// A webhook outcome as fixtures and `weft plugin webhook` show it.
pub fn webhook_json(out: weft_core::plugin::WebhookOutcome) -> Value {
    let response = out.response.map(|r| {
        serde_json::json!({
            "status": r.status,
            "headers": r.headers,
            "body": String::from_utf8(r.body.clone()).map(Value::String).unwrap_or_else(|_| serde_json::json!(r.body)),
        })
    });
    serde_json::json!({ "events": out.events, "response": response })
}

fn map_outcome<T>(o: Outcome<T>, f: impl FnOnce(T) -> Value) -> Outcome<Value> {
    Outcome {
        result: o.result.map(f),
        logs: o.logs,
        dropped_logs: o.dropped_logs,
        http_refusals: o.http_refusals,
        fuel_used: o.fuel_used,
        elapsed: o.elapsed,
        io: o.io,
    }
}

fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 200 { format!("{}…", text.chars().take(200).collect::<String>()) } else { text }
}

/// The fixture a recorded call makes: the call, its I/O, and what it gave back.
pub fn recorded(
    mut call: Fixture,
    outcome: &Outcome<Value>,
    connection: &weft_core::connection::Connection,
) -> Fixture {
    let redacted = |v: &Value| serde_json::from_str(&connection.redact(&v.to_string())).unwrap_or_else(|_| v.clone());
    call.input = redacted(&call.input);
    call.config = redacted(&call.config);
    if let Some(request) = &mut call.request {
        request.body = connection.redact(&request.body);
        for value in request.headers.values_mut() {
            *value = connection.redact(value);
        }
    }
    call.io = outcome.io.clone();
    call.settings = connection.settings.clone().into_iter().collect();
    // The recording holds `[redacted]` where a secret was; replaying with that as the secret matches it.
    call.secrets = connection.secrets.keys().map(|k| (k.clone(), "[redacted]".to_string())).collect();
    call.expect = Some(match &outcome.result {
        Ok(v) => Expect { output: Some(redacted(v)), ..Default::default() },
        Err(e) => Expect {
            error: Some(ExpectedError { kind: Some(e.kind().to_string()), message: Some(error_text(e)) }),
            ..Default::default()
        },
    });
    call
}

/// The message of a plugin's own error (without the host's framing), else the whole error.
fn error_text(e: &CallError) -> String {
    match e {
        CallError::Plugin { error, .. } => error.message().to_string(),
        other => other.to_string(),
    }
}
