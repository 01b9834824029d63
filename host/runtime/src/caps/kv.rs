//! `weft:plugin/kv`: a key-value namespace per (plugin, connection), with size
//! limits and a quota, kept in a [`KvStore`] (the storage backend's).

use super::{CallState, fuel};
use crate::bindings::kv::{Host, KvError};
use crate::limits::KvLimits;
use std::sync::Arc;
use weft_core::io::KvOp;
use weft_core::kv::{KvQuota, KvSet, KvStore};
use weft_core::run::StoreFailure;

/// One (plugin, connection) namespace.
pub struct Namespace {
    store: Arc<dyn KvStore>,
    /// `plugin \x1f connection`; neither part may contain the separator.
    id: Vec<u8>,
    limits: KvLimits,
}

impl Namespace {
    pub fn new(store: &Arc<dyn KvStore>, plugin: &str, connection: &str, limits: KvLimits) -> Self {
        let mut id = Vec::with_capacity(plugin.len() + connection.len() + 1);
        // Plugin names are `[a-z0-9-]+`; connection ids are checked by the host. Strip the
        // separator and NUL anyway so no input can forge another namespace.
        id.extend(plugin.bytes().filter(|b| *b != 0x1f && *b != 0));
        id.push(0x1f);
        id.extend(connection.bytes().filter(|b| *b != 0x1f && *b != 0));
        Self { store: store.clone(), id, limits }
    }

    fn check_key(&self, key: &str) -> Result<(), KvError> {
        if key.is_empty() || key.len() > self.limits.max_key_bytes as usize {
            return Err(KvError::KeyTooLarge(self.limits.max_key_bytes));
        }
        Ok(())
    }
}

fn store_error(e: StoreFailure) -> KvError {
    tracing::error!(error = %e, "kv store failure");
    KvError::Store(e.to_string())
}

/// The namespace, or the error a call without one gets.
fn namespace(state: &CallState) -> Result<&Namespace, KvError> {
    state.kv.as_ref().ok_or_else(|| KvError::Store("no key-value store is attached to this call".into()))
}

/// What a kv call costs: its kind's price and the bytes that crossed.
fn price(base: u64, bytes: usize) -> u64 {
    fuel::CALL + base + fuel::KV_BYTE * bytes as u64
}

impl Host for CallState {
    fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, KvError> {
        let found = self.kv_get(&key);
        let bytes = key.len() + found.as_ref().map_or(0, |v| v.as_ref().map_or(0, Vec::len));
        self.charge(price(fuel::KV_READ, bytes));
        if let (Some(tape), Ok(value)) = (&self.tape, &found)
            && !tape.replaying()
        {
            tape.kv_recorded(KvOp::Get { key, value: value.as_deref().map(|v| tape.body(v)) });
        }
        found
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), KvError> {
        self.charge(price(fuel::KV_WRITE, key.len() + value.len()));
        let ns = namespace(self)?;
        ns.check_key(&key)?;
        if value.len() > ns.limits.max_value_bytes as usize {
            return Err(KvError::ValueTooLarge(ns.limits.max_value_bytes));
        }
        if let Some(tape) = &self.tape {
            if tape.replaying() {
                tape.kv_set(&key, Some(value));
                return Ok(());
            }
            tape.kv_recorded(KvOp::Set { key: key.clone(), value: tape.body(&value) });
        }
        let quota = KvQuota { bytes: ns.limits.quota_bytes, max_keys: ns.limits.max_keys };
        match ns.store.kv_set(&ns.id, &key, &value, quota).map_err(store_error)? {
            KvSet::Stored => Ok(()),
            // Too many keys is a full namespace too: the contract has one error for both.
            KvSet::OverQuota | KvSet::TooManyKeys => Err(KvError::QuotaExceeded(ns.limits.quota_bytes)),
        }
    }

    fn delete(&mut self, key: String) -> Result<(), KvError> {
        self.charge(price(fuel::KV_WRITE, key.len()));
        let ns = namespace(self)?;
        ns.check_key(&key)?;
        if let Some(tape) = &self.tape {
            if tape.replaying() {
                tape.kv_set(&key, None);
                return Ok(());
            }
            tape.kv_recorded(KvOp::Delete { key: key.clone() });
        }
        ns.store.kv_delete(&ns.id, &key).map_err(store_error)
    }

    fn list_keys(&mut self, prefix: String, limit: u32) -> Result<Vec<String>, KvError> {
        let limit = limit.min(10_000) as usize;
        let listed = match (namespace(self), &self.tape) {
            (Ok(_), Some(tape)) if tape.replaying() => Ok(tape.kv_list(&prefix, limit)),
            (Ok(ns), _) => ns.store.kv_list(&ns.id, &prefix, limit).map_err(store_error),
            (Err(e), _) => Err(e),
        };
        let bytes = prefix.len() + listed.as_ref().map_or(0, |keys| keys.iter().map(String::len).sum());
        self.charge(price(fuel::KV_READ, bytes));
        if let (Some(tape), Ok(keys)) = (&self.tape, &listed)
            && !tape.replaying()
        {
            tape.kv_recorded(KvOp::List { prefix, limit: limit as u32, keys: keys.clone() });
        }
        listed
    }
}

impl CallState {
    fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let ns = namespace(self)?;
        ns.check_key(key)?;
        match &self.tape {
            Some(tape) if tape.replaying() => Ok(tape.kv_get(key)),
            _ => ns.store.kv_get(&ns.id, key).map_err(store_error),
        }
    }
}
