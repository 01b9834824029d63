//! The compile cache: compiled components on disk, so a restart with many
//! plugins (or a 12 MB JavaScript component) does not compile them again.
//!
//! An entry is named by the BLAKE3 hash of the component's bytes and the
//! engine's compatibility hash (wasmtime version and every setting that
//! changes code generation), so a stale entry is never even looked at. The
//! entry `<hash>-<engine>.cwasm` is the compiled artifact itself, so wasmtime
//! maps it from the page cache instead of copying it; beside it,
//! `<hash>-<engine>.sum` holds its length and CRC-32. The mapped image is
//! checked against both before the component is used: an entry that does not
//! match (a torn write, a flipped bit, a missing sum) is deleted and rebuilt,
//! never trusted. Files are written to temporary names and renamed (the sum
//! first), so a crash leaves no entry that looks whole.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

const SUM_TAG: &str = "weft-compile-cache-2";

/// What happened when a component was looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// There was no cache, or the component was compiled and stored.
    Compiled,
    /// A valid entry was loaded.
    Hit,
    /// An entry existed but was corrupt or unusable; it was rebuilt.
    Rebuilt,
}

/// A folder of compiled components for one engine.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: PathBuf,
    engine_tag: String,
}

/// The BLAKE3 hash of `bytes` in hex: a plugin version's content hash.
/// Large components (JavaScript and Python ones are 10–20 MB) are hashed on
/// every core.
pub fn content_hash(bytes: &[u8]) -> String {
    let mut hasher = blake3::Hasher::new();
    if bytes.len() >= 1 << 20 {
        hasher.update_rayon(bytes);
    } else {
        hasher.update(bytes);
    }
    hasher.finalize().to_hex().to_string()
}

/// [`content_hash`] of a file, read in pieces (no buffer the size of the file):
/// on a cache hit the component's bytes are needed for nothing else.
pub fn content_hash_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update_rayon(&buffer[..n]);
    }
    Ok(hasher.finalize().to_hex().to_string())
}

impl CompileCache {
    pub fn new(dir: &Path, engine: &Engine) -> Self {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Self { dir: dir.to_path_buf(), engine_tag: format!("{:016x}", hasher.finish()) }
    }

    fn paths(&self, hash: &str) -> (PathBuf, PathBuf) {
        let stem = format!("{hash}-{}", self.engine_tag);
        (self.dir.join(format!("{stem}.cwasm")), self.dir.join(format!("{stem}.sum")))
    }

    /// The cached component for content hash `hash`: `Ok(None)` when there is
    /// no entry, `Err(why)` when there was one that failed its checks (it is
    /// deleted). Blocking: call it off the async workers.
    pub fn lookup(&self, engine: &Engine, hash: &str) -> Result<Option<Component>, String> {
        let (entry, sum) = self.paths(hash);
        if !entry.exists() {
            return Ok(None);
        }
        let checked = self.open(engine, &entry, &sum);
        if checked.is_err() {
            let _ = std::fs::remove_file(&entry);
            let _ = std::fs::remove_file(&sum);
        }
        checked.map(Some)
    }

    /// Compile `bytes` (whose content hash is `hash`) and store the result.
    /// Blocking: call it off the async workers.
    pub fn compile(&self, engine: &Engine, hash: &str, bytes: &[u8]) -> wasmtime::Result<Component> {
        let compiled = engine.precompile_component(bytes)?;
        let (entry, sum) = self.paths(hash);
        if let Err(e) = self.store(&entry, &sum, &compiled) {
            tracing::warn!(entry = %entry.display(), error = %e, "cannot write the compile cache");
        }
        // SAFETY: `compiled` was just produced by this engine's `precompile_component`.
        unsafe { Component::deserialize(engine, &compiled) }
    }

    fn open(&self, engine: &Engine, entry: &Path, sum: &Path) -> Result<Component, String> {
        let recorded = std::fs::read_to_string(sum).map_err(|e| format!("its checksum file is unreadable: {e}"))?;
        let (len, crc) = parse_sum(&recorded).ok_or("its checksum file is malformed")?;
        let size = std::fs::metadata(entry).map_err(|e| e.to_string())?.len();
        if size != len {
            return Err(format!("it is {size} bytes, not the {len} recorded (torn)"));
        }
        // SAFETY: the file is an artifact this engine's `precompile_component`
        // wrote (its name carries the engine's compatibility hash; wasmtime checks
        // its own header again), is replaced only by rename (never written in
        // place), and its mapped image is checked against the recorded length and
        // CRC-32 below before the component is returned or run.
        let component = unsafe { Component::deserialize_file(engine, entry) }.map_err(|e| format!("{e:#}"))?;
        let range = component.image_range();
        // SAFETY: the image is mapped and lives as long as `component`.
        let image = unsafe { std::slice::from_raw_parts(range.start, range.end as usize - range.start as usize) };
        if image.len() as u64 != len || parallel_crc(image) != crc {
            return Err("its checksum does not match (corrupt)".into());
        }
        Ok(component)
    }

    fn store(&self, entry: &Path, sum: &Path, compiled: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let (entry_tmp, sum_tmp) = (partial_path(entry), partial_path(sum));
        std::fs::write(&entry_tmp, compiled)?;
        std::fs::write(&sum_tmp, format!("{SUM_TAG} {} {:08x}\n", compiled.len(), crc32fast::hash(compiled)))?;
        std::fs::rename(&sum_tmp, sum)?;
        std::fs::rename(&entry_tmp, entry)
    }
}

/// A hidden temporary name beside `path`, unique to this process and call:
/// two loads of the same plugin at once (the start-up scan and the watcher)
/// each write their own file and rename it into place, instead of one
/// renaming the other's half-written file away.
pub fn partial_path(path: &Path) -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("entry");
    path.with_file_name(format!(".{name}.partial-{}-{n}", std::process::id()))
}

/// CRC-32 of `bytes`, in chunks on every core for large images (a cached
/// load's cost is mostly this check: a 12 MB JavaScript component compiles to
/// 43 MB of machine code).
fn parallel_crc(bytes: &[u8]) -> u32 {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    if threads == 1 || bytes.len() < 4 << 20 {
        return crc32fast::hash(bytes);
    }
    let chunk = bytes.len().div_ceil(threads);
    let parts: Vec<crc32fast::Hasher> = std::thread::scope(|scope| {
        let running: Vec<_> = bytes
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut hasher = crc32fast::Hasher::new();
                    hasher.update(part);
                    hasher
                })
            })
            .collect();
        running.into_iter().map(|t| t.join().expect("checksum thread")).collect()
    });
    let mut whole = crc32fast::Hasher::new();
    for part in &parts {
        whole.combine(part);
    }
    whole.finalize()
}

fn parse_sum(text: &str) -> Option<(u64, u32)> {
    let mut parts = text.split_whitespace();
    if parts.next()? != SUM_TAG {
        return None;
    }
    let len = parts.next()?.parse().ok()?;
    let crc = u32::from_str_radix(parts.next()?, 16).ok()?;
    Some((len, crc))
}
