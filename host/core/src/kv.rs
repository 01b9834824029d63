//! Plugins' key-value namespaces, one per (plugin, connection), each within
//! a quota the store enforces exactly.

use crate::run::StoreResult;

/// The limits a namespace is kept within.
#[derive(Debug, Clone, Copy)]
pub struct KvQuota {
    /// What the entries cost: each its key, its value and the store's
    /// per-entry overhead (`weft_store::KV_ENTRY_BYTES` in the sled store).
    pub bytes: u64,
    pub max_keys: u64,
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
