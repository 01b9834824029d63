//! # weft-server
//!
//! The HTTP surface: webhook ingress (`/hooks/`), the admin API (`/api/`),
//! `/healthz` and `/metrics`, and the accept loop that bounds every client
//! ([`listen`]). The CLI's client of the admin API is here too ([`client`]).
//!
//! [`Server::new`] takes the running parts — the store, the plugin registry,
//! the executor, the triggers and the pruner — as the `weft` binary wired
//! them; [`Server::router`] is the whole HTTP surface (tests drive it over a
//! real socket); [`Server::serve`] runs it with the workers and the trigger
//! loop until a shutdown signal.
//!
//! The admin API takes `Authorization: Bearer <token>`, or the session
//! cookie the web UI gets for the token ([`session`]). Only the token's
//! SHA-256 is kept ([`token_hash`]), and requests are checked by comparing
//! hashes in constant time. The web UI itself is served from files embedded
//! at build time ([`ui`]).
//!
//! **Architecture invariant:** this is the only weft crate that serves HTTP
//! (axum, hyper's server). It reaches storage and plugins only through
//! `weft-core`'s traits ([`Store`], [`PluginRegistry`]) and the flow engine's
//! types: it names no wasmtime, no sled and no store crate (`cargo xtask
//! edges` enforces it).

mod api;
pub mod client;
mod events;
mod hooks;
pub mod listen;
mod metrics;
pub mod session;
pub mod ui;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use weft_core::Store;
use weft_core::catalog::PluginRegistry;
use weft_flow::retention::Pruner;
use weft_flow::{Executor, Triggers};

/// What the server serves: the parts the `weft` binary wired together.
pub struct Parts {
    /// Flows, runs, triggers and connections.
    pub store: Arc<dyn Store>,
    /// The installed plugins.
    pub plugins: Arc<dyn PluginRegistry>,
    pub executor: Executor,
    pub triggers: Triggers,
    pub pruner: Pruner,
    /// The admin token's [`token_hash`].
    pub token_hash: [u8; 32],
    /// Where browser sessions live when nodes share a store (else in memory).
    pub sessions: Option<Arc<dyn weft_core::SessionStore>>,
    /// Authorizes OAuth 2.0 connections.
    pub authorizer: Arc<dyn weft_core::oauth::Authorizer>,
    /// Replays recorded runs.
    pub replays: Arc<dyn weft_core::replay::Replays>,
    /// The URL people and applications reach this node at (the OAuth callback is under it).
    pub public_url: String,
}

/// How the server treats requests.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest request body on `/hooks/` and `/api/` (plugin uploads: 64 MiB).
    pub max_body: usize,
    /// How long clients may take, and how many may be connected.
    pub connections: listen::ConnectionLimits,
    /// Mark the session cookie `Secure`: browsers reach weft over https.
    pub secure_cookies: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self { max_body: 1 << 20, connections: listen::ConnectionLimits::default(), secure_cookies: false }
    }
}

/// The running parts, shared by every request.
pub(crate) struct AppState {
    pub store: Arc<dyn Store>,
    pub plugins: Arc<dyn PluginRegistry>,
    pub executor: Executor,
    pub triggers: Triggers,
    pub pruner: Pruner,
    pub max_body: usize,
    pub body_timeout: Duration,
    /// Bytes of request bodies that may be held at once (see [`read_body`]).
    pub bodies: Arc<tokio::sync::Semaphore>,
    pub token_hash: [u8; 32],
    pub authorizer: Arc<dyn weft_core::oauth::Authorizer>,
    pub replays: Arc<dyn weft_core::replay::Replays>,
    pub public_url: String,
    pub sessions: session::Sessions,
    pub metrics: metrics::Metrics,
    /// Set when the server stops: long-lived answers (the event stream) end.
    pub closing: tokio::sync::watch::Sender<bool>,
}

type Shared = Arc<AppState>;

/// weft's HTTP server.
pub struct Server {
    state: Shared,
    config: HttpConfig,
}

/// What the server keeps of the admin token: its SHA-256.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Server {
    /// A server of `parts`.
    pub fn new(parts: Parts, config: HttpConfig) -> Self {
        let state = Arc::new(AppState {
            store: parts.store,
            plugins: parts.plugins,
            executor: parts.executor,
            triggers: parts.triggers,
            pruner: parts.pruner,
            max_body: config.max_body,
            body_timeout: config.connections.body_timeout,
            bodies: Arc::new(tokio::sync::Semaphore::new(BODIES_IN_FLIGHT)),
            token_hash: parts.token_hash,
            authorizer: parts.authorizer,
            replays: parts.replays,
            public_url: parts.public_url,
            sessions: session::Sessions::new(config.secure_cookies, parts.sessions),
            metrics: metrics::Metrics::default(),
            closing: tokio::sync::watch::channel(false).0,
        });
        Self { state, config }
    }

    /// The whole HTTP surface.
    pub fn router(&self) -> Router {
        let state = self.state.clone();
        let api = api::routes()
            .route("/events", axum::routing::get(events::stream))
            .layer(axum::middleware::from_fn_with_state(state.clone(), require_token))
            .route("/openapi.json", axum::routing::get(api::openapi))
            .route("/session", axum::routing::get(session::current).post(session::sign_in).delete(session::sign_out))
            .layer(axum::middleware::map_response(|mut response: Response| async move {
                ui::secure_headers(response.headers_mut());
                response
            }));
        Router::new()
            .nest("/api", api)
            .route(
                "/metrics",
                axum::routing::get(metrics::render)
                    .layer(axum::middleware::from_fn_with_state(state.clone(), require_token)),
            )
            .route("/healthz", axum::routing::get(healthz))
            .route("/oauth/callback", axum::routing::get(api::oauth_callback))
            .merge(hooks::routes())
            // Other GETs are the web UI's; unknown paths and methods answer
            // like every other error: `{"error"}`.
            .fallback(|method: axum::http::Method, uri: axum::http::Uri, headers: axum::http::HeaderMap| async move {
                let path = uri.path();
                let ui_path = !path.starts_with("/api/") && !path.starts_with("/hooks/");
                if ui_path && (method == axum::http::Method::GET || method == axum::http::Method::HEAD) {
                    return ui::serve(&method, &uri, &headers);
                }
                ApiError::not_found(format!("there is nothing at {method} {}", loggable_path(path))).into_response()
            })
            .method_not_allowed_fallback(|method: axum::http::Method, uri: axum::http::Uri| async move {
                ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    format!("{method} is not allowed on {}", loggable_path(uri.path())),
                )
            })
            .layer(DefaultBodyLimit::max(self.config.max_body))
            .layer(axum::middleware::from_fn_with_state(state.clone(), read_body))
            .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(|request: &Request| {
                tracing::debug_span!("request", method = %request.method(), path = %loggable_path(request.uri().path()))
            }))
            .with_state(state)
    }

    /// Serve until `shutdown` resolves: re-check subscriptions, resume
    /// interrupted runs, run the workers and the trigger loop, answer HTTP.
    /// In-flight requests finish before it returns.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = self.state.clone();
        let (checked, problems) = state.triggers.recheck_all().await;
        for (flow, problem) in &problems {
            eprintln!("warning: flow {flow}: {problem}");
        }
        eprintln!("subscriptions re-checked ({checked} active flows, {} problems)", problems.len());
        let executor = state.executor.clone();
        let workers = tokio::spawn(async move {
            if let Err(e) = executor.work().await {
                tracing::error!(error = %e, "the executor stopped");
            }
        });
        let triggers = state.triggers.clone();
        let trigger_loop = tokio::spawn(async move { triggers.run().await });
        let stop_pruning = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let pruner = state.pruner.clone();
        let stop = stop_pruning.clone();
        let prune_thread = std::thread::Builder::new().name("weft-pruner".into()).spawn(move || {
            lowest_thread_priority();
            pruner.run_blocking(&stop);
        })?;
        let closing = state.clone();
        let shutdown = async move {
            shutdown.await;
            closing.closing.send_replace(true);
        };
        let result = listen::serve(listener, self.router(), self.config.connections, shutdown).await;
        workers.abort();
        trigger_loop.abort();
        stop_pruning.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = tokio::task::spawn_blocking(move || prune_thread.join()).await;
        result?;
        Ok(())
    }
}

/// Background work (pruning) gives way to everything else: nice 19 (Linux;
/// the nice value is per thread).
fn lowest_thread_priority() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(None, 19) {
        tracing::warn!("cannot lower the priority of the pruner's thread: {e}");
    }
}

/// A request path fit for logs: a webhook token is a credential, so only its first 4 digits show.
fn loggable_path(path: &str) -> String {
    match path.strip_prefix("/hooks/") {
        Some(rest) => format!("/hooks/{}…", rest.get(..4).unwrap_or(rest)),
        None => path.to_string(),
    }
}

/// An error at the HTTP edge: a status and a message that says what to do.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    /// An invalid flow's problems, each with its path (`steps.create.input.url`).
    problems: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), problems: None }
    }

    /// 422 for an invalid flow, its problems listed apart as well.
    pub fn invalid(flow: &weft_flow::validate::InvalidFlow) -> Self {
        Self {
            problems: Some(api::problems_json(&flow.problems)),
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, flow.to_string())
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
}

/// `axum::extract::Path`, whose rejections (a segment that is not UTF-8 once
/// decoded, say) answer like every other error: status + `{"error"}`.
pub(crate) struct PathParam<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> axum::extract::FromRequestParts<S> for PathParam<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(e) => Err(ApiError::new(e.status(), e.body_text())),
        }
    }
}

/// `axum::extract::Query`, with its rejections answered as `{"error"}` too.
pub(crate) struct QueryParam<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> axum::extract::FromRequestParts<S> for QueryParam<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(e) => Err(ApiError::new(e.status(), e.body_text())),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({ "error": self.message });
        if let Some(problems) = self.problems {
            body["problems"] = problems;
        }
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE && !response.headers().contains_key(header::RETRY_AFTER) {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(5));
        }
        response
    }
}

/// A store that cannot take or give what a request needs (a database that
/// does not answer): 503 with `Retry-After`, never a 2xx for what was not
/// stored; the client (or the load balancer, with another node) tries again.
impl From<weft_core::run::StoreFailure> for ApiError {
    fn from(e: weft_core::run::StoreFailure) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
    }
}

impl From<weft_flow::ExecError> for ApiError {
    fn from(e: weft_flow::ExecError) -> Self {
        use weft_flow::ExecError as E;
        let status = match &e {
            E::UnknownFlow(_) | E::UnknownRun(_) => StatusCode::NOT_FOUND,
            E::NotFailed(_) | E::Ended(..) | E::PluginMissing { .. } => StatusCode::CONFLICT,
            E::Invalid(invalid) => return Self::invalid(invalid),
            E::BadTest(_) => StatusCode::BAD_REQUEST,
            E::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        Self::new(status, e.to_string())
    }
}

impl From<weft_flow::triggers::ActivationError> for ApiError {
    fn from(e: weft_flow::triggers::ActivationError) -> Self {
        use weft_flow::triggers::ActivationError as E;
        match e {
            E::Exec(e) => e.into(),
            E::UnknownFlow(_) => Self::not_found(e.to_string()),
            E::Manual(_) => Self::new(StatusCode::CONFLICT, e.to_string()),
            E::Trigger { .. } => Self::new(StatusCode::BAD_GATEWAY, e.to_string()),
            E::Store(_) => Self::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        }
    }
}

/// Request bodies held in memory at once, all requests together; past it,
/// requests with a body get 503 and `Retry-After` until memory is given back.
const BODIES_IN_FLIGHT: usize = 256 << 20;

/// Read the whole request body before anything else sees it: within the size
/// limit (413 otherwise), within `--body-timeout` (408 otherwise), and within
/// what all bodies held at once may take ([`BODIES_IN_FLIGHT`], 503
/// otherwise), so a client that sends its body slowly holds no handler, and
/// many clients sending big bodies cannot take weft's memory. An admin API
/// request's body is read only once its token checks out.
async fn read_body(State(state): State<Shared>, request: Request, next: Next) -> Response {
    use http_body_util::BodyExt;
    let (parts, body) = request.into_parts();
    if parts.uri.path().starts_with("/api/")
        && parts.uri.path() != "/api/session"
        && session::credential(&state, &parts.headers).is_none()
    {
        // The token check answers it; its body is not worth reading.
        return next.run(Request::from_parts(parts, axum::body::Body::empty())).await;
    }
    let (limit, what) = if parts.method == axum::http::Method::POST && parts.uri.path() == "/api/plugins" {
        (api::MAX_PLUGIN_BYTES, "plugin uploads")
    } else {
        (state.max_body, "--max-body")
    };
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is over {} ({what}): send less", weft_core::human_bytes(limit as u64)),
        )
        .into_response()
    };
    let declared = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large();
    }
    let connection = parts.extensions.get::<Arc<listen::Connection>>().cloned();
    if let Some(c) = &connection {
        c.reading_body();
    }
    let read = tokio::time::timeout(state.body_timeout, async {
        let mut body = http_body_util::Limited::new(body, limit);
        let mut held = Vec::new();
        let mut chunks: Vec<bytes::Bytes> = Vec::new();
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame?.into_data() else { continue };
            let Ok(permit) = state.bodies.clone().try_acquire_many_owned(data.len().min(BODIES_IN_FLIGHT) as u32)
            else {
                return Ok(None);
            };
            held.push(permit);
            chunks.push(data);
        }
        let bytes = match chunks.len() {
            1 => chunks.pop().unwrap_or_default(),
            _ => chunks.concat().into(),
        };
        Ok::<_, axum::BoxError>(Some((bytes, held)))
    })
    .await;
    if let Some(c) = &connection {
        c.handling();
    }
    let (bytes, _held) = match read {
        Ok(Ok(Some(read))) => read,
        Ok(Ok(None)) => {
            let mut response = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "weft is receiving too many request bodies at once; retry after the time in Retry-After",
            )
            .into_response();
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(1));
            return response;
        }
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => return too_large(),
        Ok(Err(e)) => return ApiError::bad_request(format!("the request body could not be read: {e}")).into_response(),
        Err(_) => {
            let mut response = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {} s (--body-timeout)",
                    state.body_timeout.as_secs_f64()
                ),
            )
            .into_response();
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
    };
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

/// `/healthz`: 200 `ok` while the store answers, 503 `unavailable` (with
/// the store's error) while it does not: a load balancer sends events elsewhere.
async fn healthz(State(state): State<Shared>) -> Response {
    let store = state.store.clone();
    let (health, backlog) = tokio::task::spawn_blocking(move || (store.health(), store.backlog().ok()))
        .await
        .unwrap_or_else(|_| (Default::default(), None));
    let up = health.error.is_none();
    let mut store = serde_json::json!({ "backend": health.backend, "target": health.target, "ok": up });
    if let Some(error) = &health.error {
        store["error"] = error.as_str().into();
    }
    if let Some(pool) = health.pool {
        store["pool"] = serde_json::json!({
            "max": pool.max, "open": pool.open, "idle": pool.idle, "waiting": pool.waiting,
        });
    }
    let body = axum::Json(serde_json::json!({
        "status": if up { "ok" } else { "unavailable" },
        "store": store,
        "plugins": state.plugins.installed_count(),
        "backlog": backlog.unwrap_or_default(),
        "executing": state.executor.running(),
    }));
    if up { body.into_response() } else { (StatusCode::SERVICE_UNAVAILABLE, body).into_response() }
}

/// The admin API's check: 401 unless the request presents the admin token
/// (`Authorization: Bearer`) or a live session cookie; 403 when a session
/// cookie asks for a change without the session's CSRF token.
async fn require_token(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let Some(credential) = session::credential(&state, request.headers()) else {
        let message = if session::presented_token(request.headers()).is_none() {
            "this endpoint needs `Authorization: Bearer <admin token>` (shown when weft first started) or a signed-in session"
        } else {
            "the admin token is not valid"
        };
        let mut response = ApiError::new(StatusCode::UNAUTHORIZED, message).into_response();
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"weft\""));
        return response;
    };
    if !session::csrf_ok(request.method(), request.headers(), &credential) {
        return session::csrf_refused();
    }
    next.run(request).await
}
