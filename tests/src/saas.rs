//! A fake SaaS application on 127.0.0.1 that behaves like a real API, for
//! the `saas` test connector: records with ids and modified times, and a
//! hook registration API. Every route needs `Authorization: Bearer <key>`.
//!
//! - `GET /records` (newest first), `?after_id=N` (ascending),
//!   `?modified_since=T` (modified at or after T, oldest first);
//! - `POST /records {name}` → 201 `{id, name, modified}`; each is logged with its arrival time
//!   and status ([`SaasApp::posts`]), and [`SaasApp::rate_limit_next`] answers the next ones
//!   429 with `Retry-After`;
//! - `POST /hooks {url, events}` → 201 `{id, url, events}`; `DELETE /hooks/{id}`; `GET /hooks`.
//!
//! Each change moves the app's clock one second, so modified times are
//! distinct and predictable: `2026-01-01T00:00:07Z`.

use crate::app::{json_response, query};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::Request;
use hyper::body::Incoming;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// A registered hook.
#[derive(Debug, Clone, PartialEq)]
pub struct Hook {
    pub id: u64,
    pub url: String,
    pub events: Vec<String>,
}

#[derive(Default)]
struct State {
    records: BTreeMap<u64, (String, u64)>,
    next_id: u64,
    clock: u64,
    hooks: BTreeMap<u64, Hook>,
    next_hook: u64,
    /// `POST /records` as they arrived: when (since the app started) and the status answered.
    posts: Vec<(std::time::Duration, u16)>,
    /// The next this many `POST /records` are answered 429 with `Retry-After: <.1>` seconds.
    rate_limited: (u32, u64),
}

/// The running app; it stops when dropped.
pub struct SaasApp {
    pub addr: SocketAddr,
    pub api_key: String,
    pub started: std::time::Instant,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

fn time(clock: u64) -> String {
    format!("2026-01-01T{:02}:{:02}:{:02}Z", clock / 3600, clock / 60 % 60, clock % 60)
}

fn record(id: u64, (name, modified): &(String, u64)) -> Value {
    json!({ "id": id, "name": name, "modified": time(*modified) })
}

impl SaasApp {
    pub async fn start(api_key: &str) -> SaasApp {
        let state = Arc::new(Mutex::new(State::default()));
        let started = std::time::Instant::now();
        let (shared, key) = (state.clone(), api_key.to_string());
        let (addr, task) = crate::serve(move |req, _| {
            let (state, key) = (shared.clone(), key.clone());
            async move { Ok(handle(req, &state, &key, started).await) }
        })
        .await;
        SaasApp { addr, api_key: api_key.to_string(), started, state, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A connection of the `saas` connector to this app (`PUT /api/connections/ID`): its URL,
    /// its API key, the signing secret when given, and the app's address granted.
    pub fn connection(&self, signing_secret: Option<&str>) -> Value {
        let mut secrets = json!({ "api_key": self.api_key });
        if let Some(signing) = signing_secret {
            secrets["signing_secret"] = json!(signing);
        }
        json!({ "plugin": "saas", "settings": { "base_url": self.url() }, "secrets": secrets, "hosts": [self.addr.to_string()] })
    }

    fn change<T>(&self, f: impl FnOnce(&mut State, u64) -> T) -> T {
        let mut s = self.state.lock().unwrap();
        s.clock += 1;
        let now = s.clock;
        f(&mut s, now)
    }

    /// Create a record; its id.
    pub fn add(&self, name: &str) -> u64 {
        self.change(|s, now| {
            s.next_id += 1;
            s.records.insert(s.next_id, (name.to_string(), now));
            s.next_id
        })
    }

    /// Rename a record (its modified time moves).
    pub fn update(&self, id: u64, name: &str) {
        self.change(|s, now| s.records.insert(id, (name.to_string(), now)));
    }

    pub fn delete(&self, id: u64) {
        self.change(|s, _| s.records.remove(&id));
    }

    /// Every record as the API returns it: `{id, name, modified}`.
    pub fn records(&self) -> Vec<Value> {
        self.state.lock().unwrap().records.iter().map(|(id, r)| record(*id, r)).collect()
    }

    /// Every `POST /records` so far: when it arrived (since the app started) and its status.
    pub fn posts(&self) -> Vec<(std::time::Duration, u16)> {
        self.state.lock().unwrap().posts.clone()
    }

    /// Answer the next `n` `POST /records` with 429 and `Retry-After: <retry_after_s>`.
    pub fn rate_limit_next(&self, n: u32, retry_after_s: u64) {
        self.state.lock().unwrap().rate_limited = (n, retry_after_s);
    }

    pub fn hooks(&self) -> Vec<Hook> {
        self.state.lock().unwrap().hooks.values().cloned().collect()
    }
}

impl Drop for SaasApp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    req: Request<Incoming>,
    state: &Mutex<State>,
    key: &str,
    started: std::time::Instant,
) -> hyper::Response<http_body_util::Full<Bytes>> {
    let authorized = req.headers().get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {key}"));
    if !authorized {
        return json_response(401, json!({ "error": "bad or missing API key" }));
    }
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let after = query(&req, "after_id").and_then(|v| v.parse::<u64>().ok());
    let since = query(&req, "modified_since").map(str::to_string);
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let mut s = state.lock().unwrap();
    match (method.as_str(), path.as_str()) {
        ("GET", "/records") => {
            let list: Vec<Value> = if let Some(after) = after {
                s.records.range(after + 1..).map(|(id, r)| record(*id, r)).collect()
            } else if let Some(since) = since {
                let mut list: Vec<_> = s.records.iter().filter(|(_, r)| time(r.1) >= since).collect();
                list.sort_by_key(|(_, r)| r.1);
                list.into_iter().map(|(id, r)| record(*id, r)).collect()
            } else {
                s.records.iter().rev().map(|(id, r)| record(*id, r)).collect()
            };
            json_response(200, Value::Array(list))
        }
        ("POST", "/records") => {
            let at = started.elapsed();
            if s.rate_limited.0 > 0 {
                s.rate_limited.0 -= 1;
                s.posts.push((at, 429));
                let mut answer = json_response(429, json!({ "error": "slow down" }));
                let retry = s.rate_limited.1.to_string();
                answer.headers_mut().insert("retry-after", retry.parse().expect("a header value"));
                return answer;
            }
            let Some(name) =
                serde_json::from_slice::<Value>(&body).ok().and_then(|b| b["name"].as_str().map(String::from))
            else {
                s.posts.push((at, 422));
                return json_response(422, json!({ "error": "name missing" }));
            };
            s.posts.push((at, 201));
            s.clock += 1;
            s.next_id += 1;
            let (id, now) = (s.next_id, s.clock);
            s.records.insert(id, (name, now));
            json_response(201, record(id, &s.records[&id]))
        }
        ("GET", "/hooks") => json_response(
            200,
            s.hooks.values().map(|h| json!({ "id": h.id, "url": h.url, "events": h.events })).collect(),
        ),
        ("POST", "/hooks") => {
            let Ok(spec) = serde_json::from_slice::<Value>(&body) else {
                return json_response(400, json!({ "error": "body is not JSON" }));
            };
            let Some(url) = spec["url"].as_str() else { return json_response(422, json!({ "error": "url missing" })) };
            if s.hooks.values().any(|h| h.url == url) {
                return json_response(422, json!({ "error": "a hook with this URL exists" }));
            }
            s.next_hook += 1;
            let events = spec["events"].as_array().into_iter().flatten().filter_map(|e| e.as_str().map(String::from));
            let hook = Hook { id: s.next_hook, url: url.to_string(), events: events.collect() };
            let answer = json!({ "id": hook.id, "url": hook.url, "events": hook.events });
            s.hooks.insert(hook.id, hook);
            json_response(201, answer)
        }
        ("DELETE", p) if p.starts_with("/hooks/") => match p["/hooks/".len()..].parse::<u64>() {
            Ok(id) if s.hooks.remove(&id).is_some() => json_response(204, json!(null)),
            _ => json_response(404, json!({ "error": "no such hook" })),
        },
        _ => json_response(404, json!({ "error": "no such route" })),
    }
}

/// `sha256=<hex>` of HMAC-SHA256(`secret`, `body`): the app's webhook signature.
pub fn sign(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", crate::hmac_sha256_hex(secret.as_bytes(), &[body]))
}
