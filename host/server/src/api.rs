//! The admin API under `/api/` (the bearer-token check is a layer in
//! [`super::Server::router`]). `openapi.yaml` documents every route; a test
//! checks that each documented operation exists and needs the token.

use super::{ApiError, PathParam, QueryParam, Shared};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use weft_core::catalog::{Catalog, PluginInfo};
use weft_core::connection::{Connection, ConnectionInfo, HostRule};
use weft_core::model::{FlowDef, TriggerDef};
use weft_core::replay::{Candidate, ReplayError, ReplayFilter};
use weft_core::run::{EndClass, RunFilter, RunStatus, StoredFlow};

type Json = axum::Json<Value>;
type ApiResult = Result<Response, ApiError>;

/// Largest plugin upload (JavaScript and Python components are 10–20 MB).
pub(super) const MAX_PLUGIN_BYTES: usize = 64 << 20;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/plugins", get(list_plugins).post(install_plugin).layer(DefaultBodyLimit::max(MAX_PLUGIN_BYTES)))
        .route("/plugins/{name}", get(get_plugin).delete(remove_plugin))
        .route("/connections", get(list_connections))
        .route("/connections/{id}", get(get_connection).put(put_connection).delete(delete_connection))
        .route("/connections/{id}/authorize", post(authorize_connection))
        .route("/flows", get(list_flows).post(create_flow))
        .route("/flows/validate", post(validate_flow))
        .route("/flows/test", post(test_flow))
        .route("/expressions/preview", post(preview_expression))
        .route("/flows/{name}", get(get_flow).put(update_flow).delete(delete_flow))
        .route("/flows/{name}/activate", post(activate))
        .route("/flows/{name}/deactivate", post(deactivate))
        .route("/flows/{name}/hook", get(hook_url))
        .route("/flows/{name}/poll", post(poll_now))
        .route("/flows/{name}/runs", post(start_run))
        .route("/flows/{name}/versions", get(flow_versions))
        .route("/flows/{name}/versions/{version}", get(flow_version))
        .route("/flows/{name}/versions/{version}/restore", post(restore_version))
        .route("/flows/{name}/diff", get(flow_diff))
        .route("/stats", get(stats))
        .route("/runs", get(list_runs))
        .route("/runs/prune", post(prune_runs))
        .route("/runs/{id}", get(get_run))
        .route("/runs/{id}/rerun", post(rerun))
        .route("/runs/{id}/cancel", post(cancel))
        .route("/runs/{id}/replay", post(replay_run).layer(DefaultBodyLimit::max(MAX_PLUGIN_BYTES)))
        .route("/flows/{name}/replay", post(replay_flow).layer(DefaultBodyLimit::max(MAX_PLUGIN_BYTES)))
        .route("/backup", post(backup))
        .route("/export", get(export))
        .route("/import", post(import))
}

fn ok(value: Value) -> ApiResult {
    Ok(axum::Json(value).into_response())
}

fn created(value: Value) -> ApiResult {
    Ok((StatusCode::CREATED, axum::Json(value)).into_response())
}

/// The OpenAPI document, converted once from the YAML kept beside this file.
pub(super) async fn openapi() -> Json {
    static DOC: OnceLock<Value> = OnceLock::new();
    axum::Json(
        DOC.get_or_init(|| serde_yaml_ng::from_str(include_str!("openapi.yaml")).expect("openapi.yaml is valid YAML"))
            .clone(),
    )
}

// ---- plugins --------------------------------------------------------------------------------------

/// A plugin as the API shows it: the current version, every version kept in
/// memory with the flows whose runs start on it, and the flows that use it.
fn plugin_summary(state: &Shared, plugin: &PluginInfo) -> Result<Value, ApiError> {
    let name = plugin.name.as_str();
    let usage = flows_using(state, name)?;
    let versions: Vec<Value> = state
        .plugins
        .versions(name)
        .into_iter()
        .map(|v| {
            let flows: Vec<&String> = usage.iter().filter(|(_, hash)| hash.as_deref() == Some(&v.hash)).map(|(f, _)| f).collect();
            json!({ "version": v.version, "hash": v.hash, "current": v.current, "installed": v.installed, "flows": flows })
        })
        .collect();
    let mut summary = json!({
        "name": name,
        "world": plugin.world.to_string(),
        "version": plugin.version,
        "hash": plugin.hash,
        "versions": versions,
        "used_by": usage.iter().map(|(f, _)| f).collect::<Vec<_>>(),
    });
    if let Some(m) = &plugin.manifest {
        summary["description"] = json!(m.description);
        summary["triggers"] = json!(m.triggers.iter().map(|t| &t.name).collect::<Vec<_>>());
        summary["actions"] = json!(m.actions.iter().map(|a| &a.name).collect::<Vec<_>>());
    }
    Ok(summary)
}

/// Flows whose current definition names plugin `name`, each with the content
/// hash its new runs take (`None` when the version it pins is not installed).
fn flows_using(state: &Shared, name: &str) -> Result<Vec<(String, Option<String>)>, ApiError> {
    let mut out = Vec::new();
    for flow in state.store.flows()? {
        for (reference, _) in weft_flow::validate::plugin_references(&flow.def) {
            let (plugin, version) = weft_flow::validate::split_version(&reference);
            if plugin == name {
                out.push((flow.name.clone(), state.plugins.resolve(plugin, version)));
            }
        }
    }
    out.dedup();
    Ok(out)
}

async fn list_plugins(State(state): State<Shared>) -> ApiResult {
    let mut out = Vec::new();
    for plugin in state.plugins.installed() {
        out.push(plugin_summary(&state, &plugin)?);
    }
    let problems: Vec<Value> =
        state.plugins.problems().into_iter().map(|(file, error)| json!({ "file": file, "error": error })).collect();
    ok(json!({ "plugins": out, "problems": problems }))
}

#[derive(Deserialize)]
struct InstallQuery {
    /// The name of a transform (connectors are named by their manifest).
    name: Option<String>,
}

async fn install_plugin(
    State(state): State<Shared>,
    QueryParam(q): QueryParam<InstallQuery>,
    body: Bytes,
) -> ApiResult {
    if body.is_empty() {
        return Err(ApiError::bad_request("send the plugin's .wasm bytes as the request body"));
    }
    let fallback = q.name.as_deref().unwrap_or("transform");
    let plugin = state.plugins.install(fallback, &body).await.map_err(ApiError::bad_request)?;
    created(plugin_summary(&state, &plugin)?)
}

async fn get_plugin(State(state): State<Shared>, PathParam(name): PathParam<String>) -> ApiResult {
    let plugin = state.plugins.plugin(&name).ok_or_else(|| ApiError::not_found(format!("no plugin {name:?}")))?;
    let mut out = plugin_summary(&state, &plugin)?;
    if let Some(m) = &plugin.manifest {
        out["manifest"] = serde_json::to_value(m).unwrap_or_default();
    }
    ok(out)
}

#[derive(Deserialize)]
struct RemoveQuery {
    #[serde(default)]
    force: bool,
}

async fn remove_plugin(
    State(state): State<Shared>,
    PathParam(name): PathParam<String>,
    QueryParam(q): QueryParam<RemoveQuery>,
) -> ApiResult {
    if state.plugins.plugin(&name).is_none() {
        return Err(ApiError::not_found(format!("no plugin {name:?}")));
    }
    let mut users: Vec<String> = flows_using(&state, &name)?.into_iter().map(|(f, _)| f).collect();
    users.dedup();
    if !users.is_empty() && !q.force {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("plugin {name:?} is used by flows {users:?}; remove them first or add ?force=true"),
        ));
    }
    state
        .plugins
        .remove(&name)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot delete the plugin file: {e}")))?;
    ok(json!({ "removed": name, "flows_affected": users }))
}

// ---- connections ----------------------------------------------------------------------------------

/// A connection as the API shows it: no secret value, no token. `oauth` is
/// the state of its OAuth 2.0 grant; `oauth_offered` says whether its
/// connector offers OAuth 2.0 at all.
fn connection_view(state: &Shared, record: &ConnectionInfo) -> Result<Value, ApiError> {
    let spec = state.plugins.connector(&record.plugin, None).and_then(|m| m.oauth2);
    let oauth = state.store.oauth_grant(&record.id)?.map(|(grant, _)| grant.view(spec.as_ref()));
    Ok(json!({
        "id": record.id,
        "plugin": record.plugin,
        "settings": record.settings,
        "secrets": record.secret_names,
        "hosts": record.hosts.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "rate_limit": record.rate_limit,
        "oauth_offered": spec.map(|s| s.grant),
        "oauth": oauth,
    }))
}

async fn list_connections(State(state): State<Shared>) -> ApiResult {
    let views = state.store.connections()?.iter().map(|c| connection_view(&state, c)).collect::<Result<Vec<_>, _>>()?;
    ok(Value::Array(views))
}

async fn get_connection(State(state): State<Shared>, PathParam(id): PathParam<String>) -> ApiResult {
    let record = state
        .store
        .connections()?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| ApiError::not_found(format!("no connection {id:?}")))?;
    ok(connection_view(&state, &record)?)
}

/// Start authorizing an OAuth 2.0 connection: the URL to send a person to
/// (authorization code), or a token got at once (client credentials).
async fn authorize_connection(State(state): State<Shared>, PathParam(id): PathParam<String>) -> ApiResult {
    let redirect = format!("{}/oauth/callback", state.public_url.trim_end_matches('/'));
    let begun = state.authorizer.begin(&id, &redirect).await.map_err(auth_error)?;
    state.store.flush().await?;
    ok(json!({
        "connection": id,
        "authorize_url": begun.authorize_url,
        "authorized": begun.authorize_url.is_none(),
        "expires_ms": begun.expires_ms,
        "callback": redirect,
    }))
}

fn auth_error(e: weft_core::oauth::AuthError) -> ApiError {
    use weft_core::oauth::AuthError;
    match e {
        AuthError::NoConnection(m) => ApiError::not_found(m),
        AuthError::Setup(m) => ApiError::new(StatusCode::CONFLICT, m),
        AuthError::Refused(m) | AuthError::NeedsAuthorization(m) => ApiError::bad_request(m),
        AuthError::Unavailable(m) => ApiError::new(StatusCode::BAD_GATEWAY, m),
    }
}

/// Where the application sends the person back after they authorized (or
/// refused) a connection: a page that says which.
pub(super) async fn oauth_callback(
    State(state): State<Shared>,
    axum::extract::Query(callback): axum::extract::Query<weft_core::oauth::Callback>,
) -> Response {
    let outcome = state.authorizer.complete(&callback).await;
    if outcome.is_ok()
        && let Err(e) = state.store.flush().await
    {
        tracing::warn!(error = %e, "cannot flush the store after an authorization");
    }
    let (status, title, text, id) = match &outcome {
        Ok(id) => (
            StatusCode::OK,
            "Connection authorized",
            format!("Connection {id} is authorized. You can close this tab."),
            Some(id.clone()),
        ),
        Err(e) => (StatusCode::BAD_REQUEST, "Authorization failed", e.to_string(), None),
    };
    if let Some(id) = &id {
        state.executor.connection_changed(id);
    }
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let link =
        id.map(|id| format!("<p><a href=\"/connections#{}\">Back to weft</a></p>", escape(&id))).unwrap_or_default();
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title} · weft</title></head>\
         <body>\
         <h1>{title}</h1><p id=\"outcome\">{}</p>{link}</body></html>",
        escape(&text)
    );
    let mut response = (status, [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response();
    super::ui::secure_headers(response.headers_mut());
    response
}

/// A connection as sent by a client. Settings and hosts replace what was
/// there when given; secrets merge: a value sets, `null` removes, an absent
/// name keeps the stored secret.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionBody {
    plugin: String,
    settings: Option<Map<String, Value>>,
    #[serde(default)]
    secrets: BTreeMap<String, Option<String>>,
    hosts: Option<Vec<String>>,
    /// Absent: kept as it is; `null`: removed; else the new rate.
    #[serde(default, deserialize_with = "present")]
    rate_limit: Option<Option<weft_core::model::RateLimitDef>>,
    /// The OAuth 2.0 client. Absent: kept; `null`: removed with its tokens.
    #[serde(default, deserialize_with = "present")]
    oauth: Option<Option<OAuthBody>>,
}

/// An OAuth client as sent: `client_secret` absent keeps the stored one,
/// `null` removes it; the overrides replace what was there.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OAuthBody {
    client_id: String,
    #[serde(default, deserialize_with = "present")]
    client_secret: Option<Option<String>>,
    authorization_url: Option<String>,
    token_url: Option<String>,
    scopes: Option<Vec<String>>,
    token_hosts: Option<Vec<String>>,
}

/// A field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn present<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

async fn put_connection(State(state): State<Shared>, PathParam(id): PathParam<String>, body: Bytes) -> ApiResult {
    weft_core::plugin::check_name("connection id", &id, true).map_err(ApiError::bad_request)?;
    let body: ConnectionBody = parse_json(&body)?;
    let existing = state.store.connection(&id)?;
    let mut connection = match existing {
        Some((plugin, c)) if plugin == body.plugin => Arc::unwrap_or_clone(c),
        _ => Connection { id: id.clone(), ..Default::default() },
    };
    if let Some(settings) = body.settings {
        connection.settings = settings;
    }
    if let Some(hosts) = body.hosts {
        let rules = hosts.iter().map(|h| h.parse::<HostRule>()).collect::<Result<Vec<_>, _>>();
        connection.hosts = Arc::new(rules.map_err(ApiError::bad_request)?);
    }
    if let Some(rate) = body.rate_limit {
        if let Some(rate) = &rate {
            rate.check().map_err(|e| ApiError::bad_request(format!("rate_limit: {e}")))?;
        }
        connection.rate_limit = rate;
    }
    for (name, value) in body.secrets {
        match value {
            Some(v) => connection.secrets.insert(name, v),
            None => connection.secrets.remove(&name),
        };
    }
    if let Some(oauth) = &body.oauth {
        if oauth.is_some()
            && let Some(manifest) = state.plugins.connector(&body.plugin, None)
            && manifest.oauth2.is_none()
        {
            return Err(ApiError::bad_request(format!("oauth: connector {:?} offers no OAuth 2.0", body.plugin)));
        }
        if let Some(o) = oauth {
            let client = weft_core::oauth::OAuthClient {
                client_id: o.client_id.clone(),
                client_secret: None,
                authorization_url: o.authorization_url.clone(),
                token_url: o.token_url.clone(),
                scopes: o.scopes.clone(),
                token_hosts: o.token_hosts.clone(),
            };
            client.check().map_err(ApiError::bad_request)?;
        }
    }
    let record = state.store.put_connection(&id, &body.plugin, &connection)?;
    if let Some(oauth) = body.oauth {
        put_oauth_client(&state, &id, oauth)?;
    }
    state.store.flush().await?;
    state.executor.connection_changed(&id);
    state.authorizer.forget(&id);
    ok(connection_view(&state, &record)?)
}

/// Set (or remove) a connection's OAuth client. A new client id or token URL
/// makes the old tokens worthless: they are dropped.
fn put_oauth_client(state: &Shared, id: &str, body: Option<OAuthBody>) -> Result<(), ApiError> {
    loop {
        let current = state.store.oauth_grant(id)?;
        let version = current.as_ref().map_or(0, |(_, v)| *v);
        let Some(body) = &body else {
            if current.is_none() || state.store.swap_oauth_grant(id, version, None)?.is_some() {
                return Ok(());
            }
            continue;
        };
        let mut grant = current.map(|(g, _)| g).unwrap_or_default();
        let client = &mut grant.client;
        let moved = client.client_id != body.client_id || client.token_url != body.token_url;
        client.client_id = body.client_id.clone();
        if let Some(secret) = &body.client_secret {
            client.client_secret = secret.clone();
        }
        client.authorization_url = body.authorization_url.clone();
        client.token_url = body.token_url.clone();
        client.scopes = body.scopes.clone();
        client.token_hosts = body.token_hosts.clone();
        if moved {
            grant.tokens = None;
            grant.pending = None;
            grant.status = weft_core::oauth::AuthStatus::NotAuthorized;
        }
        if state.store.swap_oauth_grant(id, version, Some(&grant))?.is_some() {
            return Ok(());
        }
    }
}

async fn delete_connection(State(state): State<Shared>, PathParam(id): PathParam<String>) -> ApiResult {
    if !state.store.delete_connection(&id)? {
        return Err(ApiError::not_found(format!("no connection {id:?}")));
    }
    state.executor.connection_changed(&id);
    state.authorizer.forget(&id);
    state.store.flush().await?;
    ok(json!({ "deleted": id }))
}

pub(super) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            ApiError::bad_request(format!("invalid JSON body: {}", e.inner()))
        } else {
            ApiError::bad_request(format!("invalid JSON body: {path}: {}", e.inner()))
        }
    })
}

// ---- flows ----------------------------------------------------------------------------------------

fn flow_kind(def: &FlowDef) -> &'static str {
    match def.trigger {
        TriggerDef::Manual => "manual",
        TriggerDef::Webhook(_) => "webhook",
        TriggerDef::Polling(_) => "polling",
        TriggerDef::Schedule(_) => "schedule",
    }
}

async fn list_flows(State(state): State<Shared>) -> ApiResult {
    let mut out = Vec::new();
    for f in state.store.flows()? {
        let active = state.store.trigger(&f.name)?.is_some_and(|t| t.active);
        out.push(json!({
            "name": f.name,
            "version": f.version,
            "trigger": flow_kind(&f.def),
            "steps": f.def.steps.len(),
            "active": active,
            "updated_ms": f.updated_ms,
            "plugins_missing": state.executor.missing_plugins(&f),
        }));
    }
    ok(Value::Array(out))
}

/// Store a flow from a YAML or JSON body; re-sync its trigger when active.
async fn save_flow(state: &Shared, body: &[u8], expected_name: Option<&str>) -> ApiResult {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::bad_request("the flow is not UTF-8 text"))?;
    let def = FlowDef::parse(text).map_err(ApiError::bad_request)?;
    if let Some(name) = expected_name
        && def.name != name
    {
        return Err(ApiError::bad_request(format!("the URL names flow {name:?} but the body names {:?}", def.name)));
    }
    check_flow(state, &def).map_err(|e| ApiError::invalid(&e))?;
    store_flow(state, def).await
}

/// Check a flow as saving it does: valid against the installed plugins and
/// connections, and naming flows that exist (`on_failure`, `call`) with no
/// cycle of calls. Every problem at once.
fn check_flow(state: &Shared, def: &FlowDef) -> Result<(), weft_flow::validate::InvalidFlow> {
    let mut problems = match weft_flow::validate(def.clone(), state.plugins.as_ref() as &dyn Catalog) {
        Ok(_) => Vec::new(),
        Err(invalid) => invalid.problems,
    };
    let lookup = |name: &str| state.store.flow(name).ok().flatten().map(|f| f.def.clone());
    problems.extend(weft_flow::validate::check_links(def, &lookup));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(weft_flow::validate::InvalidFlow { flow: def.name.clone(), problems })
    }
}

/// Store a valid flow as its next version (unless it equals the current one)
/// and re-sync its trigger when active.
async fn store_flow(state: &Shared, def: FlowDef) -> ApiResult {
    let previous = state.store.flow(&def.name)?.map(|f| f.version);
    let stored = state.store.put_flow(&def, weft_core::run::now_ms())?;
    state.store.flush().await?;
    let changed = previous != Some(stored.version);
    let mut warning = None;
    if changed && let Err(e) = state.triggers.refresh(&stored.name).await {
        warning = Some(e.to_string());
    }
    let body = json!({ "name": stored.name, "version": stored.version, "changed": changed, "warning": warning });
    if previous.is_none() { created(body) } else { ok(body) }
}

/// Problems as the API lists them.
pub(super) fn problems_json(problems: &[weft_flow::validate::Problem]) -> Value {
    problems.iter().map(|p| json!({ "path": p.path, "message": p.message })).collect()
}

/// Check a flow (YAML or JSON) as saving it would, without saving: every
/// problem with its path, a syntax error with its line and column. The
/// parsed definition comes back too, for editors that hold it as data.
async fn validate_flow(State(state): State<Shared>, body: Bytes) -> ApiResult {
    let text = std::str::from_utf8(&body).map_err(|_| ApiError::bad_request("the flow is not UTF-8 text"))?;
    let def = match FlowDef::parse_located(text) {
        Ok(def) => def,
        Err(e) => {
            let mut problem = json!({ "path": e.path, "message": e.to_string() });
            if let (Some(line), Some(column)) = (e.line, e.column) {
                problem["line"] = json!(line);
                problem["column"] = json!(column);
            }
            return ok(json!({ "valid": false, "problems": [problem], "flow": null }));
        }
    };
    let problems = match check_flow(&state, &def) {
        Ok(()) => json!([]),
        Err(invalid) => problems_json(&invalid.problems),
    };
    let valid = problems.as_array().is_some_and(Vec::is_empty);
    ok(json!({ "valid": valid, "problems": problems, "flow": def }))
}

/// A test run's request: the flow (as data, or as YAML/JSON text), the
/// sample event, outputs given for some steps, and the step to stop after.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestBody {
    flow: Value,
    #[serde(default)]
    trigger: Value,
    #[serde(default)]
    pinned: BTreeMap<String, Value>,
    #[serde(default)]
    until: Option<String>,
}

/// Start a test run of a flow, saved or not; it never touches the flow's
/// trigger and is listed apart (`GET /api/runs?test=true`).
async fn test_flow(State(state): State<Shared>, QueryParam(q): QueryParam<WaitQuery>, body: Bytes) -> ApiResult {
    let body: TestBody = parse_json(&body)?;
    let def = match body.flow {
        Value::String(text) => FlowDef::parse(&text),
        value => FlowDef::from_value(value),
    }
    .map_err(|e| ApiError::bad_request(format!("flow: {e}")))?;
    let test = weft_core::run::TestRun { def, pinned: body.pinned, until: body.until };
    let run = state.executor.start_test(test, body.trigger)?;
    if q.wait {
        let run = state.executor.finished(&run.id).await?;
        return ok(json!({ "run": run, "steps": state.store.steps(&run.id)? }));
    }
    Ok((StatusCode::ACCEPTED, axum::Json(json!({ "run": run }))).into_response())
}

/// What an expression preview evaluates against: a template (any JSON whose
/// strings may hold `{{ … }}`) and the data a step would see.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewBody {
    template: Value,
    #[serde(default)]
    trigger: Value,
    /// `steps.<id>`: each step's `{ output, error? }`.
    #[serde(default)]
    steps: Map<String, Value>,
    #[serde(default)]
    item: Option<Value>,
    #[serde(default)]
    index: Option<u64>,
}

/// Render a template as a step's input would be rendered, on sample data:
/// `{ value }`, or `{ error }` saying what is wrong and where.
async fn preview_expression(body: Bytes) -> ApiResult {
    let body: PreviewBody = parse_json(&body)?;
    let mapping = match weft_flow::expr::Mapping::compile(&body.template) {
        Ok(m) => m,
        Err(e) => return ok(json!({ "error": e.error.to_string(), "path": e.path })),
    };
    let mut scope = json!({ "trigger": body.trigger, "steps": body.steps, "run": { "id": "preview" } });
    if let Some(item) = body.item {
        scope["item"] = item;
        scope["index"] = json!(body.index.unwrap_or(0));
    }
    match mapping.render(&weft_flow::expr::ExprValue::from_json(&scope)) {
        Ok(value) => ok(json!({ "value": value })),
        Err(e) => ok(json!({ "error": e.error.to_string(), "path": e.path })),
    }
}

async fn create_flow(State(state): State<Shared>, body: Bytes) -> ApiResult {
    save_flow(&state, &body, None).await
}

async fn update_flow(State(state): State<Shared>, PathParam(name): PathParam<String>, body: Bytes) -> ApiResult {
    save_flow(&state, &body, Some(&name)).await
}

/// A flow as YAML, the form `weft flow apply` takes back.
fn flow_yaml(flow: &StoredFlow) -> String {
    serde_yaml_ng::to_string(&flow.def).unwrap_or_default()
}

async fn get_flow(State(state): State<Shared>, PathParam(name): PathParam<String>) -> ApiResult {
    let flow = state.store.flow(&name)?.ok_or_else(|| ApiError::not_found(format!("no flow named {name:?}")))?;
    let trigger = state.triggers.status(&name)?;
    ok(json!({ "flow": flow, "trigger": trigger, "yaml": flow_yaml(&flow) }))
}

/// Versions listed at most (the newest).
const MAX_VERSIONS: u64 = 100;

async fn flow_versions(State(state): State<Shared>, PathParam(name): PathParam<String>) -> ApiResult {
    let flow = state.store.flow(&name)?.ok_or_else(|| ApiError::not_found(format!("no flow named {name:?}")))?;
    let mut out = Vec::new();
    for version in (flow.version.saturating_sub(MAX_VERSIONS - 1).max(1)..=flow.version).rev() {
        if let Some(v) = state.store.flow_version(&name, version)? {
            out.push(json!({ "version": v.version, "updated_ms": v.updated_ms, "steps": v.def.steps.len() }));
        }
    }
    ok(Value::Array(out))
}

async fn flow_version(State(state): State<Shared>, PathParam((name, version)): PathParam<(String, u64)>) -> ApiResult {
    let flow = state
        .store
        .flow_version(&name, version)?
        .ok_or_else(|| ApiError::not_found(format!("flow {name:?} has no version {version}")))?;
    let yaml = flow_yaml(&flow);
    ok(json!({ "flow": flow, "yaml": yaml }))
}

/// Make version `version` of a flow its current definition again, as a new
/// version (nothing changes when it equals the current one).
async fn restore_version(
    State(state): State<Shared>,
    PathParam((name, version)): PathParam<(String, u64)>,
) -> ApiResult {
    let old = state
        .store
        .flow_version(&name, version)?
        .ok_or_else(|| ApiError::not_found(format!("flow {name:?} has no version {version}")))?;
    if state.store.flow(&name)?.is_none() {
        return Err(ApiError::not_found(format!("no flow named {name:?}")));
    }
    check_flow(&state, &old.def).map_err(|e| ApiError::invalid(&e))?;
    store_flow(&state, old.def).await
}

#[derive(Deserialize)]
struct DiffQuery {
    /// The older version (default: the one before `to`).
    from: Option<u64>,
    /// The newer version (default: the current one).
    to: Option<u64>,
}

/// What changed between two versions of a flow: a unified diff of their YAML.
async fn flow_diff(
    State(state): State<Shared>,
    PathParam(name): PathParam<String>,
    QueryParam(q): QueryParam<DiffQuery>,
) -> ApiResult {
    let current = state.store.flow(&name)?.ok_or_else(|| ApiError::not_found(format!("no flow named {name:?}")))?;
    let to = q.to.unwrap_or(current.version);
    let from = q.from.unwrap_or(to.saturating_sub(1).max(1));
    let version = |v: u64| -> Result<StoredFlow, ApiError> {
        state
            .store
            .flow_version(&name, v)?
            .ok_or_else(|| ApiError::not_found(format!("flow {name:?} has no version {v}")))
    };
    let (old, new) = (flow_yaml(&version(from)?), flow_yaml(&version(to)?));
    let diff = similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{name} v{from}"), &format!("{name} v{to}"))
        .to_string();
    ok(json!({ "flow": name, "from": from, "to": to, "diff": diff, "changed": old != new }))
}

// ---- statistics -----------------------------------------------------------------------------------

/// The newest runs read for runs that have not ended.
const RECENT_RUNS: usize = 1000;

/// Ended runs counted per flow and class at most; past it the count says so (`capped`).
const STATS_CAP: usize = 10_000;

#[derive(Deserialize)]
struct StatsQuery {
    /// The end of the span (default: now); for tests and for looking back.
    now_ms: Option<u64>,
}

/// Per flow: runs ended in the last 24 h, failures among them, the last
/// run. Over the last hour, all flows: runs ended per minute. The store is
/// read off the async workers: a busy store's listing takes milliseconds.
async fn stats(State(state): State<Shared>, QueryParam(q): QueryParam<StatsQuery>) -> ApiResult {
    let now = q.now_ms.unwrap_or_else(weft_core::run::now_ms);
    let stats = tokio::task::spawn_blocking(move || stats_at(&state, now))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("statistics failed: {e}")))??;
    ok(stats)
}

fn stats_at(state: &Shared, now: u64) -> Result<Value, ApiError> {
    let day_ago = now.saturating_sub(24 * 3600 * 1000);
    let minute = 60_000;
    let first_minute = (now / minute).saturating_sub(59) * minute;
    let mut minutes = vec![(0u64, 0u64); 60];
    // Runs not ended yet (queued, running, waiting) are not in the ended-run
    // listing: the newest runs created, each flow's first among them.
    let mut newest: BTreeMap<String, weft_core::run::RunRecord> = BTreeMap::new();
    let recent = RunFilter { since_ms: Some(day_ago), limit: RECENT_RUNS, ..Default::default() };
    for run in state.store.runs(&recent)? {
        newest.entry(run.flow.clone()).or_insert(run);
    }
    let mut flows = Map::new();
    for flow in state.store.flows()? {
        let mut counts = [0usize; 2];
        let mut capped = false;
        let mut last: Option<(u64, String)> = None;
        for (i, class) in [EndClass::Succeeded, EndClass::Failed].into_iter().enumerate() {
            let ended = state.store.recent_ended(&flow.name, class, day_ago, now.saturating_add(1), STATS_CAP)?;
            capped |= ended.len() >= STATS_CAP;
            counts[i] = ended.len();
            if let Some(newest) = ended.first()
                && last.as_ref().is_none_or(|(at, _)| newest.ended_ms > *at)
            {
                last = Some((newest.ended_ms, newest.id.clone()));
            }
            for run in ended.iter().take_while(|r| r.ended_ms >= first_minute) {
                let slot = ((run.ended_ms - first_minute) / minute) as usize;
                if let Some(slot) = minutes.get_mut(slot) {
                    if class == EndClass::Succeeded { slot.0 += 1 } else { slot.1 += 1 }
                }
            }
        }
        if last.is_none() {
            // Nothing in the last day: the newest ever, if any.
            for class in [EndClass::Succeeded, EndClass::Failed] {
                if let Some(newest) = state.store.recent_ended(&flow.name, class, 0, now.saturating_add(1), 1)?.pop()
                    && last.as_ref().is_none_or(|(at, _)| newest.ended_ms > *at)
                {
                    last = Some((newest.ended_ms, newest.id));
                }
            }
        }
        let unended = newest
            .get(&flow.name)
            .filter(|run| !run.status.is_final() && last.as_ref().is_none_or(|(at, _)| run.created_ms >= *at));
        let last_run = match (unended, last) {
            (Some(run), _) => json!({ "id": run.id, "status": run.status, "created_ms": run.created_ms }),
            (None, Some((ended_ms, id))) => match state.store.run(&id)? {
                Some(run) => {
                    json!({ "id": id, "status": run.status, "created_ms": run.created_ms, "ended_ms": ended_ms })
                }
                None => Value::Null,
            },
            (None, None) => Value::Null,
        };
        flows.insert(
            flow.name.clone(),
            json!({
                "runs_24h": counts[0] + counts[1],
                "failed_24h": counts[1],
                "capped": capped,
                "last_run": last_run,
            }),
        );
    }
    let minutes: Vec<Value> = minutes
        .iter()
        .enumerate()
        .map(|(i, (succeeded, failed))| {
            json!({ "t": first_minute + i as u64 * minute, "succeeded": succeeded, "failed": failed })
        })
        .collect();
    Ok(json!({
        "flows": flows,
        "minutes": minutes,
        "backlog": state.store.backlog()?,
        "executing": state.executor.running(),
    }))
}

async fn delete_flow(State(state): State<Shared>, PathParam(name): PathParam<String>) -> ApiResult {
    if state.store.flow(&name)?.is_none() {
        return Err(ApiError::not_found(format!("no flow named {name:?}")));
    }
    let warning = state.triggers.remove(&name).await?;
    state.store.delete_flow(&name)?;
    state.store.flush().await?;
    ok(json!({ "deleted": name, "warning": warning }))
}

async fn activate(State(state): State<Shared>, PathParam(name): PathParam<String>) -> ApiResult {
    ok(serde_json::to_value(state.triggers.activate(&name).await?).unwrap_or_default())
}

async fn deactivate(State(state): State<Shared>, PathParam(name): PathParam<String>) -> ApiResult {
    if state.store.flow(&name)?.is_none() {
        return Err(ApiError::not_found(format!("no flow named {name:?}")));
    }
    let warning = state.triggers.deactivate(&name).await?;
    ok(json!({ "flow": name, "active": false, "warning": warning }))
}

async fn hook_url(State(state): State<Shared>, PathParam(name): PathParam<String>) -> ApiResult {
    let status = state.triggers.status(&name)?;
    if status.kind != "webhook" {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("flow {name:?} has a {} trigger, not a webhook", status.kind),
        ));
    }
    let Some(url) = status.webhook_url else {
        return Err(ApiError::new(StatusCode::CONFLICT, format!("flow {name:?} gets its URL when first activated")));
    };
    ok(json!({ "flow": name, "url": url, "active": status.active, "manual_subscription": status.manual_subscription }))
}

async fn poll_now(State(state): State<Shared>, PathParam(name): PathParam<String>) -> ApiResult {
    let runs = state.triggers.poll_now(&name).await?;
    ok(json!({ "flow": name, "runs": runs }))
}

#[derive(Deserialize)]
struct WaitQuery {
    /// Wait for the run to end and return its final record.
    #[serde(default)]
    wait: bool,
}

async fn start_run(
    State(state): State<Shared>,
    PathParam(name): PathParam<String>,
    QueryParam(q): QueryParam<WaitQuery>,
    body: Bytes,
) -> ApiResult {
    let trigger: Value = if body.is_empty() { json!({}) } else { parse_json(&body)? };
    let run = state.executor.start(&name, trigger)?;
    if q.wait {
        let run = state.executor.finished(&run.id).await?;
        return ok(json!({ "run": run, "steps": state.store.steps(&run.id)? }));
    }
    Ok((StatusCode::ACCEPTED, axum::Json(json!({ "run": run }))).into_response())
}

// ---- runs -----------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct RunsQuery {
    flow: Option<String>,
    status: Option<String>,
    since_ms: Option<u64>,
    before_ms: Option<u64>,
    limit: Option<usize>,
    /// Test runs instead of production runs.
    #[serde(default)]
    test: bool,
}

/// What to replay with: `plugin=NAME@VERSION` (installed), or a `.wasm` body (not installed).
#[derive(Deserialize)]
struct ReplayQuery {
    plugin: Option<String>,
    /// The name a candidate transform sent as the body goes by.
    name: Option<String>,
    status: Option<String>,
    since_ms: Option<u64>,
    limit: Option<usize>,
}

impl ReplayQuery {
    fn candidate(&self, body: Bytes) -> Result<Option<Candidate>, ApiError> {
        match (&self.plugin, body.is_empty()) {
            (Some(_), false) => {
                Err(ApiError::bad_request("give the candidate as `plugin=NAME@VERSION` or as a .wasm body, not both"))
            }
            (Some(p), true) => match p.split_once('@') {
                Some((name, version)) if !name.is_empty() && !version.is_empty() => {
                    Ok(Some(Candidate::Installed { name: name.to_string(), version: version.to_string() }))
                }
                _ => Err(ApiError::bad_request(format!("plugin={p:?} must look like NAME@VERSION"))),
            },
            (None, false) => Ok(Some(Candidate::Wasm {
                name: self.name.clone().unwrap_or_else(|| "candidate".into()),
                bytes: body.to_vec(),
            })),
            (None, true) => Ok(None),
        }
    }
}

fn replay_error(e: ReplayError) -> ApiError {
    match e {
        ReplayError::UnknownRun(_) | ReplayError::UnknownFlow(_) => ApiError::not_found(e.to_string()),
        ReplayError::Candidate(m) => ApiError::bad_request(m),
        ReplayError::Store(s) => s.into(),
    }
}

/// Replay a run offline from its recorded I/O, on its plugin versions or a candidate.
async fn replay_run(
    State(state): State<Shared>,
    PathParam(id): PathParam<String>,
    QueryParam(q): QueryParam<ReplayQuery>,
    body: Bytes,
) -> ApiResult {
    let candidate = q.candidate(body)?;
    let replay = state.replays.replay_run(&id, candidate).await.map_err(replay_error)?;
    ok(serde_json::to_value(replay).unwrap_or_default())
}

/// Replay a flow's ended runs (by default its failed ones) and count how they fare.
async fn replay_flow(
    State(state): State<Shared>,
    PathParam(name): PathParam<String>,
    QueryParam(q): QueryParam<ReplayQuery>,
    body: Bytes,
) -> ApiResult {
    let candidate = q.candidate(body)?;
    let status = match q.status.as_deref() {
        None => Some(RunStatus::Failed),
        Some("any") => None,
        Some(s) => Some(serde_json::from_value::<RunStatus>(Value::String(s.to_string())).map_err(|_| {
            ApiError::bad_request(format!("unknown status {s:?}: use failed, succeeded, cancelled or any"))
        })?),
    };
    let filter = ReplayFilter { status, since_ms: q.since_ms, limit: q.limit.unwrap_or(100) };
    let summary = state.replays.replay_flow(&name, filter, candidate).await.map_err(replay_error)?;
    ok(serde_json::to_value(summary).unwrap_or_default())
}

async fn list_runs(State(state): State<Shared>, QueryParam(q): QueryParam<RunsQuery>) -> ApiResult {
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(serde_json::from_value::<RunStatus>(Value::String(s.to_string())).map_err(|_| {
            ApiError::bad_request(format!(
                "unknown status {s:?}: use queued, running, waiting, succeeded, failed or cancelled"
            ))
        })?),
    };
    let filter = RunFilter {
        flow: q.flow,
        status,
        since_ms: q.since_ms,
        before_ms: q.before_ms,
        limit: q.limit.unwrap_or(50).clamp(1, 1000),
        test: q.test,
    };
    let runs = state.store.runs(&filter)?;
    ok(serde_json::to_value(runs).unwrap_or_default())
}

#[derive(Deserialize)]
struct PruneQuery {
    #[serde(default)]
    dry_run: bool,
}

async fn prune_runs(State(state): State<Shared>, QueryParam(q): QueryParam<PruneQuery>) -> ApiResult {
    let report = state.pruner.prune(q.dry_run).await?;
    ok(serde_json::to_value(report).unwrap_or_default())
}

async fn get_run(State(state): State<Shared>, PathParam(id): PathParam<String>) -> ApiResult {
    let run = state.store.run(&id)?.ok_or_else(|| ApiError::not_found(format!("no run {id:?}")))?;
    ok(json!({ "run": run, "steps": state.store.steps(&id)? }))
}

#[derive(Deserialize)]
struct RerunQuery {
    #[serde(default)]
    current_version: bool,
}

async fn rerun(
    State(state): State<Shared>,
    PathParam(id): PathParam<String>,
    QueryParam(q): QueryParam<RerunQuery>,
) -> ApiResult {
    let run = state.executor.rerun(&id, q.current_version)?;
    Ok((StatusCode::ACCEPTED, axum::Json(json!({ "run": run }))).into_response())
}

async fn cancel(State(state): State<Shared>, PathParam(id): PathParam<String>) -> ApiResult {
    let run = state.executor.cancel(&id).await?;
    ok(json!({ "run": run }))
}

// ---- backup, export and import --------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupBody {
    /// A new folder on the server's machine.
    dir: String,
}

/// Copy the data directory into a new folder while serving (`weft backup`).
async fn backup(State(state): State<Shared>, body: Bytes) -> ApiResult {
    let body: BackupBody = parse_json(&body)?;
    let dir = std::path::PathBuf::from(&body.dir);
    if !dir.is_absolute() {
        return Err(ApiError::bad_request(format!(
            "dir: {:?} is not an absolute path (the backup is written on the server's machine)",
            body.dir
        )));
    }
    let store = state.store.clone();
    let report = tokio::task::spawn_blocking(move || store.backup(&dir))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("the backup stopped: {e}")))?
        .map_err(|e| ApiError::bad_request(format!("cannot back up: {}", e.0)))?;
    ok(serde_json::to_value(report).unwrap_or_default())
}

/// The header that carries the key an export's secrets are sealed under.
const EXPORT_KEY: &str = "x-weft-export-key";

fn export_sealer(headers: &HeaderMap) -> Result<Option<weft_core::seal::Sealer>, ApiError> {
    let Some(value) = headers.get(EXPORT_KEY) else { return Ok(None) };
    let text = value.to_str().map_err(|_| ApiError::bad_request(format!("{EXPORT_KEY} is not text")))?;
    weft_core::seal::Sealer::from_hex(text).map(Some).map_err(|e| ApiError::bad_request(format!("{EXPORT_KEY}: {e}")))
}

#[derive(Deserialize)]
struct ExportQuery {
    #[serde(default)]
    secrets: bool,
}

/// Every flow's current definition and every connection; with `secrets`,
/// each connection's secrets sealed under the key the caller sent in
/// `X-Weft-Export-Key` (never in plain text).
async fn export(State(state): State<Shared>, QueryParam(q): QueryParam<ExportQuery>, headers: HeaderMap) -> ApiResult {
    let sealer = export_sealer(&headers)?;
    if q.secrets && sealer.is_none() {
        return Err(ApiError::bad_request(format!(
            "secrets=true needs {EXPORT_KEY}: 64 hex digits of a key the secrets are sealed under"
        )));
    }
    let mut flows: Vec<FlowDef> = state.store.flows()?.into_iter().map(|f| f.def).collect();
    flows.sort_by(|a, b| a.name.cmp(&b.name));
    let mut connections = Vec::new();
    for info in state.store.connections()? {
        let mut entry = connection_view(&state, &info)?;
        let entry_map = entry.as_object_mut().expect("a connection view is an object");
        entry_map.remove("oauth");
        entry_map.remove("oauth_offered");
        // The OAuth client travels, its tokens do not: an imported connection is authorized again.
        let grant = state.store.oauth_grant(&info.id)?.map(|(g, _)| g);
        if let Some(grant) = &grant {
            let mut client = grant.client.clone();
            client.client_secret = None;
            entry["oauth"] = json!(client);
        }
        if q.secrets
            && let Some(sealer) = &sealer
            && let Some((_, connection)) = state.store.connection(&info.id)?
        {
            let plain = serde_json::to_vec(&connection.secrets).unwrap_or_default();
            entry["sealed_secrets"] = json!(sealer.seal_hex(&plain).map_err(ApiError::bad_request)?);
            if let Some(secret) = grant.as_ref().and_then(|g| g.client.client_secret.as_ref()) {
                entry["sealed_client_secret"] =
                    json!(sealer.seal_hex(secret.as_bytes()).map_err(ApiError::bad_request)?);
            }
        }
        connections.push(entry);
    }
    ok(json!({ "weft_export": 1, "flows": flows, "connections": connections }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportBody {
    weft_export: u32,
    #[serde(default)]
    flows: Vec<Value>,
    #[serde(default)]
    connections: Vec<ImportConnection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportConnection {
    id: String,
    plugin: String,
    #[serde(default)]
    settings: Map<String, Value>,
    /// Secret names, as exported.
    #[serde(default)]
    secrets: Vec<String>,
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    rate_limit: Option<weft_core::model::RateLimitDef>,
    /// The secrets, sealed under the export's key.
    #[serde(default)]
    sealed_secrets: Option<String>,
    /// The OAuth client, without its secret.
    #[serde(default)]
    oauth: Option<weft_core::oauth::OAuthClient>,
    /// The OAuth client's secret, sealed under the export's key.
    #[serde(default)]
    sealed_client_secret: Option<String>,
}

/// Take an export: connections first (secrets opened with the export's key
/// and sealed under this installation's), then flows, each as `flow apply`
/// would, in an order that lets flows name each other. Triggers are left
/// inactive.
async fn import(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let body: ImportBody = parse_json(&body)?;
    if body.weft_export != 1 {
        return Err(ApiError::bad_request(format!(
            "weft_export {} is not a format this weft reads (1)",
            body.weft_export
        )));
    }
    let sealer = export_sealer(&headers)?;
    // Everything is checked before anything is written.
    let mut connections = Vec::new();
    for (i, c) in body.connections.into_iter().enumerate() {
        let at = |what: String| ApiError::bad_request(format!("connections[{i}] ({}): {what}", c.id));
        weft_core::plugin::check_name("connection id", &c.id, true).map_err(&at)?;
        let hosts = c.hosts.iter().map(|h| h.parse::<HostRule>()).collect::<Result<Vec<_>, _>>().map_err(&at)?;
        if let Some(rate) = &c.rate_limit {
            rate.check().map_err(|e| at(format!("rate_limit: {e}")))?;
        }
        let secrets: BTreeMap<String, String> = match (&c.sealed_secrets, &sealer) {
            (Some(sealed), Some(sealer)) => {
                let plain = sealer.open_hex(sealed).map_err(|_| {
                    at(format!("its secrets do not open with the {EXPORT_KEY} given (is it the export's key?)"))
                })?;
                serde_json::from_slice(&plain).map_err(|e| at(format!("its secrets: {e}")))?
            }
            (Some(_), None) => {
                return Err(at(format!("its secrets are sealed: send the export's key in {EXPORT_KEY}")));
            }
            (None, _) => BTreeMap::new(),
        };
        // The export named secrets but carries none of their values.
        let names_only = secrets.is_empty() && !c.secrets.is_empty();
        let oauth = match c.oauth.clone() {
            None => None,
            Some(mut client) => {
                client.check().map_err(&at)?;
                client.client_secret = match (&c.sealed_client_secret, &sealer) {
                    (Some(sealed), Some(sealer)) => {
                        Some(
                            String::from_utf8(sealer.open_hex(sealed).map_err(|_| {
                                at(format!("its client secret does not open with the {EXPORT_KEY} given"))
                            })?)
                            .map_err(|_| at("its client secret is not text".into()))?,
                        )
                    }
                    (Some(_), None) => {
                        return Err(at(format!("its client secret is sealed: send the export's key in {EXPORT_KEY}")));
                    }
                    (None, _) => None,
                };
                Some(client)
            }
        };
        let connection = Connection {
            id: c.id.clone(),
            settings: c.settings,
            secrets,
            hosts: Arc::new(hosts),
            rate_limit: c.rate_limit,
        };
        connections.push((c.plugin, connection, names_only, oauth));
    }
    let mut flows = Vec::new();
    for (i, value) in body.flows.into_iter().enumerate() {
        flows.push(FlowDef::from_value(value).map_err(|e| ApiError::bad_request(format!("flows[{i}]: {e}")))?);
    }
    let mut imported_connections = Vec::new();
    let mut without_secrets = Vec::new();
    for (plugin, connection, names_only, oauth) in &connections {
        // Secrets already set here stay when the export carries none.
        let mut connection = connection.clone();
        if connection.secrets.is_empty()
            && let Some((existing_plugin, existing)) = state.store.connection(&connection.id)?
            && existing_plugin == *plugin
        {
            connection.secrets = existing.secrets.clone();
        }
        if *names_only && connection.secrets.is_empty() {
            without_secrets.push(connection.id.clone());
        }
        state.store.put_connection(&connection.id, plugin, &connection)?;
        if let Some(client) = oauth {
            let body = OAuthBody {
                client_id: client.client_id.clone(),
                // No secret in the export: the one set here stays.
                client_secret: client.client_secret.clone().map(Some),
                authorization_url: client.authorization_url.clone(),
                token_url: client.token_url.clone(),
                scopes: client.scopes.clone(),
                token_hosts: client.token_hosts.clone(),
            };
            put_oauth_client(&state, &connection.id, Some(body))?;
            state.authorizer.forget(&connection.id);
        }
        state.executor.connection_changed(&connection.id);
        imported_connections.push(connection.id.clone());
    }
    // Flows that name others are saved once those are: tried again while that helps.
    let mut saved = Vec::new();
    let mut pending = flows;
    let problems = loop {
        let mut refused = Vec::new();
        let before = pending.len();
        for def in pending {
            match check_flow(&state, &def) {
                Ok(()) => {
                    let previous = state.store.flow(&def.name)?.map(|f| f.version);
                    let stored = state.store.put_flow(&def, weft_core::run::now_ms())?;
                    saved.push(json!({ "name": stored.name, "version": stored.version, "changed": previous != Some(stored.version) }));
                }
                Err(invalid) => refused.push((def, invalid)),
            }
        }
        if refused.is_empty() || refused.len() == before {
            break refused;
        }
        pending = refused.into_iter().map(|(def, _)| def).collect();
    };
    state.store.flush().await?;
    let problems: Vec<Value> = problems
        .iter()
        .map(|(def, invalid)| json!({ "flow": def.name, "error": invalid.to_string(), "problems": problems_json(&invalid.problems) }))
        .collect();
    ok(json!({
        "connections": imported_connections,
        "connections_without_secrets": without_secrets,
        "flows": saved,
        "refused": problems,
    }))
}
