//! The `connector` world: implement [`Connector`] and call [`export_connector!`](crate::export_connector).
//!
//! A connector knows one application's API. [`Connector::describe`] returns its
//! [`Manifest`]: the [`Action`]s it runs, the [`Trigger`]s that notice new
//! events (polling or webhook), the [`Setting`]s and secrets a connection
//! needs, the hosts it wants to reach and, when the application uses it,
//! [`OAuth2`]. The other methods run those actions and triggers; inside them a
//! connector reaches the world only through [`http`](crate::http),
//! [`kv`](crate::kv), [`config`](crate::config) and [`log`](crate::log).
//!
//! Everything else a connector does is plain Rust: its manifest, its input
//! handling and its webhook parsing can be tested with `cargo test` on the
//! host, as below. The four only work inside weft's sandbox (on another target
//! a call aborts the process).
//!
//! # Examples
//!
//! ```
//! use weft_sdk::{Action, CallContext, Connector, Error, Manifest, Result, Value, json};
//!
//! struct Greeter;
//!
//! impl Connector for Greeter {
//!     fn describe() -> Manifest {
//!         Manifest::new("greeter", "1.0.0", "Greets people")
//!             .action(Action::new("greet", "Say hello to someone"))
//!     }
//!
//!     fn invoke(action: &str, input: Value, _ctx: &CallContext) -> Result<Value> {
//!         match action {
//!             "greet" => Ok(json!({ "greeting": format!("Hello, {}!", input["name"].as_str().unwrap_or("you")) })),
//!             other => Err(Error::invalid_input(format!("unknown action {other:?}"))),
//!         }
//!     }
//! }
//!
//! let ctx = CallContext { idempotency_key: "run-1/step-1".into(), attempt: 1 };
//! assert_eq!(Greeter::invoke("greet", json!({ "name": "Ada" }), &ctx)?, json!({ "greeting": "Hello, Ada!" }));
//! assert!(Greeter::invoke("wave", json!({}), &ctx).is_err());
//! # Ok::<(), weft_sdk::Error>(())
//! ```

use crate::{Error, Result, Value};
use std::marker::PhantomData;

/// The bindings generated from `wit/` for the `oauth-connector` world: the
/// `connector` world plus the `oauth` export, which answers `none` unless the
/// manifest declares [`OAuth2`].
///
/// Their documentation is the contract's, `wit/plugin.wit`. A connector
/// written with this crate does not need them: [`Connector`] and
/// [`export_connector!`](crate::export_connector) stand in front of them.
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
/// Every method is an associated function: each call runs in a fresh instance,
/// so there is no `self` to keep state in (use [`kv`](crate::kv) for that).
/// Make the type a plugin with [`export_connector!`](crate::export_connector).
///
/// # Examples
///
/// A connector with one action and one webhook trigger, tested on the host:
///
/// ```
/// use weft_sdk::{
///     Action, CallContext, Connector, Error, Event, Manifest, Result, Trigger, Value, WebhookOutcome,
///     WebhookRequest, json,
/// };
///
/// struct Notes;
///
/// impl Connector for Notes {
///     fn describe() -> Manifest {
///         Manifest::new("notes", "1.0.0", "A note-taking app")
///             .host("api.notes.example")
///             .secret("api_key", "Your API key", true)
///             .trigger(Trigger::webhook("note_created", "A note was created"))
///             .action(
///                 Action::new("word_count", "Count the words of a note").input_schema(json!({
///                     "type": "object",
///                     "required": ["text"],
///                     "properties": { "text": { "type": "string" } }
///                 })),
///             )
///     }
///
///     fn invoke(action: &str, input: Value, _ctx: &CallContext) -> Result<Value> {
///         match action {
///             "word_count" => {
///                 let text = input["text"].as_str().ok_or_else(|| Error::invalid_input("`text` must be a string"))?;
///                 Ok(json!({ "words": text.split_whitespace().count() }))
///             }
///             other => Err(Error::invalid_input(format!("unknown action {other:?}"))),
///         }
///     }
///
///     fn handle_webhook(request: WebhookRequest) -> Result<WebhookOutcome> {
///         let note: Value = serde_json::from_slice(&request.body)?;
///         let id = note["id"].as_str().ok_or_else(|| Error::invalid_input("the note has no id"))?.to_string();
///         Ok(WebhookOutcome { events: vec![Event { id, timestamp: None, payload: note }], response: None })
///     }
/// }
///
/// // In the plugin crate: weft_sdk::export_connector!(Notes);
///
/// assert_eq!(Notes::describe().name, "notes");
/// let ctx = CallContext { idempotency_key: "run-1/step-1".into(), attempt: 1 };
/// assert_eq!(Notes::invoke("word_count", json!({ "text": "buy more milk" }), &ctx)?, json!({ "words": 3 }));
///
/// let outcome = Notes::handle_webhook(WebhookRequest {
///     trigger: "note_created".into(),
///     config: json!({}),
///     method: "POST".into(),
///     path: "/".into(),
///     headers: vec![("content-type".into(), "application/json".into())],
///     body: br#"{"id":"n-7","text":"hello"}"#.to_vec(),
/// })?;
/// assert_eq!(outcome.events[0].id, "n-7");
///
/// // A trigger method left out answers that the trigger does not support it.
/// assert!(Notes::poll("note_created", json!({}), None).is_err());
/// # Ok::<(), Error>(())
/// ```
pub trait Connector {
    /// Name, version, triggers, actions, settings and hosts.
    ///
    /// The host calls it when it loads the plugin, validates the result and
    /// keeps it. It runs for no connection: build the manifest from constants,
    /// not from settings, secrets or the network.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::{Action, CallContext, Connector, Manifest, Result, Value, json};
    ///
    /// struct Crm;
    ///
    /// impl Connector for Crm {
    ///     fn describe() -> Manifest {
    ///         Manifest::new("crm", "1.2.0", "Contacts in a CRM")
    ///             .host("api.crm.example")
    ///             .secret("api_key", "Your API key", true)
    ///             .action(Action::new("create_contact", "Create a contact"))
    ///     }
    ///     # fn invoke(_: &str, _: Value, _: &CallContext) -> Result<Value> { Ok(json!(null)) }
    /// }
    ///
    /// let manifest = Crm::describe();
    /// assert_eq!((manifest.name.as_str(), manifest.version.as_str()), ("crm", "1.2.0"));
    /// assert_eq!(manifest.actions[0].name, "create_contact");
    /// ```
    fn describe() -> Manifest;

    /// Run `action` with `input` (already validated against its schema by the host).
    ///
    /// `ctx` tells the attempt apart; pass its
    /// [`idempotency_key`](CallContext::idempotency_key) to APIs that accept one,
    /// so a retried step does not act twice. Return an [`Error`] chosen by what
    /// the engine should do next.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::{Action, CallContext, Connector, Error, Manifest, Result, Value, json};
    ///
    /// struct Units;
    ///
    /// impl Connector for Units {
    ///     # fn describe() -> Manifest { Manifest::new("units", "1.0.0", "Unit conversions") }
    ///     fn invoke(action: &str, input: Value, _ctx: &CallContext) -> Result<Value> {
    ///         match action {
    ///             "celsius_to_fahrenheit" => {
    ///                 let c = input["celsius"].as_f64().ok_or_else(|| Error::invalid_input("`celsius` must be a number"))?;
    ///                 Ok(json!({ "fahrenheit": c * 9.0 / 5.0 + 32.0 }))
    ///             }
    ///             other => Err(Error::invalid_input(format!("unknown action {other:?}"))),
    ///         }
    ///     }
    /// }
    ///
    /// let ctx = CallContext { idempotency_key: "run-1/step-1".into(), attempt: 1 };
    /// assert_eq!(Units::invoke("celsius_to_fahrenheit", json!({ "celsius": 100 }), &ctx)?, json!({ "fahrenheit": 212.0 }));
    /// assert_eq!(
    ///     Units::invoke("celsius_to_fahrenheit", json!({ "celsius": "hot" }), &ctx),
    ///     Err(Error::invalid_input("`celsius` must be a number")),
    /// );
    /// # Ok::<(), Error>(())
    /// ```
    fn invoke(action: &str, input: Value, ctx: &CallContext) -> Result<Value>;

    /// Fetch records for a polling trigger, starting after `cursor`.
    ///
    /// `cursor` is the [`next_cursor`](PollResponse::next_cursor) the previous
    /// poll returned (`None` on the first poll); the host keeps it per flow.
    /// `config` is the trigger's configuration in the flow. The host drops
    /// records it has already emitted, by the trigger's [`PollingStrategy`], so
    /// returning a record twice is harmless. The default answers that the
    /// trigger does not support polling.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use weft_sdk::{CallContext, Connector, Event, Manifest, PollResponse, Result, Value, http, json};
    ///
    /// struct Tickets;
    ///
    /// impl Connector for Tickets {
    ///     # fn describe() -> Manifest { Manifest::new("tickets", "1.0.0", "Tickets") }
    ///     # fn invoke(_: &str, _: Value, _: &CallContext) -> Result<Value> { Ok(json!(null)) }
    ///     fn poll(_trigger: &str, _config: Value, cursor: Option<String>) -> Result<PollResponse> {
    ///         let since = cursor.unwrap_or_else(|| "0".into());
    ///         let tickets: Vec<Value> = http::Request::get("https://api.tickets.example/tickets")
    ///             .query("since_id", &since)
    ///             .query("order", "asc")
    ///             .send()?
    ///             .error_for_status()?
    ///             .json()?;
    ///         let events: Vec<Event> = tickets
    ///             .into_iter()
    ///             .map(|t| Event { id: t["id"].to_string(), timestamp: None, payload: t })
    ///             .collect();
    ///         let next_cursor = events.last().map(|e| e.id.clone()).or(Some(since));
    ///         Ok(PollResponse { events, next_cursor })
    ///     }
    /// }
    /// ```
    fn poll(trigger: &str, config: Value, cursor: Option<String>) -> Result<PollResponse> {
        let _ = (config, cursor);
        Err(Error::fatal(format!("trigger {trigger:?} does not support polling")))
    }

    /// Register `webhook_url` with the application; return state for `unsubscribe`.
    ///
    /// The host stores what this returns (the application's hook id, say) and
    /// hands it back to [`unsubscribe`](Connector::unsubscribe). The default
    /// returns `null`: the application has no API for registering hooks, so
    /// weft shows the URL for the user to paste into it by hand.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use weft_sdk::{CallContext, Connector, Error, Manifest, Result, Value, http, json};
    ///
    /// struct Shop;
    ///
    /// impl Connector for Shop {
    ///     # fn describe() -> Manifest { Manifest::new("shop", "1.0.0", "A shop") }
    ///     # fn invoke(_: &str, _: Value, _: &CallContext) -> Result<Value> { Ok(json!(null)) }
    ///     fn subscribe(_trigger: &str, _config: Value, webhook_url: &str, events: Vec<String>) -> Result<Value> {
    ///         let hook: Value = http::Request::post("https://api.shop.example/webhooks")
    ///             .json(&json!({ "url": webhook_url, "events": events }))?
    ///             .send()?
    ///             .error_for_status()?
    ///             .json()?;
    ///         let id = hook["id"].as_u64().ok_or_else(|| Error::fatal("the shop created a hook without an id"))?;
    ///         Ok(json!({ "hook_id": id }))
    ///     }
    /// }
    /// ```
    fn subscribe(trigger: &str, config: Value, webhook_url: &str, events: Vec<String>) -> Result<Value> {
        let _ = (trigger, config, webhook_url, events);
        Ok(Value::Null)
    }

    /// Remove a registration made by `subscribe` (never called for a `null` subscription).
    ///
    /// `subscription` is what [`subscribe`](Connector::subscribe) returned. The
    /// default answers that the trigger has no subscription API.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use weft_sdk::{CallContext, Connector, Error, Manifest, Result, Value, http, json};
    ///
    /// struct Shop;
    ///
    /// impl Connector for Shop {
    ///     # fn describe() -> Manifest { Manifest::new("shop", "1.0.0", "A shop") }
    ///     # fn invoke(_: &str, _: Value, _: &CallContext) -> Result<Value> { Ok(json!(null)) }
    ///     fn unsubscribe(_trigger: &str, _config: Value, subscription: Value) -> Result<()> {
    ///         let id = subscription["hook_id"]
    ///             .as_u64()
    ///             .ok_or_else(|| Error::fatal(format!("not a subscription this connector made: {subscription}")))?;
    ///         let response = http::Request::delete(format!("https://api.shop.example/webhooks/{id}")).send()?;
    ///         if response.status == 404 {
    ///             return Ok(()); // removed by hand already
    ///         }
    ///         response.error_for_status().map(drop)
    ///     }
    /// }
    /// ```
    fn unsubscribe(trigger: &str, config: Value, subscription: Value) -> Result<()> {
        let _ = (config, subscription);
        Err(Error::fatal(format!("trigger {trigger:?} has no subscription API")))
    }

    /// Verify and turn one incoming webhook request into events.
    ///
    /// Check the request's signature first (see [`signature`](crate::signature)),
    /// answer handshakes with a [`WebhookOutcome::response`], and return zero or
    /// more [`Event`]s, each of which starts a run. The default answers that
    /// the trigger does not accept webhooks.
    ///
    /// # Examples
    ///
    /// A trigger that answers the application's URL challenge and otherwise
    /// turns each element of a JSON array into an event:
    ///
    /// ```
    /// use weft_sdk::{
    ///     CallContext, Connector, Error, Event, Manifest, Result, Value, WebhookOutcome, WebhookRequest,
    ///     WebhookResponse, json,
    /// };
    ///
    /// struct Chat;
    ///
    /// impl Connector for Chat {
    ///     # fn describe() -> Manifest { Manifest::new("chat", "1.0.0", "A chat app") }
    ///     # fn invoke(_: &str, _: Value, _: &CallContext) -> Result<Value> { Ok(json!(null)) }
    ///     fn handle_webhook(request: WebhookRequest) -> Result<WebhookOutcome> {
    ///         let body: Value = serde_json::from_slice(&request.body)?;
    ///         if let Some(challenge) = body["challenge"].as_str() {
    ///             let response = WebhookResponse {
    ///                 status: 200,
    ///                 headers: vec![("content-type".into(), "text/plain".into())],
    ///                 body: challenge.as_bytes().to_vec(),
    ///             };
    ///             return Ok(WebhookOutcome { events: Vec::new(), response: Some(response) });
    ///         }
    ///         let Value::Array(messages) = body else {
    ///             return Err(Error::invalid_input("expected a JSON array of messages"));
    ///         };
    ///         let events = messages
    ///             .into_iter()
    ///             .map(|m| Event { id: m["id"].to_string(), timestamp: m["sent_at"].as_str().map(Into::into), payload: m })
    ///             .collect();
    ///         Ok(WebhookOutcome { events, response: None })
    ///     }
    /// }
    ///
    /// let request = |body: &str| WebhookRequest {
    ///     trigger: "message".into(),
    ///     config: json!({}),
    ///     method: "POST".into(),
    ///     path: "/".into(),
    ///     headers: Vec::new(),
    ///     body: body.as_bytes().to_vec(),
    /// };
    ///
    /// let handshake = Chat::handle_webhook(request(r#"{"challenge":"abc123"}"#))?;
    /// assert!(handshake.events.is_empty());
    /// assert_eq!(handshake.response.unwrap().body, b"abc123");
    ///
    /// let delivery = Chat::handle_webhook(request(r#"[{"id":1,"text":"hi"},{"id":2,"text":"bye"}]"#))?;
    /// assert_eq!(delivery.events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["1", "2"]);
    /// assert!(delivery.response.is_none());
    /// # Ok::<(), Error>(())
    /// ```
    fn handle_webhook(request: WebhookRequest) -> Result<WebhookOutcome> {
        Err(Error::fatal(format!("trigger {:?} does not accept webhooks", request.trigger)))
    }
}

/// Identifies one attempt of one step of one run.
///
/// The SDK builds it for [`Connector::invoke`]; build one yourself to call
/// `invoke` in a test.
///
/// # Examples
///
/// ```
/// use weft_sdk::{CallContext, http};
///
/// let ctx = CallContext { idempotency_key: "3f2a9c/charge".into(), attempt: 2 };
/// // Sent along, the key lets the application recognise the retry.
/// let request = http::Request::post("https://api.payments.example/charges")
///     .header("idempotency-key", &ctx.idempotency_key);
/// # let _ = request;
/// assert!(ctx.attempt > 1, "this is a retry");
/// ```
#[derive(Debug, Clone)]
pub struct CallContext {
    /// Stable across retries of the same step; pass it to APIs that accept one.
    pub idempotency_key: String,
    /// 1 for the first attempt.
    pub attempt: u32,
}

/// What the connector is and offers; see `describe` in `wit/plugin.wit`.
///
/// Build it with [`Manifest::new`] and the builder methods, and return it from
/// [`Connector::describe`]. The host validates it when it loads the plugin
/// (names, JSON Schemas, hosts) and `weft plugin describe` prints it.
///
/// # Examples
///
/// ```
/// use weft_sdk::{Action, Manifest, PollingStrategy, Trigger, json};
///
/// let manifest = Manifest::new("crm", "1.0.0", "Contacts in a CRM")
///     .host("api.crm.example")
///     .setting("base_url", "The API's base URL", false)
///     .secret("api_key", "Your API key", true)
///     .trigger(Trigger::polling("new_contact", "A contact was created", PollingStrategy::IncreasingId))
///     .action(Action::new("create_contact", "Create a contact").input_schema(json!({
///         "type": "object",
///         "required": ["email"],
///         "properties": { "email": { "type": "string" } }
///     })));
///
/// assert_eq!(manifest.hosts, ["api.crm.example"]);
/// assert_eq!(manifest.settings.len(), 2);
/// assert_eq!(manifest.triggers[0].polling, Some(PollingStrategy::IncreasingId));
/// assert_eq!(manifest.actions[0].input_schema["required"], json!(["email"]));
/// assert!(manifest.oauth2.is_none());
/// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::Manifest;
    ///
    /// let manifest = Manifest::new("weather", "1.0.0", "Current weather from a weather API");
    /// assert_eq!(manifest.name, "weather");
    /// assert_eq!(manifest.version, "1.0.0");
    /// assert!(manifest.actions.is_empty() && manifest.triggers.is_empty() && manifest.hosts.is_empty());
    /// ```
    pub fn new(name: impl Into<String>, version: impl Into<String>, description: impl Into<String>) -> Self {
        Self { name: name.into(), version: version.into(), description: description.into(), ..Self::default() }
    }
    /// Add an action.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::{Action, Manifest};
    ///
    /// let manifest = Manifest::new("crm", "1.0.0", "A CRM")
    ///     .action(Action::new("create_contact", "Create a contact"))
    ///     .action(Action::new("delete_contact", "Delete a contact"));
    /// let names: Vec<&str> = manifest.actions.iter().map(|a| a.name.as_str()).collect();
    /// assert_eq!(names, ["create_contact", "delete_contact"]);
    /// ```
    pub fn action(mut self, action: Action) -> Self {
        self.actions.push(action);
        self
    }
    /// Add a trigger.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::{Manifest, Trigger};
    ///
    /// let manifest = Manifest::new("shop", "1.0.0", "A shop")
    ///     .trigger(Trigger::webhook("order_paid", "An order was paid").events(&["order.paid"]));
    /// assert_eq!(manifest.triggers[0].name, "order_paid");
    /// assert_eq!(manifest.triggers[0].polling, None);
    /// ```
    pub fn trigger(mut self, trigger: Trigger) -> Self {
        self.triggers.push(trigger);
        self
    }
    /// A plain (non-secret) setting, which a connection is refused without
    /// when `required`. Read it in the plugin with
    /// [`config::setting`](crate::config::setting).
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::Manifest;
    ///
    /// let manifest = Manifest::new("crm", "1.0.0", "A CRM").setting("base_url", "The API's base URL", true);
    /// let setting = &manifest.settings[0];
    /// assert_eq!(setting.name, "base_url");
    /// assert!(setting.required && !setting.secret);
    /// ```
    pub fn setting(mut self, name: impl Into<String>, description: impl Into<String>, required: bool) -> Self {
        self.settings.push(Setting { name: name.into(), description: description.into(), secret: false, required });
        self
    }
    /// A secret (an API key, a token, a signing secret), which a connection is
    /// refused without when `required`. Read it in the plugin with
    /// [`config::secret`](crate::config::secret).
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::Manifest;
    ///
    /// let manifest = Manifest::new("crm", "1.0.0", "A CRM").secret("api_key", "Your API key", true);
    /// let setting = &manifest.settings[0];
    /// assert_eq!(setting.name, "api_key");
    /// assert!(setting.required && setting.secret);
    /// ```
    pub fn secret(mut self, name: impl Into<String>, description: impl Into<String>, required: bool) -> Self {
        self.settings.push(Setting { name: name.into(), description: description.into(), secret: true, required });
        self
    }
    /// A host the connector wants to reach (`api.example.com`, `*.example.com`, `host:port`).
    ///
    /// Asking is not having: the operator grants hosts to each connection, and
    /// the host refuses requests to any other.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::Manifest;
    ///
    /// let manifest = Manifest::new("crm", "1.0.0", "A CRM").host("api.crm.example").host("*.files.crm.example");
    /// assert_eq!(manifest.hosts, ["api.crm.example", "*.files.crm.example"]);
    /// ```
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.hosts.push(host.into());
        self
    }
    /// Let the host run OAuth 2.0 for connections given an OAuth client: it
    /// keeps and refreshes the tokens and adds them to requests to the
    /// token's hosts, so the plugin sends its requests without credentials.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::{Manifest, OAuth2};
    ///
    /// let manifest = Manifest::new("crm", "1.0.0", "A CRM").host("api.crm.example").oauth2(
    ///     OAuth2::authorization_code("https://crm.example/oauth/authorize", "https://crm.example/oauth/token")
    ///         .scopes(&["contacts.read", "contacts.write"])
    ///         .host("api.crm.example"),
    /// );
    /// assert!(manifest.oauth2.is_some());
    /// ```
    pub fn oauth2(mut self, oauth2: OAuth2) -> Self {
        self.oauth2 = Some(oauth2);
        self
    }
}

/// How the connector's application hands out OAuth 2.0 tokens; see the
/// `oauth` interface in `wit/plugin.wit`.
///
/// Declare it with [`Manifest::oauth2`]. For a connection given an OAuth
/// client, the host runs the grant, keeps and refreshes the tokens, and adds
/// the token to the plugin's requests to the hosts named with
/// [`host`](OAuth2::host); the plugin never sees the token, the client secret
/// or the refresh token. A connection without an OAuth client is not touched.
///
/// # Examples
///
/// ```
/// use weft_sdk::{Manifest, OAuth2};
///
/// let github = OAuth2::authorization_code(
///     "https://github.com/login/oauth/authorize",
///     "https://github.com/login/oauth/access_token",
/// )
/// .scopes(&["repo"])
/// .host("api.github.com")
/// .credentials_in_body();
///
/// let manifest = Manifest::new("github", "1.0.0", "GitHub repositories").host("api.github.com").oauth2(github);
/// assert!(manifest.oauth2.is_some());
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
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::OAuth2;
    ///
    /// let oauth = OAuth2::authorization_code("https://crm.example/oauth/authorize", "https://crm.example/oauth/token")
    ///     .host("api.crm.example");
    /// # let _ = oauth;
    /// ```
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
    /// The client-credentials grant (machine to machine): no one signs in; the
    /// host asks the token URL for a token with the OAuth client's id and secret.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::OAuth2;
    ///
    /// let oauth = OAuth2::client_credentials("https://auth.billing.example/oauth/token")
    ///     .scopes(&["invoices.read"])
    ///     .host("api.billing.example");
    /// # let _ = oauth;
    /// ```
    pub fn client_credentials(token_url: impl Into<String>) -> Self {
        Self { client_credentials: true, ..Self::authorization_code("", token_url) }
    }
    /// Scopes to ask for; each call adds to those given before.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::OAuth2;
    ///
    /// let oauth = OAuth2::authorization_code("https://crm.example/oauth/authorize", "https://crm.example/oauth/token")
    ///     .scopes(&["contacts.read", "contacts.write"]);
    /// # let _ = oauth;
    /// ```
    pub fn scopes(mut self, scopes: &[&str]) -> Self {
        self.scopes.extend(scopes.iter().map(|s| s.to_string()));
        self
    }
    /// A host the token is sent to (`api.example.com`, `*.example.com`, `host:port`).
    ///
    /// The host adds the token only to requests to these hosts. A request to
    /// them still needs the connection's grant, like any other: name them
    /// with [`Manifest::host`] too.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::{Manifest, OAuth2};
    ///
    /// let manifest = Manifest::new("crm", "1.0.0", "A CRM").host("api.crm.example").oauth2(
    ///     OAuth2::authorization_code("https://crm.example/oauth/authorize", "https://crm.example/oauth/token")
    ///         .host("api.crm.example"),
    /// );
    /// # let _ = manifest;
    /// ```
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.hosts.push(host.into());
        self
    }
    /// Send the token as `name: <prefix><token>` instead of `authorization: Bearer <token>`.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::OAuth2;
    ///
    /// // Requests then carry `x-api-token: <token>`.
    /// let oauth = OAuth2::authorization_code("https://crm.example/oauth/authorize", "https://crm.example/oauth/token")
    ///     .header("x-api-token", "");
    /// # let _ = oauth;
    /// ```
    pub fn header(mut self, name: impl Into<String>, prefix: impl Into<String>) -> Self {
        self.header = Some((name.into(), prefix.into()));
        self
    }
    /// Turn PKCE off, for an application that refuses it.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::OAuth2;
    ///
    /// let oauth = OAuth2::authorization_code("https://legacy.example/authorize", "https://legacy.example/token")
    ///     .without_pkce();
    /// # let _ = oauth;
    /// ```
    pub fn without_pkce(mut self) -> Self {
        self.pkce = false;
        self
    }
    /// Send the client id and secret in the token request's body rather than
    /// with HTTP Basic authentication.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::OAuth2;
    ///
    /// let oauth = OAuth2::authorization_code(
    ///     "https://github.com/login/oauth/authorize",
    ///     "https://github.com/login/oauth/access_token",
    /// )
    /// .credentials_in_body();
    /// # let _ = oauth;
    /// ```
    pub fn credentials_in_body(mut self) -> Self {
        self.credentials_in_body = true;
        self
    }
    /// An extra query parameter for the authorization URL (`access_type=offline`).
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::OAuth2;
    ///
    /// let google = OAuth2::authorization_code(
    ///     "https://accounts.google.com/o/oauth2/v2/auth",
    ///     "https://oauth2.googleapis.com/token",
    /// )
    /// .scopes(&["https://www.googleapis.com/auth/calendar.readonly"])
    /// .authorization_param("access_type", "offline")
    /// .authorization_param("prompt", "consent")
    /// .host("www.googleapis.com");
    /// # let _ = google;
    /// ```
    pub fn authorization_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }
}

/// One action of a connector.
///
/// A flow's step names it (`crm.create_contact`); the host validates the
/// step's input against [`input_schema`](Action::input_schema) before
/// [`Connector::invoke`] runs it.
///
/// # Examples
///
/// ```
/// use weft_sdk::{Action, json};
///
/// let action = Action::new("create_contact", "Create a contact")
///     .input_schema(json!({
///         "type": "object",
///         "required": ["email"],
///         "properties": { "email": { "type": "string", "format": "email" }, "name": { "type": "string" } }
///     }))
///     .output_schema(json!({ "type": "object", "required": ["id"], "properties": { "id": { "type": "integer" } } }));
/// assert_eq!(action.name, "create_contact");
/// assert_eq!(action.output_schema["required"], json!(["id"]));
/// ```
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
    /// An action whose input is any JSON object and whose output is any JSON
    /// value until schemas are set.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::{Action, json};
    ///
    /// let action = Action::new("ping", "Check that the API answers");
    /// assert_eq!(action.input_schema, json!({ "type": "object" }));
    /// assert_eq!(action.output_schema, json!({}));
    /// ```
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            input_schema: serde_json::json!({ "type": "object" }),
            output_schema: serde_json::json!({}),
        }
    }
    /// Set the JSON Schema of the input.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::{Action, json};
    ///
    /// let schema = json!({ "type": "object", "required": ["city"], "properties": { "city": { "type": "string" } } });
    /// let action = Action::new("current", "The current weather in a city").input_schema(schema.clone());
    /// assert_eq!(action.input_schema, schema);
    /// ```
    pub fn input_schema(mut self, schema: Value) -> Self {
        self.input_schema = schema;
        self
    }
    /// Set the JSON Schema of the output.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::{Action, json};
    ///
    /// let schema = json!({ "type": "object", "properties": { "temperature": { "type": "number" } } });
    /// let action = Action::new("current", "The current weather in a city").output_schema(schema.clone());
    /// assert_eq!(action.output_schema, schema);
    /// ```
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.output_schema = schema;
        self
    }
}

/// How the host finds new records among those a poll returns.
///
/// The host applies it to the [`Event`]s [`Connector::poll`] returns, so a
/// flow starts one run per new record even when a poll returns records it has
/// seen before.
///
/// # Examples
///
/// ```
/// use weft_sdk::{PollingStrategy, Trigger};
///
/// // Records with an `updatedAt` date-time: set each event's `timestamp`.
/// let updated = Trigger::polling("updated_contact", "A contact changed", PollingStrategy::Timestamp);
/// assert_eq!(updated.polling, Some(PollingStrategy::Timestamp));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollingStrategy {
    /// Records carry a date-time; the cursor is the latest seen.
    Timestamp,
    /// Records carry an increasing id; the cursor is the greatest seen.
    IncreasingId,
    /// Nothing to filter on: the host remembers the ids it has seen.
    Dedupe,
}

/// One trigger of a connector: how a flow notices new events in the
/// application.
///
/// A polling trigger ([`Trigger::polling`]) is served by [`Connector::poll`];
/// a webhook trigger ([`Trigger::webhook`]) by [`Connector::subscribe`],
/// [`Connector::unsubscribe`] and [`Connector::handle_webhook`].
///
/// # Examples
///
/// ```
/// use weft_sdk::{PollingStrategy, Trigger, json};
///
/// let trigger = Trigger::polling("new_order", "An order was placed", PollingStrategy::IncreasingId)
///     .config_schema(json!({ "type": "object", "properties": { "store": { "type": "string" } } }))
///     .output_schema(json!({ "type": "object", "required": ["id", "total"] }));
/// assert_eq!(trigger.polling, Some(PollingStrategy::IncreasingId));
/// assert!(trigger.events.is_empty());
/// ```
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
    ///
    /// Its configuration may be any JSON object and its events any JSON value
    /// until schemas are set.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::{Trigger, json};
    ///
    /// let trigger = Trigger::webhook("repository_event", "Events in a repository");
    /// assert_eq!(trigger.polling, None);
    /// assert_eq!(trigger.config_schema, json!({ "type": "object" }));
    /// ```
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
    /// A polling trigger: the host calls [`Connector::poll`] at an interval.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::{PollingStrategy, Trigger};
    ///
    /// let trigger = Trigger::polling("new_record", "Records created since the last poll", PollingStrategy::IncreasingId);
    /// assert_eq!(trigger.polling, Some(PollingStrategy::IncreasingId));
    /// ```
    pub fn polling(name: impl Into<String>, description: impl Into<String>, strategy: PollingStrategy) -> Self {
        Self { polling: Some(strategy), ..Self::webhook(name, description) }
    }
    /// Event names the trigger can subscribe to; they are passed to
    /// [`Connector::subscribe`]. Replaces any names set before.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::Trigger;
    ///
    /// let trigger = Trigger::webhook("repository_event", "Events in a repository").events(&["issues", "push"]);
    /// assert_eq!(trigger.events, ["issues", "push"]);
    /// ```
    pub fn events(mut self, events: &[&str]) -> Self {
        self.events = events.iter().map(|e| e.to_string()).collect();
        self
    }
    /// Set the JSON Schema of the trigger's configuration.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::{PollingStrategy, Trigger, json};
    ///
    /// let schema = json!({ "type": "object", "required": ["collection"], "properties": { "collection": { "type": "string" } } });
    /// let trigger = Trigger::polling("new_record", "New records", PollingStrategy::IncreasingId).config_schema(schema.clone());
    /// assert_eq!(trigger.config_schema, schema);
    /// ```
    pub fn config_schema(mut self, schema: Value) -> Self {
        self.config_schema = schema;
        self
    }
    /// Set the JSON Schema of one event's payload.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::{Trigger, json};
    ///
    /// let schema = json!({ "type": "object", "required": ["event", "delivery"] });
    /// let trigger = Trigger::webhook("repository_event", "Events in a repository").output_schema(schema.clone());
    /// assert_eq!(trigger.output_schema, schema);
    /// ```
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.output_schema = schema;
        self
    }
}

/// A setting or secret a connection needs.
///
/// Declared with [`Manifest::setting`] or [`Manifest::secret`]; read in the
/// plugin with [`config`](crate::config).
///
/// # Examples
///
/// ```
/// use weft_sdk::Manifest;
///
/// let manifest = Manifest::new("crm", "1.0.0", "A CRM")
///     .setting("base_url", "The API's base URL", false)
///     .secret("api_key", "Your API key", true);
/// let secrets: Vec<&str> = manifest.settings.iter().filter(|s| s.secret).map(|s| s.name.as_str()).collect();
/// assert_eq!(secrets, ["api_key"]);
/// ```
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
///
/// Returned in a [`PollResponse`] or a [`WebhookOutcome`]; each new one starts
/// a run of the flow with `payload` as the trigger's output.
///
/// # Examples
///
/// ```
/// use weft_sdk::{Event, json};
///
/// let record = json!({ "id": 42, "email": "ada@example.com", "updatedAt": "2025-01-31T09:30:00Z" });
/// let event = Event {
///     id: record["id"].to_string(),
///     timestamp: record["updatedAt"].as_str().map(String::from),
///     payload: record,
/// };
/// assert_eq!(event.id, "42");
/// assert_eq!(event.timestamp.as_deref(), Some("2025-01-31T09:30:00Z"));
/// ```
#[derive(Debug, Clone)]
pub struct Event {
    /// The record's id in the application.
    pub id: String,
    /// RFC 3339 date-time, for the timestamp strategy.
    pub timestamp: Option<String>,
    /// The event itself.
    pub payload: Value,
}

/// What a poll found; returned by [`Connector::poll`].
///
/// # Examples
///
/// ```
/// use weft_sdk::{Event, PollResponse, json};
///
/// let records = vec![json!({ "id": 7 }), json!({ "id": 9 })];
/// let events: Vec<Event> =
///     records.into_iter().map(|r| Event { id: r["id"].to_string(), timestamp: None, payload: r }).collect();
/// let response = PollResponse { next_cursor: events.last().map(|e| e.id.clone()), events };
/// assert_eq!(response.next_cursor.as_deref(), Some("9"));
///
/// // Nothing new: keep the cursor where it was.
/// let nothing = PollResponse { events: Vec::new(), next_cursor: Some("9".into()) };
/// assert!(nothing.events.is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct PollResponse {
    /// New records, oldest first.
    pub events: Vec<Event>,
    /// Saved by the host and passed to the next poll.
    pub next_cursor: Option<String>,
}

/// One incoming webhook request, raw; handed to [`Connector::handle_webhook`].
///
/// The body is exactly the bytes received, so a signature over it can be
/// checked (see [`signature`](crate::signature)).
///
/// # Examples
///
/// ```
/// use weft_sdk::{WebhookRequest, json, signature};
///
/// let body = br#"{"action":"opened"}"#.to_vec();
/// let request = WebhookRequest {
///     trigger: "repository_event".into(),
///     config: json!({ "owner": "octo", "repo": "hello" }),
///     method: "POST".into(),
///     path: "/".into(),
///     headers: vec![
///         ("x-github-event".into(), "issues".into()),
///         ("x-hub-signature-256".into(), format!("sha256={}", signature::hmac_sha256_hex(b"s3cret", &[&body]))),
///     ],
///     body,
/// };
///
/// let given = request.header("X-Hub-Signature-256").and_then(|v| v.strip_prefix("sha256=")).unwrap();
/// assert!(signature::verify_hmac_sha256_hex(b"s3cret", &[&request.body], given));
/// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::{WebhookRequest, json};
    ///
    /// let request = WebhookRequest {
    ///     trigger: "events".into(),
    ///     config: json!({}),
    ///     method: "POST".into(),
    ///     path: "/".into(),
    ///     headers: vec![("x-slack-request-timestamp".into(), "1700000000".into())],
    ///     body: Vec::new(),
    /// };
    /// assert_eq!(request.header("X-Slack-Request-Timestamp"), Some("1700000000"));
    /// assert_eq!(request.header("x-slack-signature"), None);
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A direct answer to a webhook request (handshakes, challenges).
///
/// Set it as [`WebhookOutcome::response`]; without one the host answers the
/// request itself.
///
/// # Examples
///
/// ```
/// use weft_sdk::{WebhookOutcome, WebhookResponse, json};
///
/// // Echo an application's URL verification challenge.
/// let body = json!({ "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" });
/// let response = WebhookResponse {
///     status: 200,
///     headers: vec![("content-type".into(), "application/json".into())],
///     body: body.to_string().into_bytes(),
/// };
/// let outcome = WebhookOutcome { events: Vec::new(), response: Some(response) };
/// assert_eq!(outcome.response.map(|r| r.status), Some(200));
/// ```
#[derive(Debug, Clone)]
pub struct WebhookResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Vec<u8>,
}

/// The events in a webhook request, and optionally a direct answer; returned by
/// [`Connector::handle_webhook`].
///
/// # Examples
///
/// ```
/// use weft_sdk::{Event, WebhookOutcome, json};
///
/// // A delivery that starts one run.
/// let outcome = WebhookOutcome {
///     events: vec![Event { id: "delivery-72d3".into(), timestamp: None, payload: json!({ "action": "opened" }) }],
///     response: None,
/// };
/// assert_eq!(outcome.events.len(), 1);
///
/// // A delivery that starts nothing (filtered out, say): the default.
/// let ignored = WebhookOutcome::default();
/// assert!(ignored.events.is_empty() && ignored.response.is_none());
/// ```
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
/// Call it once, at the top level of the plugin crate (a `cdylib` built for
/// `wasm32-wasip2`). It exports the `oauth-connector` world: the `connector`
/// world's functions, and `oauth`, which answers with the manifest's
/// [`OAuth2`] or `none`. A crate exports one world: it cannot also call
/// [`export_transform!`](crate::export_transform).
///
/// # Examples
///
/// ```standalone_crate
/// use weft_sdk::{Action, CallContext, Connector, Error, Manifest, Result, Value, json};
///
/// struct Echo;
///
/// impl Connector for Echo {
///     fn describe() -> Manifest {
///         Manifest::new("echo", "1.0.0", "Returns its input").action(Action::new("echo", "Return the input"))
///     }
///
///     fn invoke(action: &str, input: Value, _ctx: &CallContext) -> Result<Value> {
///         match action {
///             "echo" => Ok(json!({ "input": input })),
///             other => Err(Error::invalid_input(format!("unknown action {other:?}"))),
///         }
///     }
/// }
///
/// weft_sdk::export_connector!(Echo);
/// # assert_eq!(Echo::describe().name, "echo");
/// ```
#[macro_export]
macro_rules! export_connector {
    ($connector:ty) => {
        #[doc(hidden)]
        type __WeftConnectorExport = $crate::connector::Export<$connector>;
        $crate::connector::bindings::__weft_export_connector_world!(__WeftConnectorExport);
    };
}
