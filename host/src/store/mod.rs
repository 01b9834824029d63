//! Durable state in sled. The only module that names sled.
//!
//! A data directory holds `db/` (sled) and `weft.key` (the key that seals
//! connection secrets). Trees: plugin key-value namespaces with quotas
//! (`kv`, `kv_usage`); flows and their versions; runs, step records, the run
//! queue and timers ([`runs`], implementing [`crate::flow::run::RunStore`]);
//! connections with sealed secrets ([`connections`]); trigger records, hook
//! tokens and poll states ([`triggers`]); the admin token's hash (`admin`).

pub mod connections;
pub mod runs;
pub mod triggers;
mod wal;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;
pub use wal::LogStats;
pub(crate) use wal::Writes;

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

impl From<StoreError> for crate::flow::run::StoreFailure {
    fn from(e: StoreError) -> Self {
        Self(e.0)
    }
}

impl From<sled::Error> for crate::flow::run::StoreFailure {
    fn from(e: sled::Error) -> Self {
        Self(e.to_string())
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
    /// Connections with their secrets opened, and the plugin each is for.
    opened: Decoded<(String, Arc<crate::caps::Connection>)>,
    pub(crate) sealer: connections::Sealer,
    /// Every write goes through the log (a temporary database's keeps no file).
    wal: Arc<wal::Wal>,
    dir: Option<PathBuf>,
}

impl Db {
    /// Open (or create) the data directory `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError(format!("cannot create the data directory {}: {e}", dir.display())))?;
        let db = open_sled(&dir.join("db")).map_err(|e| {
            StoreError(format!("cannot open the data directory {}: {e} (is another weft using it?)", dir.display()))
        })?;
        let sealer = connections::Sealer::load_or_create(&dir.join("weft.key"))?;
        let wal = wal::Wal::open(&dir.join("wal"), &db)?;
        Self::from_sled(db, sealer, wal, Some(dir.to_path_buf()))
    }

    /// A database that lives in memory and vanishes when dropped.
    pub fn temporary() -> Result<Self, StoreError> {
        Self::from_sled(
            sled::Config::new().temporary(true).open()?,
            connections::Sealer::ephemeral(),
            wal::Wal::memory(),
            None,
        )
    }

    fn from_sled(
        db: sled::Db,
        sealer: connections::Sealer,
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
        self.write(|w| w.insert(&self.admin, "token_sha256", &hash[..]).map_err(StoreError::from))?;
        self.flush()
    }

    /// Write everything to disk, at once (sled's own flush; the write-ahead
    /// log's group commit, [`Db::sync`], is for the hot paths).
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

    /// The value under `key` in `namespace`.
    pub fn kv_get(&self, namespace: &[u8], key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.kv.get(kv_key(namespace, key))?.map(|v| v.to_vec()))
    }

    /// Store `value` under `key`, keeping the namespace within `quota` bytes
    /// (keys plus values). Returns `Ok(false)`, changing nothing, when the write
    /// would exceed the quota.
    pub fn kv_set(&self, namespace: &[u8], key: &str, value: &[u8], quota: u64) -> Result<bool, StoreError> {
        let full = kv_key(namespace, key);
        self.write(|w| {
            let used = self.kv_usage.get(namespace)?.map_or(0, |v| decode_u64(&v));
            let old = self.kv.get(&full)?.map_or(0, |v| (key.len() + v.len()) as u64);
            let new_used = used - old.min(used) + (key.len() + value.len()) as u64;
            if new_used > quota {
                return Ok(false);
            }
            // A growing namespace's usage is written first and a shrinking
            // one's last, so a crash in between over-counts, never under-counts.
            let grows = new_used >= used;
            if grows {
                w.insert(&self.kv_usage, namespace, new_used.to_be_bytes())?;
            }
            w.insert(&self.kv, &full, value)?;
            if !grows {
                w.insert(&self.kv_usage, namespace, new_used.to_be_bytes())?;
            }
            Ok(true)
        })
    }

    /// Remove `key`; a missing key is not an error.
    pub fn kv_delete(&self, namespace: &[u8], key: &str) -> Result<(), StoreError> {
        let full = kv_key(namespace, key);
        self.write(|w| {
            if let Some(old) = w.remove(&self.kv, &full)? {
                let used = self.kv_usage.get(namespace)?.map_or(0, |v| decode_u64(&v));
                let left = used.saturating_sub((key.len() + old.len()) as u64);
                w.insert(&self.kv_usage, namespace, left.to_be_bytes())?;
            }
            Ok(())
        })
    }

    /// Keys of `namespace` starting with `prefix`, in byte order, at most `limit`.
    pub fn kv_list(&self, namespace: &[u8], prefix: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let start = kv_key(namespace, prefix);
        let skip = namespace.len() + 1;
        self.kv
            .scan_prefix(start)
            .keys()
            .take(limit)
            .map(|k| Ok(String::from_utf8_lossy(&k?[skip..]).into_owned()))
            .collect()
    }

    /// Bytes (keys plus values) held by `namespace`.
    pub fn kv_usage(&self, namespace: &[u8]) -> Result<u64, StoreError> {
        Ok(self.kv_usage.get(namespace)?.map_or(0, |v| decode_u64(&v)))
    }
}

/// Open sled at `path`. sled's IO threads let go of a closed database's lock
/// a moment after its last handle is dropped (a restart in the same process,
/// a weft that is just exiting): wait up to a second for it before giving up.
fn open_sled(path: &Path) -> sled::Result<sled::Db> {
    let mut patience = 50;
    loop {
        match sled::Config::new().path(path).open() {
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

    #[test]
    fn quota_counts_keys_and_values_and_refuses_without_change() {
        let db = Db::temporary().unwrap();
        let ns = b"p\x1fc";
        assert!(db.kv_set(ns, "a", &[0; 10], 20).unwrap());
        assert_eq!(db.kv_usage(ns).unwrap(), 11);
        assert!(!db.kv_set(ns, "b", &[0; 10], 20).unwrap(), "12 more bytes would make 23 > 20");
        assert_eq!(db.kv_get(ns, "b").unwrap(), None);
        // Replacing a value counts only the difference.
        assert!(db.kv_set(ns, "a", &[1; 19], 20).unwrap());
        assert_eq!(db.kv_usage(ns).unwrap(), 20);
        db.kv_delete(ns, "a").unwrap();
        assert_eq!(db.kv_usage(ns).unwrap(), 0);
    }

    #[test]
    fn namespaces_do_not_see_each_other() {
        let db = Db::temporary().unwrap();
        db.kv_set(b"one", "k", b"1", 100).unwrap();
        db.kv_set(b"one-two", "k", b"2", 100).unwrap();
        assert_eq!(db.kv_get(b"one", "k").unwrap().unwrap(), b"1");
        assert_eq!(db.kv_list(b"one", "", 10).unwrap(), vec!["k".to_string()]);
    }
}
