//! What crosses the plugin boundary, as plain Rust: the manifest a connector
//! describes itself with, the errors a plugin reports, events, webhook
//! requests and answers. The sandbox converts the WIT bindings into these, so
//! nothing above it sees generated types.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// The world a plugin implements, which decides what it is lent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum World {
    Connector,
    Transform,
}

impl fmt::Display for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            World::Connector => "connector",
            World::Transform => "transform",
        })
    }
}

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
    /// The kind, as the contract names it (`invalid-input`, `rate-limited`…).
    pub fn kind(&self) -> &'static str {
        match self {
            PluginError::InvalidInput { .. } => "invalid-input",
            PluginError::Auth { .. } => "auth",
            PluginError::RateLimited { .. } => "rate-limited",
            PluginError::Transient { .. } => "transient",
            PluginError::Fatal { .. } => "fatal",
        }
    }

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

    /// The message.
    pub fn message(&self) -> &str {
        match self {
            PluginError::InvalidInput { message }
            | PluginError::Auth { message }
            | PluginError::RateLimited { message, .. }
            | PluginError::Transient { message }
            | PluginError::Fatal { message } => message,
        }
    }

    /// The message, to redact secrets from it.
    pub fn message_mut(&mut self) -> &mut String {
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
    /// OAuth 2.0 the host runs for the connector's connections (`None`: it offers none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<crate::oauth::OAuth2Spec>,
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
