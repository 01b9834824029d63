//! The host's OAuth 2.0 token keeper: it authorizes connections (the
//! authorization-code grant with `state` and PKCE, or client credentials),
//! keeps their tokens in the store (sealed, [`OAuthGrant`]), and lends them to
//! plugin requests ([`Credentials`]), refreshing them before they expire and
//! once after a 401.
//!
//! A refresh is single flight: on a node, one task per connection refreshes
//! while the others wait for its result; across nodes sharing a store, the
//! refresher first takes a lease in the grant (a compare-and-swap), so a
//! rotating refresh token is never spent twice. A refresh the application
//! refuses with `invalid_grant` marks the connection as needing
//! re-authorization; its calls then fail with an `auth` error that says so.
//!
//! Token requests go out under the same policy as a plugin's requests: the
//! token URL's host must be granted to the connection.

use crate::caps::http::send_own;
use crate::limits::Limits;
use oauth2::basic::{BasicClient, BasicErrorResponseType, BasicTokenResponse};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use weft_core::connection::{ConnectionStore, HostRule};
use weft_core::oauth::{
    AuthError, AuthStatus, Authorizer, Begun, BoxFuture, Callback, Credentials, GrantType, Lent, OAuth2Spec,
    OAuthGrant, PendingAuthorization, RefreshLease, TokenSet,
};

/// How long an authorization URL may be used.
pub const AUTHORIZE_WITHIN: Duration = Duration::from_secs(600);
/// Refresh this long before a token expires (at most half its lifetime).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// How long a node may hold a refresh before another may take it over.
const LEASE: Duration = Duration::from_secs(30);
/// How long a grant read from the store is trusted without reading it again.
const CACHE_FOR: Duration = Duration::from_secs(5);

/// The connector a connection is an account of, and its OAuth 2.0 settings.
pub type SpecOf = Arc<dyn Fn(&str) -> Option<OAuth2Spec> + Send + Sync>;

type Client = BasicClient<EndpointMaybeSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet>;

/// See the module documentation.
pub struct TokenKeeper {
    store: Arc<dyn ConnectionStore>,
    spec_of: SpecOf,
    /// Names this node in refresh leases.
    node: String,
    limits: Limits,
    /// One refresh at a time per connection on this node.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Grants as last read (`None`: the connection has no OAuth client), and when.
    cache: Mutex<HashMap<String, (Option<Cached>, Instant)>>,
}

#[derive(Clone)]
struct Cached {
    grant: Arc<OAuthGrant>,
    version: u64,
    hosts: Arc<Vec<HostRule>>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn state_hash(state: &str) -> String {
    Sha256::digest(state.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `tokens` should be refreshed now.
fn expiring(tokens: &TokenSet, now: u64) -> bool {
    let Some(expires) = tokens.expires_ms else { return false };
    let lifetime = expires.saturating_sub(tokens.obtained_ms);
    let margin = (REFRESH_MARGIN.as_millis() as u64).min(lifetime / 2);
    now + margin >= expires
}

impl TokenKeeper {
    /// A keeper over `store`; `spec_of` names a connector's OAuth 2.0
    /// settings; `node` names this node in refresh leases.
    pub fn new(store: Arc<dyn ConnectionStore>, spec_of: SpecOf, node: impl Into<String>, limits: Limits) -> Self {
        Self { store, spec_of, node: node.into(), limits, locks: Mutex::default(), cache: Mutex::default() }
    }

    fn lock_of(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(id.to_string()).or_default().clone()
    }

    /// The grant of `id` and its version, from memory when recently read.
    fn grant(&self, id: &str, spec: &OAuth2Spec, fresh: bool) -> Result<Option<Cached>, AuthError> {
        if !fresh
            && let Some((c, read)) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(id)
            && read.elapsed() < CACHE_FOR
        {
            return Ok(c.clone());
        }
        let read = self.store.oauth_grant(id).map_err(|e| AuthError::Unavailable(format!("the store: {e}")))?;
        match read {
            Some((grant, version)) => Ok(Some(self.remember(id, spec, grant, version))),
            None => {
                // A connection without an OAuth client is asked about on every request: remember that too.
                self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_string(), (None, Instant::now()));
                Ok(None)
            }
        }
    }

    fn remember(&self, id: &str, spec: &OAuth2Spec, grant: OAuthGrant, version: u64) -> Cached {
        let hosts = grant.client.effective(spec).hosts.iter().filter_map(|h| h.parse().ok()).collect();
        let cached = Cached { grant: Arc::new(grant), version, hosts: Arc::new(hosts) };
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_string(), (Some(cached.clone()), Instant::now()));
        cached
    }

    /// Write `grant` over version `version`; `None` when another writer came first.
    fn swap(&self, id: &str, spec: &OAuth2Spec, version: u64, grant: OAuthGrant) -> Result<Option<Cached>, AuthError> {
        let swapped = self
            .store
            .swap_oauth_grant(id, version, Some(&grant))
            .map_err(|e| AuthError::Unavailable(format!("the store: {e}")))?;
        Ok(swapped.map(|v| self.remember(id, spec, grant, v)))
    }

    /// The connection's connector settings and the connection's granted hosts.
    fn setup(&self, id: &str) -> Result<(OAuth2Spec, Vec<HostRule>), AuthError> {
        let (plugin, connection) = self
            .store
            .connection(id)
            .map_err(|e| AuthError::Unavailable(format!("the store: {e}")))?
            .ok_or_else(|| AuthError::NoConnection(format!("there is no connection {id:?}")))?;
        let spec = (self.spec_of)(&plugin).ok_or_else(|| {
            AuthError::Setup(format!(
                "connection {id:?} is an account of {plugin:?}, which offers no OAuth 2.0 (or is not installed)"
            ))
        })?;
        Ok((spec, connection.hosts.to_vec()))
    }

    fn client(&self, id: &str, grant: &OAuthGrant, spec: &OAuth2Spec) -> Result<Client, AuthError> {
        let bad =
            |what: &str, e: &dyn std::fmt::Display| AuthError::Setup(format!("connection {id:?}: the {what}: {e}"));
        let e = grant.client.effective(spec);
        let auth = match e.grant {
            GrantType::AuthorizationCode => {
                Some(AuthUrl::new(e.authorization_url).map_err(|x| bad("authorization URL", &x))?)
            }
            GrantType::ClientCredentials => None,
        };
        let mut client = BasicClient::new(ClientId::new(grant.client.client_id.clone()))
            .set_auth_uri_option(auth)
            .set_token_uri_option(Some(TokenUrl::new(e.token_url).map_err(|x| bad("token URL", &x))?))
            .set_auth_type(if e.credentials_in_body { AuthType::RequestBody } else { AuthType::BasicAuth });
        if let Some(secret) = &grant.client.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.clone()));
        }
        Ok(client)
    }

    /// Ask the token endpoint, under the connection's grants.
    async fn request(
        &self,
        id: &str,
        rules: &[HostRule],
        grant: &OAuthGrant,
        spec: &OAuth2Spec,
        what: Exchange<'_>,
    ) -> Result<TokenSet, TokenFailure> {
        let client = self.client(id, grant, spec).map_err(TokenFailure::Other)?;
        let http = TokenHttp { rules: rules.to_vec(), limits: self.limits.clone() };
        let scopes = grant.client.effective(spec).scopes.into_iter().map(Scope::new);
        let answer = match what {
            Exchange::Code { code, verifier, redirect_uri } => {
                let mut request = client
                    .exchange_code(AuthorizationCode::new(code.to_string()))
                    .map_err(|e| TokenFailure::Other(AuthError::Setup(e.to_string())))?
                    .set_redirect_uri(std::borrow::Cow::Owned(
                        RedirectUrl::new(redirect_uri.to_string())
                            .map_err(|e| TokenFailure::Other(AuthError::Setup(e.to_string())))?,
                    ));
                if let Some(v) = verifier {
                    request = request.set_pkce_verifier(PkceCodeVerifier::new(v.to_string()));
                }
                request.request_async(&http).await
            }
            Exchange::Refresh(token) => {
                let token = RefreshToken::new(token.to_string());
                client
                    .exchange_refresh_token(&token)
                    .map_err(|e| TokenFailure::Other(AuthError::Setup(e.to_string())))?
                    .request_async(&http)
                    .await
            }
            Exchange::ClientCredentials => {
                client
                    .exchange_client_credentials()
                    .map_err(|e| TokenFailure::Other(AuthError::Setup(e.to_string())))?
                    .add_scopes(scopes)
                    .request_async(&http)
                    .await
            }
        };
        answer.map(|t| tokens(&t, now_ms())).map_err(|e| failure(id, e))
    }

    /// The current token of `id`, refreshed first when `used` is the one the
    /// application refused or when it is about to expire.
    async fn refreshed(&self, id: &str, spec: &OAuth2Spec, used: Option<&str>) -> Result<Option<Lent>, AuthError> {
        let lock = self.lock_of(id);
        let _one = lock.lock().await;
        loop {
            let Some(current) = self.grant(id, spec, true)? else { return Ok(None) };
            let grant = &current.grant;
            let now = now_ms();
            if let AuthStatus::NeedsReauthorization { reason, .. } = &grant.status {
                return Err(needs_again(id, reason));
            }
            if let Some(t) = &grant.tokens {
                let replaced = used.is_some_and(|u| u != t.access_token);
                if (used.is_none() || replaced) && !expiring(t, now) {
                    return Ok(Some(lend(spec, t)));
                }
            }
            let effective = grant.client.effective(spec);
            let refresh_token = grant.tokens.as_ref().and_then(|t| t.refresh_token.clone());
            let exchange = match (effective.grant, refresh_token.as_deref()) {
                (GrantType::ClientCredentials, _) => Exchange::ClientCredentials,
                (GrantType::AuthorizationCode, Some(token)) => Exchange::Refresh(token),
                (GrantType::AuthorizationCode, None) if grant.tokens.is_some() => {
                    let reason = "the token expired and the application gave no refresh token";
                    self.mark_needs_authorization(id, spec, &current, reason)?;
                    return Err(needs_again(id, reason));
                }
                (GrantType::AuthorizationCode, None) => {
                    return Err(AuthError::NeedsAuthorization(format!(
                        "connection {id:?} is not authorized yet: run `weft connection authorize {id}` (or use Authorize on its page)"
                    )));
                }
            };
            // Another node may be refreshing: wait for its result, not spend the token again.
            if let Some(lease) = &grant.refreshing
                && lease.holder != self.node
                && lease.until_ms > now
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            let mut leased = (*current.grant).clone();
            leased.refreshing =
                Some(RefreshLease { holder: self.node.clone(), until_ms: now + LEASE.as_millis() as u64 });
            let Some(held) = self.swap(id, spec, current.version, leased)? else { continue };
            let (_, rules) = self.setup(id)?;
            let answer = self.request(id, &rules, &held.grant, spec, exchange).await;
            let mut next = (*held.grant).clone();
            next.refreshing = None;
            let result = match answer {
                Ok(mut tokens) => {
                    if tokens.refresh_token.is_none() {
                        tokens.refresh_token = refresh_token.clone();
                    }
                    if next.tokens.is_some() {
                        next.refreshes += 1;
                        next.refreshed_ms = Some(tokens.obtained_ms);
                    }
                    if !matches!(next.status, AuthStatus::Authorized { .. }) {
                        next.status = AuthStatus::Authorized { at_ms: tokens.obtained_ms };
                    }
                    next.tokens = Some(tokens);
                    Ok(())
                }
                Err(TokenFailure::InvalidGrant(reason)) => {
                    next.tokens = None;
                    next.status = AuthStatus::NeedsReauthorization { reason: reason.clone(), at_ms: now_ms() };
                    Err(needs_again(id, &reason))
                }
                Err(TokenFailure::Other(e)) => Err(e),
            };
            // The lease is ours: nobody else writes meanwhile but an operator.
            let written = self.swap(id, spec, held.version, next.clone())?;
            let written = match written {
                Some(w) => w,
                None => {
                    // An operator changed the client meanwhile: keep their change, add the tokens.
                    let Some(now) = self.grant(id, spec, true)? else { return Ok(None) };
                    let mut merged = (*now.grant).clone();
                    merged.refreshing = None;
                    merged.tokens = next.tokens.clone();
                    merged.status = next.status.clone();
                    self.swap(id, spec, now.version, merged)?.unwrap_or(now)
                }
            };
            result?;
            if let AuthStatus::NeedsReauthorization { .. } = written.grant.status {
                continue;
            }
            let Some(tokens) = written.grant.tokens.as_ref() else { continue };
            tracing::info!(connection = %id, refreshes = written.grant.refreshes, "OAuth token obtained");
            return Ok(Some(lend(spec, tokens)));
        }
    }

    fn mark_needs_authorization(
        &self,
        id: &str,
        spec: &OAuth2Spec,
        current: &Cached,
        reason: &str,
    ) -> Result<(), AuthError> {
        let mut next = (*current.grant).clone();
        next.tokens = None;
        next.status = AuthStatus::NeedsReauthorization { reason: reason.to_string(), at_ms: now_ms() };
        self.swap(id, spec, current.version, next)?;
        Ok(())
    }

    async fn begin_inner(&self, id: &str, redirect_uri: &str) -> Result<Begun, AuthError> {
        let (spec, _) = self.setup(id)?;
        let Some(current) = self.grant(id, &spec, true)? else {
            return Err(AuthError::Setup(format!(
                "connection {id:?} has no OAuth client: set its client id and secret first \
                 (`weft connection set {id} --client-id … --client-secret …`)"
            )));
        };
        let effective = current.grant.client.effective(&spec);
        if effective.grant == GrantType::ClientCredentials {
            // Nothing to sign in to: get a token now, which proves the client works.
            let mut fresh = (*current.grant).clone();
            fresh.tokens = None;
            fresh.status = AuthStatus::NotAuthorized;
            self.swap(id, &spec, current.version, fresh)?
                .ok_or_else(|| AuthError::Unavailable("the connection changed meanwhile; try again".into()))?;
            let lent = self.refreshed(id, &spec, None).await?;
            let expires_ms =
                self.grant(id, &spec, true)?.and_then(|c| c.grant.tokens.as_ref().and_then(|t| t.expires_ms));
            return match lent {
                Some(_) => Ok(Begun { authorize_url: None, expires_ms }),
                None => Err(AuthError::Setup(format!("connection {id:?} has no OAuth client"))),
            };
        }
        let client = self.client(id, &current.grant, &spec)?;
        let redirect = RedirectUrl::new(redirect_uri.to_string())
            .map_err(|e| AuthError::Setup(format!("the callback URL {redirect_uri:?}: {e}")))?;
        let client = client.set_redirect_uri(redirect);
        let nonce = CsrfToken::new_random_len(32);
        let state = format!("{id}.{}", nonce.secret());
        let mut request = client
            .authorize_url(|| CsrfToken::new(state.clone()))
            .map_err(|e| AuthError::Setup(e.to_string()))?
            .add_scopes(effective.scopes.iter().cloned().map(Scope::new));
        for (k, v) in &effective.authorization_params {
            request = request.add_extra_param(k.clone(), v.clone());
        }
        let verifier = if effective.pkce {
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            request = request.set_pkce_challenge(challenge);
            Some(verifier.secret().clone())
        } else {
            None
        };
        let (url, _) = request.url();
        let expires_ms = now_ms() + AUTHORIZE_WITHIN.as_millis() as u64;
        let mut next = (*current.grant).clone();
        next.pending = Some(PendingAuthorization {
            state_hash: state_hash(&state),
            verifier,
            redirect_uri: redirect_uri.to_string(),
            expires_ms,
        });
        self.swap(id, &spec, current.version, next)?
            .ok_or_else(|| AuthError::Unavailable("the connection changed meanwhile; try again".into()))?;
        Ok(Begun { authorize_url: Some(url.to_string()), expires_ms: Some(expires_ms) })
    }

    async fn complete_inner(&self, callback: &Callback) -> Result<String, AuthError> {
        let state = callback.state.as_deref().unwrap_or_default();
        let Some((id, _)) = state.rsplit_once('.') else {
            return Err(AuthError::Refused(
                "the callback carries no valid state: it did not come from an authorization weft started".into(),
            ));
        };
        let (spec, rules) = self.setup(id).map_err(|_| {
            AuthError::Refused(
                "the state names no connection: this link did not come from an authorization weft started".into(),
            )
        })?;
        let again = format!("start again with `weft connection authorize {id}` (or Authorize on its page)");
        // Take the pending authorization: it is used once, whatever follows.
        let (pending, grant) = loop {
            let Some(current) = self.grant(id, &spec, true)? else {
                return Err(AuthError::Refused(format!("connection {id:?} has no OAuth client any more")));
            };
            let Some(pending) = current.grant.pending.clone() else {
                return Err(AuthError::Refused(format!(
                    "this authorization of {id:?} was already used, or never started: {again}"
                )));
            };
            if pending.state_hash != state_hash(state) {
                return Err(AuthError::Refused(format!(
                    "the state does not match the authorization started for {id:?} (an old or forged link): {again}"
                )));
            }
            let mut next = (*current.grant).clone();
            next.pending = None;
            if let Some(taken) = self.swap(id, &spec, current.version, next)? {
                if pending.expires_ms < now_ms() {
                    return Err(AuthError::Refused(format!("the authorization of {id:?} expired: {again}")));
                }
                break (pending, taken);
            }
        };
        if let Some(error) = &callback.error {
            let detail = callback.error_description.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
            return Err(AuthError::Refused(format!(
                "the application refused the authorization of {id:?}: {error}{detail}"
            )));
        }
        let Some(code) = callback.code.as_deref() else {
            return Err(AuthError::Refused(format!("the callback for {id:?} carries neither a code nor an error")));
        };
        let exchange =
            Exchange::Code { code, verifier: pending.verifier.as_deref(), redirect_uri: &pending.redirect_uri };
        let tokens = match self.request(id, &rules, &grant.grant, &spec, exchange).await {
            Ok(tokens) => tokens,
            Err(TokenFailure::InvalidGrant(why)) => {
                return Err(AuthError::Refused(format!(
                    "the application refused the code for {id:?} ({why}): {again}"
                )));
            }
            Err(TokenFailure::Other(e)) => return Err(e),
        };
        loop {
            let Some(current) = self.grant(id, &spec, true)? else {
                return Err(AuthError::Setup(format!("connection {id:?} went away")));
            };
            let mut next = (*current.grant).clone();
            next.status = AuthStatus::Authorized { at_ms: tokens.obtained_ms };
            next.tokens = Some(tokens.clone());
            next.refreshes = 0;
            next.refreshed_ms = None;
            next.refreshing = None;
            if self.swap(id, &spec, current.version, next)?.is_some() {
                tracing::info!(connection = %id, "connection authorized");
                return Ok(id.to_string());
            }
        }
    }
}

fn needs_again(id: &str, reason: &str) -> AuthError {
    AuthError::NeedsAuthorization(format!(
        "connection {id:?} needs to be authorized again ({reason}): run `weft connection authorize {id}` (or use Authorize on its page)"
    ))
}

/// The header carrying `tokens`' access token (the placement is the connector's; a client
/// overrides only where the token goes, which [`Credentials::hosts`] answers).
fn lend(spec: &OAuth2Spec, tokens: &TokenSet) -> Lent {
    Lent { header: spec.placement.header(&tokens.access_token), token: tokens.access_token.clone() }
}

enum Exchange<'a> {
    Code { code: &'a str, verifier: Option<&'a str>, redirect_uri: &'a str },
    Refresh(&'a str),
    ClientCredentials,
}

enum TokenFailure {
    /// The application refused the grant (code or refresh token) for good.
    InvalidGrant(String),
    Other(AuthError),
}

/// The token endpoint's HTTP client: the connection's grants decide.
struct TokenHttp {
    rules: Vec<HostRule>,
    limits: Limits,
}

impl<'c> oauth2::AsyncHttpClient<'c> for TokenHttp {
    type Error = HttpFailure;
    type Future = BoxFuture<'c, Result<oauth2::HttpResponse, HttpFailure>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move { send_own(&self.rules, request, &self.limits).await.map_err(HttpFailure) })
    }
}

#[derive(Debug)]
struct HttpFailure(String);

impl std::fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HttpFailure {}

fn tokens(t: &BasicTokenResponse, now: u64) -> TokenSet {
    TokenSet {
        access_token: t.access_token().secret().clone(),
        refresh_token: t.refresh_token().map(|r| r.secret().clone()),
        expires_ms: t.expires_in().map(|d| now + d.as_millis() as u64),
        scope: t.scopes().map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")),
        obtained_ms: now,
    }
}

/// What a token request's failure means. The message never carries a
/// token or the body the application sent.
fn failure(
    id: &str,
    e: RequestTokenError<HttpFailure, oauth2::StandardErrorResponse<BasicErrorResponseType>>,
) -> TokenFailure {
    match e {
        RequestTokenError::ServerResponse(r) => {
            let detail = r.error_description().map(|d| format!(": {d}")).unwrap_or_default();
            let text = format!("{}{detail}", r.error());
            match r.error() {
                BasicErrorResponseType::InvalidGrant => TokenFailure::InvalidGrant(text),
                BasicErrorResponseType::InvalidClient | BasicErrorResponseType::UnauthorizedClient => {
                    TokenFailure::Other(AuthError::Setup(format!(
                        "the application refused connection {id:?}'s OAuth client ({text}): check its client id and secret"
                    )))
                }
                _ => TokenFailure::Other(AuthError::Unavailable(format!("the token endpoint answered {text}"))),
            }
        }
        RequestTokenError::Request(e) => {
            TokenFailure::Other(AuthError::Unavailable(format!("cannot reach the token endpoint: {e}")))
        }
        RequestTokenError::Parse(e, _) => {
            TokenFailure::Other(AuthError::Unavailable(format!("the token endpoint's answer is not a token: {e}")))
        }
        RequestTokenError::Other(e) => TokenFailure::Other(AuthError::Unavailable(format!("the token endpoint: {e}"))),
    }
}

impl Credentials for TokenKeeper {
    fn hosts(&self, id: &str, spec: &OAuth2Spec) -> Option<Arc<Vec<HostRule>>> {
        match self.grant(id, spec, false) {
            Ok(found) => found.map(|c| c.hosts),
            Err(e) => {
                tracing::warn!(connection = %id, error = %e, "cannot read the connection's OAuth grant");
                None
            }
        }
    }

    fn token<'a>(&'a self, id: &'a str, spec: &'a OAuth2Spec) -> BoxFuture<'a, Result<Option<Lent>, AuthError>> {
        Box::pin(async move {
            let Some(current) = self.grant(id, spec, false)? else { return Ok(None) };
            match (&current.grant.status, &current.grant.tokens) {
                (AuthStatus::Authorized { .. }, Some(t)) if !expiring(t, now_ms()) => Ok(Some(lend(spec, t))),
                _ => self.refreshed(id, spec, None).await,
            }
        })
    }

    fn rejected<'a>(
        &'a self,
        id: &'a str,
        spec: &'a OAuth2Spec,
        used: &'a str,
    ) -> BoxFuture<'a, Result<Option<Lent>, AuthError>> {
        Box::pin(async move {
            tracing::info!(connection = %id, "the application refused the OAuth token; refreshing it");
            self.refreshed(id, spec, Some(used)).await
        })
    }
}

impl Authorizer for TokenKeeper {
    fn begin<'a>(&'a self, id: &'a str, redirect_uri: &'a str) -> BoxFuture<'a, Result<Begun, AuthError>> {
        Box::pin(self.begin_inner(id, redirect_uri))
    }

    fn complete<'a>(&'a self, callback: &'a Callback) -> BoxFuture<'a, Result<String, AuthError>> {
        Box::pin(self.complete_inner(callback))
    }

    fn forget(&self, id: &str) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_within_the_margin_or_half_the_lifetime() {
        let t = |obtained, expires| TokenSet {
            access_token: "a".into(),
            refresh_token: None,
            expires_ms: Some(expires),
            scope: None,
            obtained_ms: obtained,
        };
        // An hour-long token: refreshed in its last minute.
        assert!(!expiring(&t(0, 3_600_000), 3_539_000));
        assert!(expiring(&t(0, 3_600_000), 3_541_000));
        // A 2-second token: in its second half.
        assert!(!expiring(&t(0, 2_000), 900));
        assert!(expiring(&t(0, 2_000), 1_000));
        let forever = TokenSet { expires_ms: None, ..t(0, 0) };
        assert!(!expiring(&forever, u64::MAX / 2));
    }
}
