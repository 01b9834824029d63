//! Key-value storage private to this plugin and the calling connection.
//!
//! Keys are strings (at most 512 bytes by default), values are bytes (at most
//! 64 KiB by default), and each namespace has a quota (16 MiB by default,
//! each entry counting its key, its value and 128 bytes) and a number of keys
//! it may hold (65,536 by default). Two connections of the same plugin never
//! see each other's keys.

use crate::connector::bindings::weft::plugin::kv as wit;
use crate::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use wit::KvError;

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
pub fn get(key: &str) -> Result<Option<Vec<u8>>> {
    Ok(wit::get(key)?)
}

/// Store `value` under `key`.
pub fn set(key: &str, value: &[u8]) -> Result<()> {
    Ok(wit::set(key, value)?)
}

/// Remove `key` (a missing key is fine).
pub fn delete(key: &str) -> Result<()> {
    Ok(wit::delete(key)?)
}

/// Keys starting with `prefix`, in byte order, at most `limit`.
pub fn list_keys(prefix: &str, limit: u32) -> Result<Vec<String>> {
    Ok(wit::list_keys(prefix, limit)?)
}

/// The value under `key` decoded from JSON.
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>> {
    match get(key)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::fatal(format!("kv value under {key:?} is not the JSON expected: {e}"))),
    }
}

/// Store `value` under `key` as JSON.
pub fn set_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<()> {
    let bytes = serde_json::to_vec(value).map_err(|e| Error::fatal(format!("kv value for {key:?}: {e}")))?;
    set(key, &bytes)
}
