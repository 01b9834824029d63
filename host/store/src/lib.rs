//! # weft-store
//!
//! Durable state in sled, behind weft's own write-ahead log.
//!
//! A data directory holds `db/` (sled) and `weft.key` (the key that seals
//! connection secrets). Trees: plugin key-value namespaces with quotas
//! (`kv`, `kv_usage`); flows and their versions; runs, step records, the run
//! queue and timers ([`runs`], implementing [`RunStore`](weft_core::run::RunStore));
//! connections with sealed secrets ([`connections`]); trigger records, hook
//! tokens and poll states ([`triggers`]); the admin token's hash (`admin`).
//! `wal/` beside `db/` holds the write-ahead log (see `wal.rs`).
//!
//! [`Db`] implements every storage trait of `weft-core`: `RunStore`,
//! `TriggerStore`, `ConnectionStore`, `KvStore` and `Store`.
//!
//! **Architecture invariant:** the only weft crate that names sled. It
//! depends on `weft-core` alone: it knows no sandbox, no flow engine and no
//! server (`cargo xtask edges` enforces it), so another backend can take its
//! place behind the same traits.

mod backup;
pub mod connections;
pub mod runs;
pub mod triggers;
mod wal;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;
pub use wal::LogStats;
pub(crate) use wal::Writes;
use weft_core::connection::Connection;
use weft_core::kv::{KvQuota, KvSet, KvStore};
use weft_core::run::{StoreFailure, StoreResult};

/// Values decoded from sled, kept in memory by key for the hot path. A miss
/// is loaded while the lock is held, and a key is forgotten after every write
/// of it, so no reader keeps a value past a change.
pub(crate) struct Decoded<V>(Arc<std::sync::Mutex<std::collections::HashMap<String, V>>>);

impl<V> Clone for Decoded<V> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<V> Default for Decoded<V> {
    fn default() -> Self {
        Self(Default::default())
    }
}

impl<V: Clone> Decoded<V> {
    /// The value under `key`, from memory or else from `load`.
    pub(crate) fn get_or_load<E>(
        &self,
        key: &str,
        load: impl FnOnce() -> Result<Option<V>, E>,
    ) -> Result<Option<V>, E> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(value) = map.get(key) {
            return Ok(Some(value.clone()));
        }
        let loaded = load()?;
        if let Some(value) = &loaded {
            map.insert(key.to_string(), value.clone());
        }
        Ok(loaded)
    }

    /// Drop `key`: call after every write of it (whether or not it succeeded).
    pub(crate) fn forget(&self, key: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

/// An error from the embedded database.
#[derive(Debug, Error)]
#[error("store: {0}")]
pub struct StoreError(String);

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError(e.to_string())
    }
}

impl From<StoreError> for StoreFailure {
    fn from(e: StoreError) -> Self {
        Self(e.0)
    }
}

/// The embedded database.
#[derive(Clone)]
pub struct Db {
    db: sled::Db,
    kv: sled::Tree,
    kv_usage: sled::Tree,
    pub(crate) trees: runs::Trees,
    triggers: sled::Tree,
    hooks: sled::Tree,
    pub(crate) trigger_state: sled::Tree,
    admin: sled::Tree,
    connections: sled::Tree,
    /// OAuth grants by connection id: an 8-byte version, then the sealed grant.
    oauth: sled::Tree,
    /// Connections with their secrets opened, and the plugin each is for.
    opened: Decoded<(String, Arc<Connection>)>,
    pub(crate) sealer: weft_core::seal::Sealer,
    /// Every write goes through the log (a temporary database's keeps no file).
    wal: Arc<wal::Wal>,
    dir: Option<PathBuf>,
}

/// How to open a data directory.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// Memory sled may keep for its page cache (sled's own default is 1 GiB).
    pub cache_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { cache_bytes: 128 << 20 }
    }
}

impl Db {
    /// Open (or create) the data directory `dir` with the default options.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, StoreOptions::default())
    }

    /// Open (or create) the data directory `dir`.
    pub fn open_with(dir: &Path, options: StoreOptions) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError(format!("cannot create the data directory {}: {e}", dir.display())))?;
        let db = open_sled(&dir.join("db"), options).map_err(|e| {
            StoreError(format!("cannot open the data directory {}: {e} (is another weft using it?)", dir.display()))
        })?;
        let sealer = weft_core::seal::Sealer::load_or_create(&dir.join("weft.key")).map_err(StoreError)?;
        let wal = wal::Wal::open(&dir.join("wal"), &db)?;
        Self::from_sled(db, sealer, wal, Some(dir.to_path_buf()))
    }

    /// A database that lives in memory and vanishes when dropped.
    pub fn temporary() -> Result<Self, StoreError> {
        Self::from_sled(
            sled::Config::new().temporary(true).open()?,
            weft_core::seal::Sealer::ephemeral(),
            wal::Wal::memory(),
            None,
        )
    }

    fn from_sled(
        db: sled::Db,
        sealer: weft_core::seal::Sealer,
        wal: wal::Wal,
        dir: Option<PathBuf>,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            kv: db.open_tree("kv")?,
            kv_usage: db.open_tree("kv_usage")?,
            trees: runs::Trees::open(&db)?,
            triggers: db.open_tree("triggers")?,
            hooks: db.open_tree("hooks")?,
            trigger_state: db.open_tree("trigger_state")?,
            admin: db.open_tree("admin")?,
            connections: db.open_tree("connections")?,
            oauth: db.open_tree("oauth")?,
            opened: Decoded::default(),
            sealer,
            wal: Arc::new(wal),
            db,
            dir,
        })
    }

    /// The data directory (`None` for a temporary database).
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The SHA-256 of the admin API token, once one was made.
    pub fn admin_token_hash(&self) -> Result<Option<[u8; 32]>, StoreError> {
        Ok(self.admin.get("token_sha256")?.and_then(|v| v.as_ref().try_into().ok()))
    }

    /// Replace the admin API token's hash (the token itself is never stored).
    pub fn set_admin_token_hash(&self, hash: [u8; 32]) -> Result<(), StoreError> {
        self.write(|w| w.insert(&self.admin, "token_sha256", &hash[..]))?;
        self.flush()
    }

    /// Write everything to disk, at once (sled's own flush; the write-ahead
    /// log's group commit, `Db::sync`, is for the hot paths).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Change the store in `f`, which makes each change through its `Writes`,
    /// and log the changes as one write-ahead log entry. Every write goes
    /// through here, one writer at a time: a read in `f` sees no other
    /// writer's half-done change, and the log's order is sled's.
    ///
    /// A change of several keys is not a sled transaction (each of those
    /// seals and writes sled's log buffer, ~300 µs of CPU): a crash between
    /// two of its writes is repaired by replaying the entry once it was
    /// synced, and before that nobody was told it happened. Writers order
    /// their changes so that any prefix is harmless: an index entry (queue,
    /// timer, hook token) is added before the record it points to and removed
    /// after, and readers drop index entries whose record disagrees.
    pub(crate) fn write<R, E: From<StoreError>>(&self, f: impl FnOnce(&mut Writes) -> Result<R, E>) -> Result<R, E> {
        self.wal.write(f)
    }

    /// What the write-ahead log has done since the store was opened.
    pub fn log_stats(&self) -> &LogStats {
        self.wal.stats()
    }

    /// Wait until everything written so far is durable (group commit: one
    /// `fdatasync` of the log for all who wait at the time).
    pub(crate) async fn sync(&self) -> Result<(), StoreError> {
        self.wal.sync().await
    }

    /// What `namespace` holds, as its quota counts it.
    pub fn kv_usage(&self, namespace: &[u8]) -> Result<KvUsage, StoreError> {
        self.write(|w| self.kv_usage_locked(w, namespace))
    }

    /// The namespace's usage, under the write lock. A namespace written by an
    /// older weft counted only keys and values: it is counted again, entry by
    /// entry, and its usage rewritten in today's form.
    fn kv_usage_locked(&self, w: &mut Writes, namespace: &[u8]) -> Result<KvUsage, StoreError> {
        let stored = self.kv_usage.get(namespace)?;
        match stored.as_deref().map(KvUsage::decode) {
            None => Ok(KvUsage::default()),
            Some(Some(usage)) => Ok(usage),
            Some(None) => {
                let skip = namespace.len() + 1;
                let mut usage = KvUsage::default();
                for entry in self.kv.scan_prefix(kv_key(namespace, "")) {
                    let (k, v) = entry?;
                    usage.bytes += KV_ENTRY_BYTES + (k.len() - skip) as u64 + v.len() as u64;
                    usage.keys += 1;
                }
                w.insert(&self.kv_usage, namespace, usage.encode())?;
                Ok(usage)
            }
        }
    }
}

// Plugins' key-value namespaces: `namespace NUL key` in tree `kv`, each
// namespace's usage in `kv_usage`, written with the data under the write lock.
impl KvStore for Db {
    /// The value under `key` in `namespace`.
    fn kv_get(&self, namespace: &[u8], key: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.kv.get(kv_key(namespace, key)).map_err(StoreError::from)?.map(|v| v.to_vec()))
    }

    /// Store `value` under `key`, keeping the namespace within `quota`: its
    /// entries' cost ([`KV_ENTRY_BYTES`] each, plus key and value) and their
    /// number. A write that would exceed either changes nothing.
    fn kv_set(&self, namespace: &[u8], key: &str, value: &[u8], quota: KvQuota) -> StoreResult<KvSet> {
        let full = kv_key(namespace, key);
        self.write(|w| {
            let used = self.kv_usage_locked(w, namespace)?;
            let old = self.kv.get(&full).map_err(StoreError::from)?.map(|v| entry_cost(key, &v));
            let mut new = KvUsage { bytes: used.bytes - old.unwrap_or(0).min(used.bytes), keys: used.keys };
            new.bytes += entry_cost(key, value);
            if old.is_none() {
                new.keys += 1;
                if new.keys > quota.max_keys {
                    return Ok(KvSet::TooManyKeys);
                }
            }
            if new.bytes > quota.bytes {
                return Ok(KvSet::OverQuota);
            }
            // A growing namespace's usage is written first and a shrinking
            // one's last, so a crash in between over-counts, never under-counts.
            let grows = new.bytes >= used.bytes;
            if grows {
                w.insert(&self.kv_usage, namespace, new.encode())?;
            }
            w.insert(&self.kv, &full, value)?;
            if !grows {
                w.insert(&self.kv_usage, namespace, new.encode())?;
            }
            Ok(KvSet::Stored)
        })
    }

    /// Remove `key`; a missing key is not an error.
    fn kv_delete(&self, namespace: &[u8], key: &str) -> StoreResult<()> {
        let full = kv_key(namespace, key);
        self.write(|w| {
            let used = self.kv_usage_locked(w, namespace)?;
            if let Some(old) = w.remove(&self.kv, &full)? {
                let left = KvUsage {
                    bytes: used.bytes.saturating_sub(entry_cost(key, &old)),
                    keys: used.keys.saturating_sub(1),
                };
                w.insert(&self.kv_usage, namespace, left.encode())?;
            }
            Ok(())
        })
    }

    /// Keys of `namespace` starting with `prefix`, in byte order, at most `limit`.
    fn kv_list(&self, namespace: &[u8], prefix: &str, limit: usize) -> StoreResult<Vec<String>> {
        let start = kv_key(namespace, prefix);
        let skip = namespace.len() + 1;
        self.kv
            .scan_prefix(start)
            .keys()
            .take(limit)
            .map(|k| Ok(String::from_utf8_lossy(&k.map_err(StoreError::from)?[skip..]).into_owned()))
            .collect()
    }
}

impl weft_core::Store for Db {
    fn backup(&self, to: &Path) -> weft_core::run::StoreResult<weft_core::BackupReport> {
        Ok(self.backup_to(to)?)
    }

    fn write_stats(&self) -> weft_core::WriteStats {
        use std::sync::atomic::Ordering::Relaxed;
        let log = self.wal.stats();
        weft_core::WriteStats {
            writes: log.entries.load(Relaxed),
            syncs: log.syncs.load(Relaxed),
            log_bytes: log.bytes.load(Relaxed),
        }
    }

    fn health(&self) -> weft_core::StoreHealth {
        weft_core::StoreHealth {
            backend: "sled",
            target: self.dir.as_ref().map_or_else(|| "memory".into(), |d| d.display().to_string()),
            error: None,
            pool: None,
        }
    }
}

pub use weft_core::kv::KV_ENTRY_BYTES;

fn entry_cost(key: &str, value: &[u8]) -> u64 {
    weft_core::kv::entry_cost(key, value.len() as u64)
}

/// What a namespace holds, as its quota counts it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KvUsage {
    pub bytes: u64,
    pub keys: u64,
}

impl KvUsage {
    fn encode(&self) -> [u8; 16] {
        let mut out = [0; 16];
        out[..8].copy_from_slice(&self.bytes.to_be_bytes());
        out[8..].copy_from_slice(&self.keys.to_be_bytes());
        out
    }

    /// `None` for a record in an older form (8 bytes: keys and values only).
    fn decode(bytes: &[u8]) -> Option<Self> {
        (bytes.len() == 16).then(|| Self { bytes: decode_u64(&bytes[..8]), keys: decode_u64(&bytes[8..]) })
    }
}

/// Open sled at `path`. sled's IO threads let go of a closed database's lock
/// a moment after its last handle is dropped (a restart in the same process,
/// a weft that is just exiting): wait up to a second for it before giving up.
fn open_sled(path: &Path, options: StoreOptions) -> sled::Result<sled::Db> {
    let mut patience = 50;
    loop {
        match sled::Config::new().path(path).cache_capacity(options.cache_bytes).open() {
            Err(e) if patience > 0 && e.to_string().contains("could not acquire lock") => {
                patience -= 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            opened => return opened,
        }
    }
}

/// Namespaces never contain NUL, so `namespace NUL key` cannot collide.
fn kv_key(namespace: &[u8], key: &str) -> Vec<u8> {
    let mut full = Vec::with_capacity(namespace.len() + 1 + key.len());
    full.extend_from_slice(namespace);
    full.push(0);
    full.extend_from_slice(key.as_bytes());
    full
}

fn decode_u64(bytes: &[u8]) -> u64 {
    bytes.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOMY: KvQuota = KvQuota { bytes: 1 << 20, max_keys: 1000 };

    #[test]
    fn quota_counts_each_entry_and_refuses_without_change() {
        let db = Db::temporary().unwrap();
        let ns = b"p\x1fc";
        let room = KvQuota { bytes: 2 * KV_ENTRY_BYTES + 20, max_keys: 10 };
        assert_eq!(db.kv_set(ns, "a", &[0; 10], room).unwrap(), KvSet::Stored);
        assert_eq!(db.kv_usage(ns).unwrap(), KvUsage { bytes: KV_ENTRY_BYTES + 11, keys: 1 });
        assert_eq!(db.kv_set(ns, "b", &[0; 10], room).unwrap(), KvSet::OverQuota, "2 entries of 11 bytes: 22 > 20");
        assert_eq!(db.kv_get(ns, "b").unwrap(), None);
        // Replacing a value counts only the difference.
        assert_eq!(db.kv_set(ns, "a", &[1; 19], room).unwrap(), KvSet::Stored);
        assert_eq!(db.kv_usage(ns).unwrap(), KvUsage { bytes: KV_ENTRY_BYTES + 20, keys: 1 });
        db.kv_delete(ns, "a").unwrap();
        assert_eq!(db.kv_usage(ns).unwrap(), KvUsage::default());
    }

    #[test]
    fn usage_written_by_an_older_weft_is_counted_again() {
        let db = Db::temporary().unwrap();
        let ns = b"p\x1fc";
        for (key, value) in [("a", &b"12345"[..]), ("bb", b"1")] {
            db.kv.insert(kv_key(ns, key), value).unwrap();
        }
        // The old form: key and value bytes only, 8 bytes.
        db.kv_usage.insert(ns, &9u64.to_be_bytes()).unwrap();
        let expected = KvUsage { bytes: 2 * KV_ENTRY_BYTES + 9, keys: 2 };
        assert_eq!(db.kv_usage(ns).unwrap(), expected);
        assert_eq!(db.kv_usage.get(ns).unwrap().unwrap().len(), 16, "rewritten in today's form");
        assert_eq!(db.kv_set(ns, "c", b"", ROOMY).unwrap(), KvSet::Stored);
        assert_eq!(db.kv_usage(ns).unwrap(), KvUsage { bytes: expected.bytes + KV_ENTRY_BYTES + 1, keys: 3 });
    }
}

/// What every backend must do (`weft-store-suite`), on the embedded store.
#[cfg(test)]
mod suite {
    use crate::Db;
    weft_store_suite::suite!(Db::temporary().unwrap());
}
