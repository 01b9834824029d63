//! `weft:plugin/config`: the calling connection's settings and secrets.

use super::CallState;
use super::http::HostRules;
use crate::runtime::bindings::config::Host;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

impl Host for CallState {
    fn settings(&mut self) -> String {
        let settings = match &self.connection {
            Some(c) => serde_json::Value::Object(c.settings.clone()).to_string(),
            None => "{}".to_string(),
        };
        self.charge_returned(Some(&settings));
        settings
    }

    fn setting(&mut self, name: String) -> Option<String> {
        let value = self.connection.as_ref().and_then(|c| c.settings.get(&name)).map(|v| v.to_string());
        self.charge_returned(value.as_deref());
        value
    }

    fn secret(&mut self, name: String) -> Option<String> {
        let value = self.connection.as_ref().and_then(|c| c.secrets.get(&name)).cloned();
        self.charge_returned(value.as_deref());
        value
    }
}

impl CallState {
    /// Charge a `config` call that returns `value`.
    fn charge_returned(&mut self, value: Option<&str>) {
        self.charge(super::fuel::CALL + super::fuel::CONFIG_BYTE * value.map_or(0, str::len) as u64);
    }
}
