//! A connector that leaves authentication to the host's OAuth 2.0: its
//! requests carry no credentials of their own. Built twice: `oauth-app`
//! (authorization-code grant with PKCE) and, with the `m2m` feature,
//! `oauth-m2m` (client-credentials grant). The URLs and hosts in the manifest
//! are placeholders a connection overrides with the test servers' addresses.

use weft_sdk::{Action, CallContext, Connector, Error, Manifest, OAuth2, Result, Value, http, json};

struct App;

const NAME: &str = if cfg!(feature = "m2m") { "oauth-m2m" } else { "oauth-app" };

fn oauth2() -> OAuth2 {
    let spec = if cfg!(feature = "m2m") {
        OAuth2::client_credentials("https://auth.example.com/token")
    } else {
        OAuth2::authorization_code("https://auth.example.com/authorize", "https://auth.example.com/token")
    };
    spec.scopes(&["items:read", "items:write"]).host("api.example.com")
}

impl Connector for App {
    fn describe() -> Manifest {
        let url = json!({ "type": "object", "required": ["url"], "properties": { "url": { "type": "string" } } });
        Manifest::new(NAME, "1.0.0", "Fetches URLs; the host adds the OAuth token")
            .host("api.example.com")
            .action(Action::new("get", "GET a URL").input_schema(url.clone()))
            .action(Action::new("post", "POST JSON to a URL").input_schema(url))
            .oauth2(oauth2())
    }

    fn invoke(action: &str, input: Value, _ctx: &CallContext) -> Result<Value> {
        let url = input["url"].as_str().unwrap_or_default().to_string();
        let request = match action {
            "get" => http::Request::get(url),
            "post" => http::Request::post(url).json(&input["body"])?,
            other => return Err(Error::invalid_input(format!("unknown action {other:?}"))),
        };
        let response = request.send()?.error_for_status()?;
        Ok(json!({ "status": response.status, "body": response.json_or_text() }))
    }
}

weft_sdk::export_connector!(App);
