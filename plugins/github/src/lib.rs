//! `github`: repository webhooks (issues, push…) verified with
//! `X-Hub-Signature-256`, subscribed through the repository hooks API, and
//! actions that create issues and comments. See this crate's README.

use weft_sdk::{
    Action, CallContext, Connector, Error, Event, Manifest, OAuth2, Result, Trigger, Value, WebhookOutcome,
    WebhookRequest, WebhookResponse, config, http, json, log, signature,
};

struct Github;

/// The events the `repository_event` trigger can subscribe to.
const EVENTS: &[&str] = &[
    "issues",
    "issue_comment",
    "push",
    "pull_request",
    "pull_request_review",
    "release",
    "create",
    "delete",
    "fork",
    "star",
    "workflow_run",
];

fn base() -> String {
    config::setting_str("base_url").unwrap_or_else(|| "https://api.github.com".into()).trim_end_matches('/').to_string()
}

/// A request to GitHub's API. With a `token` secret it carries that token;
/// without one, the connection authorizes through the OAuth app option and
/// weft adds the token (the plugin never sees it).
fn api(method: &str, path: &str) -> Result<http::Request> {
    let mut request = http::Request::new(method, format!("{}{path}", base()));
    if let Some(token) = config::secret("token") {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    Ok(request
        .header("accept", "application/vnd.github+json")
        .header("x-github-api-version", "2022-11-28")
        .header("user-agent", "weft-github-connector"))
}

/// `owner` and `repo` from a trigger's config or an action's input, checked.
fn repository(value: &Value) -> Result<String> {
    let part = |name: &str| -> Result<String> {
        let text = value[name].as_str().unwrap_or_default();
        let valid = !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if valid {
            Ok(text.to_string())
        } else {
            Err(Error::invalid_input(format!("`{name}` must be a GitHub {name} name, not {:?}", value[name])))
        }
    };
    Ok(format!("/repos/{}/{}", part("owner")?, part("repo")?))
}

/// Send a request and turn GitHub's error answers into errors the engine acts on.
fn call(req: http::Request) -> Result<Value> {
    answer(req.send()?)
}

fn answer(response: http::Response) -> Result<Value> {
    if response.status < 300 {
        return Ok(if response.body.is_empty() { Value::Null } else { response.json()? });
    }
    let body = response.json_or_text();
    let message = body["message"].as_str().map_or_else(|| body.to_string(), str::to_owned);
    let detail = match body["errors"].as_array() {
        Some(errors) if !errors.is_empty() => format!("{message} ({})", Value::Array(errors.clone())),
        _ => message,
    };
    let what = format!("GitHub answered {} to {}: {detail}", response.status, response.url);
    // Primary rate limit: 403/429 with x-ratelimit-remaining 0 and a reset time;
    // secondary limits: 403/429 with retry-after.
    let exhausted = response.header("x-ratelimit-remaining") == Some("0");
    let retry_after = response.header("retry-after").and_then(|s| s.trim().parse::<u64>().ok());
    if matches!(response.status, 403 | 429) && (exhausted || retry_after.is_some()) {
        let wait_s = retry_after.unwrap_or_else(|| {
            let reset = response.header("x-ratelimit-reset").and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            reset.saturating_sub(now).max(1)
        });
        return Err(Error::rate_limited(what, wait_s.saturating_mul(1000)));
    }
    Err(match response.status {
        401 | 403 => Error::auth(what),
        404 | 410 | 422 => Error::invalid_input(what),
        408 | 500..=599 => Error::transient(what),
        _ => Error::fatal(what),
    })
}

fn webhook_secret() -> Result<String> {
    config::secret("webhook_secret").ok_or_else(|| {
        Error::invalid_input("the connection has no `webhook_secret` secret, which signs GitHub's webhook deliveries")
    })
}

/// Check `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`.
fn verify(request: &WebhookRequest) -> Result<()> {
    let secret = webhook_secret()?;
    let given =
        request.header("x-hub-signature-256").ok_or_else(|| Error::auth("missing X-Hub-Signature-256 header"))?;
    let hex =
        given.strip_prefix("sha256=").ok_or_else(|| Error::auth("X-Hub-Signature-256 must start with sha256="))?;
    if signature::verify_hmac_sha256_hex(secret.as_bytes(), &[&request.body], hex) {
        Ok(())
    } else {
        Err(Error::auth("X-Hub-Signature-256 does not match the body"))
    }
}

fn json_reply(status: u16, body: Value) -> WebhookResponse {
    WebhookResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
    }
}

fn string_list(value: &Value, name: &str) -> Result<Vec<String>> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str().map(str::to_owned).ok_or_else(|| Error::invalid_input(format!("`{name}` must list strings")))
            })
            .collect(),
        _ => Err(Error::invalid_input(format!("`{name}` must be a list of strings"))),
    }
}

impl Connector for Github {
    fn describe() -> Manifest {
        let repo = json!({
            "owner": { "type": "string", "description": "The repository's owner (user or organisation)" },
            "repo": { "type": "string", "description": "The repository's name" }
        });
        let with = |extra: Value, required: &[&str]| {
            let mut properties = repo.clone();
            properties.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            let mut req = vec!["owner", "repo"];
            req.extend_from_slice(required);
            json!({ "type": "object", "required": req, "properties": properties })
        };
        Manifest::new("github", "0.2.0", "GitHub repositories: webhooks, issues and comments")
            .host("api.github.com")
            .host("github.com")
            // An OAuth app (GitHub → Settings → Developer settings → OAuth Apps): a
            // person signs in once instead of pasting a token.
            .oauth2(
                OAuth2::authorization_code(
                    "https://github.com/login/oauth/authorize",
                    "https://github.com/login/oauth/access_token",
                )
                .scopes(&["repo", "admin:repo_hook"])
                .host("api.github.com")
                .credentials_in_body(),
            )
            .setting("base_url", "The API's base URL (default https://api.github.com; GitHub Enterprise: https://HOST/api/v3)", false)
            .secret(
                "token",
                "A token that may read and write the repository's issues and hooks (not needed with the OAuth app option)",
                false,
            )
            .secret("webhook_secret", "The secret GitHub signs webhook deliveries with (X-Hub-Signature-256)", false)
            .trigger(
                Trigger::webhook("repository_event", "Events in a repository, delivered by a repository webhook")
                    .events(EVENTS)
                    .config_schema(with(
                        json!({ "actions": { "type": "array", "items": { "type": "string" },
                                  "description": "Only these `action`s, e.g. [\"opened\"] for issues (default all)" } }),
                        &[],
                    ))
                    .output_schema(json!({
                        "type": "object",
                        "required": ["event", "delivery"],
                        "properties": {
                            "event": { "type": "string", "description": "X-GitHub-Event: issues, push…" },
                            "delivery": { "type": "string", "description": "X-GitHub-Delivery, unique per delivery" },
                            "action": { "type": "string" }
                        }
                    })),
            )
            .action(
                Action::new("create_issue", "Open an issue")
                    .input_schema(with(
                        json!({
                            "title": { "type": "string", "minLength": 1 },
                            "body": { "type": "string" },
                            "labels": { "type": "array", "items": { "type": "string" } },
                            "assignees": { "type": "array", "items": { "type": "string" } }
                        }),
                        &["title"],
                    ))
                    .output_schema(json!({ "type": "object", "required": ["number"], "properties": { "number": { "type": "integer" } } })),
            )
            .action(
                Action::new("add_comment", "Comment on an issue or pull request")
                    .input_schema(with(
                        json!({ "issue_number": { "type": "integer", "minimum": 1 }, "body": { "type": "string", "minLength": 1 } }),
                        &["issue_number", "body"],
                    ))
                    .output_schema(json!({ "type": "object", "required": ["id"], "properties": { "id": { "type": "integer" } } })),
            )
    }

    fn invoke(action: &str, input: Value, _ctx: &CallContext) -> Result<Value> {
        let repo = repository(&input)?;
        match action {
            "create_issue" => {
                let mut issue = json!({ "title": input["title"] });
                for field in ["body", "labels", "assignees"] {
                    if !input[field].is_null() {
                        issue[field] = input[field].clone();
                    }
                }
                call(api("POST", &format!("{repo}/issues"))?.json(&issue)?)
            }
            "add_comment" => {
                let number = input["issue_number"]
                    .as_u64()
                    .ok_or_else(|| Error::invalid_input("`issue_number` must be a positive whole number"))?;
                call(
                    api("POST", &format!("{repo}/issues/{number}/comments"))?
                        .json(&json!({ "body": input["body"] }))?,
                )
            }
            other => Err(Error::invalid_input(format!("the github connector has no action {other:?}"))),
        }
    }

    fn subscribe(_trigger: &str, config: Value, webhook_url: &str, events: Vec<String>) -> Result<Value> {
        let repo = repository(&config)?;
        let hook = json!({
            "name": "web",
            "active": true,
            "events": events,
            "config": { "url": webhook_url, "content_type": "json", "secret": webhook_secret()?, "insecure_ssl": "0" }
        });
        let created = call(api("POST", &format!("{repo}/hooks"))?.json(&hook)?)?;
        let id = created["id"]
            .as_u64()
            .ok_or_else(|| Error::fatal(format!("GitHub created a hook without an id: {created}")))?;
        log::info(&format!("subscribed hook {id} on {repo}"));
        Ok(json!({ "hook_id": id, "repository": repo }))
    }

    fn unsubscribe(_trigger: &str, _config: Value, subscription: Value) -> Result<()> {
        let (Some(id), Some(repo)) = (subscription["hook_id"].as_u64(), subscription["repository"].as_str()) else {
            return Err(Error::fatal(format!("not a subscription this connector made: {subscription}")));
        };
        let response = api("DELETE", &format!("{repo}/hooks/{id}"))?.send()?;
        if response.status == 404 {
            // Deleted by hand already: the goal is reached.
            log::warn(&format!("hook {id} on {repo} was already gone"));
            return Ok(());
        }
        answer(response).map(drop)
    }

    fn handle_webhook(request: WebhookRequest) -> Result<WebhookOutcome> {
        verify(&request)?;
        let event =
            request.header("x-github-event").ok_or_else(|| Error::invalid_input("missing X-GitHub-Event header"))?;
        let delivery = request
            .header("x-github-delivery")
            .ok_or_else(|| Error::invalid_input("missing X-GitHub-Delivery header"))?
            .to_string();
        if event == "ping" {
            // Sent when a hook is created (or on demand): answer, start nothing.
            return Ok(WebhookOutcome { events: Vec::new(), response: Some(json_reply(200, json!({ "ok": true }))) });
        }
        let body: Value = serde_json::from_slice(&request.body).map_err(|e| {
            Error::invalid_input(format!("the delivery is not JSON (is the hook's content type `json`?): {e}"))
        })?;
        let Value::Object(mut payload) = body else {
            return Err(Error::invalid_input("the delivery's body is not a JSON object"));
        };
        let wanted = string_list(&request.config["actions"], "actions")?;
        let action = payload.get("action").and_then(Value::as_str).unwrap_or_default().to_string();
        if !wanted.is_empty() && !wanted.contains(&action) {
            log::debug(&format!("{event} delivery {delivery} with action {action:?} is not among {wanted:?}"));
            return Ok(WebhookOutcome::default());
        }
        payload.insert("event".into(), json!(event));
        payload.insert("delivery".into(), json!(delivery));
        Ok(WebhookOutcome {
            events: vec![Event { id: delivery, timestamp: None, payload: Value::Object(payload) }],
            response: None,
        })
    }
}

weft_sdk::export_connector!(Github);
