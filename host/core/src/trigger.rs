//! Triggers as the store and the plugins see them: each flow's trigger record
//! (active, webhook token, subscription), poll states, and the traits through
//! which the trigger engine reaches storage ([`TriggerStore`]) and connectors
//! ([`TriggerPlugins`]).

use crate::catalog::Catalog;
use crate::model::ConnectorTriggerDef;
use crate::plugin::{PollResponse, WebhookOutcome, WebhookRequest};
use crate::run::{BoxFuture, RunRecord, StoreResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::VecDeque;

/// The trigger state of one flow, kept while the flow exists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TriggerRecord {
    pub flow: String,
    pub active: bool,
    /// The secret part of the flow's webhook URL; kept across deactivation so
    /// a URL pasted into an application by hand stays valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<Subscription>,
    /// The last problem with this trigger (a failed subscribe or poll).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the flow was last activated (ms).
    #[serde(default)]
    pub activated_ms: u64,
    /// A webhook flow that could not be subscribed polls its `fallback_poll` trigger instead.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub polling_fallback: bool,
}

/// What `subscribe` returned, and what it was for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    /// URL, events, config, connection and trigger the subscription was made for.
    pub key: String,
    /// The connector's state for `unsubscribe`; `null` when the application
    /// has no hook API and the user pastes the URL by hand.
    pub state: Value,
    /// The trigger it was made with (connector, trigger, connection, config),
    /// so it is removed with the same, whatever the flow says now.
    pub made_with: ConnectorTriggerDef,
}

impl Subscription {
    pub fn is_manual(&self) -> bool {
        self.state.is_null()
    }
}

/// Where trigger records and poll states live. The store crates implement it.
pub trait TriggerStore: Send + Sync + 'static {
    fn trigger(&self, flow: &str) -> StoreResult<Option<TriggerRecord>>;
    fn triggers(&self) -> StoreResult<Vec<TriggerRecord>>;
    /// Save the record and index its hook token.
    fn put_trigger(&self, record: &TriggerRecord) -> StoreResult<()>;
    /// Remove the record, its hook token and its poll state.
    fn delete_trigger(&self, flow: &str) -> StoreResult<()>;
    /// The flow a hook token belongs to.
    fn hook(&self, token: &str) -> StoreResult<Option<String>>;
    fn poll_state(&self, flow: &str) -> StoreResult<Option<PollState>>;
    fn delete_poll_state(&self, flow: &str) -> StoreResult<()>;
    /// Queue `runs` and save `state` (when given), in one transaction. After
    /// [`TriggerStore::claim_tick`], this is the tick's commit: it fails,
    /// writing nothing, when the node no longer holds the flow's tick.
    fn record_events(&self, flow: &str, state: Option<&PollState>, runs: &[RunRecord]) -> StoreResult<()>;

    /// Take the right to poll or fire `flow` (or re-check its subscription)
    /// now; `false` when another node of a shared store holds it. Held until
    /// the tick's [`TriggerStore::record_events`] or
    /// [`TriggerStore::release_tick`], or until a lease runs out; the commit
    /// of a node that lost it is refused, so an event is never emitted twice.
    /// A store of one process has nobody to keep out: the default takes every tick.
    fn claim_tick(&self, _flow: &str) -> StoreResult<bool> {
        Ok(true)
    }

    /// Let go of `flow`'s tick (nothing, when it is not held).
    fn release_tick(&self, _flow: &str) -> StoreResult<()> {
        Ok(())
    }
}

/// One call of a connector's trigger.
#[derive(Debug, Clone, Copy)]
pub struct TriggerCall<'a> {
    pub connector: &'a str,
    pub version: Option<&'a str>,
    pub trigger: &'a str,
    pub connection: &'a str,
    pub config: &'a Value,
}

/// Why a trigger call failed, by what the caller should do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TriggerError {
    /// The request or configuration is wrong (a webhook answers 400).
    #[error("{0}")]
    Invalid(String),
    /// A signature or credential check failed (a webhook answers 401).
    #[error("{0}")]
    Unauthorized(String),
    /// The connector failed (a webhook answers 502).
    #[error("{0}")]
    Failed(String),
    /// The store could not be reached for what the call needs (a webhook answers 503).
    #[error("{0}")]
    Unavailable(String),
}

/// How triggers reach connectors. The `weft` binary's plugin registry
/// implements it over the sandbox.
pub trait TriggerPlugins: Catalog + Send + Sync + 'static {
    fn poll<'a>(
        &'a self,
        call: TriggerCall<'a>,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<PollResponse, TriggerError>>;
    fn subscribe<'a>(
        &'a self,
        call: TriggerCall<'a>,
        url: &'a str,
        events: &'a [String],
    ) -> BoxFuture<'a, Result<Value, TriggerError>>;
    fn unsubscribe<'a>(
        &'a self,
        call: TriggerCall<'a>,
        subscription: &'a Value,
    ) -> BoxFuture<'a, Result<(), TriggerError>>;
    fn webhook<'a>(
        &'a self,
        call: TriggerCall<'a>,
        request: &'a WebhookRequest,
    ) -> BoxFuture<'a, Result<WebhookOutcome, TriggerError>>;
}

/// What the host remembers between polls of one flow (or fires of one schedule).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PollState {
    /// What this state is for (connector, trigger, connection, config or the
    /// cron expression); a flow update that changes it starts a new seed.
    pub key: String,
    /// The connector's own cursor (`next-cursor` of the last poll).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Latest timestamp (RFC 3339), greatest id, or last schedule fire (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark: Option<String>,
    /// `timestamp`: ids emitted at exactly `mark`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub at_mark: Vec<String>,
    /// `dedupe`: ids seen, oldest first.
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    pub seen: VecDeque<String>,
    /// When the last poll or fire happened (ms since the epoch).
    pub last_ms: u64,
    /// Why the last poll failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The last poll found more new records than it could emit: poll again soon.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub more: bool,
}

impl PollState {
    /// The cursor to pass to the connector: its own, else the host's mark.
    pub fn cursor_for_connector(&self) -> Option<&str> {
        self.cursor.as_deref().or(self.mark.as_deref())
    }
}
