//! The flow format as users write it (YAML or JSON). `schema/flow.schema.json`
//! is generated from these types (`cargo xtask schema`), so editors can
//! autocomplete and check flow files.
//!
//! ```yaml
//! name: new-contact-to-crm
//! trigger: manual
//! steps:
//!   - id: clean
//!     transform: clean-contact
//!     input: "{{ trigger }}"
//!   - id: create
//!     action: http.request
//!     connection: crm
//!     input:
//!       method: POST
//!       url: /contacts
//!       body: "{{ steps.clean.output }}"
//!     retry: { max_attempts: 5 }
//!   - id: check
//!     if: "steps.create.output.status == 201"
//!     then:
//!       - id: wait
//!         delay: 10m
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A flow: a trigger and the steps each event runs through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowDef {
    /// Unique name of the flow, `[a-z0-9_-]`, at most 64 characters.
    pub name: String,
    /// What the flow is for, for humans.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// How runs start.
    pub trigger: TriggerDef,
    /// Runs of this flow that may execute at once (default: only the global worker budget applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// How long this flow's ended runs are kept (default: the server's `--retention-*` settings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionDef>,
    /// The error flow: when a run of this flow fails for good (after its
    /// retries), a run of this flow starts with a summary of the failure
    /// (default: the server's `--error-flow`, if set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<String>,
    /// How often runs of this flow may begin; runs over the limit wait in the
    /// queue, holding no worker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitDef>,
    /// Whether each action's step record keeps the call's host I/O (HTTP
    /// exchanges, key-value operations; secrets redacted, bodies cut at the
    /// server's cap) so the run can be replayed offline (`weft runs replay`).
    /// Default: yes.
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub record_io: bool,
    /// The steps, run in order.
    pub steps: Vec<StepDef>,
}

fn yes() -> bool {
    true
}

fn is_yes(b: &bool) -> bool {
    *b
}

/// How long a flow's ended runs are kept; each field left out takes the
/// server's default. Runs that have not ended are never pruned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionDef {
    /// Keep succeeded runs this long after they ended, e.g. `7d` (server default 14d).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succeeded: Option<String>,
    /// Keep failed and cancelled runs this long after they ended, e.g. `30d` (server default 60d).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// Keep at most this many ended runs of the flow, the newest (server default 100000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_runs: Option<u64>,
}

/// A rate: `per_second` or `per_minute` events, and how many may go at once
/// after a quiet spell (`burst`). Work over the rate waits; it never fails for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitDef {
    /// Events per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_second: Option<u32>,
    /// Events per minute (instead of `per_second`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_minute: Option<u32>,
    /// Events that may go at once after a quiet spell (default 1: evenly spaced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}

impl RateLimitDef {
    /// What is wrong with this rate, if anything.
    pub fn check(&self) -> Result<(), String> {
        match (self.per_second, self.per_minute) {
            (Some(_), Some(_)) => return Err("give per_second or per_minute, not both".into()),
            (None, None) => return Err("give per_second or per_minute".into()),
            (Some(0), _) | (_, Some(0)) => {
                return Err("a rate of 0 would stop everything: give at least 1 (or leave rate_limit out)".into());
            }
            _ => {}
        }
        if self.burst == Some(0) {
            return Err("burst must be at least 1".into());
        }
        Ok(())
    }

    /// Milliseconds between events at this rate.
    pub fn interval_ms(&self) -> f64 {
        match (self.per_second, self.per_minute) {
            (Some(n), _) if n > 0 => 1000.0 / n as f64,
            (_, Some(n)) if n > 0 => 60_000.0 / n as f64,
            _ => 0.0,
        }
    }
}

/// How a flow's runs start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TriggerDef {
    /// Started by hand (CLI or API) with a given payload.
    Manual,
    /// A connector's webhook trigger: the application calls the flow's unique URL.
    Webhook(ConnectorTriggerDef),
    /// A connector's polling trigger, called at an interval.
    Polling(ConnectorTriggerDef),
    /// A cron schedule.
    Schedule(ScheduleDef),
}

/// A trigger offered by a connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorTriggerDef {
    /// The connector plugin, optionally pinned: `github` or `github@1.2.0`.
    pub connector: String,
    /// The trigger's name in the connector's manifest.
    pub trigger: String,
    /// The connection (account) to use.
    pub connection: String,
    /// The trigger's configuration, checked against its `config-schema`.
    #[serde(default = "empty_object")]
    pub config: Value,
    /// Webhook events to subscribe to (default: all the trigger offers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// Polling interval, e.g. `30s`, `5m` (polling triggers only; default 5m; ±10% jitter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Webhook triggers: run the flow while the caller waits and answer with
    /// its output, instead of `202 Accepted` with the run ids (default false).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sync: bool,
    /// Webhook triggers: a polling trigger of the same connector to use instead
    /// when the application cannot be subscribed (no hook API, or the
    /// subscription is refused); `interval` sets how often it polls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_poll: Option<String>,
}

/// A cron schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleDef {
    /// Cron expression, e.g. `*/5 * * * *`.
    pub cron: String,
    /// IANA time zone, e.g. `Europe/Oslo` (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// One step. Exactly one of `action`, `transform`, `call`, `respond`, `if`,
/// `switch`, `for_each`, `delay` or `delay_until` says what kind of step it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    /// Unique id within the flow, `[a-z0-9_]`; later steps read this step's
    /// output as `steps.<id>.output`.
    pub id: String,

    /// A connector action, `connector.action` (optionally `connector@version.action`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The connection the action uses (required with `action`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    /// A transform plugin, optionally pinned: `clean-contact` or `clean-contact@<hash>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<String>,
    /// Another flow to run as a sub-flow, by name: its run gets `input` as its
    /// event, this step waits for it (holding no worker) and its output is
    /// this step's output; its failure fails this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// The input of an action, transform or call: JSON whose strings may hold `{{ expressions }}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,

    /// Answer the webhook request that started the run (flows with a `sync`
    /// webhook trigger): the answer leaves at once and the run goes on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respond: Option<RespondDef>,

    /// A condition (an expression); runs `then` when true, else `else`.
    #[serde(rename = "if", default, skip_serializing_if = "Option::is_none")]
    pub if_: Option<String>,
    /// Steps run when `if` is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then: Option<Vec<StepDef>>,
    /// Steps run when `if` is false.
    #[serde(rename = "else", default, skip_serializing_if = "Option::is_none")]
    pub else_: Option<Vec<StepDef>>,

    /// An expression whose value picks one of `cases` (compared as text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switch: Option<String>,
    /// Steps per value of `switch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cases: Option<BTreeMap<String, Vec<StepDef>>>,
    /// Steps run when no case matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Vec<StepDef>>,

    /// An expression giving a list; `steps` run once per item (`item`, `index`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_each: Option<String>,
    /// The body of a `for_each`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<StepDef>>,
    /// Items of a `for_each` processed at once (default 1: in order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,

    /// Wait this long, e.g. `30s`, `10m`, `2h 30m`. The run holds no worker meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<String>,
    /// Wait until this RFC 3339 time (an expression or template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_until: Option<String>,

    /// Retries of a failing action or transform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryDef>,
    /// What to do when the step fails for good (default: fail the run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_error: Option<OnErrorDef>,
}

/// The answer a `respond` step gives the webhook's caller. Each field may
/// hold `{{ expressions }}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RespondDef {
    /// The HTTP status, 100–599 (default 200): a number, or an expression giving one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Value>,
    /// Response headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The body: text is sent as it is (`text/plain` unless a header says
    /// otherwise), anything else as JSON. Default: no body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// Retry policy: exponential backoff with jitter; `rate-limited` errors wait
/// at least their retry-after; `fatal`, `auth` and `invalid-input` are never retried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryDef {
    /// Attempts in all, the first included (default 3; 1 disables retries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Wait before the second attempt, e.g. `1s` (default 1s); doubles each time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_backoff: Option<String>,
    /// Longest wait between attempts (default 5m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_backoff: Option<String>,
}

/// What happens when a step has failed for good.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum OnErrorDef {
    /// The run fails (the default).
    Fail,
    /// The step's output is its error (`{ "error": … }`) and the run goes on.
    Continue,
    /// Run these steps (they can read `steps.<id>.error`), then go on.
    Branch(Vec<StepDef>),
}

/// Why a flow file could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// `yaml` or `json` for a syntax error, else empty.
    pub syntax: &'static str,
    /// Where in the flow, for a shape error: `steps[0].transfrom`; empty for
    /// the whole document or a syntax error.
    pub path: String,
    pub message: String,
    /// Where in the text (1-based), for a syntax error.
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.syntax, self.path.as_str()) {
            ("yaml", _) => write!(f, "invalid flow YAML: {}", self.message),
            ("json", _) => write!(f, "invalid flow JSON: {}", self.message),
            (_, "") => write!(f, "invalid flow: {}", self.message),
            (_, path) => write!(f, "invalid flow: {path}: {}", self.message),
        }
    }
}

impl std::error::Error for ParseError {}

impl FlowDef {
    /// Parse a flow file: JSON if it starts with `{`, YAML otherwise. Syntax
    /// errors name the line and column; shape errors name the path
    /// (`steps[0]: unknown field `transfrom``).
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::parse_located(text).map_err(|e| e.to_string())
    }

    /// [`FlowDef::parse`], with the error's place apart from its message.
    pub fn parse_located(text: &str) -> Result<Self, ParseError> {
        let syntax = |syntax, message: String, at: Option<(usize, usize)>| ParseError {
            syntax,
            path: String::new(),
            message,
            line: at.map(|a| a.0),
            column: at.map(|a| a.1),
        };
        let value: Value = if text.trim_start().starts_with('{') {
            serde_json::from_str(text)
                .map_err(|e| syntax("json", e.to_string(), (e.line() > 0).then(|| (e.line(), e.column()))))?
        } else {
            serde_yaml_ng::from_str(text)
                .map_err(|e| syntax("yaml", e.to_string(), e.location().map(|l| (l.line(), l.column()))))?
        };
        Self::from_value_located(value)
    }

    /// A flow from an already-parsed JSON document.
    pub fn from_value(value: Value) -> Result<Self, String> {
        Self::from_value_located(value).map_err(|e| e.to_string())
    }

    fn from_value_located(value: Value) -> Result<Self, ParseError> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            ParseError {
                syntax: "",
                path: if path == "." { String::new() } else { path },
                message: e.inner().to_string(),
                line: None,
                column: None,
            }
        })
    }

    /// The JSON Schema of the flow format.
    pub fn json_schema() -> Value {
        serde_json::to_value(schemars::schema_for!(FlowDef)).expect("a schema is JSON")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_yaml_and_json_alike() {
        let yaml = "name: f\ntrigger: manual\nsteps:\n  - id: a\n    transform: t\n    input: '{{ trigger }}'\n";
        let json = r#"{"name":"f","trigger":"manual","steps":[{"id":"a","transform":"t","input":"{{ trigger }}"}]}"#;
        assert_eq!(FlowDef::parse(yaml).unwrap(), FlowDef::parse(json).unwrap());
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_place() {
        let err = FlowDef::parse("name: f\ntrigger: manual\nsteps:\n  - id: a\n    transfrom: t\n").unwrap_err();
        assert!(
            err.starts_with(
                "invalid flow: steps[0].transfrom: unknown field `transfrom`, expected one of `id`, `action`"
            ),
            "{err}"
        );
        let err = FlowDef::parse(r#"{"name":"f","trigger":"manual","steps":[], }"#).unwrap_err();
        assert!(err.starts_with("invalid flow JSON: trailing comma at line 1"), "{err}");
        let err = FlowDef::parse("name: f\ntrigger: manual\nsteps: [\n").unwrap_err();
        assert!(err.starts_with("invalid flow YAML:") && err.contains("line 4"), "{err}");
        let err = FlowDef::parse("name: f\ntrigger: sometimes\nsteps: []\n").unwrap_err();
        assert!(err.starts_with("invalid flow: trigger: unknown variant `sometimes`"), "{err}");
    }

    #[test]
    fn parse_errors_say_where() {
        let e = FlowDef::parse_located("name: f\ntrigger: manual\nsteps: [\n").unwrap_err();
        assert_eq!((e.syntax, e.line), ("yaml", Some(4)), "{e:?}");
        let e = FlowDef::parse_located("{\"name\": \"f\",\n \"steps\": [}").unwrap_err();
        assert_eq!((e.syntax, e.line, e.column), ("json", Some(2), Some(12)), "{e:?}");
        let e = FlowDef::parse_located("name: f\ntrigger: manual\nsteps:\n  - id: a\n    transfrom: t\n").unwrap_err();
        assert_eq!((e.syntax, e.path.as_str(), e.line), ("", "steps[0].transfrom", None), "{e:?}");
        assert!(e.message.starts_with("unknown field `transfrom`"), "{e:?}");
    }

    #[test]
    fn triggers_parse() {
        let f = FlowDef::parse(
            "name: f\ntrigger:\n  webhook:\n    connector: github\n    trigger: issues\n    connection: gh\n    events: [opened]\nsteps: []\n",
        )
        .unwrap();
        assert!(matches!(f.trigger, TriggerDef::Webhook(ref w) if w.events == ["opened"]));
        let f = FlowDef::parse("name: f\ntrigger:\n  schedule:\n    cron: '*/5 * * * *'\nsteps: []\n").unwrap();
        assert!(matches!(f.trigger, TriggerDef::Schedule(_)));
    }

    #[test]
    fn the_shipped_json_schema_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/flow.schema.json");
        let current = serde_json::to_string_pretty(&FlowDef::json_schema()).unwrap() + "\n";
        let shipped = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(shipped == current, "schema/flow.schema.json is out of date: run `cargo xtask schema`");
    }
}
