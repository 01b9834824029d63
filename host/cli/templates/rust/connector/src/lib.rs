//! {{name}}: a weft connector. `describe` says what it offers; `invoke` runs
//! its actions. Build it with `weft plugin build`, test it with
//! `weft plugin test` (the fixtures in `tests/`).

use weft_sdk::{Action, CallContext, Connector, Error, Manifest, Result, Value, config, http, json, log};

struct Plugin;

impl Connector for Plugin {
    fn describe() -> Manifest {
        Manifest::new("{{name}}", "0.1.0", "A weft connector")
            .setting("base_url", "The API's base URL, e.g. https://api.example.com", true)
            .action(
                Action::new("get-item", "Fetch one item by its id")
                    .input_schema(json!({
                        "type": "object",
                        "required": ["id"],
                        "properties": { "id": { "type": ["integer", "string"], "description": "The item's id" } }
                    }))
                    .output_schema(json!({ "type": "object" })),
            )
    }

    fn invoke(action: &str, input: Value, _ctx: &CallContext) -> Result<Value> {
        match action {
            "get-item" => get_item(&input),
            other => Err(Error::invalid_input(format!("unknown action {other:?}"))),
        }
    }
}

/// The connection's `base_url`, without a trailing slash.
fn base_url() -> Result<String> {
    let base = config::setting_str("base_url")
        .ok_or_else(|| Error::invalid_input("the connection has no base_url setting"))?;
    Ok(base.trim_end_matches('/').to_string())
}

/// `GET {base_url}/items/{id}`: the item, as the API returns it.
fn get_item(input: &Value) -> Result<Value> {
    let id = match &input["id"] {
        Value::Number(n) => n.to_string(),
        Value::String(s) if !s.is_empty() => s.clone(),
        other => return Err(Error::invalid_input(format!("`id` must be a number or a string, not {other}"))),
    };
    log::info(&format!("fetching item {id}"));
    let response = http::Request::get(format!("{}/items/{}", base_url()?, http::percent_encode(&id))).send()?;
    if response.status == 404 {
        return Err(Error::invalid_input(format!("there is no item {id}")));
    }
    // 401/403 → auth, 429 → rate-limited, 5xx → transient: the engine retries what may pass.
    response.error_for_status()?.json()
}

weft_sdk::export_connector!(Plugin);
