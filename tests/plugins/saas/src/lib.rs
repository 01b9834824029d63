//! A connector for the fake SaaS app of the tests (`weft_tests::saas`): every
//! trigger kind weft offers, against a server that behaves like a real API.
//!
//! - polling: `new_record` (increasing id), `updated_record` (timestamp),
//!   `any_record` (fetch everything; the host dedupes);
//! - webhooks: `record_event` subscribes through the app's `/hooks` API and
//!   checks `x-saas-signature: sha256=<hex HMAC-SHA256 of the body>`;
//!   `inbox` has no subscription API (the user pastes its URL by hand).
//!   Both answer `{"challenge": "…"}` handshakes.
use weft_sdk::{
    Action, CallContext, Connector, Error, Event, Manifest, PollResponse, PollingStrategy, Result, Trigger, Value,
    WebhookOutcome, WebhookRequest, WebhookResponse, config, http, json, signature,
};

struct Saas;

fn base() -> Result<String> {
    config::setting_str("base_url").ok_or_else(|| Error::invalid_input("the connection has no base_url setting"))
}

fn api(method: &str, path: &str) -> Result<http::Request> {
    let key = config::secret("api_key").ok_or_else(|| Error::auth("the connection has no api_key secret"))?;
    Ok(http::Request::new(method, format!("{}{path}", base()?)).header("authorization", format!("Bearer {key}")))
}

fn records(path: &str) -> Result<Vec<Value>> {
    let response = api("GET", path)?.send()?.error_for_status()?;
    response.json::<Vec<Value>>()
}

fn event(record: Value, with_time: bool) -> Event {
    Event {
        id: record["id"].to_string(),
        timestamp: if with_time { record["modified"].as_str().map(str::to_string) } else { None },
        payload: record,
    }
}

fn verify(request: &WebhookRequest) -> Result<()> {
    let Some(secret) = config::secret("signing_secret") else { return Ok(()) };
    let given = request
        .header("x-saas-signature")
        .and_then(|s| s.strip_prefix("sha256="))
        .ok_or_else(|| Error::auth("missing x-saas-signature header"))?;
    if signature::verify_hmac_sha256_hex(secret.as_bytes(), &[&request.body], given) {
        Ok(())
    } else {
        Err(Error::auth("x-saas-signature does not match the body"))
    }
}

impl Connector for Saas {
    fn describe() -> Manifest {
        Manifest::new("saas", "1.0.0", "The tests' fake SaaS app")
            .setting("base_url", "Where the app is", true)
            .secret("api_key", "Bearer token for the app's API", true)
            .secret("signing_secret", "Key of the webhook signatures", false)
            .host("127.0.0.1")
            .trigger(Trigger::polling(
                "new_record",
                "Records created since the last poll",
                PollingStrategy::IncreasingId,
            ))
            .trigger(Trigger::polling(
                "updated_record",
                "Records changed since the last poll",
                PollingStrategy::Timestamp,
            ))
            .trigger(Trigger::polling("any_record", "Every record, deduplicated by the host", PollingStrategy::Dedupe))
            .trigger(
                Trigger::webhook("record_event", "The app calls weft when records change")
                    .events(&["created", "updated", "deleted"]),
            )
            .trigger(Trigger::webhook("inbox", "Events posted to a URL pasted into the app by hand"))
            .action(Action::new("echo", "Return the input"))
            .action(Action::new("create_record", "Create a record in the app (`{name}`)"))
            .action(Action::new("fetch_any", "GET `{url}`; any failure is called transient, as careless plugins do"))
    }

    fn invoke(action: &str, input: Value, _ctx: &CallContext) -> Result<Value> {
        match action {
            "echo" => Ok(input),
            "create_record" => {
                api("POST", "/records")?.json(&json!({ "name": input["name"] }))?.send()?.error_for_status()?.json()
            }
            "fetch_any" => {
                let url = input["url"].as_str().unwrap_or_default();
                let response = http::Request::get(url)
                    .send()
                    .map_err(|e| Error::transient(format!("network trouble, try again: {e}")))?;
                Ok(json!({ "status": response.status }))
            }
            other => Err(Error::invalid_input(format!("unknown action {other}"))),
        }
    }

    fn poll(trigger: &str, _config: Value, cursor: Option<String>) -> Result<PollResponse> {
        let events = match trigger {
            "new_record" => {
                let after = cursor.unwrap_or_else(|| "0".into());
                records(&format!("/records?after_id={after}"))?.into_iter().map(|r| event(r, false)).collect()
            }
            "updated_record" => {
                let path = match cursor {
                    Some(since) => format!("/records?modified_since={since}"),
                    None => "/records".into(),
                };
                records(&path)?.into_iter().map(|r| event(r, true)).collect()
            }
            // The app lists newest first; the contract wants oldest first.
            "any_record" => records("/records")?.into_iter().rev().map(|r| event(r, false)).collect(),
            other => return Err(Error::invalid_input(format!("{other} is not a polling trigger"))),
        };
        // The host keeps the cursor (greatest id, latest time) for us.
        Ok(PollResponse { events, next_cursor: None })
    }

    fn subscribe(trigger: &str, _config: Value, webhook_url: &str, events: Vec<String>) -> Result<Value> {
        if trigger == "inbox" {
            return Ok(Value::Null);
        }
        let response = api("POST", "/hooks")?.json(&json!({ "url": webhook_url, "events": events }))?.send()?;
        let hook: Value = response.error_for_status()?.json()?;
        Ok(json!({ "hook_id": hook["id"] }))
    }

    fn unsubscribe(_trigger: &str, _config: Value, subscription: Value) -> Result<()> {
        api("DELETE", &format!("/hooks/{}", subscription["hook_id"]))?.send()?.error_for_status()?;
        Ok(())
    }

    fn handle_webhook(request: WebhookRequest) -> Result<WebhookOutcome> {
        let body: Value = serde_json::from_slice(&request.body)
            .map_err(|e| Error::invalid_input(format!("the body is not JSON: {e}")))?;
        if let Some(challenge) = body.get("challenge") {
            let answer = serde_json::to_vec(&json!({ "challenge": challenge }))?;
            return Ok(WebhookOutcome {
                events: Vec::new(),
                response: Some(WebhookResponse {
                    status: 200,
                    headers: vec![("content-type".into(), "application/json".into())],
                    body: answer,
                }),
            });
        }
        verify(&request)?;
        let list = match body.get("events") {
            Some(Value::Array(list)) => list.clone(),
            _ => vec![body],
        };
        let events = list
            .into_iter()
            .map(|e| Event { id: e["record"]["id"].to_string(), timestamp: None, payload: e })
            .collect();
        Ok(WebhookOutcome { events, response: None })
    }
}

weft_sdk::export_connector!(Saas);
