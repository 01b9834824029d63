//! Webhook ingress: `/hooks/<token>[/<rest>]`, any method.
//!
//! The request goes, raw, to the flow's connector (`handle-webhook`), which
//! verifies it and extracts events; runs are in sled before any 2xx leaves.

use super::{ApiError, Shared};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use weft_core::run::RunStatus;
use weft_core::trigger::TriggerError;
use weft_flow::triggers::{HookReply, HookRequest};

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/hooks/{token}", axum::routing::any(hook))
        .route("/hooks/{token}/{*rest}", axum::routing::any(hook))
}

/// The token and the rest are cut from the raw path, undecoded: tokens are
/// hex, so one with `%` in it is simply unknown (404), and the connector sees
/// the rest of the path exactly as it was sent.
async fn hook(State(state): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let after = uri.path().strip_prefix("/hooks/").unwrap_or_default();
    let (token, rest) = after.split_at(after.find('/').unwrap_or(after.len()));
    // Path and query after /hooks/<token>.
    let path = match uri.query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_string(),
    };
    let headers = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_string())))
        .collect();
    let request = HookRequest { method: method.to_string(), path, headers, body: body.to_vec() };
    let reply = match state.triggers.webhook(token, request).await {
        Ok(reply) => reply,
        Err(e) => {
            state.metrics.hook("error");
            return ApiError::from(e).into_response();
        }
    };
    match reply {
        HookReply::NotFound => {
            state.metrics.hook("not_found");
            ApiError::not_found("no active flow has this webhook URL").into_response()
        }
        HookReply::Busy { retry_after_s } => {
            state.metrics.hook("busy");
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too many runs are waiting; retry after the time in Retry-After",
            )
            .into_response();
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
            response
        }
        HookReply::TooLarge(message) => {
            state.metrics.hook("too_large");
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, message).into_response()
        }
        HookReply::Unavailable(message) => {
            state.metrics.hook("unavailable");
            let mut response = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message).into_response();
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(60));
            response
        }
        HookReply::Rejected(e) => {
            state.metrics.hook("rejected");
            let status = match e {
                TriggerError::Invalid(_) => StatusCode::BAD_REQUEST,
                TriggerError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
                TriggerError::Failed(_) => StatusCode::BAD_GATEWAY,
                TriggerError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            };
            ApiError::new(status, e.to_string()).into_response()
        }
        HookReply::Direct { status, headers, body } => {
            state.metrics.hook("answered");
            let mut response = Response::new(axum::body::Body::from(body));
            *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            for (name, value) in headers {
                if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
                    response.headers_mut().append(name, value);
                }
            }
            response
        }
        HookReply::Accepted { runs } => {
            state.metrics.hook("accepted");
            (StatusCode::ACCEPTED, axum::Json(json!({ "runs": runs }))).into_response()
        }
        HookReply::Finished { runs } => {
            state.metrics.hook("finished");
            let failed = runs.iter().find(|r| r.status != RunStatus::Succeeded);
            let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
            let mut response = match failed {
                Some(run) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    axum::Json(json!({ "error": run.error, "run": run.id, "status": run.status })),
                )
                    .into_response(),
                None if runs.len() == 1 => axum::Json(runs[0].output.clone()).into_response(),
                None => axum::Json(runs.iter().map(|r| r.output.clone()).collect::<Vec<_>>()).into_response(),
            };
            if let Ok(value) = HeaderValue::try_from(ids.join(",")) {
                response.headers_mut().insert("x-weft-runs", value);
            }
            response
        }
    }
}
