//! Logging into the host's log and the run's step record.
//!
//! The host keeps a bounded number of lines per call; write what helps a user
//! understand a failed run, not every byte.

// Both worlds import the same `weft:plugin/log`; either world's bindings reach it.
use crate::connector::bindings::weft::plugin::log::{Level, log};

/// Log at trace level.
pub fn trace(message: &str) {
    log(Level::Trace, message)
}
/// Log at debug level.
pub fn debug(message: &str) {
    log(Level::Debug, message)
}
/// Log at info level.
pub fn info(message: &str) {
    log(Level::Info, message)
}
/// Log at warn level.
pub fn warn(message: &str) {
    log(Level::Warn, message)
}
/// Log at error level.
pub fn error(message: &str) {
    log(Level::Error, message)
}
