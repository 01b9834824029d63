//! OAuth 2.0 for tests: a real authorization server and an API its tokens open.
//!
//! [`OAuthServer`] runs `tests/oauth/server.mjs`: the npm package
//! oauth2-mock-server 9.3.0 on 127.0.0.1 (`cargo xtask test` installs it and
//! names its folder in `WEFT_OAUTH_SERVER_DIR`), with RS256-signed JWT access
//! tokens that carry a unique `jti`, refresh tokens good for one use, and
//! control routes to shorten token lifetimes, revoke refresh tokens, deny the
//! next authorization and slow the token endpoint down. Every token request
//! and authorization redirect is recorded.
//!
//! [`ProtectedApi`] is a resource server that accepts those access tokens
//! until they expire: `GET /me`, `POST /items` (bearer token needed) and
//! `GET /open` (none).

use crate::app::json_response;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The events printed by the server so far, and the last flush mark seen.
#[derive(Default)]
struct Events {
    list: Vec<Value>,
    flushed: u64,
    closed: bool,
}

/// A running oauth2-mock-server; it stops when dropped.
pub struct OAuthServer {
    port: u16,
    child: Child,
    events: Arc<(Mutex<Events>, Condvar)>,
    flushes: AtomicU64,
}

impl OAuthServer {
    /// Start the server on a free port; panics when oauth2-mock-server is not
    /// installed or the server is not listening within 20 s.
    pub fn start() -> OAuthServer {
        let dir = std::env::var_os("WEFT_OAUTH_SERVER_DIR")
            .filter(|dir| std::path::Path::new(dir).join("node_modules/oauth2-mock-server").is_dir())
            .unwrap_or_else(|| {
                panic!(
                    "oauth2-mock-server is not installed: run the tests with `cargo xtask test` (it installs \
                     oauth2-mock-server@9.3.0 with npm under target/tools and sets WEFT_OAUTH_SERVER_DIR), or set \
                     WEFT_OAUTH_SERVER_DIR to the folder holding its node_modules"
                )
            });
        let mut child = Command::new("node")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/oauth/server.mjs"))
            .env("WEFT_OAUTH_SERVER_DIR", dir)
            // The server exits when this pipe closes, should the test die without dropping it.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("cannot run node");
        let stdout = child.stdout.take().unwrap();
        let events = Arc::new((Mutex::new(Events::default()), Condvar::new()));
        let (ready, listening) = std::sync::mpsc::channel();
        let shared = events.clone();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
            let first = lines.next().unwrap_or_default();
            let port = serde_json::from_str::<Value>(&first).ok().and_then(|v| v["listening"].as_u64());
            let _ = ready.send(port.map(|p| p as u16).ok_or(first));
            let (lock, changed) = &*shared;
            for line in lines {
                let Ok(event) = serde_json::from_str::<Value>(&line) else { continue };
                let mut events = lock.lock().unwrap();
                match event["event"].as_str() {
                    Some("flush") => events.flushed = events.flushed.max(event["id"].as_u64().unwrap_or(0)),
                    _ => events.list.push(event),
                }
                changed.notify_all();
            }
            lock.lock().unwrap().closed = true;
            changed.notify_all();
        });
        match listening.recv_timeout(Duration::from_secs(20)) {
            Ok(Ok(port)) => OAuthServer { port, child, events, flushes: AtomicU64::new(0) },
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("oauth2-mock-server did not start: {other:?}");
            }
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The grant for this server: `127.0.0.1:PORT`.
    pub fn grant(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn authorize_url(&self) -> String {
        format!("{}/authorize", self.base())
    }

    pub fn token_url(&self) -> String {
        format!("{}/token", self.base())
    }

    /// Every event so far, oldest first: `{"event":"token", grant_type, status, error,
    /// access_token, refresh_token, scope, client_id, client_auth, client_secret,
    /// code_verifier_present}` per answered token request and `{"event":"authorize", state,
    /// code_challenge_method, redirect_uri, denied}` per authorization redirect. Every
    /// request answered before this call is in.
    pub fn events(&self) -> Vec<Value> {
        let id = self.flushes.fetch_add(1, Ordering::Relaxed) + 1;
        self.control(&format!("/__weft/flush?id={id}"));
        let (lock, changed) = &*self.events;
        let events = changed
            .wait_timeout_while(lock.lock().unwrap(), Duration::from_secs(10), |e| e.flushed < id && !e.closed)
            .unwrap()
            .0;
        assert!(events.flushed >= id, "oauth2-mock-server stopped printing its events");
        events.list.clone()
    }

    /// The token requests of `grant_type` (`authorization_code`, `refresh_token`, …), oldest first.
    pub fn token_requests(&self, grant_type: &str) -> Vec<Value> {
        self.events().into_iter().filter(|e| e["event"] == "token" && e["grant_type"] == grant_type).collect()
    }

    /// Every access and refresh token issued so far (to check none leaks).
    pub fn issued_tokens(&self) -> Vec<String> {
        let events = self.events();
        let tokens = events.iter().filter(|e| e["event"] == "token");
        tokens
            .flat_map(|e| [&e["access_token"], &e["refresh_token"]])
            .filter_map(|t| t.as_str().map(String::from))
            .collect()
    }

    /// Tokens issued from now on expire `secs` seconds after they are issued (3600 at first).
    pub fn set_ttl(&self, secs: u64) {
        self.control(&format!("/__weft/ttl?seconds={secs}"));
    }

    /// Authorization codes expire `ms` milliseconds after they were issued (600 s at first).
    pub fn set_code_ttl(&self, ms: u64) {
        self.control(&format!("/__weft/code-ttl?ms={ms}"));
    }

    /// Every refresh token issued so far is refused from now on (`invalid_grant`).
    pub fn revoke_refresh_tokens(&self) {
        self.control("/__weft/revoke");
    }

    /// The next `/authorize` redirects with `error=access_denied` instead of a code.
    pub fn deny_next_authorization(&self) {
        self.control("/__weft/deny-next");
    }

    /// Hold every token answer back `ms` milliseconds (0: answer at once).
    pub fn slow_tokens(&self, ms: u64) {
        self.control(&format!("/__weft/slow-token?ms={ms}"));
    }

    /// `POST` a control route; its JSON answer.
    fn control(&self, path: &str) -> Value {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to oauth2-mock-server");
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let port = self.port;
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .expect("send to oauth2-mock-server");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("answer from oauth2-mock-server");
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        assert!(head.starts_with("HTTP/1.1 200"), "POST {path}: {answer}");
        serde_json::from_str(body).unwrap_or(Value::Null)
    }
}

impl Drop for OAuthServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request the [`ProtectedApi`] answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// The `Authorization` header as sent.
    pub authorization: Option<String>,
    pub status: u16,
}

#[derive(Default)]
struct ApiState {
    seen: Vec<Seen>,
    rejected: HashSet<String>,
    reject_next: bool,
}

/// A running resource server; it stops when dropped.
///
/// `GET /me` and `POST /items` need `Authorization: Bearer <JWT>` whose `exp`
/// is still ahead (the signature is not checked) and answer `{sub, scope, jti}`
/// (`POST /items` adds the JSON body it got as `item`); otherwise 401 with
/// `WWW-Authenticate: Bearer` (plus `error="invalid_token"` when a token was
/// sent) and `{"message"}`. `GET /open` answers `{"ok":true}` to anyone.
pub struct ProtectedApi {
    pub addr: SocketAddr,
    state: Arc<Mutex<ApiState>>,
    task: tokio::task::JoinHandle<()>,
}

impl ProtectedApi {
    pub async fn start() -> ProtectedApi {
        let state = Arc::new(Mutex::new(ApiState::default()));
        let shared = state.clone();
        let (addr, task) = crate::serve(move |req, _| {
            let state = shared.clone();
            async move { Ok(handle(req, &state).await) }
        })
        .await;
        ProtectedApi { addr, state, task }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The grant for this API: `127.0.0.1:PORT`.
    pub fn grant(&self) -> String {
        self.addr.to_string()
    }

    /// Every request answered so far (since [`ProtectedApi::clear`]), oldest first.
    pub fn requests(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// The next request to `/me` or `/items` that bears a token gets 401, and
    /// that token is refused from then on (a token revoked by the issuer).
    pub fn reject_next_token(&self) {
        self.state.lock().unwrap().reject_next = true;
    }

    /// Forget the requests answered so far.
    pub fn clear(&self) {
        self.state.lock().unwrap().seen.clear();
    }
}

impl Drop for ProtectedApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(req: Request<Incoming>, state: &Mutex<ApiState>) -> Response<Full<Bytes>> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let authorization = req.headers().get("authorization").and_then(|v| v.to_str().ok()).map(String::from);
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let mut s = state.lock().unwrap();
    let (status, answer, challenge) = match (method.as_str(), path.as_str()) {
        ("GET", "/open") => (200, json!({ "ok": true }), None),
        ("GET", "/me") | ("POST", "/items") => match check(authorization.as_deref(), &mut s) {
            Err((message, challenge)) => (401, json!({ "message": message }), Some(challenge)),
            Ok(claims) => {
                let mut answer = json!({ "sub": claims["sub"], "scope": claims["scope"], "jti": claims["jti"] });
                if method == "POST" {
                    answer["item"] = serde_json::from_slice(&body).unwrap_or(Value::Null);
                }
                (200, answer, None)
            }
        },
        _ => (404, json!({ "message": "no such route" }), None),
    };
    s.seen.push(Seen { method, path, authorization, status });
    let mut response = json_response(status, answer);
    if let Some(challenge) = challenge {
        response.headers_mut().insert("www-authenticate", challenge.parse().expect("a header value"));
    }
    response
}

/// The claims of the bearer token in `authorization`, or why it is refused and
/// the `WWW-Authenticate` challenge to answer with (RFC 6750 §3).
fn check(authorization: Option<&str>, s: &mut ApiState) -> Result<Value, (&'static str, String)> {
    let token = authorization
        .and_then(|a| a.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let Some(token) = token else { return Err(("a bearer token is needed", "Bearer".into())) };
    let invalid = |why| (why, format!("Bearer error=\"invalid_token\", error_description=\"{why}\""));
    if std::mem::take(&mut s.reject_next) {
        s.rejected.insert(token.to_string());
    }
    if s.rejected.contains(token) {
        return Err(invalid("The access token was revoked"));
    }
    let claims = jwt_claims(token).ok_or_else(|| invalid("The access token is not a JWT"))?;
    let exp = claims["exp"].as_u64().ok_or_else(|| invalid("The access token has no expiry"))?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    if exp <= now {
        return Err(invalid("The access token expired"));
    }
    Ok(claims)
}

/// The payload of a JWT (`header.payload.signature`, base64url), unverified.
pub fn jwt_claims(token: &str) -> Option<Value> {
    let parts: Vec<&str> = token.split('.').collect();
    let [_, payload, _] = parts[..] else { return None };
    serde_json::from_slice(&base64url_decode(payload)?).ok().filter(Value::is_object)
}

/// Decode base64url (RFC 4648 §5), padded or not.
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for c in text.trim_end_matches('=').bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6 | u32::from(value)) & 0x3fff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}
