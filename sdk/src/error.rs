//! The error a plugin returns: the variants the engine acts on.

use std::fmt;

/// What went wrong, chosen by what the engine should do next.
///
/// - [`Error::InvalidInput`]: the user must fix the input; not retried.
/// - [`Error::Auth`]: the user must fix the connection's credentials; not retried.
/// - [`Error::RateLimited`]: retried no earlier than `retry_after_ms`.
/// - [`Error::Transient`]: retried with exponential backoff.
/// - [`Error::Fatal`]: not retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The input does not fit; the user must fix it.
    InvalidInput(String),
    /// The application rejected the credentials.
    Auth(String),
    /// The application asked to slow down.
    RateLimited {
        /// What the application said.
        message: String,
        /// Wait at least this long before the next attempt (0: unknown).
        retry_after_ms: u64,
    },
    /// A failure that may pass (timeouts, 5xx, dropped connections).
    Transient(String),
    /// Anything else; not retried.
    Fatal(String),
}

/// `Result` with weft's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::InvalidInput`].
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::InvalidInput(message.into())
    }
    /// An [`Error::Auth`].
    pub fn auth(message: impl Into<String>) -> Self {
        Self::Auth(message.into())
    }
    /// An [`Error::RateLimited`].
    pub fn rate_limited(message: impl Into<String>, retry_after_ms: u64) -> Self {
        Self::RateLimited { message: message.into(), retry_after_ms }
    }
    /// An [`Error::Transient`].
    pub fn transient(message: impl Into<String>) -> Self {
        Self::Transient(message.into())
    }
    /// An [`Error::Fatal`].
    pub fn fatal(message: impl Into<String>) -> Self {
        Self::Fatal(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidInput(m) => write!(f, "invalid input: {m}"),
            Error::Auth(m) => write!(f, "authentication failed: {m}"),
            Error::RateLimited { message, retry_after_ms } => {
                write!(f, "rate limited (retry after {retry_after_ms} ms): {message}")
            }
            Error::Transient(m) => write!(f, "transient failure: {m}"),
            Error::Fatal(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::InvalidInput(format!("JSON: {e}"))
    }
}

/// Converts between this crate's [`Error`] and the WIT `error` variant of one
/// world's generated bindings (each world has its own copy of the type).
macro_rules! wit_error_conversions {
    ($wit:path, $rate:path) => {
        impl From<crate::Error> for $wit {
            fn from(e: crate::Error) -> Self {
                use crate::Error as E;
                type Rate = $rate;
                match e {
                    E::InvalidInput(m) => Self::InvalidInput(m),
                    E::Auth(m) => Self::Auth(m),
                    E::RateLimited { message, retry_after_ms } => Self::RateLimited(Rate { message, retry_after_ms }),
                    E::Transient(m) => Self::Transient(m),
                    E::Fatal(m) => Self::Fatal(m),
                }
            }
        }
    };
}
pub(crate) use wit_error_conversions;
