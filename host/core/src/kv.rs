//! Plugins' key-value namespaces, one per (plugin, connection), each within
//! a quota the store enforces exactly.

use crate::run::StoreResult;

/// The limits a namespace is kept within.
#[derive(Debug, Clone, Copy)]
pub struct KvQuota {
    /// What the entries cost: each its key, its value and the per-entry
    /// overhead [`KV_ENTRY_BYTES`] (see [`entry_cost`]).
    pub bytes: u64,
    pub max_keys: u64,
}

/// What each key-value entry costs against its namespace's quota beyond its
/// key and value: about what a store spends on it, on disk and in its index
/// (measured: ~150 bytes per small entry in the embedded store, with the
/// namespace in its key), so a namespace full of tiny entries costs about
/// what its quota says (docs/security.md has the figures). Every backend
/// counts the same, so a namespace's quota means the same on each.
pub const KV_ENTRY_BYTES: u64 = 128;

/// What an entry of `key` with a value of `value_len` bytes costs against its quota.
pub fn entry_cost(key: &str, value_len: u64) -> u64 {
    KV_ENTRY_BYTES + key.len() as u64 + value_len
}

/// What [`KvStore::kv_set`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvSet {
    Stored,
    /// The namespace would go over its byte quota.
    OverQuota,
    /// The namespace would hold more keys than it may.
    TooManyKeys,
}

/// Where key-value namespaces live. The sandbox's `kv` capability reaches the
/// store through this; a namespace is an opaque byte string without NUL.
pub trait KvStore: Send + Sync + 'static {
    /// The value under `key` in `namespace`.
    fn kv_get(&self, namespace: &[u8], key: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Store `value` under `key`, keeping the namespace within `quota`. A
    /// write that would exceed it changes nothing and says which limit.
    fn kv_set(&self, namespace: &[u8], key: &str, value: &[u8], quota: KvQuota) -> StoreResult<KvSet>;
    /// Remove `key` (a missing key is not an error).
    fn kv_delete(&self, namespace: &[u8], key: &str) -> StoreResult<()>;
    /// Up to `limit` keys starting with `prefix`, in order.
    fn kv_list(&self, namespace: &[u8], prefix: &str, limit: usize) -> StoreResult<Vec<String>>;
}
