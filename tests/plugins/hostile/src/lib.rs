//! A connector that misbehaves on purpose, one way per action. It implements the
//! raw generated bindings (not the SDK's trait) so it can also break the
//! contract itself: invalid JSON, wrong shapes.
use std::hint::black_box;
use weft_sdk::connector::bindings::exports::weft::plugin::connector_api::{
    ActionSpec, Guest, InvokeRequest, Manifest, PollRequest, PollResponse, SubscribeRequest, UnsubscribeRequest,
    WebhookOutcome, WebhookRequest,
};
use weft_sdk::connector::bindings::weft::plugin::types::Error;
use weft_sdk::connector::bindings::weft::plugin::{kv, log};

struct Hostile;

const ACTIONS: &[&str] = &[
    "spin",
    "memory",
    "huge-alloc",
    "log-loop",
    "kv-get-loop",
    "kv-fill",
    "recurse",
    "recurse-big",
    "big-output",
    "panic",
    "bad-json",
    "log-flood",
    "kv-flood",
    "kv-set",
    "kv-get",
    "sleep",
    "fetch",
    "ok",
];

/// Deep recursion with tiny frames: runs into the engine's wasm stack limit.
fn recurse(n: u64) -> u64 {
    if black_box(true) { recurse(black_box(n + 1)) + 1 } else { 0 }
}

/// Recursion with big frames: overflows the shadow stack in linear memory first.
fn recurse_big(n: u64) -> u64 {
    let buf = black_box([n; 256]);
    if black_box(true) { recurse_big(n + 1) + buf[3] } else { 0 }
}

impl Guest for Hostile {
    fn describe() -> Manifest {
        Manifest {
            name: "hostile".into(),
            version: "0.1.0".into(),
            description: "Misbehaves on purpose".into(),
            triggers: vec![],
            actions: ACTIONS
                .iter()
                .map(|a| ActionSpec {
                    name: a.to_string(),
                    description: String::new(),
                    input_schema: "{}".into(),
                    output_schema: "{}".into(),
                })
                .collect(),
            settings: vec![],
            hosts: vec![],
        }
    }

    fn invoke(req: InvokeRequest) -> Result<String, Error> {
        let input: serde_json::Value = serde_json::from_str(&req.input).unwrap_or_default();
        match req.action.as_str() {
            "spin" => {
                let mut i: u64 = 0;
                loop {
                    i = black_box(i.wrapping_add(1));
                }
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(black_box(vec![1u8; 1 << 20]));
                }
            }
            "huge-alloc" => {
                let bytes = input["bytes"].as_u64().unwrap_or(2_147_483_647) as usize;
                let buf = black_box(vec![0u8; bytes]);
                Ok(buf.len().to_string())
            }
            // Host calls in a loop, with no work of their own in between.
            "log-loop" => loop {
                log::log(log::Level::Debug, "again");
            },
            "kv-get-loop" => loop {
                black_box(kv::get("k").ok());
            },
            // Entries k<from>… (at most `count`) until the namespace is full: how many were stored, and why it stopped.
            "kv-fill" => {
                let value = vec![7u8; input["value_bytes"].as_u64().unwrap_or(8) as usize];
                let start = input["from"].as_u64().unwrap_or(0);
                let end = start.saturating_add(input["count"].as_u64().unwrap_or(u64::MAX));
                for i in start..end {
                    if let Err(e) = kv::set(&format!("k{i:07}"), &value) {
                        return Ok(serde_json::json!({ "stored": i - start, "error": format!("{e:?}") }).to_string());
                    }
                }
                Ok(serde_json::json!({ "stored": end - start }).to_string())
            }
            "recurse" => Ok(recurse(0).to_string()),
            "recurse-big" => Ok(recurse_big(0).to_string()),
            "big-output" => {
                let mb = input["mb"].as_u64().unwrap_or(8) as usize;
                Ok(format!("\"{}\"", "x".repeat(mb << 20)))
            }
            "panic" => panic!("the hostile plugin panicked on purpose"),
            "bad-json" => Ok("{ this is not json".into()),
            "log-flood" => {
                for i in 0..input["lines"].as_u64().unwrap_or(100_000) {
                    log::log(log::Level::Info, &format!("flood line {i}"));
                }
                Ok("{}".into())
            }
            "kv-flood" => {
                let chunk = vec![7u8; 60 * 1024];
                for i in 0u64.. {
                    if let Err(e) = kv::set(&format!("k{i}"), &chunk) {
                        return Ok(serde_json::json!({ "stored": i, "error": format!("{e:?}") }).to_string());
                    }
                }
                unreachable!()
            }
            "kv-set" => {
                let key = input["key"].as_str().unwrap_or("k");
                kv::set(key, input["value"].as_str().unwrap_or("").as_bytes())
                    .map_err(|e| Error::Fatal(format!("{e:?}")))?;
                Ok("{}".into())
            }
            "kv-get" => {
                let v = kv::get(input["key"].as_str().unwrap_or("k")).map_err(|e| Error::Fatal(format!("{e:?}")))?;
                Ok(serde_json::json!({ "value": v.map(|v| String::from_utf8_lossy(&v).into_owned()) }).to_string())
            }
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(input["secs"].as_u64().unwrap_or(3600)));
                Ok("{}".into())
            }
            "fetch" => {
                let url = input["url"].as_str().unwrap_or("http://169.254.169.254/latest/meta-data/");
                let response = weft_sdk::http::Request::get(url).send().map_err(|e| Error::Fatal(e.to_string()))?;
                Ok(serde_json::json!({ "status": response.status }).to_string())
            }
            "ok" => Ok("{\"ok\":true}".into()),
            other => Err(Error::InvalidInput(format!("unknown action {other}"))),
        }
    }

    fn poll(_: PollRequest) -> Result<PollResponse, Error> {
        Ok(PollResponse { events: vec![], next_cursor: None })
    }
    fn subscribe(_: SubscribeRequest) -> Result<String, Error> {
        Ok("not json at all".into())
    }
    fn unsubscribe(_: UnsubscribeRequest) -> Result<(), Error> {
        unreachable!("the hostile plugin traps in unsubscribe")
    }
    fn handle_webhook(_: WebhookRequest) -> Result<WebhookOutcome, Error> {
        Err(Error::Transient("try later".into()))
    }
}

impl weft_sdk::connector::bindings::exports::weft::plugin::oauth::Guest for Hostile {
    fn oauth2() -> Option<weft_sdk::connector::bindings::exports::weft::plugin::oauth::Oauth2Spec> {
        None
    }
}

weft_sdk::connector::bindings::__weft_export_connector_world!(Hostile);
