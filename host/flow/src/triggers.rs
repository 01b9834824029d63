//! Triggers: how events become runs.
//!
//! [`Triggers`] owns the life of each flow's trigger:
//! - **activation**: a webhook flow gets an unguessable URL (`/hooks/<token>`,
//!   128 random bits) and the connector's `subscribe` is called with it; a
//!   polling flow starts over with a seeding poll; a schedule starts from now.
//!   Deactivation and deletion call `unsubscribe`. At start-up, and whenever an
//!   active flow changes, each subscription is checked against what it should
//!   be (URL, events, config, connection) and redone when it differs.
//! - **webhook ingress** ([`Triggers::webhook`]): the connector's
//!   `handle-webhook` verifies the request and extracts events; the runs are
//!   persisted (one transaction, then a group-commit flush) before the answer.
//! - **polling and schedules** ([`Triggers::run`]): one loop finds what is due;
//!   each poll's runs and its new cursor are saved in one transaction, so a
//!   record is emitted once even across crashes (see [`super::polling`]).
//!
//! Like the rest of this crate, this names no wasmtime, sled or hyper type: it
//! reaches connectors through [`TriggerPlugins`] and storage through
//! [`TriggerStore`].

use super::engine::{Answer, ExecError, Executor};
use super::polling::{self, Schedule};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use weft_core::catalog::Catalog;
use weft_core::model::{ConnectorTriggerDef, TriggerDef};
use weft_core::plugin::{TriggerKind, TriggerSpec, WebhookRequest};
use weft_core::run::{Clock, RunRecord, RunStore, StoreFailure, StoredFlow};
use weft_core::trigger::{
    PollState, Subscription, TriggerCall, TriggerError, TriggerPlugins, TriggerRecord, TriggerStore,
};

/// Why a trigger operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    #[error("no flow named {0:?}")]
    UnknownFlow(String),
    #[error("flow {0:?} has a manual trigger: start its runs through the API or `weft flow run`")]
    Manual(String),
    #[error("flow {flow:?}: {message}")]
    Trigger { flow: String, message: String },
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error(transparent)]
    Store(#[from] StoreFailure),
}

/// An incoming request on a webhook URL.
#[derive(Debug, Clone)]
pub struct HookRequest {
    pub method: String,
    /// Path and query after `/hooks/<token>`.
    pub path: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What to answer a webhook request with.
#[derive(Debug, Clone, PartialEq)]
pub enum HookReply {
    /// No active flow has this URL (404).
    NotFound,
    /// Too many runs are waiting (429 with Retry-After, in seconds).
    Busy { retry_after_s: u64 },
    /// The request holds more events than weft could ever take at once (413).
    TooLarge(String),
    /// The connector refused the request.
    Rejected(TriggerError),
    /// The flow cannot run now (a plugin it needs is not installed): 503, so the sender retries.
    Unavailable(String),
    /// The connector's own answer (a handshake or a challenge).
    Direct { status: u16, headers: Vec<(String, String)>, body: Vec<u8> },
    /// The events are persisted as these runs (202).
    Accepted { runs: Vec<String> },
    /// The runs ran to the end (sync flows): their final records.
    Finished { runs: Vec<RunRecord> },
}

/// A `respond` step's `{status, headers, body}` as the webhook's answer:
/// text as it is (`text/plain` unless a header says otherwise), no body for
/// `null`, anything else as JSON. The run ids go in `x-weft-runs`.
fn responded(response: &Value, runs: &[String]) -> HookReply {
    let status = response["status"].as_u64().unwrap_or(200) as u16;
    let mut headers: Vec<(String, String)> = response["headers"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect();
    let typed = headers.iter().any(|(k, _)| k == "content-type");
    let (body, content_type) = match &response["body"] {
        Value::Null => (Vec::new(), None),
        Value::String(text) => (text.clone().into_bytes(), Some("text/plain; charset=utf-8")),
        other => (other.to_string().into_bytes(), Some("application/json")),
    };
    if let (Some(content_type), false) = (content_type, typed) {
        headers.push(("content-type".into(), content_type.into()));
    }
    headers.push(("x-weft-runs".into(), runs.join(",")));
    HookReply::Direct { status, headers, body }
}

/// A flow's trigger as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TriggerStatus {
    pub flow: String,
    pub kind: &'static str,
    pub active: bool,
    /// The webhook URL (webhook flows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// Whether the URL must be pasted into the application by hand.
    pub manual_subscription: bool,
    /// A webhook flow polling its `fallback_poll` trigger because it could not be subscribed.
    pub polling_fallback: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription: Option<Value>,
    /// Next poll or fire (ms), for active polling and schedule flows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll_state: Option<PollSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Plugins the flow names that are not installed: it starts no runs until they are back.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plugins_missing: Vec<String>,
}

/// What a flow's poll state says, without the seen-set itself.
#[derive(Debug, Clone, Serialize)]
pub struct PollSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Latest timestamp, greatest id or last schedule fire (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mark: Option<String>,
    /// Ids a `dedupe` trigger remembers.
    pub seen: usize,
    /// When the last poll or fire happened (ms).
    pub last_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The last poll found more new records than there was room for: the next poll comes soon.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub more: bool,
}

impl From<PollState> for PollSummary {
    fn from(s: PollState) -> Self {
        Self { cursor: s.cursor, mark: s.mark, seen: s.seen.len(), last_ms: s.last_ms, error: s.error, more: s.more }
    }
}

/// Settings of [`Triggers`].
#[derive(Debug, Clone)]
pub struct TriggerConfig {
    /// Where weft is reachable from the applications that call webhooks,
    /// e.g. `https://weft.example.com` (webhook URLs are `<base>/hooks/<token>`).
    pub public_url: String,
    /// Runs queued or executing beyond which webhooks answer 429 and polls wait.
    pub max_backlog: usize,
    /// Events one webhook request or one poll may turn into runs.
    pub max_events_per_request: usize,
    /// How long a sync webhook waits for its runs before answering 202.
    pub sync_timeout: Duration,
}

/// Runs triggers. Cheap to clone.
#[derive(Clone)]
pub struct Triggers {
    inner: Arc<Inner>,
}

struct Inner {
    executor: Executor,
    store: Arc<dyn TriggerStore>,
    plugins: Arc<dyn TriggerPlugins>,
    clock: Arc<dyn Clock>,
    config: TriggerConfig,
    /// Flows with a poll or fire in progress (one at a time per flow).
    busy: Mutex<HashSet<String>>,
    /// Serialises activation changes of a flow against each other.
    changing: tokio::sync::Mutex<()>,
    notify: Notify,
    /// Runs being created right now, counted against the backlog before they are in it.
    admitting: AtomicUsize,
}

/// Room for `n` runs in the backlog, held from the check until they are stored.
struct Admission<'a> {
    admitting: &'a AtomicUsize,
    n: usize,
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.admitting.fetch_sub(self.n, AtomicOrdering::SeqCst);
    }
}

/// 128 random bits from the OS, as 32 hex digits.
pub fn new_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn getrandom(bytes: &mut [u8]) {
    getrandom::fill(bytes).expect("the OS random number generator");
}

fn key_of(value: Value) -> String {
    value.to_string()
}

/// The spec of the connector trigger a flow uses.
fn spec_of(plugins: &dyn Catalog, t: &ConnectorTriggerDef) -> Option<TriggerSpec> {
    let (name, version) = super::validate::split_version(&t.connector);
    plugins.connector(name, version)?.triggers.into_iter().find(|s| s.name == t.trigger)
}

fn call_of(t: &ConnectorTriggerDef) -> TriggerCall<'_> {
    let (connector, version) = super::validate::split_version(&t.connector);
    TriggerCall { connector, version, trigger: &t.trigger, connection: &t.connection, config: &t.config }
}

fn poll_key(t: &ConnectorTriggerDef) -> String {
    let (connector, _) = super::validate::split_version(&t.connector);
    key_of(json!(["poll", connector, t.trigger, t.connection, t.config]))
}

fn schedule_key(cron: &str, timezone: Option<&str>) -> String {
    key_of(json!(["schedule", cron, timezone]))
}

/// How soon a poll that left new records for later polls again (or its
/// interval, when that is shorter).
const CATCH_UP: Duration = Duration::from_secs(5);

/// A polling interval with ±10% jitter, fixed per flow and poll so a
/// recomputed due time does not move.
fn jittered(interval: Duration, flow: &str, last_ms: u64) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (flow, last_ms).hash(&mut hasher);
    let fraction = (hasher.finish() % 2001) as f64 / 1000.0 - 1.0; // -1.0 ..= 1.0
    let ms = interval.as_millis() as f64;
    (ms + ms * 0.1 * fraction).max(1.0) as u64
}

fn interval_of(t: &ConnectorTriggerDef) -> Duration {
    t.interval.as_deref().and_then(|i| humantime::parse_duration(i).ok()).unwrap_or(Duration::from_secs(300))
}

/// The polling trigger a flow polls: its own, or a webhook flow's fallback.
fn polling_of(def: &TriggerDef, record: &TriggerRecord) -> Option<ConnectorTriggerDef> {
    match def {
        TriggerDef::Polling(t) => Some(t.clone()),
        TriggerDef::Webhook(t) if record.polling_fallback => Some(ConnectorTriggerDef {
            trigger: t.fallback_poll.clone()?,
            events: Vec::new(),
            sync: false,
            ..t.clone()
        }),
        _ => None,
    }
}

impl Triggers {
    pub fn new(
        executor: Executor,
        store: Arc<dyn TriggerStore>,
        plugins: Arc<dyn TriggerPlugins>,
        clock: Arc<dyn Clock>,
        config: TriggerConfig,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                executor,
                store,
                plugins,
                clock,
                config,
                busy: Mutex::default(),
                changing: tokio::sync::Mutex::new(()),
                notify: Notify::new(),
                admitting: AtomicUsize::new(0),
            }),
        }
    }

    pub fn executor(&self) -> &Executor {
        &self.inner.executor
    }

    fn runs(&self) -> &Arc<dyn RunStore> {
        self.inner.executor.store()
    }

    fn current(&self, flow: &str) -> Result<Arc<StoredFlow>, ActivationError> {
        self.runs().flow(flow)?.ok_or_else(|| ActivationError::UnknownFlow(flow.to_string()))
    }

    /// The URL of a hook token.
    pub fn hook_url(&self, token: &str) -> String {
        format!("{}/hooks/{token}", self.inner.config.public_url.trim_end_matches('/'))
    }

    /// Activate `flow`: mint its webhook URL and subscribe, or start polling
    /// (seeding first) or its schedule.
    pub async fn activate(&self, flow: &str) -> Result<TriggerStatus, ActivationError> {
        let _one = self.inner.changing.lock().await;
        let stored = self.current(flow)?;
        // The flow must be runnable (its plugins and connections exist).
        self.inner.executor.check(&stored)?;
        let now = self.inner.clock.now_ms();
        let mut record = self
            .inner
            .store
            .trigger(flow)?
            .unwrap_or_else(|| TriggerRecord { flow: flow.to_string(), ..TriggerRecord::default() });
        let was_active = record.active;
        match &stored.def.trigger {
            TriggerDef::Manual => return Err(ActivationError::Manual(flow.to_string())),
            TriggerDef::Webhook(t) => {
                if record.hook_token.is_none() {
                    record.hook_token = Some(new_token());
                    // Index the token before the application learns it.
                    self.inner.store.put_trigger(&record)?;
                }
                let result = self.sync_subscription(&mut record, t).await;
                let message = result.as_ref().err().cloned();
                self.choose_fallback(&mut record, t, result).map_err(|message| {
                    let _ = self.inner.store.put_trigger(&record);
                    ActivationError::Trigger { flow: flow.to_string(), message }
                })?;
                record.error = message.map(|m| format!("{m}; polling {:?} instead", t.fallback_poll));
            }
            TriggerDef::Polling(_) | TriggerDef::Schedule(_) => {
                if !was_active {
                    // A new activation seeds again: no flood of what happened while inactive.
                    self.inner.store.delete_poll_state(flow)?;
                }
            }
        }
        record.active = true;
        if !matches!(stored.def.trigger, TriggerDef::Webhook(_)) {
            record.error = None;
        }
        if !was_active {
            record.activated_ms = now;
        }
        self.inner.store.put_trigger(&record)?;
        self.runs().flush().await?;
        self.inner.notify.notify_one();
        self.status(flow)
    }

    /// Deactivate `flow`: unsubscribe its webhook, stop polling. Returns a
    /// warning when the application could not be told.
    pub async fn deactivate(&self, flow: &str) -> Result<Option<String>, ActivationError> {
        let _one = self.inner.changing.lock().await;
        let Some(mut record) = self.inner.store.trigger(flow)? else { return Ok(None) };
        let warning = self.drop_subscription(&mut record).await;
        record.active = false;
        record.polling_fallback = false;
        record.error = warning.clone();
        self.inner.store.put_trigger(&record)?;
        self.runs().flush().await?;
        self.inner.notify.notify_one();
        Ok(warning)
    }

    /// Forget `flow`'s trigger (after unsubscribing); used when the flow is deleted.
    pub async fn remove(&self, flow: &str) -> Result<Option<String>, ActivationError> {
        let _one = self.inner.changing.lock().await;
        let Some(mut record) = self.inner.store.trigger(flow)? else { return Ok(None) };
        let warning = self.drop_subscription(&mut record).await;
        self.inner.store.delete_trigger(flow)?;
        self.runs().flush().await?;
        self.inner.notify.notify_one();
        Ok(warning)
    }

    /// After a flow changed: bring an active flow's subscription in line with
    /// its new definition. Poll states follow by their key.
    pub async fn refresh(&self, flow: &str) -> Result<(), ActivationError> {
        let _one = self.inner.changing.lock().await;
        self.recheck(flow).await
    }

    /// At start-up: re-check every active flow's subscription. Returns how
    /// many active flows were checked, and the problems (flow, message).
    pub async fn recheck_all(&self) -> (usize, Vec<(String, String)>) {
        let _one = self.inner.changing.lock().await;
        let mut problems = Vec::new();
        let records = match self.inner.store.triggers() {
            Ok(r) => r,
            Err(e) => return (0, vec![(String::new(), e.to_string())]),
        };
        let active: Vec<TriggerRecord> = records.into_iter().filter(|r| r.active).collect();
        for record in &active {
            // Nodes starting together: one re-checks (and subscribes), the others leave it to it.
            match self.inner.store.claim_tick(&record.flow) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    problems.push((record.flow.clone(), e.to_string()));
                    continue;
                }
            }
            if let Err(e) = self.recheck(&record.flow).await {
                problems.push((record.flow.clone(), e.to_string()));
            }
            if let Err(e) = self.inner.store.release_tick(&record.flow) {
                problems.push((record.flow.clone(), e.to_string()));
            }
        }
        (active.len(), problems)
    }

    async fn recheck(&self, flow: &str) -> Result<(), ActivationError> {
        let Some(mut record) = self.inner.store.trigger(flow)? else { return Ok(()) };
        if !record.active {
            return Ok(());
        }
        let stored = self.current(flow)?;
        let result = match &stored.def.trigger {
            TriggerDef::Webhook(t) => {
                if record.hook_token.is_none() {
                    record.hook_token = Some(new_token());
                    self.inner.store.put_trigger(&record)?;
                }
                let result = self.sync_subscription(&mut record, t).await;
                self.choose_fallback(&mut record, t, result)
            }
            _ => {
                // No longer a webhook flow: let the application stop calling.
                match self.drop_subscription(&mut record).await {
                    Some(w) => Err(w),
                    None => Ok(()),
                }
            }
        };
        record.error = result.as_ref().err().cloned();
        self.inner.store.put_trigger(&record)?;
        self.runs().flush().await?;
        self.inner.notify.notify_one();
        result.map_err(|message| ActivationError::Trigger { flow: flow.to_string(), message })
    }

    /// After a subscription attempt: poll the flow's `fallback_poll` trigger
    /// instead when the application has no hook API or refused, if the flow
    /// has one (a switch into polling seeds afresh). Err when there is no way in.
    fn choose_fallback(
        &self,
        record: &mut TriggerRecord,
        t: &ConnectorTriggerDef,
        subscribed: Result<(), String>,
    ) -> Result<(), String> {
        let cannot = match &subscribed {
            Err(_) => true,
            Ok(()) => record.subscription.as_ref().is_some_and(Subscription::is_manual),
        };
        let fallback = cannot && t.fallback_poll.is_some();
        if fallback
            && !record.polling_fallback
            && let Err(e) = self.inner.store.delete_poll_state(&record.flow)
        {
            return Err(e.to_string());
        }
        record.polling_fallback = fallback;
        if fallback { Ok(()) } else { subscribed }
    }

    /// Subscribe (again) when the stored subscription is missing or was made
    /// for something else.
    async fn sync_subscription(&self, record: &mut TriggerRecord, t: &ConnectorTriggerDef) -> Result<(), String> {
        let token = record.hook_token.clone().expect("a webhook flow has a token");
        let url = self.hook_url(&token);
        let spec = spec_of(self.inner.plugins.as_ref(), t)
            .ok_or_else(|| format!("connector {:?} has no trigger {:?}", t.connector, t.trigger))?;
        if spec.kind != TriggerKind::Webhook {
            return Err(format!("trigger {:?} is not a webhook trigger", t.trigger));
        }
        let events = if t.events.is_empty() { spec.events.clone() } else { t.events.clone() };
        let (connector, _) = super::validate::split_version(&t.connector);
        let key = key_of(json!([url, connector, t.trigger, t.connection, t.config, events]));
        if record.subscription.as_ref().is_some_and(|s| s.key == key) {
            return Ok(());
        }
        if let Some(warning) = self.drop_subscription(record).await {
            tracing::warn!(flow = %record.flow, %warning, "could not remove the old subscription");
        }
        let state = self
            .inner
            .plugins
            .subscribe(call_of(t), &url, &events)
            .await
            .map_err(|e| format!("subscribing the webhook URL with {:?} failed: {e}", t.connector))?;
        record.subscription = Some(Subscription { key, state, made_with: t.clone() });
        Ok(())
    }

    /// Unsubscribe; a failure is returned as a warning (the subscription is
    /// forgotten either way: its URL no longer leads anywhere).
    async fn drop_subscription(&self, record: &mut TriggerRecord) -> Option<String> {
        let subscription = record.subscription.take()?;
        if subscription.is_manual() {
            return None;
        }
        let t = &subscription.made_with;
        match self.inner.plugins.unsubscribe(call_of(t), &subscription.state).await {
            Ok(()) => None,
            Err(e) => Some(format!("unsubscribing from {:?} failed: {e}; remove the hook by hand", t.connector)),
        }
    }

    /// The trigger of `flow` as the API shows it.
    pub fn status(&self, flow: &str) -> Result<TriggerStatus, ActivationError> {
        let stored = self.current(flow)?;
        let record = self.inner.store.trigger(flow)?.unwrap_or_default();
        let poll_state = self.inner.store.poll_state(flow)?;
        let kind = match &stored.def.trigger {
            TriggerDef::Manual => "manual",
            TriggerDef::Webhook(_) => "webhook",
            TriggerDef::Polling(_) => "polling",
            TriggerDef::Schedule(_) => "schedule",
        };
        let webhook_url = match &stored.def.trigger {
            TriggerDef::Webhook(_) => record.hook_token.as_deref().map(|t| self.hook_url(t)),
            _ => None,
        };
        let next_ms = if record.active { self.due(&stored, &record, poll_state.as_ref()) } else { None };
        Ok(TriggerStatus {
            flow: flow.to_string(),
            kind,
            active: record.active,
            manual_subscription: !record.polling_fallback
                && record.subscription.as_ref().is_some_and(Subscription::is_manual),
            polling_fallback: record.polling_fallback,
            subscription: record.subscription.map(|s| s.state).filter(|s| !s.is_null()),
            webhook_url,
            next_ms,
            poll_state: poll_state.map(PollSummary::from),
            error: record.error,
            plugins_missing: self.inner.executor.missing_plugins(&stored),
        })
    }

    // ---- webhooks -------------------------------------------------------------------------------

    /// Handle a request on `/hooks/<token>`.
    pub async fn webhook(&self, token: &str, request: HookRequest) -> Result<HookReply, ActivationError> {
        let inner = &self.inner;
        let Some(flow) = inner.store.hook(token)? else { return Ok(HookReply::NotFound) };
        // A flow that polls instead does not listen: events would arrive twice.
        if !inner.store.trigger(&flow)?.is_some_and(|r| r.active && !r.polling_fallback) {
            return Ok(HookReply::NotFound);
        }
        let stored = self.current(&flow)?;
        let TriggerDef::Webhook(t) = &stored.def.trigger else { return Ok(HookReply::NotFound) };
        if let Err(e) = inner.executor.runnable(&stored) {
            return Ok(HookReply::Unavailable(e.to_string()));
        }
        if self.runs().backlog()? >= inner.config.max_backlog {
            return Ok(HookReply::Busy { retry_after_s: 1 });
        }
        let raw = WebhookRequest {
            trigger: t.trigger.clone(),
            config: t.config.clone(),
            method: request.method,
            path: request.path,
            headers: request.headers,
            body: request.body,
        };
        let outcome = match inner.plugins.webhook(call_of(t), &raw).await {
            Ok(outcome) => outcome,
            Err(e) => return Ok(HookReply::Rejected(e)),
        };
        // The events count against the backlog before any run is created: a
        // delivery that does not fit is refused whole.
        let n = outcome.events.len();
        let (cap, max_backlog) = (inner.config.max_events_per_request, inner.config.max_backlog);
        if n > cap {
            return Ok(HookReply::TooLarge(format!(
                "this request holds {n} events; weft takes at most {cap} per request (--max-events-per-request): \
                 send them in smaller batches"
            )));
        }
        if n > max_backlog {
            return Ok(HookReply::TooLarge(format!(
                "this request holds {n} events, more than weft ever queues at once ({max_backlog}, --max-backlog): \
                 send them in smaller batches"
            )));
        }
        let Some(admitted) = self.admit(n)? else { return Ok(HookReply::Busy { retry_after_s: 1 }) };
        let runs = self.inner.executor.prepare_runs(&stored, outcome.events.into_iter().map(|e| e.payload));
        // A sync answer waits for the runs' ends (or a `respond` step), and a
        // run's end is synced before it is reported: that sync covers the
        // events too (as does any action's, which always comes first). A
        // respond step's answer and every other answer sync here.
        let answer_waits = t.sync && outcome.response.is_none();
        // Listening before the runs start, so an early answer is not missed.
        let answers: Vec<_> =
            if answer_waits { runs.iter().map(|r| inner.executor.answer(&r.id)).collect() } else { Vec::new() };
        if !runs.is_empty() {
            inner.store.record_events(&flow, None, &runs)?;
            // In the backlog now: the room held for them is given back.
            drop(admitted);
            if !answer_waits {
                self.runs().flush().await?;
            }
            inner.executor.submit(&runs);
        }
        if let Some(r) = outcome.response {
            return Ok(HookReply::Direct { status: r.status, headers: r.headers, body: r.body });
        }
        let ids: Vec<String> = runs.into_iter().map(|r| r.id).collect();
        if !t.sync {
            return Ok(HookReply::Accepted { runs: ids });
        }
        let mut finished = Vec::with_capacity(ids.len());
        let deadline = tokio::time::Instant::now() + inner.config.sync_timeout;
        for answer in answers {
            match tokio::time::timeout_at(deadline, answer).await {
                Ok(Ok(Answer::Ended(run))) => finished.push(*run),
                Ok(Ok(Answer::Respond(response))) => {
                    // The events are durable before anyone hears of them.
                    self.runs().flush().await?;
                    return Ok(responded(&response, &ids));
                }
                Ok(Err(e)) => return Err(e.into()),
                Err(_) => {
                    self.runs().flush().await?;
                    return Ok(HookReply::Accepted { runs: ids });
                }
            }
        }
        Ok(HookReply::Finished { runs: finished })
    }

    /// Hold room for `n` more runs, if the backlog has it; released when the
    /// returned admission is dropped (after the runs are stored, so for a
    /// moment they count twice: never too few).
    fn admit(&self, n: usize) -> Result<Option<Admission<'_>>, StoreFailure> {
        let admitting = &self.inner.admitting;
        let held = admitting.fetch_add(n, AtomicOrdering::SeqCst) + n;
        let admission = Admission { admitting, n };
        if n > 0 && self.runs().backlog()? + held > self.inner.config.max_backlog {
            return Ok(None);
        }
        Ok(Some(admission))
    }

    /// Hold whatever room the backlog has now, up to `max_events_per_request`
    /// (a poll takes what it is given).
    fn reserve(&self) -> Result<Admission<'_>, StoreFailure> {
        let (cap, max_backlog) = (self.inner.config.max_events_per_request, self.inner.config.max_backlog);
        let admitting = &self.inner.admitting;
        let mut held = admitting.load(AtomicOrdering::SeqCst);
        loop {
            let room = max_backlog.saturating_sub(self.runs().backlog()? + held).min(cap);
            match admitting.compare_exchange(held, held + room, AtomicOrdering::SeqCst, AtomicOrdering::SeqCst) {
                Ok(_) => return Ok(Admission { admitting, n: room }),
                Err(now) => held = now,
            }
        }
    }

    // ---- polling and schedules ------------------------------------------------------------------

    /// When `flow` is next due (polling and schedule flows).
    fn due(&self, stored: &StoredFlow, record: &TriggerRecord, state: Option<&PollState>) -> Option<u64> {
        if let Some(t) = polling_of(&stored.def.trigger, record) {
            return Some(match state {
                None => record.activated_ms,
                // Records were left for the next poll: fetch them soon.
                Some(s) if s.more => s.last_ms + CATCH_UP.min(interval_of(&t)).as_millis() as u64,
                Some(s) => s.last_ms + jittered(interval_of(&t), &stored.name, s.last_ms),
            });
        }
        match &stored.def.trigger {
            TriggerDef::Schedule(s) => {
                let schedule = Schedule::parse(&s.cron, s.timezone.as_deref()).ok()?;
                let key = schedule_key(&s.cron, s.timezone.as_deref());
                let after = state
                    .filter(|st| st.key == key)
                    .and_then(|st| st.mark.as_deref()?.parse::<u64>().ok())
                    .unwrap_or(record.activated_ms);
                schedule.next_after(after)
            }
            _ => None,
        }
    }

    /// Poll or fire everything that is due, until stopped. Polls of one flow never overlap.
    pub async fn run(&self) {
        loop {
            let notified = self.inner.notify.notified();
            let now = self.inner.clock.now_ms();
            let mut next = now + 1000;
            match self.due_flows(now) {
                Ok(list) => {
                    for (flow, due) in list {
                        if due <= now {
                            self.spawn_tick(flow);
                        } else {
                            next = next.min(due);
                        }
                    }
                }
                Err(e) => tracing::error!(error = %e, "reading triggers failed"),
            }
            tokio::select! {
                _ = notified => {}
                _ = self.inner.clock.sleep_until(next) => {}
            }
        }
    }

    fn due_flows(&self, _now: u64) -> Result<Vec<(String, u64)>, StoreFailure> {
        let mut list = Vec::new();
        for record in self.inner.store.triggers()?.into_iter().filter(|r| r.active) {
            let Some(stored) = self.runs().flow(&record.flow)? else { continue };
            let state = self.inner.store.poll_state(&record.flow)?;
            if let Some(due) = self.due(&stored, &record, state.as_ref()) {
                list.push((record.flow, due));
            }
        }
        Ok(list)
    }

    fn spawn_tick(&self, flow: String) {
        if !self.inner.busy.lock().expect("busy flows").insert(flow.clone()) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let result = this.tick(&flow).await;
            this.inner.busy.lock().expect("busy flows").remove(&flow);
            if let Err(e) = result {
                tracing::warn!(%flow, error = %e, "trigger tick failed");
            }
            this.inner.notify.notify_one();
        });
    }

    async fn tick(&self, flow: &str) -> Result<Vec<String>, ActivationError> {
        // One node at a time polls or fires a flow.
        if !self.inner.store.claim_tick(flow)? {
            return Ok(Vec::new());
        }
        let ticked = self.tick_held(flow).await;
        if let Err(e) = self.inner.store.release_tick(flow) {
            tracing::warn!(%flow, error = %e, "cannot let go of the flow's tick");
        }
        ticked
    }

    async fn tick_held(&self, flow: &str) -> Result<Vec<String>, ActivationError> {
        let stored = self.current(flow)?;
        let record = self.inner.store.trigger(flow)?.unwrap_or_default();
        // Read again now the tick is held: another node may have just polled or fired.
        let state = self.inner.store.poll_state(flow)?;
        if !record.active
            || self.due(&stored, &record, state.as_ref()).is_none_or(|due| due > self.inner.clock.now_ms())
        {
            return Ok(Vec::new());
        }
        if let Some(t) = polling_of(&stored.def.trigger, &record) {
            return self.poll_flow(&stored, &t).await;
        }
        match &stored.def.trigger {
            TriggerDef::Schedule(s) => {
                let schedule = Schedule::parse(&s.cron, s.timezone.as_deref())
                    .map_err(|message| ActivationError::Trigger { flow: flow.to_string(), message })?;
                self.fire(&stored, &schedule, schedule_key(&s.cron, s.timezone.as_deref())).await
            }
            _ => Ok(Vec::new()),
        }
    }

    /// Poll `flow` now (also what the scheduler does when it is due). Returns
    /// the ids of the runs it started. Waits if a poll of the flow is running.
    pub async fn poll_now(&self, flow: &str) -> Result<Vec<String>, ActivationError> {
        loop {
            if self.inner.busy.lock().expect("busy flows").insert(flow.to_string()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let result = async {
            // Another node of a shared store may be polling it: wait for it to finish.
            let patience = std::time::Instant::now() + Duration::from_secs(60);
            while !self.inner.store.claim_tick(flow)? {
                if std::time::Instant::now() > patience {
                    return Err(ActivationError::Trigger {
                        flow: flow.to_string(),
                        message: "another node has been polling it for a minute".into(),
                    });
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let polled = async {
                let stored = self.current(flow)?;
                let record = self.inner.store.trigger(flow)?.unwrap_or_default();
                match polling_of(&stored.def.trigger, &record) {
                    Some(t) => self.poll_flow(&stored, &t).await,
                    None => Err(ActivationError::Trigger { flow: flow.to_string(), message: "does not poll".into() }),
                }
            }
            .await;
            self.inner.store.release_tick(flow)?;
            polled
        }
        .await;
        self.inner.busy.lock().expect("busy flows").remove(flow);
        self.inner.notify.notify_one();
        result
    }

    async fn poll_flow(&self, stored: &StoredFlow, t: &ConnectorTriggerDef) -> Result<Vec<String>, ActivationError> {
        let inner = &self.inner;
        let flow = &stored.name;
        let key = poll_key(t);
        let previous = inner.store.poll_state(flow)?.filter(|s| s.key == key);
        let seed = previous.is_none();
        let previous = previous.unwrap_or_else(|| PollState { key, ..PollState::default() });
        let now = inner.clock.now_ms();
        // The room this poll may fill, held until its runs are stored (a seed fills none).
        let admitted = if seed { Admission { admitting: &inner.admitting, n: 0 } } else { self.reserve()? };
        let room = admitted.n;
        if room == 0 && !seed {
            // Nothing could be taken: do not fetch, keep the state, and look again soon.
            let max = inner.config.max_backlog;
            let state = PollState {
                last_ms: now,
                error: Some(format!("poll skipped: {max} runs are queued or executing (--max-backlog)")),
                more: true,
                ..previous
            };
            inner.store.record_events(flow, Some(&state), &[])?;
            return Ok(Vec::new());
        }
        let selected = async {
            // A flow missing a plugin pauses here, keeping its cursor.
            inner.executor.runnable(stored).map_err(|e| e.to_string())?;
            let spec = spec_of(inner.plugins.as_ref(), t)
                .ok_or_else(|| format!("connector {:?} has no trigger {:?}", t.connector, t.trigger))?;
            let strategy = spec.polling.ok_or_else(|| format!("trigger {:?} is not a polling trigger", t.trigger))?;
            let response =
                inner.plugins.poll(call_of(t), previous.cursor_for_connector()).await.map_err(|e| e.to_string())?;
            let polled =
                polling::Polled { events: response.events, next_cursor: response.next_cursor, seed, room, now_ms: now };
            polling::select(strategy, &previous, polled)
        }
        .await;
        let (events, state) = match selected {
            Ok(selected) => selected,
            Err(message) => {
                // Keep the cursor and remember the failure; the next poll waits an interval. A
                // failed seed leaves no key, so the next poll seeds again instead of flooding.
                let key = if seed { String::new() } else { previous.key.clone() };
                let state = PollState { key, last_ms: now, error: Some(message.clone()), ..previous };
                inner.store.record_events(flow, Some(&state), &[])?;
                return Err(ActivationError::Trigger {
                    flow: flow.clone(),
                    message: format!("poll failed: {message}"),
                });
            }
        };
        let runs = inner.executor.prepare_runs(stored, events.into_iter().map(|e| e.payload));
        inner.store.record_events(flow, Some(&state), &runs)?;
        drop(admitted);
        self.runs().flush().await?;
        if !runs.is_empty() {
            inner.executor.submit(&runs);
        }
        Ok(runs.into_iter().map(|r| r.id).collect())
    }

    /// Fire a due schedule once (once for all occurrences missed while weft was down).
    async fn fire(
        &self,
        stored: &StoredFlow,
        schedule: &Schedule,
        key: String,
    ) -> Result<Vec<String>, ActivationError> {
        let inner = &self.inner;
        let now = inner.clock.now_ms();
        let Some(occurrence) = schedule.latest_at_or_before(now) else { return Ok(Vec::new()) };
        let previous = inner.store.poll_state(&stored.name)?.filter(|s| s.key == key);
        if previous.as_ref().and_then(|s| s.mark.as_deref()?.parse::<u64>().ok()).is_some_and(|m| m >= occurrence) {
            return Ok(Vec::new());
        }
        let mut state = PollState { key, mark: Some(occurrence.to_string()), last_ms: now, ..PollState::default() };
        if let Err(e) = inner.executor.runnable(stored) {
            // Skip this occurrence (no burst when the plugin comes back) and say why.
            state.error = Some(format!("skipped {}: {e}", schedule.format(occurrence)));
            inner.store.record_events(&stored.name, Some(&state), &[])?;
            return Err(e.into());
        }
        let trigger = json!({ "scheduled_at": schedule.format(occurrence), "fired_at": schedule.format(now) });
        let runs = inner.executor.prepare_runs(stored, std::iter::once(trigger));
        inner.store.record_events(&stored.name, Some(&state), &runs)?;
        self.runs().flush().await?;
        inner.executor.submit(&runs);
        Ok(runs.into_iter().map(|r| r.id).collect())
    }
}
