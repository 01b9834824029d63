//! Connections: one account of one application, as an operator configured
//! it — the settings and secrets a plugin call may read, and the hosts
//! ([`HostRule`]s) it may reach — and where they are kept ([`ConnectionStore`]).

use crate::run::StoreResult;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

/// One account of one application, as an operator configured it: the values a
/// plugin call may read and the hosts it may reach.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// Stable id; also names the connection's key-value namespace.
    pub id: String,
    /// Plain settings (a base URL, an account id…).
    #[serde(default)]
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// Secrets (API keys, signing secrets). Never logged: [`Connection::redact`].
    #[serde(default, skip_serializing)]
    pub secrets: BTreeMap<String, String>,
    /// Hosts this connection's plugin calls may reach.
    #[serde(default)]
    pub hosts: HostRules,
    /// How often actions may call the application with this connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<crate::model::RateLimitDef>,
}

impl Connection {
    /// `text` with every secret value of this connection replaced by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        // Short values would redact ordinary words; secrets are longer than this.
        for secret in self.secrets.values().filter(|s| s.len() >= 4) {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "[redacted]");
            }
        }
        out
    }
}

/// One granted destination: `host`, `host:port`, `*.suffix`, an IP literal
/// (`127.0.0.1:8080`, `[::1]`), or `*` for any public host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HostRule {
    pattern: Pattern,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Any,
    Name(String),
    /// `*.example.com` stored as `.example.com`.
    Suffix(String),
    Ip(IpAddr),
}

/// The hosts granted to one connection.
pub type HostRules = Arc<Vec<HostRule>>;

impl FromStr for HostRule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let text = s.trim();
        let bad = |why: &str| format!("bad host grant {s:?}: {why}");
        if text.is_empty() {
            return Err(bad("empty"));
        }
        if text.contains("://") || text.contains('/') {
            return Err(bad("write a host, optionally with :port, without scheme or path (e.g. api.example.com:443)"));
        }
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (ip, after) = rest.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| bad("expected :port after ]"))?),
            };
            (ip, port)
        } else if text.matches(':').count() > 1 {
            (text, None) // a bare IPv6 address
        } else {
            match text.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (text, None),
            }
        };
        let port =
            port.map(|p| p.parse::<u16>().map_err(|_| bad("the port is not a number from 0 to 65535"))).transpose()?;
        let host = host.to_ascii_lowercase();
        let pattern = if host == "*" {
            Pattern::Any
        } else if let Ok(ip) = host.parse::<IpAddr>() {
            Pattern::Ip(ip)
        } else if let Some(suffix) = host.strip_prefix("*.") {
            check_name(suffix).map_err(|w| bad(&w))?;
            Pattern::Suffix(format!(".{suffix}"))
        } else {
            check_name(&host).map_err(|w| bad(&w))?;
            Pattern::Name(host.trim_end_matches('.').to_string())
        };
        Ok(HostRule { pattern, port })
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = name.split('.').all(|label| {
        !label.is_empty() && label.len() <= 63 && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    if ok { Ok(()) } else { Err(format!("{name:?} is not a valid host name")) }
}

impl TryFrom<String> for HostRule {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<HostRule> for String {
    fn from(rule: HostRule) -> String {
        rule.to_string()
    }
}

impl fmt::Display for HostRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.pattern, self.port) {
            (Pattern::Ip(IpAddr::V6(ip)), Some(port)) => write!(f, "[{ip}]:{port}"),
            (pattern, Some(port)) => write!(f, "{pattern}:{port}"),
            (pattern, None) => write!(f, "{pattern}"),
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Any => f.write_str("*"),
            Pattern::Name(n) => f.write_str(n),
            Pattern::Suffix(s) => write!(f, "*{s}"),
            Pattern::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

impl HostRule {
    /// Whether a request to `host` (or the IP literal `ip`) on `port` may go out under this rule.
    pub fn matches(&self, host: &str, ip: Option<IpAddr>, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        match &self.pattern {
            Pattern::Any => true,
            Pattern::Name(n) => ip.is_none() && n == host,
            Pattern::Suffix(s) => ip.is_none() && host.ends_with(s.as_str()),
            Pattern::Ip(granted) => ip == Some(*granted),
        }
    }

    /// Whether this rule names `ip` itself, which is what it takes to reach a
    /// non-public address.
    pub fn names_address(&self, ip: IpAddr) -> bool {
        match &self.pattern {
            Pattern::Ip(granted) => *granted == ip,
            Pattern::Name(n) => n == "localhost" && ip.is_loopback(),
            Pattern::Any | Pattern::Suffix(_) => false,
        }
    }
}

/// A connection as it is listed: everything but the secrets' values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionInfo {
    pub id: String,
    /// The connector this connection is an account of.
    pub plugin: String,
    pub settings: serde_json::Map<String, serde_json::Value>,
    pub hosts: HostRules,
    /// The names of its secrets.
    pub secret_names: Vec<String>,
    /// How often actions may call the application with this connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<crate::model::RateLimitDef>,
}

/// Where connections live, their secrets sealed at rest.
pub trait ConnectionStore: Send + Sync + 'static {
    /// Create or replace connection `id`, an account of connector `plugin`.
    fn put_connection(&self, id: &str, plugin: &str, connection: &Connection) -> StoreResult<ConnectionInfo>;
    /// A connection with its secrets opened, and the connector it is for.
    fn connection(&self, id: &str) -> StoreResult<Option<(String, Arc<Connection>)>>;
    /// Every connection, without secret values.
    fn connections(&self) -> StoreResult<Vec<ConnectionInfo>>;
    /// Remove a connection (and its OAuth grant); whether it existed.
    fn delete_connection(&self, id: &str) -> StoreResult<bool>;

    /// The OAuth grant of connection `id` and its version (counting from 1).
    fn oauth_grant(&self, id: &str) -> StoreResult<Option<(crate::oauth::OAuthGrant, u64)>>;
    /// Replace the grant of `id` if its version is still `expected` (0: there
    /// is none), or remove it (`grant` = `None`): the new version, or `None`
    /// when another writer came first. Sealed at rest.
    fn swap_oauth_grant(
        &self,
        id: &str,
        expected: u64,
        grant: Option<&crate::oauth::OAuthGrant>,
    ) -> StoreResult<Option<u64>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_rules() {
        for (input, shown) in [
            ("api.example.com", "api.example.com"),
            ("API.Example.com:443", "api.example.com:443"),
            ("*.example.com", "*.example.com"),
            ("127.0.0.1:8080", "127.0.0.1:8080"),
            ("[::1]:80", "[::1]:80"),
            ("::1", "::1"),
            ("*", "*"),
        ] {
            assert_eq!(input.parse::<HostRule>().unwrap().to_string(), shown);
        }
        for bad in ["", "http://x.com", "x.com/path", "x.com:99999", "bad_name!", "[::1"] {
            let err = bad.parse::<HostRule>().unwrap_err();
            assert!(err.starts_with("bad host grant"), "{bad}: {err}");
        }
    }
}
