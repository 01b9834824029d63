//! Outbound HTTP: `wasi:http/outgoing-handler`, with the host deciding each request.
//!
//! A request goes out only when
//! 1. its host (and port) matches one of the connection's [`HostRule`]s, and
//! 2. every address the host resolves to is globally reachable, or the rule
//!    names that address explicitly (an IP literal, or `localhost` for
//!    loopback). Everything the IANA special-purpose registries mark as not
//!    globally reachable — loopback, private, link-local (cloud metadata:
//!    169.254.169.254), CGNAT, documentation, benchmarking, 6to4, Teredo… —
//!    is refused otherwise (see [`super::address`]).
//!
//! Plain-HTTP connections go to the exact address that was checked, so DNS
//! cannot change between check and connect. (HTTPS connects by name for SNI
//! and certificate checks; its address is checked just before.) wasi:http does
//! not follow redirects: a guest that follows one sends a new request, which
//! is checked again. Request and response bodies are size-capped and every
//! wait is time-capped. A refused request fails with `HttpRequestDenied`; the
//! reason (and any cap a body ran into) goes to the host log and into the
//! call's error.

use super::address::non_public;
use super::io::{Answer, Tape};
use crate::limits::Limits;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};
use weft_core::connection::{HostRule, HostRules};
use weft_core::oauth::{AuthError, Credentials, Lent, OAuth2Spec};

/// Why a request did not go out.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Policy: the guest gets `HttpRequestDenied`.
    Denied(String),
    /// The name did not resolve.
    Dns(String),
}

/// Decide a request to `host:port`: the addresses to connect to, or why not.
pub async fn check(rules: &[HostRule], host: &str, port: u16) -> Result<Vec<SocketAddr>, Refusal> {
    let host = host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase();
    let literal = host.parse::<IpAddr>().ok();
    let Some(rule) = rules.iter().find(|r| r.matches(&host, literal, port)) else {
        let granted = if rules.is_empty() {
            "no hosts are granted".to_string()
        } else {
            format!("granted: {}", rules.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
        };
        return Err(Refusal::Denied(format!("{host}:{port} is not granted to this connection ({granted})")));
    };
    let addrs: Vec<SocketAddr> = match literal {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| Refusal::Dns(format!("cannot resolve {host}: {e}")))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(Refusal::Dns(format!("{host} resolves to no address")));
    }
    for addr in &addrs {
        if let Some(why) = non_public(addr.ip())
            && !rule.names_address(addr.ip())
        {
            let grant = SocketAddr::new(addr.ip(), port);
            return Err(Refusal::Denied(format!(
                "{host} resolves to {}, which is not globally reachable: {why}; such addresses need an explicit grant (e.g. {grant})",
                addr.ip()
            )));
        }
    }
    Ok(addrs)
}

/// The `wasi:http` hooks of one call: policy, caps, and the record of refusals.
pub struct OutboundHttp {
    plugin: Arc<str>,
    rules: HostRules,
    max_request_bytes: u64,
    max_response_bytes: u64,
    timeout: Duration,
    refusals: Arc<Mutex<Vec<String>>>,
    /// Whether the host's policy denied a request (not a cap or a DNS failure).
    denied: Arc<std::sync::atomic::AtomicBool>,
    /// Fuel the requests sent since this was last asked cost.
    charged: u64,
    /// The host's OAuth tokens, for a connection that has them.
    lender: Option<Arc<Lender>>,
    /// Records the exchanges, or answers them from a recording.
    tape: Option<Arc<Tape>>,
}

/// Lends a connection's OAuth token to the requests that go to the token's
/// hosts, and remembers what it lent (to redact) and why it could not.
pub struct Lender {
    pub credentials: Arc<dyn Credentials>,
    pub connection: String,
    pub spec: Arc<OAuth2Spec>,
    /// Tokens lent during the call, kept out of logs and errors.
    pub lent: Mutex<Vec<String>>,
    /// Why a token could not be had (the call then fails with it).
    pub failure: Mutex<Option<AuthError>>,
}

impl Lender {
    fn fail(&self, why: AuthError) {
        if let Ok(mut f) = self.failure.lock() {
            f.get_or_insert(why);
        }
    }

    fn remember(&self, lent: &Lent) {
        if let Ok(mut l) = self.lent.lock()
            && !l.contains(&lent.token)
        {
            l.push(lent.token.clone());
        }
    }
}

impl OutboundHttp {
    pub fn new(
        plugin: Arc<str>,
        rules: HostRules,
        limits: &Limits,
        lender: Option<Arc<Lender>>,
        tape: Option<Arc<Tape>>,
    ) -> Self {
        Self {
            plugin,
            rules,
            max_request_bytes: limits.max_http_request_bytes,
            max_response_bytes: limits.max_http_response_bytes,
            timeout: limits.http_timeout,
            refusals: Arc::default(),
            denied: Arc::default(),
            charged: 0,
            lender,
            tape,
        }
    }

    /// What the requests sent since this was last asked cost in fuel.
    pub fn take_charged(&mut self) -> u64 {
        std::mem::take(&mut self.charged)
    }

    /// Requests refused or cut short during this call, with why.
    pub fn refusals(&self) -> Vec<String> {
        self.refusals.lock().map(|d| d.clone()).unwrap_or_default()
    }

    /// Whether the host's policy denied a request of this call (an ungranted
    /// host, a non-public address).
    pub fn denied(&self) -> bool {
        self.denied.load(std::sync::atomic::Ordering::Relaxed)
    }
}

type SendResult = Result<(http::Response<WasiBody>, Box<dyn Future<Output = Result<(), HttpError>> + Send>), HttpError>;

/// Where a checked request goes and under which caps.
#[derive(Clone)]
struct Route {
    https: bool,
    options: RequestOptions,
    max_request: u64,
    max_response: u64,
}

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        drop(fut);
        self.charged = self.charged.saturating_add(super::fuel::HTTP_REQUEST);
        let plugin = self.plugin.clone();
        let rules = self.rules.clone();
        let refusals = self.refusals.clone();
        let denied = self.denied.clone();
        let lender = self.lender.clone();
        let tape = self.tape.clone();
        let (max_request, max_response, cap) = (self.max_request_bytes, self.max_response_bytes, self.timeout);
        Box::new(async move {
            let mut request = request;
            let uri = request.uri().clone();
            if let Some(tape) = tape.as_ref().filter(|t| t.replaying()) {
                let refused = Refused { list: refusals, what: format!("{} {uri}", request.method()) };
                return replay(tape, request, max_request, refused, &denied).await;
            }
            // The exchange as the plugin asked for it (before any token is lent or address pinned).
            let taped = tape.map(|t| {
                let at = t.begin(t.request(request.method().as_str(), &uri.to_string(), request.headers()));
                (t, at)
            });
            let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
            let host = uri.host().ok_or(HttpError::HttpRequestUriInvalid)?.to_string();
            let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
            let addrs = match check(&rules, &host, port).await {
                Ok(addrs) => addrs,
                Err(Refusal::Denied(reason)) => {
                    denied.store(true, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!(plugin = %plugin, %uri, %reason, "outbound HTTP request denied");
                    if let Some((t, at)) = &taped {
                        t.failed(*at, format!("denied: {reason}"));
                    }
                    Refused { list: refusals, what: format!("{} {uri}", request.method()) }.record(&reason);
                    return Err(HttpError::HttpRequestDenied);
                }
                Err(Refusal::Dns(reason)) => {
                    tracing::debug!(plugin = %plugin, %uri, %reason, "outbound HTTP: DNS failure");
                    if let Some((t, at)) = &taped {
                        t.failed(*at, format!("dns: {reason}"));
                    }
                    return Err(HttpError::DnsError { rcode: Some(reason), info_code: None });
                }
            };
            if let Some((t, at)) = &taped {
                let (t, at) = (t.clone(), *at);
                request = request.map(|body| Tee { inner: body, tape: t, at, response: false }.boxed_unsync());
            }
            if !https {
                *request.uri_mut() = pinned(&uri, addrs[0]).ok_or(HttpError::HttpRequestUriInvalid)?;
            }
            let capped = |t: Option<Duration>| Some(t.map_or(cap, |t| t.min(cap)));
            let options = options.unwrap_or_default();
            let options = RequestOptions {
                connect_timeout: capped(options.connect_timeout),
                first_byte_timeout: capped(options.first_byte_timeout),
                between_bytes_timeout: capped(options.between_bytes_timeout),
            };
            let route = Route { https, options, max_request, max_response };
            let what = format!("{} {}", request.method(), request.uri());
            let refused = Refused { list: refusals.clone(), what };
            let literal = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok();
            let host = host.to_ascii_lowercase();
            let sent = match lender {
                Some(lender) if lender.covers(&host, literal, port) => lend(&lender, request, &route, refused).await,
                _ => dispatch(request, &route, refused).await,
            };
            let Some((tape, at)) = taped else { return sent };
            match sent {
                Ok((response, io)) => {
                    tape.responded(at, response.status().as_u16(), response.headers());
                    let response = response.map(|body| Tee { inner: body, tape, at, response: true }.boxed_unsync());
                    Ok((response, io))
                }
                Err(e) => {
                    tape.failed(at, e.to_string());
                    Err(e)
                }
            }
        })
    }
}

impl Lender {
    /// Whether a request to `host:port` goes to one of the token's hosts.
    fn covers(&self, host: &str, ip: Option<IpAddr>, port: u16) -> bool {
        self.credentials
            .hosts(&self.connection, &self.spec)
            .is_some_and(|rules| rules.iter().any(|r| r.matches(host, ip, port)))
    }
}

/// Send a request to a token host with the connection's token; after a 401,
/// once more with a fresh one. The body is read first so it can be sent again.
async fn lend(lender: &Lender, request: http::Request<WasiBody>, route: &Route, refused: Refused) -> SendResult {
    let (parts, body) = request.into_parts();
    let body =
        CappedBody::new(body, route.max_request, Direction::Request, refused.clone()).collect().await?.to_bytes();
    let with = |lent: &Lent| -> Result<http::Request<WasiBody>, HttpError> {
        let (name, value) = &lent.header;
        let mut request = http::Request::from_parts(parts.clone(), whole(body.clone()));
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| HttpError::InternalError(Some("the OAuth header is not a valid header".into())))?;
        let value = http::HeaderValue::from_str(value)
            .map_err(|_| HttpError::InternalError(Some("the OAuth header is not a valid header".into())))?;
        request.headers_mut().insert(name, value);
        Ok(request)
    };
    let lent = match lender.credentials.token(&lender.connection, &lender.spec).await {
        Ok(Some(lent)) => lent,
        Ok(None) => {
            let request = http::Request::from_parts(parts, whole(body));
            return dispatch(request, route, refused).await;
        }
        Err(e) => {
            refused.record(&format!("no OAuth token: {e}"));
            lender.fail(e);
            return Err(HttpError::HttpRequestDenied);
        }
    };
    lender.remember(&lent);
    let (response, io) = dispatch(with(&lent)?, route, refused.clone()).await?;
    if response.status() != http::StatusCode::UNAUTHORIZED {
        return Ok((response, io));
    }
    drop(response);
    let fresh = match lender.credentials.rejected(&lender.connection, &lender.spec, &lent.token).await {
        Ok(Some(fresh)) => fresh,
        Ok(None) => return Err(HttpError::HttpRequestDenied),
        Err(e) => {
            refused.record(&format!("the application refused the OAuth token and a new one could not be had: {e}"));
            lender.fail(e);
            return Err(HttpError::HttpRequestDenied);
        }
    };
    lender.remember(&fresh);
    dispatch(with(&fresh)?, route, refused).await
}

/// `uri` sent to the checked address `addr` (plain HTTP), not to whatever its
/// name resolves to next.
fn pinned(uri: &http::Uri, addr: SocketAddr) -> Option<http::Uri> {
    let authority = match addr {
        SocketAddr::V4(a) => a.to_string(),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    };
    let mut parts = uri.clone().into_parts();
    parts.authority = Some(authority.parse().ok()?);
    http::Uri::from_parts(parts).ok()
}

/// Answer a request from the call's recording: nothing leaves the host.
async fn replay(
    tape: &Tape,
    request: http::Request<WasiBody>,
    max_request: u64,
    refused: Refused,
    denied: &std::sync::atomic::AtomicBool,
) -> SendResult {
    let (parts, body) = request.into_parts();
    let body = CappedBody::new(body, max_request, Direction::Request, refused.clone()).collect().await?.to_bytes();
    let deny = |reason: &str| {
        denied.store(true, std::sync::atomic::Ordering::Relaxed);
        refused.record(reason);
        HttpError::HttpRequestDenied
    };
    match tape.answer(parts.method.as_str(), &parts.uri.to_string(), &body) {
        Answer::Response(response) => {
            let response = response.map(whole);
            Ok((response, Box::new(async { Ok(()) })))
        }
        Answer::Missing(why) => Err(deny(&why)),
        Answer::Failed(e) => Err(match e.split_once(": ") {
            Some(("denied", reason)) => deny(reason),
            Some(("dns", reason)) => HttpError::DnsError { rcode: Some(reason.to_string()), info_code: None },
            _ => match e.as_str() {
                "connection refused" => HttpError::ConnectionRefused,
                "connection timeout" => HttpError::ConnectionTimeout,
                "HTTP response timeout" => HttpError::HttpResponseTimeout,
                _ => HttpError::InternalError(Some(e)),
            },
        }),
    }
}

/// A body that copies what passes into the call's recording.
struct Tee {
    inner: WasiBody,
    tape: Arc<Tape>,
    at: usize,
    response: bool,
}

impl Body for Tee {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    if self.response {
                        self.tape.response_bytes(self.at, data);
                    } else {
                        self.tape.request_bytes(self.at, data);
                    }
                }
            }
            Poll::Ready(Some(Err(e))) => self.tape.failed(self.at, e.to_string()),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A body already read whole.
fn whole(bytes: Bytes) -> WasiBody {
    Full::new(bytes).map_err(|e| match e {}).boxed_unsync()
}

/// Send a checked request under the caps.
async fn dispatch(request: http::Request<WasiBody>, route: &Route, refused: Refused) -> SendResult {
    let request = request
        .map(|body| CappedBody::new(body, route.max_request, Direction::Request, refused.clone()).boxed_unsync());
    let (response, io): (_, Box<dyn Future<Output = _> + Send>) = if route.https {
        let (response, io) = wasmtime_wasi_http::default_send_request(request, Some(route.options)).await?;
        (response.map(|body| body.boxed_unsync()), Box::new(io))
    } else {
        // The pool drives its connections itself: nothing for the caller to await.
        (pooled_send(request, &route.options).await?, Box::new(async { Ok(()) }))
    };
    let max_response = route.max_response;
    let response =
        response.map(|body| CappedBody::new(body, max_response, Direction::Response, refused).boxed_unsync());
    Ok((response, io))
}

/// Send a request the host makes itself (a token request) under the same
/// policy as a plugin's: `rules` decide, the caps apply; the whole response.
pub async fn send_own(
    rules: &[HostRule],
    request: http::Request<Vec<u8>>,
    limits: &Limits,
) -> Result<http::Response<Vec<u8>>, String> {
    let uri = request.uri().clone();
    let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
    let host = uri.host().ok_or_else(|| format!("{uri} has no host"))?.to_string();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let addrs = check(rules, &host, port).await.map_err(|r| match r {
        Refusal::Denied(why) | Refusal::Dns(why) => why,
    })?;
    let (mut parts, body) = request.into_parts();
    if !https {
        parts.uri = pinned(&uri, addrs[0]).ok_or_else(|| format!("{uri}: bad address"))?;
    }
    let authority = uri.authority().map(|a| a.as_str().to_string()).unwrap_or(host);
    parts.headers.insert(http::header::HOST, http::HeaderValue::from_str(&authority).map_err(|e| e.to_string())?);
    let request = http::Request::from_parts(parts, whole(Bytes::from(body)));
    let cap = limits.http_timeout;
    let options =
        RequestOptions { connect_timeout: Some(cap), first_byte_timeout: Some(cap), between_bytes_timeout: Some(cap) };
    let route = Route {
        https,
        options,
        max_request: limits.max_http_request_bytes,
        max_response: limits.max_http_response_bytes,
    };
    let refused = Refused { list: Arc::default(), what: format!("POST {uri}") };
    let work = async {
        let (response, io) = dispatch(request, &route, refused.clone()).await.map_err(|e| format!("{uri}: {e}"))?;
        let io = tokio::spawn(Box::into_pin(io));
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| format!("{uri}: reading the answer: {e}"))?.to_bytes();
        io.abort();
        Ok::<_, String>(http::Response::from_parts(parts, body.to_vec()))
    };
    tokio::time::timeout(cap, work).await.map_err(|_| format!("{uri} did not answer within {cap:?}"))?
}

/// Keep-alive connections for plain HTTP, shared by every call in the
/// process, keyed by the checked address (`ip:port`) a request goes to. A
/// connection carries nothing of the call that opened it, so reusing it for
/// another plugin's request to the same address is no more than a proxy does;
/// it saves a TCP handshake (and a TIME_WAIT socket) per request.
type PooledClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::combinators::UnsyncBoxBody<Bytes, HttpError>,
>;

static POOL: std::sync::LazyLock<PooledClient> = std::sync::LazyLock::new(|| {
    let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
    connector.set_nodelay(true);
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(64)
        .set_host(false)
        .build(connector)
});

/// Send a plain-HTTP request on a pooled connection, under the request's
/// timeouts: connecting and the first byte within `first_byte_timeout`, then
/// each next frame of the body within `between_bytes_timeout`.
async fn pooled_send(
    request: http::Request<http_body_util::combinators::UnsyncBoxBody<Bytes, HttpError>>,
    options: &RequestOptions,
) -> Result<http::Response<WasiBody>, HttpError> {
    let first_byte = options.first_byte_timeout.unwrap_or(Duration::from_secs(600));
    let between = options.between_bytes_timeout.unwrap_or(Duration::from_secs(600)).max(Duration::from_nanos(1));
    let response = tokio::time::timeout(first_byte, POOL.request(request))
        .await
        .map_err(|_| HttpError::ConnectionReadTimeout)?
        .map_err(client_error)?;
    Ok(response.map(|incoming| TimedBody { incoming, between, deadline: None }.boxed_unsync()))
}

/// What a pooled request's failure is, in `wasi:http` terms.
fn client_error(error: hyper_util::client::legacy::Error) -> HttpError {
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        if let Some(e) = cause.downcast_ref::<hyper::Error>() {
            // hyper::Error is not Clone; re-derive the code from its kind.
            return if e.is_timeout() {
                HttpError::HttpResponseTimeout
            } else if e.is_incomplete_message() || e.is_closed() || e.is_canceled() {
                HttpError::HttpResponseIncomplete
            } else {
                HttpError::HttpProtocolError
            };
        }
        if let Some(e) = cause.downcast_ref::<std::io::Error>() {
            return HttpError::Connect(std::io::Error::new(e.kind(), e.to_string()));
        }
        source = cause.source();
    }
    if error.is_connect() { HttpError::ConnectionRefused } else { HttpError::HttpProtocolError }
}

/// A response body that fails when the next frame takes longer than `between`.
struct TimedBody {
    incoming: hyper::body::Incoming,
    between: Duration,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        match Pin::new(&mut self.incoming).poll_frame(cx) {
            Poll::Ready(frame) => {
                self.deadline = None;
                Poll::Ready(frame.map(|f| {
                    f.map_err(|e| if e.is_timeout() { HttpError::HttpResponseTimeout } else { HttpError::from(e) })
                }))
            }
            Poll::Pending => {
                let between = self.between;
                let deadline = self.deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(between)));
                match deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}

#[derive(Clone, Copy)]
enum Direction {
    Request,
    Response,
}

/// Where a call's refusals are recorded, and which request they concern.
#[derive(Clone)]
struct Refused {
    list: Arc<Mutex<Vec<String>>>,
    what: String,
}

impl Refused {
    fn record(&self, reason: &str) {
        if let Ok(mut list) = self.list.lock()
            && list.len() < 32
        {
            list.push(format!("{}: {reason}", self.what));
        }
    }
}

/// A body that fails once more than `limit` bytes have passed.
struct CappedBody {
    inner: WasiBody,
    remaining: u64,
    limit: u64,
    direction: Direction,
    refused: Refused,
}

impl CappedBody {
    fn new(inner: WasiBody, limit: u64, direction: Direction, refused: Refused) -> Self {
        Self { inner, remaining: limit, limit, direction, refused }
    }
}

impl Body for CappedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            let len = data.len() as u64;
            if len > self.remaining {
                let what = match self.direction {
                    Direction::Request => "request",
                    Direction::Response => "response",
                };
                let cap = weft_core::human_bytes(self.limit);
                self.refused.record(&format!("the {what} body is over the {cap} cap"));
                let limit = Some(self.limit);
                return Poll::Ready(Some(Err(match self.direction {
                    Direction::Request => HttpError::HttpRequestBodySize(limit),
                    Direction::Response => HttpError::HttpResponseBodySize(limit),
                })));
            }
            self.remaining -= len;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(list: &[&str]) -> Vec<HostRule> {
        list.iter().map(|r| r.parse().unwrap()).collect()
    }

    #[tokio::test]
    async fn loopback_needs_an_explicit_grant() {
        let denied = check(&rules(&["*"]), "127.0.0.1", 80).await.unwrap_err();
        assert!(matches!(&denied, Refusal::Denied(m) if m.contains("loopback")), "{denied:?}");
        assert!(check(&rules(&["127.0.0.1"]), "127.0.0.1", 80).await.is_ok());
        assert!(check(&rules(&["127.0.0.1:8080"]), "127.0.0.1", 8080).await.is_ok());
        assert!(check(&rules(&["localhost"]), "localhost", 80).await.is_ok());
        let wrong_port = check(&rules(&["127.0.0.1:8080"]), "127.0.0.1", 8081).await.unwrap_err();
        assert!(matches!(&wrong_port, Refusal::Denied(m) if m.contains("not granted")), "{wrong_port:?}");
        let metadata = check(&rules(&["*"]), "169.254.169.254", 80).await.unwrap_err();
        assert!(matches!(&metadata, Refusal::Denied(m) if m.contains("cloud metadata")), "{metadata:?}");
    }

    /// A connection granted `*` reaches only globally reachable addresses;
    /// naming an address grants it.
    #[tokio::test]
    async fn any_host_means_any_globally_reachable_host() {
        for host in [
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.1",
            "192.88.99.1",
            "198.18.0.1",
            "2002:c0a8:101::1",
            "[2002:a9fe:a9fe::]",
            "2001:0:4136:e378:8000:63bf:3f57:fefe",
            "::10.0.0.1",
            "::ffff:0:127.0.0.1",
            "3fff::1",
        ] {
            let denied = check(&rules(&["*"]), host, 80).await.unwrap_err();
            assert!(
                matches!(&denied, Refusal::Denied(m) if m.contains("is not globally reachable")),
                "{host}: {denied:?}"
            );
        }
        assert!(check(&rules(&["192.0.2.1"]), "192.0.2.1", 80).await.is_ok());
        assert!(check(&rules(&["[2002:c0a8:101::1]:80"]), "2002:c0a8:101::1", 80).await.is_ok());
        assert!(check(&rules(&["*"]), "93.184.216.34", 80).await.is_ok());
    }

    #[tokio::test]
    async fn names_must_match() {
        let r = rules(&["api.example.com", "*.hooks.example.com"]);
        let err = check(&r, "evil.com", 443).await.unwrap_err();
        assert_eq!(
            err,
            Refusal::Denied(
                "evil.com:443 is not granted to this connection (granted: api.example.com, *.hooks.example.com)".into()
            )
        );
        // A suffix rule does not match the bare domain, nor a lookalike.
        assert!(matches!(check(&r, "hooks.example.com", 443).await, Err(Refusal::Denied(_))));
        assert!(matches!(check(&r, "evilhooks.example.com", 443).await, Err(Refusal::Denied(_))));
        // An IP literal is not matched by a name rule.
        assert!(matches!(check(&rules(&["localhost"]), "127.0.0.1", 80).await, Err(Refusal::Denied(_))));
    }
}
