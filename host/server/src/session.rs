//! Browser sessions: the web UI exchanges the admin token for a session
//! cookie, so the token is never kept in the browser.
//!
//! `POST /api/session` with `{"token"}` sets `weft_session` (`HttpOnly`,
//! `SameSite=Strict`, `Path=/`, and `Secure` when the public URL is https)
//! and answers a CSRF token the page keeps in memory. A request authenticated
//! by the cookie that changes anything (any method but GET and HEAD) must
//! carry that token in `X-Weft-Csrf`; `SameSite=Strict` already keeps other
//! sites' requests from carrying the cookie, the header makes it two
//! independent guards. Requests with `Authorization: Bearer` (the CLI,
//! scripts) carry no ambient credential and need no CSRF token.
//!
//! A node on its own keeps sessions in memory: a restart signs everyone out.
//! Nodes sharing a store keep them there ([`SessionStore`]), so a browser
//! signed in through one node is signed in on all. Only the SHA-256 of a
//! session id is kept, and ids and CSRF tokens are 256 random bits.

use super::{ApiError, Shared, token_hash};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use weft_core::SessionStore;

/// The session cookie's name.
pub const COOKIE: &str = "weft_session";
/// The header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-weft-csrf";
/// How long a session lasts without being used.
const IDLE: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at once; past it, the one unused longest is signed out.
const MAX_SESSIONS: usize = 1024;

/// The signed-in browsers.
pub(crate) struct Sessions {
    by_id: Mutex<HashMap<[u8; 32], Session>>,
    /// Where sessions live instead, when nodes share a store.
    shared: Option<Arc<dyn SessionStore>>,
    /// Mark the cookie `Secure` (the public URL is https).
    secure: bool,
}

struct Session {
    csrf: String,
    last_used: Instant,
}

/// How a request proved it may use the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credential {
    /// `Authorization: Bearer <admin token>`.
    Bearer,
    /// A session cookie, with the session's CSRF token.
    Session { csrf: String },
}

impl Sessions {
    pub fn new(secure: bool, shared: Option<Arc<dyn SessionStore>>) -> Self {
        Self { by_id: Mutex::default(), shared, secure }
    }

    /// A new session: its id (for the cookie) and CSRF token.
    fn open(&self) -> Result<(String, String), ApiError> {
        let id = random_hex();
        let csrf = random_hex();
        if let Some(shared) = &self.shared {
            shared.open_session(digest(&id), &csrf, weft_core::run::now_ms(), IDLE.as_millis() as u64)?;
            return Ok((id, csrf));
        }
        let mut sessions = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        sessions.retain(|_, s| now.duration_since(s.last_used) < IDLE);
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions.iter().min_by_key(|(_, s)| s.last_used).map(|(k, _)| *k)
        {
            sessions.remove(&oldest);
        }
        sessions.insert(digest(&id), Session { csrf: csrf.clone(), last_used: now });
        Ok((id, csrf))
    }

    /// The CSRF token of the live session `id`, if there is one (and mark it
    /// used). A shared store that does not answer signs nobody in.
    fn csrf_of(&self, id: &str) -> Option<String> {
        if let Some(shared) = &self.shared {
            return match shared.session(digest(id), weft_core::run::now_ms(), IDLE.as_millis() as u64) {
                Ok(csrf) => csrf,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read a browser session");
                    None
                }
            };
        }
        let mut sessions = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        let key = digest(id);
        let session = sessions.get_mut(&key)?;
        let now = Instant::now();
        if now.duration_since(session.last_used) >= IDLE {
            sessions.remove(&key);
            return None;
        }
        session.last_used = now;
        Some(session.csrf.clone())
    }

    fn close(&self, id: &str) -> Result<(), ApiError> {
        if let Some(shared) = &self.shared {
            shared.close_session(digest(id))?;
        }
        self.by_id.lock().unwrap_or_else(|p| p.into_inner()).remove(&digest(id));
        Ok(())
    }

    fn cookie(&self, value: &str, max_age: Duration) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let cookie =
            format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}", max_age.as_secs());
        HeaderValue::from_str(&cookie).expect("a cookie of hex digits is a valid header")
    }
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS gives random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// The bearer token of a request, if it presents one.
pub(crate) fn presented_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// How the request authenticates, if it does.
pub(crate) fn credential(state: &super::AppState, headers: &HeaderMap) -> Option<Credential> {
    if let Some(token) = presented_token(headers) {
        return bool::from(token_hash(token).ct_eq(&state.token_hash)).then_some(Credential::Bearer);
    }
    let id = cookie_value(headers, COOKIE)?;
    state.sessions.csrf_of(id).map(|csrf| Credential::Session { csrf })
}

/// Whether a cookie-authenticated request may do what it asks: safe
/// methods always; others only with the session's CSRF token.
pub(crate) fn csrf_ok(method: &axum::http::Method, headers: &HeaderMap, credential: &Credential) -> bool {
    match credential {
        Credential::Bearer => true,
        Credential::Session { csrf } => {
            method == axum::http::Method::GET
                || method == axum::http::Method::HEAD
                || headers
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|sent| bool::from(sent.as_bytes().ct_eq(csrf.as_bytes())))
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    token: String,
}

/// `POST /api/session`: sign in with the admin token.
pub(crate) async fn sign_in(State(state): State<Shared>, body: axum::body::Bytes) -> Response {
    let sign_in: SignIn = match super::api::parse_json(&body) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    if !bool::from(token_hash(sign_in.token.trim()).ct_eq(&state.token_hash)) {
        return ApiError::new(StatusCode::UNAUTHORIZED, "the admin token is not valid").into_response();
    }
    let (id, csrf) = match state.sessions.open() {
        Ok(opened) => opened,
        Err(e) => return e.into_response(),
    };
    let mut response = axum::Json(json!({ "csrf": csrf })).into_response();
    response.headers_mut().insert(header::SET_COOKIE, state.sessions.cookie(&id, IDLE));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /api/session`: the CSRF token of the signed-in browser (a page
/// loaded again asks for it; other sites cannot read the answer).
pub(crate) async fn current(State(state): State<Shared>, headers: HeaderMap) -> Response {
    match cookie_value(&headers, COOKIE).and_then(|id| state.sessions.csrf_of(id)) {
        Some(csrf) => {
            let mut response = axum::Json(json!({ "csrf": csrf })).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        None => ApiError::new(StatusCode::UNAUTHORIZED, "not signed in").into_response(),
    }
}

/// `DELETE /api/session`: sign out (with the CSRF token).
pub(crate) async fn sign_out(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let Some(id) = cookie_value(&headers, COOKIE) else {
        return ApiError::new(StatusCode::UNAUTHORIZED, "not signed in").into_response();
    };
    let Some(csrf) = state.sessions.csrf_of(id) else {
        return ApiError::new(StatusCode::UNAUTHORIZED, "not signed in").into_response();
    };
    if !csrf_ok(&axum::http::Method::DELETE, &headers, &Credential::Session { csrf }) {
        return csrf_refused();
    }
    if let Err(e) = state.sessions.close(id) {
        return e.into_response();
    }
    let mut response = axum::Json(json!({ "signed_out": true })).into_response();
    response.headers_mut().insert(header::SET_COOKIE, state.sessions.cookie("", Duration::ZERO));
    response
}

/// The answer to a cookie-authenticated change without the CSRF token.
pub(crate) fn csrf_refused() -> Response {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "this request changes something and is authenticated by a session cookie: send the session's CSRF token in X-Weft-Csrf",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others_and_sessions_expire_on_close() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; weft_session=abc ; b=2"));
        assert_eq!(cookie_value(&headers, COOKIE), Some("abc"));
        assert_eq!(cookie_value(&headers, "weft"), None);

        let sessions = Sessions::new(true, None);
        let (id, csrf) = sessions.open().unwrap();
        assert_eq!((id.len(), csrf.len()), (64, 64));
        assert_eq!(sessions.csrf_of(&id), Some(csrf.clone()));
        assert_eq!(sessions.csrf_of(&csrf), None, "the CSRF token is not a session id");
        let cookie = sessions.cookie(&id, IDLE);
        let cookie = cookie.to_str().unwrap();
        for part in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(cookie.contains(part), "{cookie} lacks {part}");
        }
        sessions.close(&id).unwrap();
        assert_eq!(sessions.csrf_of(&id), None);
    }

    #[test]
    fn changes_need_the_csrf_token_but_reads_do_not() {
        use axum::http::Method;
        let session = Credential::Session { csrf: "t0k".into() };
        let mut headers = HeaderMap::new();
        assert!(csrf_ok(&Method::GET, &headers, &session));
        assert!(!csrf_ok(&Method::POST, &headers, &session));
        headers.insert(CSRF_HEADER, HeaderValue::from_static("wrong"));
        assert!(!csrf_ok(&Method::DELETE, &headers, &session));
        headers.insert(CSRF_HEADER, HeaderValue::from_static("t0k"));
        assert!(csrf_ok(&Method::PUT, &headers, &session));
        assert!(csrf_ok(&Method::POST, &HeaderMap::new(), &Credential::Bearer));
    }
}
