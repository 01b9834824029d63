//! The `connector` world: implement [`Connector`] and call [`export_connector!`](crate::export_connector).

use crate::{Error, Result, Value};
use std::marker::PhantomData;

/// The bindings generated from `wit/` for the `oauth-connector` world: the
/// `connector` world plus the `oauth` export, which answers `none` unless the
/// manifest declares [`OAuth2`].
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "weft:plugin/oauth-connector",
        generate_all,
        pub_export_macro: true,
        export_macro_name: "__weft_export_connector_world",
        default_bindings_module: "weft_sdk::connector::bindings",
        runtime_path: "weft_sdk::__private::wit_bindgen::rt",
    });
}

use bindings::exports::weft::plugin::connector_api as wit;

crate::error::wit_error_conversions!(bindings::weft::plugin::types::Error, bindings::weft::plugin::types::RateLimit);

/// A connector: one application's triggers and actions.
///
/// Only [`describe`](Connector::describe) and [`invoke`](Connector::invoke) are
/// required; the trigger methods answer "not supported" until implemented.
pub trait Connector {
    /// Name, version, triggers, actions, settings and hosts.
    fn describe() -> Manifest;

    /// Run `action` with `input` (already validated against its schema by the host).
    fn invoke(action: &str, input: Value, ctx: &CallContext) -> Result<Value>;

    /// Fetch records for a polling trigger, starting after `cursor`.
    fn poll(trigger: &str, config: Value, cursor: Option<String>) -> Result<PollResponse> {
        let _ = (config, cursor);
        Err(Error::fatal(format!("trigger {trigger:?} does not support polling")))
    }

    /// Register `webhook_url` with the application; return state for `unsubscribe`.
    ///
    /// The default returns `null`: the application has no API for registering
    /// hooks, so weft shows the URL for the user to paste into it by hand.
    fn subscribe(trigger: &str, config: Value, webhook_url: &str, events: Vec<String>) -> Result<Value> {
        let _ = (trigger, config, webhook_url, events);
        Ok(Value::Null)
    }

    /// Remove a registration made by `subscribe` (never called for a `null` subscription).
    fn unsubscribe(trigger: &str, config: Value, subscription: Value) -> Result<()> {
        let _ = (config, subscription);
        Err(Error::fatal(format!("trigger {trigger:?} has no subscription API")))
    }

    /// Verify and turn one incoming webhook request into events.
    fn handle_webhook(request: WebhookRequest) -> Result<WebhookOutcome> {
        Err(Error::fatal(format!("trigger {:?} does not accept webhooks", request.trigger)))
    }
}

/// Identifies one attempt of one step of one run.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// Stable across retries of the same step; pass it to APIs that accept one.
    pub idempotency_key: String,
    /// 1 for the first attempt.
    pub attempt: u32,
}

/// What the connector is and offers; see `describe` in `wit/plugin.wit`.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    /// Short machine name, `[a-z0-9-]+`.
    pub name: String,
    /// Semantic version of the connector.
    pub version: String,
    /// One line for humans.
    pub description: String,
    /// How new events are noticed.
    pub triggers: Vec<Trigger>,
    /// What the connector can do.
    pub actions: Vec<Action>,
    /// Settings and secrets a connection needs.
    pub settings: Vec<Setting>,
    /// Hosts the connector wants to reach; the operator grants them.
    pub hosts: Vec<String>,
    /// OAuth 2.0 run by the host for connections given an OAuth client.
    pub oauth2: Option<OAuth2>,
}

impl Manifest {
    /// A manifest with no triggers, actions, settings or hosts yet.
    pub fn new(name: impl Into<String>, version: impl Into<String>, description: impl Into<String>) -> Self {
        Self { name: name.into(), version: version.into(), description: description.into(), ..Self::default() }
    }
    /// Add an action.
    pub fn action(mut self, action: Action) -> Self {
        self.actions.push(action);
        self
    }
    /// Add a trigger.
    pub fn trigger(mut self, trigger: Trigger) -> Self {
        self.triggers.push(trigger);
        self
    }
    /// A plain (non-secret) setting.
    pub fn setting(mut self, name: impl Into<String>, description: impl Into<String>, required: bool) -> Self {
        self.settings.push(Setting { name: name.into(), description: description.into(), secret: false, required });
        self
    }
    /// A secret (an API key, a token, a signing secret).
    pub fn secret(mut self, name: impl Into<String>, description: impl Into<String>, required: bool) -> Self {
        self.settings.push(Setting { name: name.into(), description: description.into(), secret: true, required });
        self
    }
    /// A host the connector wants to reach (`api.example.com`, `*.example.com`, `host:port`).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.hosts.push(host.into());
        self
    }
    /// Let the host run OAuth 2.0 for connections given an OAuth client: it
    /// keeps and refreshes the tokens and adds them to requests to the
    /// token's hosts, so the plugin sends its requests without credentials.
    pub fn oauth2(mut self, oauth2: OAuth2) -> Self {
        self.oauth2 = Some(oauth2);
        self
    }
}

/// How the connector's application hands out OAuth 2.0 tokens; see the
/// `oauth` interface in `wit/plugin.wit`.
///
/// ```
/// use weft_sdk::OAuth2;
/// let github = OAuth2::authorization_code(
///     "https://github.com/login/oauth/authorize",
///     "https://github.com/login/oauth/access_token",
/// )
/// .scopes(&["repo"])
/// .host("api.github.com");
/// # let _ = github;
/// ```
#[derive(Debug, Clone)]
pub struct OAuth2 {
    client_credentials: bool,
    authorization_url: String,
    token_url: String,
    scopes: Vec<String>,
    pkce: bool,
    header: Option<(String, String)>,
    hosts: Vec<String>,
    params: Vec<(String, String)>,
    credentials_in_body: bool,
}

impl OAuth2 {
    /// The authorization-code grant (a person signs in once), with PKCE (S256).
    pub fn authorization_code(authorization_url: impl Into<String>, token_url: impl Into<String>) -> Self {
        Self {
            client_credentials: false,
            authorization_url: authorization_url.into(),
            token_url: token_url.into(),
            scopes: Vec::new(),
            pkce: true,
            header: None,
            hosts: Vec::new(),
            params: Vec::new(),
            credentials_in_body: false,
        }
    }
    /// The client-credentials grant (machine to machine).
    pub fn client_credentials(token_url: impl Into<String>) -> Self {
        Self { client_credentials: true, ..Self::authorization_code("", token_url) }
    }
    /// Scopes to ask for.
    pub fn scopes(mut self, scopes: &[&str]) -> Self {
        self.scopes.extend(scopes.iter().map(|s| s.to_string()));
        self
    }
    /// A host the token is sent to (`api.example.com`, `*.example.com`, `host:port`).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.hosts.push(host.into());
        self
    }
    /// Send the token as `name: <prefix><token>` instead of `authorization: Bearer <token>`.
    pub fn header(mut self, name: impl Into<String>, prefix: impl Into<String>) -> Self {
        self.header = Some((name.into(), prefix.into()));
        self
    }
    /// Turn PKCE off, for an application that refuses it.
    pub fn without_pkce(mut self) -> Self {
        self.pkce = false;
        self
    }
    /// Send the client id and secret in the token request's body rather than
    /// with HTTP Basic authentication.
    pub fn credentials_in_body(mut self) -> Self {
        self.credentials_in_body = true;
        self
    }
    /// An extra query parameter for the authorization URL (`access_type=offline`).
    pub fn authorization_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }
}

/// One action of a connector.
#[derive(Debug, Clone)]
pub struct Action {
    /// Machine name, `[a-z0-9_-]+`.
    pub name: String,
    /// One line for humans.
    pub description: String,
    /// JSON Schema of the input (the host validates input against it).
    pub input_schema: Value,
    /// JSON Schema of the output.
    pub output_schema: Value,
}

impl Action {
    /// An action whose input and output are any JSON object until schemas are set.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            input_schema: serde_json::json!({ "type": "object" }),
            output_schema: serde_json::json!({}),
        }
    }
    /// Set the JSON Schema of the input.
    pub fn input_schema(mut self, schema: Value) -> Self {
        self.input_schema = schema;
        self
    }
    /// Set the JSON Schema of the output.
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.output_schema = schema;
        self
    }
}

/// How the host finds new records among those a poll returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollingStrategy {
    /// Records carry a date-time; the cursor is the latest seen.
    Timestamp,
    /// Records carry an increasing id; the cursor is the greatest seen.
    IncreasingId,
    /// Nothing to filter on: the host remembers the ids it has seen.
    Dedupe,
}

/// One trigger of a connector.
#[derive(Debug, Clone)]
pub struct Trigger {
    /// Machine name, `[a-z0-9_-]+`.
    pub name: String,
    /// One line for humans.
    pub description: String,
    /// `Some` for a polling trigger, `None` for a webhook trigger.
    pub polling: Option<PollingStrategy>,
    /// Event names a webhook trigger can subscribe to.
    pub events: Vec<String>,
    /// JSON Schema of the trigger's configuration in a flow.
    pub config_schema: Value,
    /// JSON Schema of one event's payload.
    pub output_schema: Value,
}

impl Trigger {
    /// A webhook trigger: the application calls the flow's URL.
    pub fn webhook(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            polling: None,
            events: Vec::new(),
            config_schema: serde_json::json!({ "type": "object" }),
            output_schema: serde_json::json!({}),
        }
    }
    /// A polling trigger: the host calls `poll` at an interval.
    pub fn polling(name: impl Into<String>, description: impl Into<String>, strategy: PollingStrategy) -> Self {
        Self { polling: Some(strategy), ..Self::webhook(name, description) }
    }
    /// Event names the trigger can subscribe to.
    pub fn events(mut self, events: &[&str]) -> Self {
        self.events = events.iter().map(|e| e.to_string()).collect();
        self
    }
    /// Set the JSON Schema of the trigger's configuration.
    pub fn config_schema(mut self, schema: Value) -> Self {
        self.config_schema = schema;
        self
    }
    /// Set the JSON Schema of the output.
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.output_schema = schema;
        self
    }
}

/// A setting or secret a connection needs.
#[derive(Debug, Clone)]
pub struct Setting {
    /// Machine name.
    pub name: String,
    /// What to enter, for humans.
    pub description: String,
    /// Secrets are encrypted at rest and never shown or logged.
    pub secret: bool,
    /// A connection without it is refused.
    pub required: bool,
}

/// One record or event produced by a trigger.
#[derive(Debug, Clone)]
pub struct Event {
    /// The record's id in the application.
    pub id: String,
    /// RFC 3339 date-time, for the timestamp strategy.
    pub timestamp: Option<String>,
    /// The event itself.
    pub payload: Value,
}

/// What a poll found.
#[derive(Debug, Clone, Default)]
pub struct PollResponse {
    /// New records, oldest first.
    pub events: Vec<Event>,
    /// Saved by the host and passed to the next poll.
    pub next_cursor: Option<String>,
}

/// One incoming webhook request, raw.
#[derive(Debug, Clone)]
pub struct WebhookRequest {
    /// The trigger the request is for.
    pub trigger: String,
    /// The trigger's configuration in the flow.
    pub config: Value,
    /// HTTP method.
    pub method: String,
    /// Path and query after the flow's webhook URL.
    pub path: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    /// The raw body, byte for byte.
    pub body: Vec<u8>,
}

impl WebhookRequest {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A direct answer to a webhook request (handshakes, challenges).
#[derive(Debug, Clone)]
pub struct WebhookResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Vec<u8>,
}

/// The events in a webhook request, and optionally a direct answer.
#[derive(Debug, Clone, Default)]
pub struct WebhookOutcome {
    /// Events to start runs with.
    pub events: Vec<Event>,
    /// A direct answer (handshakes, challenges); the host answers otherwise.
    pub response: Option<WebhookResponse>,
}

/// Adapts a [`Connector`] to the generated `Guest` trait; used by [`export_connector!`](crate::export_connector).
#[doc(hidden)]
pub struct Export<T>(PhantomData<T>);

fn parse(what: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| Error::invalid_input(format!("{what} is not valid JSON: {e}")))
}

fn to_wit_event(e: Event) -> wit::Event {
    wit::Event { id: e.id, timestamp: e.timestamp, payload: e.payload.to_string() }
}

type WitResult<T> = std::result::Result<T, bindings::weft::plugin::types::Error>;

impl<T: Connector> wit::Guest for Export<T> {
    fn describe() -> wit::Manifest {
        let m = T::describe();
        wit::Manifest {
            name: m.name,
            version: m.version,
            description: m.description,
            triggers: m
                .triggers
                .into_iter()
                .map(|t| wit::TriggerSpec {
                    name: t.name,
                    description: t.description,
                    kind: if t.polling.is_some() { wit::TriggerKind::Polling } else { wit::TriggerKind::Webhook },
                    polling: t.polling.map(|p| match p {
                        PollingStrategy::Timestamp => wit::PollingStrategy::Timestamp,
                        PollingStrategy::IncreasingId => wit::PollingStrategy::IncreasingId,
                        PollingStrategy::Dedupe => wit::PollingStrategy::Dedupe,
                    }),
                    events: t.events,
                    config_schema: t.config_schema.to_string(),
                    output_schema: t.output_schema.to_string(),
                })
                .collect(),
            actions: m
                .actions
                .into_iter()
                .map(|a| wit::ActionSpec {
                    name: a.name,
                    description: a.description,
                    input_schema: a.input_schema.to_string(),
                    output_schema: a.output_schema.to_string(),
                })
                .collect(),
            settings: m
                .settings
                .into_iter()
                .map(|s| wit::SettingSpec {
                    name: s.name,
                    description: s.description,
                    secret: s.secret,
                    required: s.required,
                })
                .collect(),
            hosts: m.hosts,
        }
    }

    fn poll(req: wit::PollRequest) -> WitResult<wit::PollResponse> {
        let config = parse("the trigger config", &req.config)?;
        let r = T::poll(&req.trigger, config, req.cursor)?;
        Ok(wit::PollResponse { events: r.events.into_iter().map(to_wit_event).collect(), next_cursor: r.next_cursor })
    }

    fn subscribe(req: wit::SubscribeRequest) -> WitResult<String> {
        let config = parse("the trigger config", &req.config)?;
        Ok(T::subscribe(&req.trigger, config, &req.webhook_url, req.events)?.to_string())
    }

    fn unsubscribe(req: wit::UnsubscribeRequest) -> WitResult<()> {
        let config = parse("the trigger config", &req.config)?;
        let subscription = parse("the subscription", &req.subscription)?;
        Ok(T::unsubscribe(&req.trigger, config, subscription)?)
    }

    fn handle_webhook(req: wit::WebhookRequest) -> WitResult<wit::WebhookOutcome> {
        let config = parse("the trigger config", &req.config)?;
        let out = T::handle_webhook(WebhookRequest {
            trigger: req.trigger,
            config,
            method: req.method,
            path: req.path,
            headers: req.headers,
            body: req.body,
        })?;
        Ok(wit::WebhookOutcome {
            events: out.events.into_iter().map(to_wit_event).collect(),
            response: out.response.map(|r| wit::WebhookResponse { status: r.status, headers: r.headers, body: r.body }),
        })
    }

    fn invoke(req: wit::InvokeRequest) -> WitResult<String> {
        let input = parse("the action input", &req.input)?;
        let ctx = CallContext { idempotency_key: req.context.idempotency_key, attempt: req.context.attempt };
        Ok(T::invoke(&req.action, input, &ctx)?.to_string())
    }
}

impl<T: Connector> bindings::exports::weft::plugin::oauth::Guest for Export<T> {
    fn oauth2() -> Option<bindings::exports::weft::plugin::oauth::Oauth2Spec> {
        use bindings::exports::weft::plugin::oauth as o;
        let spec = T::describe().oauth2?;
        Some(o::Oauth2Spec {
            grant: if spec.client_credentials { o::Grant::ClientCredentials } else { o::Grant::AuthorizationCode },
            authorization_url: spec.authorization_url,
            token_url: spec.token_url,
            scopes: spec.scopes,
            pkce: spec.pkce,
            placement: match spec.header {
                None => o::TokenPlacement::Bearer,
                Some((name, prefix)) => o::TokenPlacement::Header(o::TokenHeader { name, prefix }),
            },
            hosts: spec.hosts,
            authorization_params: spec.params,
            credentials_in_body: spec.credentials_in_body,
        })
    }
}

/// Export a type implementing [`Connector`] as this component's `connector` world.
///
/// ```ignore
/// struct MyConnector;
/// impl weft_sdk::Connector for MyConnector { /* … */ }
/// weft_sdk::export_connector!(MyConnector);
/// ```
#[macro_export]
macro_rules! export_connector {
    ($connector:ty) => {
        #[doc(hidden)]
        type __WeftConnectorExport = $crate::connector::Export<$connector>;
        $crate::connector::bindings::__weft_export_connector_world!(__WeftConnectorExport);
    };
}
