//! An online backup of a data directory: a copy that is the store as it was
//! at one moment, taken while weft serves.
//!
//! The trees are copied as they are, without stopping writers; the
//! write-ahead log meanwhile keeps every entry logged after the copy began
//! (a tap), and those are applied again to the copy, in order, once it is
//! done. A key the copy read before a later write ends with that write's
//! value; a key nobody wrote meanwhile was read as it is. So the copy is the
//! store as of the last entry kept, every write before it included, and the
//! copy records that sequence number so weft opens it like any data
//! directory. Writers wait only for the moments the tap starts and stops.

use super::{Db, StoreError, wal};
use std::path::Path;
use std::time::Instant;
use weft_core::BackupReport;

/// Keys inserted into the copy per batch.
const BATCH: usize = 10_000;

impl Db {
    /// Copy this data directory into `to`, which must not exist or be empty.
    pub fn backup_to(&self, to: &Path) -> Result<BackupReport, StoreError> {
        let started = Instant::now();
        let Some(dir) = &self.dir else { return Err(StoreError("a store in memory has nothing to back up".into())) };
        if to.exists() && std::fs::read_dir(to).map_err(|e| io(to, e))?.next().is_some() {
            return Err(StoreError(format!("{} is not empty: a backup goes into a new folder", to.display())));
        }
        if to.starts_with(dir) {
            return Err(StoreError(format!("{} is inside the data directory it would copy", to.display())));
        }
        std::fs::create_dir_all(to).map_err(|e| io(to, e))?;
        let copy = sled::Config::new().path(to.join("db")).open()?;
        self.wal.start_tap()?;
        let copied = copy_trees(&self.db, &copy);
        let (last, tapped) = self.wal.end_tap();
        let entries = copied?;
        let redone = wal::redo(&copy, &tapped)?;
        wal::mark_applied(&copy, last)?;
        copy.flush()?;
        drop(copy);
        // The key the secrets are sealed under, and the plugin versions runs use.
        std::fs::copy(dir.join("weft.key"), to.join("weft.key")).map_err(|e| io(&dir.join("weft.key"), e))?;
        let mut files = 0;
        for folder in ["versions", "plugins"] {
            files += copy_files(&dir.join(folder), &to.join(folder))?;
        }
        Ok(BackupReport {
            path: to.display().to_string(),
            entries,
            redone: redone as u64,
            seq: last,
            files,
            took_ms: started.elapsed().as_millis() as u64,
        })
    }
}

/// Copy every tree of `from` into `to`; how many keys.
fn copy_trees(from: &sled::Db, to: &sled::Db) -> Result<u64, StoreError> {
    let mut entries = 0;
    for name in from.tree_names() {
        let (source, target) = (from.open_tree(&name)?, to.open_tree(&name)?);
        let mut batch = sled::Batch::default();
        let mut held = 0;
        for pair in source.iter() {
            let (key, value) = pair?;
            batch.insert(key, value);
            held += 1;
            if held == BATCH {
                target.apply_batch(std::mem::take(&mut batch))?;
                entries += held as u64;
                held = 0;
            }
        }
        target.apply_batch(batch)?;
        entries += held as u64;
    }
    Ok(entries)
}

/// Copy the files of folder `from` (not its subfolders) into `to`; how many.
fn copy_files(from: &Path, to: &Path) -> Result<u64, StoreError> {
    let Ok(list) = std::fs::read_dir(from) else { return Ok(0) };
    std::fs::create_dir_all(to).map_err(|e| io(to, e))?;
    let mut files = 0;
    for entry in list.flatten() {
        let path = entry.path();
        if path.is_file() {
            std::fs::copy(&path, to.join(entry.file_name())).map_err(|e| io(&path, e))?;
            files += 1;
        }
    }
    Ok(files)
}

fn io(path: &Path, e: std::io::Error) -> StoreError {
    StoreError(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_core::run::{RunStatus, RunStore};
    use weft_store_suite::tests::run;

    #[tokio::test(flavor = "multi_thread")]
    async fn a_backup_taken_under_writes_holds_every_write_before_it_and_opens() {
        let dir = tempfile::tempdir().unwrap();
        let db = std::sync::Arc::new(Db::open(&dir.path().join("data")).unwrap());
        for i in 0..5_000 {
            db.create_run(&run(&format!("a{i:05}"), RunStatus::Queued, None)).unwrap();
        }
        // A writer goes on while the backup copies.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (db, stop) = (db.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) && n < 4_999 {
                    db.create_run(&run(&format!("b{n:05}"), RunStatus::Queued, None)).unwrap();
                    db.save_run(&run(&format!("a{:05}", n % 5_000), RunStatus::Succeeded, None)).unwrap();
                    n += 1;
                }
                n
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        let report = db.backup_to(&dir.path().join("copy")).unwrap();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let written = writer.join().unwrap();
        assert!(report.entries > 5_000 && report.redone > 0, "{report:?} (the writer made {written} pairs)");
        assert!(db.backup_to(&dir.path().join("copy")).unwrap_err().0.contains("is not empty"));

        let copy = Db::open(&dir.path().join("copy")).unwrap();
        // Every run the copy's last write covers is there, as it then was: the
        // writer made `b<n>` before it ended `a<n>`.
        let ended = (0..5_000)
            .filter(|i| copy.run(&format!("a{i:05}")).unwrap().unwrap().status == RunStatus::Succeeded)
            .count();
        let made = (0..written).filter(|n| copy.run(&format!("b{n:05}")).unwrap().is_some()).count();
        assert!(made >= ended.min(5_000) && made <= ended + 1, "{made} runs made, {ended} ended in the copy");
        for i in 0..5_000 {
            assert!(copy.run(&format!("a{i:05}")).unwrap().is_some(), "a{i:05} was there before the backup");
        }
    }
}
