//! Plain Rust views of what crosses the plugin boundary, free of wasmtime
//! types, so the rest of weft never sees generated bindings.

use super::bindings::{api, types as wit};
use crate::caps::HostRule;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

/// A failure a plugin reported, by what the engine should do next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PluginError {
    InvalidInput { message: String },
    Auth { message: String },
    RateLimited { message: String, retry_after_ms: u64 },
    Transient { message: String },
    Fatal { message: String },
}

impl PluginError {
    /// Whether the engine may try the step again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, PluginError::RateLimited { .. } | PluginError::Transient { .. })
    }

    /// How long the plugin asked the engine to wait before retrying.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PluginError::RateLimited { retry_after_ms, .. } if *retry_after_ms > 0 => {
                Some(Duration::from_millis(*retry_after_ms))
            }
            _ => None,
        }
    }

    pub(crate) fn message_mut(&mut self) -> &mut String {
        match self {
            PluginError::InvalidInput { message }
            | PluginError::Auth { message }
            | PluginError::RateLimited { message, .. }
            | PluginError::Transient { message }
            | PluginError::Fatal { message } => message,
        }
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginError::InvalidInput { message } => write!(f, "invalid input: {message}"),
            PluginError::Auth { message } => write!(f, "authentication failed: {message}"),
            PluginError::RateLimited { message, retry_after_ms } => {
                write!(f, "rate limited (retry after {retry_after_ms} ms): {message}")
            }
            PluginError::Transient { message } => write!(f, "transient failure: {message}"),
            PluginError::Fatal { message } => write!(f, "{message}"),
        }
    }
}

impl From<wit::Error> for PluginError {
    fn from(e: wit::Error) -> Self {
        match e {
            wit::Error::InvalidInput(message) => PluginError::InvalidInput { message },
            wit::Error::Auth(message) => PluginError::Auth { message },
            wit::Error::RateLimited(r) => {
                PluginError::RateLimited { message: r.message, retry_after_ms: r.retry_after_ms }
            }
            wit::Error::Transient(message) => PluginError::Transient { message },
            wit::Error::Fatal(message) => PluginError::Fatal { message },
        }
    }
}

/// A connector's self-description, validated at load.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub description: String,
    pub triggers: Vec<TriggerSpec>,
    pub actions: Vec<ActionSpec>,
    pub settings: Vec<SettingSpec>,
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionSpec {
    pub name: String,
    pub description: String,
    pub input_schema: Value,
    pub output_schema: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TriggerKind {
    Webhook,
    Polling,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PollingStrategy {
    Timestamp,
    IncreasingId,
    Dedupe,
}

#[derive(Debug, Clone, Serialize)]
pub struct TriggerSpec {
    pub name: String,
    pub description: String,
    pub kind: TriggerKind,
    pub polling: Option<PollingStrategy>,
    pub events: Vec<String>,
    pub config_schema: Value,
    pub output_schema: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct SettingSpec {
    pub name: String,
    pub description: String,
    pub secret: bool,
    pub required: bool,
}

impl Manifest {
    /// The action called `name`.
    pub fn action(&self, name: &str) -> Option<&ActionSpec> {
        self.actions.iter().find(|a| a.name == name)
    }

    /// Convert and check what `describe` returned.
    pub(crate) fn from_wit(m: api::Manifest) -> Result<Self, String> {
        let schema = |owner: &str, what: &str, text: &str| -> Result<Value, String> {
            let v: Value = serde_json::from_str(text).map_err(|e| format!("{owner}: {what} is not valid JSON: {e}"))?;
            if v.is_object() || v.is_boolean() {
                Ok(v)
            } else {
                Err(format!("{owner}: {what} must be a JSON Schema (an object or a boolean)"))
            }
        };
        check_name("the plugin name", &m.name, false)?;
        if m.version.trim().is_empty() {
            return Err("the version is empty".into());
        }
        let mut seen = HashSet::new();
        let mut actions = Vec::new();
        for a in m.actions {
            check_name("an action name", &a.name, true)?;
            if !seen.insert(a.name.clone()) {
                return Err(format!("action {:?} is declared twice", a.name));
            }
            let owner = format!("action {:?}", a.name);
            actions.push(ActionSpec {
                input_schema: schema(&owner, "input-schema", &a.input_schema)?,
                output_schema: schema(&owner, "output-schema", &a.output_schema)?,
                name: a.name,
                description: a.description,
            });
        }
        let mut seen = HashSet::new();
        let mut triggers = Vec::new();
        for t in m.triggers {
            check_name("a trigger name", &t.name, true)?;
            if !seen.insert(t.name.clone()) {
                return Err(format!("trigger {:?} is declared twice", t.name));
            }
            let owner = format!("trigger {:?}", t.name);
            let kind = match t.kind {
                api::TriggerKind::Webhook => TriggerKind::Webhook,
                api::TriggerKind::Polling => TriggerKind::Polling,
            };
            let polling = t.polling.map(|p| match p {
                api::PollingStrategy::Timestamp => PollingStrategy::Timestamp,
                api::PollingStrategy::IncreasingId => PollingStrategy::IncreasingId,
                api::PollingStrategy::Dedupe => PollingStrategy::Dedupe,
            });
            if kind == TriggerKind::Polling && polling.is_none() {
                return Err(format!("{owner} is a polling trigger without a polling strategy"));
            }
            triggers.push(TriggerSpec {
                config_schema: schema(&owner, "config-schema", &t.config_schema)?,
                output_schema: schema(&owner, "output-schema", &t.output_schema)?,
                name: t.name,
                description: t.description,
                kind,
                polling,
                events: t.events,
            });
        }
        for h in &m.hosts {
            h.parse::<HostRule>()?;
        }
        Ok(Manifest {
            name: m.name,
            version: m.version,
            description: m.description,
            triggers,
            actions,
            settings: m
                .settings
                .into_iter()
                .map(|s| SettingSpec {
                    name: s.name,
                    description: s.description,
                    secret: s.secret,
                    required: s.required,
                })
                .collect(),
            hosts: m.hosts,
        })
    }
}

/// Names are short, lower-case, and safe in URLs, file names and key prefixes.
pub fn check_name(what: &str, name: &str, underscores: bool) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || (underscores && b == b'_'))
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        let allowed = if underscores { "[a-z0-9_-]" } else { "[a-z0-9-]" };
        Err(format!("{what} {name:?} must be 1 to 64 characters of {allowed}"))
    }
}

/// Identifies one attempt of one step of one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallContext {
    /// Stable across attempts of the same step of the same run.
    pub idempotency_key: String,
    /// 1 for the first attempt.
    pub attempt: u32,
}

/// One record or event from a trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub timestamp: Option<String>,
    pub payload: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct PollResponse {
    pub events: Vec<Event>,
    pub next_cursor: Option<String>,
}

/// An incoming webhook request, raw.
#[derive(Debug, Clone)]
pub struct WebhookRequest {
    pub trigger: String,
    pub config: Value,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WebhookResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WebhookOutcome {
    pub events: Vec<Event>,
    pub response: Option<WebhookResponse>,
}

pub(crate) fn event_from_wit(e: api::Event) -> Result<Event, String> {
    let payload =
        serde_json::from_str(&e.payload).map_err(|err| format!("event {:?} payload is not valid JSON: {err}", e.id))?;
    Ok(Event { id: e.id, timestamp: e.timestamp, payload })
}
