//! Key-value storage private to this plugin and the calling connection.
//!
//! Keys are strings (at most 512 bytes by default), values are bytes (at most
//! 64 KiB by default), and each namespace has a quota (16 MiB by default,
//! each entry counting its key, its value and 128 bytes) and a number of keys
//! it may hold (65,536 by default). Two connections of the same plugin never
//! see each other's keys.
//!
//! A failed operation is a [`KvError`], which `?` turns into the [`Error`] the
//! engine acts on. For connectors only, inside weft's sandbox: on any other
//! target a call aborts the process.
//!
//! # Examples
//!
//! Remember which records a webhook trigger has already seen:
//!
//! ```no_run
//! # fn main() -> weft_sdk::Result<()> {
//! use weft_sdk::kv;
//!
//! let delivery = "delivery-72d3";
//! let key = format!("seen/{delivery}");
//! if kv::get(&key)?.is_none() {
//!     kv::set(&key, b"1")?;
//!     // … first time: make an event of it
//! }
//! # Ok(()) }
//! ```

use crate::connector::bindings::weft::plugin::kv as wit;
use crate::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

#[doc(inline)]
pub use wit::KvError;

/// Picks the [`Error`] by what the engine should do: a key or value over the
/// limit is invalid input, a full namespace is fatal, a failing store is
/// transient.
///
/// # Examples
///
/// ```
/// use weft_sdk::Error;
/// use weft_sdk::kv::KvError;
///
/// assert_eq!(Error::from(KvError::KeyTooLarge(512)), Error::invalid_input("kv key is empty or over 512 bytes"));
/// assert_eq!(Error::from(KvError::QuotaExceeded(16_777_216)), Error::fatal("kv quota of 16777216 bytes exceeded"));
/// assert!(matches!(Error::from(KvError::Store("disk full".into())), Error::Transient(_)));
/// ```
impl From<KvError> for Error {
    fn from(e: KvError) -> Self {
        match e {
            KvError::KeyTooLarge(max) => Error::invalid_input(format!("kv key is empty or over {max} bytes")),
            KvError::ValueTooLarge(max) => Error::invalid_input(format!("kv value is over {max} bytes")),
            KvError::QuotaExceeded(quota) => Error::fatal(format!("kv quota of {quota} bytes exceeded")),
            KvError::Store(m) => Error::transient(format!("kv store: {m}")),
        }
    }
}

/// The value under `key`, if any.
///
/// # Examples
///
/// ```no_run
/// # fn main() -> weft_sdk::Result<()> {
/// use weft_sdk::kv;
///
/// let etag = kv::get("contacts/etag")?.map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
/// # let _ = etag;
/// # Ok(()) }
/// ```
pub fn get(key: &str) -> Result<Option<Vec<u8>>> {
    Ok(wit::get(key)?)
}

/// Store `value` under `key`, replacing what was there.
///
/// A write that would go over the key or value limit, or the namespace's
/// quota, fails and changes nothing.
///
/// # Examples
///
/// ```no_run
/// # fn main() -> weft_sdk::Result<()> {
/// use weft_sdk::kv;
///
/// kv::set("contacts/etag", br#"W/"5e1-4b2""#)?;
/// # Ok(()) }
/// ```
pub fn set(key: &str, value: &[u8]) -> Result<()> {
    Ok(wit::set(key, value)?)
}

/// Remove `key` (a missing key is fine).
///
/// # Examples
///
/// ```no_run
/// # fn main() -> weft_sdk::Result<()> {
/// use weft_sdk::kv;
///
/// kv::delete("contacts/etag")?;
/// kv::delete("contacts/etag")?; // already gone: still Ok
/// # Ok(()) }
/// ```
pub fn delete(key: &str) -> Result<()> {
    Ok(wit::delete(key)?)
}

/// Keys starting with `prefix`, in byte order, at most `limit`.
///
/// # Examples
///
/// ```no_run
/// # fn main() -> weft_sdk::Result<()> {
/// use weft_sdk::kv;
///
/// // Forget every record seen, a page of keys at a time.
/// loop {
///     let keys = kv::list_keys("seen/", 100)?;
///     if keys.is_empty() {
///         break;
///     }
///     for key in keys {
///         kv::delete(&key)?;
///     }
/// }
/// # Ok(()) }
/// ```
pub fn list_keys(prefix: &str, limit: u32) -> Result<Vec<String>> {
    Ok(wit::list_keys(prefix, limit)?)
}

/// The value under `key` decoded from JSON.
///
/// A value that is not the JSON expected is [`Error::Fatal`].
///
/// # Examples
///
/// ```no_run
/// # fn main() -> weft_sdk::Result<()> {
/// use weft_sdk::{Value, kv};
///
/// let state: Value = kv::get_json("sync_state")?.unwrap_or_else(|| weft_sdk::json!({ "page": 1 }));
/// let page = state["page"].as_u64().unwrap_or(1);
/// # let _ = page;
/// # Ok(()) }
/// ```
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>> {
    match get(key)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::fatal(format!("kv value under {key:?} is not the JSON expected: {e}"))),
    }
}

/// Store `value` under `key` as JSON.
///
/// # Examples
///
/// ```no_run
/// # fn main() -> weft_sdk::Result<()> {
/// use weft_sdk::{json, kv};
///
/// kv::set_json("sync_state", &json!({ "page": 2, "updated_after": "2025-01-31T09:30:00Z" }))?;
/// # Ok(()) }
/// ```
pub fn set_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<()> {
    let bytes = serde_json::to_vec(value).map_err(|e| Error::fatal(format!("kv value for {key:?}: {e}")))?;
    set(key, &bytes)
}
