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
mod metrics;

use crate::flow::run::SystemClock;
use crate::flow::{Executor, ExecutorConfig, TriggerConfig, Triggers};
use crate::runtime::registry::Registry;
use crate::runtime::{Runtime, RuntimeConfig};
use crate::store::Db;
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
    /// Runs queued or executing beyond which webhooks answer 429.
    pub max_backlog: usize,
    /// Largest request body on `/hooks/` and `/api/` (plugin uploads: 64 MiB).
    pub max_body: usize,
    /// Use this admin token (stored hashed) instead of the existing or a generated one.
    pub admin_token: Option<String>,
}

/// The running parts, shared by every request.
pub(crate) struct AppState {
    pub db: Db,
    pub registry: Registry,
    pub executor: Executor,
    pub triggers: Triggers,
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
        let db = Db::open(&config.data_dir)?;
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
            TriggerConfig { public_url, max_backlog: config.max_backlog, sync_timeout: Duration::from_secs(30) },
        );
        let state = Arc::new(AppState {
            db,
            registry,
            executor,
            triggers,
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
        let result = axum::serve(listener, self.router()).with_graceful_shutdown(shutdown).await;
        workers.abort();
        trigger_loop.abort();
        result?;
        Ok(())
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
async fn require_token(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let ok = presented.is_some_and(|token| bool::from(sha256(token).ct_eq(&state.token_hash)));
    if !ok {
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
