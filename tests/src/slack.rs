//! A fake Slack on 127.0.0.1 for the `slack` connector: incoming webhooks
//! that answer like Slack's (`ok` in plain text, or an error code such as
//! `no_text`, `invalid_payload`, `no_service`, `channel_is_archived`, and 429
//! with `Retry-After`), and helpers that sign Events API requests the way
//! Slack does (`X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{ts}:{body}">`).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Incoming;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The incoming-webhook path that posts to the channel.
pub const HOOK_PATH: &str = "/services/T0001/B0001/xxxxxxxxxxxxxxxxxxxxxxxx";
/// A webhook path whose channel is archived (410 `channel_is_archived`).
pub const ARCHIVED_PATH: &str = "/services/T0001/B0002/archived";

#[derive(Default)]
struct State {
    messages: Vec<Value>,
    rate_limited: u32,
}

/// The running fake; it stops when dropped.
pub struct FakeSlack {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

fn text(status: u16, body: &str) -> hyper::Response<Full<Bytes>> {
    let mut builder = hyper::Response::builder().status(status).header("content-type", "text/plain");
    if status == 429 {
        builder = builder.header("retry-after", "7");
    }
    builder.body(Full::new(Bytes::from(body.to_string()))).unwrap()
}

impl FakeSlack {
    pub async fn start() -> FakeSlack {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let (addr, task) = crate::serve(move |req, _| {
            let state = shared.clone();
            async move { Ok(handle(req, &state).await) }
        })
        .await;
        FakeSlack { addr, state, task }
    }

    /// The URL of an incoming webhook at `path` (e.g. [`HOOK_PATH`]).
    pub fn webhook_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Messages posted to the channel so far, oldest first.
    pub fn messages(&self) -> Vec<Value> {
        self.state.lock().unwrap().messages.clone()
    }

    /// Answer the next `n` posts with 429 and `Retry-After: 7`.
    pub fn rate_limit_next(&self, n: u32) {
        self.state.lock().unwrap().rate_limited = n;
    }
}

impl Drop for FakeSlack {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(req: Request<Incoming>, state: &Mutex<State>) -> hyper::Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let post = req.method() == "POST";
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let mut s = state.lock().unwrap();
    if !post {
        return text(405, "invalid_method");
    }
    if path == ARCHIVED_PATH {
        return text(410, "channel_is_archived");
    }
    if path != HOOK_PATH {
        return text(404, "no_service");
    }
    if s.rate_limited > 0 {
        s.rate_limited -= 1;
        return text(429, "rate_limited");
    }
    let Ok(message) = serde_json::from_slice::<Value>(&body) else { return text(400, "invalid_payload") };
    if message["text"].as_str().is_none_or(str::is_empty) && message["blocks"].as_array().is_none_or(Vec::is_empty) {
        return text(400, "no_text");
    }
    s.messages.push(message);
    text(200, "ok")
}

/// Headers of an Events API request signed with `secret` at Unix time `ts`.
pub fn signed_headers(secret: &str, ts: u64, body: &[u8]) -> Vec<(String, String)> {
    let ts = ts.to_string();
    let signature = crate::hmac_sha256_hex(secret.as_bytes(), &[b"v0:", ts.as_bytes(), b":", body]);
    vec![
        ("content-type".into(), "application/json".into()),
        ("x-slack-request-timestamp".into(), ts),
        ("x-slack-signature".into(), format!("v0={signature}")),
    ]
}

/// Now, in Unix seconds.
pub fn now_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}
