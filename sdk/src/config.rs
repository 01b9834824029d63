//! The calling connection's settings and secrets (and no other connection's).
//!
//! A connection is one account of one application: its base URL, its API
//! key… The connector declares what a connection needs with
//! [`Manifest::setting`](crate::Manifest::setting) and
//! [`Manifest::secret`](crate::Manifest::secret); the user fills them in, and
//! every call reads the values of the connection it runs for. Settings are
//! JSON values; secrets are strings, never included in [`settings`], and
//! redacted from logs and run records by the host.
//!
//! For connectors only, inside weft's sandbox: on any other target a call
//! aborts the process.
//!
//! # Examples
//!
//! ```no_run
//! # fn main() -> weft_sdk::Result<()> {
//! use weft_sdk::{Error, config, http};
//!
//! let base = config::setting_str("base_url").unwrap_or_else(|| "https://api.crm.example".into());
//! let key = config::secret("api_key").ok_or_else(|| Error::auth("the connection has no api_key"))?;
//! let response = http::Request::get(format!("{base}/v1/me")).header("authorization", format!("Bearer {key}")).send()?;
//! # let _ = response;
//! # Ok(()) }
//! ```

use crate::Value;
use crate::connector::bindings::weft::plugin::config as wit;

/// All settings as a JSON object (`{}` when there are none). Secrets are not included.
///
/// # Examples
///
/// ```no_run
/// use weft_sdk::config;
///
/// let settings = config::settings();
/// let names: Vec<&String> = settings.as_object().map(|o| o.keys().collect()).unwrap_or_default();
/// weft_sdk::log::debug(&format!("the connection sets {names:?}"));
/// ```
pub fn settings() -> Value {
    serde_json::from_str(&wit::settings()).unwrap_or_else(|_| Value::Object(Default::default()))
}

/// One setting, or `None` when it is not set.
///
/// # Examples
///
/// ```no_run
/// use weft_sdk::config;
///
/// // A setting holding a JSON object of extra headers.
/// let headers = config::setting("headers").unwrap_or_else(|| weft_sdk::json!({}));
/// let page_size = config::setting("page_size").and_then(|v| v.as_u64()).unwrap_or(100);
/// # let _ = (headers, page_size);
/// ```
pub fn setting(name: &str) -> Option<Value> {
    wit::setting(name).and_then(|text| serde_json::from_str(&text).ok())
}

/// One setting as a string: a JSON string as is, any other value as JSON text.
///
/// # Examples
///
/// ```no_run
/// use weft_sdk::config;
///
/// let base = config::setting_str("base_url").unwrap_or_else(|| "https://api.github.com".into());
/// let url = format!("{}/repos/octo/hello/issues", base.trim_end_matches('/'));
/// # let _ = url;
/// ```
pub fn setting_str(name: &str) -> Option<String> {
    setting(name).map(|v| match v {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

/// One secret, or `None`.
///
/// # Examples
///
/// ```no_run
/// # fn main() -> weft_sdk::Result<()> {
/// use weft_sdk::{Error, config};
///
/// let secret = config::secret("webhook_secret")
///     .ok_or_else(|| Error::invalid_input("the connection has no `webhook_secret` secret"))?;
/// # let _ = secret;
/// # Ok(()) }
/// ```
pub fn secret(name: &str) -> Option<String> {
    wit::secret(name)
}
