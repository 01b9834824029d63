//! `slack`: post messages through an incoming webhook, and receive the Events
//! API (its `url_verification` challenge answered, `X-Slack-Signature` v0
//! checked). See this crate's README.

use weft_sdk::{
    Action, CallContext, Connector, Error, Event, Manifest, Result, Trigger, Value, WebhookOutcome, WebhookRequest,
    WebhookResponse, config, http, json, log, signature,
};

struct Slack;

/// Requests signed longer ago than this are refused as possible replays (Slack's advice).
const MAX_SKEW_S: u64 = 5 * 60;

fn now_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Check `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">`
/// and that `X-Slack-Request-Timestamp` is recent.
fn verify(request: &WebhookRequest) -> Result<()> {
    let secret = config::secret("signing_secret")
        .ok_or_else(|| Error::auth("the connection has no `signing_secret` secret to check Slack's signatures with"))?;
    let timestamp = request
        .header("x-slack-request-timestamp")
        .ok_or_else(|| Error::auth("missing X-Slack-Request-Timestamp header"))?;
    let sent: u64 =
        timestamp.trim().parse().map_err(|_| Error::auth("X-Slack-Request-Timestamp is not a Unix time in seconds"))?;
    if now_s().abs_diff(sent) > MAX_SKEW_S {
        return Err(Error::auth(format!(
            "X-Slack-Request-Timestamp {sent} is more than {MAX_SKEW_S} s from now; refused as a possible replay"
        )));
    }
    let given = request.header("x-slack-signature").ok_or_else(|| Error::auth("missing X-Slack-Signature header"))?;
    let hex = given.strip_prefix("v0=").ok_or_else(|| Error::auth("X-Slack-Signature must start with v0="))?;
    if signature::verify_hmac_sha256_hex(secret.as_bytes(), &[b"v0:", timestamp.as_bytes(), b":", &request.body], hex) {
        Ok(())
    } else {
        Err(Error::auth("X-Slack-Signature does not match the request"))
    }
}

fn post_message(input: &Value) -> Result<Value> {
    let url = config::secret("webhook_url")
        .ok_or_else(|| Error::auth("the connection has no `webhook_url` secret (the incoming webhook's URL)"))?;
    if input["text"].as_str().is_none_or(str::is_empty) && input["blocks"].as_array().is_none_or(Vec::is_empty) {
        return Err(Error::invalid_input("a message needs `text` or `blocks`"));
    }
    let mut message = serde_json::Map::new();
    for field in [
        "text",
        "blocks",
        "attachments",
        "thread_ts",
        "mrkdwn",
        "unfurl_links",
        "unfurl_media",
        "username",
        "icon_emoji",
        "icon_url",
    ] {
        if !input[field].is_null() {
            message.insert(field.into(), input[field].clone());
        }
    }
    let response = http::Request::post(url).json(&message)?.send()?;
    // Slack answers `ok` or an error code in plain text, e.g. `invalid_payload`.
    let said = String::from_utf8_lossy(&response.body).trim().to_string();
    // The URL is a secret: name the status and Slack's word, never the URL.
    let what = format!("Slack answered {}: {said}", response.status);
    match response.status {
        200..=299 => Ok(json!({ "ok": true })),
        429 => {
            let wait = response.header("retry-after").and_then(|s| s.trim().parse::<u64>().ok()).unwrap_or(1);
            Err(Error::rate_limited(what, wait.saturating_mul(1000)))
        }
        403 | 404 | 410 if matches!(said.as_str(), "invalid_token" | "no_service" | "no_team" | "team_disabled") => {
            Err(Error::auth(what))
        }
        400..=499 => Err(Error::invalid_input(what)),
        _ => Err(Error::transient(what)),
    }
}

fn reply(body: Value) -> WebhookResponse {
    WebhookResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
    }
}

impl Connector for Slack {
    fn describe() -> Manifest {
        Manifest::new("slack", "0.1.0", "Slack: post messages, receive Events API callbacks")
            .host("hooks.slack.com")
            .secret("webhook_url", "An incoming webhook's URL (https://hooks.slack.com/services/…)", false)
            .secret("signing_secret", "The app's signing secret, to check Events API requests", false)
            .trigger(
                Trigger::webhook("events", "Events API callbacks; paste the flow's URL as the app's Request URL")
                    .events(&["message", "app_mention", "reaction_added", "member_joined_channel", "channel_created"])
                    .config_schema(json!({
                        "type": "object",
                        "properties": { "types": { "type": "array", "items": { "type": "string" },
                            "description": "Only events of these types, e.g. [\"app_mention\"] (default all)" } }
                    }))
                    .output_schema(json!({
                        "type": "object",
                        "required": ["event_id", "event"],
                        "properties": {
                            "event_id": { "type": "string" },
                            "team_id": { "type": "string" },
                            "event": { "type": "object", "required": ["type"] }
                        }
                    })),
            )
            .action(
                Action::new("post_message", "Post a message to the incoming webhook's channel")
                    .input_schema(json!({
                        "type": "object",
                        "properties": {
                            "text": { "type": "string", "description": "The message (mrkdwn); the fallback when blocks are given" },
                            "blocks": { "type": "array", "items": { "type": "object" } },
                            "thread_ts": { "type": "string" },
                            "unfurl_links": { "type": "boolean" }
                        }
                    }))
                    .output_schema(json!({ "type": "object", "required": ["ok"] })),
            )
    }

    fn invoke(action: &str, input: Value, _ctx: &CallContext) -> Result<Value> {
        match action {
            "post_message" => post_message(&input),
            other => Err(Error::invalid_input(format!("the slack connector has no action {other:?}"))),
        }
    }

    // Slack has no API to set an app's Request URL: the default `subscribe`
    // (null) has weft show the URL for the user to paste into the app's settings.

    fn handle_webhook(request: WebhookRequest) -> Result<WebhookOutcome> {
        verify(&request)?;
        let body: Value = serde_json::from_slice(&request.body)
            .map_err(|e| Error::invalid_input(format!("the Events API request is not JSON: {e}")))?;
        match body["type"].as_str() {
            Some("url_verification") => {
                let challenge = body["challenge"]
                    .as_str()
                    .ok_or_else(|| Error::invalid_input("url_verification without a `challenge`"))?;
                Ok(WebhookOutcome { events: Vec::new(), response: Some(reply(json!({ "challenge": challenge }))) })
            }
            Some("event_callback") => {
                let id = body["event_id"]
                    .as_str()
                    .ok_or_else(|| Error::invalid_input("event_callback without an `event_id`"))?
                    .to_string();
                let kind = body["event"]["type"].as_str().unwrap_or_default();
                let wanted: Vec<&str> = request.config["types"]
                    .as_array()
                    .map(|t| t.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if !wanted.is_empty() && !wanted.contains(&kind) {
                    log::debug(&format!("event {id} of type {kind:?} is not among {wanted:?}"));
                    return Ok(WebhookOutcome::default());
                }
                if let Some(retry) = request.header("x-slack-retry-num") {
                    log::info(&format!("Slack retry {retry} of event {id}"));
                }
                Ok(WebhookOutcome { events: vec![Event { id, timestamp: None, payload: body }], response: None })
            }
            // `app_rate_limited` and future envelope types: acknowledge, start nothing.
            Some(other) => {
                log::info(&format!("Slack sent a {other:?} request; nothing to run"));
                Ok(WebhookOutcome { events: Vec::new(), response: Some(reply(json!({ "ok": true }))) })
            }
            None => Err(Error::invalid_input("the Events API request has no `type`")),
        }
    }
}

weft_sdk::export_connector!(Slack);
