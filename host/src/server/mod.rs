//! The HTTP server: webhook ingress (`/hooks/`), the admin API (`/api/`),
//! `/healthz` and `/metrics`. The only module that names hyper (through axum).
//!
//! [`Server::open`] wires the data directory, the plugin registry, the
//! executor and the triggers together; [`Server::router`] is the whole HTTP
//! surface (tests drive it over a real socket); [`Server::serve`] runs it
//! with the workers and the trigger loop until a shutdown signal.
//!
//! The admin API takes `Authorization: Bearer <token>`. The token is made at
//! first start and shown once; only its SHA-256 is stored, and requests are
//! checked by comparing hashes in constant time.

mod api;
pub mod client;
mod hooks;
pub mod listen;
mod metrics;

use crate::flow::retention::{Pruner, PrunerConfig, RetentionPolicy};
use crate::flow::run::SystemClock;
use crate::flow::{Executor, ExecutorConfig, TriggerConfig, Triggers};
use crate::runtime::registry::Registry;
use crate::runtime::{Runtime, RuntimeConfig};
use crate::store::{Db, StoreOptions};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Plugin `.wasm` files (default `<data-dir>/plugins`).
    pub plugins_dir: PathBuf,
    /// Compiled components (default `<data-dir>/cache`).
    pub cache_dir: PathBuf,
    /// The base of webhook URLs (default `http://<listen>`).
    pub public_url: Option<String>,
    /// Runs executing at once.
    pub workers: usize,
    /// Runs queued or executing beyond which webhooks answer 429 and polls wait.
    pub max_backlog: usize,
    /// Events one webhook request or one poll may turn into runs.
    pub max_events_per_request: usize,
    /// Largest request body on `/hooks/` and `/api/` (plugin uploads: 64 MiB).
    pub max_body: usize,
    /// How long clients may take, and how many may be connected.
    pub connections: listen::ConnectionLimits,
    /// How long ended runs are kept, unless a flow says otherwise.
    pub retention: RetentionPolicy,
    /// How often ended runs are pruned.
    pub prune_interval: Duration,
    /// How the data directory is opened (sled's cache).
    pub store: StoreOptions,
    /// Use this admin token (stored hashed) instead of the existing or a generated one.
    pub admin_token: Option<String>,
}

impl ServerConfig {
    /// Serve `data_dir` on `listen` with every other setting at its default.
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            listen,
            plugins_dir: data_dir.join("plugins"),
            cache_dir: data_dir.join("cache"),
            data_dir,
            public_url: None,
            workers: 64,
            max_backlog: 10_000,
            max_events_per_request: 1_000,
            max_body: 1 << 20,
            connections: listen::ConnectionLimits::default(),
            retention: RetentionPolicy::default(),
            prune_interval: Duration::from_secs(60),
            store: StoreOptions::default(),
            admin_token: None,
        }
    }
}

/// The running parts, shared by every request.
pub(crate) struct AppState {
    pub db: Db,
    pub registry: Registry,
    pub executor: Executor,
    pub triggers: Triggers,
    pub pruner: Pruner,
    pub max_body: usize,
    pub body_timeout: Duration,
    /// Bytes of request bodies that may be held at once (see [`read_body`]).
    pub bodies: Arc<tokio::sync::Semaphore>,
    pub plugins_dir: PathBuf,
    pub token_hash: [u8; 32],
    pub metrics: metrics::Metrics,
}

type Shared = Arc<AppState>;

/// weft's server: open, then serve.
pub struct Server {
    state: Shared,
    config: ServerConfig,
    /// The admin token when it was made now (shown once).
    pub new_token: Option<String>,
    /// Plugin files that failed to load.
    pub skipped: Vec<(String, String)>,
    /// Keeps the registry in step with the plugins folder while the server lives.
    _watch: crate::runtime::watch::FolderWatch,
}

fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// A new admin token: `weft_` and 256 random bits in hex.
fn new_admin_token() -> String {
    let mut bytes = [0u8; 32];
    use chacha20poly1305::aead::rand_core::RngCore;
    chacha20poly1305::aead::OsRng.fill_bytes(&mut bytes);
    format!("weft_{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

impl Server {
    /// Open the data directory, load the plugins, and build the executor and triggers.
    pub async fn open(config: ServerConfig) -> anyhow::Result<Self> {
        let db = Db::open_with(&config.data_dir, config.store)?;
        let (token_hash, new_token) = match (&config.admin_token, db.admin_token_hash()?) {
            (Some(token), _) => {
                anyhow::ensure!(token.len() >= 16, "the admin token must be at least 16 characters");
                db.set_admin_token_hash(sha256(token))?;
                (sha256(token), None)
            }
            (None, Some(hash)) => (hash, None),
            (None, None) => {
                let token = new_admin_token();
                db.set_admin_token_hash(sha256(&token))?;
                (sha256(&token), Some(token))
            }
        };
        let runtime = Runtime::new(RuntimeConfig {
            db: Some(db.clone()),
            cache_dir: Some(config.cache_dir.clone()),
            ..Default::default()
        })?;
        let registry = Registry::new(runtime, db.clone(), Some(config.data_dir.join("versions")));
        std::fs::create_dir_all(&config.plugins_dir)?;
        // Watch first, so a file written while the folder loads is not missed.
        let watch = crate::runtime::watch::watch(registry.clone(), &config.plugins_dir)?;
        let skipped =
            registry.load_dir(&config.plugins_dir).await.into_iter().map(|(file, e)| (file, e.to_string())).collect();
        let clock = Arc::new(SystemClock);
        let executor = Executor::new(
            Arc::new(db.clone()),
            Arc::new(registry.clone()),
            clock.clone(),
            ExecutorConfig { workers: config.workers },
        );
        let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{}", config.listen));
        let triggers = Triggers::new(
            executor.clone(),
            Arc::new(db.clone()),
            Arc::new(registry.clone()),
            clock,
            TriggerConfig {
                public_url,
                max_backlog: config.max_backlog,
                max_events_per_request: config.max_events_per_request,
                sync_timeout: Duration::from_secs(30),
            },
        );
        let pruner = Pruner::new(
            Arc::new(db.clone()),
            Arc::new(SystemClock),
            config.retention,
            PrunerConfig { interval: config.prune_interval, ..PrunerConfig::default() },
        );
        let state = Arc::new(AppState {
            db,
            registry,
            executor,
            triggers,
            pruner,
            max_body: config.max_body,
            body_timeout: config.connections.body_timeout,
            bodies: Arc::new(tokio::sync::Semaphore::new(BODIES_IN_FLIGHT)),
            plugins_dir: config.plugins_dir.clone(),
            token_hash,
            metrics: metrics::Metrics::default(),
        });
        Ok(Self { state, config, new_token, skipped, _watch: watch })
    }

    /// The whole HTTP surface.
    pub fn router(&self) -> Router {
        let state = self.state.clone();
        let api = api::routes()
            .layer(axum::middleware::from_fn_with_state(state.clone(), require_token))
            .route("/openapi.json", axum::routing::get(api::openapi));
        Router::new()
            .nest("/api", api)
            .route(
                "/metrics",
                axum::routing::get(metrics::render)
                    .layer(axum::middleware::from_fn_with_state(state.clone(), require_token)),
            )
            .route("/healthz", axum::routing::get(healthz))
            .merge(hooks::routes())
            // Unknown paths and methods answer like every other error: `{"error"}`.
            .fallback(|method: axum::http::Method, uri: axum::http::Uri| async move {
                ApiError::not_found(format!("there is nothing at {method} {}", loggable_path(uri.path())))
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
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
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
pub(super) struct PathParam<T>(pub T);

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
pub(super) struct QueryParam<T>(pub T);

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
        (self.status, axum::Json(serde_json::json!({ "error": self.message }))).into_response()
    }
}

impl From<crate::flow::run::StoreFailure> for ApiError {
    fn from(e: crate::flow::run::StoreFailure) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

impl From<crate::flow::ExecError> for ApiError {
    fn from(e: crate::flow::ExecError) -> Self {
        use crate::flow::ExecError as E;
        let status = match &e {
            E::UnknownFlow(_) | E::UnknownRun(_) => StatusCode::NOT_FOUND,
            E::NotFailed(_) | E::Ended(..) | E::PluginMissing { .. } => StatusCode::CONFLICT,
            E::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            E::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, e.to_string())
    }
}

impl From<crate::flow::triggers::ActivationError> for ApiError {
    fn from(e: crate::flow::triggers::ActivationError) -> Self {
        use crate::flow::triggers::ActivationError as E;
        match e {
            E::Exec(e) => e.into(),
            E::UnknownFlow(_) => Self::not_found(e.to_string()),
            E::Manual(_) => Self::new(StatusCode::CONFLICT, e.to_string()),
            E::Trigger { .. } => Self::new(StatusCode::BAD_GATEWAY, e.to_string()),
            E::Store(_) => Self::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
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
    if parts.uri.path().starts_with("/api/") && !authorized(&state, &parts.headers) {
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
            format!("the request body is over {} ({what}): send less", crate::runtime::human_bytes(limit as u64)),
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

async fn healthz(State(state): State<Shared>) -> Response {
    let backlog = crate::flow::run::RunStore::backlog(&state.db).unwrap_or_default();
    axum::Json(serde_json::json!({
        "status": "ok",
        "plugins": state.registry.list().len(),
        "backlog": backlog,
        "executing": state.executor.running(),
    }))
    .into_response()
}

/// The admin token check: 401 unless `Authorization: Bearer <token>` hashes to the stored hash.
/// The bearer token of a request, if it presents one.
fn presented_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Whether the request presents the admin token.
fn authorized(state: &AppState, headers: &axum::http::HeaderMap) -> bool {
    presented_token(headers).is_some_and(|token| bool::from(sha256(token).ct_eq(&state.token_hash)))
}

async fn require_token(State(state): State<Shared>, request: Request, next: Next) -> Response {
    if !authorized(&state, request.headers()) {
        let presented = presented_token(request.headers());
        let message = if presented.is_none() {
            "this endpoint needs `Authorization: Bearer <admin token>` (shown when weft first started)"
        } else {
            "the admin token is not valid"
        };
        let mut response = ApiError::new(StatusCode::UNAUTHORIZED, message).into_response();
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"weft\""));
        return response;
    }
    next.run(request).await
}
