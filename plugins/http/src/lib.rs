//! `http`: a generic REST action and a generic incoming webhook.
//!
//! - action `request`: any method, any URL within the connection's grants,
//!   headers and a JSON body; returns the status, headers and body.
//! - trigger `incoming`: each POSTed JSON body (or each element of a JSON
//!   array) is an event. When the connection has a `signing_secret`, requests
//!   must carry `x-weft-signature: sha256=<hex HMAC-SHA256 of the body>`.
//!   There is no API to register the URL with: paste it where the events come from.

use weft_sdk::{
    Action, CallContext, Connector, Error, Event, Manifest, Result, Trigger, Value, WebhookOutcome, WebhookRequest,
    config, http, json, signature,
};

struct Http;

impl Connector for Http {
    fn describe() -> Manifest {
        Manifest::new("http", env!("CARGO_PKG_VERSION"), "Call any HTTP JSON API")
            .setting("base_url", "Prefix for relative URLs, e.g. https://api.example.com/v1", false)
            .setting("headers", "Headers sent with every request, as a JSON object", false)
            .secret("authorization", "Value of the Authorization header, e.g. `Bearer …`", false)
            .secret("signing_secret", "If set, incoming webhooks must be signed with it (x-weft-signature)", false)
            .trigger(
                Trigger::webhook("incoming", "Each JSON body POSTed to the flow's URL (an array: each element)")
                    .output_schema(json!({ "description": "The JSON body as sent" })),
            )
            .action(
                Action::new("request", "Send one HTTP request and return the response")
                    .input_schema(json!({
                        "type": "object",
                        "required": ["url"],
                        "additionalProperties": false,
                        "properties": {
                            "method": { "type": "string", "default": "GET",
                                        "enum": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] },
                            "url": { "type": "string", "description": "Absolute, or relative to the base_url setting" },
                            "query": { "type": "object", "additionalProperties": { "type": ["string", "number", "boolean"] } },
                            "headers": { "type": "object", "additionalProperties": { "type": "string" } },
                            "body": { "description": "Sent as JSON; omit for no body" },
                            "follow_redirects": { "type": "boolean", "default": true },
                            "fail_on_error_status": { "type": "boolean", "default": true,
                                "description": "Fail the step on 4xx/5xx (429 and 5xx are retried)" }
                        }
                    }))
                    .output_schema(json!({
                        "type": "object",
                        "required": ["status", "headers", "body"],
                        "properties": {
                            "status": { "type": "integer" },
                            "headers": { "type": "object", "additionalProperties": { "type": "string" } },
                            "body": { "description": "The body as JSON, or as a string when it is not JSON" }
                        }
                    })),
            )
    }

    fn invoke(action: &str, input: Value, ctx: &CallContext) -> Result<Value> {
        match action {
            "request" => request(input, ctx),
            other => Err(Error::invalid_input(format!("unknown action {other:?}; this connector has `request`"))),
        }
    }

    fn handle_webhook(request: WebhookRequest) -> Result<WebhookOutcome> {
        if request.method != "POST" {
            return Err(Error::invalid_input(format!("send events with POST, not {}", request.method)));
        }
        if let Some(secret) = config::secret("signing_secret") {
            verify(&secret, &request)?;
        }
        let body: Value = serde_json::from_slice(&request.body)
            .map_err(|e| Error::invalid_input(format!("the body is not JSON: {e}")))?;
        let items = match body {
            Value::Array(items) => items,
            one => vec![one],
        };
        let events = items
            .into_iter()
            .enumerate()
            .map(|(i, payload)| Event { id: i.to_string(), timestamp: None, payload })
            .collect();
        Ok(WebhookOutcome { events, response: None })
    }
}

/// Check `x-weft-signature: sha256=<hex>` against HMAC-SHA256(secret, body), in constant time.
fn verify(secret: &str, request: &WebhookRequest) -> Result<()> {
    let given = request
        .header("x-weft-signature")
        .and_then(|s| s.strip_prefix("sha256="))
        .ok_or_else(|| Error::auth("missing x-weft-signature: sha256=<hex HMAC-SHA256 of the body>"))?;
    if signature::verify_hmac_sha256_hex(secret.as_bytes(), &[&request.body], given) {
        Ok(())
    } else {
        Err(Error::auth("x-weft-signature does not match the body"))
    }
}

fn request(input: Value, ctx: &CallContext) -> Result<Value> {
    let url = input["url"].as_str().ok_or_else(|| Error::invalid_input("`url` must be a string"))?;
    let method = input["method"].as_str().unwrap_or("GET");
    let url = absolute(url)?;
    let mut req = http::Request::new(method, url);
    if let Some(query) = input["query"].as_object() {
        for (k, v) in query {
            req = req.query(k, v.as_str().map_or_else(|| v.to_string(), str::to_owned).as_str());
        }
    }
    req = req.header("idempotency-key", ctx.idempotency_key.clone());
    if let Some(Value::Object(defaults)) = config::setting("headers") {
        for (k, v) in defaults {
            req = req.header(k, v.as_str().map_or_else(|| v.to_string(), str::to_owned));
        }
    }
    if let Some(auth) = config::secret("authorization") {
        req = req.header("authorization", auth);
    }
    if let Some(headers) = input["headers"].as_object() {
        for (k, v) in headers {
            let v = v.as_str().ok_or_else(|| Error::invalid_input(format!("header {k:?} must be a string")))?;
            req = req.header(k.clone(), v);
        }
    }
    if let Some(body) = input.get("body") {
        req = req.json(body)?;
    }
    if input["follow_redirects"].as_bool() == Some(false) {
        req = req.max_redirects(0);
    }

    let mut response = req.send()?;
    if input["fail_on_error_status"].as_bool() != Some(false) {
        response = response.error_for_status()?;
    }
    let headers: serde_json::Map<String, Value> =
        response.headers.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    Ok(json!({ "status": response.status, "headers": headers, "body": response.json_or_text() }))
}

/// `url` as is when absolute, else joined to the connection's `base_url`.
fn absolute(url: &str) -> Result<String> {
    if url.starts_with("http://") || url.starts_with("https://") {
        return Ok(url.to_string());
    }
    let base = config::setting_str("base_url").ok_or_else(|| {
        Error::invalid_input(format!("{url:?} is relative and the connection has no base_url setting"))
    })?;
    Ok(format!("{}/{}", base.trim_end_matches('/'), url.trim_start_matches('/')))
}

weft_sdk::export_connector!(Http);
