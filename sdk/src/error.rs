//! The error a plugin returns: the variants the engine acts on.

use std::fmt;

/// What went wrong, chosen by what the engine should do next.
///
/// - [`Error::InvalidInput`]: the user must fix the input; not retried.
/// - [`Error::Auth`]: the user must fix the connection's credentials; not retried.
/// - [`Error::RateLimited`]: retried no earlier than `retry_after_ms`.
/// - [`Error::Transient`]: retried with exponential backoff.
/// - [`Error::Fatal`]: not retried.
///
/// Build one with the constructors ([`Error::invalid_input`], [`Error::auth`],
/// …). [`Response::error_for_status`](crate::http::Response::error_for_status)
/// picks the variant from an HTTP status, and `?` turns a [`serde_json::Error`]
/// or a [`KvError`](crate::kv::KvError) into one.
///
/// # Examples
///
/// ```
/// use weft_sdk::{Error, Result, Value};
///
/// fn quantity(input: &Value) -> Result<u64> {
///     input["quantity"]
///         .as_u64()
///         .ok_or_else(|| Error::invalid_input("`quantity` must be a whole number"))
/// }
///
/// let error = quantity(&weft_sdk::json!({ "quantity": "three" })).unwrap_err();
/// assert_eq!(error, Error::InvalidInput("`quantity` must be a whole number".into()));
/// assert_eq!(error.to_string(), "invalid input: `quantity` must be a whole number");
/// ```
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
///
/// # Examples
///
/// ```
/// use weft_sdk::{Error, Result};
///
/// fn page_size(n: u64) -> Result<u64> {
///     if (1..=100).contains(&n) { Ok(n) } else { Err(Error::invalid_input("page size must be from 1 to 100")) }
/// }
///
/// assert_eq!(page_size(50), Ok(50));
/// assert!(page_size(0).is_err());
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::InvalidInput`]: the input does not fit, and retrying the
    /// same input would fail again.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::Error;
    ///
    /// let error = Error::invalid_input("`email` is missing");
    /// assert_eq!(error, Error::InvalidInput("`email` is missing".into()));
    /// assert_eq!(error.to_string(), "invalid input: `email` is missing");
    /// ```
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::InvalidInput(message.into())
    }
    /// An [`Error::Auth`]: the application rejected the connection's credentials.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::Error;
    ///
    /// let error = Error::auth("the connection has no api_key");
    /// assert_eq!(error, Error::Auth("the connection has no api_key".into()));
    /// assert_eq!(error.to_string(), "authentication failed: the connection has no api_key");
    /// ```
    pub fn auth(message: impl Into<String>) -> Self {
        Self::Auth(message.into())
    }
    /// An [`Error::RateLimited`]: the engine retries no earlier than
    /// `retry_after_ms` milliseconds from now (0 when the application did not say).
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::Error;
    ///
    /// let error = Error::rate_limited("too many requests", 30_000);
    /// assert_eq!(error, Error::RateLimited { message: "too many requests".into(), retry_after_ms: 30_000 });
    /// assert_eq!(error.to_string(), "rate limited (retry after 30000 ms): too many requests");
    /// ```
    pub fn rate_limited(message: impl Into<String>, retry_after_ms: u64) -> Self {
        Self::RateLimited { message: message.into(), retry_after_ms }
    }
    /// An [`Error::Transient`]: a failure that may pass; the engine retries
    /// with exponential backoff.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::Error;
    ///
    /// let error = Error::transient("the API answered 503");
    /// assert_eq!(error, Error::Transient("the API answered 503".into()));
    /// assert_eq!(error.to_string(), "transient failure: the API answered 503");
    /// ```
    pub fn transient(message: impl Into<String>) -> Self {
        Self::Transient(message.into())
    }
    /// An [`Error::Fatal`]: anything else; not retried. Its message is shown
    /// as is.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::Error;
    ///
    /// let error = Error::fatal("the API returned a record without an id");
    /// assert_eq!(error, Error::Fatal("the API returned a record without an id".into()));
    /// assert_eq!(error.to_string(), "the API returned a record without an id");
    /// ```
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

/// JSON that does not parse, or does not fit the type asked for, is invalid
/// input, so `?` works on `serde_json` calls.
///
/// # Examples
///
/// ```
/// use weft_sdk::{Error, Result, Value};
///
/// fn parse(text: &str) -> Result<Value> {
///     Ok(serde_json::from_str(text)?)
/// }
///
/// assert_eq!(parse("[1]"), Ok(weft_sdk::json!([1])));
/// assert!(matches!(parse("{"), Err(Error::InvalidInput(message)) if message.starts_with("JSON: ")));
/// ```
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
