//! The OAuth test harness itself: the authorization server (oauth2-mock-server
//! with rotating refresh tokens and control routes) driven by hand through the
//! authorization-code flow with PKCE, refresh and client credentials, and the
//! protected API taking live access tokens and refusing expired or revoked ones.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant, SystemTime};
use weft_tests::http::request;
use weft_tests::oauth::{OAuthServer, ProtectedApi, Seen, base64url_decode, jwt_claims};

/// base64url without padding (RFC 4648 §5).
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// A PKCE verifier and its S256 challenge.
fn pkce() -> (String, String) {
    let verifier = base64url(&Sha256::digest(format!("{:?}", SystemTime::now())));
    let challenge = base64url(&Sha256::digest(&verifier));
    (verifier, challenge)
}

const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// `GET /authorize` (not followed); the query of the redirect's `Location`.
async fn authorize(oauth: &OAuthServer, state: &str, challenge: &str) -> Vec<(String, String)> {
    let url = format!(
        "{}?response_type=code&client_id=weft&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback&scope=read&state={state}\
         &code_challenge={challenge}&code_challenge_method=S256",
        oauth.authorize_url()
    );
    let reply = request("GET", &url, &[], Vec::new()).await;
    assert_eq!(reply.status, 302, "{}", reply.text());
    let location = reply.header("location").expect("a Location").to_string();
    let (to, query) = location.split_once('?').expect("a query");
    assert_eq!(to, REDIRECT);
    query.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect()
}

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `POST /token` with `form`, as client `weft` (secret `s3cret`, HTTP Basic); status and answer.
async fn token(oauth: &OAuthServer, form: &str) -> (u16, Value) {
    let headers = [("content-type", "application/x-www-form-urlencoded"), ("authorization", "Basic d2VmdDpzM2NyZXQ=")];
    let reply = request("POST", &oauth.token_url(), &headers, form).await;
    (reply.status, reply.json())
}

#[test]
fn base64url_decodes_every_length() {
    for n in 0..10u8 {
        let bytes: Vec<u8> = (0..n).map(|i| i.wrapping_mul(97).wrapping_add(250)).collect();
        assert_eq!(base64url_decode(&base64url(&bytes)).as_deref(), Some(&bytes[..]));
    }
    assert_eq!(base64url_decode("YWRh").as_deref(), Some(&b"ada"[..]));
    assert_eq!(base64url_decode("YQ==").as_deref(), Some(&b"a"[..]));
    assert_eq!(base64url_decode("a+b/"), None);
}

#[tokio::test]
async fn the_authorization_server_issues_rotates_and_refuses_tokens() {
    let oauth = OAuthServer::start();

    // Authorization code with PKCE (S256).
    let (verifier, challenge) = pkce();
    let query = authorize(&oauth, "s-1", &challenge).await;
    assert_eq!(param(&query, "state"), Some("s-1"));
    let code = param(&query, "code").expect("a code").to_string();
    let form = format!("grant_type=authorization_code&code={code}&redirect_uri={REDIRECT}&code_verifier={verifier}");
    let (status, first) = token(&oauth, &form).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!((first["token_type"].as_str(), first["expires_in"].as_u64()), (Some("Bearer"), Some(3600)));
    let access = first["access_token"].as_str().expect("an access token");
    let claims = jwt_claims(access).expect("a JWT");
    assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 3600);
    assert!(claims["jti"].is_string(), "{claims}");
    let refresh = first["refresh_token"].as_str().expect("a refresh token");

    // A refresh token is good once, and the answer carries its successor.
    let (status, second) = token(&oauth, &format!("grant_type=refresh_token&refresh_token={refresh}")).await;
    assert_eq!(status, 200, "{second}");
    let next = second["refresh_token"].as_str().expect("a new refresh token");
    assert_ne!(next, refresh);
    assert_ne!(second["access_token"], first["access_token"]);
    let (status, again) = token(&oauth, &format!("grant_type=refresh_token&refresh_token={refresh}")).await;
    assert_eq!((status, again["error"].as_str()), (400, Some("invalid_grant")), "{again}");

    // Client credentials: two tokens in the same second still differ.
    let body = "grant_type=client_credentials&client_id=svc&client_secret=pw&scope=items";
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    let one = request("POST", &oauth.token_url(), &headers, body).await.json();
    let two = request("POST", &oauth.token_url(), &headers, body).await.json();
    assert!(one["access_token"].is_string() && one["refresh_token"].is_null(), "{one}");
    assert_ne!(one["access_token"], two["access_token"]);

    // The mock's own PKCE check: a verifier that does not match is refused.
    let (_, other_challenge) = pkce();
    let query = authorize(&oauth, "s-2", &other_challenge).await;
    let form =
        format!("grant_type=authorization_code&code={}&code_verifier={verifier}", param(&query, "code").unwrap());
    assert_eq!(token(&oauth, &form).await.0, 400);

    // Control: a denied authorization, revoked refresh tokens, a shorter TTL, a slow token endpoint.
    oauth.deny_next_authorization();
    let denied = authorize(&oauth, "s-3", &challenge).await;
    assert_eq!(param(&denied, "error"), Some("access_denied"));
    assert_eq!(param(&denied, "error_description"), Some("The+user+denied+access"));
    assert_eq!((param(&denied, "code"), param(&denied, "state")), (None, Some("s-3")));
    oauth.revoke_refresh_tokens();
    let (status, revoked) = token(&oauth, &format!("grant_type=refresh_token&refresh_token={next}")).await;
    assert_eq!((status, revoked["error"].as_str()), (400, Some("invalid_grant")), "{revoked}");
    oauth.set_ttl(1);
    oauth.slow_tokens(300);
    let started = Instant::now();
    let (status, short) = token(&oauth, "grant_type=client_credentials").await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!((status, short["expires_in"].as_u64()), (200, Some(1)));
    oauth.slow_tokens(0);

    // What the server saw.
    let authorizations: Vec<Value> = oauth.events().into_iter().filter(|e| e["event"] == "authorize").collect();
    assert_eq!(authorizations.len(), 3);
    assert_eq!(
        authorizations[0],
        json!({ "event": "authorize", "state": "s-1", "code_challenge_method": "S256", "redirect_uri": REDIRECT, "denied": false })
    );
    assert_eq!(authorizations[2]["denied"], true);
    let codes = oauth.token_requests("authorization_code");
    assert_eq!(codes.len(), 2);
    assert_eq!((codes[0]["status"].as_u64(), &codes[0]["error"]), (Some(200), &Value::Null));
    assert_eq!((codes[0]["client_id"].as_str(), codes[0]["client_auth"].as_str()), (Some("weft"), Some("basic")));
    assert_eq!(
        (codes[0]["client_secret"].as_str(), codes[0]["code_verifier_present"].as_bool()),
        (Some("s3cret"), Some(true))
    );
    assert_eq!(codes[0]["access_token"], first["access_token"]);
    assert_eq!(codes[1]["status"], 400);
    assert!(codes[1]["error"].as_str().unwrap().contains("code_verifier"), "{}", codes[1]);
    let refreshes: Vec<(u64, Value)> = oauth
        .token_requests("refresh_token")
        .iter()
        .map(|e| (e["status"].as_u64().unwrap(), e["error"].clone()))
        .collect();
    assert_eq!(refreshes, [(200, Value::Null), (400, json!("invalid_grant")), (400, json!("invalid_grant"))]);
    let credentials = oauth.token_requests("client_credentials");
    assert_eq!(credentials.len(), 3);
    assert_eq!(
        (credentials[0]["client_id"].as_str(), credentials[0]["client_auth"].as_str()),
        (Some("svc"), Some("body"))
    );
    let issued = oauth.issued_tokens();
    assert_eq!(issued.len(), 2 + 2 + 1 + 1 + 1, "{issued:?}");
    for t in [&first["access_token"], &first["refresh_token"], &second["refresh_token"], &short["access_token"]] {
        assert!(issued.iter().any(|i| t == i), "{t} is not listed");
    }
}

#[tokio::test]
async fn the_protected_api_takes_live_tokens_only() {
    let oauth = OAuthServer::start();
    let api = ProtectedApi::start().await;
    let grant = async || {
        let headers = [("content-type", "application/x-www-form-urlencoded")];
        let body = "grant_type=client_credentials&client_id=svc&client_secret=pw&scope=items";
        let answer = request("POST", &oauth.token_url(), &headers, body).await.json();
        answer["access_token"].as_str().expect("an access token").to_string()
    };
    let call = async |method: &str, path: &str, token: Option<&str>, body: &str| {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = bearer.iter().map(|b| ("authorization", b.as_str())).collect();
        request(method, &format!("{}{path}", api.url()), &headers, body.to_string()).await
    };

    let live = grant().await;
    let jti = jwt_claims(&live).unwrap()["jti"].clone();
    let me = call("GET", "/me", Some(&live), "").await;
    assert_eq!((me.status, me.json()), (200, json!({ "sub": null, "scope": "items", "jti": jti })));
    let item = call("POST", "/items", Some(&live), r#"{"name":"pen"}"#).await;
    assert_eq!(item.json()["item"], json!({ "name": "pen" }));
    let open = call("GET", "/open", None, "").await;
    assert_eq!((open.status, open.json()), (200, json!({ "ok": true })));
    let anonymous = call("GET", "/me", None, "").await;
    assert_eq!((anonymous.status, anonymous.header("www-authenticate")), (401, Some("Bearer")));
    let garbage = call("GET", "/me", Some("not-a-jwt"), "").await;
    assert_eq!(garbage.status, 401);

    // A token past its `exp` is refused.
    oauth.set_ttl(1);
    let short = grant().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let expired = call("GET", "/me", Some(&short), "").await;
    assert_eq!(expired.status, 401);
    assert!(expired.header("www-authenticate").unwrap().contains(r#"error="invalid_token""#));
    assert!(expired.json()["message"].as_str().unwrap().contains("expired"));

    // A rejected token stays rejected; another one passes.
    api.reject_next_token();
    assert_eq!(call("GET", "/me", Some(&live), "").await.status, 401);
    assert_eq!(call("GET", "/me", Some(&live), "").await.status, 401);
    oauth.set_ttl(3600);
    assert_eq!(call("GET", "/me", Some(&grant().await), "").await.status, 200);

    let seen = api.requests();
    assert_eq!(seen.len(), 9);
    assert_eq!(
        seen[0],
        Seen { method: "GET".into(), path: "/me".into(), authorization: Some(format!("Bearer {live}")), status: 200 }
    );
    assert_eq!((seen[3].authorization.as_deref(), seen[3].status), (None, 401));
    api.clear();
    assert!(api.requests().is_empty());
}
