//! The watched plugins folder: a new `.wasm` is validated and loaded, a
//! replaced one becomes a new version, a removed one unloads its plugin.
//!
//! File events are debounced (a copy in progress produces a burst of them),
//! and a file whose size or modification time changes while it is read is
//! left for the event its writer's next write brings. A file that still fails
//! to load (half written, or simply broken) changes nothing: the version
//! before keeps serving, and the problem is listed by the registry.

use crate::registry::{Registry, is_plugin_file};
use notify_debouncer_mini::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a file must be quiet before it is loaded.
pub const DEBOUNCE: Duration = Duration::from_millis(250);

/// Watches a folder while it lives; dropping it stops watching.
pub struct FolderWatch {
    _debouncer: Debouncer<RecommendedWatcher>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FolderWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Watch `dir` and keep `registry` in step with it. Call before loading the
/// folder's files, so nothing written in between is missed.
pub fn watch(registry: Registry, dir: &Path) -> anyhow::Result<FolderWatch> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<PathBuf>>();
    let mut debouncer = new_debouncer(DEBOUNCE, move |result: DebounceEventResult| match result {
        Ok(events) => {
            let _ = tx.send(events.into_iter().map(|e| e.path).collect());
        }
        Err(e) => tracing::warn!(error = %e, "watching the plugins folder failed"),
    })?;
    debouncer.watcher().watch(dir, RecursiveMode::NonRecursive)?;
    let task = tokio::spawn(async move {
        // What each file was when last read. Opening a file is an event too
        // (ours included), so a file is read again only when this changes.
        let mut seen: HashMap<PathBuf, Stamp> = HashMap::new();
        while let Some(paths) = rx.recv().await {
            let paths: BTreeSet<PathBuf> = paths.into_iter().filter(|p| is_plugin_file(p)).collect();
            for path in paths {
                apply(&registry, &path, &mut seen).await;
            }
        }
    });
    Ok(FolderWatch { _debouncer: debouncer, task })
}

type Stamp = (u64, Option<std::time::SystemTime>);

/// Bring the registry in line with what `path` holds now.
async fn apply(registry: &Registry, path: &Path, seen: &mut HashMap<PathBuf, Stamp>) {
    let Some(before) = stamp(path) else {
        seen.remove(path);
        registry.unload_path(path);
        return;
    };
    if seen.get(path) == Some(&before) {
        return;
    }
    let Ok(bytes) = tokio::fs::read(path).await else { return };
    if stamp(path) != Some(before) {
        // Still being written: its writer's next write brings another event.
        return;
    }
    seen.insert(path.to_path_buf(), before);
    if let Err(e) = registry.load_bytes(path, &bytes).await {
        tracing::warn!(file = %path.display(), error = %e, "plugin not loaded; the version before keeps serving");
    }
}

/// A file's size and modification time, or `None` when it is gone.
fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    meta.is_file().then(|| (meta.len(), meta.modified().ok()))
}
