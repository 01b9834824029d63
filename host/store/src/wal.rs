//! The write-ahead log: what makes a write durable before weft acknowledges it.
//!
//! Every write to sled goes through [`Wal::write`]: under one lock, the
//! caller changes sled and records the same changes, and the log appends them
//! as one entry (`len, crc32, seq, ops`) to an in-memory buffer. A waiter
//! ([`Wal::sync`]) wakes the log's thread, which appends everything buffered
//! to the current segment file with one `write` and one `fdatasync`, and then
//! releases every waiter whose entry that covered: group commit, many events
//! per `fdatasync`. sled's own flush (an IO-thread round trip per call, about
//! 300 µs of CPU on the benchmark machine) is left to checkpoints.
//!
//! sled learns the sequence number of the last entry applied to it (the
//! `wal` tree, written after the entry's changes, under the same lock), so
//! after a crash the log replays exactly the entries sled is missing, in
//! order, whether sled's own recovery came out behind or ahead of the log.
//!
//! Segments (`<data-dir>/wal/<first seq>.log`) rotate at [`SEGMENT_BYTES`]; a
//! rotated segment is deleted once a sled flush has made everything in it
//! durable there (a checkpoint, on its own thread).
//!
//! A segment is zero-filled ahead of its entries, [`ZERO_AHEAD`] at a time,
//! so a commit writes inside the file and never changes its size. An append
//! that grows the file makes `fdatasync` write the inode (and, on ext4, the
//! new block's allocation) as well as the data: on the benchmark machine
//! that doubled the time and CPU of every commit. Replay stops a segment at
//! its first entry that does not check out (the zeros, or a torn tail) and
//! goes on with the next segment only where that one continues the
//! sequence numbers.

use super::StoreError;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// A segment this long is rotated out and checkpointed.
const SEGMENT_BYTES: u64 = 64 << 20;
/// How far ahead of its entries a segment is zero-filled at a time.
const ZERO_AHEAD: u64 = 1 << 20;
/// Buffered entries nobody waits for still reach the file this often.
const IDLE_WRITE: Duration = Duration::from_millis(100);
/// A buffer grown past this by a burst of writes is replaced by a small one.
const SPARE_BYTES: usize = 4 << 20;
const META_KEY: &[u8] = b"applied";
const REMOVED: u32 = u32::MAX;

/// The changes one [`Wal::write`] made, encoded as they are logged.
#[derive(Default)]
pub(crate) struct Writes {
    ops: Vec<u8>,
}

impl Writes {
    /// Insert into `tree` and record it.
    pub(crate) fn insert(
        &mut self,
        tree: &sled::Tree,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<Option<sled::IVec>, StoreError> {
        let (key, value) = (key.as_ref(), value.as_ref());
        let old = tree.insert(key, value)?;
        self.op(&tree.name(), key, Some(value));
        Ok(old)
    }

    /// Remove from `tree` and record it.
    pub(crate) fn remove(
        &mut self,
        tree: &sled::Tree,
        key: impl AsRef<[u8]>,
    ) -> Result<Option<sled::IVec>, StoreError> {
        let key = key.as_ref();
        let old = tree.remove(key)?;
        if old.is_some() {
            self.op(&tree.name(), key, None);
        }
        Ok(old)
    }

    fn op(&mut self, tree: &[u8], key: &[u8], value: Option<&[u8]>) {
        let tree = &tree[..tree.len().min(255)];
        self.ops.push(tree.len() as u8);
        self.ops.extend_from_slice(tree);
        self.ops.extend_from_slice(&(key.len() as u32).to_le_bytes());
        self.ops.extend_from_slice(key);
        match value {
            Some(v) => {
                self.ops.extend_from_slice(&(v.len() as u32).to_le_bytes());
                self.ops.extend_from_slice(v);
            }
            None => self.ops.extend_from_slice(&REMOVED.to_le_bytes()),
        }
    }
}

/// What the log's thread reports: the last durable sequence number, or why it stopped.
type Synced = Result<u64, Arc<str>>;

struct State {
    /// Encoded entries not yet handed to the file.
    buf: Vec<u8>,
    next_seq: u64,
    /// The highest sequence number somebody waits for.
    wanted: u64,
    shutdown: bool,
    /// While a backup copies the store: every entry logged since it began
    /// (`seq`, length, ops), to redo on the copy.
    tap: Option<Vec<u8>>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    synced: tokio::sync::watch::Sender<Synced>,
    stats: LogStats,
}

/// What the log has done since the process started (for `/metrics`).
#[derive(Debug, Default)]
pub struct LogStats {
    /// Writes that changed something: one log entry each.
    pub entries: AtomicU64,
    /// `fdatasync`s of the log (each makes every entry before it durable).
    pub syncs: AtomicU64,
    /// Bytes appended to the log.
    pub bytes: AtomicU64,
}

/// The log of one data directory.
pub(crate) struct Wal {
    shared: Arc<Shared>,
    /// Where sled keeps the last applied sequence number; `None` for a
    /// temporary store, whose writes still take turns but are not logged.
    meta: Option<sled::Tree>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Wal {
    /// Turn-taking without a log, for a store that lives in memory.
    pub(crate) fn memory() -> Self {
        let (synced, _) = tokio::sync::watch::channel(Ok(0));
        let state = State { buf: Vec::new(), next_seq: 1, wanted: 0, shutdown: false, tap: None };
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                wake: Condvar::new(),
                synced,
                stats: LogStats::default(),
            }),
            meta: None,
            thread: Mutex::new(None),
        }
    }

    /// Open the log in `dir` for `db`: replay what sled is missing, make sled
    /// durable, start a fresh segment and the log's thread.
    pub(crate) fn open(dir: &Path, db: &sled::Db) -> Result<Self, StoreError> {
        Self::open_with(dir, db, SEGMENT_BYTES)
    }

    fn open_with(dir: &Path, db: &sled::Db, segment_bytes: u64) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| io_error("create", dir, e))?;
        let meta = db.open_tree("wal")?;
        let applied = meta.get(META_KEY)?.map_or(0, |v| decode_u64(&v));
        let last = replay(dir, db, &meta, applied)?;
        let next_seq = applied.max(last) + 1;
        db.flush()?;
        for old in segments(dir)? {
            std::fs::remove_file(&old).map_err(|e| io_error("remove", &old, e))?;
        }
        let path = segment_path(dir, next_seq);
        let file = new_segment(&path)?;
        let (synced, _) = tokio::sync::watch::channel(Ok(next_seq - 1));
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                buf: Vec::with_capacity(1 << 16),
                next_seq,
                wanted: 0,
                shutdown: false,
                tap: None,
            }),
            wake: Condvar::new(),
            synced,
            stats: LogStats::default(),
        });
        let syncer = Syncer {
            shared: shared.clone(),
            dir: dir.to_path_buf(),
            file,
            path,
            len: 0,
            filled: 0,
            segment_bytes,
            db: db.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("weft-wal".into())
            .spawn(move || syncer.run())
            .map_err(|e| StoreError(format!("cannot start the write-ahead log's thread: {e}")))?;
        Ok(Self { shared, meta: Some(meta), thread: Mutex::new(Some(thread)) })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run `f`, which changes sled and records its changes in `Writes`, and
    /// log those changes as one entry. Writers take turns, so the log's order
    /// is sled's order. What `f` recorded is logged even when it then failed.
    pub(crate) fn write<R, E: From<StoreError>>(&self, f: impl FnOnce(&mut Writes) -> Result<R, E>) -> Result<R, E> {
        let mut state = self.state();
        let mut writes = Writes::default();
        let result = f(&mut writes);
        if !writes.ops.is_empty() {
            self.shared.stats.entries.fetch_add(1, Ordering::Relaxed);
        }
        // Once the log has failed nothing is acknowledged any more (`sync`
        // reports the failure); the buffer must not grow without its thread.
        if let Some(meta) = &self.meta
            && !writes.ops.is_empty()
            && self.shared.synced.borrow().is_ok()
        {
            let seq = state.next_seq;
            state.next_seq += 1;
            // The body goes straight into the buffer; its length and CRC are filled in after.
            let start = state.buf.len();
            state.buf.extend_from_slice(&[0; 8]);
            state.buf.extend_from_slice(&seq.to_le_bytes());
            state.buf.extend_from_slice(&writes.ops);
            let body = &state.buf[start + 8..];
            let (len, crc) = ((body.len() as u32).to_le_bytes(), crc32fast::hash(body).to_le_bytes());
            state.buf[start..start + 4].copy_from_slice(&len);
            state.buf[start + 4..start + 8].copy_from_slice(&crc);
            meta.insert(META_KEY, &seq.to_be_bytes()).map_err(StoreError::from)?;
            if let Some(tap) = &mut state.tap {
                tap.extend_from_slice(&seq.to_le_bytes());
                tap.extend_from_slice(&(writes.ops.len() as u64).to_le_bytes());
                tap.extend_from_slice(&writes.ops);
            }
        }
        result
    }

    /// Begin keeping a copy of every entry logged from now on (a backup is
    /// copying the store).
    pub(crate) fn start_tap(&self) -> Result<(), StoreError> {
        if self.meta.is_none() {
            return Err(StoreError("a store in memory has nothing to back up".into()));
        }
        let mut state = self.state();
        if state.tap.is_some() {
            return Err(StoreError("a backup is already running".into()));
        }
        state.tap = Some(Vec::new());
        Ok(())
    }

    /// Stop keeping entries: the last sequence number logged, and the entries kept.
    pub(crate) fn end_tap(&self) -> (u64, Vec<u8>) {
        let mut state = self.state();
        let tapped = state.tap.take().unwrap_or_default();
        (state.next_seq - 1, tapped)
    }

    pub(crate) fn stats(&self) -> &LogStats {
        &self.shared.stats
    }

    /// Wait until every entry logged so far is on disk.
    pub(crate) async fn sync(&self) -> Result<(), StoreError> {
        if self.meta.is_none() {
            return Ok(());
        }
        let target = {
            let mut state = self.state();
            let target = state.next_seq - 1;
            if target > state.wanted {
                state.wanted = target;
                self.shared.wake.notify_one();
            }
            target
        };
        let mut synced = self.shared.synced.subscribe();
        let reached = synced
            .wait_for(|s| s.as_ref().map_or(true, |done| *done >= target))
            .await
            .map_err(|_| StoreError("the write-ahead log stopped".into()))?;
        match &*reached {
            Ok(_) => Ok(()),
            Err(why) => Err(StoreError(format!("the write-ahead log failed: {why}"))),
        }
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        self.state().shutdown = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = thread.join();
        }
    }
}

/// The log's thread: appends and syncs, rotates segments, starts checkpoints.
struct Syncer {
    shared: Arc<Shared>,
    dir: PathBuf,
    file: File,
    path: PathBuf,
    /// Where the next entry goes: the bytes of entries in the segment.
    len: u64,
    /// How much of the segment is zero-filled: its size, `len` or more.
    filled: u64,
    segment_bytes: u64,
    db: sled::Db,
}

impl Syncer {
    fn run(mut self) {
        let mut spare = Vec::with_capacity(1 << 16);
        let mut durable = self.shared.synced.borrow().as_ref().copied().unwrap_or(0);
        let mut checkpoints: Vec<JoinHandle<()>> = Vec::new();
        loop {
            let (upto, shutdown) = {
                let mut state = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
                while state.wanted <= durable && !state.shutdown {
                    let (next, timeout) =
                        self.shared.wake.wait_timeout(state, IDLE_WRITE).unwrap_or_else(|p| p.into_inner());
                    state = next;
                    if timeout.timed_out() && !state.buf.is_empty() {
                        break;
                    }
                }
                std::mem::swap(&mut state.buf, &mut spare);
                (state.next_seq - 1, state.shutdown)
            };
            if let Err(e) = self.append(&spare) {
                let why: Arc<str> = Arc::from(e.0.as_str());
                tracing::error!(error = %why, "the write-ahead log failed; weft can no longer acknowledge durably");
                let _previous = self.shared.synced.send_replace(Err(why));
                break;
            }
            spare.clear();
            if spare.capacity() > SPARE_BYTES {
                // A burst of writes grew the buffer: give the memory back.
                spare = Vec::with_capacity(1 << 16);
            }
            durable = upto;
            let _previous = self.shared.synced.send_replace(Ok(upto));
            if shutdown {
                break;
            }
            if self.len >= self.segment_bytes {
                match self.rotate(upto + 1) {
                    Ok(old) => {
                        checkpoints.retain(|c| !c.is_finished());
                        let db = self.db.clone();
                        checkpoints.push(std::thread::spawn(move || checkpoint(&db, &old)));
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot rotate the write-ahead log; the segment grows on"),
                }
            }
        }
        for c in checkpoints {
            let _ = c.join();
        }
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        if bytes.is_empty() {
            return Ok(());
        }
        let end = self.len + bytes.len() as u64;
        if end > self.filled {
            // Grow the file now, once for many commits, rather than at each.
            let filled = end.div_ceil(self.zero_ahead()) * self.zero_ahead();
            let zeros = vec![0u8; (filled - self.filled) as usize];
            let extend = |file: &mut File| {
                file.seek(SeekFrom::Start(self.filled))?;
                file.write_all(&zeros)?;
                file.seek(SeekFrom::Start(self.len)).map(drop)
            };
            extend(&mut self.file).map_err(|e| io_error("extend", &self.path, e))?;
            self.filled = filled;
        }
        // The file's cursor is at `len`.
        self.file.write_all(bytes).map_err(|e| io_error("write", &self.path, e))?;
        self.file.sync_data().map_err(|e| io_error("sync", &self.path, e))?;
        self.len = end;
        self.shared.stats.syncs.fetch_add(1, Ordering::Relaxed);
        self.shared.stats.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// A segment's zero-filled part grows by this much at a time.
    fn zero_ahead(&self) -> u64 {
        ZERO_AHEAD.min(self.segment_bytes).max(1)
    }

    /// Start a new segment whose first entry will be `first`; the old one's path.
    fn rotate(&mut self, first: u64) -> Result<PathBuf, StoreError> {
        // Entries buffered meanwhile carry higher numbers: they go to the new segment.
        let path = segment_path(&self.dir, first);
        let file = new_segment(&path)?;
        self.file = file;
        self.len = 0;
        self.filled = 0;
        Ok(std::mem::replace(&mut self.path, path))
    }
}

/// Make sled durable, which covers every entry of the rotated segment `old`
/// (each was applied to sled before it was logged), then delete it.
fn checkpoint(db: &sled::Db, old: &Path) {
    match db.flush() {
        Ok(_) => {
            if let Err(e) = std::fs::remove_file(old) {
                tracing::warn!(segment = %old.display(), error = %e, "cannot remove a checkpointed log segment");
            }
        }
        Err(e) => tracing::warn!(error = %e, "checkpoint: sled flush failed; the segment is kept"),
    }
}

/// Apply the entries after `applied` from the segments in `dir`, in order,
/// stopping at the first torn or stale entry; the last sequence number read.
fn replay(dir: &Path, db: &sled::Db, meta: &sled::Tree, applied: u64) -> Result<u64, StoreError> {
    let mut trees: HashMap<Vec<u8>, sled::Tree> = HashMap::new();
    let mut last = 0u64;
    let mut replayed = 0usize;
    'segments: for path in segments(dir)? {
        let bytes = std::fs::read(&path).map_err(|e| io_error("read", &path, e))?;
        let mut at = 0usize;
        while let Some((seq, ops, next)) = entry(&bytes, at) {
            if last != 0 && seq != last + 1 {
                break 'segments;
            }
            last = seq;
            at = next;
            if seq <= applied {
                continue;
            }
            apply(db, &mut trees, ops)
                .ok_or_else(|| StoreError(format!("{}: entry {seq} is malformed", path.display())))??;
            meta.insert(META_KEY, &seq.to_be_bytes())?;
            replayed += 1;
        }
        // The segment's entries end here: at its zero-filled rest, or at a
        // torn tail (the crash came while it was being written, so nobody was
        // told it was durable). The next segment is replayed only if it
        // continues the sequence numbers.
    }
    if replayed > 0 {
        tracing::info!(entries = replayed, "replayed the write-ahead log into the store");
    }
    Ok(last)
}

/// The entry at `at`: its sequence number, its ops and where the next begins.
fn entry(bytes: &[u8], at: usize) -> Option<(u64, &[u8], usize)> {
    let len = u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(bytes.get(at + 4..at + 8)?.try_into().ok()?);
    let body = bytes.get(at + 8..at + 8 + len)?;
    if len < 8 || crc32fast::hash(body) != crc {
        return None;
    }
    let seq = u64::from_le_bytes(body[..8].try_into().ok()?);
    Some((seq, &body[8..], at + 8 + len))
}

fn apply(db: &sled::Db, trees: &mut HashMap<Vec<u8>, sled::Tree>, mut ops: &[u8]) -> Option<Result<(), StoreError>> {
    fn take<'a>(ops: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (ops.get(..n)?, ops.get(n..)?);
        *ops = rest;
        Some(head)
    }
    fn len(ops: &mut &[u8]) -> Option<u32> {
        Some(u32::from_le_bytes(take(ops, 4)?.try_into().ok()?))
    }
    while !ops.is_empty() {
        let name_len = take(&mut ops, 1)?[0] as usize;
        let name = take(&mut ops, name_len)?;
        let key_len = len(&mut ops)? as usize;
        let key = take(&mut ops, key_len)?;
        let value = match len(&mut ops)? {
            REMOVED => None,
            n => Some(take(&mut ops, n as usize)?),
        };
        let tree = match trees.get(name) {
            Some(tree) => tree,
            None => match db.open_tree(name) {
                Ok(tree) => trees.entry(name.to_vec()).or_insert(tree),
                Err(e) => return Some(Err(e.into())),
            },
        };
        let done = match value {
            Some(v) => tree.insert(key, v).map(drop),
            None => tree.remove(key).map(drop),
        };
        if let Err(e) = done {
            return Some(Err(e.into()));
        }
    }
    Some(Ok(()))
}

/// Apply entries a tap kept ([`Wal::end_tap`]) to `db`, in order; how many.
pub(crate) fn redo(db: &sled::Db, mut tapped: &[u8]) -> Result<usize, StoreError> {
    let mut trees = HashMap::new();
    let mut applied = 0;
    while !tapped.is_empty() {
        let malformed = || StoreError("a kept log entry is malformed".into());
        let head = tapped.get(..16).ok_or_else(malformed)?;
        let len = u64::from_le_bytes(head[8..16].try_into().map_err(|_| malformed())?) as usize;
        let ops = tapped.get(16..16 + len).ok_or_else(malformed)?;
        apply(db, &mut trees, ops).ok_or_else(malformed)??;
        tapped = &tapped[16 + len..];
        applied += 1;
    }
    Ok(applied)
}

/// Record in `db` that it holds every entry up to `seq` (a backup's copy).
pub(crate) fn mark_applied(db: &sled::Db, seq: u64) -> Result<(), StoreError> {
    db.open_tree("wal")?.insert(META_KEY, &seq.to_be_bytes())?;
    Ok(())
}

fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{first:020}.log"))
}

/// The segment files in `dir`, oldest first.
fn segments(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io_error("list", dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    found.sort();
    Ok(found)
}

fn new_segment(path: &Path) -> Result<File, StoreError> {
    // Not `append`: entries are written at their offset into the zero-filled part.
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(path)
        .map_err(|e| io_error("create", path, e))?;
    // The new name must survive a crash too.
    if let Some(dir) = path.parent() {
        File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_error("sync", dir, e))?;
    }
    Ok(file)
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError(format!("write-ahead log: cannot {what} {}: {e}", path.display()))
}

fn decode_u64(bytes: &[u8]) -> u64 {
    bytes.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path) -> (sled::Db, Wal) {
        let db = super::super::open_sled(&dir.join("db"), Default::default()).unwrap();
        let wal = Wal::open(&dir.join("wal"), &db).unwrap();
        (db, wal)
    }

    #[tokio::test]
    async fn synced_entries_are_replayed_into_a_store_that_lost_them() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (db, wal) = open(dir.path());
            let tree = db.open_tree("t").unwrap();
            wal.write(|w| w.insert(&tree, b"a", b"1")).unwrap();
            wal.write(|w| {
                w.insert(&tree, b"b", b"2")?;
                w.remove(&tree, b"a")?;
                Ok::<_, StoreError>(())
            })
            .unwrap();
            wal.write(|_| Ok::<_, StoreError>(())).unwrap();
            wal.sync().await.unwrap();
            let stats = wal.stats();
            assert_eq!(stats.entries.load(Ordering::Relaxed), 2, "a write that changes nothing logs nothing");
            assert!(stats.syncs.load(Ordering::Relaxed) >= 1);
            assert!(stats.bytes.load(Ordering::Relaxed) > 2 * 16);
            // The log is durable; sled is not flushed. Simulate sled losing its
            // recent writes: undo them behind the log's back and roll back `applied`.
            tree.insert(b"a", b"stale").unwrap();
            tree.remove(b"b").unwrap();
            db.open_tree("wal").unwrap().insert(META_KEY, &0u64.to_be_bytes()).unwrap();
            drop(wal);
            db.flush().unwrap();
        }
        let (db, _wal) = open(dir.path());
        let tree = db.open_tree("t").unwrap();
        assert_eq!(tree.get(b"a").unwrap(), None, "the removal is replayed");
        assert_eq!(tree.get(b"b").unwrap().as_deref(), Some(&b"2"[..]));
    }

    #[tokio::test]
    async fn entries_sled_already_has_are_not_replayed_over_newer_values() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (db, wal) = open(dir.path());
            let tree = db.open_tree("t").unwrap();
            wal.write(|w| w.insert(&tree, b"k", b"old")).unwrap();
            wal.sync().await.unwrap();
            // sled is ahead: a later write it persisted that the log never synced.
            tree.insert(b"k", b"new").unwrap();
            db.open_tree("wal").unwrap().insert(META_KEY, &1u64.to_be_bytes()).unwrap();
            drop(wal);
            db.flush().unwrap();
        }
        let (db, _wal) = open(dir.path());
        assert_eq!(db.open_tree("t").unwrap().get(b"k").unwrap().as_deref(), Some(&b"new"[..]));
    }

    #[tokio::test]
    async fn full_segments_are_checkpointed_away_and_the_rest_replays() {
        let dir = tempfile::tempdir().unwrap();
        let db = super::super::open_sled(&dir.path().join("db"), Default::default()).unwrap();
        let wal = Wal::open_with(&dir.path().join("wal"), &db, 4096).unwrap();
        let tree = db.open_tree("t").unwrap();
        for i in 0..2_000u32 {
            wal.write(|w| w.insert(&tree, i.to_be_bytes(), [7u8; 100])).unwrap();
            if i % 50 == 0 {
                wal.sync().await.unwrap();
            }
        }
        wal.sync().await.unwrap();
        // ~220 KiB of entries in 4 KiB segments: rotated ones are deleted once sled was flushed.
        let mut left = usize::MAX;
        for _ in 0..100 {
            left = segments(&dir.path().join("wal")).unwrap().len();
            if left <= 3 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(left <= 3, "{left} segments left");
        drop(wal);
        drop(tree);
        drop(db);
        let (db, _wal) = open(dir.path());
        assert_eq!(db.open_tree("t").unwrap().len(), 2_000);
    }

    /// One encoded log entry: `seq` inserting `key` = `value` into tree `t`.
    fn encoded(seq: u64, key: &[u8], value: &[u8]) -> Vec<u8> {
        let mut w = Writes::default();
        w.op(b"t", key, Some(value));
        let mut body = seq.to_le_bytes().to_vec();
        body.extend_from_slice(&w.ops);
        let mut bytes = (body.len() as u32).to_le_bytes().to_vec();
        bytes.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        bytes.extend_from_slice(&body);
        bytes
    }

    #[test]
    fn a_torn_tail_ends_the_replay() {
        let dir = tempfile::tempdir().unwrap();
        let wal_dir = dir.path().join("wal");
        std::fs::create_dir_all(&wal_dir).unwrap();
        let mut bytes = encoded(1, b"a", b"1");
        let second = encoded(2, b"b", b"2");
        bytes.extend_from_slice(&second[..second.len() - 1]);
        std::fs::write(segment_path(&wal_dir, 1), &bytes).unwrap();
        let (db, wal) = open(dir.path());
        assert_eq!(db.open_tree("t").unwrap().get(b"a").unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(db.open_tree("t").unwrap().get(b"b").unwrap(), None);
        assert_eq!(wal.state().next_seq, 2, "the torn second entry is not counted");
    }

    #[tokio::test]
    async fn commits_write_inside_the_zero_filled_segment_without_growing_it() {
        let dir = tempfile::tempdir().unwrap();
        let (db, wal) = open(dir.path());
        let tree = db.open_tree("t").unwrap();
        let size = || {
            let files = segments(&dir.path().join("wal")).unwrap();
            assert_eq!(files.len(), 1);
            std::fs::metadata(&files[0]).unwrap().len()
        };
        wal.write(|w| w.insert(&tree, b"first", [1u8; 100])).unwrap();
        wal.sync().await.unwrap();
        assert_eq!(size(), ZERO_AHEAD, "the first commit zero-fills ahead");
        for i in 0..50u32 {
            wal.write(|w| w.insert(&tree, i.to_be_bytes(), [2u8; 100])).unwrap();
            wal.sync().await.unwrap();
        }
        assert_eq!(size(), ZERO_AHEAD, "later commits write into the zeros");
        assert!(wal.stats().bytes.load(Ordering::Relaxed) < ZERO_AHEAD);
        // Past the zero-filled part, the file grows by another step.
        wal.write(|w| w.insert(&tree, b"big", vec![3u8; ZERO_AHEAD as usize])).unwrap();
        wal.sync().await.unwrap();
        assert_eq!(size(), 2 * ZERO_AHEAD);
        // sled loses everything; the log, zeros and all, brings it back.
        db.open_tree("wal").unwrap().insert(META_KEY, &0u64.to_be_bytes()).unwrap();
        tree.clear().unwrap();
        drop(wal);
        db.flush().unwrap();
        drop(tree);
        drop(db);
        let (db, wal) = open(dir.path());
        let tree = db.open_tree("t").unwrap();
        assert_eq!(tree.len(), 52);
        assert_eq!(tree.get(b"big").unwrap().map(|v| v.len()), Some(ZERO_AHEAD as usize));
        assert_eq!(wal.state().next_seq, 53);
    }

    #[test]
    fn replay_goes_past_a_segments_zeros_only_into_a_segment_that_continues_it() {
        let dir = tempfile::tempdir().unwrap();
        let wal_dir = dir.path().join("wal");
        std::fs::create_dir_all(&wal_dir).unwrap();
        let segment = |first: u64, entries: &[(u64, &[u8])]| {
            let mut bytes: Vec<u8> = entries.iter().flat_map(|(seq, key)| encoded(*seq, key, b"v")).collect();
            bytes.resize(8192, 0);
            std::fs::write(segment_path(&wal_dir, first), bytes).unwrap();
        };
        segment(1, &[(1, b"a"), (2, b"b")]);
        segment(3, &[(3, b"c")]);
        // A gap: entry 4 is missing, so nothing from here on can be trusted.
        segment(5, &[(5, b"e")]);
        let (db, wal) = open(dir.path());
        let tree = db.open_tree("t").unwrap();
        let keys: Vec<_> = tree.iter().keys().map(|k| k.unwrap().to_vec()).collect();
        assert_eq!(keys, [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        assert_eq!(wal.state().next_seq, 4);
    }
}
