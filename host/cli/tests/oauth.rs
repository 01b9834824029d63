//! OAuth 2.0 connections against a real authorization server (the npm
//! package oauth2-mock-server, extended through its own hooks for rotating
//! refresh tokens and `invalid_grant`: tests/oauth/server.mjs) and a real
//! `weft serve`: the code flow with PKCE through the callback, tokens lent
//! only to their hosts, refreshed before expiry and once after a 401 (single
//! flight), re-authorization after `invalid_grant`, client credentials, and
//! no token anywhere a person or a file could read it.

use serde_json::{Value, json};
use std::time::Duration;
use weft_tests::http::request;
use weft_tests::oauth::{OAuthServer, ProtectedApi};
use weft_tests::plugins;
use weft_tests::weft::{Weft, workspace};

const EXE: &str = env!("CARGO_BIN_EXE_weft");
const CLIENT_SECRET: &str = "client-secret-of-the-weft-test-app";

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The query parameter `name` of `url`.
fn param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| decode(v))
    })
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// Play the person's browser: open the authorization URL (the mock approves
/// at once) and follow its redirect to weft's callback; the callback's reply.
async fn sign_in(authorize_url: &str) -> (String, weft_tests::http::Reply) {
    let approved = request("GET", authorize_url, &[], Vec::new()).await;
    assert_eq!(approved.status, 302, "{}", approved.text());
    let back = approved.header("location").expect("a redirect back").to_string();
    let reply = request("GET", &back, &[], Vec::new()).await;
    (back, reply)
}

async fn run(weft: &Weft, flow: &str, event: Value) -> Value {
    let started = weft.ok("POST", &format!("/api/flows/{flow}/runs"), Some(&event)).await;
    weft.finished(started["run"]["id"].as_str().unwrap()).await
}

fn fetch_flow(name: &str, plugin: &str, connection: &str) -> Value {
    json!({
        "name": name,
        "trigger": "manual",
        "on_failure": "report",
        "steps": [{
            "id": "fetch",
            "action": format!("{plugin}.get"),
            "connection": connection,
            "input": { "url": "{{ trigger.url }}" },
            "retry": { "max_attempts": 1 }
        }]
    })
}

/// Every file under `dir`, read whole.
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_is_authorized_once_and_its_tokens_are_lent_refreshed_and_never_shown() {
    let oauth = OAuthServer::start();
    let api = ProtectedApi::start().await;
    let other = ProtectedApi::start().await;
    let (_dir, data, plugin_dir) = workspace(&[plugins::OAUTH_APP, plugins::IDENTITY]);
    let mut weft = Weft::start(EXE, &data, &plugin_dir, &[]);

    // The operator sets the client; the URLs and the token's host are this test's servers.
    let out = weft.cli(&[
        "connection",
        "set",
        "app",
        "--plugin",
        "oauth-app",
        "--grant-host",
        &api.grant(),
        "--grant-host",
        &other.grant(),
        "--grant-host",
        &oauth.grant(),
        "--client-id",
        "weft-test-app",
        "--client-secret",
        CLIENT_SECRET,
        "--authorization-url",
        &oauth.authorize_url(),
        "--token-url",
        &oauth.token_url(),
        "--token-host",
        &api.grant(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("next: weft connection authorize app"), "{}", text(&out));
    let report = json!({ "name": "report", "trigger": "manual",
        "steps": [{ "id": "keep", "transform": "identity", "input": "{{ trigger }}" }] });
    weft.ok("POST", "/api/flows", Some(&report)).await;
    weft.ok("POST", "/api/flows", Some(&fetch_flow("fetch", "oauth-app", "app"))).await;

    // Not authorized yet: the step fails with an auth error that says what to do.
    let failed = run(&weft, "fetch", json!({ "url": api.url() + "/me" })).await;
    assert_eq!(failed["run"]["status"], "failed");
    let error = &failed["steps"][0]["error"];
    assert_eq!(error["kind"], "auth", "{failed}");
    assert!(error["message"].as_str().unwrap().contains("is not authorized yet: run `weft connection authorize app`"));
    assert!(api.requests().is_empty(), "nothing went out without a token");

    // A person who refuses: the provider's answer is shown as such.
    oauth.deny_next_authorization();
    let begun = weft.ok("POST", "/api/connections/app/authorize", None).await;
    let (_, refused) = sign_in(begun["authorize_url"].as_str().unwrap()).await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.text().contains("refused the authorization of &quot;app&quot;: access_denied: The user denied access"),
        "{}",
        refused.text()
    );

    // A code exchanged too late: the application's answer, as such.
    oauth.set_code_ttl(0);
    let begun = weft.ok("POST", "/api/connections/app/authorize", None).await;
    let (_, late) = sign_in(begun["authorize_url"].as_str().unwrap()).await;
    assert_eq!(late.status, 400);
    assert!(
        late.text().contains("refused the code for &quot;app&quot; (invalid_grant: The authorization code expired)"),
        "{}",
        late.text()
    );
    oauth.set_code_ttl(600_000);

    // The CLI starts it: state bound to the connection, PKCE S256, the scopes, weft's callback.
    oauth.set_ttl(4);
    let out = weft.cli(&["connection", "authorize", "app", "--no-wait"]);
    assert!(out.status.success(), "{}", text(&out));
    let url = text(&out).lines().map(str::trim).find(|l| l.starts_with("http")).unwrap().to_string();
    assert!(url.starts_with(&oauth.authorize_url()), "{url}");
    assert_eq!(param(&url, "code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(param(&url, "scope").as_deref(), Some("items:read items:write"));
    assert_eq!(param(&url, "redirect_uri"), Some(weft.url("/oauth/callback")));
    let state = param(&url, "state").unwrap();
    assert!(state.starts_with("app.") && state.len() > 40, "{state}");

    // A forged state is refused, and leaves the real authorization usable.
    let forged = request("GET", &weft.url("/oauth/callback?state=app.forged&code=x"), &[], Vec::new()).await;
    assert_eq!(forged.status, 400);
    assert!(forged.text().contains("does not match the authorization started"), "{}", forged.text());
    let nobody = request("GET", &weft.url("/oauth/callback?state=nobody.x&code=x"), &[], Vec::new()).await;
    assert!(nobody.text().contains("names no connection"), "{}", nobody.text());

    let (back, page) = sign_in(&url).await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("Connection app is authorized"), "{}", page.text());
    let exchanged = oauth.token_requests("authorization_code");
    let statuses: Vec<_> = exchanged.iter().map(|e| e["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [400, 200], "the late code, then this one");
    let exchanged = &exchanged[1];
    assert_eq!(exchanged["code_verifier_present"], true, "the code went with its PKCE verifier");
    assert_eq!(
        (exchanged["client_id"].as_str(), exchanged["client_auth"].as_str()),
        (Some("weft-test-app"), Some("basic"))
    );
    // The same callback again: the state was single-use.
    let replay = request("GET", &back, &[], Vec::new()).await;
    assert_eq!(replay.status, 400);
    assert!(replay.text().contains("already used"), "{}", replay.text());

    let shown = weft.ok("GET", "/api/connections/app", None).await;
    assert_eq!(shown["oauth"]["status"], "authorized", "{shown}");
    assert_eq!(shown["oauth_offered"], "authorization_code");

    // The token goes to its host, and only there.
    let fetched = run(&weft, "fetch", json!({ "url": api.url() + "/me" })).await;
    assert_eq!(fetched["run"]["status"], "succeeded", "{fetched}");
    assert_eq!(fetched["run"]["output"]["body"]["sub"], "johndoe", "{fetched}");
    assert!(api.requests()[0].authorization.as_deref().unwrap().starts_with("Bearer "));
    let open = run(&weft, "fetch", json!({ "url": other.url() + "/open" })).await;
    assert_eq!(open["run"]["status"], "succeeded", "{open}");
    assert_eq!(other.requests()[0].authorization, None, "another granted host gets no token");

    // About to expire: refreshed before the call, which the application never refuses.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let after = run(&weft, "fetch", json!({ "url": api.url() + "/me" })).await;
    assert_eq!(after["run"]["status"], "succeeded", "{after}");
    assert_eq!(oauth.token_requests("refresh_token").len(), 1);
    assert!(api.requests().iter().all(|s| s.status == 200), "{:?}", api.requests());

    // A 401: one refresh, and the request once more.
    api.reject_next_token();
    let retried = run(&weft, "fetch", json!({ "url": api.url() + "/me" })).await;
    assert_eq!(retried["run"]["status"], "succeeded", "{retried}");
    assert_eq!(oauth.token_requests("refresh_token").len(), 2);
    let statuses: Vec<u16> = api.requests().iter().rev().take(2).map(|s| s.status).collect();
    assert_eq!(statuses, [200, 401], "refused once, then accepted with a fresh token");

    // 20 calls at expiry, the token endpoint slow: exactly one refresh.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    oauth.slow_tokens(300);
    let runs = futures_all(&weft, 20, &(api.url() + "/me")).await;
    oauth.slow_tokens(0);
    assert!(runs.iter().all(|r| r["run"]["status"] == "succeeded"), "{runs:?}");
    let refreshes = oauth.token_requests("refresh_token");
    assert_eq!(refreshes.len(), 3, "one refresh for twenty calls: {refreshes:?}");
    assert!(refreshes.iter().all(|r| r["status"] == 200), "no refresh token was spent twice: {refreshes:?}");

    // The application revokes the grant: the next refresh gets invalid_grant.
    oauth.revoke_refresh_tokens();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let refused = run(&weft, "fetch", json!({ "url": api.url() + "/me" })).await;
    assert_eq!(refused["run"]["status"], "failed");
    let error = &refused["steps"][0]["error"];
    assert_eq!(error["kind"], "auth", "{refused}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("needs to be authorized again (invalid_grant"), "{message}");
    let shown = weft.ok("GET", "/api/connections/app", None).await;
    assert_eq!(shown["oauth"]["status"], "needs_reauthorization", "{shown}");
    assert!(shown["oauth"]["reason"].as_str().unwrap().starts_with("invalid_grant"), "{shown}");
    let listed = weft.cli(&["connection", "list"]);
    assert!(text(&listed).contains("oauth: NEEDS RE-AUTHORIZATION (invalid_grant"), "{}", text(&listed));
    // The error flow is told.
    let report_id = refused["run"]["error_run"].as_str().expect("an error run").to_string();
    let report = weft.finished(&report_id).await;
    assert_eq!(report["run"]["output"]["error"]["kind"], "auth", "{report}");
    // Later calls fail at once, without asking the application again.
    let before = oauth.token_requests("refresh_token").len();
    let again = run(&weft, "fetch", json!({ "url": api.url() + "/me" })).await;
    assert_eq!(again["steps"][0]["error"]["kind"], "auth");
    assert_eq!(oauth.token_requests("refresh_token").len(), before);

    // Authorized again — `weft connection authorize` waiting for the sign-in — it works again.
    let mut waiting = std::process::Command::new(EXE)
        .args(["connection", "authorize", "app", "--timeout", "60"])
        .env("WEFT_SERVER", weft.url(""))
        .env("WEFT_TOKEN", &weft.token)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(waiting.stdout.take().unwrap()));
    let url = lines.by_ref().map(Result::unwrap).map(|l| l.trim().to_string()).find(|l| l.starts_with("http")).unwrap();
    let (_, page) = sign_in(&url).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(waiting.wait().unwrap().success(), "{rest:?}");
    assert_eq!(rest.last().map(String::as_str), Some("connection app authorized"), "{rest:?}");
    let fetched = run(&weft, "fetch", json!({ "url": api.url() + "/me" })).await;
    assert_eq!(fetched["run"]["status"], "succeeded", "{fetched}");

    // No token, and no client secret, anywhere a person or a file could read them.
    let tokens = oauth.issued_tokens();
    assert!(tokens.len() >= 10, "{tokens:?}");
    let mut answers = String::new();
    for path in ["/api/connections", "/api/connections/app", "/api/runs?limit=1000", "/api/export", "/api/flows"] {
        answers.push_str(&weft.api("GET", path, None).await.text());
    }
    for r in weft.ok("GET", "/api/runs?limit=1000", None).await.as_array().unwrap() {
        answers.push_str(&weft.api("GET", &format!("/api/runs/{}", r["id"].as_str().unwrap()), None).await.text());
    }
    answers.push_str(&text(&weft.cli(&["connection", "list"])));
    weft.stop();
    let logs = weft.stderr();
    let files = files_under(&data);
    for secret in tokens.iter().map(String::as_str).chain([CLIENT_SECRET]) {
        assert!(!answers.contains(secret), "an API answer holds {secret}");
        assert!(!logs.contains(secret), "the log holds {secret}");
        for (path, bytes) in &files {
            assert!(!contains(bytes, secret), "{} holds {secret} in plain text", path.display());
        }
    }
}

/// Start `n` runs of `fetch` at once and wait for them all.
async fn futures_all(weft: &Weft, n: usize, url: &str) -> Vec<Value> {
    let event = json!({ "url": url });
    let starts = (0..n).map(|_| weft.ok("POST", "/api/flows/fetch/runs", Some(&event)));
    let started = futures::future::join_all(starts).await;
    let mut out = Vec::new();
    for s in started {
        out.push(weft.finished(s["run"]["id"].as_str().unwrap()).await);
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn client_credentials_get_a_token_at_once_and_a_new_one_at_expiry() {
    let oauth = OAuthServer::start();
    oauth.set_ttl(3);
    let api = ProtectedApi::start().await;
    let (_dir, data, plugin_dir) = workspace(&[plugins::OAUTH_M2M, plugins::IDENTITY]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    let report = json!({ "name": "report", "trigger": "manual",
        "steps": [{ "id": "keep", "transform": "identity", "input": "{{ trigger }}" }] });
    weft.ok("POST", "/api/flows", Some(&report)).await;
    let connection = json!({
        "plugin": "oauth-m2m",
        "hosts": [api.grant(), oauth.grant()],
        "oauth": { "client_id": "weft-machine", "client_secret": CLIENT_SECRET,
                   "token_url": oauth.token_url(), "token_hosts": [api.grant()] },
    });
    let saved = weft.ok("PUT", "/api/connections/m2m", Some(&connection)).await;
    assert_eq!(saved["oauth"]["grant"], "client_credentials", "{saved}");
    assert_eq!(saved["oauth"]["client_secret"], true, "whether a secret is set, never its value");
    weft.ok("POST", "/api/flows", Some(&fetch_flow("fetch", "oauth-m2m", "m2m"))).await;

    // A bad override is refused with the field.
    let bad = json!({ "plugin": "oauth-m2m", "oauth": { "client_id": "x", "token_hosts": ["http://nope"] } });
    let reply = weft.api("PUT", "/api/connections/m2m", Some(&bad)).await;
    assert_eq!(reply.status, 400);
    assert!(reply.text().contains("oauth.token_hosts: bad host grant"), "{}", reply.text());

    let out = weft.cli(&["connection", "authorize", "m2m"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("connection m2m authorized (client credentials)"), "{}", text(&out));
    let fetched = run(&weft, "fetch", json!({ "url": api.url() + "/me" })).await;
    assert_eq!(fetched["run"]["status"], "succeeded", "{fetched}");
    let bought = oauth.token_requests("client_credentials");
    assert_eq!(bought.len(), 1, "the token bought at authorize serves the call");
    assert_eq!(bought[0]["scope"], "items:read items:write");
    assert_eq!(
        (bought[0]["client_id"].as_str(), bought[0]["client_secret"].as_str()),
        (Some("weft-machine"), Some(CLIENT_SECRET))
    );

    // At expiry a new one is bought the same way, before the call.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let again = run(&weft, "fetch", json!({ "url": api.url() + "/me" })).await;
    assert_eq!(again["run"]["status"], "succeeded", "{again}");
    assert_eq!(oauth.token_requests("client_credentials").len(), 2);
    assert!(api.requests().iter().all(|s| s.status == 200), "{:?}", api.requests());

    // The authorization server gone at the next expiry: a failure that may pass, not a lost grant.
    drop(oauth);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let down = run(&weft, "fetch", json!({ "url": api.url() + "/me" })).await;
    let error = &down["steps"][0]["error"];
    assert_eq!(error["kind"], "transient", "{down}");
    assert!(error["message"].as_str().unwrap().contains("cannot reach the token endpoint"), "{error}");
    assert_eq!(weft.ok("GET", "/api/connections/m2m", None).await["oauth"]["status"], "authorized");
}
