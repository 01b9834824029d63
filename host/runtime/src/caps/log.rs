//! `weft:plugin/log`: plugin log lines into `tracing` and into the call's record.
//!
//! A call keeps at most `Limits::max_log_lines` lines; the rest are counted and
//! dropped (and not sent to `tracing` either), so a plugin that logs in a loop
//! cannot flood the host's log or memory.

use super::CallState;
use crate::bindings::log::{Host, Level};
use std::sync::Arc;
use std::time::SystemTime;
use weft_core::log::{LogLevel, LogLine};

/// Longest log line kept, in bytes; longer lines are cut.
const MAX_LINE_BYTES: usize = 4096;

/// The lines logged by one call.
#[derive(Debug, Default)]
pub struct CallLog {
    plugin: Arc<str>,
    connection: Option<String>,
    call: String,
    max_lines: usize,
    pub lines: Vec<LogLine>,
    pub dropped: u64,
}

impl CallLog {
    pub fn new(plugin: Arc<str>, connection: Option<String>, call: String, max_lines: usize) -> Self {
        Self { plugin, connection, call, max_lines, lines: Vec::new(), dropped: 0 }
    }

    fn push(&mut self, level: LogLevel, mut message: String) {
        if self.lines.len() >= self.max_lines {
            if self.dropped == 0 {
                tracing::warn!(plugin = %self.plugin,
                    call = %self.call, max = self.max_lines, "plugin log limit reached; dropping further lines of this call");
            }
            self.dropped += 1;
            return;
        }
        if message.len() > MAX_LINE_BYTES {
            let mut cut = MAX_LINE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let plugin = &*self.plugin;
        let connection = self.connection.as_deref().unwrap_or("-");
        let call = self.call.as_str();
        match level {
            LogLevel::Trace => {
                tracing::trace!(target: "weft::plugin", plugin, connection, call, "{message}")
            }
            LogLevel::Debug => {
                tracing::debug!(target: "weft::plugin", plugin, connection, call, "{message}")
            }
            LogLevel::Info => {
                tracing::info!(target: "weft::plugin", plugin, connection, call, "{message}")
            }
            LogLevel::Warn => {
                tracing::warn!(target: "weft::plugin", plugin, connection, call, "{message}")
            }
            LogLevel::Error => {
                tracing::error!(target: "weft::plugin", plugin, connection, call, "{message}")
            }
        }
        let at_ms = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        self.lines.push(LogLine { level, message, at_ms });
    }
}

impl Host for CallState {
    fn log(&mut self, level: Level, message: String) {
        self.charge(super::fuel::CALL + super::fuel::LOG_BYTE * message.len() as u64);
        let level = match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        let message = self.redact(&message);
        self.log.push(level, message);
    }
}
