//! OAuth 2.0 connections: what a connector declares ([`OAuth2Spec`]), what an
//! operator sets on a connection ([`OAuthClient`]), what the host keeps for
//! it ([`OAuthGrant`], sealed at rest like secrets), and the two faces of the
//! host's token keeper — [`Authorizer`] for the server (start an
//! authorization, take the provider's callback) and [`Credentials`] for the
//! sandbox (the token to add to a request, and a refresh after a 401).

use crate::connection::HostRule;
use serde::{Deserialize, Serialize};

/// How a connection of a connector obtains its tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// A person signs in once at the authorization URL; the host exchanges the code.
    AuthorizationCode,
    /// Machine to machine: the client id and secret buy a token.
    ClientCredentials,
}

/// How the host adds a token to a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum TokenPlacement {
    /// `authorization: Bearer <token>`.
    Bearer,
    /// `<name>: <prefix><token>`.
    Header { name: String, prefix: String },
}

impl TokenPlacement {
    /// The header's name and value carrying `token`.
    pub fn header(&self, token: &str) -> (String, String) {
        match self {
            TokenPlacement::Bearer => ("authorization".into(), format!("Bearer {token}")),
            TokenPlacement::Header { name, prefix } => (name.to_ascii_lowercase(), format!("{prefix}{token}")),
        }
    }
}

/// A connector's OAuth 2.0 settings, from its manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuth2Spec {
    pub grant: GrantType,
    /// Where people sign in (empty for client credentials).
    pub authorization_url: String,
    pub token_url: String,
    pub scopes: Vec<String>,
    /// PKCE (S256) in the authorization-code grant.
    pub pkce: bool,
    pub placement: TokenPlacement,
    /// Host patterns the token is sent to.
    pub hosts: Vec<String>,
    /// Extra query parameters for the authorization URL.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_params: Vec<(String, String)>,
    /// The client id and secret go in the token request's body, not HTTP Basic.
    #[serde(default)]
    pub credentials_in_body: bool,
}

impl OAuth2Spec {
    /// Check what a plugin declared: URLs that parse, hosts that are host patterns.
    pub fn check(&self) -> Result<(), String> {
        let url = |what: &str, text: &str| -> Result<(), String> {
            let ok = (text.starts_with("https://") || text.starts_with("http://")) && text.len() > "https://".len();
            if ok { Ok(()) } else { Err(format!("oauth2: the {what} {text:?} is not an http(s) URL")) }
        };
        if self.grant == GrantType::AuthorizationCode {
            url("authorization URL", &self.authorization_url)?;
        }
        url("token URL", &self.token_url)?;
        if self.hosts.is_empty() {
            return Err("oauth2: no hosts are named to send the token to".into());
        }
        for h in &self.hosts {
            h.parse::<HostRule>().map_err(|e| format!("oauth2: {e}"))?;
        }
        if let TokenPlacement::Header { name, .. } = &self.placement
            && (name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        {
            return Err(format!("oauth2: {name:?} is not a header name"));
        }
        Ok(())
    }
}

/// The OAuth client an operator set on a connection, with what it overrides
/// of the connector's [`OAuth2Spec`] (a self-hosted instance has its own URLs
/// and hosts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthClient {
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// Host patterns the token is sent to, instead of the connector's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_hosts: Option<Vec<String>>,
}

impl OAuthClient {
    /// The connector's settings with this client's overrides applied.
    pub fn effective(&self, spec: &OAuth2Spec) -> OAuth2Spec {
        OAuth2Spec {
            grant: spec.grant,
            authorization_url: self.authorization_url.clone().unwrap_or_else(|| spec.authorization_url.clone()),
            token_url: self.token_url.clone().unwrap_or_else(|| spec.token_url.clone()),
            scopes: self.scopes.clone().unwrap_or_else(|| spec.scopes.clone()),
            pkce: spec.pkce,
            placement: spec.placement.clone(),
            hosts: self.token_hosts.clone().unwrap_or_else(|| spec.hosts.clone()),
            authorization_params: spec.authorization_params.clone(),
            credentials_in_body: spec.credentials_in_body,
        }
    }

    /// Check the overrides, naming the field at fault.
    pub fn check(&self) -> Result<(), String> {
        if self.client_id.trim().is_empty() {
            return Err("oauth.client_id: empty".into());
        }
        for (what, url) in [("authorization_url", &self.authorization_url), ("token_url", &self.token_url)] {
            if let Some(u) = url
                && !(u.starts_with("https://") || u.starts_with("http://"))
            {
                return Err(format!("oauth.{what}: {u:?} is not an http(s) URL"));
            }
        }
        for h in self.token_hosts.iter().flatten() {
            h.parse::<HostRule>().map_err(|e| format!("oauth.token_hosts: {e}"))?;
        }
        Ok(())
    }
}

/// Tokens the application issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// When the access token expires (Unix ms), when the application said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<u64>,
    /// The scopes granted, as the application wrote them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub obtained_ms: u64,
}

/// Whether a connection's tokens can be used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum AuthStatus {
    /// No tokens yet: authorize the connection.
    #[default]
    NotAuthorized,
    Authorized {
        at_ms: u64,
    },
    /// The application refused the refresh (`invalid_grant`): a person must authorize again.
    NeedsReauthorization {
        reason: String,
        at_ms: u64,
    },
}

/// An authorization started and not yet finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAuthorization {
    /// SHA-256 (hex) of the `state` sent; the state itself is not kept.
    pub state_hash: String,
    /// The PKCE code verifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifier: Option<String>,
    pub redirect_uri: String,
    pub expires_ms: u64,
}

/// A node refreshing the tokens, so others wait for its result instead of
/// spending the refresh token a second time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshLease {
    pub holder: String,
    pub until_ms: u64,
}

/// Everything the host keeps for one OAuth connection. Stores seal it whole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthGrant {
    pub client: OAuthClient,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenSet>,
    #[serde(default)]
    pub status: AuthStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingAuthorization>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refreshing: Option<RefreshLease>,
    /// Refreshes done since the connection was authorized.
    #[serde(default)]
    pub refreshes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refreshed_ms: Option<u64>,
}

impl OAuthGrant {
    /// What the API shows: no token, no secret, no verifier.
    pub fn view(&self, spec: Option<&OAuth2Spec>) -> serde_json::Value {
        let effective = spec.map(|s| self.client.effective(s));
        let (status, reason, authorized_ms) = match &self.status {
            AuthStatus::NotAuthorized => ("not_authorized", None, None),
            AuthStatus::Authorized { at_ms } => ("authorized", None, Some(*at_ms)),
            AuthStatus::NeedsReauthorization { reason, at_ms } => {
                ("needs_reauthorization", Some(reason.clone()), Some(*at_ms))
            }
        };
        serde_json::json!({
            "grant": effective.as_ref().map(|e| e.grant),
            "client_id": self.client.client_id,
            "client_secret": self.client.client_secret.is_some(),
            "authorization_url": effective.as_ref().map(|e| e.authorization_url.clone()).or(self.client.authorization_url.clone()),
            "token_url": effective.as_ref().map(|e| e.token_url.clone()).or(self.client.token_url.clone()),
            "scopes": effective.as_ref().map(|e| e.scopes.clone()).or(self.client.scopes.clone()),
            "token_hosts": effective.as_ref().map(|e| e.hosts.clone()).or(self.client.token_hosts.clone()),
            "status": status,
            "reason": reason,
            "status_ms": authorized_ms,
            "expires_ms": self.tokens.as_ref().and_then(|t| t.expires_ms),
            "scope": self.tokens.as_ref().and_then(|t| t.scope.clone()),
            "refreshable": self.tokens.as_ref().is_some_and(|t| t.refresh_token.is_some()),
            "refreshes": self.refreshes,
            "refreshed_ms": self.refreshed_ms,
            "pending": self.pending.is_some(),
        })
    }
}

pub use crate::run::BoxFuture;

/// An authorization begun: where to send the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Begun {
    /// The authorization URL (authorization-code), or `None` when the
    /// connection was authorized at once (client credentials).
    pub authorize_url: Option<String>,
    /// Until when the URL may be used, or when the token expires.
    pub expires_ms: Option<u64>,
}

/// What the provider sent back to the callback URL.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Callback {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Why an authorization or a token could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// There is no such connection.
    NoConnection(String),
    /// The connection's plugin or OAuth client is missing or wrong.
    Setup(String),
    /// A bad, used or expired `state`, or a provider's refusal (`access_denied`): said as such.
    Refused(String),
    /// The connection must be authorized (again) by a person.
    NeedsAuthorization(String),
    /// The provider or the store failed; worth trying again.
    Unavailable(String),
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthError::NoConnection(m)
            | AuthError::Setup(m)
            | AuthError::Refused(m)
            | AuthError::NeedsAuthorization(m)
            | AuthError::Unavailable(m) => f.write_str(m),
        }
    }
}

/// The server's face of the token keeper.
pub trait Authorizer: Send + Sync + 'static {
    /// Start authorizing connection `id`; the provider sends the person back to `redirect_uri`.
    fn begin<'a>(&'a self, id: &'a str, redirect_uri: &'a str) -> BoxFuture<'a, Result<Begun, AuthError>>;
    /// Finish an authorization from the provider's callback; the connection's id.
    fn complete<'a>(&'a self, callback: &'a Callback) -> BoxFuture<'a, Result<String, AuthError>>;
    /// Connection `id` changed or went: forget what is cached of it.
    fn forget(&self, id: &str);
}

/// A token lent for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lent {
    /// The header to add.
    pub header: (String, String),
    /// The access token itself, to redact wherever it might show.
    pub token: String,
}

/// The sandbox's face of the token keeper.
pub trait Credentials: Send + Sync + 'static {
    /// The hosts connection `id`'s token is sent to, or `None` when the
    /// connection has no OAuth client. Answered from memory: asked per request.
    fn hosts(&self, id: &str, spec: &OAuth2Spec) -> Option<std::sync::Arc<Vec<HostRule>>>;
    /// The token of connection `id` (an account of a connector declaring
    /// `spec`), refreshed first when it is about to expire; `None` when the
    /// connection has no OAuth client (it authenticates on its own).
    fn token<'a>(&'a self, id: &'a str, spec: &'a OAuth2Spec) -> BoxFuture<'a, Result<Option<Lent>, AuthError>>;
    /// The application answered 401 to `used`: a fresh token — refreshed once
    /// however many calls ask, or already refreshed by another.
    fn rejected<'a>(
        &'a self,
        id: &'a str,
        spec: &'a OAuth2Spec,
        used: &'a str,
    ) -> BoxFuture<'a, Result<Option<Lent>, AuthError>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> OAuth2Spec {
        OAuth2Spec {
            grant: GrantType::AuthorizationCode,
            authorization_url: "https://example.com/authorize".into(),
            token_url: "https://example.com/token".into(),
            scopes: vec!["read".into()],
            pkce: true,
            placement: TokenPlacement::Bearer,
            hosts: vec!["api.example.com".into()],
            authorization_params: vec![],
            credentials_in_body: false,
        }
    }

    #[test]
    fn overrides_apply_and_bad_ones_are_named() {
        let client = OAuthClient {
            client_id: "id".into(),
            token_url: Some("http://127.0.0.1:9/token".into()),
            token_hosts: Some(vec!["127.0.0.1:9".into()]),
            ..Default::default()
        };
        let e = client.effective(&spec());
        assert_eq!(e.token_url, "http://127.0.0.1:9/token");
        assert_eq!(e.authorization_url, "https://example.com/authorize");
        assert_eq!(e.hosts, ["127.0.0.1:9"]);
        assert!(spec().check().is_ok());
        let bad = OAuthClient { client_id: "id".into(), token_hosts: Some(vec!["http://x".into()]), ..client };
        assert!(bad.check().unwrap_err().starts_with("oauth.token_hosts: bad host grant"));
        let mut s = spec();
        s.token_url = "ftp://x".into();
        assert!(s.check().unwrap_err().contains("token URL"));
    }

    #[test]
    fn the_view_holds_no_token() {
        let grant = OAuthGrant {
            client: OAuthClient {
                client_id: "id".into(),
                client_secret: Some("shh-secret".into()),
                ..Default::default()
            },
            tokens: Some(TokenSet {
                access_token: "tok-access".into(),
                refresh_token: Some("tok-refresh".into()),
                expires_ms: Some(5),
                scope: None,
                obtained_ms: 1,
            }),
            status: AuthStatus::Authorized { at_ms: 1 },
            ..Default::default()
        };
        let text = grant.view(Some(&spec())).to_string();
        for secret in ["tok-access", "tok-refresh", "shh-secret"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("\"status\":\"authorized\""), "{text}");
    }
}
