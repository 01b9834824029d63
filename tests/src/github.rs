//! A fake GitHub on 127.0.0.1, faithful to the parts the `github` connector
//! uses: the REST API's repository hooks, issues and comments (bearer tokens,
//! `{"message": …}` errors, 422 validation failures, primary rate limits),
//! and webhook deliveries signed the way GitHub signs them
//! (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>` with the
//! hook's secret, `X-GitHub-Event`, `X-GitHub-Delivery`, `X-GitHub-Hook-ID`).
//!
//! Like GitHub, opening an issue delivers an `issues` event (action `opened`)
//! and commenting an `issue_comment` event to every active hook of the
//! repository subscribed to it; `POST …/hooks/{id}/pings` delivers a `ping`.
//! Deliveries are made in the background and recorded ([`Delivery`]).

use crate::app::json_response;
use crate::http::try_request;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::Request;
use hyper::body::Incoming;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One webhook delivery and how the receiver answered it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub hook_id: u64,
    pub event: String,
    pub id: String,
    pub payload: Value,
    /// The receiver's status, or 0 when it could not be reached.
    pub status: u16,
    pub response: String,
}

/// A repository hook as stored (the secret included, unlike the API's view).
#[derive(Debug, Clone)]
pub struct Hook {
    pub id: u64,
    pub events: Vec<String>,
    pub url: String,
    pub secret: String,
    pub content_type: String,
    pub active: bool,
}

#[derive(Default)]
struct Repo {
    hooks: BTreeMap<u64, Hook>,
    issues: BTreeMap<u64, Value>,
    comments: Vec<Value>,
}

#[derive(Default)]
struct State {
    repos: BTreeMap<String, Repo>,
    next_id: u64,
    deliveries: Vec<Delivery>,
    /// When set, every API request answers 403 "API rate limit exceeded".
    rate_limited_until: Option<u64>,
    /// Whether user tokens of an OAuth app are accepted too (see [`FakeGithub::accept_oauth_app_tokens`]).
    oauth_apps: bool,
}

/// Whether `auth` is `Bearer <token>` with a token the test's authorization
/// server issued that has not expired (GitHub knows its OAuth apps' tokens;
/// the fake reads the token's claims).
fn live_oauth_token(auth: &str) -> bool {
    let Some(claims) = auth.strip_prefix("Bearer ").and_then(crate::oauth::jwt_claims) else { return false };
    claims["exp"].as_u64().is_some_and(|exp| exp > now_s())
}

/// The running fake; it stops when dropped.
pub struct FakeGithub {
    pub addr: SocketAddr,
    pub token: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

fn now_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn message(status: u16, text: &str) -> hyper::Response<http_body_util::Full<Bytes>> {
    json_response(status, json!({ "message": text, "documentation_url": "https://docs.github.com/rest" }))
}

impl FakeGithub {
    /// A fake GitHub accepting `token`, with the repositories `owner/repo` listed.
    pub async fn start(token: &str, repos: &[&str]) -> FakeGithub {
        let mut state = State::default();
        for repo in repos {
            state.repos.insert(repo.to_string(), Repo::default());
        }
        let state = Arc::new(Mutex::new(state));
        let (shared, key) = (state.clone(), token.to_string());
        let (addr, task) = crate::serve(move |req, addr| {
            let (state, key) = (shared.clone(), key.clone());
            async move { Ok(handle(req, &state, &key, addr).await) }
        })
        .await;
        FakeGithub { addr, token: token.to_string(), state, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Accept, besides the token, the unexpired tokens of an OAuth app
    /// (issued by the test's authorization server, [`crate::oauth::OAuthServer`]).
    pub fn accept_oauth_app_tokens(&self) {
        self.state.lock().unwrap().oauth_apps = true;
    }

    /// The hooks of `owner/repo`.
    pub fn hooks(&self, repo: &str) -> Vec<Hook> {
        self.state.lock().unwrap().repos[repo].hooks.values().cloned().collect()
    }

    /// The issues of `owner/repo`, as the API returns them.
    pub fn issues(&self, repo: &str) -> Vec<Value> {
        self.state.lock().unwrap().repos[repo].issues.values().cloned().collect()
    }

    /// The comments on issues of `owner/repo`.
    pub fn comments(&self, repo: &str) -> Vec<Value> {
        self.state.lock().unwrap().repos[repo].comments.clone()
    }

    /// Every delivery so far, oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.state.lock().unwrap().deliveries.clone()
    }

    /// Wait until `n` deliveries have been answered (or 20 s pass); them.
    pub async fn wait_deliveries(&self, n: usize) -> Vec<Delivery> {
        for _ in 0..200 {
            let all = self.deliveries();
            if all.len() >= n {
                return all;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("expected {n} deliveries, got {:?}", self.deliveries());
    }

    /// From now on every API call answers 403 with `x-ratelimit-remaining: 0` for `seconds`.
    pub fn exhaust_rate_limit(&self, seconds: u64) {
        self.state.lock().unwrap().rate_limited_until = Some(now_s() + seconds);
    }

    /// Deliver `event` with `payload` to the hooks of `repo` subscribed to it
    /// (signed with each hook's secret, or with `forge_secret` when given).
    pub async fn deliver(&self, repo: &str, event: &str, payload: Value, forge_secret: Option<&str>) -> Vec<Delivery> {
        let hooks = {
            let s = self.state.lock().unwrap();
            subscribed(&s.repos[repo], event)
        };
        let mut out = Vec::new();
        for mut hook in hooks {
            if let Some(forged) = forge_secret {
                hook.secret = forged.to_string();
            }
            out.push(deliver(&self.state, &hook, event, &payload).await);
        }
        out
    }
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn subscribed(repo: &Repo, event: &str) -> Vec<Hook> {
    repo.hooks
        .values()
        .filter(|h| h.active && (event == "ping" || h.events.iter().any(|e| e == event || e == "*")))
        .cloned()
        .collect()
}

/// POST one delivery to `hook` and record it.
async fn deliver(state: &Mutex<State>, hook: &Hook, event: &str, payload: &Value) -> Delivery {
    let id = {
        let mut s = state.lock().unwrap();
        s.next_id += 1;
        format!("72d3162e-cc78-11e3-81ab-{:012x}", s.next_id)
    };
    let body = payload.to_string();
    let signature = format!("sha256={}", crate::hmac_sha256_hex(hook.secret.as_bytes(), &[body.as_bytes()]));
    let hook_id = hook.id.to_string();
    let headers = [
        ("content-type", "application/json"),
        ("user-agent", "GitHub-Hookshot/fake"),
        ("x-github-event", event),
        ("x-github-delivery", id.as_str()),
        ("x-github-hook-id", hook_id.as_str()),
        ("x-hub-signature-256", signature.as_str()),
    ];
    let (status, response) = match try_request("POST", &hook.url, &headers, body).await {
        Ok(reply) => (reply.status, reply.text()),
        Err(e) => (0, e),
    };
    let delivery =
        Delivery { hook_id: hook.id, event: event.to_string(), id, payload: payload.clone(), status, response };
    state.lock().unwrap().deliveries.push(delivery.clone());
    delivery
}

/// Deliver in the background, as GitHub does after answering the API call.
fn deliver_later(state: &Arc<Mutex<State>>, hooks: Vec<Hook>, event: &str, payload: Value) {
    let (state, event) = (state.clone(), event.to_string());
    tokio::spawn(async move {
        for hook in hooks {
            deliver(&state, &hook, &event, &payload).await;
        }
    });
}

fn hook_view(hook: &Hook) -> Value {
    json!({
        "type": "Repository", "id": hook.id, "name": "web", "active": hook.active, "events": hook.events,
        "config": { "url": hook.url, "content_type": hook.content_type, "insecure_ssl": "0", "secret": "********" },
    })
}

async fn handle(
    req: Request<Incoming>,
    state: &Arc<Mutex<State>>,
    token: &str,
    addr: SocketAddr,
) -> hyper::Response<http_body_util::Full<Bytes>> {
    let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let oauth_app = state.lock().unwrap().oauth_apps;
    if auth != format!("Bearer {token}") && auth != format!("token {token}") && !(oauth_app && live_oauth_token(&auth))
    {
        return message(401, "Bad credentials");
    }
    if let Some(until) = state.lock().unwrap().rate_limited_until.filter(|u| *u > now_s()) {
        return hyper::Response::builder()
            .status(403)
            .header("content-type", "application/json")
            .header("x-ratelimit-limit", "5000")
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-reset", until.to_string())
            .body(http_body_util::Full::new(Bytes::from(
                json!({ "message": "API rate limit exceeded for user." }).to_string(),
            )))
            .unwrap();
    }
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let ["repos", owner, name, rest @ ..] = parts.as_slice() else { return message(404, "Not Found") };
    let full = format!("{owner}/{name}");
    let input: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return message(400, "Problems parsing JSON"),
        }
    };
    let mut guard = state.lock().unwrap();
    let s = &mut *guard;
    let Some(repo) = s.repos.get_mut(&full) else { return message(404, "Not Found") };
    let html = format!("https://github.example/{full}");
    match (method.as_str(), rest) {
        ("GET", ["hooks"]) => json_response(200, repo.hooks.values().map(hook_view).collect()),
        ("POST", ["hooks"]) => {
            let url = input["config"]["url"].as_str().unwrap_or_default();
            if input["name"] != "web" || !url.starts_with("http") {
                return json_response(
                    422,
                    json!({ "message": "Validation Failed", "errors": [{ "resource": "Hook", "code": "custom", "message": "config.url is missing or not a URL" }] }),
                );
            }
            if repo.hooks.values().any(|h| h.url == url) {
                return json_response(
                    422,
                    json!({ "message": "Validation Failed", "errors": [{ "resource": "Hook", "code": "custom", "message": "Hook already exists on this repository" }] }),
                );
            }
            s.next_id += 1;
            let events = match input["events"].as_array() {
                Some(list) => list.iter().filter_map(|e| e.as_str().map(String::from)).collect(),
                None => vec!["push".to_string()],
            };
            let hook = Hook {
                id: s.next_id,
                events,
                url: url.to_string(),
                secret: input["config"]["secret"].as_str().unwrap_or_default().to_string(),
                content_type: input["config"]["content_type"].as_str().unwrap_or("form").to_string(),
                active: input["active"].as_bool().unwrap_or(true),
            };
            let view = hook_view(&hook);
            repo.hooks.insert(hook.id, hook);
            json_response(201, view)
        }
        ("DELETE", ["hooks", id]) => match id.parse::<u64>().ok().and_then(|id| repo.hooks.remove(&id)) {
            Some(_) => json_response(204, Value::Null),
            None => message(404, "Not Found"),
        },
        ("POST", ["hooks", id, "pings"]) => {
            let Some(hook) = id.parse::<u64>().ok().and_then(|id| repo.hooks.get(&id)).cloned() else {
                return message(404, "Not Found");
            };
            let payload = json!({ "zen": "Keep it logically awesome.", "hook_id": hook.id, "hook": hook_view(&hook) });
            drop(guard);
            deliver_later(state, vec![hook], "ping", payload);
            json_response(204, Value::Null)
        }
        ("POST", ["issues"]) => {
            let Some(title) = input["title"].as_str().filter(|t| !t.is_empty()) else {
                return json_response(
                    422,
                    json!({ "message": "Validation Failed", "errors": [{ "resource": "Issue", "field": "title", "code": "missing_field" }] }),
                );
            };
            let number = repo.issues.len() as u64 + 1;
            s.next_id += 1;
            let labels: Vec<Value> =
                input["labels"].as_array().into_iter().flatten().map(|l| json!({ "name": l })).collect();
            let issue = json!({
                "id": s.next_id, "number": number, "title": title, "body": input["body"], "state": "open",
                "labels": labels, "html_url": format!("{html}/issues/{number}"),
                "url": format!("http://{addr}/repos/{full}/issues/{number}"), "user": { "login": "weft-bot" },
            });
            repo.issues.insert(number, issue.clone());
            let payload = json!({ "action": "opened", "issue": issue, "repository": { "full_name": full }, "sender": { "login": "weft-bot" } });
            let hooks = subscribed(repo, "issues");
            drop(guard);
            deliver_later(state, hooks, "issues", payload);
            json_response(201, issue)
        }
        ("POST", ["issues", number, "comments"]) => {
            let Some(issue) = number.parse::<u64>().ok().and_then(|n| repo.issues.get(&n)).cloned() else {
                return message(404, "Not Found");
            };
            let Some(text) = input["body"].as_str().filter(|t| !t.is_empty()) else {
                return json_response(
                    422,
                    json!({ "message": "Validation Failed", "errors": [{ "resource": "IssueComment", "field": "body", "code": "missing_field" }] }),
                );
            };
            s.next_id += 1;
            let comment = json!({
                "id": s.next_id, "body": text, "html_url": format!("{html}/issues/{number}#issuecomment-{}", s.next_id),
                "issue_url": issue["url"], "user": { "login": "weft-bot" },
            });
            repo.comments.push(comment.clone());
            let payload =
                json!({ "action": "created", "issue": issue, "comment": comment, "repository": { "full_name": full } });
            let hooks = subscribed(repo, "issue_comment");
            drop(guard);
            deliver_later(state, hooks, "issue_comment", payload);
            json_response(201, comment)
        }
        _ => message(404, "Not Found"),
    }
}
