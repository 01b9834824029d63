//! A well-behaved connector that exercises every capability and export, for tests.
//!
//! Built twice: `probe` (version 0.1.0) and, from this same file with the
//! `v2` feature, `probe-v2` (version 0.2.0), so tests can swap one version of
//! a plugin for another and tell by the output which one ran.
use weft_sdk::{
    Action, CallContext, Connector, Error, Event, Manifest, PollResponse, PollingStrategy, Result, Trigger, Value,
    WebhookOutcome, WebhookRequest, WebhookResponse, config, http, json, kv, log,
};

struct Probe;

const VERSION: &str = if cfg!(feature = "v2") { "0.2.0" } else { "0.1.0" };

impl Connector for Probe {
    fn describe() -> Manifest {
        Manifest::new("probe", VERSION, "Exercises every capability")
            .setting("greeting", "Any value", false)
            .secret("token", "Any secret", false)
            .host("127.0.0.1")
            .trigger(Trigger::polling("numbers", "Counts up from the cursor", PollingStrategy::IncreasingId))
            .trigger(Trigger::webhook("echo", "Each request body is an event").events(&["created"]))
            .action(Action::new("kv-set", "Store a string"))
            .action(Action::new("kv-get", "Read a string"))
            .action(Action::new("kv-delete", "Delete a key"))
            .action(Action::new("kv-list", "List keys"))
            .action(Action::new("config", "Return settings and one secret"))
            .action(Action::new("fetch", "HTTP request through the host"))
            .action(Action::new("fetch-json", "GET a JSON document (0.2.0 also takes text)"))
            .action(Action::new("log", "Write log lines"))
            .action(Action::new("context", "Return the call context"))
            .action(Action::new("echo", "Return the input"))
            .action(Action::new("entropy", "Read the clocks and random bytes"))
    }

    fn invoke(action: &str, input: Value, ctx: &CallContext) -> Result<Value> {
        let key = input["key"].as_str().unwrap_or_default();
        match action {
            "kv-set" => {
                kv::set(key, input["value"].as_str().unwrap_or_default().as_bytes())?;
                Ok(json!({}))
            }
            "kv-get" => Ok(json!({ "value": kv::get(key)?.map(|v| String::from_utf8_lossy(&v).into_owned()) })),
            "kv-delete" => {
                kv::delete(key)?;
                Ok(json!({}))
            }
            "kv-list" => Ok(json!({ "keys": kv::list_keys(input["prefix"].as_str().unwrap_or(""), 100)? })),
            "config" => Ok(json!({
                "settings": config::settings(),
                "greeting": config::setting("greeting"),
                "secret": config::secret(input["secret"].as_str().unwrap_or("token")),
            })),
            "fetch" => {
                let url = input["url"].as_str().ok_or_else(|| Error::invalid_input("url"))?;
                let response = http::Request::new(input["method"].as_str().unwrap_or("GET"), url).send()?;
                Ok(json!({
                    "status": response.status,
                    "body": response.json_or_text(),
                    "url": response.url,
                    "version": VERSION,
                }))
            }
            // 0.1.0 fails on a body that is not JSON; 0.2.0, the "fix", takes it as text.
            "fetch-json" => {
                let url = input["url"].as_str().ok_or_else(|| Error::invalid_input("url"))?;
                let response = http::Request::get(url).send()?;
                match serde_json::from_slice::<Value>(&response.body) {
                    Ok(data) => Ok(json!({ "data": data })),
                    Err(_) if cfg!(feature = "v2") => Ok(json!({ "text": String::from_utf8_lossy(&response.body) })),
                    Err(e) => Err(Error::fatal(format!("the response is not JSON: {e}"))),
                }
            }
            "log" => {
                let n = input["lines"].as_u64().unwrap_or(1);
                for i in 0..n {
                    log::info(&format!("line {i}"));
                }
                Ok(json!({ "logged": n }))
            }
            "context" => Ok(json!({ "idempotency_key": ctx.idempotency_key, "attempt": ctx.attempt })),
            "echo" => Ok(input),
            "entropy" => {
                use std::hash::{BuildHasher, Hasher};
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
                let started = std::time::Instant::now();
                // A hasher's keys come from the host's random bytes.
                let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
                hasher.write(b"weft");
                Ok(json!({
                    "now_ns": now.as_nanos() as u64,
                    "hash": hasher.finish(),
                    "elapsed_ns": started.elapsed().as_nanos() as u64,
                }))
            }
            other => Err(Error::invalid_input(format!("unknown action {other}"))),
        }
    }

    fn poll(_trigger: &str, config: Value, cursor: Option<String>) -> Result<PollResponse> {
        let start: u64 = cursor.as_deref().unwrap_or("0").parse().map_err(|_| Error::fatal("bad cursor"))?;
        let count = config["count"].as_u64().unwrap_or(3);
        let events = (start + 1..=start + count)
            .map(|n| Event { id: n.to_string(), timestamp: None, payload: json!({ "n": n }) })
            .collect();
        Ok(PollResponse { events, next_cursor: Some((start + count).to_string()) })
    }

    fn subscribe(_trigger: &str, _config: Value, webhook_url: &str, events: Vec<String>) -> Result<Value> {
        Ok(json!({ "hook_id": 42, "url": webhook_url, "events": events }))
    }

    fn unsubscribe(_trigger: &str, _config: Value, subscription: Value) -> Result<()> {
        if subscription["hook_id"] == json!(42) { Ok(()) } else { Err(Error::fatal("unknown subscription")) }
    }

    fn handle_webhook(request: WebhookRequest) -> Result<WebhookOutcome> {
        if let Some(challenge) = request.header("x-challenge") {
            return Ok(WebhookOutcome {
                events: vec![],
                response: Some(WebhookResponse { status: 200, headers: vec![], body: challenge.as_bytes().to_vec() }),
            });
        }
        let payload: Value = serde_json::from_slice(&request.body)?;
        Ok(WebhookOutcome { events: vec![Event { id: "1".into(), timestamp: None, payload }], response: None })
    }
}

weft_sdk::export_connector!(Probe);
