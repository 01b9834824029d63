//! A small HTTP client over `wasi:http/outgoing-handler`.
//!
//! The host checks every request against the hosts granted to the connection;
//! a refused request fails with [`Error::Fatal`] naming the URL. Redirects are
//! followed (up to [`Request::max_redirects`]) by issuing a new request, which
//! the host checks again, so a granted host cannot redirect a plugin somewhere
//! it was not granted.
//!
//! Build a [`Request`], [`send`](Request::send) it, and read the [`Response`];
//! [`Response::error_for_status`] turns error statuses into the [`Error`] the
//! engine should act on. The body is read whole; the host caps its size. A
//! request can only be sent inside weft's sandbox: on any other target `send`
//! aborts the process, so the examples that send are compiled but not run.
//!
//! # Examples
//!
//! ```no_run
//! # fn main() -> weft_sdk::Result<()> {
//! use weft_sdk::{http, json};
//! let created: weft_sdk::Value = http::Request::post("https://api.example.com/contacts")
//!     .header("authorization", "Bearer …")
//!     .json(&json!({ "name": "Ada" }))?
//!     .send()?
//!     .error_for_status()?
//!     .json()?;
//! # Ok(()) }
//! ```

use crate::connector::bindings::wasi::http::outgoing_handler;
use crate::connector::bindings::wasi::http::types::{
    ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme, http_error_code,
};
use crate::connector::bindings::wasi::io::streams::StreamError;
use crate::{Error, Result, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// An outgoing request, built then [`send`](Request::send)-ed.
///
/// Header names are sent in lower case; a request follows up to 5 redirects
/// unless told otherwise with [`max_redirects`](Request::max_redirects).
///
/// # Examples
///
/// ```no_run
/// # fn main() -> weft_sdk::Result<()> {
/// use std::time::Duration;
/// use weft_sdk::{Value, config, http};
///
/// let key = config::secret("api_key").unwrap_or_default();
/// let page: Value = http::Request::get("https://api.crm.example/v1/contacts")
///     .query("email", "ada@example.com")
///     .header("authorization", format!("Bearer {key}"))
///     .timeout(Duration::from_secs(10))
///     .send()?
///     .error_for_status()?
///     .json()?;
/// # let _ = page;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout: Option<Duration>,
    max_redirects: u32,
}

/// A response with its whole body read; returned by [`Request::send`].
///
/// Any status comes back as a response: call
/// [`error_for_status`](Response::error_for_status) to fail on error statuses,
/// or look at [`status`](Response::status) to handle some of them yourself.
///
/// # Examples
///
/// ```
/// use weft_sdk::http::Response;
/// use weft_sdk::json;
///
/// // A response as `Request::send` returns it.
/// let response = Response {
///     status: 201,
///     headers: vec![("content-type".into(), "application/json".into()), ("location".into(), "/contacts/7".into())],
///     body: br#"{"id":7}"#.to_vec(),
///     url: "https://api.crm.example/contacts".into(),
/// };
/// assert_eq!(response.header("Location"), Some("/contacts/7"));
/// assert_eq!(response.json::<weft_sdk::Value>()?, json!({ "id": 7 }));
/// # Ok::<(), weft_sdk::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Lower-case names, in the order received.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
    /// The URL that answered (after redirects).
    pub url: String,
}

impl Request {
    /// A request with any method (upper-cased).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> weft_sdk::Result<()> {
    /// use weft_sdk::http;
    ///
    /// let response = http::Request::new("options", "https://api.example.com/v1/contacts").send()?;
    /// let allowed = response.header("allow").unwrap_or_default();
    /// # let _ = allowed;
    /// # Ok(()) }
    /// ```
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            method: method.into().to_ascii_uppercase(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: None,
            max_redirects: 5,
        }
    }
    /// A GET request.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> weft_sdk::Result<()> {
    /// use weft_sdk::{Value, http};
    ///
    /// let contact: Value = http::Request::get("https://api.example.com/v1/contacts/7").send()?.error_for_status()?.json()?;
    /// # let _ = contact;
    /// # Ok(()) }
    /// ```
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }
    /// A POST request.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> weft_sdk::Result<()> {
    /// use weft_sdk::{Value, http, json};
    ///
    /// let created: Value = http::Request::post("https://api.example.com/v1/contacts")
    ///     .json(&json!({ "email": "ada@example.com" }))?
    ///     .send()?
    ///     .error_for_status()?
    ///     .json()?;
    /// # let _ = created;
    /// # Ok(()) }
    /// ```
    pub fn post(url: impl Into<String>) -> Self {
        Self::new("POST", url)
    }
    /// A PUT request.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> weft_sdk::Result<()> {
    /// use weft_sdk::{http, json};
    ///
    /// http::Request::put("https://api.example.com/v1/contacts/7")
    ///     .json(&json!({ "email": "ada@example.com", "name": "Ada Lovelace" }))?
    ///     .send()?
    ///     .error_for_status()?;
    /// # Ok(()) }
    /// ```
    pub fn put(url: impl Into<String>) -> Self {
        Self::new("PUT", url)
    }
    /// A PATCH request.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> weft_sdk::Result<()> {
    /// use weft_sdk::{http, json};
    ///
    /// http::Request::patch("https://api.example.com/v1/contacts/7")
    ///     .json(&json!({ "name": "Ada Lovelace" }))?
    ///     .send()?
    ///     .error_for_status()?;
    /// # Ok(()) }
    /// ```
    pub fn patch(url: impl Into<String>) -> Self {
        Self::new("PATCH", url)
    }
    /// A DELETE request.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> weft_sdk::Result<()> {
    /// use weft_sdk::http;
    ///
    /// let response = http::Request::delete("https://api.example.com/v1/contacts/7").send()?;
    /// if response.status != 404 {
    ///     // 404: deleted already, which is what was wanted.
    ///     response.error_for_status()?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn delete(url: impl Into<String>) -> Self {
        Self::new("DELETE", url)
    }

    /// Add a header; adding a name twice sends it twice.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> weft_sdk::Result<()> {
    /// use weft_sdk::{config, http};
    ///
    /// let token = config::secret("token").unwrap_or_default();
    /// let response = http::Request::get("https://api.github.com/user")
    ///     .header("authorization", format!("Bearer {token}"))
    ///     .header("accept", "application/vnd.github+json")
    ///     .header("user-agent", "weft")
    ///     .send()?;
    /// # let _ = response;
    /// # Ok(()) }
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Append `name=value` to the URL's query, both percent-encoded (see
    /// [`percent_encode`]).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> weft_sdk::Result<()> {
    /// use weft_sdk::http;
    ///
    /// // Sends GET https://api.example.com/v1/search?q=caf%C3%A9%20%26%20bar&limit=10
    /// let response = http::Request::get("https://api.example.com/v1/search")
    ///     .query("q", "café & bar")
    ///     .query("limit", "10")
    ///     .send()?;
    /// # let _ = response;
    /// # Ok(()) }
    /// ```
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.url.push(if self.url.contains('?') { '&' } else { '?' });
        self.url.push_str(&percent_encode(name));
        self.url.push('=');
        self.url.push_str(&percent_encode(value));
        self
    }

    /// A JSON body, with `content-type: application/json` unless a
    /// `content-type` header was added before.
    ///
    /// Fails with [`Error::InvalidInput`] when `body` cannot be serialized.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> weft_sdk::Result<()> {
    /// use weft_sdk::{http, json};
    ///
    /// http::Request::post("https://hooks.chat.example/services/T000/B000/XXXX")
    ///     .json(&json!({ "text": "Deploy finished" }))?
    ///     .send()?
    ///     .error_for_status()?;
    /// # Ok(()) }
    /// ```
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self> {
        self.body = serde_json::to_vec(body).map_err(|e| Error::invalid_input(format!("request body: {e}")))?;
        if !self.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
            self.headers.push(("content-type".into(), "application/json".into()));
        }
        Ok(self)
    }

    /// A raw body, sent as is; add its `content-type` with
    /// [`header`](Request::header).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> weft_sdk::Result<()> {
    /// use weft_sdk::http;
    ///
    /// let form = format!("grant_type=client_credentials&scope={}", http::percent_encode("read write"));
    /// let response = http::Request::post("https://auth.example.com/token")
    ///     .header("content-type", "application/x-www-form-urlencoded")
    ///     .body(form)
    ///     .send()?;
    /// # let _ = response;
    /// # Ok(()) }
    /// ```
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Time allowed to connect and to receive the first byte (the host caps it too).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> weft_sdk::Result<()> {
    /// use std::time::Duration;
    /// use weft_sdk::http;
    ///
    /// let response = http::Request::get("https://api.example.com/v1/report").timeout(Duration::from_secs(30)).send()?;
    /// # let _ = response;
    /// # Ok(()) }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How many redirects to follow (0 returns the 3xx response itself).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> weft_sdk::Result<()> {
    /// use weft_sdk::http;
    ///
    /// // Where does the download link point?
    /// let response = http::Request::get("https://files.example.com/latest").max_redirects(0).send()?;
    /// let target = response.header("location").map(str::to_owned);
    /// # let _ = target;
    /// # Ok(()) }
    /// ```
    pub fn max_redirects(mut self, n: u32) -> Self {
        self.max_redirects = n;
        self
    }

    /// Send the request, following redirects, and read the whole response.
    ///
    /// A 303, or a 301 or 302 answering a POST, turns the next hop into a GET
    /// without a body; the other redirects repeat the request. Every hop is
    /// checked by the host against the connection's grants. An error status is
    /// still an `Ok` response; a request the host refused is
    /// [`Error::Fatal`], and timeouts and failed connections are
    /// [`Error::Transient`].
    ///
    /// Only inside weft's sandbox: on any other target it aborts the process.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> weft_sdk::Result<()> {
    /// use weft_sdk::{Error, http};
    ///
    /// let response = http::Request::get("https://api.example.com/v1/contacts/7").send()?;
    /// match response.status {
    ///     404 => return Err(Error::invalid_input("there is no contact 7")),
    ///     _ => response.error_for_status()?,
    /// };
    /// # Ok(()) }
    /// ```
    pub fn send(self) -> Result<Response> {
        let mut req = self;
        let mut hops = 0;
        loop {
            let response = send_once(&req)?;
            let location = response.header("location").map(str::to_owned);
            match (response.status, location) {
                (301 | 302 | 303 | 307 | 308, Some(location)) if hops < req.max_redirects => {
                    hops += 1;
                    req.url = resolve(&req.url, &location)?;
                    if response.status == 303 || (matches!(response.status, 301 | 302) && req.method == "POST") {
                        req.method = "GET".into();
                        req.body.clear();
                        req.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
                    }
                }
                _ => return Ok(response),
            }
        }
    }
}

impl Response {
    /// The first header named `name` (case-insensitive).
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::http::Response;
    ///
    /// let response = Response {
    ///     status: 200,
    ///     headers: vec![("x-ratelimit-remaining".into(), "42".into())],
    ///     body: Vec::new(),
    ///     url: "https://api.example.com/v1/contacts".into(),
    /// };
    /// assert_eq!(response.header("X-RateLimit-Remaining"), Some("42"));
    /// assert_eq!(response.header("etag"), None);
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (`null` for an empty body).
    ///
    /// A body that is not the JSON expected is [`Error::Fatal`], naming the URL.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::http::Response;
    /// use weft_sdk::{Error, Value};
    ///
    /// let response = |body: &str| Response {
    ///     status: 200,
    ///     headers: Vec::new(),
    ///     body: body.as_bytes().to_vec(),
    ///     url: "https://api.example.com/v1/ids".into(),
    /// };
    /// assert_eq!(response("[1, 2, 3]").json::<Vec<u64>>()?, [1, 2, 3]);
    /// assert_eq!(response("").json::<Value>()?, Value::Null);
    /// assert!(matches!(response("<html>").json::<Value>(), Err(Error::Fatal(_))));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) { b"null" } else { &self.body };
        serde_json::from_slice(body)
            .map_err(|e| Error::fatal(format!("the response from {} is not the JSON expected: {e}", self.url)))
    }

    /// The body as JSON if it is JSON, else as a string.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::http::Response;
    /// use weft_sdk::json;
    ///
    /// let response = |body: &str| Response {
    ///     status: 200,
    ///     headers: Vec::new(),
    ///     body: body.as_bytes().to_vec(),
    ///     url: "https://hooks.chat.example/services/T000".into(),
    /// };
    /// assert_eq!(response(r#"{"ok":true}"#).json_or_text(), json!({ "ok": true }));
    /// assert_eq!(response("ok").json_or_text(), json!("ok"));
    /// ```
    pub fn json_or_text(&self) -> Value {
        self.json::<Value>().unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&self.body).into_owned()))
    }

    /// Turn error statuses into the [`Error`] the engine should act on:
    /// 401/403 → auth, 429 → rate-limited (with `retry-after`), 408 and 5xx →
    /// transient, other 4xx → invalid input.
    ///
    /// 2xx and 3xx responses pass through. The error's message names the
    /// URL, the status and the body.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::Error;
    /// use weft_sdk::http::Response;
    ///
    /// let response = |status: u16, headers: &[(&str, &str)]| Response {
    ///     status,
    ///     headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    ///     body: b"slow down".to_vec(),
    ///     url: "https://api.example.com/v1/contacts".into(),
    /// };
    ///
    /// assert!(response(200, &[]).error_for_status().is_ok());
    /// assert_eq!(
    ///     response(429, &[("retry-after", "30")]).error_for_status().unwrap_err(),
    ///     Error::rate_limited("https://api.example.com/v1/contacts answered 429: slow down", 30_000),
    /// );
    /// assert!(matches!(response(401, &[]).error_for_status(), Err(Error::Auth(_))));
    /// assert!(matches!(response(503, &[]).error_for_status(), Err(Error::Transient(_))));
    /// assert!(matches!(response(422, &[]).error_for_status(), Err(Error::InvalidInput(_))));
    /// ```
    pub fn error_for_status(self) -> Result<Self> {
        let detail = || format!("{} answered {}: {}", self.url, self.status, String::from_utf8_lossy(&self.body));
        match self.status {
            200..=399 => Ok(self),
            401 | 403 => Err(Error::auth(detail())),
            429 => {
                let retry_after_ms = self
                    .header("retry-after")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map_or(0, |s| s.saturating_mul(1000));
                Err(Error::rate_limited(detail(), retry_after_ms))
            }
            408 | 500..=599 => Err(Error::transient(detail())),
            _ => Err(Error::invalid_input(detail())),
        }
    }
}

/// Percent-encode `s` for a URL path segment or query component: every byte
/// but the unreserved ones (`A-Z a-z 0-9 - _ . ~`) becomes `%XX`.
///
/// # Examples
///
/// ```
/// use weft_sdk::http::percent_encode;
///
/// assert_eq!(percent_encode("café & bar"), "caf%C3%A9%20%26%20bar");
/// assert_eq!(percent_encode("a/b?c=d"), "a%2Fb%3Fc%3Dd");
/// assert_eq!(percent_encode("report-2025_01.v2~final"), "report-2025_01.v2~final");
///
/// let repo = "my repo";
/// let url = format!("https://api.example.com/repos/{}/issues", percent_encode(repo));
/// assert_eq!(url, "https://api.example.com/repos/my%20repo/issues");
/// ```
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

struct Url<'a> {
    scheme: &'a str,
    authority: &'a str,
    path_and_query: &'a str,
}

fn split_url(url: &str) -> Result<Url<'_>> {
    let bad = || Error::invalid_input(format!("{url:?} is not an absolute http(s) URL"));
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(bad());
    }
    let rest = rest.split('#').next().unwrap_or_default();
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(end);
    if authority.is_empty() || authority.contains('@') {
        return Err(bad());
    }
    Ok(Url { scheme, authority, path_and_query: if path_and_query.is_empty() { "/" } else { path_and_query } })
}

/// Resolve a `Location` header against the URL that sent it.
fn resolve(base: &str, location: &str) -> Result<String> {
    if location.contains("://") {
        return Ok(location.to_string());
    }
    let base = split_url(base)?;
    if let Some(rest) = location.strip_prefix("//") {
        return Ok(format!("{}://{rest}", base.scheme));
    }
    if location.starts_with('/') {
        return Ok(format!("{}://{}{location}", base.scheme, base.authority));
    }
    let path = base.path_and_query.split('?').next().unwrap_or("/");
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    Ok(format!("{}://{}{dir}{location}", base.scheme, base.authority))
}

fn send_once(req: &Request) -> Result<Response> {
    let url = split_url(&req.url)?;
    let fields: Vec<(String, Vec<u8>)> =
        req.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone().into_bytes())).collect();
    let headers = Fields::from_list(&fields)
        .map_err(|e| Error::invalid_input(format!("request headers for {}: {e:?}", req.url)))?;
    let outgoing = OutgoingRequest::new(headers);
    let method = match req.method.as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "CONNECT" => Method::Connect,
        "OPTIONS" => Method::Options,
        "TRACE" => Method::Trace,
        "PATCH" => Method::Patch,
        other => Method::Other(other.to_string()),
    };
    let invalid = |what: &str| Error::invalid_input(format!("{what} of {} is not accepted", req.url));
    outgoing.set_method(&method).map_err(|()| invalid("the method"))?;
    let scheme = if url.scheme.eq_ignore_ascii_case("https") { Scheme::Https } else { Scheme::Http };
    outgoing.set_scheme(Some(&scheme)).map_err(|()| invalid("the scheme"))?;
    outgoing.set_authority(Some(url.authority)).map_err(|()| invalid("the host"))?;
    outgoing.set_path_with_query(Some(url.path_and_query)).map_err(|()| invalid("the path"))?;

    let options = req.timeout.map(|t| {
        let options = RequestOptions::new();
        let nanos = u64::try_from(t.as_nanos()).unwrap_or(u64::MAX);
        // The host may refuse to set a timeout longer than its own cap; its cap applies then.
        let _ = options.set_connect_timeout(Some(nanos));
        let _ = options.set_first_byte_timeout(Some(nanos));
        options
    });

    let body = outgoing.body().map_err(|()| Error::fatal("the request body was already taken"))?;
    let pending = outgoing_handler::handle(outgoing, options).map_err(|e| error_code(&req.url, e))?;
    {
        let stream = body.write().map_err(|()| Error::fatal("the request body stream was already taken"))?;
        for chunk in req.body.chunks(4096) {
            stream.blocking_write_and_flush(chunk).map_err(|e| stream_error(&req.url, e))?;
        }
    }
    OutgoingBody::finish(body, None).map_err(|e| error_code(&req.url, e))?;

    pending.subscribe().block();
    let incoming = match pending.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(error_code(&req.url, code)),
        Some(Err(())) | None => {
            return Err(Error::fatal(format!("the response to {} was lost", req.url)));
        }
    };

    let status = incoming.status();
    let headers = incoming
        .headers()
        .entries()
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), String::from_utf8_lossy(&v).into_owned()))
        .collect();
    let body_resource = incoming.consume().map_err(|()| Error::fatal("the response body was already taken"))?;
    let mut body = Vec::new();
    {
        let stream = body_resource.stream().map_err(|()| Error::fatal("the response stream was already taken"))?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(e) => return Err(stream_error(&req.url, e)),
            }
        }
    }
    let _trailers = IncomingBody::finish(body_resource);
    Ok(Response { status, headers, body, url: req.url.clone() })
}

fn stream_error(url: &str, e: StreamError) -> Error {
    match e {
        StreamError::LastOperationFailed(err) => match http_error_code(&err) {
            Some(code) => error_code(url, code),
            // Some hosts report their body caps only as text.
            None if err.to_debug_string().contains("size exceeds limit") => {
                Error::fatal(format!("{url}: {}", err.to_debug_string()))
            }
            None => Error::transient(format!("{url}: {}", err.to_debug_string())),
        },
        StreamError::Closed => Error::transient(format!("{url}: the connection closed early")),
    }
}

fn error_code(url: &str, code: ErrorCode) -> Error {
    match code {
        ErrorCode::HttpRequestDenied => Error::fatal(format!("weft denied the request to {url}")),
        ErrorCode::HttpResponseBodySize(limit) => Error::fatal(format!(
            "the response from {url} is larger than the host allows ({} bytes)",
            limit.map_or_else(|| "?".to_string(), |l| l.to_string())
        )),
        ErrorCode::HttpRequestBodySize(_) => {
            Error::invalid_input(format!("the request body for {url} is larger than the host allows"))
        }
        ErrorCode::DnsError(_)
        | ErrorCode::DnsTimeout
        | ErrorCode::DestinationNotFound
        | ErrorCode::DestinationUnavailable
        | ErrorCode::ConnectionRefused
        | ErrorCode::ConnectionTerminated
        | ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::ConnectionLimitReached
        | ErrorCode::HttpResponseTimeout
        | ErrorCode::HttpResponseIncomplete => Error::transient(format!("{url}: {code:?}")),
        other => Error::fatal(format!("{url}: {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_locations() {
        assert_eq!(resolve("http://a:1/x/y?q=1", "/z").unwrap(), "http://a:1/z");
        assert_eq!(resolve("http://a:1/x/y", "z").unwrap(), "http://a:1/x/z");
        assert_eq!(resolve("https://a/x", "//b/c").unwrap(), "https://b/c");
        assert_eq!(resolve("http://a/x", "http://evil/").unwrap(), "http://evil/");
    }

    #[test]
    fn splits_urls() {
        let u = split_url("http://127.0.0.1:8080/a/b?c=d#frag").unwrap();
        assert_eq!((u.scheme, u.authority, u.path_and_query), ("http", "127.0.0.1:8080", "/a/b?c=d"));
        assert_eq!(split_url("https://h").unwrap().path_and_query, "/");
        assert!(split_url("ftp://h/").is_err());
        assert!(split_url("http://user@h/").is_err());
        assert!(split_url("/relative").is_err());
    }
}
