//! `GET /api/events`: run changes as server-sent events, for the web UI's
//! live lists and run inspector.
//!
//! `event: run` — a run was queued or changed status
//! (`{"id","flow","status","created_ms","updated_ms","error"?}`);
//! `event: step` — one of a run's step records was written
//! (`{"run","path","status"}`); `event: lagged` — this client fell behind and
//! missed changes (`data` says how many): it should read what it shows again.
//! A comment line every 15 s keeps proxies and weft's idle deadline from
//! closing a quiet stream; the stream ends when weft shuts down.

use super::Shared;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use weft_flow::Change;

pub(crate) async fn stream(State(state): State<Shared>) -> Response {
    let changes = state.executor.changes();
    let closing = state.closing.subscribe();
    let events = futures::stream::unfold((changes, closing), |(mut changes, mut closing)| async move {
        let event = tokio::select! {
            change = changes.recv() => match change {
                Ok(change) => event_of(&change),
                Err(RecvError::Lagged(missed)) => Event::default().event("lagged").data(missed.to_string()),
                Err(RecvError::Closed) => return None,
            },
            _ = closing.wait_for(|closing| *closing) => return None,
        };
        Some((Ok::<_, Infallible>(event), (changes, closing)))
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

fn event_of(change: &Change) -> Event {
    let name = match change {
        Change::Run { .. } => "run",
        Change::Step { .. } => "step",
    };
    let data = serde_json::to_string(change).unwrap_or_default();
    Event::default().event(name).data(data)
}
