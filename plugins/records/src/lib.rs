//! `records`: a connector for REST "records" APIs in the style of json-server
//! (`GET /contacts?_sort=id&_order=asc`, `?id_gte=`, `POST`, `PATCH`,
//! `DELETE`). See this crate's README for triggers, actions and settings.

use weft_sdk::{
    Action, CallContext, Connector, Error, Event, Manifest, PollResponse, PollingStrategy, Result, Trigger, Value,
    config, http, json,
};

struct Records;

/// Records fetched per poll unless the trigger's `limit` says otherwise.
const DEFAULT_LIMIT: u64 = 100;

fn base() -> Result<String> {
    let base = config::setting_str("base_url")
        .ok_or_else(|| Error::invalid_input("the connection has no base_url setting"))?;
    Ok(base.trim_end_matches('/').to_string())
}

/// `collection` from a trigger's config or an action's input: a plain name, no slashes.
fn collection(value: &Value) -> Result<String> {
    let name = value["collection"].as_str().ok_or_else(|| Error::invalid_input("`collection` must be a string"))?;
    if name.is_empty() || name.contains(['/', '?', '#']) {
        return Err(Error::invalid_input(format!("`collection` {name:?} must be a plain name such as \"contacts\"")));
    }
    Ok(name.to_string())
}

/// A record id as text: numbers as they print, strings as they are.
fn id_text(id: &Value) -> Result<String> {
    match id {
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        other => Err(Error::invalid_input(format!("a record id must be a number or a non-empty string, not {other}"))),
    }
}

fn request(method: &str, path: &str) -> Result<http::Request> {
    let mut req = http::Request::new(method, format!("{}{path}", base()?)).header("accept", "application/json");
    if let Some(key) = config::secret("api_key") {
        req = req.header("authorization", format!("Bearer {key}"));
    }
    Ok(req)
}

/// A record's URL path: `/{collection}/{id}`, the id percent-encoded.
fn record_path(input: &Value) -> Result<String> {
    Ok(format!("/{}/{}", collection(input)?, http::percent_encode(&id_text(&input["id"])?)))
}

/// `404` on a record's URL: say which record is missing.
fn not_found(input: &Value) -> Error {
    Error::invalid_input(format!(
        "there is no record {} in {:?}",
        input["id"],
        input["collection"].as_str().unwrap_or_default()
    ))
}

/// Add `filter` (field → value, json-server operators such as `name_like` included) to a query.
fn with_filter(mut req: http::Request, filter: &Value) -> Result<http::Request> {
    match filter {
        Value::Null => {}
        Value::Object(fields) => {
            for (field, value) in fields {
                let values = match value {
                    Value::Array(items) => items.clone(),
                    other => vec![other.clone()],
                };
                for value in values {
                    req = req.query(field, &value.as_str().map_or_else(|| value.to_string(), str::to_owned));
                }
            }
        }
        other => return Err(Error::invalid_input(format!("`filter` must be an object of field → value, not {other}"))),
    }
    Ok(req)
}

fn fetch(req: http::Request) -> Result<(Vec<Value>, Option<u64>)> {
    let response = req.send()?.error_for_status()?;
    let total = response.header("x-total-count").and_then(|t| t.parse().ok());
    let records = response
        .json::<Vec<Value>>()
        .map_err(|e| Error::fatal(format!("{} did not answer with a list of records: {e}", response.url)))?;
    Ok((records, total))
}

/// Now as RFC 3339 UTC with milliseconds, the form `timestamp_field` is stamped in.
fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

/// The record to write, with the connection's `timestamp_field` set to now when it has one.
fn stamped(record: &Value, what: &str) -> Result<Value> {
    let Value::Object(fields) = record else {
        return Err(Error::invalid_input(format!("`{what}` must be a JSON object, not {record}")));
    };
    let mut fields = fields.clone();
    if let Some(field) = config::setting_str("timestamp_field") {
        fields.insert(field, json!(now_rfc3339()));
    }
    Ok(Value::Object(fields))
}

fn poll_config(config: &Value) -> Result<(String, u64)> {
    let limit = match &config["limit"] {
        Value::Null => DEFAULT_LIMIT,
        v => v
            .as_u64()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| Error::invalid_input(format!("`limit` must be a whole number from 1 to 1000, not {v}")))?,
    };
    Ok((collection(config)?, limit))
}

/// A trigger's config schema: `collection`, `limit`, `filter`, and `extra`.
fn collection_schema(extra: Value) -> Value {
    let mut properties = json!({
        "collection": { "type": "string", "description": "The collection, e.g. `contacts` (the URL is base_url/contacts)" },
        "limit": { "type": "integer", "minimum": 1, "maximum": 1000, "description": "Records fetched per poll (default 100)" },
        "filter": { "type": "object", "description": "Query filters, field → value (json-server operators such as `name_like` work)" }
    });
    if let (Value::Object(all), Value::Object(more)) = (&mut properties, extra) {
        all.extend(more);
    }
    record_input(properties, &[])
}

/// A polling trigger over one collection; `extra` adds config properties.
fn poller(name: &str, description: &str, strategy: PollingStrategy, extra: Value) -> Trigger {
    Trigger::polling(name, description, strategy)
        .config_schema(collection_schema(extra))
        .output_schema(json!({ "type": "object", "required": ["id"] }))
}

fn record_input(extra: Value, required: &[&str]) -> Value {
    let mut schema = json!({
        "type": "object",
        "required": ["collection"],
        "properties": { "collection": { "type": "string" } }
    });
    if let Value::Object(more) = extra {
        schema["properties"].as_object_mut().unwrap().extend(more);
    }
    for r in required {
        schema["required"].as_array_mut().unwrap().push(json!(r));
    }
    schema
}

impl Connector for Records {
    fn describe() -> Manifest {
        let id = json!({ "id": { "type": ["integer", "string"], "description": "The record's id" } });
        let record = json!({ "type": "object", "required": ["id"] });
        Manifest::new("records", "0.1.0", "Records in a REST collection API such as json-server")
            .setting("base_url", "The API's base URL, e.g. http://127.0.0.1:3000", true)
            .setting(
                "timestamp_field",
                "A field that create and update set to the current time (RFC 3339), e.g. updatedAt",
                false,
            )
            .secret("api_key", "Sent as `Authorization: Bearer <key>` when set", false)
            .trigger(poller("new_record", "Records created since the last poll (increasing id)", PollingStrategy::IncreasingId, json!({})))
            .trigger(poller(
                "updated_record",
                "Records created or changed since the last poll (a timestamp field)",
                PollingStrategy::Timestamp,
                json!({ "field": { "type": "string", "description": "The RFC 3339 timestamp field (default updatedAt)" } }),
            ))
            .trigger(poller(
                "any_record",
                "Every record not seen before, for collections that can filter on nothing (the host dedupes by id)",
                PollingStrategy::Dedupe,
                json!({}),
            ))
            .action(
                Action::new("create", "Create a record; returns it with its new id")
                    .input_schema(record_input(json!({ "record": { "type": "object" } }), &["record"]))
                    .output_schema(record.clone()),
            )
            .action(
                Action::new("update", "Change some fields of a record (PATCH); returns the record")
                    .input_schema(record_input(
                        json!({ "id": id["id"], "changes": { "type": "object" } }),
                        &["id", "changes"],
                    ))
                    .output_schema(record.clone()),
            )
            .action(
                Action::new("get", "Fetch one record by id")
                    .input_schema(record_input(id.clone(), &["id"]))
                    .output_schema(record),
            )
            .action(
                Action::new("list", "Records matching a filter, sorted and paged")
                    .input_schema(record_input(
                        json!({
                            "filter": { "type": "object" },
                            "sort": { "type": "string" },
                            "order": { "enum": ["asc", "desc"] },
                            "limit": { "type": "integer", "minimum": 1 },
                            "page": { "type": "integer", "minimum": 1 }
                        }),
                        &[],
                    ))
                    .output_schema(json!({
                        "type": "object",
                        "required": ["records"],
                        "properties": {
                            "records": { "type": "array", "items": { "type": "object" } },
                            "total": { "type": ["integer", "null"] }
                        }
                    })),
            )
            .action(
                Action::new("delete", "Delete a record; deleting one already gone is not an error")
                    .input_schema(record_input(id, &["id"]))
                    .output_schema(json!({
                        "type": "object",
                        "required": ["id", "deleted"],
                        "properties": { "deleted": { "type": "boolean" } }
                    })),
            )
    }

    fn invoke(action: &str, input: Value, ctx: &CallContext) -> Result<Value> {
        match action {
            "create" => {
                let body = stamped(&input["record"], "record")?;
                let req = request("POST", &format!("/{}", collection(&input)?))?
                    .header("idempotency-key", &ctx.idempotency_key)
                    .json(&body)?;
                req.send()?.error_for_status()?.json()
            }
            "update" => {
                let body = stamped(&input["changes"], "changes")?;
                let response = request("PATCH", &record_path(&input)?)?.json(&body)?.send()?;
                if response.status == 404 {
                    return Err(not_found(&input));
                }
                response.error_for_status()?.json()
            }
            "get" => {
                let response = request("GET", &record_path(&input)?)?.send()?;
                if response.status == 404 {
                    return Err(not_found(&input));
                }
                response.error_for_status()?.json()
            }
            "list" => {
                let mut req = with_filter(request("GET", &format!("/{}", collection(&input)?))?, &input["filter"])?;
                if let Some(sort) = input["sort"].as_str() {
                    req = req.query("_sort", sort).query("_order", input["order"].as_str().unwrap_or("asc"));
                }
                for (field, param) in [("limit", "_limit"), ("page", "_page")] {
                    if let Some(n) = input[field].as_u64() {
                        req = req.query(param, &n.to_string());
                    }
                }
                let (records, total) = fetch(req)?;
                Ok(json!({ "records": records, "total": total }))
            }
            "delete" => {
                let response = request("DELETE", &record_path(&input)?)?.send()?;
                let deleted = response.status != 404;
                if deleted {
                    response.error_for_status()?;
                }
                Ok(json!({ "id": input["id"], "deleted": deleted }))
            }
            other => Err(Error::invalid_input(format!("the records connector has no action {other:?}"))),
        }
    }

    fn poll(trigger: &str, config: Value, cursor: Option<String>) -> Result<PollResponse> {
        let (collection, limit) = poll_config(&config)?;
        // Without a cursor (the seeding poll, or a collection that was empty
        // then) every record is fetched, so the cursor starts at the true
        // latest; after that each poll fetches at most `limit`.
        let list = with_filter(request("GET", &format!("/{collection}"))?, &config["filter"])?;
        match trigger {
            "new_record" => {
                // The host's cursor is the greatest id emitted; `_gte` keeps the
                // request valid for text ids too, and the host drops the one it saw.
                let mut req = list.query("_sort", "id").query("_order", "asc");
                if let Some(after) = &cursor {
                    // One more than `limit`: `_gte` returns the record at the cursor again.
                    req = req.query("id_gte", after).query("_limit", &(limit + 1).to_string());
                }
                let events = fetch(req)?
                    .0
                    .into_iter()
                    .map(|r| Ok(Event { id: id_text(&r["id"])?, timestamp: None, payload: r }))
                    .collect::<Result<_>>()?;
                Ok(PollResponse { events, next_cursor: None })
            }
            "updated_record" => {
                let field = config["field"].as_str().unwrap_or("updatedAt");
                let mut req = list.query("_sort", field).query("_order", "asc");
                // The cursor is the app's own text of the latest timestamp, so
                // the app compares like with like.
                if let Some(since) = &cursor {
                    req = req.query(&format!("{field}_gte"), since).query("_limit", &(limit + 1).to_string());
                }
                let mut events = Vec::new();
                for record in fetch(req)?.0 {
                    // Records never stamped cannot be ordered by time: not "updated".
                    let Some(time) = record[field].as_str().map(str::to_owned) else { continue };
                    events.push(Event { id: id_text(&record["id"])?, timestamp: Some(time), payload: record });
                }
                let next_cursor = events.last().and_then(|e| e.timestamp.clone());
                Ok(PollResponse { events, next_cursor })
            }
            "any_record" => {
                let events = fetch(list)?
                    .0
                    .into_iter()
                    .map(|r| Ok(Event { id: id_text(&r["id"])?, timestamp: None, payload: r }))
                    .collect::<Result<_>>()?;
                Ok(PollResponse { events, next_cursor: None })
            }
            other => Err(Error::invalid_input(format!("the records connector has no polling trigger {other:?}"))),
        }
    }
}

weft_sdk::export_connector!(Records);
