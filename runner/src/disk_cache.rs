//! Compiled components on local disk, so that a process that starts later loads the machine
//! code instead of compiling the component again (0.4 s of CPU for a small Rust workflow,
//! about 10 s for a Python one built with componentize-py).
//!
//! An entry is named by the SHA-256 of the component's bytes and by the engine's
//! compatibility hash (`Engine::precompile_compatibility_hash`: the wasmtime version, the
//! target and every setting that changes the code), so a runner of another version or with
//! other settings never loads it: it misses and compiles. An entry is the SHA-256 of its
//! payload followed by the payload, `Component::serialize`'s output. On load the digest is
//! checked before wasmtime sees a byte, and wasmtime checks its own header; an entry that
//! fails either is deleted and the component compiled again. Entries are written to a
//! temporary file in the same directory and renamed into place, so that processes sharing
//! the directory never read a partial entry.
//!
//! The directory is bounded: after each write, the entries used longest ago (by
//! modification time, which a hit refreshes) are deleted until the total is under the
//! bound.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where compiled components are kept and how much of the disk they may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledCacheConfig {
    /// The directory; created when first needed.
    pub dir: PathBuf,
    /// Most bytes the entries may take together. An entry larger than this is not kept.
    pub max_bytes: u64,
}

/// Default bound of the compiled-code cache: 2 GiB.
pub const DEFAULT_COMPILED_CACHE_BYTES: u64 = 2 << 30;

impl CompiledCacheConfig {
    /// The default directory: `BIFROST_CACHE_DIR` if set, else `$XDG_CACHE_HOME/bifrost/compiled`,
    /// else `$HOME/.cache/bifrost/compiled`; `None` when none of them is set.
    pub fn default_dir() -> Option<PathBuf> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        if let Some(dir) = var("BIFROST_CACHE_DIR") {
            return Some(PathBuf::from(dir));
        }
        let base = var("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        Some(base.join("bifrost").join("compiled"))
    }

    /// The default directory with the default bound, if a directory is known.
    pub fn from_env() -> Option<Self> {
        Some(Self {
            dir: Self::default_dir()?,
            max_bytes: DEFAULT_COMPILED_CACHE_BYTES,
        })
    }
}

/// How a component was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compiled {
    /// Loaded from the disk cache.
    Hit,
    /// Compiled (no entry, or an entry that was stale or corrupt), and written to the cache.
    Miss,
    /// Compiled with no cache configured.
    Uncached,
}

/// Counters of the cache since the runner started.
#[derive(Debug, Default)]
struct CacheCounters {
    hits: AtomicU64,
    misses: AtomicU64,
}

/// The compiled-code cache of one engine.
pub(crate) struct CompiledCache {
    config: CompiledCacheConfig,
    /// The engine's compatibility hash, as hex: part of every entry's name.
    engine_key: String,
    counters: CacheCounters,
}

/// Bytes of an entry's header: the SHA-256 of its payload.
const DIGEST_BYTES: usize = 32;
/// Entries end with this; temporary files do not.
const SUFFIX: &str = ".cwasm";

impl CompiledCache {
    pub(crate) fn new(engine: &Engine, config: CompiledCacheConfig) -> Self {
        // SipHash with fixed keys: the same in every process of this build. Another build
        // may hash differently; its entries then only miss.
        #[allow(deprecated)]
        let mut hasher = std::hash::SipHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Self {
            config,
            engine_key: format!("{:016x}", hasher.finish()),
            counters: CacheCounters::default(),
        }
    }

    /// Hits and misses since the cache was made.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.counters.hits.load(Ordering::Relaxed),
            self.counters.misses.load(Ordering::Relaxed),
        )
    }

    /// The component in `bytes`, loaded from the cache or compiled on this thread (and then
    /// cached).
    pub(crate) fn component(
        &self,
        engine: &Engine,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, Compiled)> {
        if let Some(component) = self.lookup(engine, bytes) {
            return Ok((component, Compiled::Hit));
        }
        let component = Component::new(engine, bytes)?;
        match component.serialize() {
            Ok(payload) => self.keep(bytes, &payload),
            Err(e) => tracing::warn!(error = %e, "cannot serialize a compiled component"),
        }
        Ok((component, Compiled::Miss))
    }

    /// The compiled form of the component in `bytes`, if the cache holds a sound one
    /// (counted as a hit; otherwise as a miss, and the caller compiles).
    pub(crate) fn lookup(&self, engine: &Engine, bytes: &[u8]) -> Option<Component> {
        let path = self.entry_path(bytes);
        if let Some(component) = self.load(engine, &path) {
            self.counters.hits.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(path = %path.display(), "compiled-code cache hit");
            return Some(component);
        }
        self.counters.misses.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(path = %path.display(), "compiled-code cache miss: compiling");
        None
    }

    /// Keeps `compiled`, the compiled form of the component in `bytes`. Failing to write
    /// the cache is logged and costs only a later compilation.
    pub(crate) fn keep(&self, bytes: &[u8], compiled: &[u8]) {
        let path = self.entry_path(bytes);
        if let Err(e) = self.store(&path, compiled) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write the compiled-code cache");
        }
    }

    fn entry_path(&self, bytes: &[u8]) -> PathBuf {
        let digest = component_hash(bytes);
        self.config
            .dir
            .join(format!("{digest}-{}{SUFFIX}", self.engine_key))
    }

    /// The entry at `path`, if it is there and sound; a corrupt or stale entry is deleted.
    fn load(&self, engine: &Engine, path: &Path) -> Option<Component> {
        let data = match fs::read(path) {
            Ok(data) => data,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read the compiled-code cache");
                return None;
            }
        };
        let sound = data.len() > DIGEST_BYTES
            && Sha256::digest(&data[DIGEST_BYTES..]).as_slice() == &data[..DIGEST_BYTES];
        if !sound {
            tracing::warn!(path = %path.display(), "corrupt compiled-code cache entry; compiling again");
            let _ = fs::remove_file(path);
            return None;
        }
        match deserialize(engine, &data[DIGEST_BYTES..]) {
            Ok(component) => {
                // A hit counts as a use: the bound deletes entries used longest ago.
                let _ = fs::File::options()
                    .append(true)
                    .open(path)
                    .and_then(|f| f.set_modified(SystemTime::now()));
                Some(component)
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "stale compiled-code cache entry; compiling again");
                let _ = fs::remove_file(path);
                None
            }
        }
    }

    /// Writes an entry for `payload` at `path` atomically, then trims the directory.
    fn store(&self, path: &Path, payload: &[u8]) -> std::io::Result<()> {
        let size = (DIGEST_BYTES + payload.len()) as u64;
        if size > self.config.max_bytes {
            return Ok(());
        }
        fs::create_dir_all(&self.config.dir)?;
        let mut file = tempfile::NamedTempFile::new_in(&self.config.dir)?;
        file.write_all(&Sha256::digest(payload))?;
        file.write_all(payload)?;
        file.as_file().sync_data()?;
        file.persist(path).map_err(|e| e.error)?;
        self.trim(path);
        Ok(())
    }

    /// Deletes the entries used longest ago until the total is within the bound; `keep` is
    /// the entry just written. Temporary files older than an hour (of a process that died
    /// while writing) go too.
    fn trim(&self, keep: &Path) {
        let Ok(dir) = fs::read_dir(&self.config.dir) else {
            return;
        };
        let now = SystemTime::now();
        let mut entries: Vec<(SystemTime, u64, PathBuf)> = Vec::new();
        for e in dir.filter_map(Result::ok) {
            let Ok(meta) = e.metadata() else { continue };
            let Ok(modified) = meta.modified() else {
                continue;
            };
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(SUFFIX) {
                entries.push((modified, meta.len(), e.path()));
            } else if name.starts_with(".tmp")
                && now
                    .duration_since(modified)
                    .is_ok_and(|age| age.as_secs() > 3600)
            {
                let _ = fs::remove_file(e.path());
            }
        }
        let mut total: u64 = entries.iter().map(|(_, len, _)| len).sum();
        entries.sort();
        for (_, len, path) in entries {
            if total <= self.config.max_bytes {
                break;
            }
            if path == keep {
                continue;
            }
            if fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
    }
}

/// A component's version: the SHA-256 of its bytes, lowercase hex. Deployed workflows are
/// stored under it, and compiled-code cache entries named by it.
pub fn component_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Loads machine code that this cache wrote.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, payload: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `Component::deserialize` runs the code it is given, so it must be the output of
    // `Component::serialize`. The payload comes from an entry of this cache, whose SHA-256
    // header matched: it is the bytes `store` wrote, not a partial or damaged write, and
    // wasmtime checks its own header and the engine's compatibility before using it. The
    // cache directory must be writable by the runner's user alone, like its binary.
    unsafe { Component::deserialize(engine, payload) }
}

/// Loads what the runner's compile process answered.
#[allow(unsafe_code)]
pub(crate) fn deserialize_compiled(engine: &Engine, payload: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: as in `deserialize`: the payload is the whole answer of the compile process
    // the runner was configured with (its exit status said it finished), which wrote
    // `Engine::precompile_component`'s output; wasmtime checks its header and the engine's
    // compatibility before using it. The compile program is trusted as the runner's own
    // binary is.
    unsafe { Component::deserialize(engine, payload) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest component: the magic, version 0xd, layer 1.
    const EMPTY: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

    fn cache(dir: &Path, max_bytes: u64) -> (Engine, CompiledCache) {
        let engine = Engine::default();
        let cache = CompiledCache::new(
            &engine,
            CompiledCacheConfig {
                dir: dir.to_path_buf(),
                max_bytes,
            },
        );
        (engine, cache)
    }

    fn entries(dir: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    }

    fn component_bytes(name: &str) -> Vec<u8> {
        // Distinct components: a custom section changes the bytes, not the meaning.
        let mut bytes = EMPTY.to_vec();
        let mut section = Vec::new();
        section.push(name.len() as u8);
        section.extend_from_slice(name.as_bytes());
        bytes.push(0);
        bytes.push(section.len() as u8);
        bytes.extend_from_slice(&section);
        bytes
    }

    #[test]
    fn a_second_process_loads_what_the_first_compiled() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = component_bytes("a");
        let (engine, first) = cache(dir.path(), 1 << 30);
        assert_eq!(first.component(&engine, &bytes).unwrap().1, Compiled::Miss);
        assert_eq!(
            entries(dir.path()).len(),
            1,
            "one entry, no temporary file left"
        );
        // Another cache on the same directory, as another process would have.
        let (engine, second) = cache(dir.path(), 1 << 30);
        assert_eq!(second.component(&engine, &bytes).unwrap().1, Compiled::Hit);
        assert_eq!(second.counters.hits.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_corrupt_entry_is_compiled_again_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = component_bytes("a");
        let (engine, c) = cache(dir.path(), 1 << 30);
        c.component(&engine, &bytes).unwrap();
        let entry = entries(dir.path()).remove(0);
        let mut data = fs::read(&entry).unwrap();
        let middle = data.len() / 2;
        data[middle] ^= 0x40;
        fs::write(&entry, &data).unwrap();
        assert_eq!(c.component(&engine, &bytes).unwrap().1, Compiled::Miss);
        assert_eq!(c.component(&engine, &bytes).unwrap().1, Compiled::Hit);
        // A truncated entry, too.
        fs::write(&entry, &data[..10]).unwrap();
        assert_eq!(c.component(&engine, &bytes).unwrap().1, Compiled::Miss);
    }

    #[test]
    fn an_entry_of_another_engine_is_not_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = component_bytes("a");
        let (engine, c) = cache(dir.path(), 1 << 30);
        c.component(&engine, &bytes).unwrap();
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let other = Engine::new(&config).unwrap();
        let c2 = CompiledCache::new(
            &other,
            CompiledCacheConfig {
                dir: dir.path().to_path_buf(),
                max_bytes: 1 << 30,
            },
        );
        assert_eq!(c2.component(&other, &bytes).unwrap().1, Compiled::Miss);
        assert_eq!(entries(dir.path()).len(), 2, "one entry per engine");
    }

    #[test]
    fn the_directory_stays_within_its_bound_keeping_the_entries_used_last() {
        let dir = tempfile::tempdir().unwrap();
        let (engine, probe) = cache(dir.path(), 1 << 30);
        probe.component(&engine, &component_bytes("probe")).unwrap();
        let one = fs::metadata(&entries(dir.path())[0]).unwrap().len();
        fs::remove_file(&entries(dir.path())[0]).unwrap();

        // Room for two entries and a half.
        let (engine, c) = cache(dir.path(), one * 5 / 2);
        let (a, b, d) = (
            component_bytes("a"),
            component_bytes("b"),
            component_bytes("d"),
        );
        c.component(&engine, &a).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        c.component(&engine, &b).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        // A hit on `a` makes `b` the one used longest ago.
        assert_eq!(c.component(&engine, &a).unwrap().1, Compiled::Hit);
        std::thread::sleep(std::time::Duration::from_millis(20));
        c.component(&engine, &d).unwrap();
        assert_eq!(entries(dir.path()).len(), 2);
        assert_eq!(c.component(&engine, &a).unwrap().1, Compiled::Hit);
        assert_eq!(c.component(&engine, &d).unwrap().1, Compiled::Hit);
        assert_eq!(c.component(&engine, &b).unwrap().1, Compiled::Miss);

        // An entry larger than the whole bound is not kept.
        let dir = tempfile::tempdir().unwrap();
        let (engine, tiny) = cache(dir.path(), 16);
        assert_eq!(tiny.component(&engine, &a).unwrap().1, Compiled::Miss);
        assert_eq!(tiny.component(&engine, &a).unwrap().1, Compiled::Miss);
    }
}
