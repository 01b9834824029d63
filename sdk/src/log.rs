//! Logging into the host's log and the run's step record.
//!
//! The host keeps a bounded number of lines per call; write what helps a user
//! understand a failed run, not every byte.
//!
//! Connectors and transforms both have it, inside weft's sandbox: on any other
//! target a call aborts the process.
//!
//! # Examples
//!
//! ```no_run
//! use weft_sdk::log;
//!
//! let (fetched, skipped) = (40, 2);
//! log::info(&format!("fetched {fetched} contacts"));
//! if skipped > 0 {
//!     log::warn(&format!("skipped {skipped} contacts without an email"));
//! }
//! ```

// Both worlds import the same `weft:plugin/log`; either world's bindings reach it.
use crate::connector::bindings::weft::plugin::log::{Level, log};

/// Log at trace level.
///
/// # Examples
///
/// ```no_run
/// use weft_sdk::log;
///
/// let (page, elapsed_ms) = (3, 182);
/// log::trace(&format!("page {page} answered in {elapsed_ms} ms"));
/// ```
pub fn trace(message: &str) {
    log(Level::Trace, message)
}
/// Log at debug level.
///
/// # Examples
///
/// ```no_run
/// use weft_sdk::log;
///
/// let (cursor, next_cursor) = (Some("41"), Some("57"));
/// log::debug(&format!("cursor {cursor:?} → {next_cursor:?}"));
/// ```
pub fn debug(message: &str) {
    log(Level::Debug, message)
}
/// Log at info level.
///
/// # Examples
///
/// ```no_run
/// use weft_sdk::log;
///
/// log::info("subscribed hook 12 on octo/hello");
/// ```
pub fn info(message: &str) {
    log(Level::Info, message)
}
/// Log at warn level.
///
/// # Examples
///
/// ```no_run
/// use weft_sdk::log;
///
/// log::warn("hook 12 on octo/hello was already gone");
/// ```
pub fn warn(message: &str) {
    log(Level::Warn, message)
}
/// Log at error level.
///
/// # Examples
///
/// ```no_run
/// use weft_sdk::log;
///
/// log::error("the API returned a contact without an id; skipping it");
/// ```
pub fn error(message: &str) {
    log(Level::Error, message)
}
