//! The calling connection's settings and secrets (and no other connection's).

use crate::Value;
use crate::connector::bindings::weft::plugin::config as wit;

/// All settings as a JSON object (`{}` when there are none). Secrets are not included.
pub fn settings() -> Value {
    serde_json::from_str(&wit::settings()).unwrap_or_else(|_| Value::Object(Default::default()))
}

/// One setting, or `None` when it is not set.
pub fn setting(name: &str) -> Option<Value> {
    wit::setting(name).and_then(|text| serde_json::from_str(&text).ok())
}

/// One setting as a string: a JSON string as is, any other value as JSON text.
pub fn setting_str(name: &str) -> Option<String> {
    setting(name).map(|v| match v {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

/// One secret, or `None`.
pub fn secret(name: &str) -> Option<String> {
    wit::secret(name)
}
