//! `weft:plugin/config`: the calling connection's settings and secrets.

use super::CallState;
use crate::bindings::config::Host;

impl Host for CallState {
    fn settings(&mut self) -> String {
        self.note_settings();
        let settings = match &self.connection {
            Some(c) => serde_json::Value::Object(c.settings.clone()).to_string(),
            None => "{}".to_string(),
        };
        self.charge_returned(Some(&settings));
        settings
    }

    fn setting(&mut self, name: String) -> Option<String> {
        self.note_settings();
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
    /// A recorded call keeps the settings it read.
    fn note_settings(&self) {
        if let (Some(tape), Some(c)) = (&self.tape, &self.connection) {
            tape.settings_read(&c.settings);
        }
    }

    /// Charge a `config` call that returns `value`.
    fn charge_returned(&mut self, value: Option<&str>) {
        self.charge(super::fuel::CALL + super::fuel::CONFIG_BYTE * value.map_or(0, str::len) as u64);
    }
}
