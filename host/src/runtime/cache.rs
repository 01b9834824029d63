//! The compile cache: compiled components on disk, so a restart with many
//! plugins (or a 12 MB JavaScript component) does not compile them again.
//!
//! An entry is named by the BLAKE3 hash of the component's bytes and the
//! engine's compatibility hash (wasmtime version and every setting that
//! changes code generation), so a stale entry is never even looked at. Its
//! content is `WEFTCC01`, the BLAKE3 hash of the compiled artifact, then the
//! artifact: an entry whose hash does not match (a torn write, a flipped bit)
//! is deleted and rebuilt, never handed to wasmtime. Entries are written to a
//! temporary file and renamed, so a crash leaves none half-written.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

const MAGIC: &[u8; 8] = b"WEFTCC01";
const HEADER: usize = MAGIC.len() + 32;

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
pub fn content_hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

impl CompileCache {
    pub fn new(dir: &Path, engine: &Engine) -> Self {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Self { dir: dir.to_path_buf(), engine_tag: format!("{:016x}", hasher.finish()) }
    }

    fn path(&self, hash: &str) -> PathBuf {
        self.dir.join(format!("{hash}-{}.cwasm", self.engine_tag))
    }

    /// The compiled component for `bytes` (whose content hash is `hash`):
    /// from the cache when a valid entry exists, else compiled and stored.
    /// Blocking: call it off the async workers.
    pub fn component(&self, engine: &Engine, hash: &str, bytes: &[u8]) -> (wasmtime::Result<Component>, CacheOutcome) {
        let path = self.path(hash);
        let mut outcome = CacheOutcome::Compiled;
        if let Ok(entry) = std::fs::read(&path) {
            match self.open(engine, &entry) {
                Ok(component) => return (Ok(component), CacheOutcome::Hit),
                Err(why) => {
                    tracing::warn!(entry = %path.display(), %why, "compile cache entry rejected; rebuilding it");
                    let _ = std::fs::remove_file(&path);
                    outcome = CacheOutcome::Rebuilt;
                }
            }
        }
        let compiled = match engine.precompile_component(bytes) {
            Ok(compiled) => compiled,
            Err(e) => return (Err(e), outcome),
        };
        if let Err(e) = self.store(&path, &compiled) {
            tracing::warn!(entry = %path.display(), error = %e, "cannot write the compile cache");
        }
        // SAFETY: `compiled` was just produced by this engine's `precompile_component`.
        (unsafe { Component::deserialize(engine, &compiled) }, outcome)
    }

    fn open(&self, engine: &Engine, entry: &[u8]) -> Result<Component, String> {
        if entry.len() < HEADER || &entry[..MAGIC.len()] != MAGIC {
            return Err("not a weft cache entry".into());
        }
        let (header, artifact) = entry.split_at(HEADER);
        if blake3::hash(artifact).as_bytes() != &header[MAGIC.len()..] {
            return Err("its checksum does not match (corrupt or torn)".into());
        }
        // SAFETY: the artifact is byte for byte what this engine's `precompile_component`
        // wrote (checked above against the hash stored beside it), in an entry whose name
        // carries the engine's compatibility hash; wasmtime checks its own header again.
        unsafe { Component::deserialize(engine, artifact) }.map_err(|e| format!("{e:#}"))
    }

    fn store(&self, path: &Path, compiled: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let partial = path.with_extension(format!("partial-{}", std::process::id()));
        let mut entry = Vec::with_capacity(HEADER + compiled.len());
        entry.extend_from_slice(MAGIC);
        entry.extend_from_slice(blake3::hash(compiled).as_bytes());
        entry.extend_from_slice(compiled);
        std::fs::write(&partial, &entry)?;
        std::fs::rename(&partial, path)
    }
}
